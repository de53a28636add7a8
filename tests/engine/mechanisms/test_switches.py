"""Mechanisms off give exactly the model without them; on, every invariant holds every month."""

from __future__ import annotations

import pandas as pd
import pytest

from model.engine.mechanisms import MECHANISMS
from model.engine.scenario import apply_overrides, load_scenario
from model.results.recording import run
from tests.conftest import BASELINE, SCENARIOS

TABLES = ("annual", "monthly", "by_county", "by_group", "by_measure", "ledger")


def test_every_mechanism_is_off_in_the_baseline_and_on_in_feedback():
    baseline = load_scenario(BASELINE)
    feedback = load_scenario(SCENARIOS / "feedback.toml")
    for mechanism in MECHANISMS:
        assert not getattr(baseline, mechanism.name).enabled
        assert getattr(feedback, mechanism.name).enabled
        off = load_scenario(SCENARIOS / f"feedback_no_{mechanism.name}.toml")
        assert not getattr(off, mechanism.name).enabled
        others = [m for m in MECHANISMS if m is not mechanism]
        assert all(getattr(off, m.name).enabled for m in others)


def test_mechanisms_off_give_exactly_the_baseline():
    fixed = load_scenario(SCENARIOS / "fixed_policy.toml")
    # every other parameter of a switched-off mechanism is ignored
    fixed = apply_overrides(
        fixed,
        {
            "verification.income_error_sd": 0.3,
            "village_recheck.income_share": 0.9,
            "living_register.recheck_month": 3,
        },
    )
    a = run(load_scenario(BASELINE), seed=3, population_scale=0.03)
    b = run(fixed, seed=3, population_scale=0.03)
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_exact=True)


@pytest.fixture(scope="module")
def feedback_result():
    return run(load_scenario(SCENARIOS / "feedback.toml"), seed=2, population_scale=0.03)


def test_feedback_run_passes_every_invariant_and_reports_both_readings(feedback_result):
    r = feedback_result
    assert r.manifest["invariant_checks_passed"] == r.manifest["months"] + 1
    a = r.annual
    # counted exits are reported exits less those withheld by the check
    assert (a["exited_people"] == a["reported_exited_people"] - a["exits_withheld_people"]).all()
    assert (a["wrong_exits_found"] <= a["wrong_exits_reported"]).all()
    assert (a["income_verified_exited_people"] <= a["cumulative_exited_people"]).all()
    assert (
        a["income_verified_exited_people"] + a["wrong_exits_on_register_people"]
        == a["cumulative_exited_people"]
    ).all()
    assert {"villages_relapsed", "villages_ever_relapsed"} <= set(a.columns)
    assert {"registered_people", "added_people", "removed_people"} <= set(a.columns)
    # the register after adjustment: the first year's net change
    start = r.manifest["registered_households"]  # the register at the end of the run
    assert a["registered_households"].iloc[-1] == start
    assert (
        a["remaining_poor_people"] == a["registered_people"] - a["cumulative_exited_people"]
    ).all()
    assert {"wrong_exits_found", "exits_stopped", "villages_relapsed"} <= set(r.by_county.columns)
    # the by-county figures add up to the annual ones
    by_year = r.by_county.groupby("year")[["reported_exited_people", "wrong_exits_found"]].sum()
    assert by_year["reported_exited_people"].tolist() == a["reported_exited_people"].tolist()
    assert by_year["wrong_exits_found"].tolist() == a["wrong_exits_found"].tolist()


def test_mechanism_columns_appear_only_when_on(small_result):
    assert "reported_exited_people" not in small_result.annual
    assert "villages_relapsed" not in small_result.annual
    assert "added_people" not in small_result.annual
    assert "exits_stopped" not in small_result.by_county
