"""``shaoguan-abm discover RESULTS_DIR``: which facts about the world the plan's success needs.

Scenario discovery with PRIM on an ensemble folder made with ``--parameters prior``; see
:mod:`model.experiments.discovery` for the method and why it reads an ensemble rather than
running a sweep.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _share(low: float, high: float, closed_high: bool):  # noqa: ANN202
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, found {text!r}") from None
        ok = low < value <= high if closed_high else low < value < high
        if not ok:
            bracket = "]" if closed_high else ")"
            raise argparse.ArgumentTypeError(
                f"expected a number in ({low:g}, {high:g}{bracket}, found {text}"
            )
        return value

    return parse


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, found {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):  # noqa: PLR0124
        raise argparse.ArgumentTypeError(f"expected a finite number, found {text}")
    return value


def _year(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a year, found {text!r}") from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    from model.commands.common import positive_int
    from model.experiments.discovery import (
        DEFAULT_MAX_BOXES,
        DEFAULT_MIN_DENSITY,
        DEFAULT_MIN_MASS,
        DEFAULT_PEEL_ALPHA,
    )

    p = sub.add_parser(
        "discover",
        help="scenario discovery (PRIM): the ranges of the uncertainties in which a target is met, "
        "from an ensemble run with --parameters prior",
    )
    p.add_argument("results_dir", type=Path, metavar="RESULTS_DIR", help="the ensemble folder")
    p.add_argument(
        "--outcome",
        metavar="NAME",
        help="a column of outcomes.parquet, e.g. cumulative_exited_people_2018 (with --threshold) "
        "or all_targets_met",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--threshold", type=_finite, metavar="X", help="cases of interest: outcome >= X"
    )
    which.add_argument(
        "--target-met",
        type=_year,
        metavar="YEAR",
        help="cases of interest: the year's cumulative target met (default: the last plan year)",
    )
    p.add_argument(
        "--below", action="store_true", help="cases of interest at or below the threshold instead"
    )
    p.add_argument(
        "--peel-alpha",
        type=_share(0, 0.5, False),
        default=DEFAULT_PEEL_ALPHA,
        metavar="A",
        help=f"share of the replicates peeled at each step, 0 < A < 0.5 (default "
        f"{DEFAULT_PEEL_ALPHA:g})",
    )
    p.add_argument(
        "--min-mass",
        type=_share(0, 1, False),
        default=DEFAULT_MIN_MASS,
        metavar="M",
        help=f"smallest share of the replicates a box may hold, 0 < M < 1 (default "
        f"{DEFAULT_MIN_MASS:g})",
    )
    p.add_argument(
        "--min-density",
        type=_share(0, 1, True),
        default=DEFAULT_MIN_DENSITY,
        metavar="D",
        help=f"smallest share of cases of interest in a reported box (default "
        f"{DEFAULT_MIN_DENSITY:g})",
    )
    p.add_argument(
        "--max-boxes",
        type=positive_int,
        default=DEFAULT_MAX_BOXES,
        metavar="N",
        help=f"most boxes to find (default {DEFAULT_MAX_BOXES})",
    )


def main(args: argparse.Namespace) -> int:
    """Find the boxes, write them into the ensemble folder, print them."""
    from model.commands.common import BadInput
    from model.experiments.discovery import DiscoveryError, discover

    try:
        result = discover(
            args.results_dir,
            outcome=args.outcome,
            threshold=args.threshold,
            target_met=args.target_met,
            below=args.below,
            peel_alpha=args.peel_alpha,
            min_mass=args.min_mass,
            min_density=args.min_density,
            max_boxes=args.max_boxes,
        )
    except DiscoveryError as err:
        raise BadInput(str(err)) from None
    s = result.summary
    print(
        f"{s['condition']}: {s['cases_of_interest']} of {s['replicates']} replicates "
        f"({s['share_meeting']:.0%}; {s['source']}); PRIM over {s['uncertainties_searched']} "
        f"uncertainties, peel alpha {s['peel_alpha']:g}, min mass {s['min_mass']:g}"
    )
    if result.boxes.empty:
        print(f"no box holds at least {s['min_density']:g} cases of interest")
    for number, box in result.boxes.groupby("box", sort=True):
        first = box.iloc[0]
        print(
            f"box {number}: coverage {first['coverage']:.2f}, density {first['density']:.2f}, "
            f"mass {first['mass']:.2f} ({first['cases_in_box']} of {first['replicates_in_box']} "
            f"replicates in it meet the condition)"
        )
        for _, row in box.iterrows():
            qp = max(v for v in (row["qp_lower"], row["qp_upper"], -1.0) if v == v)  # noqa: PLR0124
            note = f", quasi-p {qp:.2g}" if qp >= 0 else ""
            print(
                f"  {row['uncertainty']} in [{row['lower']:.4g}, {row['upper']:.4g}] "
                f"(prior [{row['prior_low']:.4g}, {row['prior_high']:.4g}]{note})"
            )
    print(
        "coverage: share of the replicates meeting the condition that lie in the box; density: "
        "share of the box's replicates that meet it; shares over prior parameter draws and seeds"
    )
    print(f"written to {args.results_dir} (discovery.csv, discovery_trajectory.csv, discovery.png)")
    return 0
