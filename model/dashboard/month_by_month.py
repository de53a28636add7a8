"""One run stepped month by month in Mesa's SolaraViz (the dashboard's second page).

:class:`MonthByMonth` is the model itself (:class:`~model.results.recording.RecordedModel`) with
a Mesa ``DataCollector`` that copies each month's row of the run's recorder, so that SolaraViz's
plot components can draw the measures as the model steps.
"""

from __future__ import annotations

from typing import Any

import mesa
import solara

from model.dashboard import list_scenarios
from model.engine.scenario import ScenarioError, load_scenario, shipped_scenario_path
from model.results.recording import RecordedModel

#: Monthly measures collected (columns of the run's ``monthly`` table).
MEASURES = (
    "cumulative_exited_people",
    "remaining_poor_people",
    "villages_exited",
    "employed_workers_poor",
    "social_security_households",
)


class MonthByMonth(RecordedModel):
    """A shipped scenario's run, with its monthly measures in a Mesa ``DataCollector``.

    Args:
        scenario_name: A scenario of ``scenarios/`` (without ``.toml``).
        population_scale: Share of every count to simulate, in (0, 1].
        seed: Non-negative integer seed.
    """

    def __init__(
        self, scenario_name: str = "baseline", population_scale: float = 0.02, seed: int = 1
    ) -> None:
        path = shipped_scenario_path(scenario_name)  # the page sends the name: only shipped ones
        if path is None:
            raise ScenarioError(
                f"scenario_name: expected a shipped scenario ({', '.join(list_scenarios())}), "
                f"found {scenario_name!r}"
            )
        scenario = load_scenario(path)
        super().__init__(scenario, seed=int(seed), population_scale=float(population_scale))
        reporters: dict[str, Any] = {
            name: (lambda m, name=name: m.latest_month().get(name, 0)) for name in MEASURES
        }
        reporters["spend_million_yuan"] = lambda m: (
            sum(v for k, v in m.latest_month().items() if k.startswith("spend_")) / 1e6
        )
        self.datacollector = mesa.DataCollector(model_reporters=reporters)
        self.datacollector.collect(self)

    def latest_month(self) -> dict[str, Any]:
        """The recorder's row of the last month simulated (empty before the first)."""
        return self.recorder.monthly[-1] if self.recorder.monthly else {}

    def step(self) -> None:
        """Simulate one month and collect its measures."""
        super().step()
        self.datacollector.collect(self)


def model_params() -> dict[str, Any]:
    """SolaraViz's inputs: scenario, population scale and seed."""
    return {
        "scenario_name": {
            "type": "Select",
            "value": "baseline",
            "values": list_scenarios(),
            "label": "scenario",
        },
        "population_scale": {
            "type": "SliderFloat",
            "value": 0.02,
            "min": 0.01,
            "max": 0.2,
            "step": 0.01,
            "label": "population scale",
        },
        "seed": {"type": "InputText", "value": "1", "label": "seed"},
    }


@solara.component
def MonthByMonthPage() -> Any:  # noqa: N802 - a Solara page
    """SolaraViz of one run: exits, villages, employment and spend, month by month."""
    from mesa.visualization import SolaraViz, make_plot_component

    model = solara.use_memo(lambda: MonthByMonth(), [])
    return SolaraViz(
        model,
        components=[
            make_plot_component(["cumulative_exited_people", "remaining_poor_people"]),
            make_plot_component(["villages_exited"]),
            make_plot_component(["employed_workers_poor", "social_security_households"]),
            make_plot_component(["spend_million_yuan"]),
        ],
        model_params=model_params(),
        name="One run, month by month",
    )
