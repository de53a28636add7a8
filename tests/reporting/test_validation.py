"""``shaoguan-abm validate`` on hand-made results and observed files."""

import json

import numpy as np
import pandas as pd
import pytest

from model.commands.cli import main
from model.reporting.validation import COLUMNS
from model.results.outputs import SCHEMA_VERSION


def results_folder(path, **tables):
    path.mkdir()
    (path / "manifest.json").write_text(
        json.dumps({"schema_version": SCHEMA_VERSION, "scenario_name": "hand", "seed": 1})
    )
    for name, table in tables.items():
        table.to_parquet(path / f"{name}.parquet", index=False)
    return path


@pytest.fixture
def run_folder(tmp_path):
    annual = pd.DataFrame(
        {
            "year": [2016, 2017, 2018],
            "cumulative_exited_people": [25_000, 60_000, 90_000],
            "villages_exited": [0, 100, 278],
            "mean_per_capita_income_poor": [4_000.0, 5_000.0, 6_000.0],
            "target_met": [False, False, False],
        }
    )
    return results_folder(tmp_path / "run", annual=annual)


@pytest.fixture
def ensemble_folder(tmp_path):
    # 21 replicates: 1,000 + 10 r exits in 2018 (r = 0..20), so the 5%, 50% and 95% points of
    # the replicates are exactly the 2nd, 11th and 20th values: 1,010, 1,100 and 1,190
    reps = pd.DataFrame(
        {
            "replicate": np.arange(21),
            "year": 2018,
            "cumulative_exited_people": 1_000 + 10 * np.arange(21),
            "villages_exited": np.arange(21),
        }
    )
    return results_folder(tmp_path / "ensemble", replicates=reps)


def observed(tmp_path, text, name="observed.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_single_run_point_values(run_folder, tmp_path, capsys):
    obs = observed(
        tmp_path,
        "year,metric,value,source\n"
        "2016,cumulative_exited_people,30000,report A\n"
        "2018,villages_exited,278,report B\n"
        "2017,mean_per_capita_income_poor,4000,\n",
    )
    assert main(["validate", str(run_folder), "--observed", str(obs)]) == 0
    table = pd.read_csv(run_folder / "validation.csv")
    assert table.columns.tolist() == COLUMNS
    assert table["year"].tolist() == [2016, 2018, 2017]
    assert table["median"].tolist() == [25_000, 278, 5_000]
    assert (table["median"] == table["low_90"]).all() and (
        table["median"] == table["high_90"]
    ).all()
    # a single run's interval is its value: inside only when the observation equals it
    assert table["inside_90"].tolist() == [False, True, False]
    # (model - observed) / observed
    assert table["rel_error"].tolist() == pytest.approx([-5_000 / 30_000, 0.0, 1_000 / 4_000])
    out = capsys.readouterr().out
    # median of |-16.7%|, 0%, 25% is 16.7%
    assert "3 observations, 1 inside the 90% interval, median absolute relative error 16.7%" in out
    assert "cumulative_exited_people" in out and "-16.7%" in out


def test_ensemble_median_and_interval(ensemble_folder, tmp_path, capsys):
    obs = observed(
        tmp_path,
        "year,metric,value\n2018,cumulative_exited_people,1150\n2018,villages_exited,0\n",
    )
    assert main(["validate", str(ensemble_folder), "--observed", str(obs)]) == 0
    table = pd.read_csv(ensemble_folder / "validation.csv")
    first, second = table.to_dict("records")
    assert (first["low_90"], first["median"], first["high_90"]) == (1_010, 1_100, 1_190)
    assert first["inside_90"]
    assert first["rel_error"] == pytest.approx((1_100 - 1_150) / 1_150)
    # villages 0..20: 5% = 1, so an observed 0 is outside; relative error undefined for 0
    assert (second["low_90"], second["median"], second["high_90"]) == (1, 10, 19)
    assert not second["inside_90"]
    assert np.isnan(second["rel_error"])
    out = capsys.readouterr().out
    assert "2 observations, 1 inside the 90% interval, median absolute relative error 4.3%" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "year,metric,value\n2016,no_such_metric,1\n",
            "line 2: metric 'no_such_metric' is not a numeric column of the annual table",
        ),
        ("year,metric,value\n2016,target_met,1\n", "'target_met' is not a numeric column"),
        (
            "year,metric,value\n2016,villages_exited,1\n2021,villages_exited,3\n",
            "line 3: year 2021 is outside the results; expected a year in 2016-2018",
        ),
        ("year,metric,amount\n2016,villages_exited,1\n", "expected columns year,metric,value"),
        ("year,metric,value\n2016,villages_exited,many\n", "line 2: value: expected a finite"),
        ("year,metric,value\n2016.5,villages_exited,1\n", "line 2: year: expected an integer"),
        (
            "year,metric,value\n2016,villages_exited,1\n2016,villages_exited,2\n",
            "line 3: expected one value per year and metric",
        ),
        ("year,metric,value\n", "expected at least one observation"),
        ("", "expected CSV with a header row"),
    ],
)
def test_bad_observed_file(run_folder, tmp_path, capsys, text, message):
    obs = observed(tmp_path, text)
    assert main(["validate", str(run_folder), "--observed", str(obs)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {obs}")
    assert message in err
    assert "Traceback" not in err
    assert not (run_folder / "validation.csv").exists()


def test_bad_results_folder(run_folder, tmp_path, capsys):
    obs = observed(tmp_path, "year,metric,value\n2016,villages_exited,1\n")
    assert main(["validate", str(tmp_path / "missing"), "--observed", str(obs)]) == 2
    assert "no such results folder" in capsys.readouterr().err
    assert main(["validate", str(run_folder), "--observed", str(tmp_path / "none.csv")]) == 2
    assert "observed-data file not found" in capsys.readouterr().err
    manifest = json.loads((run_folder / "manifest.json").read_text())
    manifest["schema_version"] = SCHEMA_VERSION + 1
    (run_folder / "manifest.json").write_text(json.dumps(manifest))
    assert main(["validate", str(run_folder), "--observed", str(obs)]) == 2
    err = capsys.readouterr().err
    assert f"expected results schema_version {SCHEMA_VERSION}, found {SCHEMA_VERSION + 1}" in err
    assert not (run_folder / "validation.csv").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["validate", str(empty), "--observed", str(obs)]) == 2
    assert "expected manifest.json, found none" in capsys.readouterr().err
