"""Each invariant is triggered by corrupting the state of a small model on purpose, and caught."""

from __future__ import annotations

import numpy as np
import pytest

from model import PovertyModel
from model.engine import invariants, kernels
from model.engine.assessment import EXITED, NO_LABOUR, POOR
from model.engine.invariants import (
    InvariantError,
    capacity_check,
    finite_check,
    ledger_identity_check,
)

SCALE = 0.01


@pytest.fixture(params=["numpy", "compiled"])
def model(baseline, monkeypatch, request):
    """A small model two months into the run (February 2016 simulated last).

    Once with numpy's checks, once with the compiled screen in front of them
    (:func:`model.engine.compiled_kernels.household_screen`).
    """
    if request.param == "compiled":
        pytest.importorskip("numba")
    monkeypatch.setenv(kernels.KERNELS_ENV, request.param)
    m = PovertyModel(baseline, seed=3, population_scale=SCALE)
    assert (m.households.kernels is not None) == (request.param == "compiled")
    m.step()
    m.step()
    return m


def first(mask: np.ndarray) -> int:
    idx = np.flatnonzero(mask)
    assert idx.size, "the population has no such household"
    return int(idx[0])


# Each case: corrupt(model) -> (invariant expected, fragments of the message computed here).
def drop_household(m):
    n = m.households.n
    m.households.wage_m = m.households.wage_m[:-1]
    return "households_conserved", [f"expected {n:,} households", f"{n - 1:,} in wage_m"]


def unregister(m):
    hh = m.households
    before = int(hh.registered.sum())
    hh.registered[first(hh.registered)] = False
    return "households_conserved", [f"expected {before:,} registered", f"found {before - 1:,}"]


def add_person(m):
    hh = m.households
    people = int(hh.size.astype(np.int64).sum())
    hh.size[first(~hh.registered)] += 1
    return "people_conserved", [f"expected {people:,} people", f"found {people + 1:,}"]


def empty_household(m):
    hh = m.households
    hh.size[first(hh.registered)] = 0
    return "people_conserved", ["1 households have fewer than one member"]


def unknown_group(m):
    m.households.group[:2] = 9
    return "valid_codes", ["2 households have an unknown group code"]


def unknown_dibao_class(m):
    m.households.dibao_class[0] = 4
    return "valid_codes", ["1 households have a dibao class outside 0-3"]


def unknown_status(m):
    hh = m.households
    hh.status[first(hh.registered)] = 7
    return "one_state_each", ["1 registered households are in no known state", "[7]"]


def exited_without_year(m):
    hh = m.households
    i = first(hh.registered & (hh.status == POOR))
    hh.status[i] = EXITED
    return "one_state_each", ["0 never-exited", "1 exited or relapsed households carry none"]


def unregistered_exit(m):
    hh = m.households
    i = first(~hh.registered)
    hh.status[i] = EXITED
    hh.exit_year[i] = 2016
    return "unregistered_never_exit", ["1 households not on the register have exited"]


def nan_annual_income(m):
    m.households.business_annual[[0, 5, 9]] = np.nan
    return "finite_money", ["business_annual (3)"]


def inf_wage(m):
    m.households.job_wage[1] = np.inf
    return "finite_money", ["job_wage (1)"]


def nan_job_access(m):  # a float32 array
    m.households.job_access[[2, 3]] = np.nan
    return "finite_money", ["job_access (2)"]


def nan_this_month_history(m):
    m.households.income_history[m.month - 1, 4] = np.nan
    return "finite_money", ["income_history[month 2] (1)"]


def nan_spend(m):
    m.spend_this_month["social_security"] = float("nan")
    return "finite_money", ["spend_this_month[social_security] (1)"]


def too_many_jobs(m):
    hh = m.households
    i, j = np.flatnonzero(hh.workers > 0)[:2]
    hh.jobs[i] = hh.workers[i] + 2
    hh.jobs[j] = hh.workers[j] + 1
    return "jobs_within_workers", ["2 households hold 3 more jobs than they have workers"]


def negative_jobs(m):
    m.households.jobs[0] = -1
    return "jobs_within_workers", ["1 households have a negative number of jobs or workers"]


def job_without_labour(m):
    hh = m.households
    i = first(hh.group == NO_LABOUR)
    hh.workers[i] = 2  # so that only the labour-capacity rule is broken
    hh.jobs[i] = 2
    return "no_job_without_labour", ["1 households without labour capacity hold 2 jobs"]


def _move_a_public_post(m, to_household):
    """Move one public post to ``to_household`` (the number of posts stays within capacity)."""
    employment = next(x for x in m.measures if x.name == "employment")
    employment.post[first(employment.post)] = False
    employment.post[to_household] = True


def post_outside_register(m):
    hh = m.households
    _move_a_public_post(m, first(~hh.registered))
    return "public_posts_for_labour", ["1 public posts held outside labour-capable poor"]


def post_without_labour(m):
    hh = m.households
    _move_a_public_post(m, first(hh.registered & (hh.group == NO_LABOUR)))
    return "public_posts_for_labour", ["1 public posts held outside labour-capable poor"]


CORRUPTIONS = [
    drop_household,
    unregister,
    add_person,
    empty_household,
    unknown_group,
    unknown_dibao_class,
    unknown_status,
    exited_without_year,
    unregistered_exit,
    nan_annual_income,
    inf_wage,
    nan_job_access,
    nan_this_month_history,
    nan_spend,
    too_many_jobs,
    negative_jobs,
    job_without_labour,
    post_outside_register,
    post_without_labour,
]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda c: c.__name__)
def test_corrupted_state_is_caught(model, corrupt):
    model.invariants.check()  # the untouched state passes
    name, fragments = corrupt(model)
    with pytest.raises(InvariantError) as err:
        model.invariants.check()
    assert err.value.invariant == name
    assert err.value.month == "2016-02"
    message = str(err.value)
    assert message.startswith(f"invariant '{name}' violated in 2016-02: ")
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_each_builtin_invariant_is_triggered(baseline):
    """The corruptions above cover every built-in invariant (and some of the measures')."""
    triggered = set()
    for corrupt in CORRUPTIONS:
        m = PovertyModel(baseline, seed=3, population_scale=SCALE)
        m.step()
        name, _ = corrupt(m)
        triggered.add(name)
    assert set(invariants.CHECKS) <= triggered
    assert triggered - set(invariants.CHECKS) == {"public_posts_for_labour"}


def test_a_step_checks_and_does_not_record_a_broken_month(model):
    hh = model.households
    hh.size[first(hh.registered)] += 1
    recorded = len(model.recorder.monthly)
    with pytest.raises(InvariantError, match=r"'people_conserved' violated in 2016-03"):
        model.step()
    assert len(model.recorder.monthly) == recorded


# the NaN reaches a dibao top-up, whose cost numpy warns about casting to fen before the check
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_a_flow_is_checked_through_the_month_history_row(model, monkeypatch):
    """A faulty rule writes NaN into this month's business income: caught the same month."""
    import model.engine.dynamics as dynamics

    real = dynamics.flow_base_incomes

    def faulty(hh):
        real(hh)
        hh.business_m[[1, 2]] = np.nan

    monkeypatch.setattr(dynamics, "flow_base_incomes", faulty)
    with pytest.raises(InvariantError) as err:
        model.step()
    assert err.value.invariant == "finite_money" and err.value.month == "2016-03"
    # the NaN may also reach a dibao top-up computed from this month's income
    assert err.value.detail.startswith(
        "NaN or infinite values in income_history[month 3] (2), business_m (2)"
    )


def test_old_history_rows_are_checked_in_december(model):
    # January's row is not rewritten before next January: the full check in December finds it
    model.households.income_history[0, 7] = np.inf
    with pytest.raises(InvariantError) as err:
        for _ in range(12):
            model.step()
    assert err.value.invariant == "finite_money"
    assert err.value.month == "2016-12"
    assert "income_history (1)" in str(err.value)


def test_initial_state_is_checked(baseline, monkeypatch):
    import model.engine.simulation as simulation

    real = simulation.build_population

    def corrupted(*args, **kwargs):
        population = real(*args, **kwargs)
        population.households.status[0] = 5
        return population

    monkeypatch.setattr(simulation, "build_population", corrupted)
    with pytest.raises(InvariantError, match=r"'one_state_each' violated in start"):
        PovertyModel(baseline, seed=1, population_scale=SCALE)


def test_every_run_checks_every_month(small_result):
    # small_result: the baseline at scale 0.05 over 60 months; the start is checked as well
    assert small_result.manifest["months"] == 60
    assert small_result.manifest["invariant_checks_passed"] == 61


# ---------------------------------------------------------------------------------------------
# the hook for measures and the ledger


class FakeMeasure:
    """Stands for a measure with a fixed number of places."""

    name = "training"

    def __init__(self, enrolled: int, places: int) -> None:
        self.enrolled, self.places = enrolled, places

    def invariant_checks(self):
        return {
            "training_within_capacity": capacity_check(
                lambda m: self.enrolled, lambda m: self.places, "training places"
            ),
            "training_money_finite": finite_check(lambda m: {"training_cost": self.cost}),
        }

    cost = np.zeros(3)


def test_measure_capacity_check(model):
    measure = FakeMeasure(enrolled=10, places=10)
    model.measures.append(measure)
    model.invariants.check()  # at capacity is fine
    measure.enrolled = 12
    with pytest.raises(InvariantError) as err:
        model.invariants.check()
    assert err.value.invariant == "training_within_capacity"
    assert err.value.detail == "12 training places enrolled, capacity 10"


def test_measure_money_check(model):
    measure = FakeMeasure(enrolled=0, places=10)
    measure.cost = np.array([1.0, np.nan, np.inf])
    model.measures.append(measure)
    with pytest.raises(InvariantError, match=r"training_money_finite.*training_cost \(2\)"):
        model.invariants.check()


class FakeLedger:
    """Stands for the funding ledger: per source received = spent + unspent + leaked."""

    def __init__(self, balances):
        self.balances = balances

    def invariant_checks(self):
        return {"ledger_identity": ledger_identity_check(lambda m: self.balances)}


def test_ledger_identity_check(model):
    ledger = FakeLedger(
        {
            "province": {"received": 600.0, "spent": 500.0, "unspent": 90.0, "leaked": 10.0},
            "paired_city": {"received": 300.0, "spent": 300.0, "unspent": 0.0, "leaked": 0.0},
        }
    )
    model.ledger = ledger  # found however late the model builds it
    model.invariants.check()
    ledger.balances["province"]["spent"] = 505.0
    with pytest.raises(InvariantError) as err:
        model.invariants.check()
    assert err.value.invariant == "ledger_identity"
    assert "province: received 600 != spent 505 + unspent 90 + leaked 10" in err.value.detail
    assert "difference -5.00 yuan" in err.value.detail
    assert "paired_city" not in err.value.detail


def test_ledger_identity_refuses_non_finite_amounts(model):
    model.ledger = FakeLedger({"home_city": {"received": float("nan"), "spent": 0.0}})
    with pytest.raises(InvariantError, match="home_city: non-finite"):
        model.invariants.check()


def test_register_for_one_model(model):
    model.invariants.register("always_wrong", lambda m: "3 things are wrong")
    with pytest.raises(InvariantError, match="'always_wrong' violated in 2016-02: 3 things"):
        model.invariants.check()
    with pytest.raises(ValueError, match="already registered"):
        model.invariants.register("always_wrong", lambda m: None)
    with pytest.raises(ValueError, match="already registered"):
        invariants.invariant("people_conserved")(lambda m: None)


# ---------------------------------------------------------------------------------------------
# what a user sees


def test_cli_stops_with_exit_3_and_writes_nothing(tmp_path, monkeypatch, capsys):
    """A faulty rule (jobs for households without labour) stops a command-line run."""
    import model.engine.dynamics as dynamics
    from model.commands.cli import EXIT_INVARIANT, main
    from tests.conftest import BASELINE

    real = dynamics.labour_market

    def faulty_labour_market(hh, p, rng, year):
        real(hh, p, rng, year)
        no_labour = np.flatnonzero(hh.group == NO_LABOUR)[:3]
        hh.workers[no_labour] = 1
        hh.jobs[no_labour] = 1

    monkeypatch.setattr(dynamics, "labour_market", faulty_labour_market)
    monkeypatch.chdir(tmp_path)
    code = main(["run", str(BASELINE), "--population-scale", str(SCALE), "--out", "out"])
    err = capsys.readouterr().err
    assert code == EXIT_INVARIANT == 3
    assert "invariant 'no_job_without_labour' violated in 2016-01" in err
    assert "3 households without labour capacity hold 3 jobs" in err
    assert "nothing was written" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no results, no lock, no temporary folder


def test_invariant_error_crosses_process_boundaries():
    """Ensemble workers send exceptions back pickled: the error must survive the trip."""
    import pickle

    err = InvariantError("people_conserved", "2017-03", "expected 10 people, found 11")
    back = pickle.loads(pickle.dumps(err))
    assert (back.invariant, back.month, back.detail) == (err.invariant, err.month, err.detail)
    assert str(back) == str(err)


def test_finite_values_whose_total_overflows_pass_the_monthly_screen(model):
    # 1e308 twice in one array: the screening sum overflows, yet every value is finite
    from model.engine.invariants import finite_money

    model.step()
    model.month = 2  # an ordinary month, checked through the screen
    model.households.job_wage[[0, 1]] = 1e308
    assert finite_money(model) is None
    model.households.job_wage[2] = np.nan
    assert finite_money(model) == "NaN or infinite values in job_wage (1)"
