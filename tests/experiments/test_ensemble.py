import json
import math

import numpy as np
import pandas as pd
import pytest

from model.experiments.ensemble import (
    REPLICATE_TABLES,
    outcome_distribution,
    quantile_bands,
    read_ensemble,
    replicate_seeds,
    run_ensemble,
    target_probabilities,
)

SCALE = 0.02
Z95 = 1.959963984540054  # standard normal 97.5% quantile


def wilson(k, n, z=Z95):
    """Wilson score interval, written out from its formula."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def fixed_replicates():
    """20 replicates x 4 years with known exits; targets 100 / 200 / 300 (2019 carries 300)."""
    rows = []
    targets = {2016: 100, 2017: 200, 2018: 300, 2019: 300}
    for r in range(20):
        exits = {2016: 90 + r, 2017: 185 + 2 * r, 2018: 280 + 3 * r, 2019: 300 + r}
        for year, target in targets.items():
            rows.append(
                {
                    "replicate": r,
                    "seed": 1000 + r,
                    "year": year,
                    "cumulative_exited_people": exits[year],
                    "target_cumulative_people": target,
                    "target_met": exits[year] >= target,
                    "villages_exited": r + 1,  # 1..20 whatever the year
                    "poverty_gap": 0.5,
                }
            )
    return pd.DataFrame(rows)


def test_probabilities_match_hand_counts():
    table = target_probabilities(fixed_replicates(), plan_years=[2016, 2017, 2018])
    assert list(table.columns) == [
        "year",
        "target_cumulative_people",
        "probability_met",
        "ci_low",
        "ci_high",
    ]
    assert list(table["year"]) == [2016, 2017, 2018, 2019, "all"]
    # 2016: 90 + r >= 100 for r = 10..19 -> 10 of 20
    # 2017: 185 + 2r >= 200 for r >= 7.5 -> r = 8..19 -> 12
    # 2018: 280 + 3r >= 300 for r >= 6.67 -> r = 7..19 -> 13
    # 2019: 300 + r >= 300 always -> 20
    # all plan years (2016-2018): r = 10..19 -> 10
    expected = {2016: 10, 2017: 12, 2018: 13, 2019: 20, "all": 10}
    for _, row in table.iterrows():
        k = expected[row["year"]]
        assert row["probability_met"] == pytest.approx(k / 20)
        low, high = wilson(k, 20)
        assert row["ci_low"] == pytest.approx(low, abs=1e-12)
        assert row["ci_high"] == pytest.approx(high, abs=1e-12)
    assert list(table["target_cumulative_people"][:4]) == [100, 200, 300, 300]
    assert pd.isna(table["target_cumulative_people"].iloc[4])


def test_no_success_gives_a_non_degenerate_interval():
    reps = fixed_replicates()
    reps["target_met"] = False
    table = target_probabilities(reps, plan_years=[2016])
    low, high = wilson(0, 20)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert table["ci_high"].iloc[0] == pytest.approx(high) and high > 0.1


def test_quantiles_match_hand_counts():
    reps = fixed_replicates()
    q = quantile_bands(reps).set_index(["metric", "year"])
    # villages_exited takes 1..20 in every year; linear interpolation at position q * 19:
    # q05 -> 0.95 -> 1 + 0.95 = 1.95; q25 -> 4.75 -> 5.75; q50 -> 9.5 -> 10.5;
    # q75 -> 14.25 -> 15.25; q95 -> 18.05 -> 19.05; mean 10.5
    row = q.loc[("villages_exited", 2017)]
    assert [row[c] for c in ("q05", "q25", "q50", "q75", "q95", "mean")] == pytest.approx(
        [1.95, 5.75, 10.5, 15.25, 19.05, 10.5]
    )
    # 2018 exits 280 + 3r: 3 x the positions above + 280
    row = q.loc[("cumulative_exited_people", 2018)]
    assert row["q50"] == pytest.approx(280 + 3 * 9.5)
    assert row["q95"] == pytest.approx(280 + 3 * 18.05)
    # identifiers and booleans are not metrics
    metrics = set(q.index.get_level_values("metric"))
    assert {"replicate", "seed", "year", "target_met"}.isdisjoint(metrics)


def test_outcome_distribution_drops_nan():
    outcomes = pd.DataFrame(
        {
            "replicate": range(5),
            "seed": range(5),
            "total_spend": [10.0, 20.0, 30.0, 40.0, 50.0],
            "cost_per_exit": [1.0, float("nan"), 3.0, float("nan"), 5.0],
        }
    )
    d = outcome_distribution(outcomes).set_index("outcome")
    assert list(d.index) == ["total_spend", "cost_per_exit"]
    assert d.loc["total_spend", "mean"] == 30.0
    assert d.loc["total_spend", "sd"] == pytest.approx(np.sqrt(250.0))
    assert d.loc["total_spend", "q25"] == 20.0
    assert d.loc["cost_per_exit", "replicates"] == 3
    assert d.loc["cost_per_exit", "q50"] == 3.0


def test_replicate_seeds_are_stable_and_distinct():
    ten = replicate_seeds(7, 10)
    assert replicate_seeds(7, 3) == ten[:3]  # replicate r does not depend on the size
    assert len(set(ten)) == 10
    assert all(0 <= s < 2**63 for s in ten)
    assert replicate_seeds(8, 3) != ten[:3]


@pytest.fixture(scope="module")
def ensemble4(baseline, tmp_path_factory):
    out = tmp_path_factory.mktemp("ens") / "four"
    return run_ensemble(baseline, replicates=4, seed=3, workers=1, population_scale=SCALE, out=out)


def test_ensemble_tables(ensemble4, baseline):
    reps = ensemble4.replicates
    years = baseline.calendar.end_year - baseline.calendar.start_year + 1
    assert len(reps) == 4 * years
    assert list(reps.columns[:3]) == ["replicate", "seed", "year"]
    assert sorted(reps["replicate"].unique()) == [0, 1, 2, 3]
    assert not any("second" in c or "worker" in c for c in reps.columns)
    # the "all" probability is the mean of the runs' own all_targets_met outcome
    p_all = ensemble4.probabilities.set_index("year").loc["all", "probability_met"]
    assert p_all == pytest.approx(ensemble4.outcomes["all_targets_met"].mean())


def test_replicate_equals_a_direct_run(ensemble4, baseline):
    from model.results.recording import run

    seed = replicate_seeds(3, 4)[2]
    direct = run(baseline, seed=seed, population_scale=SCALE)
    rep = ensemble4.replicates
    mine = rep[rep["replicate"] == 2].drop(columns=["replicate", "seed"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, direct.annual, check_dtype=False)
    row = ensemble4.outcomes[ensemble4.outcomes["replicate"] == 2].iloc[0]
    for key, value in direct.outcomes().items():
        assert row[key] == pytest.approx(value, nan_ok=True)
    # the per-replicate tables are the run's own, the ledger summed over months and counties
    counties = ensemble4.replicate_by_county
    mine = counties[counties["replicate"] == 2].drop(columns=["replicate", "seed"])
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), direct.by_county)
    pct = ensemble4.replicate_income_percentiles
    mine = pct[pct["replicate"] == 2].drop(columns=["replicate", "seed"])
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), direct.income_percentiles)
    ledger = ensemble4.replicate_ledger
    mine = ledger[ledger["replicate"] == 2]
    assert set(mine["kind"]) <= {"spent", "leaked"}
    for kind in ("spent", "leaked"):
        by_year = direct.ledger[direct.ledger["kind"] == kind].groupby("year")["amount"].sum()
        kept = mine[mine["kind"] == kind].groupby("year")["amount"].sum()
        assert kept.to_dict() == pytest.approx(by_year.to_dict(), rel=1e-12)
    assert mine.loc[mine["kind"] == "spent", "amount"].sum() == pytest.approx(
        direct.outcomes()["total_spend"], rel=1e-12
    )


def test_written_folder_reads_back(ensemble4, tmp_path):
    folder = ensemble4.write(tmp_path / "again")
    names = {p.name for p in folder.iterdir()}
    assert {
        "replicates.parquet",
        "outcomes.parquet",
        "probabilities.csv",
        "quantiles.parquet",
        "outcome_summary.csv",
        "exits_vs_targets.png",
        "manifest.json",
    } <= names
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["schema_version"] == 1 and manifest["ci_method"] == "wilson"
    csv = pd.read_csv(folder / "probabilities.csv")
    assert list(csv.columns) == [
        "year",
        "target_cumulative_people",
        "probability_met",
        "ci_low",
        "ci_high",
        "parameters",
    ]
    assert csv["year"].astype(str).iloc[-1] == "all"
    assert set(csv["parameters"]) == {"fixed"} and manifest["parameters"] == "fixed"
    back = read_ensemble(folder)
    pd.testing.assert_frame_equal(back.replicates, ensemble4.replicates)
    pd.testing.assert_frame_equal(back.quantiles, ensemble4.quantiles)
    for name in REPLICATE_TABLES:
        assert f"{name}.parquet" in names
        pd.testing.assert_frame_equal(getattr(back, name), getattr(ensemble4, name))


def test_resume_with_more_replicates_runs_only_the_new_ones(ensemble4, baseline, tmp_path):
    out = tmp_path / "grow"
    first = run_ensemble(baseline, replicates=2, seed=3, workers=1, population_scale=SCALE, out=out)
    assert first.manifest["runs_computed"] == 2
    grown = run_ensemble(
        baseline, replicates=4, seed=3, workers=1, population_scale=SCALE, out=out, resume=True
    )
    assert grown.manifest["runs_computed"] == 2
    assert grown.manifest["runs_resumed"] == 2
    pd.testing.assert_frame_equal(grown.replicates, ensemble4.replicates)
    pd.testing.assert_frame_equal(grown.probabilities, ensemble4.probabilities)
    pd.testing.assert_frame_equal(grown.replicate_ledger, ensemble4.replicate_ledger)


def test_probabilities_on_paper_and_in_income():
    reps = fixed_replicates()
    # in income, 10 fewer people out every year than on paper
    reps["income_verified_target_met"] = (
        reps["cumulative_exited_people"] - 10 >= reps["target_cumulative_people"]
    )
    table = target_probabilities(reps, plan_years=[2016, 2017, 2018])
    assert list(table.columns[-3:]) == [
        "probability_met_in_income",
        "ci_low_in_income",
        "ci_high_in_income",
    ]
    # on paper as before; in income: 2016 80 + r >= 100 -> r = 20.. -> 0 of 20;
    # 2017 175 + 2r >= 200 -> r >= 12.5 -> 7; 2018 270 + 3r >= 300 -> r >= 10 -> 10;
    # 2019 290 + r >= 300 -> r >= 10 -> 10; all plan years -> 0
    paper = {2016: 10, 2017: 12, 2018: 13, 2019: 20, "all": 10}
    income = {2016: 0, 2017: 7, 2018: 10, 2019: 10, "all": 0}
    for _, row in table.iterrows():
        assert row["probability_met"] == pytest.approx(paper[row["year"]] / 20)
        assert row["probability_met_in_income"] == pytest.approx(income[row["year"]] / 20)
        low, high = wilson(income[row["year"]], 20)
        assert row["ci_low_in_income"] == pytest.approx(low, abs=1e-12)
        assert row["ci_high_in_income"] == pytest.approx(high, abs=1e-12)
