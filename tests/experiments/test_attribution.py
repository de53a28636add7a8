"""Attribution: Shapley values on known games, shares, intervals, and small scenarios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.engine.scenario import apply_overrides
from model.experiments.attribution import (
    AttributionError,
    attribute,
    check_outcomes,
    paired_interval,
    ratio_interval,
    reallocated,
    shapley_coalitions,
    shapley_values,
    stepped_allocation,
)

PLAYERS = ("a", "b", "c")


def glove_game(s: frozenset[str]) -> np.ndarray:
    """One left glove (a), two right gloves (b, c): a pair is worth 1."""
    return np.array([[float("a" in s and ("b" in s or "c" in s))]])


def test_exact_shapley_of_the_glove_game():
    sv = shapley_values(PLAYERS, glove_game)
    # known answer: the left glove 2/3, each right glove 1/6
    np.testing.assert_allclose(sv.values[:, 0, 0], [2 / 3, 1 / 6, 1 / 6])
    assert sv.exact and sv.permutations == 0


def _additive_with_interaction(b: float):
    effects = {"a": 3.0, "b": -1.0, "c": 5.0}

    def v(s: frozenset[str]) -> np.ndarray:
        # two replicates, two metrics: replicate 1 doubles everything, plus a base of 7
        total = sum(effects[p] for p in s) + (b if {"a", "c"} <= s else 0.0)
        return np.array([[7 + total, total], [7 + 2 * total, 2 * total]])

    return v, effects


def test_shapley_adds_up_to_the_total_effect_in_every_replicate():
    v, _ = _additive_with_interaction(4.0)
    sv = shapley_values(PLAYERS, v)
    total = v(frozenset(PLAYERS)) - v(frozenset())
    np.testing.assert_allclose(sv.values.sum(axis=0), total)
    # the interaction of a and c is split equally between them
    np.testing.assert_allclose(sv.values[:, 0, 1], [3 + 2, -1, 5 + 2])


def test_additive_effects_give_shapley_equal_to_leave_one_out():
    v, effects = _additive_with_interaction(0.0)
    sv = shapley_values(PLAYERS, v)
    full = v(frozenset(PLAYERS))
    for i, p in enumerate(PLAYERS):
        loo = full - v(frozenset(PLAYERS) - {p})
        np.testing.assert_allclose(sv.values[i], loo)
        assert loo[0, 1] == effects[p]


def test_sampled_shapley_adds_up_exactly_and_is_exact_for_an_additive_game():
    v, _ = _additive_with_interaction(4.0)
    perms = [[0, 1, 2], [2, 1, 0], [1, 0, 2]]
    sv = shapley_values(PLAYERS, v, perms)
    np.testing.assert_allclose(sv.values.sum(axis=0), v(frozenset(PLAYERS)) - v(frozenset()))
    # a's contributions on the replicate-mean second metric: 3, 3 + 4, 3 -> mean 13/3
    assert sv.values[0, :, 1].mean() == pytest.approx((3 + 7 + 3) / 3 * 1.5)
    assert sv.mc_error[1, 1] == 0  # b adds -1 in every order
    additive, _ = _additive_with_interaction(0.0)
    sv0 = shapley_values(PLAYERS, additive, perms)
    np.testing.assert_allclose(sv0.values, shapley_values(PLAYERS, additive).values)
    np.testing.assert_allclose(sv0.mc_error, 0)


def test_coalitions_of_exact_and_sampled_shapley():
    assert len(shapley_coalitions(PLAYERS, None)) == 8
    along = shapley_coalitions(PLAYERS, [[0, 1, 2], [0, 2, 1]])
    assert set(along) == {
        frozenset(),
        frozenset("a"),
        frozenset("ab"),
        frozenset("ac"),
        frozenset("abc"),
    }


def test_stepped_allocation_keeps_the_sum_and_the_proportions():
    alloc = {"industry": 0.4, "employment": 0.25, "finance": 0.15, "education": 0.1, "health": 0.1}
    new = stepped_allocation(alloc, "finance", 0.1)
    assert new["finance"] == pytest.approx(0.25)
    # the others give 0.1 in proportion: each keeps (1 - 0.25) / (1 - 0.15) of its share
    assert new["industry"] == pytest.approx(0.4 * 0.75 / 0.85)
    assert new["health"] == pytest.approx(0.1 * 0.75 / 0.85)
    assert sum(new.values()) == pytest.approx(1.0)
    with pytest.raises(AttributionError, match="earmark of health would be -0.1"):
        stepped_allocation(alloc, "health", -0.2)
    with pytest.raises(AttributionError, match="earmark of industry would be 1.1"):
        stepped_allocation(alloc, "industry", 0.7)
    moved = reallocated(alloc, "industry")
    assert moved["industry"] == 0 and moved["employment"] == pytest.approx(0.25 / 0.6)


def test_paired_and_ratio_intervals():
    d = np.array([1.0, 3.0, 2.0, 6.0])
    mean, low, high = paired_interval(d)
    # t(0.975, 3) = 3.182446; sd = 2.160247
    half = 3.182446305284263 * 2.1602468994692865 / 2
    assert (mean, low, high) == pytest.approx((3.0, 3.0 - half, 3.0 + half))
    dx = np.array([1.0, 2.0, 3.0])
    r, lo, hi = ratio_interval(np.column_stack([4 * dx, dx]), dx)
    np.testing.assert_allclose([r, lo, hi], [[4, 1], [4, 1], [4, 1]])
    r, lo, hi = ratio_interval(np.array([[1.0], [2.0]]), np.array([0.0, -1.0]))
    assert np.isnan(r).all()


def test_unknown_outcome_is_named():
    with pytest.raises(AttributionError, match="found exits_total"):
        check_outcomes(["cumulative_exited_people", "exits_total"])
    assert check_outcomes(None) == ["cumulative_exited_people", "villages_exited"]


@pytest.fixture(scope="module")
def small(baseline):
    """Three measures; housing does nothing (no renovation, no ranger post)."""
    return apply_overrides(
        baseline,
        {
            "measures.only": ["finance", "housing", "social_security"],
            "housing.renovations": {2016: 0.0, 2017: 0.0, 2018: 0.0},
            "housing.ranger_posts": {2016: 0.0, 2017: 0.0, 2018: 0.0},
            "calendar.end_year": 2018,
        },
    )


@pytest.fixture(scope="module")
def small_attribution(small):
    return attribute(
        small,
        replicates=2,
        population_scale=0.01,
        outcomes=["cumulative_exited_people"],
        max_runs=200,
        workers=1,
    )


def test_a_measure_that_does_nothing_is_credited_with_exactly_nothing(small_attribution):
    t = small_attribution.table
    housing = t[t["measure"] == "housing"]
    assert (housing["loo_effect"] == 0).all()
    assert (housing["shapley"] == 0).all()
    assert (housing["spend_yuan"] == 0).all()
    assert housing["loo_per_million_yuan"].isna().all()  # nothing spent: no ratio
    # social security does something: dibao lifts the households without labour
    dibao = t[(t["measure"] == "social_security") & (t["year"] == 2018)]
    assert dibao["loo_effect"].iloc[0] > 0
    per_million = dibao["loo_effect"].iloc[0] / (dibao["spend_yuan"].iloc[0] / 1e6)
    assert dibao["loo_per_million_yuan"].iloc[0] == pytest.approx(per_million)


def test_small_scenario_shapley_is_exact_and_adds_up(small_attribution):
    att = small_attribution
    assert att.manifest["shapley"] == {**att.manifest["shapley"], "exact": True, "coalitions": 8}
    sums = att.table.groupby("year")["shapley"].sum()
    totals = att.totals.set_index("year")
    np.testing.assert_allclose(sums.to_numpy(), totals.loc[sums.index, "total_effect"])
    np.testing.assert_allclose(
        totals["total_effect"], totals["full"] - totals["no_measure"], rtol=1e-12
    )
    # finance is the only special-fund use that runs: a marginal return for it only
    marginal = att.table.dropna(subset=["marginal_effect"])
    assert set(marginal["measure"]) == {"finance"}


def test_attribution_is_the_same_with_one_or_two_workers(small, small_attribution):
    two = attribute(
        small,
        replicates=2,
        population_scale=0.01,
        outcomes=["cumulative_exited_people"],
        max_runs=200,
        workers=2,
    )
    pd.testing.assert_frame_equal(two.table, small_attribution.table)
    pd.testing.assert_frame_equal(two.capacity, small_attribution.capacity)
    pd.testing.assert_frame_equal(two.totals, small_attribution.totals)


def test_attribution_refuses_bad_sizes(small):
    with pytest.raises(AttributionError, match="replicates"):
        attribute(small, replicates=0)
    with pytest.raises(AttributionError, match="expected --max-runs >= "):
        attribute(small, replicates=2, population_scale=0.01, max_runs=3)


def test_a_run_budget_too_small_for_two_permutations_is_refused(baseline):
    # 18 variants x 1 replicate fit; two random orders of 9 measures need at least 17 coalitions
    with pytest.raises(AttributionError, match="or --no-shapley"):
        attribute(baseline, replicates=1, population_scale=0.01, max_runs=25)
