"""A worker's cache of validated scenarios and replicate seeds changes no result."""

import json

import numpy as np
import pytest

from model.experiments import worker_cache
from model.experiments.ensemble import replicate_seeds
from model.experiments.sweep import ModelEvaluator

SCALE = 0.02


@pytest.fixture(autouse=True)
def fresh_cache():
    worker_cache.set_enabled(True)
    yield
    worker_cache.set_enabled(True)


def spawned_seed(seed, r):
    """Replicate r's seed by spawning r + 1 children, the way ensembles number them."""
    child = np.random.SeedSequence(seed).spawn(r + 1)[r]
    return int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))


@pytest.mark.parametrize("seed", [0, 1, 5, 2**40 + 3])
def test_replicate_seed_is_the_spawned_child(seed):
    for r in (0, 1, 2, 17, 999):
        assert worker_cache.replicate_seed(seed, r) == spawned_seed(seed, r)
    assert worker_cache.replicate_seed(seed, 999) == replicate_seeds(seed, 1000)[999]


def test_replicate_seed_refuses_negative_numbers():
    with pytest.raises(ValueError, match="non-negative"):
        worker_cache.replicate_seed(1, -1)


def evaluator(baseline):
    return ModelEvaluator(
        scenario=json.dumps(baseline.model_dump(mode="json")),
        population_scale=SCALE,
        seed=3,
        integer=("dynamics.illness_months",),
    )


def test_outcomes_identical_with_and_without_the_cache(baseline):
    evaluate = evaluator(baseline)
    points = [
        ({"dynamics.job_finding_rate": 0.02, "dynamics.illness_months": 2.7}, 0),
        ({"dynamics.job_finding_rate": 0.02, "dynamics.illness_months": 2.7}, 1),
        ({"dynamics.job_finding_rate": 0.05, "dynamics.illness_months": 4.2}, 0),
    ]
    worker_cache.set_enabled(False)
    uncached = [evaluate(v, r) for v, r in points]
    assert worker_cache.info()["scenario_misses"] == 0  # the cache was not used
    worker_cache.set_enabled(True)
    cold = [evaluate(v, r) for v, r in points]
    warm = [evaluate(v, r) for v, r in reversed(points)][::-1]
    assert cold == uncached
    assert warm == uncached
    # two distinct points, each validated once; every other call was served from the cache
    stats = worker_cache.info()
    assert stats["scenario_misses"] == 2
    assert stats["scenario_hits"] == 4


def test_no_random_state_is_shared_between_runs(baseline):
    evaluate = evaluator(baseline)
    values = {"dynamics.job_finding_rate": 0.03, "dynamics.illness_months": 3}
    first = evaluate(values, 0)
    other = evaluate(values, 1)
    again = evaluate(values, 0)
    # replicate 0 after replicate 1 repeats itself exactly: nothing random carried over
    assert again == first
    # and replicates differ (their seeds, not a shared stream, make them differ)
    assert other != first


def test_cached_scenario_is_shared_and_a_run_leaves_it_unchanged(baseline):
    text = json.dumps(baseline.model_dump(mode="json"))
    a = worker_cache.scenario(text, {"dynamics.job_finding_rate": 0.04})
    assert worker_cache.scenario(text, {"dynamics.job_finding_rate": 0.04}) is a
    assert a.dynamics.job_finding_rate == 0.04
    assert worker_cache.scenario(text, {}).dynamics.job_finding_rate == (
        baseline.dynamics.job_finding_rate
    )
    before = a.model_dump_json()
    from model.results.recording import run

    run(a, seed=1, population_scale=SCALE)
    assert a.model_dump_json() == before
