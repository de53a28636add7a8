"""``shaoguan-abm calibrate`` end to end at a tiny size, and the report's calibration section."""

from __future__ import annotations

import json

import pandas as pd

from model.commands.cli import main
from tests.conftest import BASELINE, ROOT

OBSERVED = ROOT / "data" / "observed" / "observed_calibration.csv"


def test_calibrate_writes_the_folder_and_report_reads_it(tmp_path, capsys):
    out = tmp_path / "cal"
    argv = [
        "calibrate", str(BASELINE), "--observed", str(OBSERVED),
        "--scope", "shaoguan:dongguan_villages", "--param", "dynamics.job_finding_rate",
        "--set", "calendar.end_year=2018", "--population-scale", "0.01",
        "--particles", "3", "--generations", "1", "--predictive-draws", "2", "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "generation 1/1: 3 particles accepted of" in captured.err
    assert "1 observations" in captured.out
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert list(posterior.columns) == ["weight", "dynamics.job_finding_rate"]
    assert posterior["dynamics.job_finding_rate"].between(0.003, 0.03).all()
    table = pd.read_csv(out / "calibration.csv")
    assert table[["scope", "year", "metric", "observed"]].values.tolist() == [
        ["shaoguan:dongguan_villages", 2018, "mean_per_capita_income_labour_capable", 14952.0]
    ]
    assert table["low_90"].iloc[0] <= table["median"].iloc[0] <= table["high_90"].iloc[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["observations_of_other_scopes"] == 11
    assert manifest["settings"]["reproducible"] is True
    for name in ("history.db", "prior_posterior.png", "posterior_predictive.png"):
        assert (out / name).is_file()
    assert main(["report", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert "## Calibration" in report
    assert "`dynamics.job_finding_rate`" in report
