"""``shaoguan-abm calibrate SCENARIO --observed FILE --out DIR``: fit uncertainties with ABC-SMC."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from model.commands.common import BadInput, add_scenario_argument, population_scale, positive_int
from model.commands.execution_options import add_worker_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "calibrate",
        help="fit uncertain parameters to observed outcomes (ABC-SMC with pyabc)",
        description="Fit uncertain parameters of a scenario to observed outcomes with ABC-SMC "
        "(pyabc): uniform priors over the parameters' ranges, an adaptive distance over the "
        "observations, one generation after another into the history database of --out DIR. "
        "Writes posterior.parquet, calibration.csv (each observation against the posterior "
        "predictive), generations.csv, manifest.json and figures. See docs/calibration.md.",
    )
    add_scenario_argument(p)
    add_abc_options(p)
    p.add_argument(
        "--predictive-draws",
        type=positive_int,
        default=50,
        metavar="D",
        help="posterior draws re-run for the posterior predictive (default 50)",
    )
    add_abc_run_options(p, "calibration")


def add_abc_options(p: argparse.ArgumentParser, every_model: bool = False) -> None:
    """What ABC-SMC fits to what, and its size: options of ``calibrate`` and ``select-model``.

    ``every_model``: the parameters are fitted in each model of a model choice.
    """
    p.add_argument(
        "--observed",
        type=Path,
        required=True,
        metavar="FILE.csv",
        help="observations: scope,year,metric,value,unit,source (data/observed/)",
    )
    p.add_argument(
        "--param",
        dest="params",
        action="append",
        default=None,
        metavar="P",
        help=(
            "fit this uncertainty in every model that has it (dotted path; repeat); default "
            "every uncertainty with a range"
            if every_model
            else "fit this uncertainty (dotted path; repeat); default every uncertainty with a "
            "range"
        ),
    )
    p.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        default=None,
        metavar="SCOPE",
        help="fit the observations of this scope (repeat); default the scenario's region",
    )
    p.add_argument(
        "--skip-unknown",
        action="store_true",
        help="leave out observations of metrics the model does not produce (else refused)",
    )
    p.add_argument(
        "--population-scale",
        type=population_scale,
        default=0.02,
        metavar="F",
        help="simulate this share of every count in each run, 0 < F <= 1 (default 0.02)",
    )
    p.add_argument(
        "--particles", type=positive_int, default=100, metavar="N", help="per generation (100)"
    )
    p.add_argument(
        "--generations", type=positive_int, default=5, metavar="G", help="in total (default 5)"
    )
    p.add_argument(
        "--max-runs",
        type=positive_int,
        default=None,
        metavar="R",
        help="stop after the generation in which the model runs reach R",
    )


def add_abc_run_options(p: argparse.ArgumentParser, what: str) -> None:
    """``--seed``, ``--workers``/``--scheduler``, ``--resume`` and ``--out`` of an ABC-SMC run."""
    p.add_argument("--seed", type=_seed, default=1, help="non-negative integer (default 1)")
    add_worker_options(p)
    p.add_argument(
        "--resume",
        action="store_true",
        help=f"continue the {what} in --out DIR from its last complete generation",
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help=f"{what} folder")


def abc_keywords(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments ``calibrate`` and ``select_model`` share, from the options.

    One local worker unless ``--workers`` or ``--scheduler`` is given; progress lines go to
    standard error as they come.
    """
    workers = 1 if args.workers is None and args.scheduler is None else (args.workers or 1)
    return {
        "params": args.params,
        "scopes": args.scopes,
        "skip_unknown": args.skip_unknown,
        "population_scale": args.population_scale,
        "particles": args.particles,
        "generations": args.generations,
        "max_runs": args.max_runs,
        "seed": args.seed,
        "workers": workers,
        "scheduler": args.scheduler,
        "resume": args.resume,
        "progress": lambda line: print(line, file=sys.stderr, flush=True),
    }


def _seed(text: str) -> int:
    from model.commands.common import non_negative_int

    return non_negative_int(text)


def main(args: argparse.Namespace) -> int:
    """Calibrate, printing one line per generation; write the calibration folder."""
    from model.engine.scenario import load_scenario
    from model.experiments.calibration import CalibrationError, calibrate
    from model.results.observed import ObservedDataError

    scenario = load_scenario(args.scenario, args.overrides)
    try:
        result = calibrate(
            scenario,
            args.observed,
            args.out,
            predictive_draws=args.predictive_draws,
            **abc_keywords(args),
        )
    except (CalibrationError, ObservedDataError) as err:
        raise BadInput(str(err)) from None
    except KeyboardInterrupt:
        print(
            f"interrupted: the complete generations are kept in {args.out}/history.db; to "
            f"continue, run the same calibrate command with --resume",
            file=sys.stderr,
        )
        return 130
    from model.commands.common import format_table

    shown = result.table[["scope", "year", "metric", "observed", "median", "low_90", "high_90"]]
    print(format_table(shown))
    inside = int(result.table["inside_90"].sum())
    print(
        f"{len(result.table)} observations, {inside} inside the posterior predictive 90% "
        f"interval; {result.manifest['runs']} runs in {result.manifest['seconds']:.0f} s; "
        f"written to {result.folder}"
    )
    return 0
