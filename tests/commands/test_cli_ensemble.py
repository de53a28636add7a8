import subprocess
import sys

import pandas as pd
import pytest

from model.commands.cli import main
from tests.conftest import BASELINE

SMALL = ["--population-scale", "0.02", "--workers", "1", "--quiet"]


def test_run_replicates_writes_the_ensemble_folder(tmp_path, capsys):
    out = tmp_path / "ens"
    assert (
        main(["run", str(BASELINE), "--replicates", "3", "--seed", "2", *SMALL, "--out", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    assert "3 replicates" in printed and "P(met) [95% CI]" in printed and str(out) in printed
    probabilities = pd.read_csv(out / "probabilities.csv")
    assert list(probabilities.columns) == [
        "year",
        "target_cumulative_people",
        "probability_met",
        "ci_low",
        "ci_high",
        "parameters",
    ]
    replicates = pd.read_parquet(out / "replicates.parquet")
    assert len(replicates) == 3 * 5 and "replicate" in replicates.columns
    assert (out / "exits_vs_targets.png").stat().st_size > 0
    assert (out / "quantiles.parquet").is_file() and (out / "manifest.json").is_file()


def test_compare_uses_the_same_seeds_for_every_scenario(tmp_path, capsys):
    variant = tmp_path / "slow.toml"
    variant.write_text(
        f'extends = "{BASELINE}"\nname = "slow_dibao"\n[social_security]\nenrolment_rate = 0.05\n'
    )
    out = tmp_path / "cmp"
    code = main(
        ["compare", str(BASELINE), str(variant), "--replicates", "2", *SMALL, "--out", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "baseline" in printed and "slow_dibao" in printed and "P(all)" in printed
    table = pd.read_csv(out / "comparison.csv")
    assert table["scenario"].to_list() == ["baseline", "slow_dibao"]
    for column in (
        "prob_met_2016",
        "prob_met_all_ci_high",
        "median_cumulative_exited_people_2018",
        "median_villages_exited_2018",
        "median_total_spend",
        "median_cost_per_sustained_exit",
    ):
        assert column in table.columns
    assert (out / "comparison.png").stat().st_size > 0
    seeds = [pd.read_parquet(out / s / "outcomes.parquet")["seed"] for s in table["scenario"]]
    pd.testing.assert_series_equal(seeds[0], seeds[1])
    # the same seeds but different scenarios: the slower enrolment exits fewer people in 2016
    b, v = (pd.read_parquet(out / s / "outcomes.parquet") for s in table["scenario"])
    assert (v["cumulative_exited_people_2016"] < b["cumulative_exited_people_2016"]).all()


def test_sweep_morris_writes_its_table(tmp_path, capsys):
    out = tmp_path / "sw"
    args = ["sweep", str(BASELINE), "--method", "morris", "--samples", "2", *SMALL]
    args += ["--param", "dynamics.job_finding_rate", "--param", "social_security.enrolment_rate"]
    args += ["--outcome", "cumulative_exited_people_2018", "--outcome", "prob_all_targets"]
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "6 runs" in printed and "mu_star" in printed
    table = pd.read_csv(out / "sensitivity.csv")
    assert list(table.columns) == ["outcome", "parameter", "mu_star", "mu_star_conf", "sigma"]
    assert len(table) == 4
    assert (out / "sensitivity.png").stat().st_size > 0
    # resuming a finished sweep computes nothing; another seed is another job
    assert main([*args, "--out", str(out), "--resume"]) == 0
    assert "0 runs" in capsys.readouterr().out
    assert main([*args, "--out", str(out), "--resume", "--seed", "9"]) == 2
    assert "different job (differing: seed)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--samples", "3"], "power of two"),
        (["--outcome", "nope"], "--outcome nope"),
        (["--param", "nope"], "--param nope"),
        (["--resume"], "--resume: expected --out"),
    ],
)
def test_sweep_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    out = [] if "--resume" in extra else ["--out", str(tmp_path / "out")]
    assert main(["sweep", str(BASELINE), *SMALL, *out, *extra]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_bad_scheduler_address_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(BASELINE), "--replicates", "2", "--scheduler", "localhost:8786"])
    assert exit_.value.code == 2
    assert "expected tcp://HOST:PORT" in capsys.readouterr().err


def test_sobol_samples_error_from_the_shell(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "model", "sweep", str(BASELINE), "--samples", "100"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: --samples: the Sobol method needs a power of two (2, 4, 8, ..., 64, 128, ...), "
        "found 100"
    )
    assert list(tmp_path.iterdir()) == []


def test_execution_options_need_replicates_for_run(tmp_path, capsys):
    assert main(["run", str(BASELINE), "--workers", "2", "--out", str(tmp_path / "o")]) == 2
    assert "--workers: expected --replicates N" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_run_with_prior_parameters_prints_and_writes_the_split(tmp_path, capsys):
    import json

    out = tmp_path / "prior"
    argv = ["run", str(BASELINE), "--replicates", "4", "--seeds-per-draw", "2"]
    assert main([*argv, "--parameters", "prior", *SMALL, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "probabilities over 4 replicates: seeds and prior parameter draws" in printed
    assert "nested design, 2 parameter draws x 2 seeds" in printed
    assert "from parameters" in printed and "from seeds" in printed
    split = pd.read_csv(out / "variance_split.csv")
    assert split["outcome"].iloc[-1] == "cumulative_exited_people_2018"
    assert set(split["parameters"]) == {"prior"}
    assert (split["share_parameters"] + split["share_seeds"]).round(12).eq(1).all()
    assert set(pd.read_csv(out / "probabilities.csv")["parameters"]) == {"prior"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"] == "prior" and manifest["seeds_per_draw"] == 2
    replicates = pd.read_parquet(out / "replicates.parquet")
    assert set(manifest["drawn_parameters"]) <= set(replicates.columns)


def test_fixed_run_says_the_probabilities_come_from_seeds_only(tmp_path, capsys):
    out = tmp_path / "fixed"
    assert main(["run", str(BASELINE), "--replicates", "2", *SMALL, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "probabilities over 2 replicates: seeds only" in printed
    assert "parameters fixed: all from the seeds" in printed
    split = pd.read_csv(out / "variance_split.csv")
    assert (split["share_parameters"] == 0).all() and (split["share_seeds"] == 1).all()


def test_compare_gives_every_scenario_the_same_parameter_draws(tmp_path, capsys):
    out = tmp_path / "cmp"
    other = BASELINE.parent / "employment_first.toml"
    argv = ["compare", str(BASELINE), str(other), "--replicates", "2", "--parameters", "prior"]
    assert main([*argv, *SMALL, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "on the same seeds and parameter draws" in printed
    assert "seeds and prior parameter draws" in printed
    table = pd.read_csv(out / "comparison.csv")
    assert table["parameters"].to_list() == ["prior", "prior"]
    b, e = (pd.read_parquet(out / s / "outcomes.parquet") for s in table["scenario"])
    drawn = [c for c in b.columns if "." in c]
    assert "dynamics.job_finding_rate" in drawn and "funding.special_fund_per_person" not in drawn
    pd.testing.assert_frame_equal(b[["seed", "draw", *drawn]], e[["seed", "draw", *drawn]])
    assert b["dynamics.job_finding_rate"].nunique() == 2


def test_run_with_a_posterior_records_the_file(tmp_path, capsys):
    import hashlib
    import json

    posterior = tmp_path / "posterior.parquet"
    pd.DataFrame({"weight": [1.0, 0.0], "dynamics.job_finding_rate": [0.02, 0.004]}).to_parquet(
        posterior
    )
    out = tmp_path / "post"
    argv = ["run", str(BASELINE), "--replicates", "2", "--parameters", "posterior", str(posterior)]
    assert main([*argv, *SMALL, "--out", str(out)]) == 0
    assert f"seeds and posterior parameter draws from {posterior}" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"] == "posterior"
    assert manifest["posterior_file"] == str(posterior)
    assert manifest["posterior_sha256"] == hashlib.sha256(posterior.read_bytes()).hexdigest()
    outcomes = pd.read_parquet(out / "outcomes.parquet")
    assert outcomes["dynamics.job_finding_rate"].to_list() == [0.02, 0.02]  # weight 0 never
