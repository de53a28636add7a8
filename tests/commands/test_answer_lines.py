"""``run``, ``run --replicates``, ``compare`` and ``budget`` print the answer in words.

Each line is checked against the tables the command wrote: the years it names and the share it
gives each must be the shares counted here from the replicates, and it must name its source.
"""

from __future__ import annotations

import re

import pandas as pd

from model.commands.cli import main
from tests.conftest import BASELINE

PLAN_YEARS = [2016, 2017, 2018]
ALLOCATION = "industry=0.5,employment=0.5,finance=0,education=0,health=0"
SEEDS_ONLY = "probabilities over seeds only, parameters fixed at the scenario's values"
GROUP = re.compile(r"(\d{4}(?:, \d{4})*(?: and \d{4})?) in (none|100%|\d{1,2}%|<1%|>99%)")


def shown_shares(text: str) -> dict[int, str]:
    """``{year: "45%"}`` from ``2016 in 100% of 3 replicates; 2017 and 2018 in none``."""
    out = {}
    for years, share in GROUP.findall(text):
        for year in re.findall(r"\d{4}", years):
            out[int(year)] = share
    return out


def expected_share(share: float) -> str:
    """A share of replicates as the answer writes it, computed here without the package."""
    if share == 0:
        return "none"
    if share == 1:
        return "100%"
    return f"{100 * share:.0f}%"


def answer_line(printed: str, start: str) -> str:
    lines = [line for line in printed.splitlines() if line.startswith(start)]
    assert len(lines) == 1, printed
    return lines[0]


def test_single_run_says_which_targets_it_meets(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", str(BASELINE), "--population-scale", "0.02", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    line = answer_line(printed, "Targets in this single run")
    annual = pd.read_parquet(out / "annual.parquet").set_index("year")
    met = [
        y
        for y in PLAN_YEARS
        if annual.loc[y, "cumulative_exited_people"] >= annual.loc[y, "target_cumulative_people"]
    ]
    missed = [y for y in PLAN_YEARS if y not in met]
    assert "(seed 1, parameters fixed at the scenario's values)" in line
    assert "One run gives no probability" in line
    verdict = line.split(": ", 1)[1].split(".")[0]
    for year in met:
        assert re.search(rf"\b{year}\b[^;]* met\b", verdict), line
    for year in missed:
        assert re.search(rf"\b{year}\b[^;]* missed\b", verdict), line
    # the answer comes right after the table, before the timings
    lines = printed.splitlines()
    assert lines.index(line) == 1 + 1 + len(annual)


def test_ensemble_answer_matches_the_replicates(tmp_path, capsys):
    out = tmp_path / "ens"
    argv = ["run", str(BASELINE), "--replicates", "3", "--population-scale", "0.02"]
    assert main([*argv, "--workers", "1", "--quiet", "--out", str(out)]) == 0
    line = answer_line(capsys.readouterr().out, "Targets met:")
    reps = pd.read_parquet(out / "replicates.parquet")
    reps = reps[reps["year"].isin(PLAN_YEARS)]
    done = reps["cumulative_exited_people"] >= reps["target_cumulative_people"]
    shares = done.groupby(reps["year"]).mean()
    assert shown_shares(line) == {y: expected_share(shares[y]) for y in PLAN_YEARS}
    assert "of 3 replicates" in line and f"({SEEDS_ONLY})." in line
    # consolidation years (2019, 2020) hold the last target and are not in the answer
    assert "2019" not in line and "2020" not in line


def test_compare_and_budget_answer_per_scenario(tmp_path, capsys):
    variant = tmp_path / "slow.toml"
    variant.write_text(
        f'extends = "{BASELINE}"\nname = "slow_dibao"\n[social_security]\nenrolment_rate = 0.02\n'
    )
    out = tmp_path / "cmp"
    small = ["--replicates", "2", "--population-scale", "0.02", "--workers", "1", "--quiet"]
    assert main(["compare", str(BASELINE), str(variant), *small, "--out", str(out)]) == 0
    line = answer_line(capsys.readouterr().out, "Targets met, over 2 replicates each")
    assert f"({SEEDS_ONLY}):" in line
    table = pd.read_csv(out / "comparison.csv").set_index("scenario")
    for name, other in (("baseline", "slow_dibao"), ("slow_dibao", None)):
        part = line.split(f"{name}: ", 1)[1]
        part = part.split(f"; {other}: ")[0] if other else part
        expected = {y: expected_share(table.loc[name, f"prob_met_{y}"]) for y in PLAN_YEARS}
        assert shown_shares(part) == expected, line

    out = tmp_path / "budget"
    argv = ["budget", str(BASELINE), "--allocation", ALLOCATION]
    assert main([*argv, "--replicates", "1", "--population-scale", "0.01", "--out", str(out)]) == 0
    line = answer_line(capsys.readouterr().out, "Targets met, over 1 replicate each")
    table = pd.read_csv(out / "budget.csv")
    own = line.split("the scenario's allocation: ", 1)[1].split("; allocation #1: ")[0]
    assert shown_shares(own) == {
        y: expected_share(table.loc[0, f"p_target_{y}"]) for y in PLAN_YEARS
    }
    assert f"({SEEDS_ONLY}):" in line and "allocation #1: " in line
