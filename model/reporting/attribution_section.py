"""The report's section "What each measure buys", from an ``attribution.csv`` table.

Written by ``shaoguan-abm attribute``; the report of any folder that holds the table shows it
(the figure ``attribution.png`` is shown with the report's other figures).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from model.results.folder import ResultsFolder

#: What the intervals of an attribution carry, by its parameter source (manifest ``parameters``):
#: what varies between the paired replicates, and what that means for the intervals.
INTERVAL_SOURCES = {
    "fixed": ("seeds only", "Monte Carlo noise, not parameter uncertainty"),
    "prior": (
        "seeds and prior parameter draws",
        "Monte Carlo noise and the uncertainty of every assumption over its prior range (the "
        "same draw in every variant of a replicate)",
    ),
    "posterior": (
        "seeds and posterior parameter draws",
        "Monte Carlo noise and the uncertainty left in the calibrated parameters (the same draw "
        "in every variant of a replicate)",
    ),
}


def interval_meaning(parameters: str | None = "fixed") -> str:
    """What the intervals carry for a parameter source (``"Monte Carlo noise, not ..."``)."""
    key = parameters or "fixed"
    return INTERVAL_SOURCES.get(key, ("", f"Monte Carlo noise and parameters drawn: {key}"))[1]


def interval_source(parameters: str | None = "fixed") -> str:
    """Where an attribution's intervals come from, in words (``fixed`` when None).

    E.g. ``"seeds only: Monte Carlo noise, not parameter uncertainty"``.
    """
    key = parameters or "fixed"
    label = INTERVAL_SOURCES.get(key, (f"seeds and {key} parameter draws", ""))[0]
    return f"{label}: {interval_meaning(key)}"


def _with_interval(value: float, low: float, high: float, digits: int = 0) -> str:
    if value != value:  # noqa: PLR0124 - NaN
        return "-"
    value, low, high = (round(x, digits) + 0.0 for x in (value, low, high))  # no "-0"
    if low != low:  # noqa: PLR0124
        return f"{value:,.{digits}f}"
    return f"{value:,.{digits}f} [{low:,.{digits}f}, {high:,.{digits}f}]"


def attribution_rows(table: pd.DataFrame, outcome: str, year: int) -> pd.DataFrame:
    """One row of strings per measure: spend, leave one out, Shapley, the next million."""
    t = table[(table["outcome"] == outcome) & (table["year"] == year)]
    rows = []
    for _, r in t.iterrows():
        row = {
            "measure": str(r["measure"]),
            "spend to the horizon (M yuan)": f"{r['spend_yuan'] / 1e6:,.1f}",
            "leave one out": _with_interval(r["loo_effect"], r["loo_low"], r["loo_high"]),
        }
        if "loo_per_million_yuan" in t:
            row["leave one out per million yuan it spent"] = _with_interval(
                r["loo_per_million_yuan"], r["loo_per_million_low"], r["loo_per_million_high"], 1
            )
        if "loo_reallocated_effect" in t and t["loo_reallocated_effect"].notna().any():
            row["leave one out, money moved to the other uses"] = _with_interval(
                r["loo_reallocated_effect"], r["loo_reallocated_low"], r["loo_reallocated_high"]
            )
        if "shapley" in t and t["shapley"].notna().any():
            row["Shapley value"] = _with_interval(r["shapley"], r["shapley_low"], r["shapley_high"])
        row["per extra million yuan spent"] = _with_interval(
            r["marginal_per_million_yuan"],
            r["marginal_per_million_low"],
            r["marginal_per_million_high"],
            1,
        )
        rows.append(row)
    return pd.DataFrame(rows)


def attribution_section(results: ResultsFolder) -> list[tuple[str, Any]]:
    """Report blocks answering "what does each measure buy?" (none without the table)."""
    table = results.get("attribution")
    if table is None or not {"measure", "outcome", "year", "loo_effect"} <= set(table):
        return []
    m = results.manifest
    outcome = (m.get("outcomes") or [str(table["outcome"].iloc[0])])[0]
    year = int(m.get("figure_year") or table["year"].max())
    shapley = m.get("shapley", {})
    if shapley.get("computed"):
        how = (
            "exact over every subset of measures"
            if shapley.get("exact")
            else f"estimated on {shapley.get('permutations')} random orders of the measures, "
            "their Monte Carlo error included in the interval"
        )
    else:
        how = "not computed"
    blocks: list[tuple[str, Any]] = [
        ("h2", "What each measure buys"),
        (
            "p",
            f"{outcome.replace('_', ' ').capitalize()} in {year} due to each measure: mean over "
            f"{m.get('replicates', '?')} paired replicates with its 95% interval "
            f"({interval_source(m.get('parameters'))}). Leave one out: the full scenario "
            f"minus the scenario without the measure ({m.get('removed_money', '')}). Shapley "
            f"value: the measure's share of the total effect against no measure at all ({how}); "
            "the values add up to that total. Per extra million yuan: the change when the "
            f"measure's earmark grows by {m.get('step', 0.1):g} of the special fund (the other "
            "uses shrink in proportion), per extra million yuan the measure actually spent.",
        ),
        ("table", attribution_rows(table, outcome, year)),
    ]
    totals = results.get("attribution_totals")
    if totals is not None:
        t = totals[(totals["outcome"] == outcome) & (totals["year"] == year)]
        if not t.empty:
            r = t.iloc[0]
            blocks.append(
                (
                    "p",
                    f"Total effect of the measures: {r['full']:,.0f} with every measure against "
                    f"{r['no_measure']:,.0f} with none, a difference of "
                    f"{_with_interval(r['total_effect'], r['total_low'], r['total_high'])}; the "
                    f"Shapley values sum to {r['shapley_sum']:,.0f}.",
                )
            )
    capacity = results.get("capacity_levers")
    if capacity is not None:
        c = capacity[(capacity["outcome"] == outcome) & (capacity["year"] == year)]
        if not c.empty:
            blocks += [
                ("h3", "What one more unit of capacity buys"),
                (
                    "table",
                    pd.DataFrame(
                        {
                            "lever": c["lever"].astype(str),
                            "unit": c["unit"].astype(str),
                            f"change in {outcome.replace('_', ' ')} per unit": [
                                _with_interval(v, lo, hi, 3)
                                for v, lo, hi in zip(
                                    c["per_unit"],
                                    c["per_unit_low"],
                                    c["per_unit_high"],
                                    strict=True,
                                )
                            ],
                        }
                    ),
                ),
            ]
    return blocks
