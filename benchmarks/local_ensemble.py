"""A stand-in for ``model.ensemble.run_ensemble`` used by W2 while that module is missing.

Runs replicates on a ``concurrent.futures.ProcessPoolExecutor`` (spawned workers rebuild the
model from the scenario, as Mesa requires); replicate ``r`` gets child ``r`` of
``numpy.random.SeedSequence(seed)``. Only what the benchmark needs: it returns the cumulative
exits of each replicate.
"""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    children = np.random.SeedSequence(int(seed)).spawn(int(replicates))
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]


def _one(job: tuple[str, int, float]) -> int:
    import model
    from model.scenario import validate_scenario

    text, seed, scale = job
    result = model.run(validate_scenario(json.loads(text)), seed=seed, population_scale=scale)
    return int(result.annual["cumulative_exited_people"].iloc[-1])


def run_ensemble(
    scenario: Any,
    replicates: int = 100,
    seed: int = 0,
    workers: int | None = None,
    population_scale: float = 1.0,
) -> list[int]:
    """Run ``replicates`` runs of ``scenario`` on ``workers`` processes; final cumulative exits."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True)
    jobs = [(text, s, population_scale) for s in replicate_seeds(seed, replicates)]
    if workers == 1:
        return [_one(j) for j in jobs]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return list(pool.map(_one, jobs))
