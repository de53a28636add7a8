"""Figures. Each function takes results and returns a matplotlib Figure (never shows it)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def exits_vs_targets(annual: pd.DataFrame, title: str = "") -> Figure:
    """Cumulative exited people of one run against the plan's cumulative targets (as steps).

    Args:
        annual: The ``annual`` table of a run.
        title: Scenario name for the title.

    Returns:
        A figure with the run's line, the targets as a step line and villages on a second axis.
    """
    fig, ax = plt.subplots(figsize=(8, 4.8))
    years = annual["year"].to_numpy()
    ax.plot(
        years,
        annual["cumulative_exited_people"] / 1000,
        marker="o",
        color="tab:blue",
        label="cumulative exits (model)",
    )
    targets = annual.dropna(subset=["target_cumulative_people"])
    if not targets.empty:
        ax.step(
            targets["year"],
            targets["target_cumulative_people"].astype(float) / 1000,
            where="mid",
            color="tab:red",
            linestyle="--",
            label="cumulative target (plan §I.3)",
        )
        for _, r in targets.iterrows():
            ax.annotate(
                "met" if r["target_met"] else "missed",
                (r["year"], r["cumulative_exited_people"] / 1000),
                textcoords="offset points",
                xytext=(0, 8),
                ha="center",
                fontsize=8,
                color="tab:green" if r["target_met"] else "tab:red",
            )
    ax.set_xlabel("year (December assessment)")
    ax.set_ylabel("registered poor people out of poverty (thousands)")
    ax.set_xticks(years)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.bar(
        years,
        annual["villages_exited"],
        width=0.35,
        alpha=0.25,
        color="tab:gray",
        label="villages exited",
    )
    ax2.set_ylabel(f"poor villages exited (of {int(annual['villages_total'].iloc[0])})")
    ax2.set_ylim(0, max(1, int(annual["villages_total"].iloc[0])) * 1.05)
    lines, labels = ax.get_legend_handles_labels()
    bars, blabels = ax2.get_legend_handles_labels()
    ax.legend(lines + bars, labels + blabels, loc="upper left", fontsize=8)
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_title(f"Exits against the plan's targets{': ' + title if title else ''}")
    fig.tight_layout()
    return fig
