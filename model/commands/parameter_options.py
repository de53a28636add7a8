"""``--parameters fixed|prior|posterior FILE`` and ``--seeds-per-draw K``: what an ensemble varies.

The commands: ``run --replicates``, ``compare`` (both with ``--seeds-per-draw``), ``budget`` and
``optimize``. The source is resolved, and a posterior file checked against every scenario,
before anything runs or is written.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from model.commands.common import BadInput, positive_int

#: What ``--parameters`` takes.
CHOICES = ("fixed", "prior", "posterior")


class ParametersAction(argparse.Action):
    """Parse ``fixed``, ``prior`` or ``posterior FILE`` into ``(kind, file or None)``."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        """Store ``(kind, Path or None)``, or make argparse refuse the values (exit 2)."""
        kind, *rest = list(values)
        if kind not in CHOICES:
            raise argparse.ArgumentError(
                self, f"expected fixed, prior or posterior FILE, found {kind!r}"
            )
        if kind == "posterior" and len(rest) != 1:
            found = "no file" if not rest else f"{len(rest)} values ({' '.join(rest)})"
            raise argparse.ArgumentError(
                self, f"expected posterior FILE (one Parquet file), found {found}"
            )
        if kind != "posterior" and rest:
            raise argparse.ArgumentError(
                self,
                f"expected nothing after {kind}, found {' '.join(map(repr, rest))} (give the "
                "scenario files before --parameters)",
            )
        setattr(namespace, self.dest, (kind, Path(rest[0]) if rest else None))


def add_parameter_options(p: argparse.ArgumentParser, nested: bool = True) -> None:
    """``--parameters`` (and ``--seeds-per-draw`` when ``nested``)."""
    p.add_argument(
        "--parameters",
        nargs="+",
        action=ParametersAction,
        default=None,
        metavar=("SOURCE", "FILE"),
        help="what the replicates draw besides their seeds: fixed (the scenario's values; the "
        "default unless the scenario's [forecast] table names a source), prior (every "
        "uncertainty uniform over its range) or posterior FILE (rows of "
        "a calibrated posterior, Parquet with a weight column, resampled by weight)",
    )
    if nested:
        p.add_argument(
            "--seeds-per-draw",
            type=positive_int,
            default=1,
            metavar="K",
            help="run each parameter draw with K seeds (replicates must be a multiple of K); "
            "K >= 2 splits the variance of exits into parameters and seeds (default 1)",
        )


def parameters_given(args: argparse.Namespace) -> list[str]:
    """The parameter options given on the command line (for commands that refuse them)."""
    given = []
    if getattr(args, "parameters", None) is not None:
        given.append("--parameters")
    if getattr(args, "seeds_per_draw", 1) != 1:
        given.append("--seeds-per-draw")
    return given


def parameter_source(args: argparse.Namespace, scenarios: Sequence[Any]) -> Any:
    """The :class:`~model.experiments.parameters.ParameterSource` the options ask for.

    A posterior file is read and checked against every scenario; ``--replicates`` must be a
    multiple of ``--seeds-per-draw``.

    Raises:
        BadInput: A posterior file that cannot be drawn from, or replicates that are not a
            multiple of the seeds per draw.
    """
    from model.experiments.parameters import (
        ParameterSource,
        PosteriorError,
        common_scenario_source,
    )

    kind, file = args.parameters or (None, None)
    k = getattr(args, "seeds_per_draw", 1)
    replicates = getattr(args, "replicates", None)
    if replicates is not None and replicates % k:
        raise BadInput(
            f"--seeds-per-draw {k}: expected a divisor of --replicates {replicates} (each "
            f"parameter draw runs with {k} seeds)"
        )
    try:
        if kind is None:
            # what the scenarios' [forecast] tables name (fixed unless they say otherwise)
            try:
                source = common_scenario_source(scenarios)
            except PosteriorError as err:
                raise BadInput(f"[forecast] posterior {err}") from None
            except ValueError as err:
                raise BadInput(str(err)) from None
        elif kind == "posterior":
            source = ParameterSource.from_posterior_file(file)
        else:
            source = ParameterSource.prior() if kind == "prior" else ParameterSource.fixed()
        for scenario in scenarios:
            source.check(scenario)
    except PosteriorError as err:
        raise BadInput(f"--parameters posterior {err}") from None
    return source


def refusing_bad_draws(work: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``work``, with a posterior row the scenario refuses turned into bad input.

    Such a row is found when the draws are made, before any run starts or anything is written.
    """
    from model.experiments.parameters import PosteriorError

    def wrapped(executor: Any) -> Any:
        try:
            return work(executor)
        except PosteriorError as err:
            raise BadInput(f"--parameters posterior {err}") from None

    return wrapped
