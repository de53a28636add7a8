"""The faster stable argsort of the December record against numpy's stable sort."""

from __future__ import annotations

import numpy as np

from model.results.outputs import stable_argsort


def test_stable_argsort_is_numpys_stable_order_through_ties_and_special_values():
    rng = np.random.default_rng(19)
    cases = [np.zeros(0), np.array([3.0]), np.array([2.0, 2.0]), np.array([-0.0, 0.0, -0.0])]
    for n in (3, 50, 5_000):
        cases += [
            rng.normal(0, 1, n),  # no ties
            np.round(rng.gamma(2, 2_000, n), -2),  # many ties
            rng.integers(0, 3, n).astype(float),  # few values, long runs
            np.where(rng.random(n) < 0.3, 0.0, -0.0),  # signed zeros are equal
            np.where(rng.random(n) < 0.1, np.inf, np.round(rng.normal(0, 5, n))),
            np.where(rng.random(n) < 0.1, -np.inf, rng.normal(0, 5, n)),
            np.where(rng.random(n) < 0.05, np.nan, np.round(rng.normal(0, 5, n))),
        ]
    for values in cases:
        np.testing.assert_array_equal(stable_argsort(values), np.argsort(values, kind="stable"))
    # by hand: equal values keep their index order
    assert stable_argsort(np.array([5.0, 1.0, 5.0, 1.0, 0.5])).tolist() == [4, 1, 3, 0, 2]
