"""``shaoguan-abm attribute SCENARIO``: what each measure buys, and what the next million buys."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from model.commands.common import (
    BadInput,
    add_run_options,
    add_scenario_argument,
    load_for_run,
    positive_int,
)
from model.commands.execution_options import add_worker_options, open_executor
from model.commands.parameter_options import (
    add_parameter_options,
    parameter_source,
    refusing_bad_draws,
)


def finite_float(text: str) -> float:
    """``--step``: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, found {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):  # noqa: PLR0124
        raise argparse.ArgumentTypeError(f"expected a finite number, found {text}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    from model.experiments.attribution import DEFAULT_MAX_RUNS, DEFAULT_STEP

    p = sub.add_parser(
        "attribute",
        help="what each measure buys (leave one out, Shapley) and what the next million buys "
        "(common random numbers)",
    )
    add_scenario_argument(p)
    p.add_argument(
        "--replicates",
        type=positive_int,
        default=10,
        metavar="N",
        help="replicates of every variant, on the same seeds (default 10)",
    )
    p.add_argument(
        "--outcome",
        action="append",
        default=None,
        metavar="NAME",
        help="per-year outcome to attribute (repeat; default cumulative_exited_people and "
        "villages_exited)",
    )
    p.add_argument(
        "--reallocate",
        action="store_true",
        help="also run each removed special-fund use with its share spread over the other uses "
        "(by default a removed measure's earmark is left unspent)",
    )
    p.add_argument(
        "--step",
        type=finite_float,
        default=DEFAULT_STEP,
        metavar="F",
        help=f"extra share of the special fund for each use's marginal return, and relative "
        f"extra capacity for each capacity lever (default {DEFAULT_STEP:g})",
    )
    p.add_argument(
        "--max-runs",
        type=positive_int,
        default=DEFAULT_MAX_RUNS,
        metavar="N",
        help=f"most runs; Shapley values are exact when every subset of measures fits, else "
        f"sampled on permutations (default {DEFAULT_MAX_RUNS})",
    )
    p.add_argument("--no-shapley", action="store_true", help="leave Shapley values out")
    add_parameter_options(p, nested=False)
    add_worker_options(p)
    add_run_options(p)


def printed_table(table: pd.DataFrame, outcome: str, year: int) -> pd.DataFrame:
    """One row per measure: leave one out, Shapley and marginal returns, with their intervals."""

    def cell(row: pd.Series, value: str, low: str, high: str, digits: int = 0) -> str:
        v = row.get(value)
        if v is None or v != v:
            return "-"
        lo, hi = row.get(low), row.get(high)
        v, lo, hi = (round(x, digits) + 0.0 for x in (v, lo, hi))  # no "-0"
        if lo is None or lo != lo:
            return f"{v:,.{digits}f}"
        return f"{v:,.{digits}f} [{lo:,.{digits}f}, {hi:,.{digits}f}]"

    t = table[(table["outcome"] == outcome) & (table["year"] == year)]
    rows = []
    for _, r in t.iterrows():
        rows.append(
            {
                "measure": r["measure"],
                "spend (M yuan)": f"{r['spend_yuan'] / 1e6:,.1f}",
                "leave one out": cell(r, "loo_effect", "loo_low", "loo_high"),
                "per million yuan it spent": cell(
                    r, "loo_per_million_yuan", "loo_per_million_low", "loo_per_million_high", 1
                ),
                "Shapley": cell(r, "shapley", "shapley_low", "shapley_high"),
                "next million buys": cell(
                    r,
                    "marginal_per_million_yuan",
                    "marginal_per_million_low",
                    "marginal_per_million_high",
                    1,
                ),
            }
        )
    return pd.DataFrame(rows)


def main(args: argparse.Namespace) -> int:
    """Run the variants, write the folder, print the table of the last plan year."""
    from model.experiments.attribution import AttributionError, attribute, check_outcomes
    from model.reporting.attribution_section import interval_meaning

    scenario = load_for_run(args.scenario, args)
    source = parameter_source(args, [scenario])
    try:
        check_outcomes(args.outcome)
        out = args.out or Path("results") / scenario.name / "attribution"
        with open_executor(args) as executor:
            result = refusing_bad_draws(
                lambda ex: attribute(
                    scenario,
                    replicates=args.replicates,
                    seed=args.seed,
                    population_scale=args.population_scale,
                    outcomes=args.outcome,
                    reallocate=args.reallocate,
                    step=args.step,
                    max_runs=args.max_runs,
                    shapley=not args.no_shapley,
                    executor=ex,
                    out=out,
                    parameters=source,
                )
            )(executor)
    except AttributionError as err:
        raise BadInput(str(err)) from None
    m = result.manifest
    outcome, year = m["outcomes"][0], m["figure_year"]
    shapley = m["shapley"]
    how = (
        "not computed"
        if not shapley["computed"]
        else "exact over every subset"
        if shapley["exact"]
        else f"sampled on {shapley['permutations']} permutations (their Monte Carlo error is "
        "in the interval and in attribution.csv)"
    )
    print(
        f"{scenario.name}: {m['replicates']} replicates per variant on the same seeds (seed "
        f"{m['seed']}), population scale {m['population_scale']:g}, {m['runs']} runs in "
        f"{m['seconds']:,.0f} s on {m['executed_on']}; Shapley values {how}"
    )
    print(f"{outcome.replace('_', ' ')} in {year} due to each measure (mean [95% CI]):")
    print(printed_table(result.table, outcome, year).to_string(index=False))
    print(
        f"leave one out: full scenario minus the scenario without the measure ({m['removed_money']}"
        f"); Shapley: the measure's share of the total effect against no measure at all; next "
        f"million buys: change per extra million yuan spent when its earmark grows by "
        f"{m['step']:g} of the special fund."
    )
    print(
        f"intervals over {m['replicates']} paired replicates: {source.describe(scenario)}; they "
        f"carry {interval_meaning(source.kind)}."
    )
    print(f"written to {out}")
    return 0
