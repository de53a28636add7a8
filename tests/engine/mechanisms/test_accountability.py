"""Accountability and adaptation on hand-built counties, households and pots of money."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from model.engine.assessment import EXITED, POOR
from model.engine.funding import FEN
from model.engine.interventions.base import Measure, MeasureParams
from model.engine.mechanisms.accountability import (
    Accountability,
    AccountabilityParams,
    allot,
    county_effort,
    triage_order,
)
from model.engine.scenario import apply_overrides, load_scenario
from model.results.recording import run
from tests.conftest import SCENARIOS, make_households
from tests.fakes import FakeModel


def _stand_in(name, n_counties=2):
    """What the mechanism reads of a measure: its name, its pots and its unmet demand."""
    return SimpleNamespace(name=name, funds=("special",), unmet_fen=np.zeros(n_counties, np.int64))


def _two_counties(**params):
    """County 0: 4 households of 2, one out; county 1: 4 households of 2, all out.

    The scale makes the 2018 target (95,500 people) 16 people, 8 for each county, so in
    December 2017 county 0 (2 out) misses 6 of its 8 (shortfall 0.75) and county 1 is ahead.
    """
    hh = make_households(
        8,
        county=[0, 0, 0, 0, 1, 1, 1, 1],
        status=[EXITED, POOR, POOR, POOR] + [EXITED] * 4,
    )
    m = FakeModel(hh, year=2017, month=12, n_counties=2, scale=16 / 95_500)
    m.measures = [_stand_in(n) for n in ("industry", "employment", "finance", "education")]
    mech = Accountability(AccountabilityParams(enabled=True, **params), m)
    return m, mech


def _measure(m, name):
    return next(x for x in m.measures if x.name == name)


def test_effort_rises_with_the_shortfall_only_behind_and_never_beyond_the_ceiling():
    shortfall, effort = county_effort(
        np.array([50, 100, 120, 0, 90]), np.array([100, 100, 100, 0, 100]), 2.0, 1.5
    )
    assert shortfall.tolist() == pytest.approx([0.5, 0.0, 0.0, 0.0, 0.1])
    # 1 + 2 x 0.5 = 2 is capped at 1.5; 1 + 2 x 0.1 = 1.2; ahead or without target: 1
    assert effort.tolist() == pytest.approx([1.5, 1.0, 1.0, 1.0, 1.2])
    assert county_effort(np.array([50]), np.array([100]), 0.0, 1.5)[1].tolist() == [1.0]


def test_county_behind_adapts_and_moves_unspent_money_to_unmet_demand_exactly():
    m, mech = _two_counties(elasticity=1.0, ceiling=1.5)
    m.fund("industry", 600.0, county=0, source="province")
    m.fund("industry", 400.0, county=0, source="paired_city")
    m.fund("employment", 300.0, county=0)
    m.fund("industry", 1_000.0, county=1)
    employment = _measure(m, "employment")
    employment.unmet_fen[:] = [200 * FEN, 500 * FEN]  # both counties refused candidates
    mech.after_assessment(m)

    assert mech.target_people.tolist() == [8, 8]
    assert mech.shortfall.tolist() == pytest.approx([0.75, 0.0])
    assert mech.effort.tolist() == pytest.approx([1.5, 1.0])  # 1.75 capped at 1.5
    assert mech.triaging.tolist() == [True, False]
    # county 0 may move 75% of industry's 1,000 yuan, but only the 200 yuan of unmet demand;
    # each source gives in proportion to what it holds (600 : 400)
    industry = m.ledger.uses.index("industry")
    jobs = m.ledger.uses.index("employment")
    province = m.ledger.pots[("special", "province")]
    paired = m.ledger.pots[("special", "paired_city")]
    assert province[industry].tolist() == [480 * FEN, 1_000 * FEN]
    assert paired[industry].tolist() == [320 * FEN, 0]
    assert province[jobs].tolist() == [420 * FEN, 0]
    assert paired[jobs].tolist() == [80 * FEN, 0]
    # county 1 is ahead: it moves nothing although its demand went unmet
    assert mech.reallocated_fen.tolist() == [200 * FEN, 0]
    t = m.ledger.totals
    for source, fen in (("province", 120 * FEN), ("paired_city", 80 * FEN)):
        assert t[("special", source, "reallocated_out")] == fen
        assert t[("special", source, "reallocated_in")] == fen
    assert all(gap == 0 for gap in m.ledger.identity_gaps_fen().values())
    assert all(check(m) is None for check in mech.invariant_checks().values())
    assert employment.unmet_fen.tolist() == [0, 0]  # the year's demand has been answered
    assert mech.annual_row(m) == {
        "counties_behind": 1,
        "counties_adapting": 1,
        "reallocated": 200.0,
        "reallocated_to_date": 200.0,
    }
    rows = mech.county_rows(m)
    assert rows[0]["effort"] == 1.5 and rows[0]["behind_target"] and rows[0]["reallocated"] == 200
    assert rows[1]["effort"] == 1.0 and not rows[1]["behind_target"]
    summary = m.ledger.summary().set_index("source")
    assert summary.loc["province", "reallocated"] == 120.0
    assert summary.loc["paired_city", "reallocated"] == 80.0
    # money moved out of a use without reaching another is caught, with its source and fen
    assert m.ledger.reallocation_gaps_fen() == {}
    m.ledger._record("special", "province", "industry", "reallocated_out", 2016, 12, [5, 0])
    assert m.ledger.reallocation_gaps_fen() == {("special", "province"): 5}
    assert mech.invariant_checks()["reallocations_balance"](m) == (
        "money moved out != moved in, fen: {'special/province': 5}"
    )


def test_reallocation_never_moves_more_than_the_share_of_the_money_held():
    m, mech = _two_counties(elasticity=0.5)  # shortfall 0.75 -> moves at most 37.5%
    m.fund("industry", 1_000.0, county=0)
    m.fund("finance", 201.0, county=0)
    _measure(m, "employment").unmet_fen[0] = 10_000 * FEN  # far more than there is
    mech.after_assessment(m)
    # floor(0.375 x 100,000 fen) of industry, floor(0.375 x 20,100 fen) of finance
    assert mech.reallocated_fen[0] == 37_500 + 7_537
    pots = m.ledger.pots[("special", "province")]
    assert pots[m.ledger.uses.index("industry"), 0] == 100_000 - 37_500
    assert pots[m.ledger.uses.index("finance"), 0] == 20_100 - 7_537
    assert pots[m.ledger.uses.index("employment"), 0] == 37_500 + 7_537
    assert (pots >= 0).all()
    # one movement per use and kind, uses in the ledger's order, the county's fen alone
    out = sorted(
        [("industry", 37_500), ("finance", 7_537)], key=lambda x: m.ledger.uses.index(x[0])
    )
    assert [r for r in m.ledger.movements if r[3].startswith("reallocated")] == [
        ("special", "province", use, "reallocated_out", m.year, m.month, [fen, 0])
        for use, fen in out
    ] + [("special", "province", "employment", "reallocated_in", m.year, m.month, [45_037, 0])]
    assert all(gap == 0 for gap in m.ledger.identity_gaps_fen().values())


def test_nothing_moves_without_unmet_demand_or_with_reallocation_off():
    m, mech = _two_counties()
    m.fund("industry", 1_000.0, county=0)
    mech.after_assessment(m)  # county 0 behind, but no use was refused candidates
    assert mech.reallocated_fen.tolist() == [0, 0]
    m, mech = _two_counties(reallocate=False)
    m.fund("industry", 1_000.0, county=0)
    _measure(m, "employment").unmet_fen[0] = 100 * FEN
    mech.after_assessment(m)
    assert mech.reallocated_fen.tolist() == [0, 0] and mech.effort[0] == 1.5
    assert not [r for r in m.ledger.rows if r[3].startswith("reallocated")]


def test_the_last_december_of_a_run_compares_but_moves_no_money():
    m, mech = _two_counties()
    m.total_months = m.month_index + 1  # December 2017 is the run's last month
    m.fund("industry", 1_000.0, county=0)
    _measure(m, "employment").unmet_fen[0] = 100 * FEN
    mech.after_assessment(m)
    assert mech.effort[0] == 1.5 and mech.reallocated_fen.tolist() == [0, 0]


def test_elasticity_zero_leaves_every_county_as_it_was():
    m, mech = _two_counties(elasticity=0.0)
    m.fund("industry", 1_000.0, county=0)
    _measure(m, "employment").unmet_fen[0] = 100 * FEN
    mech.after_assessment(m)
    assert mech.effort.tolist() == [1.0, 1.0] and not mech.triaging.any()
    assert mech.reallocated_fen.tolist() == [0, 0]
    assert not mech.adapting("industry") and mech.capacity_factor("industry") == 1.0


def test_ledger_refuses_to_move_more_than_a_use_holds():
    m, _ = _two_counties()
    m.fund("industry", 10.0, county=0)
    with pytest.raises(ValueError, match="industry holds 1000 fen, asked to give up 1001"):
        m.ledger.reallocate("special", 2017, 12, 0, {"industry": 1001}, {"employment": 1.0})


def test_triage_orders_by_distance_to_the_line():
    income = np.array([5_000.0, 8_800.0, 9_500.0, 7_000.0, 9_000.0])
    # distances 4,000, 200, 500, 2,000, 0
    assert triage_order(np.arange(5), income, 9_000.0).tolist() == [4, 1, 2, 3, 0]
    assert triage_order(np.array([0, 3]), income, 9_000.0).tolist() == [3, 0]


def test_the_first_places_of_triage_are_the_head_of_the_full_stable_order():
    rng = np.random.default_rng(7)
    # incomes on a coarse grid, so that many candidates tie at the same distance
    income = rng.integers(0, 40, 500) * 500.0
    candidates = np.sort(rng.choice(500, 300, replace=False))
    full = triage_order(candidates, income, 9_000.0)
    for first in (0, 1, 2, 17, 150, 299, 300, 400):
        head = triage_order(candidates, income, 9_000.0, first)
        assert head.tolist() == full[:first].tolist()
    # hand case: distances 4,000, 200, 500, 2,000, 0, 200 -> the first three are 4, 1, 5
    hand = np.array([5_000.0, 8_800.0, 9_500.0, 7_000.0, 9_000.0, 9_200.0])
    assert triage_order(np.arange(6), hand, 9_000.0, 3).tolist() == [4, 1, 5]


def test_places_go_to_counties_by_candidates_times_effort_never_beyond_candidates():
    # 10 places over weights 2 x 1.5 = 3 and 20 x 1 = 20: 1.30 and 8.70 -> 1 and 9
    assert allot(10, np.array([2, 20]), np.array([1.5, 1.0])).tolist() == [1, 9]
    assert allot(10, np.array([2, 3]), np.array([1.5, 1.0])).tolist() == [2, 3]
    # county 0 can fill only 1: its other places go to county 1
    assert allot(4, np.array([1, 9]), np.array([5.0, 1.0])).tolist() == [1, 3]


def test_counties_behind_triage_and_raise_capacity_while_others_queue_fairly():
    m, mech = _two_counties()
    hh = m.households
    hh.status[:] = POOR
    income = np.array([5_000, 8_800, 9_500, 7_000, 1_000, 2_000, 3_000, 4_000.0])
    mech.after_household_verdict(m, None, income, 9_000.0, np.ones(8, bool))
    mech.effort = [1.5, 1.0]
    mech.triaging[:] = [True, False]
    taken = mech.queue(m, np.ones(8, dtype=bool), 5)
    # places 4 x 1.5 = 6 : 4 x 1 = 4 -> 3 and 2; county 0 nearest the line first
    assert taken[:3].tolist() == [1, 2, 3]
    assert len(set(taken[3:].tolist())) == 2 and set(taken[3:].tolist()) <= {4, 5, 6, 7}

    class Industry(Measure):
        name = "industry"
        funds = ("special",)

    m.population.scale = 1.0
    measure = Industry(MeasureParams(), m)
    # the quota is multiplied by the mean effort (equal shares: 1.25): 120 x 1.25 = 150
    assert measure.quota(m, {2017: 120.0}) == 150
    other = Industry(MeasureParams(), m)
    other.name = "health"  # not an adaptable programme
    assert other.quota(m, {2017: 120.0}) == 120
    assert measure.enrolment_queue(m, np.ones(8, dtype=bool), 5)[:3].tolist() == [1, 2, 3]


def test_bad_measure_name_is_refused():
    with pytest.raises(ValueError, match="accountability.measures"):
        AccountabilityParams(measures=["roads"])


KEEP = ("annual", "monthly", "by_county", "by_group", "by_measure", "ledger")


def test_elasticity_zero_gives_exactly_the_model_without_accountability():
    off = load_scenario(SCENARIOS / "feedback_no_accountability.toml")
    zero = apply_overrides(
        load_scenario(SCENARIOS / "feedback.toml"), {"accountability.elasticity": 0.0}
    )
    a = run(off, seed=4, population_scale=0.03)
    b = run(zero, seed=4, population_scale=0.03)
    added = {
        "counties_behind",
        "counties_adapting",
        "reallocated",
        "reallocated_to_date",
        "target_next_people",
        "behind_target",
        "shortfall",
        "effort",
        "triage",
    }
    for table in KEEP:
        left, right = getattr(a, table), getattr(b, table)
        right = right.drop(columns=[c for c in right.columns if c in added])
        pd.testing.assert_frame_equal(left, right, check_exact=True)
    assert (b.annual["reallocated_to_date"] == 0).all() and (b.by_county["effort"] == 1).all()


def test_feedback_run_adapts_within_ceiling_and_the_ledger_balances():
    r = run(load_scenario(SCENARIOS / "feedback.toml"), seed=2, population_scale=0.03)
    assert r.manifest["invariant_checks_passed"] == r.manifest["months"] + 1
    c = r.by_county
    assert (c["effort"] <= 1.5).all() and (c["effort"] >= 1).all()
    assert (c.loc[c["effort"] > 1, "behind_target"]).all()
    assert (c.loc[~c["behind_target"], "reallocated"] == 0).all()
    ledger = r.ledger
    moved = ledger[ledger["kind"].str.startswith("reallocated")]
    assert len(moved) > 0
    by_kind = moved.groupby(["fund", "source", "kind"])["amount"].sum().unstack()
    assert np.allclose(by_kind["reallocated_out"], by_kind["reallocated_in"], atol=1e-6)
    per_year = moved[moved["kind"] == "reallocated_out"].groupby("year")["amount"].sum()
    annual = r.annual.set_index("year")["reallocated"]
    assert np.allclose(per_year.reindex(annual.index, fill_value=0.0), annual, atol=1e-6)
    assert annual.iloc[-1] == 0.0 and annual.iloc[0] > 0
    total = ledger.groupby(["fund", "source", "kind"])["amount"].sum().unstack(fill_value=0.0)
    gap = total["received"] - total["spent"] - total["leaked"] - total["unspent"]
    assert np.allclose(gap, 0.0, atol=1e-6)


@pytest.mark.parametrize("triaging", [[True, True, True], [True, False, True], [False] * 3])
def test_the_compiled_queue_takes_the_numpy_queues_households_and_draws(triaging):
    from model.engine import compiled_kernels

    rng = np.random.default_rng(21)
    n = 600
    county = rng.integers(0, 3, n)
    taken = {}
    modes = (("numpy", None), ("compiled", compiled_kernels), ("int32", compiled_kernels))
    for mode, kernels in modes:  # int32 indices: the compiled kernels leave them to numpy
        hh = make_households(n, county=county.tolist())
        hh._kernels = kernels
        m = FakeModel(hh, year=2017, month=12, n_counties=3, scale=1.0)
        m.measures = []
        mech = Accountability(AccountabilityParams(enabled=True), m)
        income = np.random.default_rng(22).integers(3_000, 5_000, n).astype(float)
        mech.after_household_verdict(m, None, income, 4_000.0, np.ones(n, bool))
        mech.effort = [1.5, 1.2, 1.0]
        mech.triaging[:] = triaging
        m.rng = np.random.default_rng(23)
        mask = np.random.default_rng(24).random(n) < 0.5
        if mode == "int32":
            mask = np.flatnonzero(mask).astype(np.int32)
        taken[mode] = (mech.queue(m, mask, 120), m.rng.random())
    for mode in ("compiled", "int32"):
        np.testing.assert_array_equal(taken[mode][0], taken["numpy"][0])
        assert taken[mode][1] == taken["numpy"][1]  # the same draws were made
    assert taken["numpy"][0].size == 120 and np.unique(taken["numpy"][0]).size == 120


def test_capacity_follows_the_effort_assigned_and_the_effort_is_never_changed_in_place():
    m, mech = _two_counties()  # equal target shares: 8 registered people in each county
    assert mech.capacity_factor("industry") == 1.0
    mech.after_assessment(m)  # county 0 behind (shortfall 0.75): effort min(1.5, 1 + 0.75)
    assert mech.effort.tolist() == [1.5, 1.0]
    assert mech.capacity_factor("industry") == (1.5 + 1.0) / 2
    assert mech.capacity_factor("health") == 1.0  # not among the adapting programmes
    with pytest.raises(ValueError, match="read-only"):
        mech.effort[1] = 1.2
    mech.effort = [1.0, 1.0]
    assert not mech.adapting("industry") and mech.capacity_factor("industry") == 1.0


def test_the_effort_invariant_flags_an_effort_out_of_bounds_or_raised_while_ahead():
    m, mech = _two_counties()  # ceiling 1.5
    check = mech.invariant_checks()["effort_within_ceiling"]
    assert check(m) is None
    mech.after_assessment(m)  # county 0 behind: 1.5; county 1 ahead: 1.0
    assert check(m) is None and check(m) is None  # the second from the arrays already checked
    mech.effort = [1.6, 1.0]
    assert check(m) == "effort outside [1, 1.5]: [1.6, 1.0]"
    mech.effort = [0.9, 1.0]
    assert check(m) == "effort outside [1, 1.5]: [0.9, 1.0]"
    mech.effort = [1.5, 1.2]  # county 1 is ahead of its target
    assert check(m) == "counties ahead of target with raised effort: [1]"
    mech.effort = [1.5, 1.0]
    assert check(m) is None
