"""Agent-based model of Shaoguan's 2016-2018 poverty-exit campaign.

The public API::

    import model
    scenario = model.load_scenario("scenarios/baseline.toml", ["dynamics.job_finding_rate=0.02"])
    result = model.run(scenario, seed=1, population_scale=0.1)
    result.annual            # exits against targets, one row per year

Heavy modules (Mesa, pandas) are imported on first use, so ``import model`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "PovertyModel": "model.simulation",
    "run": "model.simulation",
    "load_scenario": "model.scenario",
    "validate_scenario": "model.scenario",
    "Scenario": "model.scenario",
    "ScenarioError": "model.scenario",
    "RunResult": "model.outputs",
    "read_results": "model.outputs",
    "ResultsError": "model.outputs",
    "InvariantError": "model.invariants",
    "build_population": "model.population",
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
