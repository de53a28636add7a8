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
- ``PovertyModel``: the Mesa model itself, to step month by month (recording as it goes).
- ``attribute(scenario, replicates, ...)``: what each measure buys (leave one out, Shapley values)
  and what the next million yuan would buy, on common random numbers.
- ``discover(ensemble_folder, target_met=2017)``: scenario discovery with PRIM on an ensemble
  run with prior parameter draws: the ranges of the uncertainties in which a target is met.
- ``RunResult``: the tidy tables of a run; ``read_results(folder)`` reads a results folder.
- ``build_population(scenario, scale, rng)``: the synthetic population alone.
- ``calibrate(scenario, observed, out)``: fit uncertainties to observed outcomes (ABC-SMC);
  ``read_calibration(folder)`` reads the posterior back.
- ``select_model(scenarios, observed, out)``: choose between scenarios (e.g. with and without
  the plan's feedback mechanisms) by their posterior model probabilities (ABC-SMC).

``help(model.run)`` and the others document each. The model is described in ``docs/ODD.md``,
its parameters in ``docs/parameters.md`` (or ``shaoguan-abm params``) and its limitations in
``docs/limitations.md``. Heavy modules (Mesa, pandas) are imported on first use, so
``import model`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name -> module (or ``module:name`` where the module calls it otherwise).
_EXPORTS = {
    "PovertyModel": "model.results.recording:RecordedModel",
    "run": "model.results.recording",
    "load_scenario": "model.engine.scenario",
    "load_scenario_text": "model.engine.scenario",
    "validate_scenario": "model.engine.scenario",
    "Scenario": "model.engine.scenario",
    "ScenarioError": "model.engine.scenario",
    "RunResult": "model.results.outputs",
    "read_results": "model.results.outputs",
    "ResultsError": "model.results.outputs",
    "InvariantError": "model.engine.invariants",
    "build_population": "model.engine.population",
    "open_results": "model.results.folder",
    "write_report": "model.reporting.report",
    "compare_with_observed": "model.reporting.validation",
    "run_ensemble": "model.experiments.ensemble",
    "EnsembleResult": "model.experiments.ensemble",
    "read_ensemble": "model.experiments.ensemble",
    "compare_scenarios": "model.experiments.compare",
    "attribute": "model.experiments.attribution",
    "AttributionResult": "model.experiments.attribution",
    "run_sweep": "model.experiments.sweep",
    "discover": "model.experiments.discovery",
    "DiscoveryResult": "model.experiments.discovery",
    "SweepResult": "model.experiments.sweep",
    "calibrate": "model.experiments.calibration",
    "read_calibration": "model.experiments.calibration",
    "select_model": "model.experiments.model_selection",
    "ModelSelectionResult": "model.experiments.model_selection",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, _, attribute = _EXPORTS[name].partition(":")
        value = getattr(importlib.import_module(module), attribute or name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'model' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
