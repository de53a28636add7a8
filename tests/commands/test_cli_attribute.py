"""``shaoguan-abm attribute``: the folder it writes, what it prints, and the report section."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from model.commands.cli import main
from model.experiments.attribution import TABLE_COLUMNS
from model.reporting.report import write_report
from tests.conftest import BASELINE


@pytest.fixture(scope="module")
def attributed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attribute")
    scenario = tmp / "three.toml"
    scenario.write_text(
        f'extends = "{BASELINE}"\nname = "three"\n[measures]\n'
        'only = ["employment", "finance", "social_security"]\n[calendar]\nend_year = 2018\n',
        encoding="utf-8",
    )
    out = tmp / "out"
    argv = ["attribute", str(scenario), "--replicates", "2", "--population-scale", "0.01"]
    argv += ["--workers", "1", "--reallocate", "--out", str(out)]
    return out, argv


def test_attribute_writes_its_folder_and_prints_the_table(attributed, capsys):
    out, argv = attributed
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Shapley values exact over every subset" in printed
    assert "next million buys" in printed
    assert (
        "intervals over 2 paired replicates: seeds only (every parameter at the scenario's "
        "value); they carry Monte Carlo noise, not parameter uncertainty." in printed
    )
    table = pd.read_csv(out / "attribution.csv")
    assert list(table.columns) == TABLE_COLUMNS
    assert set(table["measure"]) == {"employment", "finance", "social_security"}
    # employment and finance hold earmarks: their removal is also run with the money moved
    moved = table.dropna(subset=["loo_reallocated_effect"])
    assert set(moved["measure"]) == {"employment", "finance"}
    totals = pd.read_csv(out / "attribution_totals.csv")
    sums = table.groupby(["outcome", "year"])["shapley"].sum()
    for _, row in totals.iterrows():
        assert sums[(row["outcome"], row["year"])] == pytest.approx(row["total_effect"])
    manifest = json.loads((out / "manifest.json").read_text())
    # the 8 coalitions (among them the full scenario and the three without one measure, run
    # once each), 2 reallocated, 2 larger earmarks, 2 capacity levers (housing is off); 2
    # replicates each
    assert manifest["runs"] == 2 * (8 + 2 + 2 + 2)
    assert (out / "attribution.png").stat().st_size > 0
    assert set(pd.read_csv(out / "capacity_levers.csv")["lever"]) == {
        "employment.training_places",
        "employment.public_posts",
    }


def test_the_report_of_an_attribution_folder_has_its_section(attributed):
    out, _ = attributed
    written = write_report(out)
    assert "What each measure buys" in written.sections
    text = written.markdown.read_text(encoding="utf-8")
    assert "the values add up to that total" in text
    assert "(seeds only: Monte Carlo noise, not parameter uncertainty)" in text
    assert "social_security" in text


def test_attribute_with_prior_draws_says_so_everywhere(attributed, capsys):
    out, argv = attributed
    prior = out.with_name("prior")
    argv = [*argv[: argv.index("--reallocate")], "--no-shapley", "--out", str(prior)]
    argv[argv.index("0.01")] = "0.005"
    assert main([*argv, "--parameters", "prior"]) == 0
    printed = capsys.readouterr().out
    assert "intervals over 2 paired replicates: seeds and prior parameter draws (" in printed
    assert "they carry Monte Carlo noise and the uncertainty of every assumption" in printed
    assert "not parameter uncertainty" not in printed
    manifest = json.loads((prior / "manifest.json").read_text())
    assert manifest["parameters"] == "prior"
    assert manifest["parameter_draws"] == 2
    assert set(pd.read_csv(prior / "attribution.csv")["parameters"]) == {"prior"}
    text = write_report(prior).markdown.read_text(encoding="utf-8")
    assert "95% interval (seeds and prior parameter draws: Monte Carlo noise and the" in text
    assert "not parameter uncertainty" not in text
