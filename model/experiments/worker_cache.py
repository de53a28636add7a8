"""What a worker process keeps between runs: validated scenarios and replicate seeds.

Calibration, Sobol sweeps and counterfactual attribution run thousands of small runs, many of
them on the same scenario (replicates of one point, or points of one sweep). A worker process
that has run once keeps its imports; this module also keeps, per process,

- the validated scenario of each (scenario JSON, overrides) pair: validating a scenario and
  applying overrides costs about 2 ms, as much as a month of a small run;
- the seed of each replicate, computed directly as child ``r`` of ``SeedSequence(seed)``
  instead of spawning ``r + 1`` children (the cost grew with the replicate index).

Nothing random is kept: every run builds its own generators from its seed
(:class:`model.engine.simulation.PovertyModel`), so a run's result is the same whether the
cache is warm, cold or switched off (:func:`set_enabled`), and whatever ran before it in the
worker. A cached scenario is shared by the runs that use it and must not be modified; the model
only reads it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

#: Validated scenarios kept per process (each a few hundred KB at most).
MAX_SCENARIOS = 64

_enabled = True


def set_enabled(enabled: bool) -> None:
    """Switch the per-process cache on or off (off: every call validates afresh); clears it."""
    global _enabled
    _enabled = bool(enabled)
    clear()


def clear() -> None:
    """Forget every cached scenario and seed of this process."""
    _scenario.cache_clear()
    _seed.cache_clear()


def info() -> dict[str, int]:
    """Hits and misses of this process's caches (scenarios and seeds)."""
    s, r = _scenario.cache_info(), _seed.cache_info()
    return {
        "scenario_hits": s.hits,
        "scenario_misses": s.misses,
        "seed_hits": r.hits,
        "seed_misses": r.misses,
    }


def _canonical(overrides: Mapping[str, Any]) -> str:
    return json.dumps(sorted(overrides.items()), default=str)


def scenario(text: str, overrides: Mapping[str, Any] | None = None) -> Any:
    """The validated scenario of a scenario's JSON dump with dotted-path ``overrides`` applied.

    Args:
        text: The scenario's JSON (``scenario.model_dump_json()``), the cache key with the
            overrides.
        overrides: ``{dotted.path: value}`` (see :func:`model.engine.scenario.apply_overrides`).

    Returns:
        The validated scenario; the same object for the same arguments while cached.
    """
    key = _canonical(overrides or {})
    if not _enabled:
        return _build_scenario(text, key)
    return _scenario(text, key)


def _build_scenario(text: str, overrides_key: str) -> Any:
    from model.engine.scenario import apply_overrides
    from model.experiments.ensemble import scenario_from_json

    base = scenario_from_json(text) if _enabled else _validated(text)
    overrides = dict(json.loads(overrides_key))
    return apply_overrides(base, overrides)


def _validated(text: str) -> Any:
    from model.engine.scenario import validate_scenario

    return validate_scenario(json.loads(text))


@functools.lru_cache(maxsize=MAX_SCENARIOS)
def _scenario(text: str, overrides_key: str) -> Any:
    return _build_scenario(text, overrides_key)


def replicate_seed(seed: int, replicate: int) -> int:
    """Seed of replicate ``replicate``: the same as ``replicate_seeds(seed, n)[replicate]``.

    Child ``r`` of ``SeedSequence(seed)`` is ``SeedSequence(seed, spawn_key=(r,))``, so it is
    computed without spawning the ``r`` children before it.

    Raises:
        ValueError: A negative seed or replicate.
    """
    if seed < 0 or replicate < 0:
        raise ValueError(
            f"seed and replicate must be non-negative integers, found {seed} and {replicate}"
        )
    if not _enabled:
        return _child_seed(int(seed), int(replicate))
    return _seed(int(seed), int(replicate))


def _child_seed(seed: int, replicate: int) -> int:
    child = np.random.SeedSequence(seed, spawn_key=(replicate,))
    return int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))


@functools.lru_cache(maxsize=4096)
def _seed(seed: int, replicate: int) -> int:
    return _child_seed(seed, replicate)
