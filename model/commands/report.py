"""``shaoguan-abm report RESULTS_DIR``: write report.html and report.md beside the results."""

from __future__ import annotations

import argparse
from pathlib import Path

from model.commands.common import BadInput


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "report",
        help="write report.html (self-contained) and report.md into a results folder",
    )
    p.add_argument("results", type=Path, metavar="RESULTS_DIR", help="a results folder")


def main(args: argparse.Namespace) -> int:
    """Build the report from what the folder holds and write it."""
    from model.reporting.report import write_report
    from model.results.folder import ResultsFolderError, open_results

    try:
        results = open_results(args.results)
    except ResultsFolderError as err:
        raise BadInput(str(err)) from None
    written = write_report(results)
    figures = [f.name for f in written.report.figures]
    print(f"wrote {written.html} and {written.markdown}")
    print(f"sections: {'; '.join(written.sections)}")
    print(f"figures ({len(figures)}): {', '.join(figures)}")
    return 0
