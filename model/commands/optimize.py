"""``shaoguan-abm optimize SCENARIO``: the allocation most likely to meet all targets."""

from __future__ import annotations

import argparse

from model.commands.common import (
    BadInput,
    add_scenario_argument,
    format_table,
    load_for_run,
    population_scale,
    positive_int,
)
from model.commands.execution_options import add_worker_options, open_executor
from model.commands.parameter_options import add_parameter_options, parameter_source


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a probability in (0, 1], found {text!r}"
        ) from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a probability in (0, 1], found {text}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "optimize",
        help="search the special-fund allocation that maximises P(all targets met)",
    )
    add_scenario_argument(p)
    p.add_argument("--replicates", type=positive_int, default=8, help="runs per candidate")
    p.add_argument("--seed", type=positive_int, default=1, help="seed of the common seeds")
    p.add_argument(
        "--population-scale",
        type=population_scale,
        default=0.05,
        metavar="F",
        help="population scale of the search (default 0.05)",
    )
    p.add_argument("--maxiter", type=positive_int, default=40, help="candidate evaluations")
    add_worker_options(p)
    add_parameter_options(p, nested=False)
    p.add_argument(
        "--min-budget",
        type=_probability,
        metavar="P",
        help="instead: the smallest special fund per person meeting all targets with "
        "probability P (the scenario's allocation)",
    )


def main(args: argparse.Namespace) -> int:
    """Run the search and print the allocation against the scenario's own."""
    from model.experiments.parameters import PosteriorError

    scenario = load_for_run(args.scenario, args)
    source = parameter_source(args, [scenario])
    with open_executor(args) as executor:
        try:
            code = _search(args, scenario, executor, source)
        except PosteriorError as err:
            raise BadInput(f"--parameters posterior {err}") from None
    print(f"probabilities over {args.replicates} replicates: {source.describe(scenario)}")
    return code


def _search(args: argparse.Namespace, scenario, executor, source) -> int:  # noqa: ANN001
    from model.experiments.budget import optimize_allocation, smallest_budget

    if args.min_budget is not None:
        per_person, p = smallest_budget(
            scenario,
            args.min_budget,
            args.replicates,
            args.seed,
            args.population_scale,
            executor=executor,
            parameters=source,
        )
        if per_person is None:
            print(
                f"no budget up to 60,000 yuan/person reaches P(all targets) >= "
                f"{args.min_budget:g} (P = {p:.2f} there)"
            )
        else:
            print(
                f"smallest special fund meeting all targets with P >= {args.min_budget:g}: "
                f"{per_person:,.0f} yuan per labour-capable person (P = {p:.2f}; plan: 20,000)"
            )
        return 0
    result = optimize_allocation(
        scenario,
        args.replicates,
        args.seed,
        args.population_scale,
        args.maxiter,
        executor=executor,
        parameters=source,
    )
    print(
        f"{scenario.name}: {result.evaluations} allocations evaluated, {args.replicates} common "
        f"seeds each, population scale {args.population_scale:g}"
    )
    print(format_table(result.table().round(3)))
    return 0
