"""``shaoguan-abm compare SCENARIO...``: ensembles of several scenarios on the same seeds."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

import pandas as pd

from model.commands.common import add_run_options, add_scenario_argument, load_for_run, positive_int
from model.commands.execution_options import (
    add_execution_options,
    check_resume,
    run_with_executor,
    show_progress,
)
from model.commands.parameter_options import (
    add_parameter_options,
    parameter_source,
    refusing_bad_draws,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "compare",
        help="compare scenarios: probability of meeting each target, exits, cost (same seeds)",
    )
    add_scenario_argument(p, many=True)
    add_run_options(p)
    p.add_argument(
        "--replicates",
        type=positive_int,
        default=100,
        metavar="N",
        help="replicates per scenario (default 100)",
    )
    add_parameter_options(p)
    add_execution_options(p)


def printed_table(table: pd.DataFrame, plan_years: list[int]) -> pd.DataFrame:
    """The columns ``compare`` prints: plan-year probabilities, exits, villages, cost."""
    last = max(plan_years) if plan_years else None
    out = pd.DataFrame({"scenario": table["scenario"]})
    for target in [*plan_years, "all"]:
        key = f"prob_met_{target}"
        if key in table:
            out[f"P({target})"] = table[key].map(lambda p: f"{p:.2f}")
    for name, label, fmt in (
        (f"median_cumulative_exited_people_{last}", f"exits {last}", "{:,.0f}"),
        (f"median_villages_exited_{last}", f"villages {last}", "{:,.0f}"),
        ("median_total_spend", "spend (M yuan)", None),
        ("median_cost_per_sustained_exit", "yuan/sustained exit", "{:,.0f}"),
    ):
        if name in table:
            if fmt is None:
                out[label] = table[name].map(lambda v: f"{v / 1e6:,.1f}")
            else:
                out[label] = table[name].map(lambda v, f=fmt: "-" if v != v else f.format(v))
    return out


def comparison_answer(comparison, plan_years: list[int], replicates: int) -> str:  # noqa: ANN001
    """The line under the table: each scenario's share of replicates meeting each target."""
    from model.reporting.answer import met_from_columns, parameter_source, scenarios_answer

    met = {
        str(row["scenario"]): met_from_columns(row, "prob_met_", "prob_met_all", plan_years)
        for row in comparison.table.to_dict("records")
    }
    return scenarios_answer(met, replicates, parameter_source(comparison.manifest))


def main(args: argparse.Namespace) -> int:
    """Run the ensembles, write the comparison, print it."""
    from model.experiments.compare import compare_scenarios

    scenarios = [load_for_run(path, args) for path in args.scenarios]
    check_resume(args)
    source = parameter_source(args, scenarios)
    out = args.out or Path("results") / "compare" / datetime.now().strftime("%Y%m%d-%H%M%S")
    comparison, code = run_with_executor(
        args,
        out,
        "compare",
        refusing_bad_draws(
            lambda executor: compare_scenarios(
                scenarios,
                replicates=args.replicates,
                seed=args.seed,
                population_scale=args.population_scale,
                out=out,
                resume=args.resume,
                progress=show_progress(args),
                executor=executor,
                parameters=source,
                seeds_per_draw=args.seeds_per_draw,
            )
        ),
    )
    if code is not None:
        return code
    plan_years = sorted({y for s in scenarios for y in s.targets.cumulative_people})
    same = "seeds" if not source.drawn else "seeds and parameter draws"
    print(
        f"{len(scenarios)} scenarios x {args.replicates} replicates on the same {same} (seed "
        f"{args.seed}), population scale {args.population_scale:g}, on "
        f"{comparison.manifest['executed_on']}"
    )
    print(printed_table(comparison.table, plan_years).to_string(index=False))
    print(f"probabilities over {args.replicates} replicates: {source.describe(scenarios[0])}")
    print(comparison_answer(comparison, plan_years, args.replicates))
    print(
        "P: share of replicates meeting the cumulative target (95% Wilson intervals in "
        f"comparison.csv); medians over replicates. Results in {out}"
    )
    return 0
