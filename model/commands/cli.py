"""The ``shaoguan-abm`` command line: parse, call the API, print. Bad input exits with code 2."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading

from model.commands.common import BadInput

#: Exit codes (see docs/reliability.md): bad input; a model invariant failed; the results folder
#: is being written by another run; out of memory; interrupted (Ctrl-C) and terminated (SIGTERM).
EXIT_BAD_INPUT = 2
EXIT_INVARIANT = 3
EXIT_BUSY = 4
EXIT_NO_MEMORY = 5
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

#: Sub-command modules under :mod:`model.commands`, in the order ``--help`` lists them.
COMMANDS = (
    "run",
    "check",
    "compare",
    "sweep",
    "report",
    "validate",
    "calibrate",
    "budget",
    "optimize",
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
        importlib.import_module(f"model.commands.{name}").add_parser(sub)
    return parser


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM, so that clean-up runs as on Ctrl-C."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``shaoguan-abm`` and ``python -m model``; returns the exit code."""
    args = build_parser().parse_args(argv)
    from model.engine.invariants import InvariantError
    from model.engine.population import PopulationError
    from model.engine.scenario import ScenarioError
    from model.results.outputs import ResultsError
    from model.results.safety import OutputBusy, OutputError, check_output_location

    command = importlib.import_module(f"model.commands.{args.command}")
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
