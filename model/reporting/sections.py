"""The sections of a report, each built from what a results folder holds.

Each function returns a list of blocks (see :class:`model.reporting.rendering.Report`), empty
when the folder lacks the section's data, so a section appears only when its table exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from model.reporting import figures as plots
from model.reporting.answer import folder_answer
from model.reporting.rendering import (
    FigureItem,
    fmt_number,
    fmt_share,
    fmt_value,
    formatted_table,
    png_bytes,
)
from model.results.folder import ResultsFolder
from model.results.metrics import describe, label, unit
from model.results.outputs import across_replicates, ensemble_spend, spend_by_year

# ---------------------------------------------------------------------------------------------
# the scenario and its assumptions

#: The ``by_measure`` column counting exits among a measure's enrolled people per million yuan.
ENROLLED_RATIO = "exits_among_enrolled_per_million_yuan"


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


#: Manifest kinds of folders written by ABC-SMC (many runs, no replicates of one scenario).
ABC_KINDS = ("calibration", "model_selection")


def _run_facts_section(results: ResultsFolder) -> list[tuple[str, Any]]:
    """The run's metadata: folder, seed, scale, sizes, versions (the report's last section)."""
    m = results.manifest
    replicates = (
        "replicates",
        m.get("replicates", "-") if results.is_ensemble else "1 (a single run)",
    )
    facts = [
        ("scenario", m.get("scenario_name", "-")),
        ("results folder", str(results.path)),
        ("seed", m.get("seed", "-")),
        ("population scale", m.get("population_scale", "-")),
        ("model runs", m.get("runs", "-")) if m.get("kind") in ABC_KINDS else replicates,
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
    return [("h2", "About this run"), ("table", table.astype(str))]


def _scenario_section(results: ResultsFolder) -> list[tuple[str, Any]]:
    m = results.manifest
    scenario = m.get("scenario") or {}
    if not scenario:
        return []
    blocks: list[tuple[str, Any]] = [("h2", "The scenario and its assumptions")]
    if scenario.get("description"):
        blocks.append(("p", str(scenario["description"])))
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


def _run_targets(
    annual: pd.DataFrame, plan_years: list[int]
) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """A single run's targets table, then the year-by-year sentences and income components."""
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
    blocks: list[tuple[str, Any]] = [("p", " ".join(sentences))]
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
    return [("table", table)], blocks


def _ensemble_targets(
    replicates: pd.DataFrame, probabilities: pd.DataFrame | None
) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """An ensemble's targets table (medians, 5-95% ranges, probabilities), then its note."""
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
    return [("table", table)], [
        ("p", f"Medians and 5-95% ranges over {n} replicates of the scenario."),
    ]


def _targets_section(
    results: ResultsFolder, main_figure: FigureItem | None = None
) -> list[tuple[str, Any]]:
    """The report's first section: the answer in words, the targets table, the main figure."""
    blocks: list[tuple[str, Any]] = [("h2", "Will the targets be met?")]
    paragraph = folder_answer(results)
    if paragraph:
        blocks.append(("p", paragraph))
    replicates = results.get("replicates")
    annual = results.get("annual")
    table: list[tuple[str, Any]] = []
    details: list[tuple[str, Any]] = []
    if replicates is not None:
        table, details = _ensemble_targets(replicates, results.get("probabilities"))
    elif annual is not None:
        table, details = _run_targets(annual, _plan_years(results))
    if not paragraph and not table:
        return []
    blocks += table
    if main_figure is not None:
        blocks.append(("figure", main_figure))
    return blocks + details


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


#: The figure that answers the question, by preference: against the targets, or the comparison.
MAIN_FIGURES = ("exits_vs_targets", "comparison")


def main_figure(figures: list[FigureItem]) -> FigureItem | None:
    """The figure shown with the answer: the targets (fan chart or run) or the comparison."""
    by_name = {f.name: f for f in figures}
    return next((by_name[n] for n in MAIN_FIGURES if n in by_name), None)


def _figures(results: ResultsFolder) -> list[FigureItem]:
    items = [
        FigureItem(name, question, png_bytes(make()))
        for name, question, make in _figure_makers(results)
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
            ("table", formatted_table(funding)),
        ]
    by_measure = results.get("by_measure")
    if by_measure is not None and {"year", "measure", "enrolled_people"} <= set(by_measure):
        enrolled = by_measure.pivot_table(
            index="year", columns="measure", values="enrolled_people", aggfunc="sum"
        )
        table = enrolled.map(fmt_number).reset_index()
        table["year"] = table["year"].astype(str)
        blocks += [("h3", "People enrolled by measure and year"), ("table", table)]
        per_exit = {"spend_to_date", "exited_people_enrolled", ENROLLED_RATIO}
        if per_exit <= set(by_measure):
            last = by_measure[by_measure["year"] == by_measure["year"].max()]
            blocks += [
                (
                    "h3",
                    "Exits among enrolled people per million yuan by measure, to the end of "
                    f"{last['year'].iloc[0]}",
                ),
                (
                    "table",
                    pd.DataFrame(
                        {
                            "measure": last["measure"].astype(str),
                            "spend to date (yuan)": last["spend_to_date"].map(fmt_number),
                            "enrolled people out of poverty": last["exited_people_enrolled"].map(
                                fmt_number
                            ),
                            "exits among enrolled per million yuan": last[ENROLLED_RATIO].map(
                                lambda v: fmt_number(v, 1)
                            ),
                        }
                    ),
                ),
                (
                    "p",
                    "A household enrolled in several measures counts for each of them, and a "
                    "measure is credited with every exit of the people it serves, whatever "
                    "would have happened without it: these ratios do not say what a measure "
                    "buys, nor add up to the total. `shaoguan-abm attribute` answers that with "
                    "counterfactual runs (leave one out, Shapley values, marginal returns).",
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


def _comparison_section(results: ResultsFolder) -> list[tuple[str, Any]]:
    comparison = results.get("comparison")
    if comparison is None:
        return []
    return [
        ("h2", "Scenario comparison"),
        ("p", "One row per scenario, all run with the same seeds (from `comparison.csv`)."),
        ("table", formatted_table(comparison)),
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
        ("h2", "Key sensitivities: what drives the outcome"),
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
