"""The ``shaoguan-abm`` command line: parse, call the API, print. Bad input exits with code 2."""

from __future__ import annotations

import argparse
import importlib
import sys

from model.commands.common import BadInput

EXIT_BAD_INPUT = 2

#: Sub-command modules under :mod:`model.commands`, in the order ``--help`` lists them.
COMMANDS = ("run", "check", "params")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``shaoguan-abm``."""
    parser = argparse.ArgumentParser(
        prog="shaoguan-abm",
        description="Agent-based model of Shaoguan's 2016-2018 poverty-exit campaign.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"model.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``shaoguan-abm`` and ``python -m model``; returns the exit code."""
    args = build_parser().parse_args(argv)
    from model.scenario import ScenarioError

    command = importlib.import_module(f"model.commands.{args.command}")
    try:
        return command.main(args)
    except (ScenarioError, BadInput) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return 130
