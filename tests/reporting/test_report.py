"""``shaoguan-abm report``: a run's folder, an ensemble-like folder, and bad folders."""

import base64
import json
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from model.commands.cli import main
from model.results.outputs import SCHEMA_VERSION

RUN_FIGURES = [
    "exits_vs_targets",
    "villages_exited",
    "remaining_poor_by_county",
    "spend_by_year",
    "income_distribution",
]


@pytest.fixture(scope="module")
def run_report(small_result, tmp_path_factory):
    folder = small_result.write(tmp_path_factory.mktemp("report") / "run")
    assert main(["report", str(folder)]) == 0
    return folder


class Blocks(HTMLParser):
    """The top-level blocks of a report page, in order: ``(tag, text)``."""

    BLOCKS = {"h1", "h2", "h3", "p", "table", "figure", "details"}

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[tuple[str, str]] = []
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001, ANN201 - HTMLParser's signature
        if tag in self.BLOCKS and not self.open:
            self.blocks.append((tag, ""))
        if tag in self.BLOCKS:
            self.open.append(tag)

    def handle_endtag(self, tag):  # noqa: ANN001, ANN201
        if self.open and tag == self.open[-1]:
            self.open.pop()

    def handle_data(self, data):  # noqa: ANN001, ANN201
        if self.open and self.blocks:
            tag, text = self.blocks[-1]
            self.blocks[-1] = (tag, text + data)


def blocks(page: str) -> list[tuple[str, str]]:
    parser = Blocks()
    parser.feed(page)
    return parser.blocks


def headings(page: str) -> list[str]:
    return [text for tag, text in blocks(page) if tag == "h2"]


def embedded_pngs(page: str) -> dict[str, bytes]:
    found = re.findall(
        r"<figure id='(\w+)'><img alt='[^']*' src='data:image/png;base64,([^']+)'", page
    )
    return {name: base64.b64decode(data) for name, data in found}


def test_run_report_html_is_self_contained(run_report, small_result):
    page = (run_report / "report.html").read_text()
    figures = embedded_pngs(page)
    assert list(figures) == RUN_FIGURES
    for png in figures.values():
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
    # nothing is loaded from elsewhere
    assert "src='http" not in page and "<link" not in page and "<script" not in page
    assert headings(page) == [
        "Will the targets be met?",
        "Spend and cost per exit",
        "More figures",
        "The scenario and its assumptions",
        "Appendix: uncertainties and their ranges",
        "About this run",
    ]
    assert "Probability of meeting the targets" not in page  # no probabilities.csv in a run


def test_run_report_target_table(run_report, small_result):
    md = (run_report / "report.md").read_text()
    a = small_result.annual
    assert "| year | target (cum.) | exited (cum.) | met | short of target |" in md
    for _, r in a.iterrows():
        target, done = int(r["target_cumulative_people"]), int(r["cumulative_exited_people"])
        met = "yes" if done >= target else "NO"
        short = max(target - done, 0)
        row = f"| {int(r['year'])} | {target:,} | {done:,} | {met} | {short:,} |"
        assert row in md
    # the same table in the HTML
    page = (run_report / "report.html").read_text()
    assert "<th>target (cum.)</th>" in page
    first = a.iloc[0]
    assert f"<td class='num'>{int(first['target_cumulative_people']):,}</td>" in page
    # the Markdown's figures are files beside it
    for name in RUN_FIGURES:
        assert f"(report_files/{name}.png)" in md
        assert (run_report / "report_files" / f"{name}.png").stat().st_size > 10_000


def test_run_report_spend(run_report, small_result):
    md = (run_report / "report.md").read_text()
    out = small_result.outcomes()
    assert f"| total spend | {out['total_spend']:,.0f} |" in md
    assert f"| cost per sustained exit | {out['cost_per_sustained_exit']:,.0f} |" in md
    spend_2016 = small_result.monthly.query("year == 2016")["spend_social_security"].sum()
    assert f"| 2016 | {spend_2016 / 1e6:,.2f} |" in md


def ensemble_like_folder(path):
    """A folder as an ensemble or sweep writes it: no annual table, replicates and summaries."""
    path.mkdir()
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "scenario_name": "hand",
        "seed": 3,
        "population_scale": 0.05,
        "replicates": 20,
    }
    (path / "manifest.json").write_text(json.dumps(manifest))
    years = [2016, 2017]
    reps = pd.DataFrame(
        [
            {
                "replicate": r,
                "year": y,
                "cumulative_exited_people": 1_000 * (y - 2015) + 10 * r,
                "target_cumulative_people": 1_100 * (y - 2015),
                "villages_exited": r % 5,
                "villages_total": 14,
            }
            for r in range(20)
            for y in years
        ]
    )
    reps.to_parquet(path / "replicates.parquet", index=False)
    pd.DataFrame(
        {
            "year": ["2016", "2017", "all"],
            "target_cumulative_people": [1_100, 2_200, ""],
            "probability_met": [0.45, 0.0, 0.0],
            "ci_low": [0.23, 0.0, 0.0],
            "ci_high": [0.68, 0.17, 0.17],
        }
    ).to_csv(path / "probabilities.csv", index=False)
    pd.DataFrame(
        {
            "outcome": ["cumulative_exited_people_2018"] * 3,
            "parameter": ["dynamics.wage_growth", "dynamics.job_finding_rate", "x.small"],
            "S1": [0.1, 0.5, 0.01],
            "S1_conf": [0.02, 0.05, 0.01],
            "ST": [0.2, 0.7, 0.02],
            "ST_conf": [0.03, 0.06, 0.01],
        }
    ).to_csv(path / "sensitivity.csv", index=False)
    pd.DataFrame(
        {
            "scenario": ["baseline", "more_jobs"],
            "prob_all_targets": [0.25, 0.5],
            "median_exited_2018": [3_000.0, 3_500.0],
            "total_spend": [1.5e6, 1.6e6],
        }
    ).to_csv(path / "comparison.csv", index=False)
    pd.DataFrame(
        {
            "year": [2016, 2016],
            "measure": ["employment", "dibao"],
            "enrolled_households": [10, 60],
            "enrolled_people": [30, 120],
            "spend": [1e5, 2e5],
            "spend_to_date": [1e5, 2e5],
            "exited_people_enrolled": [30, 100],
            "exits_among_enrolled_per_million_yuan": [300.0, 500.0],
        }
    ).to_parquet(path / "by_measure.parquet", index=False)
    pd.DataFrame(
        [("special", "province", 600, 500, 50, 50)],
        columns=["fund", "source", "received", "spent", "leaked", "unspent"],
    ).to_csv(path / "funding.csv", index=False)
    pd.DataFrame(
        [
            ("special", "province", "", "received", 2016, 12, "lechang", 600.0),
            ("special", "province", "employment", "spent", 2016, 12, "lechang", 500.0),
            ("special", "province", "employment", "leaked", 2016, 12, "lechang", 50.0),
        ],
        columns=["fund", "source", "use", "kind", "year", "month", "county", "amount"],
    ).to_parquet(path / "ledger.parquet", index=False)
    # a figure another command drew, embedded as it is
    (path / "exits_vs_targets.png").write_bytes(base64.b64decode(TINY_PNG))
    return path


TINY_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
    "AAAABJRU5ErkJggg=="
)


def test_report_uses_whatever_the_folder_holds(tmp_path, capsys):
    folder = ensemble_like_folder(tmp_path / "ens")
    assert main(["report", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "figures (3): exits_vs_targets, villages_exited, spend_by_year" in out
    md = (folder / "report.md").read_text()
    # 2016 exits 1,000 + 10 r, r = 0..19: median 1,095; 5% point at r = 0.95 -> 1,009.5 and
    # 95% at r = 18.05 -> 1,180.5, shown rounded half to even; villages r % 5: median 2
    assert "| 2016 | 1,100 | 1,095 | 1,010 to 1,180 | 2 | 45.0% |" in md
    assert "## Probability of meeting the targets" in md
    assert "| 2016 | 1,100 | 45.0% | 23.0% to 68.0% |" in md
    assert "| all | - | 0.0% | 0.0% to 17.0% |" in md
    # sensitivities ordered by total-order index
    sens = md[md.index("## Key sensitivities: what drives the outcome") :]
    assert sens.index("dynamics.job_finding_rate") < sens.index("dynamics.wage_growth")
    page = (folder / "report.html").read_text()
    figures = embedded_pngs(page)
    assert list(figures) == ["exits_vs_targets", "villages_exited", "spend_by_year"]
    assert figures["exits_vs_targets"] == base64.b64decode(TINY_PNG)
    # the tables present get their sections; the run's tables are absent and not missed
    assert "| scenario | prob_all_targets | median_exited_2018 | total_spend |" in md
    assert "| baseline | 25.0% | 3,000 | 1,500,000 |" in md
    assert "| year | dibao | employment |\n| --- | --- | --- |\n| 2016 | 120 | 30 |" in md
    assert "| special | province | 600 | 500 | 50 | 50 |" in md
    assert "| employment | 100,000 | 30 | 300.0 |" in md
    # 500 yuan in million, by source (named with its fund) and by use
    assert "| year | province (special) |\n| --- | --- |\n| 2016 | 0.00 |" in md
    assert "| year | employment | total |\n| --- | --- | --- |\n| 2016 | 0.00 | 0.00 |" in md
    assert "Income of the registered poor by component" not in md


def test_report_bad_folder(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'missing'}: no such results folder\n"
    folder = ensemble_like_folder(tmp_path / "old")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["schema_version"] = 0
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert main(["report", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"expected results schema_version {SCHEMA_VERSION}, found 0" in err
    assert not (folder / "report.html").exists() and not (folder / "report.md").exists()
    (folder / "manifest.json").write_text("{not json")
    assert main(["report", str(folder)]) == 2
    assert "manifest.json: expected JSON" in capsys.readouterr().err
    assert not any(p.name.startswith(("report", ".")) for p in folder.iterdir())


def test_report_rewrite_replaces_files(run_report):
    before = sorted(p.name for p in run_report.iterdir())
    assert main(["report", str(run_report)]) == 0
    assert sorted(p.name for p in run_report.iterdir()) == before
    assert not any(p.name.startswith(".") for p in run_report.iterdir())


def test_ensemble_report_has_the_figures_of_a_run_with_bands(baseline, tmp_path, capsys):
    from model.experiments.ensemble import run_ensemble

    out = tmp_path / "ens"
    run_ensemble(baseline, replicates=3, seed=2, workers=1, population_scale=0.02, out=out)
    assert main(["report", str(out)]) == 0
    printed = capsys.readouterr().out
    figures = embedded_pngs((out / "report.html").read_text())
    for name in ("remaining_poor_by_county", "spend_by_year", "income_distribution"):
        assert name in figures, printed
        assert figures[name][:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "report_files" / "spend_by_year.png").is_file()


SEEDS_ONLY = "probabilities over seeds only, parameters fixed at the scenario's values"


def test_run_report_opens_with_the_answer(run_report, small_result):
    page = (run_report / "report.html").read_text()
    first = blocks(page)[:5]
    assert [tag for tag, _ in first] == ["h1", "h2", "p", "table", "figure"]
    assert first[1][1] == "Will the targets be met?"
    answer = first[2][1]
    a = small_result.annual.set_index("year")
    met = [
        y
        for y in (2016, 2017, 2018)
        if a.loc[y, "cumulative_exited_people"] >= a.loc[y, "target_cumulative_people"]
    ]
    missed = [y for y in (2016, 2017, 2018) if y not in met]
    assert answer.startswith(
        f"Targets in this single run (seed {small_result.manifest['seed']}, parameters fixed at "
        "the scenario's values): "
    )
    assert "One run gives no probability" in answer
    verdict = answer.split("): ", 1)[1].split(".")[0]
    assert all(str(y) in verdict.split(" met")[0] for y in met)
    assert all(str(y) in verdict.split("met; ")[-1] for y in missed)
    cost = small_result.outcomes()["cost_per_sustained_exit"]
    assert f"Cost per sustained exit: {cost:,.0f} yuan." in answer
    # the run's metadata comes last
    assert blocks(page)[-2:][0] == ("h2", "About this run")
    md = (run_report / "report.md").read_text()
    assert md.split("\n")[2:5] == ["## Will the targets be met?", "", answer]


def test_ensemble_report_answer_states_its_source(tmp_path):
    folder = ensemble_like_folder(tmp_path / "ens")
    assert main(["report", str(folder)]) == 0
    first = blocks((folder / "report.html").read_text())[:5]
    assert [tag for tag, _ in first] == ["h1", "h2", "p", "table", "figure"]
    # probabilities.csv: 2016 met in 45% of the 20 replicates, 2017 in none
    assert first[2][1].startswith(
        f"Targets met: 2016 in 45% of 20 replicates; 2017 in none ({SEEDS_ONLY})."
    )
    assert "simulated 0.05 of the population" in first[2][1]
    # the manifest says where the probabilities come from
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "parameters": "prior"}))
    assert main(["report", str(folder)]) == 0
    answer = blocks((folder / "report.html").read_text())[2][1]
    assert "(probabilities over seeds and parameters drawn from their prior ranges)" in answer
    # a folder with no targets has no answer section
    for name in ("probabilities.csv", "replicates.parquet", "comparison.csv"):
        (folder / name).unlink()
    assert main(["report", str(folder)]) == 0
    assert "Will the targets be met?" not in headings((folder / "report.html").read_text())


def test_comparison_report_answers_per_scenario(tmp_path):
    folder = tmp_path / "cmp"
    folder.mkdir()
    targets = {"targets": {"cumulative_people": {"2016": 300, "2017": 650}}}
    manifest = {
        "kind": "comparison",
        "schema_version": SCHEMA_VERSION,
        "scenarios": {"baseline": targets, "jobs": targets},
        "replicates": 40,
        "population_scale": 0.01,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    # 40 replicates: baseline meets 2016 in 40 and 2017 in 0; jobs in 40 and 14 (35%), all 14
    pd.DataFrame(
        {
            "scenario": ["baseline", "jobs"],
            "replicates": [40, 40],
            "prob_met_2016": [40 / 40, 40 / 40],
            "prob_met_2017": [0 / 40, 14 / 40],
            "prob_met_2019": [0 / 40, 0 / 40],
            "prob_met_all": [0 / 40, 14 / 40],
            "median_cost_per_sustained_exit": [34_000.4, 36_500.0],
        }
    ).to_csv(folder / "comparison.csv", index=False)
    assert main(["report", str(folder)]) == 0
    first = blocks((folder / "report.html").read_text())[:3]
    assert first[1] == ("h2", "Will the targets be met?")
    assert first[2][1] == (
        f"Targets met, over 40 replicates each ({SEEDS_ONLY}): baseline: 2016 in 100%, 2017 in "
        "none; jobs: 2016 in 100%, 2017 in 35%, every target in 35%. Cost per sustained exit "
        "(median): baseline 34,000 yuan; jobs 36,500 yuan. Counts and money are for the "
        "simulated 0.01 of the population (the plan's 95,500 people become 955)."
    )
