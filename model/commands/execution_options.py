"""Options of the commands that make many runs, and the message when one is interrupted.

The commands: ``run --replicates``, ``compare``, ``sweep``, ``budget``, ``optimize`` and
``attribute``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.commands.common import BadInput, positive_int


def scheduler_address(text: str) -> str:
    """``--scheduler``: a Dask scheduler address ``tcp://HOST:PORT``."""
    from model.experiments.execution import check_scheduler_address

    try:
        return check_scheduler_address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected tcp://HOST:PORT, found {text!r}") from None


def add_worker_options(p: argparse.ArgumentParser) -> None:
    """``--workers`` and ``--scheduler``: where the runs go."""
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="W",
        help="local worker processes (default: the number of cores; 1 runs in this process)",
    )
    p.add_argument(
        "--scheduler",
        type=scheduler_address,
        default=None,
        metavar="tcp://HOST:PORT",
        help="run on the Dask cluster of this scheduler instead of local processes",
    )


def add_execution_options(p: argparse.ArgumentParser, quiet: bool = True) -> None:
    """``--workers``, ``--scheduler``, ``--resume`` (and ``--quiet`` unless the parser has it)."""
    add_worker_options(p)
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run in --out DIR: finished runs are not run again",
    )
    if quiet:
        p.add_argument("--quiet", action="store_true", help="no progress bar")


def show_progress(args: argparse.Namespace) -> bool:
    """A progress bar unless ``--quiet`` or stderr is not a terminal."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def check_resume(args: argparse.Namespace) -> None:
    """``--resume`` needs the ``--out`` folder of the interrupted run."""
    if args.resume and args.out is None:
        raise BadInput("--resume: expected --out DIR, the folder of the interrupted run")


def open_executor(args: argparse.Namespace):  # noqa: ANN201 - Executor, imported lazily
    """The executor the options ask for, connected.

    An unreachable scheduler, or a worker running another version of the model, is bad input.
    """
    from model.experiments.execution import Executor, WorkerMismatch

    executor = Executor(workers=args.workers, scheduler=args.scheduler)
    try:
        executor.connect()
    except (OSError, WorkerMismatch) as err:
        raise BadInput(str(err)) from None
    return executor


def interrupted(out: Path, command: str, how: str = "interrupted") -> int:
    """Say where the finished runs are and how to resume; exit code 130 (143 when terminated)."""
    from model.commands.cli import EXIT_INTERRUPTED, EXIT_TERMINATED

    print(
        f"{how}: the runs that finished are saved in {out}/runs; to continue, run the same "
        f"{command} command with --out {out} --resume",
        file=sys.stderr,
    )
    return EXIT_TERMINATED if how == "terminated" else EXIT_INTERRUPTED


def cluster_lost(err: Exception, out: Path, command: str) -> int:
    """One ``error:`` line: the cluster is gone, the finished runs kept, how to resume; code 6."""
    from model.commands.cli import EXIT_CLUSTER_LOST

    print(
        f"error: {err}; the runs that finished are saved in {out}/runs; to continue, run the "
        f"same {command} command with --out {out} --resume (on a running cluster, or with "
        "--workers instead of --scheduler to finish on this machine)",
        file=sys.stderr,
    )
    return EXIT_CLUSTER_LOST


def check_runs_out(out: Path) -> None:
    """Refuse an ``--out`` that many runs must not write to (before anything runs).

    Accepted: a new folder, an empty one, a results folder (``manifest.json``), or the folder of
    an interrupted job (``runs/job.json``, or ``<scenario>/runs/job.json`` for ``compare``).

    Raises:
        OutputError: ``out`` is a file, lies under a file, or is a folder of other files.
    """
    from model.results.safety import check_output_folder

    if out.is_dir() and any(
        (folder / "runs" / "job.json").is_file() for folder in [out, *out.iterdir()]
    ):
        return
    check_output_folder(out)


def run_with_executor(args: argparse.Namespace, out: Path, command: str, work):  # noqa: ANN001, ANN201
    """Call ``work(executor)`` on the executor the options ask for, and close it afterwards.

    Holds ``out`` (:func:`model.results.safety.output_lock`) while the work runs.

    Returns:
        ``(result, None)``, or ``(None, exit code)`` when interrupted, terminated or the Dask
        cluster was lost (the message says how to resume).

    Raises:
        BadInput: When ``--resume`` meets a folder of other work.
        OutputBusy: When another command is writing ``out``.
    """
    from model.commands.cli import Terminated
    from model.experiments.execution import ClusterLost, JobMismatch
    from model.results.safety import output_lock

    # one job per folder at a time: a second command with the same --out is refused (exit 4)
    with output_lock(Path(out), check=check_runs_out):
        executor = open_executor(args)
        try:
            return work(executor), None
        except JobMismatch as err:
            raise BadInput(str(err)) from None
        except KeyboardInterrupt:
            return None, interrupted(out, command)
        except Terminated:
            return None, interrupted(out, command, "terminated")
        except ClusterLost as err:
            return None, cluster_lost(err, out, command)
        finally:
            executor.close()
