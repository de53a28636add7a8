"""``shaoguan-abm budget SCENARIO --allocation ...``: allocations side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.commands.common import (
    BadInput,
    add_run_options,
    add_scenario_argument,
    format_table,
    load_for_run,
    positive_int,
)
from model.commands.execution_options import add_worker_options, open_executor
from model.commands.parameter_options import add_parameter_options, parameter_source

#: Suffixes of the interval columns of ``budget.csv``, left out of the printed table.
INTERVAL_SUFFIXES = ("_p5", "_p95", "_low", "_high")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "budget",
        help="run a scenario under several special-fund allocations (common random numbers)",
    )
    add_scenario_argument(p)
    p.add_argument(
        "--allocation",
        action="append",
        default=[],
        metavar="USE=SHARE,...",
        help="e.g. industry=0.4,employment=0.3,finance=0.1,education=0.1,health=0.1 "
        "(a share for every use, 0 for none; repeat for several allocations)",
    )
    p.add_argument("--replicates", type=positive_int, default=10, help="runs per allocation")
    add_worker_options(p)
    add_run_options(p)
    add_parameter_options(p, nested=False)


def budget_answer(  # noqa: ANN001 - a DataFrame
    table, plan_years: list[int], replicates: int, parameters: str = "fixed"
) -> str:
    """The line under the table: each allocation's share of replicates meeting each target.

    Every allocation has the same seeds and the same parameter draws (``parameters``: the
    source they come from).
    """
    from model.reporting.answer import met_from_columns, scenarios_answer

    met = {
        "the scenario's allocation" if label == "scenario" else f"allocation {label}": (
            met_from_columns(row, "p_target_", "p_all_targets", plan_years)
        )
        for label, row in zip(table["label"], table.to_dict("records"), strict=True)
    }
    return scenarios_answer(met, replicates, parameters)


def main(args: argparse.Namespace) -> int:
    """Run every allocation (plus the scenario's own) and print the side-by-side table."""
    from model.experiments.budget import AllocationError, compare_allocations, parse_allocation
    from model.experiments.execution import atomic_to_csv
    from model.experiments.parameters import PosteriorError

    scenario = load_for_run(args.scenario, args)
    try:
        allocations = [parse_allocation(a) for a in args.allocation]
    except AllocationError as err:
        raise BadInput(str(err)) from None
    allocations.insert(0, dict(scenario.funding.allocation))
    source = parameter_source(args, [scenario])
    out = args.out or Path("results") / scenario.name / "budget"
    with open_executor(args) as executor:
        try:
            table = compare_allocations(
                scenario,
                allocations,
                replicates=args.replicates,
                seed=args.seed,
                population_scale=args.population_scale,
                progress=lambda i, n: print(f"allocation {i}/{n} done", file=sys.stderr),
                executor=executor,
                parameters=source,
            )
        except PosteriorError as err:
            raise BadInput(f"--parameters posterior {err}") from None
    table.insert(0, "label", ["scenario"] + [f"#{i}" for i in range(1, len(table))])
    out.mkdir(parents=True, exist_ok=True)
    atomic_to_csv(table, out / "budget.csv")
    shown = [
        c
        for c in table.columns
        if c.startswith(("label", "exits_", "p_")) and not c.endswith(INTERVAL_SUFFIXES)
    ]
    shown += ["total_spend", "cost_per_sustained_exit"]
    same = "seeds" if not source.drawn else "seeds and parameter draws"
    print(
        f"{scenario.name}: {args.replicates} replicates per allocation, population scale "
        f"{args.population_scale:g}, same {same} for every allocation"
    )
    for label, alloc in zip(table["label"], table["allocation"], strict=True):
        print(f"  {label}: {alloc}")
    print(format_table(table[shown]))
    print(f"probabilities over {args.replicates} replicates: {source.describe(scenario)}")
    print(
        budget_answer(
            table, sorted(scenario.targets.cumulative_people), args.replicates, source.kind
        )
    )
    print(
        "means over replicates; budget.csv adds 5-95% ranges of exits (_p5, _p95) and 95% Wilson "
        "intervals of the probabilities (_low, _high)"
    )
    print(f"written to {out / 'budget.csv'}")
    return 0
