"""The living register on hand-built households: removals, additions and their accounting."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from model.engine.assessment import (
    EXITED,
    LABOUR_VILLAGE,
    NO_LABOUR,
    NON_POOR,
    POOR,
    HouseholdVerdict,
)
from model.engine.invariants import StartCounts
from model.engine.mechanisms.register import (
    LivingRegister,
    RegisterParams,
    misregister,
    recheck,
)
from tests.conftest import make_households
from tests.fakes import FakeModel

LINE = 4_000.0


def _with_income(hh, income_pc):
    hh.income_history[:] = (np.asarray(income_pc, float) * hh.size / 12.0)[None, :]
    return hh


def test_recheck_removes_only_wrong_registrations_above_and_adds_only_newly_poor_below():
    # 0-3 registered (0, 1 wrongly), 4-7 not registered; every draw succeeds (detection 1)
    removed, added = recheck(
        registered=np.array([1, 1, 1, 1, 0, 0, 0, 0], bool),
        status=np.array([POOR, POOR, POOR, EXITED, POOR, POOR, POOR, POOR]),
        village=np.array([0, 0, 0, 0, 0, 0, 0, -1]),
        wrongly_registered=np.array([1, 1, 0, 1, 0, 0, 0, 0], bool),
        on_post=np.zeros(8, bool),
        was_above=np.array([1, 1, 1, 1, 1, 0, 1, 1], bool),
        income_pc=np.array([5_000, 4_700, 9_000, 9_000, 3_900, 3_000, 4_100, 3_000.0]),
        line=LINE,
        removal_share=1.2,
        removal_detection=1.0,
        entry_detection=1.0,
        rng=np.random.default_rng(0),
    )
    # 0: wrong and 5,000 >= 4,800: removed; 1: wrong but 4,700 < 4,800; 2: above but not
    # wrongly registered; 3: already out
    assert removed.tolist() == [True, False, False, False, False, False, False, False]
    # 4: fell below; 5: was below already; 6: above the line; 7: not in a poor village
    assert added.tolist() == [False, False, False, False, True, False, False, False]


def test_detection_probabilities_are_per_household_draws():
    n = 40_000
    removed, added = recheck(
        registered=np.arange(n) < n // 2,
        status=np.zeros(n, np.int8),
        village=np.zeros(n, np.int16),
        wrongly_registered=np.ones(n, bool),
        on_post=np.zeros(n, bool),
        was_above=np.ones(n, bool),
        income_pc=np.where(np.arange(n) < n // 2, 9_000.0, 1_000.0),
        line=LINE,
        removal_share=1.2,
        removal_detection=0.3,
        entry_detection=0.6,
        rng=np.random.default_rng(1),
    )
    assert abs(removed.sum() / (n // 2) - 0.3) < 0.015
    assert abs(added.sum() / (n // 2) - 0.6) < 0.015
    assert not np.any(removed & added)


def test_misregister_puts_the_chosen_households_between_the_line_and_its_multiple():
    hh = _with_income(make_households(1_000, registered=np.arange(1_000) < 800), 2_000.0)
    hh.group[800:] = NON_POOR
    wrong = misregister(hh, 1.0, 2.0, LINE, np.random.default_rng(2))
    assert wrong.tolist() == hh.registered.tolist()  # share 1: every registered, nobody else
    income = hh.rolling_income_per_capita()
    assert np.all((income[:800] >= LINE - 1e-6) & (income[:800] <= 2 * LINE + 1e-6))
    assert np.allclose(income[800:], 2_000.0)
    # the gap went to business income: 2 people x (income - 2,000)
    assert np.allclose(hh.business_annual[:800], 2 * (income[:800] - 2_000.0))


def _model():
    # 0, 1 registered poor (0 wrongly registered, above the line); 2 registered, exited;
    # 3 not registered, fallen below the line; 4 not registered, still above
    hh = make_households(
        5,
        village=[0, 0, 0, 0, 0],
        group=[LABOUR_VILLAGE, LABOUR_VILLAGE, LABOUR_VILLAGE, NON_POOR, NON_POOR],
        registered=[True, True, True, False, False],
        status=[POOR, POOR, EXITED, POOR, POOR],
        exit_year=[0, 0, 2016, 0, 0],
        workers=[1, 1, 1, 0, 1],
        size=[2, 3, 4, 5, 6],
    )
    _with_income(hh, [6_000, 3_000, 8_000, 3_000, 9_000])
    m = FakeModel(hh, year=2017, month=10)
    m.invariants = SimpleNamespace(start=StartCounts.of(hh))
    mech = LivingRegister(
        RegisterParams(
            enabled=True,
            wrongly_registered_share=0.0,
            removal_detection=1.0,
            entry_detection=1.0,
        ),
        m,
    )
    mech.wrongly_registered[:] = [True, False, False, False, False]
    mech.was_above[:] = True
    return m, mech


@pytest.mark.parametrize("kernels", ["numpy", "compiled"])
def test_recheck_month_adjusts_the_register_and_its_accounting_holds(kernels):
    m, mech = _model()
    # the accounting reads the compiled screen's counts when the households run compiled
    m.households._kernels = None
    if kernels == "compiled":
        m.households._kernels = pytest.importorskip("model.engine.compiled_kernels")
    line = m.scenario.assessment.poverty_line(2017)  # about 4,250 yuan
    assert 6_000 >= 1.2 * line and 3_000 < line
    check = mech.invariant_checks()["register_accounting"]
    m.month = 9
    mech.after_villages_act(m)  # not the re-check month: nothing changes
    assert m.households.registered.tolist() == [True, True, True, False, False]
    m.month = 10
    mech.after_villages_act(m)
    hh = m.households
    assert hh.registered.tolist() == [False, True, True, True, False]
    assert hh.group[0] == NON_POOR and hh.group[3] == NO_LABOUR  # household 3 has no worker
    assert mech.annual_row(m)["added_people"] == 5
    assert mech.annual_row(m)["removed_people"] == 2
    assert mech.annual_row(m)["registered_people"] == 3 + 4 + 5
    # exited people 4 of 12 on the register
    assert mech.annual_row(m)["register_share_exited"] == 4 / 12
    assert m.invariants.start.registered_households == 3
    assert m.invariants.start.registered_people == 12
    assert check(m) is None  # poor people: 5 at start + 5 added - 2 removed = 8
    # December: household 1 exits, household 2 relapses
    m.month = 12
    verdict = HouseholdVerdict(
        exits=np.array([0, 1, 0, 0, 0], bool), relapses=np.array([0, 0, 1, 0, 0], bool)
    )
    mech.after_household_verdict(m, verdict, hh.rolling_income_per_capita(), 7_000.0, hh.guarantees)
    hh.status[1] = EXITED
    hh.exit_year[1] = 2017
    hh.status[2] = 2
    assert check(m) is None  # 5 + 5 - 2 - 3 exited + 4 returned = 9
    hh.status[3] = EXITED  # a change the accounting does not explain
    hh.exit_year[3] = 2017
    assert check(m).endswith("= 9, found 4")  # only household 2 (4 people) is not exited
    hh.status[3] = POOR
    hh.exit_year[3] = 0
    mech.end_of_month(m)  # the next year starts from this register
    assert mech.poor_people_start == 9 and mech.annual_row(m)["added_people"] == 0
    assert check(m) is None
