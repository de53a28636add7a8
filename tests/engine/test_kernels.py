"""The compiled kernels against their numpy twins: the same numbers, bit for bit.

Each kernel is compared with the numpy operations it replaces on random input (edge cases
included), the labour market's draws are compared household by household with the random
stream's state after them, and whole runs are compared table by table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.engine import kernels
from model.engine.dynamics import DynamicsParams, labour_market
from model.engine.scenario import load_scenario
from model.results.recording import run
from tests.conftest import SCENARIOS, make_households

compiled_kernels = pytest.importorskip("model.engine.compiled_kernels")


def test_trial_owners_is_searchsorted_of_the_cumulative_sum():
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 500):
        trials = rng.integers(0, 4, n).astype(np.int8)
        trials[rng.random(n) < 0.3] = 0  # households without trials own none
        total = int(trials.sum(dtype=np.int64))
        positions = (
            np.sort(rng.choice(total, size=min(total, 40), replace=False))
            if total
            else (np.zeros(0, dtype=np.int64))
        )
        expected = np.searchsorted(np.cumsum(trials, dtype=np.int64), positions, side="right")
        got = compiled_kernels.trial_owners(trials, positions.astype(np.int64))
        np.testing.assert_array_equal(got, expected)
        assert (trials[got] > 0).all()
    every = np.array([0, 3, 0, 0, 1, 2], dtype=np.int16)  # every trial a success
    assert compiled_kernels.trial_owners(every, np.arange(6)).tolist() == [1, 1, 1, 4, 5, 5]


def test_runs_is_unique_with_counts():
    values = np.array([2, 2, 2, 5, 9, 9, 11], dtype=np.int64)
    got_values, got_counts = compiled_kernels.runs(values)
    assert got_values.tolist() == [2, 5, 9, 11]
    assert got_counts.tolist() == [3, 1, 2, 1]
    empty = compiled_kernels.runs(np.zeros(0, dtype=np.int64))
    assert empty[0].size == 0 and empty[1].size == 0
    sorted_draws = np.sort(np.random.default_rng(4).integers(0, 50, 300))
    got_both = compiled_kernels.runs(sorted_draws)
    for got, expected in zip(got_both, np.unique(sorted_draws, return_counts=True), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_seeker_trials_sums_seekers_and_finds_their_best_access():
    free = np.array([0, 2, 1, 0, 3], dtype=np.int16)
    access = np.array([9.0, 0.5, 1.25, 7.0, 0.75], dtype=np.float32)
    total, best = compiled_kernels.seeker_trials(free, access)
    assert total == 6
    assert best == np.float32(1.25)  # households 0 and 3 seek no job: their access is ignored
    assert compiled_kernels.seeker_trials(free[:1], access[:1])[0] == 0


def _random_households(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return make_households(
        n,
        county=rng.integers(0, 4, n),
        registered=rng.random(n) < 0.7,
        disabled=rng.random(n) < 0.2,
        elderly=rng.integers(0, 3, n),
        size=rng.integers(1, 7, n),
        workers=rng.integers(0, 4, n),
        jobs=rng.integers(0, 2, n),
        job_wage=rng.uniform(0, 3_000, n),
        business_annual=rng.uniform(0, 20_000, n),
        property_annual=rng.uniform(0, 1_000, n),
        transfer_annual=rng.uniform(0, 5_000, n),
        farm_shock=rng.lognormal(0, 0.2, n),
        dibao_class=rng.integers(0, 4, n),
        wubao=rng.random(n) < 0.05,
    )


def test_base_flows_equal_the_numpy_operations(monkeypatch):
    from model.engine.dynamics import flow_base_incomes

    flows = {}
    for choice in ("numpy", "compiled"):
        monkeypatch.setenv(kernels.KERNELS_ENV, choice)
        hh = _random_households(1_000, 5)
        hh.ill_months = np.where(np.random.default_rng(6).random(hh.n) < 0.2, 3, 0).astype(np.int8)
        assert (hh.kernels is None) == (choice == "numpy")
        for name in ("wage_m", "business_m", "property_m", "transfer_m"):
            getattr(hh, name)[:] = np.nan
        flow_base_incomes(hh)
        flows[choice] = [hh.wage_m, hh.business_m, hh.property_m, hh.transfer_m]
    for numpy_flow, compiled_flow in zip(flows["numpy"], flows["compiled"], strict=True):
        np.testing.assert_array_equal(compiled_flow, numpy_flow)
    # by hand: a household ill with a worker loses a job's wage; the others' is jobs x wage
    sick = (hh.ill_months > 0) & (hh.workers > 0)
    assert sick.any() and (hh.jobs[sick] > 0).any() and (hh.jobs[~sick] > 0).any()
    expected = np.where(sick, np.maximum(hh.jobs.astype(int) - 1, 0), hh.jobs) * hh.job_wage
    np.testing.assert_array_equal(flows["compiled"][0], expected)
    np.testing.assert_array_equal(flows["compiled"][3], hh.transfer_annual / 12)


@pytest.mark.parametrize("pension", [0.0, 35.0])
def test_social_payments_equal_the_numpy_operations(pension):
    hh = _random_households(2_000, 6)
    hh.wage_m[:] = hh.job_wage * hh.jobs
    hh.business_m[:] = hh.business_annual / 12
    hh.transfer_m[:] = hh.transfer_annual / 12
    subsidy, dibao, wubao, floor = 50.0, 4_800 / 12, 6_000 / 12, 0.3
    paid = np.full(hh.n, np.nan)
    social = np.full(hh.n, np.nan)
    demand = compiled_kernels.social_payments(
        hh.registered, hh.disabled, hh.elderly, subsidy, pension, hh.wubao, hh.dibao_class,
        hh.size, hh.wage_m, hh.business_m, hh.property_m, hh.transfer_m, dibao, wubao, floor,
        hh.county, 4, paid, social,
    )  # fmt: skip
    # the same payments, written out with numpy household by household class
    expected = np.where(hh.registered & hh.disabled, subsidy, 0.0)
    if pension:
        expected += np.where(hh.registered, hh.elderly * pension, 0.0)
    own = hh.monthly_income() / hh.size
    gap = np.maximum(dibao - own, 0.0)
    per_person = np.select(
        [hh.wubao, hh.dibao_class == 1, hh.dibao_class == 2, hh.dibao_class == 3],
        [wubao, dibao, np.maximum(gap, floor * dibao), gap],
        0.0,
    )
    enrolled = hh.wubao | (hh.dibao_class > 0)
    expected_social = np.where(enrolled, per_person * hh.size, 0.0)
    expected[enrolled] = expected_social[enrolled] + expected[enrolled]
    np.testing.assert_array_equal(social, expected_social)
    np.testing.assert_array_equal(paid, expected)
    np.testing.assert_array_equal(demand, np.bincount(hh.county, expected, 4))
    assert (social[~enrolled] == 0).all() and (social[hh.wubao] == wubao * hh.size[hh.wubao]).all()


@pytest.mark.parametrize(
    ("rates", "skill"),
    [({}, np.float32), ({"job_loss_rate": 0.4, "job_finding_rate": 0.5}, np.float32),
     ({}, np.float64)],
)  # fmt: skip
def test_labour_market_draws_the_same_with_either_kernels(monkeypatch, rates, skill):
    p = DynamicsParams(**rates)  # high rates: several jobs lost or found in a household at once
    results = {}
    for choice in ("numpy", "compiled"):
        monkeypatch.setenv(kernels.KERNELS_ENV, choice)
        hh = _random_households(3_000, 7)
        hh.skill = hh.skill.astype(skill)  # float64 skills: wages in float64, left to numpy
        hh.job_access[:] = np.random.default_rng(8).uniform(0.5, 1.5, hh.n).astype(np.float32)
        assert (hh.kernels is None) == (choice == "numpy")
        rng = np.random.default_rng(9)
        for _ in range(12):
            labour_market(hh, p, rng, 2017)
        results[choice] = (hh.jobs.copy(), hh.job_wage.copy(), rng.random())
    np.testing.assert_array_equal(results["numpy"][0], results["compiled"][0])
    np.testing.assert_array_equal(results["numpy"][1], results["compiled"][1])
    assert results["numpy"][2] == results["compiled"][2]  # the same draws were taken
    assert results["numpy"][0].sum() > 0
    jobs, wages = results["numpy"][:2]
    emptied = (_random_households(3_000, 7).jobs > 0) & (jobs == 0)
    assert emptied.any() and (wages[emptied] == 0).all()  # a household that lost all: no wage


@pytest.mark.parametrize("scenario", ["baseline", "feedback"])
def test_whole_runs_are_identical_with_either_kernels(monkeypatch, scenario):
    sc = load_scenario(SCENARIOS / f"{scenario}.toml")
    results = {}
    for choice in ("numpy", "compiled"):
        monkeypatch.setenv(kernels.KERNELS_ENV, choice)
        results[choice] = run(sc, seed=3, population_scale=0.01)
    numpy_run, compiled_run = results["numpy"], results["compiled"]
    assert numpy_run.manifest["kernels"] == "numpy"
    assert compiled_run.manifest["kernels"] == "compiled"
    for table in ("annual", "monthly", "by_county", "by_group", "by_measure", "ledger"):
        pd.testing.assert_frame_equal(
            getattr(numpy_run, table), getattr(compiled_run, table), check_exact=True
        )
    assert numpy_run.annual["cumulative_exited_people"].iloc[-1] > 0


def test_the_choice_of_kernels(monkeypatch):
    monkeypatch.delenv(kernels.KERNELS_ENV, raising=False)
    assert kernels.choice() == "auto"
    monkeypatch.setattr(kernels, "loaded", lambda: False)  # a process that has not loaded them
    assert kernels.compiled_for(kernels.COMPILED_FROM - 1) is None
    assert kernels.compiled_for(kernels.COMPILED_FROM) is compiled_kernels
    monkeypatch.setattr(kernels, "loaded", lambda: True)  # once loaded, every size uses them
    assert kernels.compiled_for(10) is compiled_kernels
    monkeypatch.setenv(kernels.KERNELS_ENV, "numpy")
    assert kernels.compiled_for(10**7) is None
    monkeypatch.setenv(kernels.KERNELS_ENV, " Compiled ")
    assert kernels.compiled_for(3) is compiled_kernels
    monkeypatch.setenv(kernels.KERNELS_ENV, "fast")
    with pytest.raises(ValueError, match="SHAOGUAN_ABM_KERNELS='fast'"):
        kernels.compiled_for(3)


def test_without_numba(monkeypatch):
    monkeypatch.setattr(kernels, "_compiled_module", lambda: None)
    monkeypatch.setenv(kernels.KERNELS_ENV, "auto")
    assert kernels.compiled_for(10**7) is None  # numpy, with the same results
    monkeypatch.setenv(kernels.KERNELS_ENV, "compiled")
    with pytest.raises(RuntimeError, match="cannot be used: numba is not installed"):
        kernels.compiled_for(10)


def test_a_nan_access_makes_the_largest_nan_as_numpy_does():
    free = np.array([1, 1, 0], dtype=np.int16)
    access = np.array([0.5, np.nan, 2.0], dtype=np.float32)
    total, best = compiled_kernels.seeker_trials(free, access)
    assert total == 2 and np.isnan(best) and np.isnan(access[free > 0].max())


def test_kernels_that_cannot_be_loaded_fall_back_to_numpy(monkeypatch):
    def no_cache():
        raise RuntimeError("cannot cache function 'social_payments': no locator available")

    monkeypatch.setattr(compiled_kernels, "warm", no_cache)
    monkeypatch.setattr(kernels, "unavailable", "")
    assert kernels._compiled_module.__wrapped__() is None
    assert "no locator available" in kernels.unavailable
    monkeypatch.setattr(kernels, "_compiled_module", kernels._compiled_module.__wrapped__)
    monkeypatch.setenv(kernels.KERNELS_ENV, "auto")
    assert kernels.compiled_for(10**6) is None  # numpy does the work
    monkeypatch.setenv(kernels.KERNELS_ENV, "compiled")
    with pytest.raises(RuntimeError, match="cannot be used: numba could not load them"):
        kernels.compiled_for(10)


def test_a_sweep_of_many_runs_loads_the_kernels_in_its_workers(monkeypatch):
    from model.engine.kernels import MANY_RUNS
    from model.experiments import sweep as sweep_module

    made = []
    real = sweep_module.ModelEvaluator

    def recording_evaluator(*args, **kwargs):
        made.append(kwargs["load_kernels"])
        return real(*args, **kwargs)

    def no_sweep(evaluator, problem, method, samples, *args, **kwargs):
        return sweep_module.run_count(problem, method, samples, args[1])

    monkeypatch.setattr(sweep_module, "ModelEvaluator", recording_evaluator)
    monkeypatch.setattr(sweep_module, "sweep", no_sweep)
    base = SCENARIOS / "baseline.toml"
    param = ["dynamics.job_finding_rate"]
    outcome = ["cumulative_exited_people_2018"]
    few = sweep_module.run_sweep(base, "morris", 2, outcome, param, replicates=1)
    many = sweep_module.run_sweep(base, "morris", 2, outcome, param, replicates=MANY_RUNS // 4)
    assert (few, made[0]) == (4, False)  # 2 trajectories x (1 + 1) points
    assert many == 4 * (MANY_RUNS // 4) >= MANY_RUNS and made[1] is True


@pytest.mark.parametrize("runs", [kernels.MANY_RUNS - 1, kernels.MANY_RUNS])
def test_ensembles_budgets_and_attributions_of_many_runs_load_the_kernels(runs, monkeypatch):
    """Each run of a job of MANY_RUNS runs or more loads the kernels first; fewer, none."""
    from model.experiments.attribution import run_variants
    from model.experiments.budget import run_replicates
    from model.experiments.ensemble import run_ensemble
    from model.experiments.execution import Executor
    from model.results import recording

    asked: list[bool] = []
    real = recording.run_for_outcomes

    def recorded(*args, load_kernels=False, **kwargs):
        asked.append(load_kernels)
        return real(*args, **kwargs)

    loads = []
    monkeypatch.setattr(recording, "run_for_outcomes", recorded)
    monkeypatch.setattr(kernels, "load", lambda: loads.append(1))  # counted, not loaded
    short = load_scenario(SCENARIOS / "baseline.toml", ["calendar.end_year=2018"])
    run_ensemble(short, replicates=runs, seed=1, workers=1, population_scale=0.005)
    run_replicates(short, list(range(runs)), 0.005, workers=1)
    with Executor(workers=1) as executor:  # two variants: half the runs each
        half = {"a": short, "b": short.model_copy(update={"name": "b"})}
        run_variants(half, list(range(runs // 2)), 0.005, executor)
    assert kernels.MANY_RUNS == 16
    many = runs >= 16  # and 2 x 7 = 14 variant runs for 15, 2 x 8 = 16 for 16
    assert len(loads) == (runs if many else 0)  # the ensemble's runs
    assert asked == [many] * runs + [many] * (runs // 2 * 2)  # the budget's, the variants'


def test_triage_queue_groups_and_triages_as_the_numpy_queue_does():
    from model.engine.mechanisms.accountability import allot, triage_order

    rng = np.random.default_rng(11)
    n, n_c = 400, 5
    county = rng.integers(0, n_c, n).astype(np.int8)
    # whole-yuan incomes so that many households lie at the same distance from the line
    income_pc = rng.integers(2000, 6000, n).astype(float)
    line = 4000.0
    for trial in range(60):
        idx = np.flatnonzero(rng.random(n) < rng.uniform(0.05, 0.9))
        if trial % 3 == 0:
            idx = rng.permutation(idx)  # candidates in any order keep it within a county
        counts = np.bincount(county[idx], minlength=n_c)
        places = allot(int(rng.integers(0, idx.size + 2)), counts, rng.uniform(1, 2, n_c))
        triaging = rng.random(n_c) < 0.6
        grouped, triaged, ends = compiled_kernels.triage_queue(
            idx, county, counts, places, triaging, income_pc, line
        )
        np.testing.assert_array_equal(grouped, idx[np.argsort(county[idx], kind="stable")])
        start = 0
        for c in range(n_c):
            if triaging[c] and places[c]:
                candidates = idx[county[idx] == c]
                expected = triage_order(candidates, income_pc, line, int(places[c]))
                np.testing.assert_array_equal(triaged[start : ends[c]], expected)
                # by hand: nobody left out is nearer the line than someone taken
                distance = np.abs(income_pc - line)
                left = np.setdiff1d(candidates, expected)
                if left.size and expected.size:
                    assert distance[left].min() >= distance[expected].max()
            assert ends[c] - start == (places[c] if triaging[c] else 0)
            start = ends[c]


def test_triage_queue_picks_the_nearest_through_ties_runs_and_non_finite_incomes():
    from model.engine.mechanisms.accountability import triage_order

    rng = np.random.default_rng(13)
    n = 3_000
    county = np.zeros(n, dtype=np.int8)
    line = 4000.0
    cases = {
        "ties": rng.integers(3990, 4010, n).astype(float),  # 20 distinct distances at most
        "descending": np.linspace(9000.0, 4000.0, n),  # each one nearer than all before it
        "ascending": np.linspace(4000.0, 9000.0, n),
        "infinite": np.where(rng.random(n) < 0.2, np.inf, rng.normal(4000, 500, n)),
        "nan": np.where(rng.random(n) < 0.05, np.nan, rng.normal(4000, 500, n)),
        "on the line": np.where(rng.random(n) < 0.5, 4000.0, 4001.0),  # distance 0 ties
        # the nearest are exactly the ones a regular sample would look at, so that a threshold
        # from the sample keeps too few and has to be raised
        "sampled near": np.where(np.arange(n) % (n // 64) == 0, 4000.0, 9000.0 + np.arange(n)),
    }
    for name, income_pc in cases.items():
        for k in (1, 2, 7, 100, n - 1, n, n + 5):
            idx = np.arange(n)
            counts = np.array([n])
            places = np.array([min(k, n)])
            _, triaged, _ = compiled_kernels.triage_queue(
                idx, county, counts, places, np.array([True]), income_pc, line
            )
            expected = triage_order(idx, income_pc, line, int(places[0]))
            np.testing.assert_array_equal(triaged, expected, err_msg=f"{name}, k={k}")
    # by hand: a descending run takes the last k households, nearest (the last) first
    _, triaged, _ = compiled_kernels.triage_queue(
        np.arange(6),
        county[:6],
        np.array([6]),
        np.array([3]),
        np.array([True]),
        np.array([9.0, 8.0, 7.0, 6.0, 5.0, 5.0]),
        4.0,
    )
    assert triaged.tolist() == [4, 5, 3]


def test_numpy_sum_adds_as_numpy_does_to_the_bit():
    rng = np.random.default_rng(21)
    differs_from_in_order = 0
    for trial in range(3_000):
        n = int(rng.integers(0, compiled_kernels.PAIRWISE_BLOCK + 1))
        values = rng.standard_normal(n) * 10.0 ** rng.integers(-6, 14, n)
        if trial % 2:
            values = np.abs(values)  # weights are never negative
        got = compiled_kernels.numpy_sum(values)
        assert got == values.sum() or (np.isnan(got) and np.isnan(values.sum())), n
        in_order = 0.0
        for v in values.tolist():
            in_order += v
        differs_from_in_order += in_order != got
    # the pairwise order matters: a plain loop in order would differ in many of these cases
    assert differs_from_in_order > 1_000
    assert compiled_kernels.numpy_sum(np.array([0.1, 0.2, 0.3])) == 0.1 + 0.2 + 0.3
    for n in (1, 7, 8, 100):  # numpy's sum of negative zeros is +0.0 at every length
        assert str(compiled_kernels.numpy_sum(np.full(n, -0.0))) == str(np.full(n, -0.0).sum())
    # longer arrays, which numpy halves first, are not summed
    assert np.isnan(compiled_kernels.numpy_sum(np.ones(compiled_kernels.PAIRWISE_BLOCK + 1)))


def test_county_places_counts_and_allots_as_numpy_does():
    from model.engine.mechanisms.accountability import allot

    rng = np.random.default_rng(22)
    rounds = 0
    for trial in range(2_000):
        n_c = int(rng.integers(1, 16))
        n = int(rng.integers(0, 400))
        county = rng.integers(0, n_c, n).astype(np.int8)
        idx = np.flatnonzero(rng.random(n) < rng.uniform(0.05, 1.0))
        # efforts of few distinct values make ties among the remainders common
        multiplier = (
            rng.choice([1.0, 1.25, 1.5, 2.0, 3.0], n_c) if trial % 2 else (rng.uniform(1, 3, n_c))
        )
        size = int(rng.integers(0, idx.size + 3))
        counts, places, exact = compiled_kernels.county_places(idx, county, n_c, size, multiplier)
        expected_counts = np.bincount(county[idx], minlength=n_c)
        assert exact
        np.testing.assert_array_equal(counts, expected_counts)
        np.testing.assert_array_equal(places, allot(size, expected_counts, multiplier))
        rounds += bool((places < np.minimum(counts, size)).any())
    assert rounds > 100  # many cases where some county could have taken more
    # by hand: county 0 can fill only 1 of its 4 x 5/14 ... places: the rest go to county 1
    idx = np.arange(10)
    county = np.array([0] + [1] * 9, dtype=np.int8)
    counts, places, exact = compiled_kernels.county_places(idx, county, 2, 4, np.array([5.0, 1.0]))
    assert (counts.tolist(), places.tolist(), exact) == ([1, 9], [1, 3], True)
    # a weight that is not finite is left to numpy
    _, _, exact = compiled_kernels.county_places(idx, county, 2, 4, np.array([np.inf, 1.0]))
    assert not exact
    for code in (-1, 2):  # a county code out of range: numpy's bincount raises or grows
        bad = county.copy()
        bad[3] = code
        _, _, exact = compiled_kernels.county_places(idx, bad, 2, 4, np.array([5.0, 1.0]))
        assert not exact
    many = compiled_kernels.PAIRWISE_BLOCK + 1  # counties beyond one block: numpy's too
    _, _, exact = compiled_kernels.county_places(idx, county, many, 4, np.ones(many))
    assert not exact


def test_county_queue_is_the_places_the_triage_and_each_countys_draw_in_county_order():
    from model.engine.mechanisms.accountability import allot, triage_order

    rng = np.random.default_rng(31)
    n = 500
    income_pc = rng.integers(2000, 6000, n).astype(float)
    line = 4000.0
    drew = 0
    for trial in range(200):
        n_c = int(rng.integers(1, 6))
        county = rng.integers(0, n_c, n).astype(np.int8)
        idx = np.flatnonzero(rng.random(n) < rng.uniform(0.05, 0.9))
        multiplier = rng.choice([1.0, 1.2, 1.5], n_c)
        triaging = (multiplier > 1) & (rng.random(n_c) < 0.7)
        size = int(rng.integers(0, idx.size + 3))
        # by numpy, county by county: the places, then the nearest or a choice in each
        counts = np.bincount(county[idx], minlength=n_c)
        places = allot(size, counts, multiplier)
        expected_rng = np.random.default_rng(trial)
        expected = []
        for c in np.flatnonzero(places):
            candidates = idx[county[idx] == c]
            if triaging[c]:
                expected.append(triage_order(candidates, income_pc, line, int(places[c])))
            else:
                expected.append(expected_rng.choice(candidates, int(places[c]), replace=False))
                drew += 1
        got_rng = np.random.default_rng(trial)
        taken, exact = compiled_kernels.county_queue(
            idx, county, n_c, size, multiplier, triaging, income_pc, line,
            *compiled_kernels.stream(got_rng),
        )  # fmt: skip
        assert exact
        want = np.concatenate(expected) if expected else idx[:0]
        np.testing.assert_array_equal(taken, want)
        assert taken.dtype == idx.dtype and taken.size == min(size, idx.size)
        assert got_rng.random() == expected_rng.random()  # the same numbers were drawn
    assert drew > 100
    # a weight that is not finite: nothing taken, nothing drawn, numpy's queue must run
    got_rng, untouched = np.random.default_rng(5), np.random.default_rng(5)
    county = np.zeros(n, dtype=np.int8)
    taken, exact = compiled_kernels.county_queue(
        np.arange(n), county, 1, 10, np.array([np.inf]), np.array([False]), income_pc, line,
        *compiled_kernels.stream(got_rng),
    )  # fmt: skip
    assert not exact and taken.size == 0 and got_rng.random() == untouched.random()


def test_month_flows_repeats_the_numpy_steps():
    rng = np.random.default_rng(12)
    n = 300
    flows = [rng.normal(500, 400, n) * (rng.random(n) < 0.8) for _ in range(4)]
    flows[1][:5] = [1e16, -1e16, 0.1, 0.2, 0.3]  # where the order of the additions shows
    flows[2][:5] = [1.0, 1.0, 0.7, 1e-17, 1e-17]
    medical = rng.exponential(100, n)
    history = np.zeros((2, 12, n))
    components = np.tile(rng.normal(3000, 500, (4, n)), (2, 1, 1))
    compiled_kernels.month_flows(*flows, medical, history[0, 4], history[1, 4], components[0])
    expected_income = flows[0] + flows[1]
    expected_income += flows[2]
    expected_income += flows[3]
    np.testing.assert_array_equal(history[0, 4], expected_income)
    np.testing.assert_array_equal(history[1, 4], medical)
    assert not history[:, [0, 1, 2, 3, 5]].any()  # no other month's row is written
    for k in range(4):
        np.testing.assert_array_equal(components[0, k], components[1, k] + flows[k])
    by_hand = ((flows[0][1] + -1e16) + 1.0) + flows[3][1]  # left to right, as numpy adds
    assert history[0, 4, 1] == by_hand != flows[0][1] + (-1e16 + 1.0) + flows[3][1]


def _spend_trace(kernels_module, seed: int, scale: int) -> tuple:
    """Random receipts and spending through a ledger; everything it returns and records."""
    from model.engine.funding import Ledger

    rng = np.random.default_rng(seed)
    led = Ledger(uses=["a", "b"], n_counties=4, county_names=list("wxyz"), kernels=kernels_module)
    paid = []
    for month in range(1, 13):
        for source in ("province", "paired_city", "home_city"):
            amounts = rng.integers(0, 4, 4) * rng.integers(1, 1000, 4) * scale
            if source == "paired_city":
                amounts[1] = amounts[0] = 7 * scale  # equal holdings: rounding goes to the first
            led.receive("special", source, 2016, month, amounts, {"a": 0.6, "b": 0.4})
        for use in ("a", "b"):
            demand = rng.integers(-500, 3000, 4) * scale  # negative demands pay nothing
            sector = "roads" if rng.random() < 0.4 else None
            paid.append(led.spend(use, 2016, month, demand, ("special",), sector).tolist())
        # a sector budget alone, and a fund with no pot yet: nothing or the sector pays
        demand = rng.integers(0, 900, 4) * scale
        paid.append(led.spend("b", 2016, month, demand, (), "water").tolist())
        paid.append(led.spend("a", 2016, month, demand, ("village",)).tolist())
    pots = {key: pot.tolist() for key, pot in led.pots.items()}
    assert len(led.movements) > 64  # past the first size of the record's buffers
    return paid, led.movements, led.totals, pots, led.frame()


@pytest.mark.parametrize("scale", [1, 10**11])  # 10**11: products past int64, Python pays
def test_ledger_spend_pays_the_same_fen_compiled(scale):
    for seed in range(5):
        python = _spend_trace(None, seed, scale)
        compiled = _spend_trace(compiled_kernels, seed, scale)
        pd.testing.assert_frame_equal(compiled[-1], python[-1])
        assert compiled[:-1] == python[:-1]
        assert any(python[0])
        assert ("sector", "water", "spent") in python[2]


@pytest.mark.parametrize("kernels_module", [None, compiled_kernels], ids=["numpy", "compiled"])
def test_a_ledger_total_past_int64_is_refused_not_wrapped(kernels_module):
    from model.engine.funding import Ledger

    led = Ledger(uses=["a"], n_counties=2, county_names=["x", "y"], kernels=kernels_module)
    half = np.array([2**61, 2**61], dtype=np.int64)  # 2**62 fen in all, twice: 2**63
    led.spend("a", 2016, 1, half, (), "roads")
    before = (led.movements, led.totals)
    with pytest.raises(OverflowError, match="received total of sector/roads"):
        led.spend("a", 2016, 2, half, (), "roads")
    assert (led.movements, led.totals) == before  # nothing half-recorded


def test_spend_shares_by_hand():
    held = np.array([[300, 5, 0, 7], [100, 5, 0, 7], [0, 0, 0, 1]], dtype=np.int64)
    demand = np.array([200, 3, 9, -4], dtype=np.int64)
    take, paying, covered, rest, exact = compiled_kernels.spend_shares(held, demand)
    assert exact
    # county 0: 150 + 50; county 1: 3 x 5/10 = 1.5 each -> 1, 1 and the fen of rounding to the
    # first of the two with most left; county 2 holds nothing; county 3 asks nothing
    assert take.T.tolist() == [[150, 50, 0], [2, 1, 0], [0, 0, 0], [0, 0, 0]]
    assert covered.tolist() == [200, 3, 0, 0] and rest.tolist() == [0, 0, 9, 0]
    assert paying.tolist() == [2, 2, 0]
    big = np.array([[6 * 10**12], [3 * 10**12 + 1]], dtype=np.int64)
    assert not compiled_kernels.spend_shares(big, np.array([4_500_000_000_000]))[-1]
    # holdings whose sum wraps past the int64 range either way are left to Python as well
    most = np.iinfo(np.int64).max
    for held in ([[most], [2]], [[-most], [-2]]):
        assert not compiled_kernels.spend_shares(np.array(held, dtype=np.int64), np.ones(1, int))[
            -1
        ]


def test_a_demand_of_the_wrong_length_is_left_to_the_python_path():
    from model.engine.funding import Ledger

    for kernels_module in (None, compiled_kernels):
        led = Ledger(uses=["a"], n_counties=2, county_names=["x", "y"], kernels=kernels_module)
        led.receive("special", "province", 2016, 1, np.array([100, 100]), {"a": 1.0})
        with pytest.raises(IndexError):
            led.spend("a", 2016, 2, np.array([10, 10, 50]))


def test_a_worker_run_of_a_many_run_job_loads_the_kernels_first(monkeypatch):
    from model.results import recording

    calls = []
    monkeypatch.setattr(recording.kernels, "load", lambda: calls.append("load"))
    sc = load_scenario(SCENARIOS / "baseline.toml")
    recording.run_for_outcomes(sc, seed=1, population_scale=0.005)
    assert calls == []
    recording.run_for_outcomes(sc, seed=1, population_scale=0.005, load_kernels=True)
    assert calls == ["load"]


def test_industry_incomes_adds_what_the_numpy_apply_adds():
    from model.results.recording import RecordedModel

    m = RecordedModel(load_scenario(SCENARIOS / "baseline.toml"), seed=4, population_scale=0.01)
    for _ in range(20):
        m.step()
    hh = m.households
    industry = next(x for x in m.measures if x.name == "industry")
    rng = np.random.default_rng(14)
    n = hh.n
    # projects and shares at every stage, failures, village projects live and not yet
    industry.project_start[:] = rng.integers(-1, m.month_index + 1, n)
    industry.project_failed[:] = rng.random(n) < 0.3
    industry.shares_start[:] = rng.integers(-1, m.month_index + 1, n)
    industry.tourism_start[:] = rng.integers(-1, m.month_index + 1, industry.tourism_start.size)
    industry.extension_paid[:] = rng.random(industry.extension_paid.size)
    hh.business_m[:] = rng.normal(300, 200, n)
    before = hh.business_m.copy(), hh.property_m.copy()
    after = {}
    for mode, kernel_module in (("numpy", None), ("compiled", compiled_kernels)):
        hh.business_m[:], hh.property_m[:] = before
        hh._kernels = kernel_module
        industry.apply(m)
        after[mode] = hh.business_m.copy(), hh.property_m.copy()
    for got, expected in zip(after["compiled"], after["numpy"], strict=True):
        np.testing.assert_array_equal(got, expected)
    changed = (after["numpy"][0] != before[0]) | (after["numpy"][1] != before[1])
    assert changed.sum() > 0.3 * hh.groups.registered.size  # the case is not a trivial one


def _twin_models(months: int = 20, seed: int = 4, scale: float = 0.01):
    """Two models run alike to the same month, one to run numpy's rules and one compiled."""
    from model.results.recording import RecordedModel

    scenario = load_scenario(SCENARIOS / "baseline.toml")
    twins = {}
    for mode, kernel_module in (("numpy", None), ("compiled", compiled_kernels)):
        m = RecordedModel(scenario, seed=seed, population_scale=scale)
        m.households._kernels = None  # the same path to the month, whatever the machine
        for _ in range(months):
            m.step()
        m.households._kernels = kernel_module
        twins[mode] = m
    return twins


def test_pupil_subsidies_pay_and_book_what_the_numpy_apply_does():
    twins = _twin_models()
    for m in twins.values():
        hh = m.households
        rng = np.random.default_rng(15)  # the same children in both
        hh.school_children[:] = rng.integers(0, 4, hh.n) * (rng.random(hh.n) < 0.5)
        hh.transfer_m[:] = rng.normal(100, 50, hh.n)
        u = m.ledger.uses.index("education")
        for (fund, _), pot in m.ledger.pots.items():
            if fund == "special":
                pot[u, ::2] //= 1_000  # every other county short of money: shares below 1
        m.movements_before = len(m.ledger.movements)
        next(x for x in m.measures if x.name == "education").apply(m)
    numpy_model, compiled_model = twins["numpy"], twins["compiled"]
    np.testing.assert_array_equal(
        compiled_model.households.transfer_m, numpy_model.households.transfer_m
    )
    hh = numpy_model.households
    registered = hh.groups.registered
    wanted = (hh.school_children[registered] * 1.0).sum()  # children of registered pupils
    subsidy = numpy_model.scenario.education.student_subsidy / 12
    paid = sum(
        sum(fen) for *head, fen in numpy_model.ledger.movements[numpy_model.movements_before :]
        if head[0] == "special" and head[3] == "spent"
    ) / 100  # fmt: skip
    assert 0 < paid < 0.9 * wanted * subsidy  # the budget fell short: shares below 1 were used
    assert compiled_model.ledger.movements == numpy_model.ledger.movements
    booked = [mv for mv in numpy_model.ledger.movements if mv[2] == "education"]
    assert booked and booked[-1][5] == numpy_model.month


def test_finance_incomes_adds_what_the_numpy_apply_adds():
    twins = _twin_models(months=14)
    for m in twins.values():
        hh = m.households
        finance = next(x for x in m.measures if x.name == "finance")
        rng = np.random.default_rng(16)  # loans at every age, defaults, insurance, bad years
        finance.loan_start[:] = rng.integers(-1, m.month_index + 1, hh.n) - 30 * (
            rng.random(hh.n) < 0.2
        )
        finance.defaulted[:] = rng.random(hh.n) < 0.2
        finance.insured[:] = rng.random(hh.n) < 0.5
        hh.farm_shock[:] = rng.uniform(0.3, 1.3, hh.n)
        hh.business_m[:] = rng.normal(300, 200, hh.n)
        m.before = hh.business_m.copy()
        finance.apply(m)
    got, expected = (twins[k].households.business_m for k in ("compiled", "numpy"))
    np.testing.assert_array_equal(got, expected)
    assert (expected != twins["numpy"].before).sum() > 0.2 * twins[
        "numpy"
    ].households.groups.labour.size


def test_with_job_seekers_keeps_the_households_numpy_keeps():
    from model.engine.assessment import LABOUR_SCATTERED, LABOUR_VILLAGE, NO_LABOUR

    rng = np.random.default_rng(18)
    n = 2_000
    hh = make_households(
        n,
        group=rng.choice([LABOUR_VILLAGE, LABOUR_SCATTERED, NO_LABOUR], n).astype(np.int8),
        workers=rng.integers(0, 4, n).astype(np.int8),
        jobs=rng.integers(0, 3, n).astype(np.int8),
    )
    hh.occupied[:] = rng.integers(0, 2, n)
    for idx in (np.arange(n), np.flatnonzero(rng.random(n) < 0.3), rng.permutation(n)[:500]):
        hh._kernels = None
        expected = hh.with_job_seekers(idx)
        hh._kernels = compiled_kernels
        np.testing.assert_array_equal(hh.with_job_seekers(idx), expected)
        # by hand: a worker free of job and post, in a household with labour capacity
        free = hh.workers[idx].astype(int) - hh.jobs[idx] - hh.occupied[idx]
        by_hand = idx[(free > 0) & (hh.group[idx] != NO_LABOUR)]
        np.testing.assert_array_equal(expected, by_hand)


@pytest.mark.parametrize("month", [5, 12])
def test_dibao_candidates_enrol_as_the_numpy_rules_do(month):
    twins = _twin_models(months=14)
    for m in twins.values():
        hh = m.households
        rng = np.random.default_rng(20)  # incomes either side of the standard, classes, exclusions
        hh.income_history[:] = rng.normal(600, 300, hh.income_history.shape)
        hh.dibao_class[:] = rng.choice([0, 0, 0, 1, 2, 3], hh.n)
        hh.social_excluded[:] = rng.random(hh.n) < 0.1
        m.month = month
        m.rng = np.random.default_rng(21)
        next(x for x in m.measures if x.name == "social_security").enrol(m)
        m.after = hh.dibao_class.copy(), hh.wubao.copy(), m.rng.random()
    numpy_model, compiled_model = twins["numpy"], twins["compiled"]
    for got, expected in zip(compiled_model.after, numpy_model.after, strict=True):
        np.testing.assert_array_equal(got, expected)
    labour = numpy_model.households.groups.labour
    assert np.isin(numpy_model.after[0][labour], (2, 3)).sum() > 0  # labour households enrolled


def test_add_own_share_is_numpys_gather_product_and_scatter():
    rng = np.random.default_rng(24)
    for n in (1, 7, 3_000):
        flow = rng.normal(300, 400, n)
        flow[: min(n, 3)] = [1e308, -0.0, np.inf][: min(n, 3)]  # overflow, signed zero, inf
        items = np.flatnonzero(rng.random(n) < 0.4)
        expected = flow.copy()
        with np.errstate(over="ignore", invalid="ignore"):
            expected[items] += expected[items] * 1.7
        got = flow.copy()
        compiled_kernels.add_own_share(got, items, 1.7)
        np.testing.assert_array_equal(got, expected)
    # by hand: 10 grows by 70% where listed, and only there
    flow = np.array([10.0, 10.0, 10.0])
    compiled_kernels.add_own_share(flow, np.array([0, 2]), 0.7)
    assert flow.tolist() == [17.0, 10.0, 17.0]


def test_loading_the_kernels_compiles_every_one_a_run_calls(tmp_path):
    import subprocess
    import sys

    # a fresh process: kernels compiled by other tests here would hide a missing warm-up
    script = tmp_path / "warm_check.py"
    script.write_text(
        "import model\n"
        "from model.engine import compiled_kernels as ck, kernels\n"
        "from model.results.recording import run\n"
        "kernels.load()\n"
        "names = [n for n in dir(ck) if hasattr(getattr(ck, n), 'signatures')]\n"
        "count = lambda: {n: len(getattr(ck, n).signatures) for n in names}\n"
        "from numba.core import event\n"
        "before = count()\n"
        "with event.install_recorder('numba:compile') as compiled:\n"
        f"    for name in ('baseline', 'feedback'):\n"
        f"        run(model.load_scenario(r'{SCENARIOS}/' + name + '.toml'), seed=2,"
        " population_scale=0.01)\n"
        "after = count()\n"
        "print(sorted(n for n in names if after[n] != before[n]))\n"
        "print(len(compiled.buffer))\n"  # nothing else compiled either (numba's own helpers)
    )
    env = {**__import__("os").environ, kernels.KERNELS_ENV: "compiled"}
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, check=True
    )
    kernels_compiled, others = out.stdout.strip().splitlines()
    assert kernels_compiled == "[]", out.stdout  # names of kernels compiled mid-run
    assert others == "0", out.stdout  # compilations of any kind mid-run


def test_household_screen_counts_what_numpy_counts():
    """Each count of the invariants' compiled screen against numpy masks of the same rule."""
    from model.engine.assessment import EXITED, GROUP_NAMES, NO_LABOUR, NON_POOR, POOR
    from model.engine.invariants import _SCREEN_CODES

    rng = np.random.default_rng(11)
    for n in (0, 1, 9, 2_000):
        group = rng.integers(-1, len(GROUP_NAMES) + 1, n).astype(np.int8)
        dibao = rng.integers(-1, 5, n).astype(np.int8)
        registered = np.where(rng.random(n) < 0.9, group != NON_POOR, rng.random(n) < 0.5)
        status = rng.integers(-1, 5, n).astype(np.int8)
        exit_year = np.where(rng.random(n) < 0.5, 0, 2017).astype(np.int16)
        size = rng.integers(-1, 9, n).astype(np.int16)
        workers = rng.integers(-1, 4, n).astype(np.int8)
        jobs = rng.integers(-1, 5, n).astype(np.int8)
        got = compiled_kernels.household_screen(
            group, dibao, registered, status, exit_year, size, jobs, workers, _SCREEN_CODES
        )
        poor, out = status == POOR, ~registered
        expected = {
            "unknown_group": (group < 0) | (group >= len(GROUP_NAMES)),
            "unknown_dibao": (dibao < 0) | (dibao > 3),
            "register_mismatch": registered != (group != NON_POOR),
            "unknown_status": registered & ((status < 0) | (status > 2)),
            "exit_year_mismatch": registered & (poor == (exit_year != 0)),
            "unregistered_exited": out & (~poor | (exit_year != 0)),
            "negative_jobs": (jobs < 0) | (workers < 0),
            "jobs_over_workers": jobs > workers,
            "jobs_without_labour": (group == NO_LABOUR) & (jobs > 0),
            "empty_households": size < 1,
        }
        counts = {k: int(np.count_nonzero(v)) for k, v in expected.items()}
        counts["people"] = int(size.sum(dtype=np.int64))
        counts["registered_people"] = int(size[registered].sum(dtype=np.int64))
        counts["registered_households"] = int(np.count_nonzero(registered))
        counts["registered_not_exited_people"] = int(
            size[registered & (status != EXITED)].sum(dtype=np.int64)
        )
        assert dict(zip(compiled_kernels.SCREEN_FIELDS, got.tolist(), strict=True)) == counts
        if n > 100:  # the random draws break every rule somewhere
            assert all(counts.values())


def test_all_finite_finds_every_kind_of_non_finite_value():
    for dtype in (np.float64, np.float32):
        values = np.linspace(-1e30, 1e30, 1_001).astype(dtype)
        values[[3, 4]] = np.finfo(dtype).max  # finite, whose sum overflows
        assert compiled_kernels.all_finite(values)
        assert compiled_kernels.all_finite(values[:0])
        for bad in (np.nan, np.inf, -np.inf):
            for at in (0, 500, 1_000):
                broken = values.copy()
                broken[at] = bad
                assert not compiled_kernels.all_finite(broken), (dtype, bad, at)


def _twin_ledgers() -> dict:
    """:func:`_twin_models` at month 14 whose ledgers run numpy's and the compiled payments."""
    twins = _twin_models(months=14)
    for mode, m in twins.items():
        m.ledger.kernels = m.households.kernels  # the ledger takes the model's at its start
        assert (m.ledger.kernels is None) == (mode == "numpy")
    return twins


def test_a_measure_charges_the_same_through_the_compiled_ledger():
    """``charge_totals`` with and without the compiled charge: shares, spend and record."""
    twins = _twin_ledgers()
    rng = np.random.default_rng(21)
    n = twins["numpy"].n_counties
    cases = []
    for _ in range(40):
        demand = rng.choice([0.0, 0.004, -3.0, 12.5, 3e4, 2e6], size=n) * rng.random(n)
        sector = rng.choice([None, "water"]) if rng.random() < 0.3 else None
        funds = [("special",), (), ("village",), None][rng.integers(4)]
        cases.append((demand, funds, sector))
    got = {}
    for mode, m in twins.items():
        infra = next(x for x in m.measures if x.name == "infrastructure")
        infra.month_spend = 0.0
        before = len(m.ledger.movements)
        shares = [
            infra.charge_totals(m, demand.copy(), funds, sector).tolist()
            for demand, funds, sector in cases
        ]
        got[mode] = shares, infra.month_spend, m.ledger.movements[before:], m.ledger.totals
    assert got["compiled"] == got["numpy"]
    shares = np.array(got["numpy"][0])
    assert (shares == 1).any() and ((shares > 0) & (shares < 1)).any()  # paid and short
    assert len(got["numpy"][2]) > 20


def test_a_measure_takes_within_budget_the_same_through_the_compiled_ledger():
    """``take_within_budget`` with and without the compiled pass: taken, unmet, spend, record."""
    twins = _twin_ledgers()
    rng = np.random.default_rng(22)
    n = twins["numpy"].n_counties
    cases = []
    for _ in range(30):
        size = int(rng.integers(0, 60))
        county = rng.integers(0, n, size).astype(np.int8)
        cost = float(rng.choice([0.0, 0.001, 150.0, 2_000.0, 30_000.0, 4e6]))
        cases.append((np.arange(size) * 3, county, cost))
    got = {}
    for mode, m in twins.items():
        u = m.ledger.uses.index("industry")
        for (fund, _), pot in m.ledger.pots.items():
            if fund == "special":
                pot[u, ::2] //= 50  # every other county short of money
        before = len(m.ledger.movements)
        taken = []
        for name in ("industry", "infrastructure"):  # the special fund; a sector budget
            measure = next(x for x in m.measures if x.name == name)
            measure.month_spend = 0.0
            for candidates, county, cost in cases:
                taken.append(measure.take_within_budget(m, candidates, county, cost).tolist())
            taken.append((measure.month_spend, measure.unmet_fen.tolist()))
        got[mode] = taken, m.ledger.movements[before:], m.ledger.totals
    assert got["compiled"] == got["numpy"]
    industry = got["numpy"][0][: len(cases)]
    assert any(0 < len(t) < len(c) for t, (c, _, _) in zip(industry, cases, strict=True))
    assert any(got["numpy"][0][len(cases)][1])  # industry's unmet demand was recorded


def test_the_kernels_record_the_ledgers_kinds():
    from model.engine.funding import KINDS

    assert KINDS[compiled_kernels.RECEIVED] == "received"
    assert KINDS[compiled_kernels.SPENT] == "spent"
    assert KINDS[compiled_kernels.LEAKED] == "leaked"
    assert KINDS[compiled_kernels.UNSPENT] == "unspent"
    assert KINDS[compiled_kernels.REALLOCATED_OUT] == "reallocated_out"
    assert KINDS[compiled_kernels.REALLOCATED_IN] == "reallocated_in"


def test_ledger_screen_flags_what_the_ledgers_numpy_checks_find(baseline):
    from model.engine.simulation import PovertyModel

    m = PovertyModel(baseline, seed=1, population_scale=0.01)
    for _ in range(14):  # two tranches, spending, leakage
        m.step()
    ledger = m.ledger
    ledger.kernels = compiled_kernels
    assert ledger._n > 0 and ledger._pot_keys
    checks = ledger.invariant_checks()
    flags = ["LEDGER_GAP", "LEDGER_NEGATIVE", "LEDGER_MOVES_UNEQUAL"]
    assert all(ledger.screen_holds(flag) for flag in flags)
    assert checks["ledger_identity"](m) is None and checks["no_overspending"](m) is None
    # one yuan from nowhere: the identity fails, and nothing else
    pot = ledger.pots[("special", "province")]
    county = int(np.argmax(pot[0]))
    pot[0, county] += 100
    assert [ledger.screen_holds(f) for f in flags] == [False, True, True]
    assert "fen off: {'special/province': -100}" in checks["ledger_identity"](m)
    # a pot below zero
    pot[1, county] = -1
    assert [ledger.screen_holds(f) for f in flags] == [False, False, True]
    assert "pots below zero" in checks["no_overspending"](m)
    # money moved out of a use without reaching another
    moved = [5] * ledger.n_counties
    ledger._record("special", "paired_city", "industry", "reallocated_out", 2016, 12, moved)
    assert ledger.screen_holds("LEDGER_MOVES_UNEQUAL") is False
    assert ledger.reallocation_gaps_fen() == {("special", "paired_city"): 5 * ledger.n_counties}


def test_ledger_take_by_hand():
    """A cumulative cost equal to the budget fits; past it, the cost is unmet."""
    from model.engine.funding import Ledger, select_within_budget

    led = Ledger(uses=["a"], n_counties=2, county_names=["x", "y"], kernels=compiled_kernels)
    led.receive("special", "province", 2016, 1, np.array([300, 250]), {"a": 1.0})
    county = np.array([0, 1, 0, 0, 1, 0, 1], dtype=np.int8)
    unmet = np.zeros(2, dtype=np.int64)
    mask, taken, fen = led.take("a", 2016, 2, county, 1.0, None, unmet, ("special",), None)
    expected = [True, True, True, True, True, False, False]  # 3 x 100 <= 300; 3 x 100 > 250
    assert mask.tolist() == expected
    assert select_within_budget(county, np.full(7, 100), np.array([300, 250])).tolist() == expected
    assert (taken, fen, unmet.tolist()) == (5, 500, [100, 100])
    assert led.available("a").tolist() == [0, 50]
    # a sector-paid measure: no limit but the one given
    mask, taken, fen = led.take("a", 2016, 3, county, 1.0, 10**6, unmet, (), "roads")
    assert mask.all() and (taken, fen) == (7, 700)
    assert led.totals[("sector", "roads", "spent")] == 700


def test_the_compiled_payments_leave_what_they_cannot_do_exactly_to_numpy():
    """A total paid past int64, a county code out of range: nothing changed, None returned."""
    from model.engine.funding import Ledger

    led = Ledger(uses=["a"], n_counties=3, county_names=list("xyz"), kernels=compiled_kernels)
    led.receive("special", "province", 2016, 1, np.array([0, 0, 10**9]), {"a": 1.0})
    before = (led.movements, led.totals, led.available("a").tolist())
    # each county's demand fits in int64 fen, their sum does not
    demand = np.array([9.19e16, 333720368537757.06, 1e7])
    assert led.charge("a", 2016, 2, demand, ("special",), "roads") is None
    unmet = np.zeros(3, dtype=np.int64)
    for county in ([0, -1], [3, 0]):
        took = led.take(
            "a", 2016, 2, np.array(county, dtype=np.int8), 1.0, None, unmet, ("special",), None
        )
        assert took is None
    assert (led.movements, led.totals, led.available("a").tolist()) == before
    assert not unmet.any()
    # funds named in a list are the same pots as in a tuple
    share, fen = led.charge("a", 2016, 3, np.array([0.0, 0.0, 2.5]), ["special"], None)
    assert share.tolist() == [1.0, 1.0, 1.0] and fen == 250


def test_ledger_reallocate_moves_and_records_what_the_python_ledger_does():
    from model.engine.funding import Ledger

    uses = ["industry", "employment", "finance", "education", "housing"]
    rng = np.random.default_rng(41)
    compared = 0
    for trial in range(80):
        ledgers = []
        for module in (None, compiled_kernels):
            led = Ledger(uses=uses, n_counties=3, county_names=["a", "b", "c"], kernels=module)
            draw = np.random.default_rng(trial)
            for source in ("province", "paired_city", "home_city"):
                earmark = {u: float(w) for u, w in zip(uses, draw.integers(0, 4, 5), strict=True)}
                earmark["industry"] += 1.0
                amounts = draw.integers(0, 10**6, 3) * (draw.random(3) < 0.8)
                led.receive("special", source, 2016, 3, amounts, earmark, 0.05)
            ledgers.append(led)
        county = int(rng.integers(0, 3))
        held = ledgers[0].available("industry", ("special",))[county]
        out = {"industry": int(rng.integers(0, held + 2))}  # now and then more than it holds
        if rng.random() < 0.5:
            out["housing"] = int(rng.integers(0, ledgers[0].available("housing")[county] + 1))
        weights = {u: float(w) for u, w in zip(uses[1:4], rng.integers(0, 3, 3), strict=True)}
        weights["finance"] += 0.5
        results = []
        for led in ledgers:
            try:
                results.append(led.reallocate("special", 2016, 12, county, out, weights))
            except ValueError as error:
                results.append(str(error))
        assert results[0] == results[1]
        a, b = (led.frame() for led in ledgers)
        pd.testing.assert_frame_equal(a, b)
        np.testing.assert_array_equal(ledgers[0]._store, ledgers[1]._store)
        compared += isinstance(results[0], int) and results[0] > 0
    assert compared > 40


def test_split_fen_kernel_is_the_ledgers_split_fen():
    from model.engine.funding import split_fen

    rng = np.random.default_rng(43)
    for trial in range(2_000):
        n = int(rng.integers(1, 20))  # past 8 weights numpy's sum is pairwise
        weights = rng.choice([0.0, 1.0, 3.0, 7.0], n) if trial % 2 else rng.uniform(0, 1e6, n)
        total = int(rng.integers(0, 10**12))
        np.testing.assert_array_equal(
            compiled_kernels.split_fen(total, weights), split_fen(total, weights)
        )


def test_ledger_receive_records_and_splits_what_the_python_ledger_does():
    from model.engine.funding import Ledger

    uses = ["industry", "employment", "finance", "education"]
    rng = np.random.default_rng(47)
    for trial in range(120):
        n_c = int(rng.integers(1, 6))
        names = [f"c{k}" for k in range(n_c)]
        ledgers = [
            Ledger(uses=uses, n_counties=n_c, county_names=names, kernels=module)
            for module in (None, compiled_kernels)
        ]
        for step in range(3):
            earmark = {u: float(w) for u, w in zip(uses, rng.integers(0, 4, 4), strict=True)}
            if step == 0:
                earmark["industry"] += 1.0
            amounts = rng.integers(0, 10**9, n_c) * (rng.random(n_c) < 0.7)
            if trial % 20 == 19:  # beyond what the kernel takes: Python's exact arithmetic
                amounts[0] = 2**62 + 7
            leak = float(rng.choice([0.0, 0.05, 0.3, 1 / 3]))
            source = str(rng.choice(["province", "paired_city"]))
            outcomes = []
            for led in ledgers:
                try:
                    led.receive("special", source, 2016, step + 1, amounts, earmark, leak)
                    outcomes.append(None)
                except OverflowError as error:
                    outcomes.append(str(error))
            assert outcomes[0] == outcomes[1]
        a, b = ledgers
        pd.testing.assert_frame_equal(a.frame(), b.frame())
        np.testing.assert_array_equal(a._store, b._store)
        np.testing.assert_array_equal(a._totals, b._totals)
        np.testing.assert_array_equal(a._seen, b._seen)


def test_illness_draws_the_same_with_either_kernels(monkeypatch):
    from model.engine.dynamics import illness, illness_probability

    p = DynamicsParams(illness_rate=0.01, illness_months=2)
    results = {}
    for choice in ("numpy", "compiled"):
        monkeypatch.setenv(kernels.KERNELS_ENV, choice)
        hh = _random_households(3_000, 11)
        hh.chronic[: hh.n // 3] = True
        hh.insured[::4] = False
        assert (hh.kernels is None) == (choice == "numpy")
        probability = illness_probability(hh, p)
        rng = np.random.default_rng(12)
        ill, oop = [], []
        for _ in range(6):
            ill.append(illness(hh, p, rng, probability).tolist())
            oop.append(hh.medical_oop_m.copy())
        results[choice] = (ill, np.array(oop), hh.ill_months.copy(), rng.random())
    numpy_result, compiled_result = results["numpy"], results["compiled"]
    assert numpy_result[0] == compiled_result[0]
    np.testing.assert_array_equal(numpy_result[1], compiled_result[1])
    np.testing.assert_array_equal(numpy_result[2], compiled_result[2])
    assert numpy_result[3] == compiled_result[3]  # the same draws were taken
    # by hand: the last month's ill lose 2 months and pay the cost, less half where insured
    ill, oop, months = numpy_result[0][-1], numpy_result[1][-1], numpy_result[2]
    assert len(ill) > 20 and (months[ill] == 2).all()
    insured = _random_households(3_000, 11).insured.copy()
    insured[::4] = False
    expected = np.where(insured[ill], p.illness_cost * 0.5, p.illness_cost)
    np.testing.assert_array_equal(oop[ill], expected)
    assert (np.delete(oop, ill) == 0).all()
    assert set(np.flatnonzero(months == 1)) == set(numpy_result[0][-2]) - set(ill)


def test_a_nan_chance_raises_with_either_kernels(monkeypatch):
    from model.engine.dynamics import illness

    p = DynamicsParams()
    for choice in ("numpy", "compiled"):
        monkeypatch.setenv(kernels.KERNELS_ENV, choice)
        hh = _random_households(50, 3)
        probability = np.full(hh.n, 0.01)
        probability[7] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            illness(hh, p, np.random.default_rng(1), probability)
        hh.job_access[:] = np.nan  # the seekers' NaN access makes the likeliest chance NaN
        hh.jobs[:] = 0
        hh.workers[:] = 2
        with pytest.raises(ValueError, match="NaN"):
            labour_market(hh, p, np.random.default_rng(1), 2017)


def _run_in_both_modes(monkeypatch, sc, seed, collect):
    """``{"numpy": collect(m), "compiled": collect(m)}`` of a run at scale 0.01 in each mode."""
    from model.results.recording import RecordedModel

    results = {}
    for choice in ("numpy", "compiled"):
        monkeypatch.setenv(kernels.KERNELS_ENV, choice)
        m = RecordedModel(sc, seed=seed, population_scale=0.01)
        m.run_model()
        results[choice] = collect(m)
    return results["numpy"], results["compiled"]


def _measure(m, name):
    return next(x for x in m.measures if x.name == name)


@pytest.mark.parametrize("firm_reward", [0.0, 800.0])
def test_placements_draw_the_same_with_either_kernels(monkeypatch, firm_reward):
    """Employment's placements (finds, queue, budget, migrants, wages) compiled or in numpy."""
    overrides = [
        f"employment.firm_reward={firm_reward}",
        "employment.placement_rate=0.2",
        "employment.migrant_share=0.5",
    ]
    sc = load_scenario(SCENARIOS / "baseline.toml", overrides)
    numpy_run, compiled_run = _run_in_both_modes(
        monkeypatch, sc, 4,
        lambda m: (_measure(m, "employment").placed.copy(), m.households.jobs.copy(),
                   m.households.job_wage.copy(), m.rng.random(), m.result().by_measure),
    )  # fmt: skip
    for got, expected in zip(compiled_run[:3], numpy_run[:3], strict=True):
        np.testing.assert_array_equal(got, expected)
    assert compiled_run[3] == numpy_run[3]  # the same draws were taken
    pd.testing.assert_frame_equal(compiled_run[4], numpy_run[4], check_exact=True)
    assert numpy_run[0].sum() > 100  # placements happened


STRESS = {  # rates far above the plan's, so that every compiled draw decides many households
    "baseline": ["finance.default_rate=0.6", "industry.project_failure=0.4",
                 "education.return_rate=0.9", "social_security.enrolment_rate=0.9",
                 "social_security.inclusion_error=0.3", "employment.skill_gain=0.6",
                 "education.vocational_skill_gain=0.7"],
    "feedback": ["finance.default_rate=0.3", "employment.completion_rate=0.5",
                 "social_security.labour_take_up=1.0"],
}  # fmt: skip


@pytest.mark.parametrize("scenario", sorted(STRESS))
def test_measures_draw_the_same_with_either_kernels_at_high_rates(monkeypatch, scenario):
    def collect(m):
        hh = m.households
        state = (_measure(m, "finance").defaulted, hh.skill, hh.dibao_class, hh.wubao,
                 hh.children_in_school)  # fmt: skip
        return m.result(), [a.copy() for a in state], m.rng.random()

    sc = load_scenario(SCENARIOS / f"{scenario}.toml", STRESS[scenario])
    numpy_run, compiled_run = _run_in_both_modes(monkeypatch, sc, 6, collect)
    for table in ("annual", "monthly", "by_measure", "ledger"):
        pd.testing.assert_frame_equal(
            getattr(numpy_run[0], table), getattr(compiled_run[0], table), check_exact=True
        )
    for got, expected in zip(compiled_run[1], numpy_run[1], strict=True):
        np.testing.assert_array_equal(got, expected)
    assert numpy_run[2] == compiled_run[2]  # the same draws were taken
    defaulted, skill = numpy_run[1][:2]
    assert defaulted.sum() > 20 and (skill == 1).any()  # many defaults; skills reach the cap


def test_posts_still_held_by_hand_with_either_kernels(monkeypatch):
    for choice in ("numpy", "compiled"):
        monkeypatch.setenv(kernels.KERNELS_ENV, choice)
        hh = _random_households(5, 1)
        assert (hh.kernels is None) == (choice == "numpy")
        hh.workers[:] = [1, 2, 2, 1, 0]
        hh.jobs[:] = [0, 1, 2, 0, 0]
        hh.occupied[:] = [1, 1, 1, 0, 1]
        post = np.array([True, True, True, False, True])
        # 0: one worker on the post; 1: a job and the post for two workers; 2: two jobs leave
        # no worker for the post; 3: no post; 4: no worker at all
        assert hh.posts_still_held(post) == 2
        assert post.tolist() == [True, True, False, False, False]
        assert hh.occupied.tolist() == [1, 1, 0, 0, 0]


def test_health_claims_and_payments_are_numpys_steps():
    """The claims, their county sums and what a short budget pays, against numpy's lines."""
    rng = np.random.default_rng(21)
    n, n_counties = 2_000, 4
    registered = np.flatnonzero(rng.random(n) < 0.6)
    cost = np.where(rng.random(n) < 0.3, rng.uniform(0, 20_000, n), 0.0)
    insured = rng.random(n) < 0.8
    assisted = rng.uniform(0, 12_000, n)  # the cap of 10,000 binds for some, leaves none
    county = rng.integers(0, n_counties, n).astype(np.int8)
    share = np.array([1.0, 0.5, 0.25, 0.0])  # what each county's budget paid
    kept, cap, compliant, assistance = 0.6, 10_000.0, 0.9, 0.7
    # numpy, as Health.respond computes it
    ill = registered[(cost[registered] > 0) & insured[registered]]
    oop = cost[ill] * kept
    room = np.maximum(cap - assisted[ill], 0)
    assist = np.minimum(oop * compliant * assistance, room)
    demand = np.bincount(county[ill], cost[ill] - oop + assist, n_counties)
    paid = share[county[ill]]
    expected_assisted, expected_cost = assisted.copy(), cost.copy()
    expected_assisted[ill] += assist * paid
    expected_cost[ill] -= (cost[ill] - oop) * paid + assist * paid
    # compiled
    got_oop, got_assist = np.zeros(n), np.zeros(n)
    got_ill, got_demand = compiled_kernels.health_claims(
        registered, cost, insured, assisted, kept, cap, compliant, assistance, county,
        n_counties, got_oop, got_assist,
    )  # fmt: skip
    np.testing.assert_array_equal(got_ill, ill)
    np.testing.assert_array_equal(got_demand, demand)
    compiled_kernels.health_paid(got_ill, share, county, cost, got_oop, got_assist, assisted)
    np.testing.assert_array_equal(assisted, expected_assisted)
    np.testing.assert_array_equal(cost, expected_cost)
    assert (room == 0).any() and (assist == room).any() and (assist < room).any()
