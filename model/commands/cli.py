"""The ``shaoguan-abm`` command line: parse, call the API, print. Bad input exits with code 2."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from pathlib import Path

from model.commands.common import BadInput

#: Exit codes (see docs/reliability.md): bad input; a model invariant failed; the results folder
#: is being written by another run; out of memory; the Dask cluster was lost in the middle of the
#: work; interrupted (Ctrl-C) and terminated (SIGTERM).
EXIT_BAD_INPUT = 2
EXIT_INVARIANT = 3
EXIT_BUSY = 4
EXIT_NO_MEMORY = 5
EXIT_CLUSTER_LOST = 6
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

#: Sub-commands, in the order ``--help`` lists them; each is the module of its name under
#: :mod:`model.commands` (a hyphen read as an underscore: ``select-model`` is ``select_model``).
COMMANDS = (
    "run",
    "check",
    "compare",
    "sweep",
    "report",
    "validate",
    "calibrate",
    "select-model",
    "budget",
    "optimize",
    "attribute",
    "discover",
    "params",
    "outputs",
    "dashboard",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``shaoguan-abm``."""
    parser = argparse.ArgumentParser(
        prog="shaoguan-abm",
        description="Agent-based model of Shaoguan's 2016-2018 poverty-exit campaign.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        _module(name).add_parser(sub)
    return parser


def _module(command: str):  # noqa: ANN202 - a module
    """The module of a sub-command."""
    return importlib.import_module(f"model.commands.{command.replace('-', '_')}")


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM, so that clean-up runs as on Ctrl-C."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def _name_limit() -> int:
    try:
        return os.pathconf(".", "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def unusable_path(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """Why an argument cannot be a path on this system (a NUL byte; a name too long), or None.

    Every text argument is checked for NUL bytes (no argument may hold one), and every path
    argument (``type=Path``) for names longer than the file system allows, so that commands
    refuse them as bad input instead of failing when they first touch the path. ``--out`` is
    left to :func:`model.results.safety.check_output_location`, which checks more.
    """
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    actions = {a.dest: a for a in sub.choices[args.command]._actions}
    limit = _name_limit()
    for dest, value in vars(args).items():
        if dest == "out":
            continue
        action = actions.get(dest)
        label = (action.option_strings or [action.metavar or dest])[0] if action else dest
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str | Path):
                continue
            if "\0" in str(item):
                return f"{label}: expected text without NUL bytes, found {str(item)[:60]!r}"
            long = [part for part in Path(item).parts if len(os.fsencode(part)) > limit]
            if isinstance(item, Path) and long:
                return (
                    f"{label}: expected a path whose names have at most {limit} bytes, found "
                    f"one of {len(os.fsencode(long[0]))} bytes ({long[0][:40]}...)"
                )
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``shaoguan-abm`` and ``python -m model``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = unusable_path(parser, args)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from model.engine.invariants import InvariantError
    from model.engine.population import PopulationError
    from model.engine.scenario import ScenarioError
    from model.experiments.execution import ClusterLost
    from model.results.outputs import ResultsError
    from model.results.safety import OutputBusy, OutputError, check_output_location

    command = _module(args.command)
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        if getattr(args, "out", None) is not None:
            check_output_location(args.out)  # before any work, for every command
        return command.main(args)
    except (ScenarioError, BadInput, OutputError, ResultsError, PopulationError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InvariantError as err:
        print(
            f"error: the model broke an invariant, so its numbers cannot be trusted: {err}; "
            f"nothing was written",
            file=sys.stderr,
        )
        return EXIT_INVARIANT
    except OutputBusy as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BUSY
    except ClusterLost as err:
        print(f"error: {err}; nothing was written", file=sys.stderr)
        return EXIT_CLUSTER_LOST
    except MemoryError:
        print(
            "error: out of memory; try a smaller --population-scale; nothing was written",
            file=sys.stderr,
        )
        return EXIT_NO_MEMORY
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("terminated; nothing was written", file=sys.stderr)
        return EXIT_TERMINATED
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)
