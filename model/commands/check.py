"""``shaoguan-abm check SCENARIO``: validate a scenario without running it."""

from __future__ import annotations

import argparse

from model.commands.common import add_scenario_argument


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser("check", help="validate a scenario without running it")
    add_scenario_argument(p)


def main(args: argparse.Namespace) -> int:
    """Validate and print a one-line summary."""
    from model.engine.scenario import load_scenario, sweepable_parameters

    scenario = load_scenario(args.scenario, args.overrides)
    n_swept = len(sweepable_parameters(scenario))
    cal = scenario.calendar
    print(
        f"{args.scenario}: OK - scenario '{scenario.name}', horizon {cal.start_year}-01 to "
        f"{cal.end_year}-12, {n_swept} parameters with sweep ranges"
    )
    return 0
