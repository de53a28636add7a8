import numpy as np
import pytest

from model.engine.interventions.base import Measure
from tests.conftest import make_households
from tests.fakes import FakeModel


def test_queue_takes_at_most_the_candidates():
    m = FakeModel(make_households(6))
    measure = Measure(None, m)
    mask = np.array([False, True, False, True, True, False])
    assert sorted(measure.queue(m, mask, 10).tolist()) == [1, 3, 4]
    assert measure.queue(m, mask, 0).size == 0
    assert measure.queue(m, np.array([], dtype=np.int64), 3).size == 0
    two = measure.queue(m, np.array([1, 3, 4]), 2)
    assert two.size == 2 and len(set(two.tolist())) == 2 and set(two.tolist()) <= {1, 3, 4}


def test_queue_is_fair():
    # every candidate is equally likely at each place of the queue, like a shuffled queue
    m = FakeModel(make_households(1), seed=4)
    measure = Measure(None, m)
    candidates = np.arange(100, 105)
    draws = np.array([measure.queue(m, candidates, 2) for _ in range(20_000)])
    for place in (0, 1):
        share = np.bincount(draws[:, place] - 100, minlength=5) / len(draws)
        assert share == pytest.approx(np.full(5, 0.2), abs=0.015)
    assert (draws[:, 0] != draws[:, 1]).all()


def test_an_empty_queue_draws_nothing_as_an_empty_choice_does():
    for candidates in (
        np.zeros(20_000, dtype=bool),
        np.arange(20_000),
        np.arange(5, dtype=np.int32),
    ):
        m = FakeModel(make_households(1), seed=5)
        measure = Measure(None, m)
        before = m.rng.bit_generator.state
        for size in (0, -3):
            got = measure.queue(m, candidates, size)
            expected_dtype = np.intp if candidates.dtype == bool else candidates.dtype
            assert got.size == 0 and got.dtype == expected_dtype
        assert m.rng.bit_generator.state == before
        # numpy's own empty choice leaves the stream where it was too
        idx = np.flatnonzero(candidates) if candidates.dtype == bool else candidates
        if idx.size:
            assert m.rng.choice(idx, size=0, replace=False).size == 0
            assert m.rng.bit_generator.state == before
