"""Metrics of a run: recorded as a few scalars per month, built into tidy DataFrames once.

A results folder holds ``annual.parquet``, ``monthly.parquet``, ``by_county.parquet``,
``by_group.parquet``, ``income_percentiles.parquet``, ``by_party.parquet``, ``summary.csv``,
``manifest.json`` and ``exits_vs_targets.png``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    pass

#: Version of the results-folder layout; readers refuse folders of another version.
SCHEMA_VERSION = 1

SUMMARY_COLUMNS = [
    "year",
    "target_cumulative_people",
    "cumulative_exited_people",
    "target_met",
    "exited_people",
    "relapsed_people",
    "remaining_poor_people",
    "villages_exited",
    "mean_per_capita_income_poor",
    "exit_income_line",
]


#: below this many values numpy's stable sort itself is quicker than the runs put right
STABLE_SORT_DIRECT = 2_048


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")``, found faster for a large float array.

    numpy's default sort (several times faster than its stable sort on floats) orders the
    values; the runs of equal values are then put back in index order, which gives the stable
    order exactly. With a NaN (which only the stable sort orders by index) the stable sort runs.
    """
    if values.size < STABLE_SORT_DIRECT:
        return np.argsort(values, kind="stable")
    order = np.argsort(values)
    ordered = values[order]
    if ordered[-1] != ordered[-1]:  # a NaN: the sorts put NaN last
        return np.argsort(values, kind="stable")
    tied = ordered[1:] == ordered[:-1]
    if not tied.any():
        return order
    in_run = np.zeros(order.size, dtype=bool)
    in_run[1:] |= tied
    in_run[:-1] |= tied
    at = np.flatnonzero(in_run)
    run = np.concatenate(([0], np.cumsum(~tied)))[at]
    order[at] = order[at[np.lexsort((order[at], run))]]
    return order


def weighted_median(
    values: np.ndarray, weights: np.ndarray, order: np.ndarray | None = None
) -> float:
    """Median of ``values`` where each value counts ``weights`` times (people per household).

    ``order``: the stable ascending order of ``values`` (or of the subset to use), when known.
    """
    return weighted_percentiles(values, weights, (50,), order)[0]


#: Percentiles of per-capita income recorded each December (``income_percentiles`` table).
INCOME_PERCENTILES = (5, 10, 25, 50, 75, 90, 95)


def weighted_percentiles(
    values: np.ndarray,
    weights: np.ndarray,
    percentiles: tuple[int, ...] = INCOME_PERCENTILES,
    order: np.ndarray | None = None,
) -> list[float]:
    """Percentiles of ``values`` where each value counts ``weights`` times.

    The ``p``-th percentile is the smallest value whose cumulative weight reaches ``p``% of the
    total, so percentile 50 is the median (:func:`weighted_median`).

    Args:
        values: The values.
        weights: The weight of each value (integers: people per household).
        percentiles: The percentiles wanted, 0-100.
        order: Indices of the values to use in stable ascending order of value, when known
            (for a subset, the full set's order with the others left out: the same order as
            sorting the subset); default all of them, sorted here.
    """
    if order is None:
        order = stable_argsort(values)
    if order.size == 0:
        return [float("nan")] * len(percentiles)
    cum = np.cumsum(weights[order])
    idx = np.searchsorted(cum, cum[-1] * np.asarray(percentiles, dtype=float) / 100.0)
    return [float(v) for v in values[order[np.minimum(idx, order.size - 1)]]]


#: Column of a spend table that holds the money lost to leakage (``("leaked", "")`` by source).
LEAKED = "leaked"


def spend_by_year(
    ledger: pd.DataFrame | None,
    by: str = "source",
    *,
    leaked: bool = False,
    monthly: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Yuan spent per year by source or by use: the one aggregation of a run's spend.

    Args:
        ledger: The money ledger (``fund, source, use, kind, year, amount``); may be None.
        by: ``"source"`` (columns ``(fund, source)``) or ``"use"`` (one column per measure, in
            the measures' monthly order).
        leaked: Add the money lost to leakage as a last column, ``"leaked"`` by use and
            ``("leaked", "")`` by source; the other columns count money spent only.
        monthly: The monthly table: by use, its ``spend_<measure>`` columns summed by year
            stand in for a ledger without spending (then nothing is leaked).

    Returns:
        One row per year (the index), one column per source or use; zeros where nothing was
        spent. Empty when there is nothing to aggregate.

    Raises:
        ValueError: ``by`` is neither ``"source"`` nor ``"use"``.
    """
    if by not in ("source", "use"):
        raise ValueError(f"by: expected 'source' or 'use', found {by!r}")
    has_ledger = ledger is not None and not ledger.empty
    spent = ledger[ledger["kind"] == "spent"] if has_ledger else None
    if spent is None or spent.empty:
        cols = [] if monthly is None else [c for c in monthly.columns if c.startswith("spend_")]
        if by == "source" or not cols:
            return pd.DataFrame()
        table = monthly.groupby("year")[cols].sum()
        table.columns = [c.removeprefix("spend_") for c in cols]
        return table
    cols = ["fund", "source"] if by == "source" else ["use"]
    table = spent.pivot_table(index="year", columns=cols, values="amount", aggfunc="sum")
    table = table.fillna(0.0)
    if by == "use":
        from model.results.metrics import enabled_measures

        order = {name: k for k, name in enumerate(enabled_measures())}
        table = table[sorted(table.columns, key=lambda c: (order.get(c, len(order)), str(c)))]
    if leaked:
        lost = ledger[ledger["kind"] == "leaked"].groupby("year")["amount"].sum()
        table = table.reindex(table.index.union(lost.index), fill_value=0.0)
        table[(LEAKED, "") if by == "source" else LEAKED] = lost.reindex(
            table.index, fill_value=0.0
        )
    return table


def across_replicates(
    table: pd.DataFrame, keys: list[str], column: str, band: tuple[float, float] = (0.05, 0.95)
) -> pd.DataFrame:
    """Median and band of ``column`` across the replicates of an ensemble, per ``keys``.

    Args:
        table: Rows of every replicate (a ``replicate`` column and ``keys``).
        keys: The columns that identify a row within a replicate (``year``, ``county``...).
        column: The value summarised.
        band: Lower and upper quantiles of the band (numpy's linear interpolation).

    Returns:
        ``keys``, ``median``, ``low``, ``high``: one row per combination of keys, sorted.
    """
    grouped = table.groupby(keys, sort=True)[column]
    out = grouped.median().rename("median").to_frame()
    out["low"] = grouped.quantile(band[0])
    out["high"] = grouped.quantile(band[1])
    return out.reset_index()


def ensemble_spend(
    replicate_ledger: pd.DataFrame, band: tuple[float, float] = (0.05, 0.95)
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Spend of an ensemble: mean by source and by use, and the band of the yearly total.

    Args:
        replicate_ledger: Money spent or leaked per ``replicate`` (``fund, source, use, kind,
            year, amount``), as an ensemble folder keeps it.
        band: Lower and upper quantiles of the yearly total across replicates.

    Returns:
        ``(by_source, by_use, totals)``: the replicates' mean spend per year by source and by
        use as :func:`spend_by_year` gives them (leakage apart), and ``low``/``high`` of each
        year's total (spent and leaked) across replicates (index: year; a replicate that spent
        nothing in a year counts as 0).
    """
    n = replicate_ledger["replicate"].nunique()
    keys = ["fund", "source", "use", "kind", "year"]
    mean = replicate_ledger.groupby(keys, as_index=False)["amount"].sum()
    mean["amount"] = mean["amount"] / max(n, 1)
    totals = (
        replicate_ledger[replicate_ledger["kind"].isin(["spent", "leaked"])]
        .pivot_table(index="replicate", columns="year", values="amount", aggfunc="sum")
        .fillna(0.0)
    )
    totals = totals.reindex(replicate_ledger["replicate"].unique(), fill_value=0.0)
    bands = pd.DataFrame(
        {"low": totals.quantile(band[0]), "high": totals.quantile(band[1])}, index=totals.columns
    )
    return (
        spend_by_year(mean, "source", leaked=True),
        spend_by_year(mean, "use", leaked=True),
        bands,
    )


def package_version() -> str:
    """Installed version of the package (or the source tree's)."""
    try:
        from importlib.metadata import version

        return version("shaoguan-poverty-abm")
    except Exception:  # noqa: BLE001 - running from a source tree without installing
        return "0+unknown"


def git_commit() -> str | None:
    """Commit of the source tree the package runs from, if it is a git checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@dataclass
class RunResult:
    """Results of one run: tidy DataFrames plus the manifest that reproduces them.

    Attributes:
        annual: One row per year: exits against targets, villages, incomes, poverty gap.
        monthly: One row per month: remaining poor, exits, jobs, enrolments, spend.
        by_county: One row per year and county-level unit.
        by_group: One row per year and household group (§II.9), with income components.
        by_measure: One row per year and measure: enrolment, spend, exits per million yuan.
        ledger: Every movement of money: ``fund, source, use, kind, year, month, county,
            amount`` (yuan; kind = received, spent, leaked or unspent).
        funding: One row per (fund, source): ``received, spent, leaked, unspent`` (yuan).
        manifest: Resolved scenario, seed, versions and timings.
        income_percentiles: One row per year, population (``registered``, ``labour_capable``,
            ``no_labour``) and percentile: people-weighted per-capita income (yuan/person/year).
        by_party: One row per year and assisting party of the poor villages (§II.9):
            villages (exited), registered people living there (exited), their mean per-capita
            income and that of the labour-capable among them (yuan/person/year).

    Example:
        >>> result = model.run("scenarios/baseline.toml", seed=1, population_scale=0.1)
        >>> result.summary()                    # targets against outcomes, by year
        >>> result.spend_by("source")           # yuan spent per year by fund and source
        >>> result.outcomes()["all_targets_met"]
        >>> result.write("results/my_run")      # Parquet, CSV, manifest.json, figure
    """

    annual: pd.DataFrame
    monthly: pd.DataFrame
    by_county: pd.DataFrame
    by_group: pd.DataFrame
    by_measure: pd.DataFrame = field(default_factory=pd.DataFrame)
    ledger: pd.DataFrame = field(default_factory=pd.DataFrame)
    funding: pd.DataFrame = field(default_factory=pd.DataFrame)
    manifest: dict[str, Any] = field(default_factory=dict)
    income_percentiles: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_party: pd.DataFrame = field(default_factory=pd.DataFrame)

    TABLES = ("annual", "monthly", "by_county", "by_group", "by_measure", "ledger")
    #: Tables written when not empty and read when present.
    OPTIONAL_TABLES = ("income_percentiles", "by_party")

    def spend_by(self, key: str, leaked: bool = False) -> pd.DataFrame:
        """Yuan spent per year by ``"source"`` (with its fund) or by ``"use"``, one column each.

        See :func:`spend_by_year`; ``leaked`` adds the money lost to leakage as a last column.
        """
        return spend_by_year(self.ledger, key, leaked=leaked, monthly=self.monthly)

    def summary(self) -> pd.DataFrame:
        """The annual targets against the outcomes (what ``shaoguan-abm run`` prints)."""
        return self.annual[[c for c in SUMMARY_COLUMNS if c in self.annual]].copy()

    @property
    def total_spend(self) -> float:
        """Yuan spent by every measure over the horizon (sum of the monthly spend columns)."""
        return total_spend(self.monthly)

    def outcomes(self) -> dict[str, float]:
        """Scalar outcomes of the run, named for ensembles and sweeps (see ``docs/outputs.md``).

        The names are those of :func:`model.results.metrics.outcome_names`:
        ``cumulative_exited_people_<year>``, ``target_met_<year>`` (1/0), ``villages_exited_<year>``
        and ``poverty_gap_<year>`` for every year (with exit verification on, also
        ``income_verified_target_met_<year>``, 1/0); ``all_targets_met`` (1/0 over the years that
        have a target); ``total_spend`` (yuan); ``cost_per_exit`` (total spend over people exited
        at the end of the plan, 2018) and ``cost_per_sustained_exit`` (over people still out of
        poverty at the end of the horizon).
        """
        plan_years = (
            self.manifest.get("scenario", {}).get("targets", {}).get("cumulative_people", {})
        )
        return run_outcomes(self.annual, self.monthly, plan_years)

    def write(self, out_dir: str | Path, figure: bool = True) -> Path:
        """Write the results folder atomically: into a temporary folder, renamed when complete.

        The folder is held with :func:`model.results.safety.output_lock` while it is written, so two
        writers never interleave, and a destination that is a file or a folder of other files
        is refused.

        Args:
            out_dir: Destination folder; replaced if it holds an earlier run.
            figure: Also draw ``exits_vs_targets.png``.

        Returns:
            The folder written.

        Raises:
            model.safety.OutputError: If ``out_dir`` cannot be a results folder.
            model.safety.OutputBusy: If another process is writing the same folder.
        """
        from model.results.safety import output_lock

        with output_lock(out_dir) as out:
            return self._write_unlocked(out, figure)

    def _write_unlocked(self, out_dir: str | Path, figure: bool) -> Path:
        out = Path(out_dir)
        out.parent.mkdir(parents=True, exist_ok=True)
        # like tempfile.mkdtemp, but with the user's umask (mkdtemp makes the folder private)
        tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        tmp.mkdir()
        try:
            for name in self.TABLES:
                getattr(self, name).to_parquet(tmp / f"{name}.parquet", index=False)
            for name in self.OPTIONAL_TABLES:
                if not getattr(self, name).empty:
                    getattr(self, name).to_parquet(tmp / f"{name}.parquet", index=False)
            self.summary().to_csv(tmp / "summary.csv", index=False)
            self.funding.to_csv(tmp / "funding.csv", index=False)
            if figure:
                from model.reporting.figures import exits_vs_targets

                fig = exits_vs_targets(self.annual, title=self.manifest.get("scenario_name", ""))
                fig.savefig(tmp / "exits_vs_targets.png", dpi=120, bbox_inches="tight")
                import matplotlib.pyplot as plt

                plt.close(fig)
            manifest = dict(
                self.manifest, written_utc=datetime.now(UTC).isoformat(timespec="seconds")
            )
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
            if out.exists():
                trash = out.parent / f".{out.name}.old-{os.getpid()}-{time.time_ns()}"
                out.rename(trash)
                tmp.rename(out)
                shutil.rmtree(trash, ignore_errors=True)
            else:
                tmp.rename(out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out


def total_spend(monthly: pd.DataFrame) -> float:
    """Yuan spent by every measure over the horizon (sum of the monthly spend columns)."""
    cols = [c for c in monthly.columns if c.startswith("spend_")]
    return float(monthly[cols].to_numpy().sum()) if cols else 0.0


def run_outcomes(
    annual: pd.DataFrame, monthly: pd.DataFrame, plan_years: Collection[int | str]
) -> dict[str, float]:
    """The scalar outcomes of a run (:meth:`RunResult.outcomes`) from two of its tables.

    Args:
        annual: The run's annual table.
        monthly: Its monthly table (the spend columns).
        plan_years: The years of the plan's cumulative targets (``int`` or their text).
    """
    from model.results.metrics import PER_YEAR_SUFFIX, TARGET_OUTCOMES, per_year_outcomes

    columns = [m.name.removesuffix(PER_YEAR_SUFFIX) for m in per_year_outcomes()]
    out: dict[str, float] = {}
    for _, r in annual.iterrows():
        y = int(r["year"])
        target = r["target_cumulative_people"]
        for column in columns:
            if column not in r:  # a feedback mechanism's column: only when it is on
                continue
            if column in TARGET_OUTCOMES:
                if target is not None and target == target:  # a target in force
                    out[f"{column}_{y}"] = float(bool(r[column]))
            else:
                out[f"{column}_{y}"] = float(r[column])
    met = [out[f"target_met_{y}"] for y in map(int, plan_years) if f"target_met_{y}" in out]
    out["all_targets_met"] = float(bool(met) and all(met))
    spend = total_spend(monthly)
    out["total_spend"] = spend
    last_plan_year = max(map(int, plan_years)) if plan_years else int(annual["year"].max())
    exited_plan = out.get(f"cumulative_exited_people_{last_plan_year}", float("nan"))
    sustained = float(annual["cumulative_exited_people"].iloc[-1])
    out["cost_per_exit"] = spend / exited_plan if exited_plan else float("nan")
    out["cost_per_sustained_exit"] = spend / sustained if sustained else float("nan")
    return out


class ResultsError(ValueError):
    """A folder that is not a readable results folder of this version (bad input: exit 2)."""


def read_results(folder: str | Path) -> RunResult:
    """Read a results folder written by :meth:`RunResult.write` (or ``shaoguan-abm run``).

    Only JSON, CSV and Parquet are read; nothing in a results folder is executed.

    Args:
        folder: The folder holding ``manifest.json`` and the tables.

    Returns:
        The :class:`RunResult`, with the manifest (resolved scenario, seed, version, commit).

    Raises:
        ResultsError: If the folder is missing, is not a results folder, was written with
            another ``schema_version``, or misses or holds an unreadable table. The message
            names the folder, the file, what was expected and what was found.

    Example:
        >>> result = read_results("results/baseline/20161231-120000-seed1")
        >>> result.summary()                    # the table ``shaoguan-abm run`` printed
    """
    folder = Path(folder)
    if not folder.is_dir():
        found = "a file" if folder.exists() else "nothing"
        raise ResultsError(f"{folder}: expected a results folder, found {found}")
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise ResultsError(f"{folder}: not a results folder (expected manifest.json, found none)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ResultsError(
            f"{manifest_path}: expected JSON, found unreadable text ({err})"
        ) from None
    if not isinstance(manifest, dict):
        raise ResultsError(
            f"{manifest_path}: expected a JSON object, found {type(manifest).__name__}"
        )
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise ResultsError(
            f"{manifest_path}: schema_version: expected {SCHEMA_VERSION} (what this version "
            f"reads), found {manifest.get('schema_version')!r} (written by package version "
            f"{manifest.get('package_version', 'unknown')}); rerun the scenario with this version"
        )
    tables = {}
    for name in RunResult.TABLES:
        path = folder / f"{name}.parquet"
        if not path.is_file():
            raise ResultsError(f"{folder}: expected {path.name}, found no such file")
        try:
            tables[name] = pd.read_parquet(path)
        except Exception as err:  # noqa: BLE001 - any failure of the Parquet reader
            raise ResultsError(
                f"{path}: expected a Parquet table, found an unreadable file ({err})"
            ) from None
    for name in RunResult.OPTIONAL_TABLES:
        if (folder / f"{name}.parquet").is_file():
            tables[name] = pd.read_parquet(folder / f"{name}.parquet")
    funding_path = folder / "funding.csv"
    if not funding_path.is_file():
        raise ResultsError(f"{folder}: expected funding.csv, found no such file")
    funding = pd.read_csv(funding_path)
    return RunResult(**tables, funding=funding, manifest=manifest)
