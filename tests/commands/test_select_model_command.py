"""``shaoguan-abm select-model`` end to end at a tiny size, and its bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from model.commands.cli import main
from tests.conftest import BASELINE, SCENARIOS

FEEDBACK = SCENARIOS / "feedback.toml"
OBSERVED = (
    "scope,year,metric,value,unit,source\n"
    "shaoguan,2016,cumulative_exited_people,34000,people,x\n"
    "shaoguan,2018,cumulative_exited_people,72000,people,x\n"
    "shaoguan,2018,registered_people,90000,people,x\n"
)
SMALL = ["--set", "calendar.end_year=2018", "--population-scale", "0.01"]


@pytest.fixture
def observed(tmp_path):
    path = tmp_path / "observed.csv"
    path.write_text(OBSERVED)
    return path


def test_select_model_prints_each_generation_and_the_probabilities(observed, tmp_path, capsys):
    out = tmp_path / "choice"
    argv = [
        "select-model", str(BASELINE), str(FEEDBACK), "--observed", str(observed),
        "--param", "dynamics.job_finding_rate", *SMALL, "--particles", "4",
        "--generations", "1", "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    progress = [line for line in captured.err.splitlines() if line.startswith("generation")]
    assert len(progress) == 1
    assert "generation 1/1: 4 particles accepted of" in progress[0]
    assert "P(baseline)" in progress[0] and "P(feedback)" in progress[0]
    lines = captured.out.splitlines()
    assert lines[0].split() == ["model", "scenario", "P(model", "|", "data)", "particles"]
    assert [line.split()[1] for line in lines[1:3]] == ["baseline", "feedback"]
    assert "posterior model probabilities after generation 1" in lines[3]
    probabilities = pd.read_csv(out / "model_probabilities.csv")
    assert probabilities["probability"].sum() == pytest.approx(1.0)
    manifest = json.loads((out / "manifest.json").read_text())
    # the baseline (no living register) states the register as identified: 95,500 people
    assert manifest["scenarios"][0]["statistics_held_constant"] == {
        "shaoguan|registered_people|2018": "population.registered_people"
    }
    assert manifest["scenarios"][1]["statistics_held_constant"] == {}
    assert manifest["scenarios"][1]["mechanisms"] == [
        "verification",
        "village_recheck",
        "living_register",
        "accountability",
    ]
    assert (out / "model_probabilities.png").is_file()
    # the report reads the folder: the models, their probabilities, the generations
    assert main(["report", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert "## Model choice" in report and "### Generations" in report
    last = probabilities[probabilities["generation"] == probabilities["generation"].max()]
    for _, row in last.iterrows():
        line = next(x for x in report.splitlines() if x.startswith(f"| {row['model']} | "))
        assert row["scenario"] in line and line.endswith(f"| {row['probability']:.2f} |")
    assert "| baseline | none | 1 |" in report  # no mechanism, one parameter fitted
    assert f"| model runs | {manifest['runs']} |" in report and "replicates" not in report


BAD = {
    "one_scenario": (
        [str(BASELINE), "--observed", "{observed}", "--particles", "2"],
        "expected at least two scenarios to choose between, found one",
    ),
    "same_name": (
        [str(BASELINE), str(BASELINE), "--observed", "{observed}", "--particles", "2"],
        "expected scenarios with distinct names",
    ),
    "unknown_param": (
        [str(BASELINE), str(FEEDBACK), "--observed", "{observed}", "--param", "dynamics.nothing"],
        "--param dynamics.nothing: expected an uncertain parameter",
    ),
    "zero_particles": (
        [str(BASELINE), str(FEEDBACK), "--observed", "{observed}", "--particles", "0"],
        "argument --particles: expected a positive integer, found 0",
    ),
    "missing_observed": (
        [str(BASELINE), str(FEEDBACK), "--observed", "{tmp}/none.csv"],
        "none.csv: observed-data file not found",
    ),
    "metric_one_model_lacks": (
        [str(BASELINE), str(FEEDBACK), "--observed", "{tmp}/verified.csv"],
        "metric 'reported_exited_people' is produced only with the verification mechanism, "
        "which model 0 (scenario 'baseline') switches off",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_gives_one_error_line_and_writes_nothing(case, observed, tmp_path, capsys):
    (tmp_path / "verified.csv").write_text(
        OBSERVED + "shaoguan,2017,reported_exited_people,60000,people,x\n"
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    args, expected = BAD[case]
    args = [a.replace("{observed}", str(observed)).replace("{tmp}", str(tmp_path)) for a in args]
    argv = ["select-model", *args, *SMALL, "--out", str(tmp_path / "choice")]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse refuses an argument
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    assert expected in errors[0], err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no folder written
