"""The page's feedback block: reported against income-verified exits and the register's size.

Shown only for a run whose scenario has exit verification or the living register on (for
example ``feedback.toml``): the table of :func:`model.reporting.figures.feedback_table` as the
page's text, medians over the replicates and the probabilities of meeting each target on paper
and in income. A run without those mechanisms has no rows, and the page shows nothing.
"""

from __future__ import annotations

import math

from model.dashboard import DashboardRun
from model.reporting.figures import feedback_table

#: The page's heading of each column of :func:`model.reporting.figures.feedback_table`.
FEEDBACK_HEADINGS = {
    "year": "year",
    "target_cumulative_people": "target (people, scaled)",
    "reported_exited_people": "reported this year",
    "cumulative_exited_people": "counted out (on paper)",
    "income_verified_exited_people": "verified in income",
    "probability_met": "P(met) on paper",
    "probability_met_in_income": "P(met) in income",
    "registered_people": "on the register",
    "added_people": "added",
    "removed_people": "removed",
}


def _text(column: str, value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return ""
    if column == "year":
        return str(int(value))
    if column.startswith("probability"):
        return f"{value:.2f}"
    return f"{value:,.0f}"


def feedback_rows(run: DashboardRun) -> list[dict[str, str]]:
    """The feedback table of a run as the page's text, or ``[]`` when its mechanisms are off.

    Args:
        run: A run of the page.

    Returns:
        One ``{heading: text}`` per year: target, exits reported this year, cumulative exits
        counted on paper and verified in income (medians over replicates), P(met) on paper and
        in income (share of replicates), and the register's people, added and removed.
    """
    table = feedback_table(run.ensemble.quantiles, run.ensemble.probabilities)
    if table.empty:
        return []
    return [
        {FEEDBACK_HEADINGS[c]: _text(c, row[c]) for c in table.columns}
        for row in table.to_dict("records")
    ]


def feedback_note(run: DashboardRun) -> str:
    """What the feedback table's numbers are, and where its probabilities come from."""
    return (
        "Exits reported by the counties on the income they see; counted out: the cumulative "
        "exits that stand after the sample check (the target on paper); verified in income: "
        "those whose true income and guarantees meet the exit rule. People: medians over "
        f"replicates of the simulated population; P(met): {run.ensemble.probability_source()}."
    )
