"""Agent-based model of Shaoguan's 2016-2018 poverty-exit campaign.

The public API::

    import model
    scenario = model.load_scenario("scenarios/baseline.toml", ["dynamics.job_finding_rate=0.02"])
    result = model.run(scenario, seed=1, population_scale=0.1)
    result.annual            # exits against targets, one row per year

The main entry points (``model.__all__`` lists every export):

- ``load_scenario(path, overrides)``: read, merge (``extends``) and validate a scenario file.
- ``load_scenario_text(text, name)``: the same for TOML text (an upload); it may only extend a
  shipped scenario.
- ``validate_scenario(data)``: validate a scenario given as a dict.
- ``Scenario``: the scenario schema (pydantic); ``ScenarioError``: bad scenario input.
- ``run(scenario, seed, population_scale)``: one run, returning a ``RunResult``.
- ``PovertyModel``: the Mesa model itself, to step month by month.
- ``RunResult``: the tidy tables of a run; ``read_results(folder)`` reads a results folder.
- ``build_population(scenario, scale, rng)``: the synthetic population alone.

``help(model.run)`` and the others document each. The model is described in ``docs/ODD.md``,
its parameters in ``docs/parameters.md`` (or ``shaoguan-abm params``) and its limitations in
``docs/limitations.md``. Heavy modules (Mesa, pandas) are imported on first use, so
``import model`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "PovertyModel": "model.simulation",
    "run": "model.simulation",
    "load_scenario": "model.scenario",
    "load_scenario_text": "model.scenario",
    "validate_scenario": "model.scenario",
    "Scenario": "model.scenario",
    "ScenarioError": "model.scenario",
    "RunResult": "model.outputs",
    "read_results": "model.outputs",
    "ResultsError": "model.outputs",
    "InvariantError": "model.invariants",
    "build_population": "model.population",
    "open_results": "model.results_folder",
    "write_report": "model.report",
    "compare_with_observed": "model.validation",
    "run_ensemble": "model.ensemble",
    "EnsembleResult": "model.ensemble",
    "read_ensemble": "model.ensemble",
    "compare_scenarios": "model.compare",
    "run_sweep": "model.sweep",
    "SweepResult": "model.sweep",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'model' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
