"""Attribution: Shapley values on known games, shares, intervals, and small scenarios."""

from __future__ import annotations

import math

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
    widened_interval,
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


def test_sampled_shapley_error_and_its_interval_by_hand():
    v, _ = _additive_with_interaction(4.0)
    sv = shapley_values(PLAYERS, v, [[0, 1, 2], [2, 1, 0], [1, 0, 2]])
    # a's contributions to the replicate-mean second metric in the three orders: 4.5, 10.5,
    # 4.5 (mean 6.5); sample sd sqrt((2^2 + 4^2 + 2^2) / 2) = sqrt(12); error sqrt(12 / 3) = 2
    assert sv.mc_error[0, 1] == pytest.approx(2.0)
    # seeds' half-width 3 and permutations' 1.96 x 2 = 3.92 add in quadrature: 4.936
    low, high = widened_interval(np.array([10.0]), np.array([13.0]), np.array([2.0]))
    half = math.sqrt(3.0**2 + (1.959964 * 2.0) ** 2)
    assert low[0] == pytest.approx(10.0 - half, abs=1e-4)
    assert high[0] == pytest.approx(10.0 + half, abs=1e-4)
    # no permutation error: the paired interval is kept
    assert widened_interval(np.array([1.0]), np.array([1.5]), np.array([0.0]))[0][0] == 0.5


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


# ---------------------------------------------------------------------------------------------
# parameter sources


def test_fixed_parameters_leave_the_attribution_as_it_was(small, small_attribution):
    """The numbers an attribution of ``small`` gave before it took a parameter source."""
    t = small_attribution.table.set_index(["measure", "year"])
    assert small_attribution.manifest["parameters"] == "fixed"
    assert (t["parameters"] == "fixed").all()
    assert t.loc[("finance", 2018), "full"] == 405.0
    assert list(t.loc["social_security", "loo_effect"]) == [254.0, 236.0, 254.5]
    assert list(t.loc["social_security", "shapley"]) == [257.0, 274.5, 293.99999999999994]
    assert list(t.loc["finance", "loo_high"]) == [
        171.8868663064457,
        290.21442550862935,
        354.7454491895028,
    ]
    assert list(t.loc["finance", "shapley_high"]) == [
        35.11861420852407,
        284.24270893201793,
        432.36406339802693,
    ]
    assert t.loc[("social_security", 2016), "spend_yuan"] == 6368554.869999999
    explicit = attribute(
        small,
        replicates=2,
        population_scale=0.01,
        outcomes=["cumulative_exited_people"],
        max_runs=200,
        workers=1,
        parameters="fixed",
    )
    pd.testing.assert_frame_equal(explicit.table, small_attribution.table)


class RecordingExecutor:
    """Runs in this process and keeps every payload it is given."""

    description = "this process (recorded)"

    def __init__(self) -> None:
        self.payloads: list[tuple] = []

    def map(self, func, payloads):  # noqa: ANN001, ANN201
        payloads = list(payloads)
        self.payloads += payloads
        return [func(p) for p in payloads]


PRIOR_RUN = dict(
    replicates=2,
    seed=4,
    population_scale=0.005,
    outcomes=["cumulative_exited_people"],
    shapley=False,
    parameters="prior",
)


@pytest.fixture(scope="module")
def prior_attribution(small):
    recorder = RecordingExecutor()
    return attribute(small, executor=recorder, **PRIOR_RUN), recorder.payloads


def test_every_variant_of_a_replicate_runs_with_the_ensembles_draw(small, prior_attribution):
    from model.experiments.ensemble import replicate_seeds, run_ensemble
    from model.experiments.parameters import ParameterSource

    att, payloads = prior_attribution
    seeds = replicate_seeds(4, 2)
    variants = len({p[0] for p in payloads})
    assert variants >= 4  # full, three left out, finance's step
    assert len(payloads) == 2 * variants
    for r, seed in enumerate(seeds):
        drawn = [p[3] for p in payloads if p[1] == seed]
        assert len(drawn) == variants
        expected = ParameterSource.prior().draw(small, 4, r)
        assert len(expected) > 50
        assert all(d == expected for d in drawn)
    assert payloads[0][3] != ParameterSource.prior().draw(small, 4, 1)  # the draws differ
    # an ensemble of the same root seed runs its replicates with the same draws and seeds ...
    ensemble = run_ensemble(
        small, replicates=2, seed=4, population_scale=0.005, workers=1, parameters="prior"
    )
    outcomes = ensemble.outcomes.sort_values("replicate")
    assert list(outcomes["seed"]) == seeds
    for path in ("dynamics.job_finding_rate", *sorted(payloads[0][3])[:5]):
        assert list(outcomes[path]) == [
            ParameterSource.prior().draw(small, 4, r)[path] for r in range(2)
        ]
    # ... so the attribution's full scenario is that ensemble's mean
    full = att.table[att.table["measure"] == "finance"].set_index("year")["full"]
    for year in (2016, 2017, 2018):
        assert full[year] == outcomes[f"cumulative_exited_people_{year}"].mean()


def test_prior_attribution_says_where_its_intervals_come_from(prior_attribution):
    att, _ = prior_attribution
    m = att.manifest
    assert m["parameters"] == "prior"
    assert m["parameter_draws"] == 2 and "dynamics.job_finding_rate" in m["drawn_parameters"]
    assert m["intervals_carry"].startswith("seeds and prior parameter draws: ")
    assert m["parameter_source"].startswith("seeds and prior parameter draws (")
    assert (att.table["parameters"] == "prior").all()
    assert not any(p in m["drawn_parameters"] for p in ("funding.allocation", "measures.only"))


def test_prior_attribution_is_the_same_with_one_or_two_workers(small, prior_attribution):
    att, _ = prior_attribution
    two = attribute(small, workers=2, **PRIOR_RUN)
    pd.testing.assert_frame_equal(two.table, att.table)
    pd.testing.assert_frame_equal(two.capacity, att.capacity)


def test_posterior_attribution_runs_every_variant_with_the_drawn_row(small, tmp_path):
    from model.experiments.parameters import ParameterSource

    file = tmp_path / "posterior.parquet"
    pd.DataFrame({"weight": [0.0, 1.0], "dynamics.job_finding_rate": [0.01, 0.0123]}).to_parquet(
        file
    )
    recorder = RecordingExecutor()
    run = dict(PRIOR_RUN, replicates=1, parameters=ParameterSource.from_posterior_file(file))
    att = attribute(small, executor=recorder, **run)
    assert len(recorder.payloads) >= 4
    # the row of weight 0 is never drawn; every variant runs with the other
    assert all(p[3] == {"dynamics.job_finding_rate": 0.0123} for p in recorder.payloads)
    m = att.manifest
    assert (m["parameters"], m["posterior_file"], m["posterior_rows"]) == (
        "posterior",
        str(file),
        2,
    )
    assert m["intervals_carry"].startswith("seeds and posterior parameter draws: ")
    assert (att.table["parameters"] == "posterior").all()
