"""Argument types and options shared by several sub-commands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


class BadInput(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


def population_scale(text: str) -> float:
    """``--population-scale``: a number in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], found {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], found {text}")
    return value


def non_negative_int(text: str) -> int:
    """A non-negative integer (seeds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a non-negative integer, found {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, found {value}")
    return value


def positive_int(text: str) -> int:
    """A positive integer (replicates, workers, samples)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {value}")
    return value


def add_scenario_argument(p: argparse.ArgumentParser, many: bool = False) -> None:
    """The scenario file(s) and ``--set KEY=VALUE`` overrides."""
    if many:
        p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario TOML files")
    else:
        p.add_argument("scenario", help="scenario TOML file")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter by dotted path, e.g. dynamics.job_finding_rate=0.02",
    )


def add_run_options(p: argparse.ArgumentParser) -> None:
    """``--seed``, ``--out`` and ``--population-scale``."""
    p.add_argument(
        "--seed", type=non_negative_int, default=1, help="non-negative integer (default 1)"
    )
    p.add_argument("--out", type=Path, help="results folder (default results/<scenario>/<id>)")
    p.add_argument(
        "--population-scale",
        type=population_scale,
        default=1.0,
        metavar="F",
        help="simulate this share of every count, 0 < F <= 1 (default 1)",
    )


def format_table(table, rename: dict[str, str] | None = None) -> str:  # noqa: ANN001
    """A DataFrame as a plain-text table: thousands separators, yes/NO for booleans."""
    t = table.copy()
    for col in t.columns:
        if col == "year":
            continue
        if t[col].dtype == bool or col.endswith("_met") or col == "target_met":
            t[col] = t[col].map({True: "yes", False: "NO"}).fillna("-")
        elif t[col].dtype.kind == "f" and (
            col.startswith(("p_", "probability", "ci_")) or t[col].abs().max() <= 1
        ):
            t[col] = t[col].map(lambda v: "-" if v != v else f"{v:.2f}")  # noqa: PLR0124
        elif t[col].dtype.kind in "if":
            t[col] = t[col].map(lambda v: "-" if v != v else f"{v:,.0f}")  # noqa: PLR0124
    return t.rename(columns=rename or {}).to_string(index=False)


def load_for_run(path: str | Path, args: argparse.Namespace) -> Any:
    """Load a scenario a command will run (with ``--set``), refusing an unusable scale.

    Raises:
        ScenarioError: The scenario cannot be used.
        PopulationError: At ``--population-scale`` a §II.9 group or a county has no household.
    """
    from model.engine.population import check_population_scale
    from model.engine.scenario import load_scenario

    scenario = load_scenario(path, args.overrides)
    check_population_scale(scenario.population, args.population_scale)
    return scenario
