"""``shaoguan-abm outputs``: every column of a run's tables and every outcome, from the catalogue.

``--markdown`` writes the reference that ``docs/outputs.md`` holds (``make docs``).
"""

from __future__ import annotations

import argparse

from model.commands.common import BadInput


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "outputs",
        help="list every output column and scalar outcome with its unit and meaning",
        description="List every column of a run's tables (annual, monthly, by_county, by_group, "
        "by_measure, income_percentiles) and every scalar outcome, with unit and meaning.",
    )
    p.add_argument(
        "tables",
        nargs="*",
        metavar="TABLE",
        help="only these tables (annual, monthly, ..., outcomes)",
    )
    p.add_argument(
        "--markdown", action="store_true", help="the Markdown reference (docs/outputs.md)"
    )


def main(args: argparse.Namespace) -> int:
    """Print the catalogue as Markdown or as an aligned table."""
    from model.results.metrics import TABLES, markdown, metrics

    unknown = [t for t in args.tables if t not in TABLES]
    if unknown:
        raise BadInput(f"TABLE {unknown[0]}: expected one of {', '.join(TABLES)}")
    if args.markdown:
        if args.tables:
            raise BadInput("--markdown: expected no TABLE (the reference lists every table)")
        print(markdown(), end="")
        return 0
    rows = [m for t in (args.tables or TABLES) for m in metrics(t)]
    width = max(len(m.name) for m in rows)
    table_width = max(len(m.table) for m in rows)
    unit_width = max(len(m.unit) for m in rows)
    for m in rows:
        print(f"{m.table:<{table_width}}  {m.name:<{width}}  {m.unit:<{unit_width}}  {m.label}")
    return 0
