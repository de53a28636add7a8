"""Figures. Each function takes results and returns a matplotlib Figure (never shows it)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
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


def fan_chart(
    quantiles: pd.DataFrame,
    probabilities: pd.DataFrame,
    title: str = "",
    metric: str = "cumulative_exited_people",
) -> Figure:
    """Cumulative exits of an ensemble as a fan (5-95% and 25-75% bands, median) against targets.

    Args:
        quantiles: An ensemble's ``quantiles`` table (``metric, year, mean, q05 ... q95``).
        probabilities: Its ``probabilities`` table; each year's target is drawn as a step and
            annotated with the probability of meeting it and its confidence interval.
        title: Scenario name for the title.
        metric: The metric drawn (in people; plotted in thousands).

    Returns:
        The figure.
    """
    q = quantiles[quantiles["metric"] == metric].sort_values("year")
    fig, ax = plt.subplots(figsize=(8, 4.8))
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
    ax.set_title(f"Ensemble of exits against the plan's targets{': ' + title if title else ''}")
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
    fig, (ax, ax2) = plt.subplots(
        1, 2, figsize=(6.0 + 0.45 * len(keys) * max(n_s, 1), 4.6), width_ratios=[1.6, 1]
    )
    width = 0.8 / max(n_s, 1)
    x = list(range(len(keys)))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
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
    fig, axes = plt.subplots(
        n_panels, 1, figsize=(8.5, n_panels * (1.4 + 0.34 * n_rows)), squeeze=False
    )
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
