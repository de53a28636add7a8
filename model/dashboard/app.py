"""The dashboard's Solara page (served by ``shaoguan-abm dashboard``).

Left: the scenario (a shipped one or an uploaded TOML file), the levers with their units, the
plan's values and, for a lever with a range in the parameter catalogue, a slider beside each
input; the population scale, replicates and parameters (what the scenario's ``[forecast]`` table
names, fixed at the scenario's values, or drawn from the priors), and Run. Right: on load, the
plan's forecast (the baseline's small ensemble, cached on disk by
:mod:`model.dashboard.forecast`); after a run, the latest run. Each shows the answer in one
sentence, the fan chart of cumulative exits against the targets, the probability
of meeting each, villages exited, spend by source and use and cost per sustained exit (and, when
the scenario has exit verification or the living register on, the exits reported against those
verified in income and the register's size: :mod:`model.dashboard.feedback`). Once a
run is pinned, the pinned run stands beside it, and the differences (exits and probability
points) in a column of their own.
"""

from __future__ import annotations

import html
from typing import Any

import solara
import solara.lab

from model.dashboard import (
    LEVERS,
    PARAMETER_CHOICES,
    SCENARIO_DIR,
    DashboardRun,
    Lever,
    changed_levers,
    check_levers,
    lever_unit,
    lever_values,
    list_scenarios,
    resolved_source,
    run_small_ensemble,
    scenario_from_upload,
    scenario_toml,
    slider_bounds,
    upload_extends,
)
from model.dashboard.feedback import feedback_note, feedback_rows
from model.dashboard.forecast import (
    FORECAST_REPLICATES,
    FORECAST_SCALE,
    FORECAST_SEED,
    cached_forecast,
    difference_rows,
)
from model.dashboard.month_by_month import MonthByMonthPage
from model.engine.scenario import ScenarioError, load_scenario, shipped_scenario_path
from model.results.metrics import label, unit

PLAN_SCENARIO = "baseline"

scenario_name = solara.reactive(PLAN_SCENARIO)
uploaded: solara.Reactive[Any] = solara.reactive(None)
#: The shipped scenario the upload extends (a file name), or None.
uploaded_extends: solara.Reactive[str | None] = solara.reactive(None)
upload_error = solara.reactive("")
values: solara.Reactive[dict[str, Any]] = solara.reactive(
    lever_values(load_scenario(SCENARIO_DIR / f"{PLAN_SCENARIO}.toml"))
)
# the forecast's settings, so that a run compares with the pinned forecast on the same seeds
population_scale = solara.reactive(FORECAST_SCALE)
replicates = solara.reactive(FORECAST_REPLICATES)
#: Where the replicates' parameters come from: "scenario" (its [forecast] table), "fixed" or
#: "prior".
parameters = solara.reactive("scenario")
seed = solara.reactive(1)
progress = solara.reactive(0.0)
latest: solara.Reactive[DashboardRun | None] = solara.reactive(None)
#: The plan's forecast shown on load, and the share of it built.
forecast: solara.Reactive[DashboardRun | None] = solara.reactive(None)
forecast_progress = solara.reactive(0.0)
pinned: solara.Reactive[DashboardRun | None] = solara.reactive(None)


def _base() -> tuple[Any, str]:
    """The scenario picked or uploaded, or the loader's message."""
    if scenario_name.value == "(uploaded)" and uploaded.value is not None:
        return uploaded.value, ""
    # the page sends the name picked: only a shipped scenario's name opens a file
    path = shipped_scenario_path(scenario_name.value)
    if path is None:
        names = ", ".join(list_scenarios())
        return None, f"expected a shipped scenario ({names}), found {scenario_name.value!r}"
    try:
        return load_scenario(path), ""
    except ScenarioError as err:  # a shipped file broken on disk
        return None, str(err)


def _plan() -> Any:
    return load_scenario(SCENARIO_DIR / f"{PLAN_SCENARIO}.toml")


def _fmt(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.0f}"
    return str(value)


def on_file(info: dict[str, Any]) -> None:
    """Take a file dropped on the page (``{"name", "data"}``): the scenario, or the message."""
    data = info["data"]
    try:
        scenario = scenario_from_upload(data, info.get("name", "uploaded.toml"))
    except ScenarioError as err:  # its message names the upload
        upload_error.value = str(err)
        return
    upload_error.value = ""
    uploaded_extends.value = upload_extends(data)
    uploaded.value = scenario
    scenario_name.value = "(uploaded)"


@solara.lab.task
def run_task(
    scenario: Any, reps: int, scale: float, root_seed: int, source: str = "scenario"
) -> DashboardRun:
    """Run the ensemble off the page's thread, updating the progress bar."""

    def report(done: int, total: int) -> None:
        progress.value = 100.0 * done / total

    kind = resolved_source(scenario, source).kind  # what "scenario" stands for, named
    result = run_small_ensemble(
        scenario,
        replicates=reps,
        seed=root_seed,
        population_scale=scale,
        on_progress=report,
        label=f"{scenario.name} (x{reps}, scale {scale:g}, seed {root_seed}, {kind} parameters)",
        parameters=source,
    )
    result.changes = changed_levers(scenario, _plan())
    latest.value = result
    return result


@solara.lab.task
def forecast_task() -> DashboardRun:
    """Read the plan's forecast from the cache, or build it there, off the page's thread."""

    def report(done: int, total: int) -> None:
        forecast_progress.value = 100.0 * done / total

    result = cached_forecast(_plan(), on_progress=report)
    forecast.value = result
    return result


def _number_or(text: Any, default: float) -> float:
    try:
        number = float(text)
    except (TypeError, ValueError):
        return default
    return number if number == number and abs(number) != float("inf") else default


@solara.component
def LeverInput(lever: Lever, scenario: Any, plan: Any, error: str | None) -> None:
    """One lever: its inputs, unit, the plan's value and the message when it is bad."""
    current = values.value.get(lever.path)
    plan_value = lever_values(plan)[lever.path]
    unit = lever_unit(scenario, lever.path)

    def set_value(key: Any, text: Any) -> None:
        new = dict(values.value)
        if lever.keys:
            table = dict(new[lever.path])
            table[key] = text
            new[lever.path] = table
        else:
            new[lever.path] = text
        values.value = new

    def entry(key: Any, text: Any, name: str) -> None:
        """One input, and beside it the slider over the lever's range when it has one."""
        css = f"lever-{lever.path}" + ("" if key is None else f"-{key}")
        bounds = slider_bounds(scenario, lever.path, text)
        with solara.Row(gap="8px", style={"align-items": "center"}):
            solara.InputText(
                name,
                value=str(text),
                on_value=lambda t: set_value(key, t),
                continuous_update=False,
                classes=[css.replace(".", "-")],
                style={"max-width": "120px"},
            )
            if bounds is not None:
                low, high = bounds
                with solara.Div(
                    classes=[css.replace(".", "-").replace("lever-", "slider-", 1)],
                    style={"flex": "1", "min-width": "160px"},
                ):
                    solara.SliderFloat(
                        f"{low:g} to {high:g}",
                        value=_number_or(text, low),
                        min=low,
                        max=high,
                        step=lever.step,
                        on_value=lambda v: set_value(key, float(f"{v:.10g}")),
                        thumb_label=False,
                    )

    with solara.Card(lever.label, margin=0, classes=["lever"]):
        with solara.Column(gap="0px"):
            if lever.keys:
                for key in lever.keys:
                    entry(key, current[key], str(key))
            else:
                entry(None, current, "value")
        _html(
            f'<div style="font-size:0.8em">unit: {html.escape(unit)}</div>'
            f'<div style="font-size:0.8em;color:#555">plan: {html.escape(_fmt(plan_value))}</div>'
        )
        if error:
            with solara.Div(classes=["lever-error"]):
                solara.Error(error)


def _html(text: str) -> None:
    """A block of trusted HTML (Markdown would load KaTeX, which solara-assets lacks)."""
    solara.HTML(tag="div", unsafe_innerHTML=text)


def _answer(run: DashboardRun) -> str:
    """The run's answer in one sentence, naming where its probabilities come from."""
    from model.reporting.answer import met_from_probabilities, targets_answer

    e = run.ensemble
    plan_years = run.scenario.targets.cumulative_people
    runs = int(e.manifest.get("replicates", e.outcomes["replicate"].nunique()))
    return targets_answer(met_from_probabilities(e.probabilities, plan_years), runs, e.parameters)


def _rows_html(rows: list[dict[str, str]], css: str) -> str:
    head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row.values()) + "</tr>"
        for row in rows
    )
    return (
        f'<table class="{css}" style="border-collapse:collapse" border="1" '
        f'cellpadding="4"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


@solara.component
def DifferenceView(run: DashboardRun, other: DashboardRun) -> None:
    """The differences of ``run`` from the pinned ``other``: exits and probability points."""
    with solara.Column(classes=["difference-view"]):
        _html("<h3>Difference</h3><p>shown run minus pinned run</p>")
        _html(_rows_html(difference_rows(run, other), "difference-table"))
        scales = {float(r.ensemble.manifest.get("population_scale", 1.0)) for r in (run, other)}
        note = (
            "exits: difference of the medians of cumulative exits (people, simulated "
            "population); P(met): difference in percentage points."
        )
        if len(scales) > 1:
            note += " The two runs simulate different population scales: their exits differ "
            note += "by the scale as well."
        _html(f'<div style="font-size:0.85em">{html.escape(note)}</div>')


def _probability_html(run: DashboardRun) -> str:
    return _rows_html(run.probability_rows(), "probability-table")


@solara.component
def RunView(run: DashboardRun, title: str) -> None:
    """The results of one run: chart, probabilities, villages, spend and costs."""
    from model.reporting.figures import fan_chart, spend_by_year
    from model.results.outputs import ensemble_spend

    e = run.ensemble
    fig = solara.use_memo(
        lambda: fan_chart(
            e.quantiles, e.probabilities, title=run.label, subtitle=e.probability_source()
        ),
        [run],
    )

    def spend_figure() -> Any:
        if e.replicate_ledger.empty:
            return None
        by_source, by_use, band = ensemble_spend(e.replicate_ledger)
        return spend_by_year(by_source, by_use, title=run.label, band=band)

    spend = solara.use_memo(spend_figure, [run])
    with solara.Column(classes=["run-view"]):
        _html(f"<h3>{title}</h3><p>{html.escape(run.label)}</p>")
        _html(f'<p class="answer"><b>{html.escape(_answer(run))}</b></p>')
        changes = run.changes or ["none: the scenario's own values"]
        _html(
            '<div class="run-changes" style="font-size:0.85em">levers changed from the plan: '
            + "; ".join(html.escape(c) for c in changes)
            + "</div>"
        )
        solara.FigureMatplotlib(fig, format="png")
        _html(
            "<b>Probability of meeting each cumulative target</b> (share of replicates)"
            f'<div class="probability-source" style="font-size:0.85em">'
            f"{html.escape(e.probability_source())}</div>"
        )
        solara.HTML(tag="div", unsafe_innerHTML=_probability_html(run))
        feedback = solara.use_memo(lambda: feedback_rows(run), [run])
        if feedback:
            _html(
                '<div class="feedback-view"><b>Feedback: reported against income-verified '
                "exits, and the register</b>"
                + _rows_html(feedback, "feedback-table")
                + f'<div style="font-size:0.85em">{html.escape(feedback_note(run))}</div></div>'
            )
        villages = run.villages()
        text = ", ".join(
            f"{int(r.year)}: {r.villages_exited:.0f}/{r.villages_total:.0f}"
            for r in villages.itertuples()
        )
        _html(f"<b>Poor villages exited</b> (median of replicates): {text}")
        costs = run.costs()
        _html(
            f"<b>{label('total_spend', 'outcomes').capitalize()}</b> (median): "
            f"{costs['total_spend'] / 1e6:,.1f} million {unit('total_spend', 'outcomes')}; "
            + "; ".join(
                f"<b>{label(n, 'outcomes')}</b> {costs[n]:,.0f} {unit(n, 'outcomes')}"
                for n in ("cost_per_exit", "cost_per_sustained_exit")
            )
        )
        _html(
            "Costs per exit are of the whole plan. What each measure buys, and what the next "
            "million yuan would buy, takes counterfactual runs: <code>shaoguan-abm attribute "
            "SCENARIO</code> (leave one out, Shapley values, marginal returns)."
        )
        if spend is not None:
            solara.FigureMatplotlib(spend, format="png")
        solara.FileDownload(
            run.results_zip,
            filename=f"{run.scenario.name}-results.zip",
            label="Download results folder (zip)",
        )


@solara.component
def Page() -> None:
    """The dashboard page."""
    solara.Title("Shaoguan poverty-exit dashboard")
    plan = solara.use_memo(_plan, [])
    base, base_error = solara.use_memo(_base, [scenario_name.value, uploaded.value])

    def reset_levers() -> None:
        if base is not None:
            values.value = lever_values(base)

    solara.use_effect(reset_levers, [base])

    def start_forecast() -> None:
        if forecast.value is None and not forecast_task.pending:
            forecast_task()

    solara.use_effect(start_forecast, [])

    scenario, errors = (None, {}) if base is None else check_levers(base, values.value)

    def on_run() -> None:
        progress.value = 0.0
        run_task(
            scenario,
            int(replicates.value),
            float(population_scale.value),
            int(seed.value),
            parameters.value,
        )

    try:
        scale = float(population_scale.value)
        scale_error = "" if 0 < scale <= 1 else f"expected a number in (0, 1], found {scale}"
    except (TypeError, ValueError):
        scale_error = f"expected a number in (0, 1], found {population_scale.value!r}"
    reps_error = "" if int(replicates.value) >= 1 else "expected a positive integer"

    with solara.Columns([1, 2]):
        with solara.Column(style={"max-width": "560px"}):
            _html("<h2>Scenario</h2>")
            options = list_scenarios() + (["(uploaded)"] if uploaded.value is not None else [])
            solara.Select("shipped scenario", values=options, value=scenario_name)
            solara.FileDrop(label="…or drop a scenario TOML file here", on_file=on_file, lazy=False)
            if upload_error.value:
                with solara.Div(classes=["upload-error"]):
                    solara.Error(upload_error.value)
            if scenario_name.value == "(uploaded)" and uploaded.value is not None:
                parent = uploaded_extends.value
                line = f"extends {parent} (shipped)" if parent else "extends no scenario (complete)"
                _html(
                    '<div class="upload-extends" style="font-size:0.85em">'
                    f"{html.escape(line)}</div>"
                )
            if base_error:
                solara.Error(base_error)
            if base is not None:
                _html(f"<i>{html.escape(base.description or base.name)}</i>")
                _html("<h2>Levers</h2>")
                for lever in LEVERS:
                    LeverInput(lever, base, plan, errors.get(lever.path))
                if "scenario" in errors:
                    solara.Error(errors["scenario"])
            _html("<h2>Ensemble</h2>")
            with solara.Row():
                solara.InputFloat(
                    "population scale (0-1]",
                    value=population_scale,
                    classes=["population-scale"],
                )
                solara.InputInt("replicates", value=replicates, classes=["replicates"])
                solara.Select(
                    "parameters",
                    values=list(PARAMETER_CHOICES),
                    value=parameters,
                    classes=["parameters"],
                )
                solara.InputInt("seed", value=seed)
            _html(
                '<div style="font-size:0.8em;color:#555">parameters: scenario = what the '
                "scenario's [forecast] table names (the calibrated posterior of "
                "calibrated.toml; fixed for a scenario without the table); fixed = the "
                "scenario's values (only the seeds vary); prior = every uncertainty drawn "
                "uniformly over its range for each replicate (levers are never drawn)</div>"
            )
            for message in (scale_error, reps_error):
                if message:
                    solara.Error(message)
            can_run = scenario is not None and not scale_error and not reps_error
            solara.Button(
                "Run",
                on_click=on_run,
                disabled=not can_run or run_task.pending,
                color="primary",
                classes=["run-button"],
            )
            if scenario is not None:
                solara.FileDownload(
                    lambda: scenario_toml(scenario).encode("utf-8"),
                    filename=f"{scenario.name}.toml",
                    label="Download scenario (TOML)",
                )
            if run_task.pending:
                solara.Text(f"running replicates… {progress.value:.0f}%", classes=["running"])
                solara.ProgressLinear(progress.value or True)
            if run_task.error:
                solara.Error(f"the run failed: {run_task.exception}")
        with solara.Column():
            shown = latest.value if latest.value is not None else forecast.value
            if shown is None:
                if forecast_task.error:
                    solara.Error(f"the plan's forecast failed: {forecast_task.exception}")
                else:
                    _html(
                        '<div class="forecast-building">Building the plan\'s forecast (the '
                        f"baseline, {FORECAST_REPLICATES} replicates at population scale "
                        f"{FORECAST_SCALE:g}, seeds from root seed {FORECAST_SEED}, parameters "
                        f"fixed) … {forecast_progress.value:.0f}%. It is kept on disk: the next "
                        "start shows it at once. The levers can be set meanwhile.</div>"
                    )
                    solara.ProgressLinear(forecast_progress.value or True)
            else:
                with solara.Row():
                    solara.Button(
                        "Pin this run",
                        on_click=lambda: pinned.set(shown),
                        classes=["pin-button"],
                    )
                    if pinned.value is not None:
                        solara.Button("Unpin", on_click=lambda: pinned.set(None))
                title = "Latest run" if latest.value is not None else "The plan's forecast"
                with solara.Columns([2, 2, 1] if pinned.value is not None else [1]):
                    RunView(shown, title)
                    if pinned.value is not None:
                        RunView(pinned.value, "Pinned run")
                        DifferenceView(shown, pinned.value)


#: The pages: the ensemble against the targets, and one run month by month.
routes = [
    solara.Route(path="/", component=Page, label="Ensemble and targets"),
    solara.Route(
        path="month-by-month", component=MonthByMonthPage, label="One run, month by month"
    ),
]
