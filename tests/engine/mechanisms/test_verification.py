"""Exit verification on hand-built households: reported, found and income-verified exits."""

from __future__ import annotations

import numpy as np
import pytest

from model.engine.assessment import EXITED, POOR, assess_households
from model.engine.mechanisms.verification import (
    ExitVerification,
    VerificationParams,
    seen_income,
    verification_sample,
)
from tests.conftest import make_households
from tests.fakes import FakeModel

LINE = 7_000.0


def _december(incomes, december_incomes=None, county=None, **params):
    """A model in December 2017 with the given 12-month per-capita incomes (2 people each)."""
    n = len(incomes)
    hh = make_households(n, county=np.zeros(n) if county is None else county)
    income_pc = np.asarray(incomes, dtype=float)
    monthly = income_pc if december_incomes is None else np.asarray(december_incomes, float)
    hh.income_history[11] = monthly * hh.size / 12.0
    m = FakeModel(hh, year=2017, month=12, n_counties=2)
    mech = ExitVerification(VerificationParams(enabled=True, **params), m)
    return m, mech, income_pc


def _true_verdict(m, income_pc):
    hh = m.households
    return assess_households(
        group=hh.group,
        status=hh.status,
        registered=hh.registered,
        income_per_capita=income_pc,
        enrolled_social=hh.enrolled_social,
        guarantees=hh.guarantees,
        exit_line=LINE,
        relapse_line=0.8 * LINE,
    )


def _apply(m, mech, income_pc):
    hh = m.households
    verdict = mech.after_household_verdict(
        m, _true_verdict(m, income_pc), income_pc, LINE, hh.guarantees
    )
    hh.status[verdict.exits] = EXITED
    hh.exit_year[verdict.exits] = m.year
    return verdict


EXACT = dict(income_error_sd=0.0, paper_exit_share=0.0, guarantee_oversight=0.0)


def test_error_size_zero_gives_reported_equal_to_verified():
    m, mech, income_pc = _december([5_000, 7_000, 8_000, 9_000], sample_share=1.0, **EXACT)
    verdict = _apply(m, mech, income_pc)
    assert verdict.exits.tolist() == [False, True, True, True]
    row = mech.annual_row(m)
    # three households of two people pass on true income; nothing wrong to find
    assert row["reported_exited_people"] == 6
    assert row["income_verified_exited_people"] == 6
    assert row["wrong_exits_reported"] == row["wrong_exits_found"] == 0
    assert row["exits_sampled"] == 3
    assert row["counties_exits_stopped"] == 0
    assert row["income_verified_target_met"] is False  # 6 people against 65,500


def test_paper_exit_is_found_and_stops_its_county_only():
    # county 0: a paper exit (realised 5,000, this December's income is 8,000 a year) and a
    # true exit; county 1: two true exits. Every exit sampled, every wrong one found.
    m, mech, income_pc = _december(
        [5_000, 8_000, 8_000, 9_000],
        december_incomes=[8_000, 8_000, 8_000, 9_000],
        county=[0, 0, 1, 1],
        income_error_sd=0.0,
        paper_exit_share=1.0,
        guarantee_oversight=0.0,
        sample_share=1.0,
        detection_probability=1.0,
        tolerance=0.02,
    )
    verdict = _apply(m, mech, income_pc)
    row = mech.annual_row(m)
    assert row["reported_exited_people"] == 8
    assert row["wrong_exits_reported"] == 1
    assert row["wrong_exits_found"] == 1 and row["wrong_exits_found_people"] == 2
    # county 0 found 1 wrong in 2 sampled = 50% > 2%: both its exits stopped
    assert row["counties_exits_stopped"] == 1
    assert verdict.exits.tolist() == [False, False, True, True]
    assert row["exits_withheld_people"] == 4
    assert row["income_verified_exited_people"] == 4
    assert m.households.status[:2].tolist() == [POOR, POOR]
    rows = mech.county_rows(m)
    assert rows[0] == {
        "reported_exited_people": 4,
        "wrong_exits_found": 1,
        "exits_stopped": True,
        "income_verified_exited_people": 0,
    }
    assert rows[1]["exits_stopped"] is False and rows[1]["income_verified_exited_people"] == 4


def test_an_unfound_paper_exit_counts_on_paper_but_not_in_income():
    m, mech, income_pc = _december(
        [5_000, 8_000],
        december_incomes=[8_000, 8_000],
        income_error_sd=0.0,
        paper_exit_share=1.0,
        guarantee_oversight=0.0,
        sample_share=0.0,
    )
    verdict = _apply(m, mech, income_pc)
    assert verdict.exits.tolist() == [True, True]
    row = mech.annual_row(m)
    assert row["reported_exited_people"] == 4
    assert row["income_verified_exited_people"] == 2
    assert row["wrong_exits_on_register_people"] == 2
    assert row["wrong_exits_found"] == 0


def test_overlooked_guarantee_is_a_wrong_exit():
    m, mech, income_pc = _december(
        [9_000, 9_000],
        income_error_sd=0.0,
        paper_exit_share=0.0,
        guarantee_oversight=1.0,
        sample_share=0.0,
    )
    m.households.housing_safe[0] = False
    hh = m.households
    verdict = mech.after_household_verdict(
        m, _true_verdict(m, income_pc), income_pc, LINE, hh.guarantees
    )
    assert verdict.exits.tolist() == [True, True]
    assert mech.stats["wrong_exits_reported"] == 1


def test_sample_never_finds_more_wrong_exits_than_exist():
    rng = np.random.default_rng(7)
    n = 20_000
    reported = rng.random(n) < 0.6
    wrong = reported & (rng.random(n) < 0.1)
    county = rng.integers(0, 10, n)
    for detection in (0.0, 0.5, 1.0):
        sampled, found, _ = verification_sample(
            reported, wrong, county, 10, 0.3, detection, 0.02, np.random.default_rng(1)
        )
        assert not np.any(found & ~wrong) and not np.any(found & ~sampled)
        assert not np.any(sampled & ~reported)
        assert found.sum() <= wrong.sum()
    sampled, found, _ = verification_sample(
        reported, wrong, county, 10, 1.0, 1.0, 0.02, np.random.default_rng(1)
    )
    assert np.array_equal(found, wrong) and np.array_equal(sampled, reported)


@pytest.mark.parametrize(("found", "stopped"), [(0, False), (1, False), (2, True)])
def test_tolerance_is_two_percent_of_the_sample(found, stopped):
    # 50 exits sampled in one county: 1 wrong is 2% (allowed), 2 wrong is 4% (stopped)
    reported = np.ones(50, dtype=bool)
    wrong = np.arange(50) < found
    _, hits, stop = verification_sample(
        reported, wrong, np.zeros(50, np.int64), 1, 1.0, 1.0, 0.02, np.random.default_rng(0)
    )
    assert hits.sum() == found
    assert stop.tolist() == [stopped]


def test_seen_income_error_has_mean_one_and_zero_size_is_exact():
    income = np.full(200_000, 6_000.0)
    no_paper = np.zeros(income.size, dtype=bool)
    exact = seen_income(income, income * 2, 0.0, no_paper, np.random.default_rng(3))
    assert np.array_equal(exact, income)
    noisy = seen_income(income, income, 0.3, no_paper, np.random.default_rng(3))
    assert noisy.mean() == pytest.approx(6_000.0, rel=0.005)
    assert np.log(noisy).std() == pytest.approx(0.3, rel=0.01)
    paper = seen_income(income, income * 1.5, 0.0, ~no_paper, np.random.default_rng(3))
    assert np.all(paper == 9_000.0)
    lower = seen_income(income, income * 0.5, 0.0, ~no_paper, np.random.default_rng(3))
    assert np.all(lower == 6_000.0)  # expected income counts only when higher


def test_counts_invariant_flags_more_found_than_wrong():
    m, mech, income_pc = _december([9_000], **EXACT)
    _apply(m, mech, income_pc)
    assert mech.invariant_checks()["verification_counts"](m) is None
    mech.stats["wrong_exits_found"] = 1
    assert "out of order" in mech.invariant_checks()["verification_counts"](m)


def test_seen_income_of_the_assessed_alone_is_the_same_from_the_same_draws():
    rng = np.random.default_rng(5)
    n = 1_000
    income = rng.normal(5_000, 2_000, n)
    expected = rng.normal(5_500, 2_000, n)
    paper = rng.random(n) < 0.3
    assessed = np.flatnonzero(rng.random(n) < 0.25)
    whole = seen_income(income, expected, 0.2, paper, np.random.default_rng(6))
    gen = np.random.default_rng(6)
    part = seen_income(income, expected, 0.2, paper, gen, assessed=assessed)
    np.testing.assert_array_equal(part[assessed], whole[assessed])
    others = np.setdiff1d(np.arange(n), assessed)
    np.testing.assert_array_equal(part[others], income[others])
    rest = np.random.default_rng(6)
    rest.standard_normal(n)
    assert gen.random() == rest.random()  # one normal draw per household, assessed or not
