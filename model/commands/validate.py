"""``shaoguan-abm validate RESULTS_DIR --observed FILE.csv``: the model against observed data."""

from __future__ import annotations

import argparse
from pathlib import Path

from model.commands.common import BadInput


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "validate",
        help="compare a results folder with observed data (writes validation.csv)",
        description="Compare a run (its value) or an ensemble (median and 5-95% interval of "
        "the replicates) with observed values; writes validation.csv into the results folder.",
    )
    p.add_argument("results", type=Path, metavar="RESULTS_DIR", help="a results folder")
    p.add_argument(
        "--observed",
        type=Path,
        required=True,
        metavar="FILE.csv",
        help="CSV with columns scope,year,metric,value,unit,source (data/observed/) or "
        "year,metric,value[,source]; metric names a numeric annual column, or a by_party "
        "column for a subset scope (shaoguan-abm outputs; docs/outputs.md)",
    )


def main(args: argparse.Namespace) -> int:
    """Validate, write ``validation.csv``, print the table and the summary line."""
    from model.reporting.validation import (
        ObservedDataError,
        compare_with_observed,
        format_validation,
        summary_line,
        write_validation,
    )
    from model.results.folder import ResultsFolderError, open_results

    try:
        results = open_results(args.results)
        table = compare_with_observed(results, args.observed)
    except (ResultsFolderError, ObservedDataError) as err:
        raise BadInput(str(err)) from None
    path = write_validation(table, results.path)
    print(format_validation(table))
    print(summary_line(table))
    print(f"written to {path}")
    return 0
