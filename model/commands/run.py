"""``shaoguan-abm run SCENARIO``: run a scenario and write a results folder."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from model.commands.common import (
    add_run_options,
    add_scenario_argument,
    format_table,
    load_for_run,
    positive_int,
)
from model.commands.execution_options import add_execution_options
from model.commands.parameter_options import add_parameter_options

SUMMARY_NAMES = {
    "target_cumulative_people": "target",
    "cumulative_exited_people": "exited (cum.)",
    "target_met": "met",
    "exited_people": "exited",
    "relapsed_people": "relapsed",
    "remaining_poor_people": "still poor",
    "villages_exited": "villages out",
    "mean_per_capita_income_poor": "income/person",
    "exit_income_line": "exit line",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser("run", help="run a scenario and write a results folder")
    add_scenario_argument(p)
    add_run_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--replicates",
        type=positive_int,
        default=None,
        metavar="N",
        help="run an ensemble of N replicates: probabilities of meeting each target",
    )
    add_parameter_options(p)
    add_execution_options(p, quiet=False)


def default_out(scenario_name: str, seed: int) -> Path:
    """``results/<scenario>/<timestamp>-seed<N>``; a name leading outside results/ is refused."""
    from model.results.safety import results_path_for

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return results_path_for("results", scenario_name, f"{stamp}-seed{seed}")


def run_answer(annual, plan_years: list[int], seed: int) -> str:  # noqa: ANN001 - DataFrame
    """The line under a single run's table: which targets it meets (one seed, no probability)."""
    from model.reporting.answer import met_from_annual, targets_answer

    return targets_answer(met_from_annual(annual, plan_years), 1, "fixed", seed=seed)


def main(args: argparse.Namespace) -> int:
    """Run once, write the results folder, print the targets table (or run an ensemble)."""
    from model.commands import run_ensemble

    if args.replicates is not None:
        return run_ensemble.main(args)
    run_ensemble.refuse_ensemble_options(args)
    from model.results.recording import RecordedModel
    from model.results.safety import output_lock

    scenario = load_for_run(args.scenario, args)
    out = args.out if args.out is not None else default_out(scenario.name, args.seed)
    with output_lock(out):  # refuses a bad or busy destination before the run starts
        model = RecordedModel(scenario, seed=args.seed, population_scale=args.population_scale)
        model.run_model(progress=not args.quiet and sys.stderr.isatty())
        result = model.result()
        folder = result.write(out)
    m = result.manifest
    print(
        f"scenario {scenario.name}: seed {args.seed}, population scale {args.population_scale:g}, "
        f"{m['households_simulated']:,} households ({m['registered_households']:,} registered "
        f"poor), {m['villages']} poor villages, {m['months']} months"
    )
    print(format_table(result.summary(), SUMMARY_NAMES))
    print(run_answer(result.annual, sorted(scenario.targets.cumulative_people), args.seed))
    kernels = (
        f"compiled kernels loaded in {m['seconds_kernels_load']:.2f} s, "
        if m.get("kernels") == "compiled"
        else ""
    )
    print(
        f"population {m['seconds_population']:.2f} s, {kernels}simulation "
        f"{m['seconds_simulation']:.2f} s; results in {folder}"
    )
    return 0
