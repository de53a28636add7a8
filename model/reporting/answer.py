"""The planner's question answered in words: which targets are met, how likely, and from what.

One sentence builder for the report's first paragraph, the command line (``run``, ``compare``,
``budget``) and the dashboard, so all of them say the same thing the same way. Every probability
names its source: the seeds of the replicates only (parameters fixed at the scenario's values),
or seeds and parameters drawn from a prior or a posterior, as the ensemble's manifest records in
its ``parameters`` field. For example: ``Targets met: 2016 in 100% of 200 replicates; 2017 and
2018 in none (probabilities over seeds only, parameters fixed at the scenario's values).``
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from model.results.folder import ResultsFolder

#: What varies between the replicates, by the ``parameters`` field of an ensemble's manifest.
PARAMETER_SOURCES = {
    "fixed": "probabilities over seeds only, parameters fixed at the scenario's values",
    "prior": "probabilities over seeds and parameters drawn from their prior ranges",
    "posterior": (
        "probabilities over seeds and parameters drawn from their posterior, calibrated to "
        "observed data"
    ),
}


def parameter_source(manifest: Mapping[str, Any] | None) -> str:
    """What varies between replicates: the manifest's ``parameters`` field, ``fixed`` if absent.

    Args:
        manifest: An ensemble's (or comparison's) manifest, or ``None``.

    Returns:
        ``"fixed"``, ``"prior"``, ``"posterior"`` or whatever other label the manifest holds.
    """
    value = (manifest or {}).get("parameters")
    return str(value) if value else "fixed"


def source_phrase(parameters: str | None = "fixed") -> str:
    """Where the probabilities come from, in words (``"probabilities over seeds only, ..."``)."""
    key = parameters or "fixed"
    return PARAMETER_SOURCES.get(key, f"probabilities over seeds, parameters: {key}")


def percent(p: float) -> str:
    """A probability as a share of replicates: ``none``, ``100%``, ``45%``, ``<1%``, ``>99%``."""
    if p <= 0:
        return "none"
    if p >= 1:
        return "100%"
    shown = round(100 * p)
    if shown < 1:
        return "<1%"
    if shown > 99:
        return ">99%"
    return f"{shown}%"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _years(met: Mapping[Any, float]) -> list[tuple[Any, float]]:
    years = [(y, float(p)) for y, p in met.items() if str(y) != "all" and not math.isnan(p)]
    return sorted(years, key=lambda yp: int(yp[0]))


def _groups(met: Mapping[Any, float]) -> list[tuple[str, list[str]]]:
    """Years grouped by their shown probability, in the order of their first year."""
    groups: dict[str, list[str]] = {}
    for year, p in _years(met):
        groups.setdefault(percent(p), []).append(str(year))
    return list(groups.items())


def _every_target(met: Mapping[Any, float]) -> str | None:
    """``every target in 30%``, when the all-targets share is not implied by the years'."""
    years = [p for _, p in _years(met)]
    p_all = met.get("all")
    if p_all is None or math.isnan(float(p_all)) or len(years) < 2:
        return None
    if min(years) <= 0 or min(years) >= 1:
        return None
    return f"every target in {percent(float(p_all))}"


def years_phrase(met: Mapping[Any, float], runs: int | None = None) -> str:
    """``2016 in 100% of 200 replicates; 2017 and 2018 in none`` (no source, no full stop).

    Args:
        met: Share of replicates meeting each year's target, keyed by year, with an optional
            ``"all"`` entry for every target of the plan.
        runs: The number of replicates, named after the first share; ``None`` leaves it out.

    Returns:
        The years grouped by their share, in year order.
    """
    parts = []
    for i, (shown, years) in enumerate(_groups(met)):
        of = f" of {runs:,} replicates" if i == 0 and runs and shown != "none" else ""
        if i == 0 and runs and shown == "none":
            shown = f"none of {runs:,} replicates"
        parts.append(f"{_and(years)} in {shown}{of}")
    every = _every_target(met)
    if every:
        parts.append(every)
    return "; ".join(parts)


def targets_answer(
    met: Mapping[Any, float],
    runs: int,
    parameters: str | None = "fixed",
    seed: int | None = None,
) -> str:
    """The answer in one sentence: which targets are met, in what share of runs, and why so.

    Args:
        met: Share of replicates meeting each year's cumulative target, keyed by year (1 or 0
            for a single run), with an optional ``"all"`` entry.
        runs: How many replicates the shares are over; 1 for a single run.
        parameters: What varies between replicates besides the seed: ``fixed`` (nothing),
            ``prior`` or ``posterior`` (see :data:`PARAMETER_SOURCES`).
        seed: The seed of a single run, named in its sentence.

    Returns:
        E.g. ``Targets met: 2016 in 100% of 200 replicates; 2017 and 2018 in none
        (probabilities over seeds only, parameters fixed at the scenario's values).`` A single
        run says which targets it meets and that one run gives no probability.
    """
    years = _years(met)
    if not years:
        return "No annual target to judge against (the scenario has no target table)."
    if runs <= 1:
        done = [str(y) for y, p in years if p >= 1]
        missed = [str(y) for y, p in years if p < 1]
        verdict = []
        if done:
            verdict.append(f"{_and(done)} met")
        if missed:
            verdict.append(f"{_and(missed)} missed")
        one = f"seed {seed}" if seed is not None else "one seed"
        fixed = (
            "parameters fixed at the scenario's values"
            if (parameters or "fixed") == "fixed"
            else f"parameters: {parameters}"
        )
        return (
            f"Targets in this single run ({one}, {fixed}): {'; '.join(verdict)}. One run gives "
            "no probability; an ensemble (run --replicates N) gives one over N seeds."
        )
    return f"Targets met: {years_phrase(met, runs)} ({source_phrase(parameters)})."


def scenarios_answer(
    met_by_label: Mapping[str, Mapping[Any, float]],
    runs: int,
    parameters: str | None = "fixed",
) -> str:
    """The answer for several scenarios (or allocations) run on the same seeds, in one line.

    Args:
        met_by_label: For each scenario label, the shares as for :func:`targets_answer`.
        runs: Replicates per scenario.
        parameters: What varies besides the seed (see :func:`targets_answer`).

    Returns:
        E.g. ``Targets met, over 100 replicates each (probabilities over seeds only, ...):
        baseline: 2016 in 100%, 2017 and 2018 in none; jobs: ...``.
    """
    parts = [
        f"{label}: {years_phrase(met).replace('; ', ', ')}" for label, met in met_by_label.items()
    ]
    return (
        f"Targets met, over {runs:,} replicate{'' if runs == 1 else 's'} each "
        f"({source_phrase(parameters)}): " + "; ".join(parts) + "."
    )


def cost_sentence(median: float, low: float | None = None, high: float | None = None) -> str:
    """``Cost per sustained exit: 41,000 yuan (5-95% of replicates: 39,000 to 43,500).``."""
    if median is None or math.isnan(median):
        return ""
    spread = ""
    if low is not None and high is not None and not (math.isnan(low) or math.isnan(high)):
        spread = f" (median; 5-95% of replicates: {low:,.0f} to {high:,.0f})"
    return f"Cost per sustained exit: {median:,.0f} yuan{spread}."


# ---------------------------------------------------------------------------------------------
# the shares, from the tables that hold them


def _in_plan(met: dict[Any, float], plan_years: Iterable[int] | None) -> dict[Any, float]:
    if plan_years is None:
        return met
    keep = {int(y) for y in plan_years}
    return {k: v for k, v in met.items() if k == "all" or int(k) in keep}


def met_from_probabilities(
    probabilities: pd.DataFrame, plan_years: Iterable[int] | None = None
) -> dict[Any, float]:
    """Shares from an ensemble's ``probabilities`` table (``year``, ``probability_met``).

    Args:
        probabilities: The table, with an optional ``all`` row.
        plan_years: The years of the plan's targets; later years (the consolidation, holding
            the last target) are left out. ``None`` keeps every year.

    Returns:
        ``{year: share, "all": share}``.
    """
    out: dict[Any, float] = {}
    for year, p in zip(probabilities["year"], probabilities["probability_met"], strict=True):
        key = "all" if str(year) == "all" else int(year)
        out[key] = float(p)
    return _in_plan(out, plan_years)


def met_from_annual(annual: pd.DataFrame, plan_years: list[int] | None = None) -> dict[Any, float]:
    """1 or 0 per year from a single run's ``annual`` table (``year``, ``target_met``).

    Args:
        annual: The run's annual table.
        plan_years: The years with a target; by default every year whose ``target_met`` is set.

    Returns:
        ``{year: 1.0 or 0.0}``.
    """
    out: dict[Any, float] = {}
    for year, met in zip(annual["year"], annual["target_met"], strict=True):
        if met is None or (isinstance(met, float) and math.isnan(met)) or met is pd.NA:
            continue
        if plan_years is None or int(year) in plan_years:
            out[int(year)] = 1.0 if bool(met) else 0.0
    return out


def met_from_columns(
    row: Mapping[str, Any], prefix: str, all_key: str, plan_years: Iterable[int] | None = None
) -> dict[Any, float]:
    """Shares from one row of a comparison (``prob_met_2016``...) or budget table (``p_target_``).

    Args:
        row: The row, as a mapping of column to value.
        prefix: The columns' prefix before the year, e.g. ``"prob_met_"``.
        all_key: The column of every target, e.g. ``"prob_met_all"``.
        plan_years: The years of the plan's targets (``None``: every year found).

    Returns:
        ``{year: share, "all": share}``.
    """
    out: dict[Any, float] = {}
    for column, value in row.items():
        rest = str(column).removeprefix(prefix)
        if str(column).startswith(prefix) and rest.isdigit():
            out[int(rest)] = float(value)
    if all_key in row:
        out["all"] = float(row[all_key])
    return _in_plan(out, plan_years)


# ---------------------------------------------------------------------------------------------
# the answer of a results folder


def _cost_of_ensemble(results: ResultsFolder) -> str:
    summary = results.get("outcome_summary")
    if summary is not None and {"outcome", "q05", "q50", "q95"} <= set(summary):
        row = summary[summary["outcome"] == "cost_per_sustained_exit"]
        if not row.empty:
            r = row.iloc[0]
            return cost_sentence(float(r["q50"]), float(r["q05"]), float(r["q95"]))
    for name in ("outcomes", "replicates"):
        table = results.get(name)
        if table is not None and "cost_per_sustained_exit" in table:
            per_run = (
                table.groupby("replicate")["cost_per_sustained_exit"].last()
                if "replicate" in table
                else table["cost_per_sustained_exit"]
            )
            q = per_run.quantile([0.05, 0.5, 0.95])
            return cost_sentence(float(q[0.5]), float(q[0.05]), float(q[0.95]))
    return ""


def _comparison_answer(
    comparison: pd.DataFrame, parameters: str, plan_years: list[int] | None
) -> list[str]:
    met = {
        str(row["scenario"]): met_from_columns(row, "prob_met_", "prob_met_all", plan_years)
        for row in comparison.to_dict("records")
    }
    runs = int(comparison["replicates"].max()) if "replicates" in comparison else 0
    sentences = [scenarios_answer(met, runs, parameters)]
    if "median_cost_per_sustained_exit" in comparison:
        costs = [
            f"{row['scenario']} {row['median_cost_per_sustained_exit']:,.0f} yuan"
            for row in comparison.to_dict("records")
            if row["median_cost_per_sustained_exit"] == row["median_cost_per_sustained_exit"]
        ]
        if costs:
            sentences.append(f"Cost per sustained exit (median): {'; '.join(costs)}.")
    return sentences


def _plan_years(manifest: Mapping[str, Any]) -> list[int] | None:
    """The years of the targets of the manifest's scenario (or of all its scenarios)."""
    scenarios = [manifest.get("scenario")]
    if isinstance(manifest.get("scenarios"), dict):
        scenarios += list(manifest["scenarios"].values())
    years = {
        int(y)
        for s in scenarios
        if isinstance(s, dict)
        for y in s.get("targets", {}).get("cumulative_people", {})
    }
    return sorted(years) or None


def folder_answer(results: ResultsFolder) -> str:
    """The answer of a results folder in a short paragraph, or ``""`` when it holds no targets.

    An ensemble answers with the share of replicates meeting each target (over seeds only,
    or seeds and parameters, as its manifest's ``parameters`` field says), a comparison with
    those shares for each scenario, a single run with the targets it meets; then the cost per
    sustained exit, and what a population scale below 1 means.

    Args:
        results: An opened results folder.

    Returns:
        The paragraph.
    """
    m = results.manifest
    parameters = parameter_source(m)
    plan_years = _plan_years(m)
    sentences: list[str] = []
    probabilities = results.get("probabilities")
    annual = results.get("annual")
    comparison = results.get("comparison")
    if probabilities is not None and {"year", "probability_met"} <= set(probabilities):
        replicates = results.get("replicates")
        runs = m.get("replicates")
        if runs is None and replicates is not None and "replicate" in replicates:
            runs = replicates["replicate"].nunique()
        sentences.append(
            targets_answer(
                met_from_probabilities(probabilities, plan_years), int(runs or 0), parameters
            )
        )
        sentences.append(_cost_of_ensemble(results))
    elif annual is not None and {"year", "target_met"} <= set(annual):
        met = met_from_annual(annual, plan_years)
        sentences.append(targets_answer(met, 1, parameters, seed=m.get("seed")))
        run = results.run_result()
        if run is not None:
            sentences.append(
                cost_sentence(float(run.outcomes().get("cost_per_sustained_exit", float("nan"))))
            )
    elif comparison is not None and "scenario" in comparison:
        sentences += _comparison_answer(comparison, parameters, plan_years)
    else:
        return ""
    scale = m.get("population_scale")
    if isinstance(scale, int | float) and scale < 1:
        sentences.append(
            f"Counts and money are for the simulated {scale:g} of the population (the plan's "
            f"95,500 people become {round(95_500 * scale):,})."
        )
    return " ".join(s for s in sentences if s)
