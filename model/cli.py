"""The ``shaoguan-abm`` command line: parse, call the API, print. Bad input exits with code 2."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


def _population_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], found {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], found {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a non-negative integer, found {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, found {value}")
    return value


def _add_scenario_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter by dotted path, e.g. dynamics.job_finding_rate=0.02",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``shaoguan-abm``."""
    parser = argparse.ArgumentParser(
        prog="shaoguan-abm",
        description="Agent-based model of Shaoguan's 2016-2018 poverty-exit campaign.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario and write a results folder")
    _add_scenario_options(run)
    run.add_argument("--seed", type=_seed, default=1, help="non-negative integer (default 1)")
    run.add_argument("--out", type=Path, help="results folder (default results/<scenario>/<id>)")
    run.add_argument(
        "--population-scale",
        type=_population_scale,
        default=1.0,
        metavar="F",
        help="simulate this share of every count, 0 < F <= 1 (default 1)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    check = sub.add_parser("check", help="validate a scenario without running it")
    _add_scenario_options(check)
    return parser


def _format_summary(table: Any) -> str:
    t = table.copy()
    for col in t.columns:
        if col == "year":
            continue
        if col == "target_met":
            t[col] = t[col].map({True: "yes", False: "NO"}).fillna("-")
        elif t[col].dtype.kind in "if":
            t[col] = t[col].map(lambda v: "-" if v != v else f"{v:,.0f}")  # noqa: PLR0124
    t = t.rename(
        columns={
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
    )
    return t.to_string(index=False)


def _cmd_check(args: argparse.Namespace) -> int:
    from model.scenario import load_scenario, sweepable_parameters

    scenario = load_scenario(args.scenario, args.overrides)
    n_swept = len(sweepable_parameters(scenario))
    cal = scenario.calendar
    print(
        f"{args.scenario}: OK - scenario '{scenario.name}', horizon {cal.start_year}-01 to "
        f"{cal.end_year}-12, {n_swept} parameters with sweep ranges"
    )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from model.scenario import load_scenario
    from model.simulation import PovertyModel

    scenario = load_scenario(args.scenario, args.overrides)
    if args.out is not None:
        out = args.out
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path("results") / scenario.name / f"{stamp}-seed{args.seed}"
    model = PovertyModel(scenario, seed=args.seed, population_scale=args.population_scale)
    model.run_model(progress=not args.quiet and sys.stderr.isatty())
    result = model.result()
    folder = result.write(out)
    m = result.manifest
    print(
        f"scenario {scenario.name}: seed {args.seed}, population scale {args.population_scale:g}, "
        f"{m['households_simulated']:,} households ({m['registered_households']:,} registered "
        f"poor), {m['villages']} poor villages, {m['months']} months"
    )
    print(_format_summary(result.summary()))
    print(
        f"population {m['seconds_population']:.2f} s, simulation {m['seconds_simulation']:.2f} s; "
        f"results in {folder}"
    )
    return 0


COMMANDS = {"run": _cmd_run, "check": _cmd_check}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``shaoguan-abm`` and ``python -m model``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from model.scenario import ScenarioError

    try:
        return COMMANDS[args.command](args)
    except (ScenarioError, BadInput) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return 130
