import json

import numpy as np
import pandas as pd
import pytest

from model import PovertyModel, run
from model.engine.assessment import EXITED, NO_LABOUR
from model.results.outputs import read_results, weighted_median, weighted_percentiles
from tests.conftest import BASELINE, ROOT


def test_same_seed_identical_different_seed_differs(baseline):
    a = run(baseline, seed=7, population_scale=0.03)
    b = run(baseline, seed=7, population_scale=0.03)
    c = run(baseline, seed=8, population_scale=0.03)
    for name in ("annual", "monthly", "by_county", "by_group"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.monthly.equals(c.monthly)


def test_annual_columns_and_targets(small_result):
    annual = small_result.annual
    required = {
        "year",
        "exited_people",
        "exited_households",
        "cumulative_exited_people",
        "target_cumulative_people",
        "target_met",
        "remaining_poor_people",
        "villages_exited",
        "relapsed_people",
        "mean_per_capita_income_poor",
        "median_per_capita_income_poor",
        "mean_per_capita_income_labour_capable",
        "poverty_gap",
        "provincial_rural_income",
        "exit_income_line",
    }
    assert required <= set(annual.columns)
    assert annual["year"].tolist() == [2016, 2017, 2018, 2019, 2020]
    # targets scaled by 0.05: 1,500 / 3,275 / 4,775 and the last one held afterwards
    assert annual["target_cumulative_people"].tolist() == [1_500, 3_275, 4_775, 4_775, 4_775]
    met = annual["cumulative_exited_people"] >= annual["target_cumulative_people"]
    assert annual["target_met"].tolist() == met.tolist()
    total = round(95_500 * 0.05)
    assert (annual["cumulative_exited_people"] + annual["remaining_poor_people"] == total).all()
    assert annual["exit_income_line"].iloc[2] == pytest.approx(7_364.96, abs=0.01)


def test_exits_and_relapses_add_up(small_result):
    a = small_result.annual
    # cumulative(t) = cumulative(t-1) + exits(t) - relapses(t)
    change = a["cumulative_exited_people"].diff().iloc[1:]
    flows = (a["exited_people"] - a["relapsed_people"]).iloc[1:]
    assert change.tolist() == flows.tolist()
    assert a["cumulative_exited_people"].iloc[0] == a["exited_people"].iloc[0]


def test_monthly_step_by_hand(baseline):
    """One month of a tiny model checked against the arrays, component by component."""
    from model.engine.interventions import MEASURES
    from model.engine.scenario import apply_overrides

    only_dibao = {f"{m.name}.enabled": False for m in MEASURES if m.name != "social_security"}
    only_dibao["social_security.disability_subsidy"] = 0.0
    only_dibao["social_security.labour_take_up"] = 0.0  # classes 1 and five-guarantee only
    only_dibao["social_security.inclusion_error"] = 0.0
    m = PovertyModel(apply_overrides(baseline, only_dibao), seed=3, population_scale=0.01)
    hh = m.households
    before = hh.copy()
    m.step()
    assert (m.year, m.month, m.month_index) == (2016, 1, 1)
    # January: growth applied once, then flows are written from the grown stocks
    ill = hh.ill_months > 0
    assert ill.sum() >= 0
    expected_property = before.property_annual * (1 + baseline.dynamics.property_growth) / 12
    assert np.allclose(hh.property_m, expected_property)
    expected_transfer_other = before.transfer_annual * (1 + baseline.dynamics.transfer_growth) / 12
    dibao = np.where(hh.wubao, 6_000, np.where(hh.dibao_class == 1, 3_960, 0)) / 12 * hh.size
    assert np.allclose(hh.transfer_m, expected_transfer_other + dibao)
    assert np.allclose(
        hh.income_history[0], hh.wage_m + hh.business_m + hh.property_m + hh.transfer_m
    )
    assert np.allclose(hh.income_history[1:], before.income_history[1:])
    assert m.result().monthly["spend_social_security"].iloc[0] == pytest.approx(dibao.sum())


def test_december_assessment_consistent_with_rules(baseline):
    m = PovertyModel(baseline, seed=4, population_scale=0.02)
    for _ in range(12):
        m.step()
    hh = m.households
    a = baseline.assessment
    income = hh.income_history.sum(axis=0) / hh.size
    exited = hh.status == EXITED
    labour = hh.labour_capable
    ok = hh.guarantees
    assert (income[exited & labour] >= a.exit_line(2016)).all()
    assert ok[exited].all()
    assert hh.enrolled_social[exited & (hh.group == NO_LABOUR)].all()
    # everyone who qualifies has exited
    qualifies = (
        hh.registered
        & ok
        & (
            (labour & (income >= a.exit_line(2016)))
            | ((hh.group == NO_LABOUR) & hh.enrolled_social)
        )
    )
    assert (exited == qualifies).all()


def test_households_and_people_conserved(baseline):
    m = PovertyModel(baseline, seed=2, population_scale=0.02)
    n, people = m.households.n, m.households.size.sum()
    m.run_model()
    assert m.households.n == n and m.households.size.sum() == people
    assert (m.households.jobs[m.households.group == NO_LABOUR] == 0).all()
    assert m.month_index == 60 and not m.running


def test_weighted_median_by_hand():
    # values 1, 2, 3 with weights 1, 1, 3: five people, the third is a 3
    assert weighted_median(np.array([3.0, 1.0, 2.0]), np.array([3, 1, 1])) == 3.0
    assert weighted_median(np.array([1.0, 2.0]), np.array([3, 1])) == 1.0


def test_percentiles_of_a_subset_from_the_full_sets_order():
    # values 5, 1, 4, 1, 3, 2 (people 1, 2, 1, 1, 3, 1); the subset is households 0, 2, 4, 5:
    # values 5, 4, 3, 2 with people 1, 1, 3, 1 -> sorted 2 (1), 3 (3), 4 (1), 5 (1) of 6 people
    values = np.array([5.0, 1.0, 4.0, 1.0, 3.0, 2.0])
    people = np.array([1, 2, 1, 1, 3, 1])
    subset = np.array([True, False, True, False, True, True])
    order = np.argsort(values, kind="stable")
    got = weighted_percentiles(values, people, (10, 50, 70, 90, 100), order[subset[order]])
    # cumulative people 1, 4, 5, 6: 10% -> 0.6 -> 2; 50% -> 3 -> 3; 70% -> 4.2 -> 4; 90% -> 5.4 -> 5
    assert got == [2.0, 3.0, 4.0, 5.0, 5.0]
    assert got == weighted_percentiles(values[subset], people[subset], (10, 50, 70, 90, 100))
    assert weighted_median(values, people, order[subset[order]]) == 3.0
    assert np.isnan(weighted_percentiles(values, people, (50,), order[:0])[0])  # none: NaN


def test_without_social_security_no_labour_households_cannot_exit(baseline):
    off = baseline.model_copy(deep=True)
    off.social_security.enabled = False
    r = run(off, seed=1, population_scale=0.03)
    no_labour = r.by_group.query("group == 'no_labour'")
    assert (no_labour["cumulative_exited_people"] == 0).all()
    assert "spend_social_security" not in r.monthly


def test_write_and_read_results(small_result, tmp_path):
    out = small_result.write(tmp_path / "run")
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "annual.parquet",
            "monthly.parquet",
            "by_county.parquet",
            "by_group.parquet",
            "by_measure.parquet",
            "ledger.parquet",
            "funding.csv",
            "income_percentiles.parquet",
            "by_party.parquet",
            "summary.csv",
            "manifest.json",
            "exits_vs_targets.png",
        ]
    )
    back = read_results(out)
    pd.testing.assert_frame_equal(back.annual, small_result.annual)
    pd.testing.assert_frame_equal(back.income_percentiles, small_result.income_percentiles)
    pd.testing.assert_frame_equal(back.by_party, small_result.by_party)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 1 and manifest["population_scale"] == 0.05
    assert manifest["scenario"]["targets"]["cumulative_people"]["2018"] == 95_500
    assert manifest["months"] == 60 and manifest["households_simulated"] > 0
    assert (out / "exits_vs_targets.png").stat().st_size > 10_000
    summary = pd.read_csv(out / "summary.csv")
    assert summary["year"].tolist() == [2016, 2017, 2018, 2019, 2020]
    # rewriting the same folder replaces it and leaves no temporary folders behind
    small_result.write(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_cli_run_writes_readable_results(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "res"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "model",
            "run",
            str(BASELINE),
            "--seed",
            "1",
            "--population-scale",
            "0.05",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "target" in proc.stdout and "2018" in proc.stdout and str(out) in proc.stdout
    back = read_results(out)
    # the command line and the API give the same numbers for the same seed
    api = run(BASELINE, seed=1, population_scale=0.05)
    pd.testing.assert_frame_equal(back.annual, api.annual)


def test_outcomes_by_hand(small_result):
    o = small_result.outcomes()
    a = small_result.annual.set_index("year")
    assert o["cumulative_exited_people_2018"] == a.loc[2018, "cumulative_exited_people"]
    assert o["target_met_2017"] == float(a.loc[2017, "target_met"])
    assert "target_met_2019" in o  # the last target holds through the consolidation years
    assert o["all_targets_met"] == float(all(a.loc[[2016, 2017, 2018], "target_met"]))
    # total spend counted independently: every "spent" row of the ledger
    spend = small_result.ledger.query("kind == 'spent'")["amount"].sum()
    assert o["total_spend"] == pytest.approx(spend)
    assert o["cost_per_exit"] == pytest.approx(spend / a.loc[2018, "cumulative_exited_people"])
    assert o["cost_per_sustained_exit"] == pytest.approx(
        spend / a.loc[2020, "cumulative_exited_people"]
    )


def test_apply_overrides_returns_a_new_scenario(baseline):
    from model.engine.scenario import ScenarioError, apply_overrides

    s = apply_overrides(baseline, {"dynamics.job_finding_rate": 0.02})
    assert s.dynamics.job_finding_rate == 0.02 and baseline.dynamics.job_finding_rate == 0.01
    with pytest.raises(ScenarioError, match="job_finding_rate"):
        apply_overrides(baseline, {"dynamics.job_finding_rate": -1})


def test_scenario_pickles(baseline):
    import pickle

    assert pickle.loads(pickle.dumps(baseline)) == baseline


def test_finished_runs_do_not_stay_in_memory(baseline):
    """A worker running many replicates must not keep each finished run's arrays."""
    import gc
    import weakref

    from model.engine.households import Households

    # run() frees the household arrays itself, without waiting for the cycle collector
    gc.collect()
    gc.disable()
    try:
        before = sum(isinstance(o, Households) for o in gc.get_objects())
        run(baseline, seed=3, population_scale=0.01)
        after = sum(isinstance(o, Households) for o in gc.get_objects())
    finally:
        gc.enable()
    assert before == 0 and after == 0

    # a model that made villages is collectable once dropped (Mesa's per-model id counters
    # used to keep every model alive)
    m = PovertyModel(baseline, seed=3, population_scale=0.01)
    assert len(m.villages) > 0
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None


def test_release_leaves_the_result_intact(baseline):
    m = PovertyModel(baseline, seed=4, population_scale=0.01)
    m.run_model()
    kept = m.result()
    m.release()
    again = run(baseline, seed=4, population_scale=0.01)
    pd.testing.assert_frame_equal(kept.annual, again.annual)
    with pytest.raises(AttributeError):
        m.step()


@pytest.mark.parametrize("scenario", ["baseline", "feedback"])
def test_outcomes_without_the_full_result_are_the_same(scenario):
    """The runner of many-run work gives the outcomes and tables of ``run`` exactly."""
    from model.engine.scenario import load_scenario
    from model.results.recording import run, run_for_outcomes
    from tests.conftest import SCENARIOS

    sc = load_scenario(SCENARIOS / f"{scenario}.toml")
    full = run(sc, seed=5, population_scale=0.01)
    outcomes, tables = run_for_outcomes(
        sc, seed=5, population_scale=0.01, tables=("annual", "by_party", "by_measure")
    )
    expected = full.outcomes()
    assert list(outcomes) == list(expected)
    for name, value in expected.items():  # NaN where an outcome has no value, in both
        assert outcomes[name] == value or (np.isnan(value) and np.isnan(outcomes[name])), name
    assert set(tables) == {"annual", "by_party", "by_measure"}
    for name, table in tables.items():
        pd.testing.assert_frame_equal(table, getattr(full, name), check_exact=True)
    alone, _ = run_for_outcomes(sc, seed=5, population_scale=0.01)  # annual and monthly only
    assert list(alone) == list(expected)
    for name, value in expected.items():
        assert alone[name] == value or (np.isnan(value) and np.isnan(alone[name])), name
    with pytest.raises(ValueError, match="expected among"):
        run_for_outcomes(sc, seed=5, population_scale=0.01, tables=("ledger",))


def test_a_recorder_asked_for_some_tables_records_only_those():
    from model.engine.scenario import load_scenario
    from model.results.recording import RecordedModel
    from tests.conftest import SCENARIOS

    sc = load_scenario(SCENARIOS / "feedback.toml", ["calendar.end_year=2018"])
    m = RecordedModel(sc, seed=2, population_scale=0.005, tables=("by_party",))
    m.run_model()
    recorder = m.recorder
    assert recorder.recorded == {"annual", "monthly", "by_party"}
    assert (len(recorder.annual), len(recorder.monthly), len(recorder.by_party)) == (
        3,
        36,
        3 * 3,
    )  # three parties a year
    for name in ("by_county", "by_group", "by_measure", "income_percentiles"):
        assert getattr(recorder, name) == [], name
    with pytest.raises(ValueError, match=r"\['by_county', 'by_group', 'by_measure', 'income"):
        m.result()
    with pytest.raises(ValueError, match=r"tables \['ledger'\]: expected among"):
        RecordedModel(sc, seed=2, population_scale=0.005, tables=("ledger",))


def test_villages_step_only_when_works_are_due_and_open_them_in_their_month(baseline, monkeypatch):
    from model.engine.simulation import NO_WORK_DUE
    from model.engine.villages import Village

    m = PovertyModel(baseline, seed=3, population_scale=0.05)
    village = next(v for v in m.villages if not v.services["road"])
    steps = set()
    real_step = Village.step

    def counting_step(self):  # the months in which the villages are asked to step
        steps.add(self.model.month_index)
        real_step(self)

    monkeypatch.setattr(Village, "step", counting_step)
    for measure in m.measures:  # only the works scheduled by hand below
        measure.enrol = lambda model: None
    m.step()
    assert steps == set() and m.next_work_due == NO_WORK_DUE  # nothing due: no step
    village.schedule_work("road", m.month_index + 2)  # month index 1 + 2 = 3
    village.schedule_work("road", m.month_index + 5)  # already scheduled: the first date holds
    assert m.next_work_due == 3
    for _ in range(4):
        m.step()
    # months 1 and 2 skip the villages; month 3 opens the road and nothing is due after it
    assert steps == {3} and village.services["road"] and village.works == {}
    assert m.next_work_due == NO_WORK_DUE


def test_the_years_spend_is_the_sum_of_its_months(small_result):
    """Annual and by-measure spend, summed afresh from the monthly rows (in their order)."""
    monthly, by_measure = small_result.monthly, small_result.by_measure
    columns = [c for c in monthly.columns if c.startswith("spend_")]
    assert len(columns) == by_measure["measure"].nunique() > 5
    to_date: dict[str, float] = {}
    for year, rows in monthly.groupby("year"):
        annual = small_result.annual.set_index("year").loc[year, "spend"]
        total = 0.0
        for values in rows[columns].itertuples(index=False):
            for v in values:
                total += v
        assert annual == total > 0
        for column in columns:
            name = column.removeprefix("spend_")
            spend = 0.0
            for v in rows[column]:
                spend += v
            to_date[name] = to_date.get(name, 0.0) + spend
            row = by_measure[(by_measure["year"] == year) & (by_measure["measure"] == name)]
            assert row["spend"].item() == spend
            assert row["spend_to_date"].item() == to_date[name]
