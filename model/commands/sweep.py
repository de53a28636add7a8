"""``shaoguan-abm sweep SCENARIO --method sobol|morris``: global sensitivity with SALib."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from model.commands.common import (
    BadInput,
    add_run_options,
    add_scenario_argument,
    load_for_run,
    positive_int,
)
from model.commands.execution_options import (
    add_execution_options,
    check_resume,
    run_with_executor,
    show_progress,
)

DEFAULT_SAMPLES = {"sobol": 64, "morris": 10}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    from model.experiments.sweep import DEFAULT_OUTCOME, METHODS

    p = sub.add_parser(
        "sweep", help="global sensitivity (Sobol or Morris) over uncertainties and levers"
    )
    add_scenario_argument(p)
    add_run_options(p)
    p.add_argument("--method", choices=METHODS, default="sobol", help="default sobol")
    p.add_argument(
        "--samples",
        type=positive_int,
        default=None,
        metavar="N",
        help="Sobol base sample (a power of two, default 64: N x (parameters + 2) runs) or "
        "Morris trajectories (default 10: N x (parameters + 1) runs)",
    )
    p.add_argument(
        "--outcome",
        dest="outcomes",
        action="append",
        default=None,
        metavar="NAME",
        help=f"outcome to analyse, repeatable (default {DEFAULT_OUTCOME}); e.g. "
        "prob_all_targets, cost_per_sustained_exit, villages_exited_2018",
    )
    p.add_argument(
        "--param",
        dest="params",
        action="append",
        default=None,
        metavar="PATH",
        help="limit the swept parameters, repeatable; dotted path or pattern ('dynamics.*')",
    )
    p.add_argument(
        "--replicates",
        type=positive_int,
        default=1,
        metavar="R",
        help="replicates per sample point, for probability outcomes (default 1)",
    )
    add_execution_options(p)


def main(args: argparse.Namespace) -> int:
    """Check the request, run the sweep, write and print the indices."""
    from model.experiments.sweep import (
        DEFAULT_OUTCOME,
        available_outcomes,
        check_samples,
        resolve_outcome,
        run_count,
        run_sweep,
        sweep_problem,
    )

    scenario = load_for_run(args.scenario, args)
    samples = args.samples or DEFAULT_SAMPLES[args.method]
    outcomes = args.outcomes or [DEFAULT_OUTCOME]
    try:
        check_samples(args.method, samples)
        problem = sweep_problem(scenario, args.params)
        known = available_outcomes(scenario)
        for name in outcomes:
            resolve_outcome(name, known)
    except ValueError as err:
        raise BadInput(str(err)) from None
    check_resume(args)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or Path("results") / scenario.name / f"sweep-{args.method}-{stamp}"
    runs = run_count(problem, args.method, samples, args.replicates)
    print(
        f"{args.method} sweep of {scenario.name}: {len(problem.names)} parameters, {samples} "
        f"{'base samples' if args.method == 'sobol' else 'trajectories'}, {args.replicates} "
        f"replicate(s) per point: {runs:,} runs at population scale {args.population_scale:g}"
    )
    result, code = run_with_executor(
        args,
        out,
        "sweep",
        lambda executor: run_sweep(
            scenario,
            args.method,
            samples,
            outcomes,
            problem.names,
            replicates=args.replicates,
            seed=args.seed,
            population_scale=args.population_scale,
            out=out,
            resume=args.resume,
            progress=show_progress(args),
            executor=executor,
        ),
    )
    if code is not None:
        return code
    m = result.manifest
    print(
        f"{m['runs_computed']} runs on {m['executed_on']} in {m['seconds']:.1f} s"
        + (f" ({m['runs_resumed']} resumed)" if m["runs_resumed"] else "")
    )
    key = "ST" if args.method == "sobol" else "mu_star"
    for name in outcomes:
        t = result.sensitivity[result.sensitivity["outcome"] == name]
        t = t.sort_values(key, ascending=False, na_position="last").head(10)
        print(f"\n{name} (largest {key} first):")
        print(t.drop(columns="outcome").to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"\nresults in {out}")
    return 0
