"""Scenario reports: ``report.html`` (self-contained) and ``report.md`` beside the results.

A report is built from whatever the results folder holds (see
:mod:`model.results.folder`): a section or figure appears when its table exists and is left out
otherwise. Sections, in order: the scenario and its assumptions; the annual targets against the
outcomes; the probability of meeting them (ensembles); a scenario comparison (``compare``);
figures; spend and cost per exit; key sensitivities (sweeps); validation against observed data;
and, as an appendix, every uncertainty with its range. The HTML embeds its figures as base64
PNG; the Markdown refers to PNG files written to ``report_files/``.
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from model.reporting import figures as plots
from model.results.folder import ResultsFolder, open_results
from model.results.metrics import describe, label, unit
from model.results.outputs import across_replicates, ensemble_spend, spend_by_year

FIGURE_DIR = "report_files"
DPI = 110


@dataclass
class FigureItem:
    """A figure of the report: a file stem, the question it answers and its PNG bytes."""

    name: str
    question: str
    png: bytes


@dataclass
class Report:
    """A report as a list of blocks, rendered to Markdown or HTML.

    Blocks are ``(kind, content)`` pairs: ``("h2", text)``, ``("h3", text)``, ``("p", text)``,
    ``("table", DataFrame of strings)``, ``("figure", FigureItem)`` and
    ``("details", (summary, blocks))``.
    """

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def figures(self) -> list[FigureItem]:
        """Every figure of the report, in order."""
        out = []
        for kind, content in self._walk(self.blocks):
            if kind == "figure":
                out.append(content)
        return out

    def _walk(self, blocks: list[tuple[str, Any]]):  # noqa: ANN202 - a generator of blocks
        for kind, content in blocks:
            yield kind, content
            if kind == "details":
                yield from self._walk(content[1])

    def markdown(self) -> str:
        """The report as Markdown; figures refer to ``report_files/<name>.png``."""
        lines = [f"# {self.title}", ""]
        self._markdown_blocks(self.blocks, lines)
        return "\n".join(lines).rstrip() + "\n"

    def _markdown_blocks(self, blocks: list[tuple[str, Any]], lines: list[str]) -> None:
        for kind, content in blocks:
            if kind == "h2":
                lines += [f"## {content}", ""]
            elif kind == "h3":
                lines += [f"### {content}", ""]
            elif kind == "p":
                lines += [content, ""]
            elif kind == "table":
                lines += [_markdown_table(content), ""]
            elif kind == "figure":
                lines += [
                    f"![{content.question}]({FIGURE_DIR}/{content.name}.png)",
                    "",
                    f"*{content.question}*",
                    "",
                ]
            elif kind == "details":
                summary, inner = content
                lines += [f"### {summary}", ""]
                self._markdown_blocks(inner, lines)

    def html(self) -> str:
        """The report as one self-contained HTML page (figures embedded as base64 PNG)."""
        body: list[str] = [f"<h1>{html.escape(self.title)}</h1>"]
        self._html_blocks(self.blocks, body)
        return (
            "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            f"<title>{html.escape(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n"
            "<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
        )

    def _html_blocks(self, blocks: list[tuple[str, Any]], body: list[str]) -> None:
        for kind, content in blocks:
            if kind in ("h2", "h3"):
                body.append(f"<{kind}>{html.escape(content)}</{kind}>")
            elif kind == "p":
                body.append(f"<p>{_inline_html(content)}</p>")
            elif kind == "table":
                body.append(_html_table(content))
            elif kind == "figure":
                data = base64.b64encode(content.png).decode("ascii")
                body.append(
                    f"<figure id='{content.name}'><img alt='{html.escape(content.question)}' "
                    f"src='data:image/png;base64,{data}'>"
                    f"<figcaption>{html.escape(content.question)}</figcaption></figure>"
                )
            elif kind == "details":
                summary, inner = content
                body.append(f"<details><summary>{html.escape(summary)}</summary>")
                self._html_blocks(inner, body)
                body.append("</details>")


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left;
         vertical-align: top; }
th { background: #f2f2f2; } td.num { text-align: right; white-space: nowrap; }
td.missed { color: #b00; font-weight: 600; } td.met { color: #070; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-style: italic; color: #555; }
code { background: #f4f4f4; padding: 0 0.2rem; }
details { margin: 1rem 0; } summary { cursor: pointer; font-weight: 600; }
"""


_NUMBER = re.compile(r"[-+]?[\d,]+(\.\d+)?%?( to [-+]?[\d,]+(\.\d+)?%?)?|-")


def _inline_html(text: str) -> str:
    """Escape text, keeping ``code`` spans written with backquotes."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _markdown_table(table: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(cell(c) for c in table.columns) + " |"
    rule = "| " + " | ".join("---" for _ in table.columns) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def _html_table(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for row in table.itertuples(index=False):
        cells = []
        for v in row:
            text = str(v)
            if text == "NO":
                cls = " class='missed'"
            elif text == "yes":
                cls = " class='met'"
            elif _NUMBER.fullmatch(text):
                cls = " class='num'"
            else:
                cls = ""
            cells.append(f"<td{cls}>{_inline_html(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


# ---------------------------------------------------------------------------------------------
# formatting


def fmt_number(value: Any, digits: int = 0) -> str:
    """A number with thousands separators; ``-`` for missing values."""
    if value is None or (isinstance(value, float) and value != value):  # noqa: PLR0124
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return f"{float(value):,.{digits}f}"


def fmt_share(value: Any) -> str:
    """A share (0-1) as a percentage."""
    if value is None or value != value:  # noqa: PLR0124
        return "-"
    return f"{100 * float(value):.1f}%"


def fmt_value(value: Any) -> str:
    """A parameter value for a table: numbers, year tables, shares, lists."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1_000:
            return f"{value:,.0f}"
        return f"{value:.6g}"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {fmt_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(fmt_value(v) for v in value)
    return str(value)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# the scenario and its assumptions


def parameter_rows(scenario_data: dict[str, Any]) -> pd.DataFrame:
    """Every parameter of a resolved scenario with its default, unit, source, kind and range.

    The rows are the engine's parameter catalogue (:func:`model.engine.catalogue.catalogue`),
    less the scenario's own keys (name, description, ranges).

    Args:
        scenario_data: The resolved scenario as stored in ``manifest.json``.

    Returns:
        One row per parameter: ``path, value, default, changed, kind, unit, source, low, high``
        (``low``/``high`` are the sweep range, when the parameter has one).
    """
    from model.engine.catalogue import TOP_LEVEL, catalogue
    from model.engine.scenario import validate_scenario

    defaults = {e.path: e.value for e in catalogue()}
    rows = [
        {
            "path": e.path,
            "value": e.value,
            "default": defaults.get(e.path),
            "changed": e.path not in defaults or e.value != defaults[e.path],
            "kind": e.kind,
            "unit": e.unit,
            "source": str(e.source),
            "low": None if e.range is None else e.range[0],
            "high": None if e.range is None else e.range[1],
        }
        for e in catalogue(validate_scenario(scenario_data))
        if e.section != TOP_LEVEL  # the scenario's name, description and ranges
    ]
    return pd.DataFrame(rows)


def _scenario_section(results: ResultsFolder) -> list[tuple[str, Any]]:
    m = results.manifest
    blocks: list[tuple[str, Any]] = [("h2", "The scenario and its assumptions")]
    scenario = m.get("scenario") or {}
    if scenario.get("description"):
        blocks.append(("p", str(scenario["description"])))
    facts = [
        ("scenario", m.get("scenario_name", "-")),
        ("results folder", str(results.path)),
        ("seed", m.get("seed", "-")),
        ("population scale", m.get("population_scale", "-")),
        ("replicates", m.get("replicates", "-") if results.is_ensemble else "1 (a single run)"),
        ("households simulated", fmt_number(m["households_simulated"]))
        if "households_simulated" in m
        else None,
        ("poor villages simulated", m.get("villages", "-")),
        ("months simulated", m.get("months", "-")),
        ("package version", m.get("package_version", "-")),
        ("git commit", m.get("git_commit") or "-"),
        ("created (UTC)", m.get("created_utc", "-")),
    ]
    table = pd.DataFrame(
        [f for f in facts if f is not None and f[1] != "-"], columns=["item", "value"]
    )
    blocks.append(("table", table.astype(str)))
    scale = m.get("population_scale")
    if isinstance(scale, int | float) and scale < 1:
        blocks.append(
            (
                "p",
                f"The run simulates {scale:g} of every count: targets, people, villages and "
                f"money below are for that share (the plan's 95,500 people become "
                f"{round(95_500 * scale):,}), not for the whole city.",
            )
        )
    if not scenario:
        return blocks
    try:
        params = parameter_rows(scenario)
    except Exception as err:  # noqa: BLE001 - a manifest of an older schema still gets a report
        blocks.append(("p", f"The scenario in the manifest could not be read: {err}"))
        return blocks
    changed = params[params["changed"]]
    if changed.empty:
        blocks.append(("p", "Every parameter has the model's default value."))
    else:
        blocks += [
            ("h3", "Parameters that differ from the model's defaults"),
            (
                "table",
                pd.DataFrame(
                    {
                        "parameter": "`" + changed["path"] + "`",
                        "value": changed["value"].map(fmt_value),
                        "default": changed["default"].map(fmt_value),
                        "unit": changed["unit"],
                    }
                ),
            ),
        ]
    levers = params[params["kind"] == "lever"]
    if not levers.empty:
        blocks += [
            ("h3", "Levers (what the government chooses)"),
            (
                "table",
                pd.DataFrame(
                    {
                        "lever": "`" + levers["path"] + "`",
                        "value": levers["value"].map(fmt_value),
                        "unit": levers["unit"],
                        "source": levers["source"],
                    }
                ),
            ),
        ]
    return blocks


def _uncertainty_appendix(results: ResultsFolder) -> list[tuple[str, Any]]:
    scenario = results.manifest.get("scenario")
    if not scenario:
        return []
    try:
        params = parameter_rows(scenario)
    except Exception:  # noqa: BLE001 - reported in the scenario section already
        return []
    unc = params[params["kind"] == "uncertainty"]
    if unc.empty:
        return []
    table = pd.DataFrame(
        {
            "uncertainty": "`" + unc["path"] + "`",
            "value": unc["value"].map(fmt_value),
            "range": [
                f"{fmt_value(lo)} to {fmt_value(hi)}"
                for lo, hi in zip(unc["low"], unc["high"], strict=True)
            ],
            "unit": unc["unit"],
            "source": unc["source"],
        }
    )
    return [
        ("h2", "Appendix: uncertainties and their ranges"),
        (
            "details",
            (f"{len(unc)} uncertain parameters (value used, sweep range)", [("table", table)]),
        ),
    ]


# ---------------------------------------------------------------------------------------------
# targets against outcomes


def _plan_years(results: ResultsFolder) -> list[int]:
    targets = (results.manifest.get("scenario") or {}).get("targets", {})
    return sorted(int(y) for y in targets.get("cumulative_people", {}))


def _run_targets(annual: pd.DataFrame, plan_years: list[int]) -> list[tuple[str, Any]]:
    a = annual
    target = a["target_cumulative_people"].astype(float)
    short = (target - a["cumulative_exited_people"]).clip(lower=0)
    total = int(a["villages_total"].iloc[0])
    table = pd.DataFrame(
        {
            "year": a["year"].astype(str),
            "target (cum.)": target.map(fmt_number),
            "exited (cum.)": a["cumulative_exited_people"].map(fmt_number),
            "met": a["target_met"].map(lambda v: "-" if v is None or v != v else fmt_number(v)),
            "short of target": [
                fmt_number(s) if t == t else "-" for s, t in zip(short, target, strict=True)
            ],
            "exited in year": a["exited_people"].map(fmt_number),
            "relapsed": a["relapsed_people"].map(fmt_number),
            "still poor": a["remaining_poor_people"].map(fmt_number),
            f"villages exited (of {total})": a["villages_exited"].map(fmt_number),
            "mean income (yuan)": a["mean_per_capita_income_poor"].map(fmt_number),
            "exit line (yuan)": a["exit_income_line"].map(fmt_number),
        }
    )
    sentences = []
    for _, r in a[a["year"].isin(plan_years)].iterrows():
        t, done = float(r["target_cumulative_people"]), float(r["cumulative_exited_people"])
        verdict = "met" if done >= t else f"missed by {t - done:,.0f} people"
        sentences.append(
            f"{int(r['year'])}: {done:,.0f} of a cumulative target of {t:,.0f} "
            f"({100 * done / t:.0f}%), {verdict}."
        )
    if plan_years:
        last = a[a["year"] == max(plan_years)]
        if not last.empty:
            sentences.append(
                f"By {max(plan_years)}, {int(last['villages_exited'].iloc[0])} of {total} poor "
                "villages have exited (the plan: all of them)."
            )
    components = [c for c in a.columns if c.endswith("_per_capita_poor")]
    blocks: list[tuple[str, Any]] = [("p", " ".join(sentences)), ("table", table)]
    if components:
        income = pd.DataFrame({"year": a["year"].astype(str)})
        for c in components:
            income[c.removesuffix("_per_capita_poor")] = a[c].map(fmt_number)
        income["total"] = a[components].sum(axis=1).map(fmt_number)
        blocks += [
            ("h3", "Income of the registered poor by component (yuan/person/year)"),
            (
                "p",
                "How households cross the line: mean per-capita income of all registered poor "
                "people (exited or not) in each component, for the 12 months to December.",
            ),
            ("table", income),
        ]
    return blocks


def _ensemble_targets(
    replicates: pd.DataFrame, probabilities: pd.DataFrame | None
) -> list[tuple[str, Any]]:
    g = replicates.groupby("year")
    q = g["cumulative_exited_people"].quantile([0.05, 0.5, 0.95]).unstack()
    table = pd.DataFrame({"year": q.index.astype(str)})
    if "target_cumulative_people" in replicates:
        table["target (cum.)"] = g["target_cumulative_people"].first().map(fmt_number).to_numpy()
    table["exited (cum.), median"] = q[0.5].map(fmt_number).to_numpy()
    table["5-95% of replicates"] = [
        f"{fmt_number(lo)} to {fmt_number(hi)}" for lo, hi in zip(q[0.05], q[0.95], strict=True)
    ]
    if "villages_exited" in replicates:
        table["villages exited, median"] = g["villages_exited"].median().map(fmt_number).to_numpy()
    if probabilities is not None:
        p = probabilities.assign(year=probabilities["year"].astype(str)).set_index("year")
        table["P(target met)"] = table["year"].map(p["probability_met"]).map(fmt_share)
    n = replicates["replicate"].nunique() if "replicate" in replicates else "several"
    return [
        ("p", f"Medians and 5-95% ranges over {n} replicates of the scenario."),
        ("table", table),
    ]


def _targets_section(results: ResultsFolder) -> list[tuple[str, Any]]:
    blocks: list[tuple[str, Any]] = [("h2", "The annual targets against the outcomes")]
    replicates = results.get("replicates")
    annual = results.get("annual")
    if replicates is not None:
        blocks += _ensemble_targets(replicates, results.get("probabilities"))
    elif annual is not None:
        blocks += _run_targets(annual, _plan_years(results))
    else:
        return []
    return blocks


def _probability_section(results: ResultsFolder) -> list[tuple[str, Any]]:
    p = results.get("probabilities")
    if p is None:
        return []
    table = pd.DataFrame(
        {
            "year": p["year"].astype(str),
            "target (cum.)": p["target_cumulative_people"].map(
                lambda v: fmt_number(v) if isinstance(v, int | float) else str(v)
            ),
            "probability met": p["probability_met"].map(fmt_share),
            "confidence interval": [
                f"{fmt_share(lo)} to {fmt_share(hi)}"
                for lo, hi in zip(p["ci_low"], p["ci_high"], strict=True)
            ],
        }
    )
    return [
        ("h2", "Probability of meeting the targets"),
        (
            "p",
            "Share of replicates in which the cumulative exits reach the year's target; the row "
            "`all` is the share meeting every target. The interval is the binomial confidence "
            "interval of that share.",
        ),
        ("table", table),
    ]


# ---------------------------------------------------------------------------------------------
# figures

#: Captions of figures other commands draw into the results folder.
FOLDER_FIGURES = {
    "exits_vs_targets": "Is each year's exit target met? (as drawn with the results)",
    "comparison": "How do the scenarios compare?",
    "sensitivity": "Which assumptions drive the outcome?",
}


def _figure_makers(results: ResultsFolder) -> list[tuple[str, str, Callable[[], Any]]]:
    label = results.label
    annual = results.get("annual")
    replicates = results.get("replicates")
    monthly = results.get("monthly")
    ledger = results.get("ledger")
    makers: list[tuple[str, str, Callable[[], Any]]] = []
    if annual is not None and replicates is None:
        makers.append(
            (
                "exits_vs_targets",
                "Is each year's exit target met, and by how much is it missed?",
                lambda: plots.exits_vs_targets(annual, title=label),
            )
        )
    village_table = annual
    if village_table is None and replicates is not None and "villages_exited" in replicates:
        village_table = replicates.groupby("year", as_index=False).median(numeric_only=True)
    if village_table is not None and "villages_total" in village_table:
        makers.append(
            (
                "villages_exited",
                "How many poor villages have exited, against all of them by 2018?",
                lambda: plots.villages_exited(village_table, title=label, replicates=replicates),
            )
        )
    ensemble = _ensemble_figure_tables(results) if replicates is not None else {}
    by_county = results.get("by_county")
    if by_county is not None or "by_county" in ensemble:
        table, band = ensemble.get("by_county", (by_county, None))
        makers.append(
            (
                "remaining_poor_by_county",
                "Where are the people who are still poor, year by year?",
                lambda: plots.remaining_poor_by_county(table, title=label, band=band),
            )
        )
    by_source, by_use, spend_band = ensemble.get(
        "spend",
        (
            spend_by_year(ledger, "source", leaked=True),
            spend_by_year(ledger, "use", leaked=True, monthly=monthly),
            None,
        ),
    )
    if not (by_source.empty and by_use.empty):
        makers.append(
            (
                "spend_by_year",
                "How much is spent each year, from which source and on which use?",
                lambda: plots.spend_by_year(by_source, by_use, title=label, band=spend_band),
            )
        )
    if annual is not None or "income" in ensemble:
        income_annual, percentiles, income_band = ensemble.get(
            "income", (annual, results.get("income_percentiles"), None)
        )
        makers.append(
            (
                "income_distribution",
                "How far is the registered poor's income from the exit line?",
                lambda: plots.income_distribution(
                    income_annual, percentiles, title=label, band=income_band
                ),
            )
        )
    return makers


def _ensemble_figure_tables(results: ResultsFolder) -> dict[str, Any]:
    """An ensemble's medians and 5-95% bands across replicates for the single-run figures."""
    out: dict[str, Any] = {}
    by_county = results.get("replicate_by_county")
    if by_county is not None:
        remaining = across_replicates(by_county, ["year", "county"], "remaining_poor_people")
        registered = across_replicates(by_county, ["year", "county"], "registered_people")
        table = remaining[["year", "county"]].assign(
            remaining_poor_people=remaining["median"],
            registered_people=registered["median"],
        )
        out["by_county"] = (table, remaining[["year", "county", "low", "high"]])
    ledger = results.get("replicate_ledger")
    if ledger is not None:
        out["spend"] = ensemble_spend(ledger)
    percentiles = results.get("replicate_income_percentiles")
    replicates = results.get("replicates")
    if percentiles is not None and replicates is not None and "exit_income_line" in replicates:
        keys = ["year", "population", "percentile"]
        medians = across_replicates(percentiles, keys, "value")
        table = medians[keys].assign(value=medians["median"])
        band = across_replicates(
            percentiles[percentiles["percentile"] == 50], ["year", "population"], "value"
        )
        annual = replicates.groupby("year", as_index=False)["exit_income_line"].median()
        out["income"] = (annual, table, band)
    return out


def _figures(results: ResultsFolder) -> list[FigureItem]:
    items = [
        FigureItem(name, question, _png(make())) for name, question, make in _figure_makers(results)
    ]
    drawn = {item.name for item in items}
    for stem, path in results.figures.items():
        if stem not in drawn:
            items.append(
                FigureItem(
                    stem, FOLDER_FIGURES.get(stem, stem.replace("_", " ")), path.read_bytes()
                )
            )
    return items


# ---------------------------------------------------------------------------------------------
# spend, sensitivities, validation


def _spend_section(results: ResultsFolder) -> list[tuple[str, Any]]:
    blocks: list[tuple[str, Any]] = []
    run = results.run_result()
    if run is not None:
        out = run.outcomes()
        if out.get("total_spend", 0) > 0:
            names = ["total_spend", "cost_per_exit", "cost_per_sustained_exit"]
            blocks.append(
                (
                    "table",
                    pd.DataFrame(
                        {
                            "measure": [label(n, "outcomes") for n in names],
                            "value": [fmt_number(out[n]) for n in names],
                            "unit": [unit(n, "outcomes") for n in names],
                            "meaning": [describe(n, "outcomes") for n in names],
                        }
                    ),
                )
            )
    ledger = results.get("ledger")
    by_use = spend_by_year(ledger, "use", monthly=results.get("monthly")) / 1e6
    if not by_use.empty:
        table = pd.DataFrame({"year": by_use.index.astype(str)})
        for c in by_use.columns:
            table[str(c).replace("_", " ")] = by_use[c].map(lambda v: fmt_number(v, 2)).to_numpy()
        table["total"] = by_use.sum(axis=1).map(lambda v: fmt_number(v, 2)).to_numpy()
        blocks += [("h3", "Spend by measure and year (million yuan)"), ("table", table)]
    by_source = spend_by_year(ledger, "source") / 1e6
    if not by_source.empty:
        table = pd.DataFrame({"year": by_source.index.astype(str)})
        for fund, source in by_source.columns:
            table[f"{source} ({fund})"] = (
                by_source[(fund, source)].map(lambda v: fmt_number(v, 2)).to_numpy()
            )
        blocks += [("h3", "Spend by source and year (million yuan)"), ("table", table)]
    funding = results.get("funding")
    if funding is not None:
        blocks += [
            ("h3", "Funds over the horizon: received, spent, leaked, unspent (yuan)"),
            ("table", _formatted(funding)),
        ]
    by_measure = results.get("by_measure")
    if by_measure is not None and {"year", "measure", "enrolled_people"} <= set(by_measure):
        enrolled = by_measure.pivot_table(
            index="year", columns="measure", values="enrolled_people", aggfunc="sum"
        )
        table = enrolled.map(fmt_number).reset_index()
        table["year"] = table["year"].astype(str)
        blocks += [("h3", "People enrolled by measure and year"), ("table", table)]
        per_exit = {"spend_to_date", "exited_people_enrolled", "exits_per_million_yuan"}
        if per_exit <= set(by_measure):
            last = by_measure[by_measure["year"] == by_measure["year"].max()]
            blocks += [
                ("h3", f"Exits per million yuan by measure, to the end of {last['year'].iloc[0]}"),
                (
                    "table",
                    pd.DataFrame(
                        {
                            "measure": last["measure"].astype(str),
                            "spend to date (yuan)": last["spend_to_date"].map(fmt_number),
                            "enrolled people out of poverty": last["exited_people_enrolled"].map(
                                fmt_number
                            ),
                            "exits per million yuan": last["exits_per_million_yuan"].map(
                                lambda v: fmt_number(v, 1)
                            ),
                        }
                    ),
                ),
                (
                    "p",
                    "A household enrolled in several measures counts for each of them, so these "
                    "ratios compare measures; they do not add up to the total.",
                ),
            ]
    replicates = results.get("replicates")
    if replicates is not None:
        cost_cols = [
            c
            for c in ("total_spend", "cost_per_exit", "cost_per_sustained_exit")
            if c in replicates
        ]
        if cost_cols:
            per_run = (
                replicates.groupby("replicate")[cost_cols].last()
                if "replicate" in replicates
                else replicates[cost_cols]
            )
            q = per_run.quantile([0.05, 0.5, 0.95])
            blocks.append(
                (
                    "table",
                    pd.DataFrame(
                        {
                            "measure": [label(c, "outcomes") for c in cost_cols],
                            "median": [fmt_number(q.loc[0.5, c]) for c in cost_cols],
                            "5-95%": [
                                f"{fmt_number(q.loc[0.05, c])} to {fmt_number(q.loc[0.95, c])}"
                                for c in cost_cols
                            ],
                            "unit": [unit(c, "outcomes") for c in cost_cols],
                        }
                    ),
                )
            )
    if not blocks:
        return []
    scale = results.manifest.get("population_scale")
    note = (
        f" Money is for the simulated population (scale {scale:g})."
        if isinstance(scale, int | float) and scale < 1
        else ""
    )
    return [("h2", "Spend and cost per exit"), ("p", "Nominal yuan." + note), *blocks]


def _formatted(table: pd.DataFrame) -> pd.DataFrame:
    """A table as strings: whole numbers with separators, shares as percentages."""
    shown = table.copy()
    for c in shown.columns:
        if shown[c].dtype == bool:
            shown[c] = shown[c].map(fmt_number)
        elif shown[c].dtype.kind in "if":
            is_share = c.startswith(("prob", "p_")) or c.endswith(("_share", "probability"))
            shown[c] = shown[c].map(fmt_share if is_share else fmt_number)
    return shown.astype(str)


def _comparison_section(results: ResultsFolder) -> list[tuple[str, Any]]:
    comparison = results.get("comparison")
    if comparison is None:
        return []
    return [
        ("h2", "Scenario comparison"),
        ("p", "One row per scenario, all run with the same seeds (from `comparison.csv`)."),
        ("table", _formatted(comparison)),
    ]


def _sensitivity_section(results: ResultsFolder, top: int = 5) -> list[tuple[str, Any]]:
    s = results.get("sensitivity")
    if s is None or "outcome" not in s or "parameter" not in s:
        return []
    if "ST" in s:
        key, method = "ST", "Sobol total-order index"
        cols = [c for c in ("S1", "S1_conf", "ST", "ST_conf") if c in s]
    elif "mu_star" in s:
        key, method = "mu_star", "Morris mu*"
        cols = [c for c in ("mu_star", "mu_star_conf", "sigma") if c in s]
    else:
        return []
    blocks: list[tuple[str, Any]] = [
        ("h2", "Key sensitivities"),
        (
            "p",
            f"The {top} parameters with the largest {method} for each outcome of the sweep "
            "(from `sensitivity.csv`).",
        ),
    ]
    for outcome, rows in s.groupby("outcome", sort=False):
        best = rows.sort_values(key, ascending=False).head(top)
        table = pd.DataFrame({"parameter": "`" + best["parameter"].astype(str) + "`"})
        for c in cols:
            table[c] = best[c].map(lambda v: f"{v:.3g}").to_numpy()
        blocks += [("h3", str(outcome)), ("table", table)]
    return blocks


def _validation_section(results: ResultsFolder) -> list[tuple[str, Any]]:
    v = results.get("validation")
    if v is None:
        return []
    from model.reporting.validation import COLUMNS, display_table, summary_line

    if list(v.columns) != COLUMNS:
        return []
    table = display_table(v)
    return [
        ("h2", "Validation against observed data"),
        ("p", summary_line(v) + " (from `validation.csv`)."),
        ("table", table),
    ]


# ---------------------------------------------------------------------------------------------
# the report


def build_report(results: ResultsFolder) -> Report:
    """Build the report of a results folder (nothing is written).

    Args:
        results: An opened results folder.

    Returns:
        The report, ready for :meth:`Report.markdown` and :meth:`Report.html`.
    """
    name = results.manifest.get("scenario_name", results.path.name)
    report = Report(title=f"Scenario report: {name}")
    report.blocks += _scenario_section(results)
    report.blocks += _targets_section(results)
    report.blocks += _probability_section(results)
    report.blocks += _comparison_section(results)
    figures = _figures(results)
    if figures:
        report.blocks.append(("h2", "Figures"))
        report.blocks += [("figure", f) for f in figures]
    report.blocks += _spend_section(results)
    report.blocks += _sensitivity_section(results)
    report.blocks += _validation_section(results)
    from model.reporting.calibration_section import calibration_section

    report.blocks += calibration_section(results)
    report.blocks += _uncertainty_appendix(results)
    return report


@dataclass
class WrittenReport:
    """What :func:`write_report` wrote."""

    html: Path
    markdown: Path
    report: Report

    @property
    def sections(self) -> list[str]:
        """Headings of the report's sections."""
        return [content for kind, content in self.report.blocks if kind == "h2"]


def write_report(folder: str | Path | ResultsFolder) -> WrittenReport:
    """Write ``report.html``, ``report.md`` and ``report_files/`` into a results folder.

    Everything is built in memory and written to temporary files first, so a failure leaves
    the folder as it was.

    Args:
        folder: The results folder (a path, or one already opened).

    Returns:
        The paths written and the report.

    Raises:
        model.results_folder.ResultsFolderError: The folder cannot be read.
    """
    results = folder if isinstance(folder, ResultsFolder) else open_results(folder)
    report = build_report(results)
    out = results.path
    tmp = Path(tempfile.mkdtemp(prefix=".report-tmp-", dir=out))
    try:
        files = tmp / FIGURE_DIR
        files.mkdir()
        for item in report.figures:
            (files / f"{item.name}.png").write_bytes(item.png)
        (tmp / "report.md").write_text(report.markdown(), encoding="utf-8")
        (tmp / "report.html").write_text(report.html(), encoding="utf-8")
        target = out / FIGURE_DIR
        if target.exists():
            trash = out / f".{FIGURE_DIR}.old-{os.getpid()}-{time.time_ns()}"
            target.rename(trash)
            files.rename(target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            files.rename(target)
        os.replace(tmp / "report.md", out / "report.md")
        os.replace(tmp / "report.html", out / "report.html")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return WrittenReport(html=out / "report.html", markdown=out / "report.md", report=report)
