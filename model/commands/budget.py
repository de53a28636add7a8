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


def main(args: argparse.Namespace) -> int:
    """Run every allocation (plus the scenario's own) and print the side-by-side table."""
    from model.experiments.budget import AllocationError, compare_allocations, parse_allocation

    scenario = load_for_run(args.scenario, args)
    try:
        allocations = [parse_allocation(a) for a in args.allocation]
    except AllocationError as err:
        raise BadInput(str(err)) from None
    allocations.insert(0, dict(scenario.funding.allocation))
    out = args.out or Path("results") / scenario.name / "budget"
    with open_executor(args) as executor:
        table = compare_allocations(
            scenario,
            allocations,
            replicates=args.replicates,
            seed=args.seed,
            population_scale=args.population_scale,
            progress=lambda i, n: print(f"allocation {i}/{n} done", file=sys.stderr),
            executor=executor,
        )
    table.insert(0, "label", ["scenario"] + [f"#{i}" for i in range(1, len(table))])
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "budget.csv", index=False)
    shown = [
        c
        for c in table.columns
        if c.startswith(("label", "exits_", "p_")) and not c.endswith(INTERVAL_SUFFIXES)
    ]
    shown += ["total_spend", "cost_per_sustained_exit"]
    print(
        f"{scenario.name}: {args.replicates} replicates per allocation, population scale "
        f"{args.population_scale:g}, same seeds for every allocation"
    )
    for label, alloc in zip(table["label"], table["allocation"], strict=True):
        print(f"  {label}: {alloc}")
    print(format_table(table[shown]))
    print(
        "means over replicates; budget.csv adds 5-95% ranges of exits (_p5, _p95) and 95% Wilson "
        "intervals of the probabilities (_low, _high)"
    )
    print(f"written to {out / 'budget.csv'}")
    return 0
