"""Figures. Each function takes results tables and returns a matplotlib Figure (never shows it).

Figures are built without pyplot, so they hold no global state and need no closing; in a
notebook, a figure returned as a cell's last value is displayed.

Every figure answers one question and says so in its title; axes carry units. Text is English
only: the default font has no Chinese glyphs, and a figure must never show empty boxes.

| function | question |
| --- | --- |
| :func:`exits_vs_targets` | is each year's exit target met, and by how much is it missed? |
| :func:`villages_exited` | how many poor villages have exited, against all of them by 2018? |
| :func:`remaining_poor_by_county` | where are the people who are still poor, year by year? |
| :func:`spend_by_year` | how much is spent each year, from which source and on which use? |
| :func:`income_distribution` | how far is the registered poor's income from the exit line? |
| :func:`prior_posterior` | what did calibration learn about each parameter? |
| :func:`calibration_predictive` | does the calibrated model reproduce each observation? |
| :func:`model_probabilities` | which model reproduces the observations with fewer |
|  | contortions? (posterior model probabilities of an ABC model choice) |
| :func:`attribution_chart` | what does each measure buy, and what would the next million buy? |
| :func:`discovery_figure` | in which region of the uncertainties does the plan succeed? |
| :func:`feedback_table` | how many exits are reported, how many hold in income, how large is |
|  | the register? (a table, not a figure) |
"""

from __future__ import annotations

import os

import matplotlib

# Files only, no windows: unless the user chose a backend (a notebook's inline backend sets
# MPLBACKEND), draw with Agg.
if "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

MODEL_COLOUR = "tab:blue"
TARGET_COLOUR = "tab:red"
#: Size of a single-panel figure (inches); at 120 dpi it fits a report page at full size.
FIGSIZE = (8.0, 4.8)
_thousands = FuncFormatter(lambda v, _pos: f"{v:,.0f}")


def _title(question: str, title: str) -> str:
    return f"{question}\n{title}" if title else question


def plan_last_year(annual: pd.DataFrame) -> int | None:
    """The plan's last year in a run's annual table: the first year at its final target.

    The scenario's cumulative targets (``targets.cumulative_people``, Shaoguan plan 2016, §I.3:
    2016-2018) end in the plan's last year; the years after it keep the last target. None when
    the table has no targets.
    """
    if "target_cumulative_people" not in annual or "year" not in annual:
        return None
    target = pd.to_numeric(annual["target_cumulative_people"], errors="coerce")
    if target.isna().all():
        return None
    return int(annual.loc[target == target.max(), "year"].min())


def _shade_consolidation(ax: Axes, years: np.ndarray, last: int | None) -> Patch | None:
    """Grey band, with a legend entry, over the years after the plan's ``last`` year."""
    if last is None or not (years.size and years.max() > last):
        return None
    band = ax.axvspan(
        last + 0.5,
        years.max() + 0.5,
        color="0.93",
        zorder=0,
        label=f"after the plan ({last + 1}-)",
    )
    ax.set_xlim(years.min() - 0.5, years.max() + 0.5)
    return band


def exits_vs_targets(annual: pd.DataFrame, title: str = "") -> Figure:
    """Cumulative exited people of one run against the plan's cumulative targets (as steps).

    Args:
        annual: The ``annual`` table of a run (``year``, ``cumulative_exited_people``,
            ``target_cumulative_people``, ``target_met``).
        title: Scenario name (and scale) for the second title line.

    Returns:
        A figure with two series: the run's cumulative exits and the target steps, each target
        year marked "met" or "short by N".
    """
    fig = Figure(figsize=FIGSIZE)
    ax = fig.subplots()
    years = annual["year"].to_numpy()
    exited = annual["cumulative_exited_people"].to_numpy(dtype=float)
    ax.plot(
        years,
        exited,
        marker="o",
        color=MODEL_COLOUR,
        linewidth=2,
        label="cumulative exits, not relapsed (model)",
    )
    targets = annual.dropna(subset=["target_cumulative_people"])
    if not targets.empty:
        t_years = targets["year"].to_numpy()
        t_values = targets["target_cumulative_people"].to_numpy(dtype=float)
        # each December's target holds over the year that leads up to it
        ax.step(
            np.r_[t_years[0] - 0.5, t_years + 0.5],
            np.r_[t_values[0], t_values],
            where="pre",
            color=TARGET_COLOUR,
            linestyle="--",
            label="cumulative target (plan §I.3)",
        )
        top = max(float(t_values.max()), float(exited.max()))
        for year, target, done in zip(
            t_years, t_values, exited[np.isin(years, t_years)], strict=True
        ):
            short = target - done
            if short <= 0:
                ax.annotate(
                    "met",
                    (year, done),
                    textcoords="offset points",
                    xytext=(0, 8),
                    ha="center",
                    fontsize=8,
                    color="tab:green",
                )
                continue
            # the gap as a dotted line, labelled under the target step where the run's line
            # (rising from the left) stays clear of it; a small gap is labelled below the point
            ax.plot([year, year], [done, target], color=TARGET_COLOUR, linestyle=":", lw=1)
            first = year == years.min()
            small = short < 0.12 * top
            ax.annotate(
                f"short by\n{short:,.0f}",
                (year, done if small else target),
                textcoords="offset points",
                xytext=(4, -6) if small or first else (-4, -3),
                ha="left" if small or first else "right",
                va="top",
                fontsize=8,
                color=TARGET_COLOUR,
            )
    _shade_consolidation(ax, years, plan_last_year(annual))
    ax.set_xlabel("year (December assessment)")
    ax.set_ylabel("registered poor people out of poverty (people)")
    ax.set_xticks(years)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(_thousands)
    ax.grid(alpha=0.3)
    # below the axes: the labels of the gaps sit under the target steps, where a legend would go
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize=8, frameon=False)
    ax.set_title(_title("Is each year's exit target met?", title), fontsize=11)
    fig.tight_layout()
    return fig


def villages_exited(
    annual: pd.DataFrame,
    title: str = "",
    target_year: int | None = None,
    replicates: pd.DataFrame | None = None,
) -> Figure:
    """Poor villages exited each December against all of them (278 at full scale) by 2018.

    Args:
        annual: The ``annual`` table of a run (``year``, ``villages_exited``,
            ``villages_total``); for an ensemble, the per-year medians.
        title: Scenario name (and scale) for the second title line.
        target_year: Year by which every poor village should exit (plan §I.3); default the
            plan's last year (:func:`plan_last_year`).
        replicates: Optional ``replicates`` table of an ensemble: the bars then show the median
            and a 5-95% range across replicates.

    Returns:
        A figure with two series: villages exited (bars) and the line of all poor villages.
    """
    fig = Figure(figsize=FIGSIZE)
    ax = fig.subplots()
    years = annual["year"].to_numpy()
    total = int(annual["villages_total"].iloc[0])
    if replicates is not None and not replicates.empty:
        q = replicates.groupby("year")["villages_exited"].quantile([0.05, 0.5, 0.95]).unstack()
        q = q.reindex(years)
        values = q[0.5].to_numpy()
        yerr = np.vstack([values - q[0.05].to_numpy(), q[0.95].to_numpy() - values])
        label = "villages exited (median, 5-95% of replicates)"
    else:
        values = annual["villages_exited"].to_numpy(dtype=float)
        yerr = None
        label = "villages exited (model)"
    bars = ax.bar(years, values, width=0.6, color=MODEL_COLOUR, alpha=0.8, label=label)
    if yerr is not None:
        ax.errorbar(years, values, yerr=yerr, fmt="none", ecolor="0.2", capsize=4)
    tops = values if yerr is None else values + yerr[1]
    for bar, value, top in zip(bars, values, tops, strict=True):
        ax.annotate(
            f"{value:,.0f} ({100 * value / total:.0f}%)" if total else f"{value:,.0f}",
            (bar.get_x() + bar.get_width() / 2, top),
            textcoords="offset points",
            xytext=(0, 3),
            ha="center",
            fontsize=8,
        )
    year = plan_last_year(annual) if target_year is None else target_year
    by = "the end of the plan" if year is None else year
    ax.axhline(
        total,
        color=TARGET_COLOUR,
        linestyle="--",
        label=f"all {total:,} poor villages, to exit by {by} (plan §I.3)",
    )
    _shade_consolidation(ax, years, plan_last_year(annual))
    ax.set_xlabel("year (December assessment)")
    ax.set_ylabel("poor villages exited (villages)")
    ax.set_xticks(years)
    ax.set_ylim(0, max(total, 1) * 1.12)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(_title("Have the poor villages exited?", title), fontsize=11)
    fig.tight_layout()
    return fig


def remaining_poor_by_county(
    by_county: pd.DataFrame, title: str = "", band: pd.DataFrame | None = None
) -> Figure:
    """Registered poor people still poor in each county-level unit, one bar per year.

    Args:
        by_county: The ``by_county`` table of a run (``year``, ``county``,
            ``registered_people``, ``remaining_poor_people``); for an ensemble, the medians
            across replicates.
        title: Scenario name (and scale) for the second title line.
        band: For an ensemble, ``year``, ``county``, ``low``, ``high`` of the people still poor
            across replicates, drawn as a range on each bar.

    Returns:
        A figure with one bar series per year; counties ordered by registered poor people, the
        last year's bars labelled with the share of the county's registered poor still poor.
    """
    years = sorted(by_county["year"].unique())
    registered = by_county.groupby("county")["registered_people"].max().sort_values()
    counties = registered.index.tolist()
    fig = Figure(figsize=(FIGSIZE[0], max(FIGSIZE[1], 0.45 * len(counties) + 1.5)))
    ax = fig.subplots()
    height = 0.8 / len(years)
    colours = colormaps["Blues"](np.linspace(0.35, 0.95, len(years)))
    pos = np.arange(len(counties))
    for k, year in enumerate(years):
        rows = by_county[by_county["year"] == year].set_index("county").reindex(counties)
        remaining = rows["remaining_poor_people"].to_numpy(dtype=float)
        ends = remaining  # where a bar (or its range) ends, for the label
        # the first year on top of each county's group, the last at the bottom
        offset = (len(years) - 1 - k - (len(years) - 1) / 2) * height
        ax.barh(pos + offset, remaining, height=height, color=colours[k], label=str(year))
        if band is not None and not band.empty:
            rng = band[band["year"] == year].set_index("county").reindex(counties)
            ax.errorbar(
                remaining,
                pos + offset,
                xerr=np.vstack(
                    [
                        np.maximum(remaining - rng["low"].to_numpy(dtype=float), 0),
                        np.maximum(rng["high"].to_numpy(dtype=float) - remaining, 0),
                    ]
                ),
                fmt="none",
                ecolor="0.2",
                elinewidth=0.8,
                capsize=2,
            )
            ends = np.fmax(remaining, rng["high"].to_numpy(dtype=float))
        if k == len(years) - 1:
            share = remaining / rows["registered_people"].to_numpy(dtype=float)
            for y, value, s in zip(pos + offset, ends, share, strict=True):
                ax.annotate(
                    f"{100 * s:.0f}% still poor",
                    (value, y),
                    textcoords="offset points",
                    xytext=(3, 0),
                    va="center",
                    fontsize=7,
                )
    ax.set_yticks(pos)
    ax.set_yticklabels([c.replace("_", " ") for c in counties])
    ax.set_xlabel("registered poor people not out of poverty in December (people)")
    ax.set_ylabel("county-level unit")
    ax.xaxis.set_major_formatter(_thousands)
    widest = float(by_county["remaining_poor_people"].max())
    if band is not None and not band.empty:
        widest = max(widest, float(band["high"].max()))
    ax.set_xlim(0, widest * 1.25 or 1)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(
        title="year (median, 5-95% of replicates)" if band is not None else "year",
        loc="lower right",
        fontsize=8,
    )
    ax.set_title(_title("Where are the people still poor?", title), fontsize=11)
    fig.tight_layout()
    return fig


#: How the ledger's ``fund`` values read in a legend.
FUND_LABELS = {"special": "special fund", "sector": "sector budget", "village": "village fund"}


def _stacked_bars(ax: Axes, table: pd.DataFrame, unit: float) -> None:
    """Stack the columns of ``table`` (index: year) as bars, in ``unit`` yuan.

    Columns are stacked largest first (at the bottom); a column named ``leaked`` is drawn grey
    and hatched, on top of the others. The legend stands to the right of the panel.
    """
    bottom = np.zeros(len(table))
    colours = colormaps["tab20"].colors
    for k, column in enumerate(table.columns):
        values = table[column].to_numpy(dtype=float) / unit
        style = (
            {"color": "0.75", "hatch": "//", "edgecolor": "0.4"}
            if column == "leaked"
            else {"color": colours[k % len(colours)]}
        )
        ax.bar(
            table.index,
            values,
            bottom=bottom,
            width=0.6,
            label=str(column).replace("_", " "),
            **style,
        )
        bottom += values
    ax.set_xticks(table.index)
    ax.set_xlabel("year")
    ax.grid(axis="y", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    # legend from top to bottom, as the segments are stacked
    ax.legend(handles[::-1], labels[::-1], fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_ylim(0, max(bottom.max(), 1e-9) * 1.08)


def spend_by_year(
    by_source: pd.DataFrame | None = None,
    by_use: pd.DataFrame | None = None,
    title: str = "",
    band: pd.DataFrame | None = None,
) -> Figure:
    """Money spent each year, by source and by use.

    The tables are aggregated by the caller (``model.results.outputs.spend_by_year``): one row
    per year (the index), one column per source or use. Source columns may be ``(fund,
    source)`` pairs, named in the legend with their fund; a column ``leaked`` (or a pair whose
    fund is ``leaked``) is money lost to leakage, drawn grey and hatched on top.

    Args:
        by_source: Yuan per year by source (upper panel), or None.
        by_use: Yuan per year by use (lower panel), or None.
        title: Scenario name (and scale) for the second title line.
        band: For an ensemble, ``low`` and ``high`` of each year's total (index: year) across
            replicates, drawn as a range on top of each year's stack; the stacks are then the
            replicates' means.

    Returns:
        A figure with one panel per table given; one bar series per source or use.

    Raises:
        ValueError: Neither table has a row.
    """
    unit = 1e6
    panels: list[tuple[str, pd.DataFrame]] = []
    if by_source is not None and not by_source.empty:
        shown = by_source.copy()
        shown.columns = [_source_label(c) for c in by_source.columns]
        panels.append(("by source", _largest_first(shown.T.groupby(level=0, sort=False).sum().T)))
    if by_use is not None and not by_use.empty:
        shown = by_use.copy()
        shown.columns = [str(c) for c in by_use.columns]
        panels.append(("by use" if panels else "by use (measure)", _largest_first(shown)))
    if not panels:
        raise ValueError("spend_by_year: no spend to draw (no table by source or by use)")
    fig = Figure(figsize=(FIGSIZE[0] + 1.6, 4.2 * len(panels) + 0.6))
    axes = np.atleast_1d(fig.subplots(len(panels), 1))
    for ax, (name, table) in zip(axes, panels, strict=True):
        _stacked_bars(ax, table, unit)
        if band is not None and not band.empty:
            _total_band(ax, table, band, unit)
        ax.set_title(name, fontsize=10)
        ax.set_ylabel(
            ("spent or leaked\nin the year (million yuan)" if "leaked" in table.columns
             else "spent in the year\n(million yuan)")
            + ("\nmean of replicates" if band is not None and not band.empty else "")
        )  # fmt: skip
    fig.suptitle(_title("How much is spent each year, and on what?", title), fontsize=11)
    fig.tight_layout()
    return fig


def _source_label(column: object) -> str:
    """``(fund, source)`` as ``"source (fund label)"``; leaked money as ``"leaked"``."""
    if isinstance(column, tuple):
        fund, source = (str(part) for part in column)
        if fund == "leaked" or source == "leaked":
            return "leaked"
        return f"{source} ({FUND_LABELS.get(fund, fund)})"
    return str(column)


def _total_band(ax: Axes, table: pd.DataFrame, band: pd.DataFrame, unit: float) -> None:
    """Error bars at the top of each year's stack: the band of the yearly total."""
    band = band.reindex(table.index)
    top = table.sum(axis=1).to_numpy(dtype=float) / unit
    low = band["low"].to_numpy(dtype=float) / unit
    high = band["high"].to_numpy(dtype=float) / unit
    ax.errorbar(
        table.index,
        top,
        yerr=np.vstack([np.maximum(top - low, 0), np.maximum(high - top, 0)]),
        fmt="none",
        ecolor="0.15",
        capsize=4,
        label="total, 5-95% of replicates",
    )
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_ylim(0, max(float(np.nanmax(np.r_[high, top])), 1e-9) * 1.08)


def _largest_first(table: pd.DataFrame) -> pd.DataFrame:
    """Columns by total, largest first; ``leaked`` last."""
    totals = (
        table.drop(columns=["leaked"], errors="ignore")
        .sum()
        .sort_values(ascending=False, kind="stable")
    )
    return table[list(totals.index) + (["leaked"] if "leaked" in table.columns else [])]


def income_distribution(
    annual: pd.DataFrame,
    income_percentiles: pd.DataFrame | None = None,
    title: str = "",
    band: pd.DataFrame | None = None,
) -> Figure:
    """Per-capita income of the registered poor each December against the exit line.

    With the ``income_percentiles`` table, each year shows a box for the labour-capable and one
    for the households without labour capacity (box 25-75%, line at the median, whiskers
    5-95%, people-weighted). Without it, the mean and median of all registered poor from the
    annual table are drawn as lines.

    Args:
        annual: The ``annual`` table of a run (``year``, ``exit_income_line``, and
            ``mean_per_capita_income_poor`` / ``median_per_capita_income_poor``).
        income_percentiles: The ``income_percentiles`` table (``year``, ``population``,
            ``percentile``, ``value``), when the run recorded it; for an ensemble, the
            medians across replicates.
        title: Scenario name (and scale) for the second title line.
        band: For an ensemble, ``year``, ``population``, ``low``, ``high`` of the median income
            across replicates, drawn as a range on each box's median.

    Returns:
        A figure whose legend lists the income series and the exit line.
    """
    fig = Figure(figsize=FIGSIZE)
    ax = fig.subplots()
    years = annual["year"].to_numpy()
    handles: list = []
    band_handle = None
    if income_percentiles is not None and not income_percentiles.empty:
        groups = [
            ("labour_capable", "labour-capable households", "tab:orange", -0.18),
            ("no_labour", "households without labour capacity", "tab:purple", 0.18),
        ]
        for population, label, colour, offset in groups:
            rows = income_percentiles[income_percentiles["population"] == population]
            if rows.empty:
                continue
            table = rows.pivot_table(index="year", columns="percentile", values="value")
            stats = [
                {
                    "whislo": r[5],
                    "q1": r[25],
                    "med": r[50],
                    "q3": r[75],
                    "whishi": r[95],
                    "fliers": [],
                }
                for _, r in table.iterrows()
            ]
            ax.bxp(
                stats,
                positions=table.index.to_numpy() + offset,
                widths=0.3,
                patch_artist=True,
                showfliers=False,
                manage_ticks=False,
                boxprops={"facecolor": colour, "alpha": 0.55, "edgecolor": colour},
                medianprops={"color": "black"},
                whiskerprops={"color": colour},
                capprops={"color": colour},
            )
            handles.append(Patch(facecolor=colour, alpha=0.55, label=f"{label} (5-25-50-75-95%)"))
            rng = None if band is None else band[band["population"] == population]
            if rng is not None and not rng.empty:
                rng = rng.set_index("year").reindex(table.index)
                median = table[50].to_numpy(dtype=float)
                bars = ax.errorbar(
                    table.index.to_numpy() + offset,
                    median,
                    yerr=np.vstack(
                        [
                            np.maximum(median - rng["low"].to_numpy(dtype=float), 0),
                            np.maximum(rng["high"].to_numpy(dtype=float) - median, 0),
                        ]
                    ),
                    fmt="none",
                    ecolor="black",
                    elinewidth=1.6,
                    capsize=5,
                    label="median, 5-95% of replicates",
                )
                band_handle = bars
        if band_handle is not None:
            handles.append(band_handle)
    else:
        for column, label, style in (
            ("mean_per_capita_income_poor", "mean, registered poor", "-"),
            ("median_per_capita_income_poor", "median, registered poor", ":"),
        ):
            if column in annual:
                (line,) = ax.plot(
                    years,
                    annual[column],
                    linestyle=style,
                    marker="o",
                    color=MODEL_COLOUR,
                    label=label,
                )
                handles.append(line)
    (exit_line,) = ax.step(
        np.r_[years[0] - 0.5, years + 0.5],
        np.r_[annual["exit_income_line"].iloc[0], annual["exit_income_line"].to_numpy()],
        where="pre",
        color=TARGET_COLOUR,
        linestyle="--",
        label="exit line: 45% of provincial rural income (plan §I.3)",
    )
    handles.append(exit_line)
    band = _shade_consolidation(ax, years, plan_last_year(annual))
    if band is not None:
        handles.append(band)
    ax.set_xticks(years)
    ax.set_xlabel("year (12 months to December)")
    ax.set_ylabel("per-capita disposable income (yuan/person/year)")
    ax.yaxis.set_major_formatter(_thousands)
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(handles=handles, loc="upper left", fontsize=8)
    ax.set_title(
        _title("How far is the registered poor's income from the exit line?", title), fontsize=11
    )
    fig.tight_layout()
    return fig


def fan_chart(
    quantiles: pd.DataFrame,
    probabilities: pd.DataFrame,
    title: str = "",
    metric: str = "cumulative_exited_people",
    subtitle: str = "",
) -> Figure:
    """Cumulative exits of an ensemble as a fan (5-95% and 25-75% bands, median) against targets.

    Args:
        quantiles: An ensemble's ``quantiles`` table (``metric, year, mean, q05 ... q95``).
        probabilities: Its ``probabilities`` table; each year's target is drawn as a step and
            annotated with the probability of meeting it and its confidence interval.
        title: Scenario name for the title.
        metric: The metric drawn (in people; plotted in thousands).
        subtitle: A second title line, saying what varied between the replicates (e.g.
            ``probabilities over 20 replicates: seeds and prior parameter draws``).

    Returns:
        The figure.
    """
    q = quantiles[quantiles["metric"] == metric].sort_values("year")
    fig = Figure(figsize=(8, 4.8))
    ax = fig.subplots()
    years = q["year"].to_numpy()
    k = 1000.0
    ax.fill_between(
        years,
        q["q05"] / k,
        q["q95"] / k,
        color="tab:blue",
        alpha=0.18,
        lw=0,
        label="5-95% of replicates",
    )
    ax.fill_between(
        years,
        q["q25"] / k,
        q["q75"] / k,
        color="tab:blue",
        alpha=0.35,
        lw=0,
        label="25-75% of replicates",
    )
    ax.plot(years, q["q50"] / k, color="tab:blue", marker="o", label="median")
    targets = probabilities[probabilities["year"].map(lambda y: str(y).isdigit())]
    if not targets.empty:
        t_years = targets["year"].astype(int).to_numpy()
        t_people = targets["target_cumulative_people"].astype(float).to_numpy()
        ax.step(
            t_years,
            t_people / k,
            where="mid",
            color="tab:red",
            linestyle="--",
            label="cumulative target (plan §I.3)",
        )
        for year, people, (_, r) in zip(t_years, t_people, targets.iterrows(), strict=True):
            ax.annotate(
                f"P(met) {r['probability_met']:.2f}\n[{r['ci_low']:.2f}, {r['ci_high']:.2f}]",
                (year, people / k),
                textcoords="offset points",
                xytext=(0, 8),
                ha="center",
                fontsize=7,
                color="tab:red",
            )
    every = probabilities[probabilities["year"].astype(str) == "all"]
    if not every.empty:
        r = every.iloc[0]
        text = (
            f"P(all plan targets met) {r['probability_met']:.2f} "
            f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
        )
        ax.text(0.99, 0.02, text, transform=ax.transAxes, ha="right", va="bottom", fontsize=8)
    ax.set_xlabel("year (December assessment)")
    ax.set_ylabel("registered poor people out of poverty (thousands)")
    ax.set_xticks(years)
    top = max([float(q["q95"].max())] + [float(v) for v in targets["target_cumulative_people"]])
    ax.set_ylim(0, 1.2 * top / k)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    heading = f"Ensemble of exits against the plan's targets{': ' + title if title else ''}"
    ax.set_title(heading + (f"\n{subtitle}" if subtitle else ""))
    fig.tight_layout()
    return fig


def target_probabilities_by_scenario(
    comparison: pd.DataFrame, targets: dict[int, float] | None = None
) -> Figure:
    """Scenarios side by side: probability of meeting each target, and median exits per year.

    Args:
        comparison: One row per scenario with ``scenario`` and, for each target ``T`` (a year or
            ``all``), ``prob_met_T``, ``prob_met_T_ci_low`` and ``prob_met_T_ci_high``; and
            ``median_cumulative_exited_people_<year>`` columns for the right panel.
        targets: Cumulative target by year, drawn as a step on the right panel.

    Returns:
        The figure: grouped bars with the confidence intervals as error bars (left), median
        cumulative exits per scenario against the targets (right).
    """
    keys = [
        c.removeprefix("prob_met_")
        for c in comparison.columns
        if c.startswith("prob_met_") and not c.endswith(("_ci_low", "_ci_high"))
    ]
    n_s = len(comparison)
    fig = Figure(figsize=(6.0 + 0.45 * len(keys) * max(n_s, 1), 4.6))
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1])
    width = 0.8 / max(n_s, 1)
    x = list(range(len(keys)))
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (_, row) in enumerate(comparison.iterrows()):
        p = [float(row[f"prob_met_{t}"]) for t in keys]
        low = [v - float(row[f"prob_met_{t}_ci_low"]) for v, t in zip(p, keys, strict=True)]
        high = [float(row[f"prob_met_{t}_ci_high"]) - v for v, t in zip(p, keys, strict=True)]
        xs = [v - 0.4 + width * (i + 0.5) for v in x]
        color = colors[i % len(colors)]
        ax.bar(
            xs,
            p,
            width=width * 0.9,
            color=color,
            label=str(row["scenario"]),
            yerr=[low, high],
            capsize=3,
            error_kw={"lw": 0.8, "ecolor": "0.3"},
        )
        for xv, v in zip(xs, p, strict=True):
            ax.text(xv, v + 0.01, f"{v:.2f}", ha="center", va="bottom", fontsize=7, color=color)
        years = sorted(
            int(c.rsplit("_", 1)[1])
            for c in comparison.columns
            if c.startswith("median_cumulative_exited_people_")
        )
        if years:
            ax2.plot(
                years,
                [row[f"median_cumulative_exited_people_{y}"] / 1000 for y in years],
                marker="o",
                color=color,
                label=str(row["scenario"]),
            )
    ax.set_xticks(x)
    ax.set_xticklabels([t if t != "all" else "all plan\ntargets" for t in keys])
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("probability of meeting the cumulative target")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, title="scenario", title_fontsize=8, loc="upper right")
    ax.set_title("P(target met), 95% Wilson interval", fontsize=10)
    if targets:
        ty = sorted(targets)
        ax2.step(
            ty,
            [targets[y] / 1000 for y in ty],
            where="mid",
            color="tab:red",
            linestyle="--",
            label="cumulative target",
        )
    ax2.set_ylim(bottom=0)
    ax2.xaxis.get_major_locator().set_params(integer=True)
    ax2.set_xlabel("year (December assessment)")
    ax2.set_ylabel("median cumulative exits (thousands)")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    ax2.set_title("Median cumulative exits", fontsize=10)
    fig.suptitle("Scenarios on the same seeds")
    fig.tight_layout()
    return fig


def sensitivity_bars(sensitivity: pd.DataFrame, top: int = 15) -> Figure:
    """Global sensitivity indices as horizontal bars, one panel per outcome.

    Sobol tables (``S1, S1_conf, ST, ST_conf``) show total and first-order indices; Morris
    tables (``mu_star, mu_star_conf, sigma``) show mu* and sigma. Parameters are sorted by ST
    (or mu*), the ``top`` largest shown.

    Args:
        sensitivity: A ``sensitivity.csv`` table (``outcome, parameter, ...``).
        top: Parameters shown per outcome.

    Returns:
        The figure.
    """
    sobol = "ST" in sensitivity.columns
    outcomes = list(dict.fromkeys(sensitivity["outcome"]))
    n_rows = max((min(top, int((sensitivity["outcome"] == o).sum())) for o in outcomes), default=1)
    n_panels = max(len(outcomes), 1)
    fig = Figure(figsize=(8.5, n_panels * (1.4 + 0.34 * n_rows)))
    axes = fig.subplots(n_panels, 1, squeeze=False)
    for ax, outcome in zip(axes[:, 0], outcomes, strict=False):
        t = sensitivity[sensitivity["outcome"] == outcome]
        key = "ST" if sobol else "mu_star"
        t = t.assign(_rank=t[key].fillna(-1.0)).sort_values("_rank", ascending=False).head(top)
        t = t.iloc[::-1]
        y = list(range(len(t)))
        if sobol:
            ax.barh(
                [v + 0.2 for v in y],
                t["ST"],
                height=0.4,
                xerr=t["ST_conf"],
                color="tab:blue",
                label="total (ST)",
                error_kw={"lw": 0.8},
            )
            ax.barh(
                [v - 0.2 for v in y],
                t["S1"],
                height=0.4,
                xerr=t["S1_conf"],
                color="tab:orange",
                label="first order (S1)",
                error_kw={"lw": 0.8},
            )
            ax.set_xlabel("Sobol index (95% bootstrap CI)")
        else:
            ax.barh(
                [v + 0.2 for v in y],
                t["mu_star"],
                height=0.4,
                xerr=t["mu_star_conf"],
                color="tab:blue",
                label="mu* (mean |elementary effect|)",
                error_kw={"lw": 0.8},
            )
            ax.barh(
                [v - 0.2 for v in y],
                t["sigma"],
                height=0.4,
                color="tab:gray",
                label="sigma (interactions, non-linearity)",
            )
            ax.set_xlabel(f"Morris elementary effects ({outcome} units)")
        ax.set_yticks(y)
        ax.set_yticklabels(t["parameter"], fontsize=8)
        if not (np.abs(t[key].to_numpy(dtype=float)) > 0).any():
            ax.text(
                0.5,
                0.5,
                "the outcome does not vary over the sample",
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=9,
                color="0.3",
            )
        ax.axvline(0, color="black", lw=0.6)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        ax.set_title(outcome, fontsize=10)
    fig.suptitle("Global sensitivity" + (" (Sobol)" if sobol else " (Morris)"))
    fig.tight_layout()
    return fig


def prior_posterior(
    posterior: pd.DataFrame, bounds: dict[str, tuple[float, float]], bins: int = 20
) -> Figure:
    """Prior against posterior for each calibrated parameter, one panel each.

    Args:
        posterior: One row per particle: ``weight`` and one column per parameter (dotted path).
        bounds: Each parameter's prior range ``(low, high)``; the prior is uniform over it.
        bins: Histogram bins over the prior range.

    Returns:
        The figure: the uniform prior density as a line, the weighted posterior as a
        histogram, and the posterior's 90% credible interval as a band.
    """
    names = [n for n in posterior.columns if n != "weight"]
    n_cols = min(3, max(len(names), 1))
    n_rows = max(1, -(-len(names) // n_cols))
    fig = Figure(figsize=(3.6 * n_cols, 2.8 * n_rows + 0.6))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    weights = posterior["weight"].to_numpy(dtype=float)
    weights = weights / weights.sum() if weights.sum() > 0 else weights
    for ax, name in zip(axes.flat, names, strict=False):
        low, high = bounds[name]
        values = posterior[name].to_numpy(dtype=float)
        edges = np.linspace(low, high, bins + 1)
        ax.hist(
            values,
            bins=edges,
            weights=weights,
            density=True,
            color=MODEL_COLOUR,
            alpha=0.7,
            label="posterior",
        )
        ax.plot(
            [low, low, high, high],
            [0, 1 / (high - low), 1 / (high - low), 0],
            color="0.3",
            lw=1.2,
            ls="--",
            label="prior (uniform)",
        )
        order = np.argsort(values, kind="stable")
        cum = np.cumsum(weights[order])
        lo = values[order][min(int(np.searchsorted(cum, 0.05)), len(values) - 1)]
        hi = values[order][min(int(np.searchsorted(cum, 0.95)), len(values) - 1)]
        ax.axvspan(lo, hi, color=MODEL_COLOUR, alpha=0.12, label="90% credible interval")
        ax.set_title(name, fontsize=9)
        ax.set_xlim(low, high)
        ax.set_ylabel("density", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    if names:
        axes.flat[0].legend(fontsize=7)
    fig.suptitle("What did calibration learn about each parameter? Prior against posterior")
    fig.tight_layout()
    return fig


def calibration_predictive(table: pd.DataFrame) -> Figure:
    """The posterior predictive against every observation, one panel each.

    Args:
        table: A ``calibration.csv`` table (``scope, year, metric, observed, median, low_90,
            high_90``).

    Returns:
        The figure: the model's median and 90% interval as a bar, the observation as a point.
    """
    n = max(len(table), 1)
    n_cols = min(4, n)
    n_rows = -(-n // n_cols)
    fig = Figure(figsize=(2.9 * n_cols, 2.6 * n_rows + 0.6))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for ax, (_, r) in zip(axes.flat, table.iterrows(), strict=False):
        ax.errorbar(
            [0],
            [r["median"]],
            yerr=[[r["median"] - r["low_90"]], [r["high_90"] - r["median"]]],
            fmt="o",
            color=MODEL_COLOUR,
            capsize=6,
            label="model: median, 90% interval",
        )
        ax.plot([0], [r["observed"]], marker="D", color=TARGET_COLOUR, ls="none", label="observed")
        ax.set_xlim(-1, 1)
        ax.set_xticks([])
        ax.yaxis.set_major_formatter(_thousands)
        ax.tick_params(labelsize=7)
        ax.set_title(f"{r['scope']}\n{r['metric']} {int(r['year'])}", fontsize=7)
    for ax in list(axes.flat)[len(table) :]:
        ax.set_visible(False)
    if len(table):
        axes.flat[0].legend(fontsize=6, loc="best")
    fig.suptitle("Does the calibrated model reproduce each observation? Posterior predictive")
    fig.tight_layout()
    return fig


def model_probabilities(probabilities: pd.DataFrame, title: str = "") -> Figure:
    """Posterior probability of each model, generation by generation, of an ABC model choice.

    Args:
        probabilities: A ``model_probabilities.csv`` table: ``generation, model, scenario,
            probability`` (one row per generation and model; 0 once a model has died out).
        title: The observations fitted, for the second title line.

    Returns:
        The figure: one line per model (its scenario's name) over the generations, the last
        value written beside it, and the uniform model prior as a dotted line.
    """
    fig = Figure(figsize=FIGSIZE)
    ax = fig.subplots()
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    models = probabilities.drop_duplicates("model").sort_values("model")
    for i, (_, m) in enumerate(models.iterrows()):
        rows = probabilities[probabilities["model"] == m["model"]].sort_values("generation")
        x = rows["generation"].to_numpy(dtype=int) + 1
        y = rows["probability"].to_numpy(dtype=float)
        color = colors[i % len(colors)]
        ax.plot(x, y, marker="o", color=color, linewidth=2, label=str(m["scenario"]))
        if len(x):
            ax.annotate(
                f"{y[-1]:.2f}",
                (x[-1], y[-1]),
                xytext=(6, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
                color=color,
            )
    if len(models):
        ax.axhline(1.0 / len(models), color="0.4", linestyle=":", label="model prior (uniform)")
        last = int(probabilities["generation"].max()) + 1
        ax.set_xlim(0.7, last + 0.45)
    ax.set_ylim(-0.02, 1.05)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("ABC-SMC generation")
    ax.set_ylabel("posterior model probability")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(
        _title("Which model reproduces the observations with fewer contortions?", title),
        fontsize=11,
    )
    fig.tight_layout()
    return fig


def _interval_errors(table: pd.DataFrame, value: str, low: str, high: str) -> np.ndarray:
    """Error-bar lengths (2 x rows) of ``value`` within ``[low, high]``; 0 where unknown."""
    v = table[value].to_numpy(dtype=float)
    lo = np.nan_to_num(v - table[low].to_numpy(dtype=float), nan=0.0)
    hi = np.nan_to_num(table[high].to_numpy(dtype=float) - v, nan=0.0)
    return np.vstack([np.maximum(lo, 0), np.maximum(hi, 0)])


def attribution_chart(
    table: pd.DataFrame,
    outcome: str = "cumulative_exited_people",
    year: int | None = None,
    title: str = "",
) -> Figure:
    """What each measure buys (leave one out and Shapley) and what the next million would buy.

    Left: each measure's leave-one-out effect and Shapley value on ``outcome`` in ``year`` with
    their 95% intervals. Right: for each use of the special fund, the change in the outcome per
    extra million yuan actually spent when its earmark grows, beside what each million it spent
    bought on average (leave one out over its spend), both with 95% delta-method intervals.

    Args:
        table: An ``attribution.csv`` table (``measure, outcome, year, loo_effect, loo_low,
            loo_high, shapley, shapley_low, shapley_high, loo_per_million_yuan...,
            marginal_effect, marginal_per_million_yuan, marginal_per_million_low,
            marginal_per_million_high``).
        outcome: The outcome shown.
        year: The year shown (default: the table's last year).
        title: Second line of the title (scenario, scale, replicates).

    Returns:
        The figure.
    """
    t = table[table["outcome"] == outcome]
    if year is None and not t.empty:
        year = int(t["year"].max())
    t = t[t["year"] == year].iloc[::-1]
    fig = Figure(figsize=(10.0, 1.6 + 0.42 * max(len(t), 1)))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1.0]})
    y = np.arange(len(t))
    left.barh(
        y + 0.2,
        t["loo_effect"],
        height=0.4,
        xerr=_interval_errors(t, "loo_effect", "loo_low", "loo_high"),
        color=MODEL_COLOUR,
        label="leave one out (full minus without it)",
        error_kw={"lw": 0.8},
    )
    if "shapley" in t and t["shapley"].notna().any():
        left.barh(
            y - 0.2,
            t["shapley"].fillna(0.0),
            height=0.4,
            xerr=_interval_errors(t, "shapley", "shapley_low", "shapley_high"),
            color="tab:orange",
            label="Shapley value (adds up to the total)",
            error_kw={"lw": 0.8},
        )
    left.set_yticks(y)
    left.set_yticklabels(t["measure"], fontsize=9)
    left.axvline(0, color="black", lw=0.6)
    left.grid(axis="x", alpha=0.3)
    left.xaxis.set_major_formatter(_thousands)
    left.set_xlabel(f"{outcome.replace('_', ' ')} in {year} due to the measure (95% CI)")
    left.legend(fontsize=8, loc="upper right")
    left.set_title("What each measure buys", fontsize=10)
    has_loo = "loo_per_million_yuan" in t and t["loo_per_million_yuan"].notna().any()
    has_marginal = "marginal_per_million_yuan" in t
    if has_loo:
        right.barh(
            y + 0.2,
            t["loo_per_million_yuan"].fillna(0.0),
            height=0.4,
            xerr=_interval_errors(
                t, "loo_per_million_yuan", "loo_per_million_low", "loo_per_million_high"
            ),
            color=MODEL_COLOUR,
            label="per million yuan it spent (leave one out)",
            error_kw={"lw": 0.8},
        )
    if has_marginal:
        right.barh(
            y - 0.2,
            t["marginal_per_million_yuan"].fillna(0.0),
            height=0.4,
            xerr=_interval_errors(
                t,
                "marginal_per_million_yuan",
                "marginal_per_million_low",
                "marginal_per_million_high",
            ),
            color="tab:green",
            label="per extra million when its earmark grows",
            error_kw={"lw": 0.8},
        )
        unspent = t["marginal_per_million_yuan"].isna() & t["marginal_effect"].notna()
        for k in np.flatnonzero(unspent.to_numpy()):
            right.text(
                0, y[k] - 0.2, " extra earmark not spent", va="center", fontsize=7, color="0.3"
            )
    right.set_yticks(y)
    right.set_yticklabels(t["measure"], fontsize=9)
    right.axvline(0, color="black", lw=0.6)
    right.grid(axis="x", alpha=0.3)
    right.set_xlabel(f"{outcome.replace('_', ' ')} per million yuan (95% CI)")
    right.set_title("Per million yuan: on average, and the next million", fontsize=10)
    if has_loo or has_marginal:
        right.legend(fontsize=8, loc="lower right")
    fig.suptitle(
        _title("What does each measure buy, and what would the next million buy?", title),
        fontsize=11,
    )
    fig.tight_layout()
    return fig


def discovery_figure(
    trajectory: pd.DataFrame, boxes: pd.DataFrame, title: str = "", subtitle: str = ""
) -> Figure:
    """PRIM's peeling trajectory (coverage against density) and the limits of the first box.

    Args:
        trajectory: ``box, step, coverage, density, restricted, selected`` (one row per box on
            each trajectory).
        boxes: ``box, uncertainty, lower, upper, prior_low, prior_high, qp_lower, qp_upper``
            (one row per box and restricted uncertainty).
        title: What the boxes are for (e.g. the condition).
        subtitle: Where the replicates come from.

    Returns:
        The figure: left, every box of the first trajectory coloured by the number of
        uncertainties it restricts, the reported one circled; right, the first box's limits as
        shares of each prior range (grey: the full range), with the quasi-p values.
    """
    fig = Figure(figsize=(11.0, 4.8))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
    first = trajectory[trajectory["box"] == trajectory["box"].min()] if len(trajectory) else None
    first = trajectory if first is None else first
    if len(first):
        points = left.scatter(
            first["coverage"], first["density"], c=first["restricted"], cmap="viridis", s=18
        )
        chosen = first[first["selected"].astype(bool)]
        left.scatter(
            chosen["coverage"], chosen["density"], s=140, facecolors="none", edgecolors="red",
            label="reported box",
        )  # fmt: skip
        fig.colorbar(points, ax=left, label="uncertainties restricted")
        left.legend(fontsize=8, loc="lower left")
    else:
        left.text(0.5, 0.5, "no box found", ha="center", va="center", transform=left.transAxes)
    left.set_xlabel("coverage (share of the cases of interest in the box)")
    left.set_ylabel("density (share of the box that are cases)")
    left.set_xlim(0, 1.02)
    left.set_ylim(0, 1.02)
    left.grid(alpha=0.3)
    left.set_title("peeling trajectory", fontsize=10)
    limits = boxes[boxes["box"] == boxes["box"].min()] if len(boxes) else boxes
    if len(limits):
        span = (limits["prior_high"] - limits["prior_low"]).replace(0, np.nan)
        low = ((limits["lower"] - limits["prior_low"]) / span).clip(0, 1).fillna(0)
        high = ((limits["upper"] - limits["prior_low"]) / span).clip(0, 1).fillna(1)
        y = np.arange(len(limits))[::-1]
        right.barh(y, np.ones(len(limits)), color="0.88", height=0.6)
        right.barh(y, high - low, left=low, color=MODEL_COLOUR, height=0.6)
        labels = []
        for (_, row), yi in zip(limits.iterrows(), y, strict=True):
            right.text(0.0, yi + 0.36, f"{row['prior_low']:.3g}", fontsize=7, color="0.3")
            right.text(1.0, yi + 0.36, f"{row['prior_high']:.3g}", fontsize=7, color="0.3",
                       ha="right")  # fmt: skip
            qp = np.nanmax([row.get("qp_lower", np.nan), row.get("qp_upper", np.nan), -1.0])
            note = f" (qp {qp:.2g})" if qp >= 0 else ""
            labels.append(f"{row['uncertainty']}\n[{row['lower']:.3g}, {row['upper']:.3g}]{note}")
        right.set_yticks(y)
        right.set_yticklabels(labels, fontsize=7)
        first_row = limits.iloc[0]
        right.set_title(
            f"box 1: coverage {first_row['coverage']:.2f}, density {first_row['density']:.2f}, "
            f"mass {first_row['mass']:.2f}",
            fontsize=10,
        )
    else:
        right.text(0.5, 0.5, "no box reaches the density asked", ha="center", va="center",
                   transform=right.transAxes)  # fmt: skip
        right.set_yticks([])
    right.set_xlim(0, 1)
    right.set_xlabel("limits as a share of the prior range (grey: the whole range)")
    fig.suptitle(_title(title, subtitle) if title else subtitle, fontsize=11)
    fig.tight_layout()
    return fig


#: The feedback mechanisms' annual metrics :func:`feedback_table` shows (medians over
#: replicates), in its column order: exit verification's, then the living register's.
FEEDBACK_VERIFICATION_METRICS = (
    "reported_exited_people",
    "cumulative_exited_people",
    "income_verified_exited_people",
)
FEEDBACK_REGISTER_METRICS = ("registered_people", "added_people", "removed_people")


def feedback_table(quantiles: pd.DataFrame, probabilities: pd.DataFrame) -> pd.DataFrame:
    """Reported against income-verified exits, the targets and the register, year by year.

    With exit verification on, the counties *report* exits on the income they see, the
    cumulative exits *counted on paper* are those that stand after the sample check, and the
    *income-verified* exits are those whose true income and guarantees meet the rule; the
    target is met on paper or in income accordingly. With the living register on, the register
    changes size each year. Nothing here is drawn: the table only arranges an ensemble's
    statistics.

    Args:
        quantiles: An ensemble's long table of annual metrics (``metric, year, q50, ...``).
        probabilities: An ensemble's probability table (``year, target_cumulative_people,
            probability_met`` and, with verification on, ``probability_met_in_income``).

    Returns:
        One row per year of ``quantiles``: ``year``, ``target_cumulative_people`` (NaN in a
        year without a target), then the medians over replicates of
        ``reported_exited_people`` (this year), ``cumulative_exited_people`` (counted on
        paper) and ``income_verified_exited_people`` and the probabilities
        ``probability_met`` (on paper) and ``probability_met_in_income`` when verification is
        on; the medians of ``registered_people``, ``added_people`` and ``removed_people``
        when the living register is on. Empty (no columns) when neither mechanism is on.
    """
    present = set(quantiles["metric"])
    verification = "income_verified_exited_people" in present
    register = "registered_people" in present
    if not verification and not register:
        return pd.DataFrame()
    medians = quantiles.pivot_table(index="year", columns="metric", values="q50", aggfunc="first")
    years = [int(y) for y in medians.index]
    by_year = probabilities[probabilities["year"].map(lambda y: str(y).isdigit())].copy()
    by_year["year"] = by_year["year"].astype(int)
    by_year = by_year.set_index("year")
    table = pd.DataFrame({"year": years})
    targets = by_year["target_cumulative_people"].astype("float")
    table["target_cumulative_people"] = [targets.get(y, np.nan) for y in years]
    metrics: list[str] = []
    if verification:
        metrics += [m for m in FEEDBACK_VERIFICATION_METRICS if m in present]
    if register:
        metrics += [m for m in FEEDBACK_REGISTER_METRICS if m in present]
    for metric in metrics:
        table[metric] = medians[metric].reindex(years).to_numpy(dtype=float)
        if metric == "income_verified_exited_people":
            for column in ("probability_met", "probability_met_in_income"):
                if column in by_year:
                    values = by_year[column].astype(float)
                    table[column] = [values.get(y, np.nan) for y in years]
    return table
