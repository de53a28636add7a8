"""Validation against observed data: the model's value and 90% interval beside each observation.

The observed file is a CSV with columns ``scope,year,metric,value,unit,source``
(``data/observed/``) or the older ``year,metric,value[,source]``, where ``metric`` names a
numeric metric of the annual table in the catalogue of metrics
(:func:`model.results.metrics.validation_metrics`: ``cumulative_exited_people``,
``villages_exited``, ``mean_per_capita_income_poor``...; see ``docs/outputs.md``). A row
scoped to a subset of a run (``shaoguan:dongguan_villages``) is compared with that subset (the
run's ``by_party`` table); rows of another region than the run's scenario are left out
(:mod:`model.results.observed`); counts of scoped rows are compared at full population (the
run's value divided by its population scale). For an ensemble (a folder with
``replicates.parquet``) the model's median and 5-95% interval come from the replicates of that
year (linear interpolation between order statistics, numpy's default); for a single run all
three are the run's value.

Reported outcomes of Shaoguan serve here, out of sample: the calibration (``calibrate``) fits only
the observations of ``data/observed/``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from model.results import observed
from model.results import observed as observed_metrics
from model.results.folder import ResultsFolder, ResultsFolderError
from model.results.metrics import validation_metrics
from model.results.observed import ObservedDataError

__all__ = ["COLUMNS", "ObservedDataError", "compare_with_observed", "read_observed"]

#: Columns of ``validation.csv``, in order.
COLUMNS = [
    "year",
    "metric",
    "observed",
    "median",
    "low_90",
    "high_90",
    "inside_90",
    "rel_error",
    "scope",
]


def read_observed(path: str | Path) -> pd.DataFrame:
    """Read and check an observed-data CSV (either format of :mod:`model.results.observed`).

    Args:
        path: The CSV file: ``scope,year,metric,value,unit,source`` or the older
            ``year,metric,value[,source]``.

    Returns:
        A DataFrame with ``scope`` (``run`` for the old format), ``region``, ``subset``,
        integer ``year``, string ``metric``, float ``value``, ``unit``, ``source`` and ``line``.

    Raises:
        ObservedDataError: Missing file, wrong columns, empty file, an unknown scope, a value
            that is not a number, a year that is not an integer, or the same scope, year and
            metric twice.
    """
    return observed.read_observed(path)


def _model_table(results: ResultsFolder) -> tuple[pd.DataFrame, bool]:
    replicates = results.get("replicates")
    if replicates is not None:
        return replicates, True
    annual = results.get("annual")
    if annual is None:
        raise ResultsFolderError(
            f"{results.path}: expected annual.parquet (a run) or replicates.parquet (an "
            "ensemble), found neither"
        )
    return annual, False


def _check_against(observed: pd.DataFrame, table: pd.DataFrame, path: Path) -> None:
    known = validation_metrics()
    years = sorted(int(y) for y in table["year"].unique())
    for _, r in observed.iterrows():
        where = f"{path}, line {r['line']}"
        if observed_metrics.subset_of(r["subset"]) is not None:
            if r["metric"] not in observed_metrics.SUBSET_METRICS:
                raise ObservedDataError(
                    f"{where}: metric {r['metric']!r} of scope {r['scope']} is not produced by "
                    f"the model; expected one of {', '.join(observed_metrics.SUBSET_METRICS)}"
                )
        elif r["metric"] not in known:
            raise ObservedDataError(
                f"{where}: metric {r['metric']!r} is not a numeric column of the annual table; "
                f"expected one of {', '.join(known)} (docs/outputs.md)"
            )
        elif r["metric"] not in table or not table[r["metric"]].notna().any():
            raise ObservedDataError(
                f"{where}: metric {r['metric']!r} has no values in these results; expected a "
                "results folder written by this version"
            )
        if r["year"] not in years:
            raise ObservedDataError(
                f"{where}: year {r['year']} is outside the results; expected a year in "
                f"{years[0]}-{years[-1]}"
            )


def compare_with_observed(results: ResultsFolder, observed_path: str | Path) -> pd.DataFrame:
    """Compare observations with the model's results.

    Args:
        results: An opened results folder (:func:`model.results.folder.open_results`).
        observed_path: The observed-data CSV.

    Returns:
        One row per observation with the columns of :data:`COLUMNS`: the model's median and
        5-95% interval (the run's value for all three when there is one run), whether the
        observation lies inside the interval (ends included) and the relative error
        ``(median - observed) / observed`` (empty when the observation is 0).

    Raises:
        ObservedDataError: Bad observed file, unknown metric or year outside the results.
        ResultsFolderError: The folder holds neither a run nor an ensemble.
    """
    observed = read_observed(observed_path)
    region = observed_metrics.scenario_region(str(results.manifest.get("scenario_name", "")))
    observed = observed[observed["region"].isna() | (observed["region"] == region)]
    if observed.empty:
        raise ObservedDataError(
            f"{observed_path}: no observation of this run's region ({region}); a scope's region "
            "must match the scenario (a scenario named guangdong... is of Guangdong)"
        )
    table, ensemble = _model_table(results)
    _check_against(observed, table, Path(observed_path))
    scale = float(results.manifest.get("population_scale") or 1.0)
    by_party = None
    if observed["subset"].notna().any():
        by_party = results.get("by_party")
        if by_party is None or ensemble:
            raise ObservedDataError(
                f"{observed_path}: observations of a subset ({observed['scope'].iloc[0]}...) "
                f"need the by_party table of a single run; {results.path} has none"
            )
    rows = []
    for _, r in observed.iterrows():
        if observed_metrics.subset_of(r["subset"]) is not None:
            value = observed_metrics.model_value(
                table, by_party, r["subset"], r["metric"], int(r["year"]), scale
            )
            values = pd.Series([value]).dropna()
        else:
            values = table.loc[table["year"] == r["year"], r["metric"]].dropna().astype(float)
            if isinstance(r["region"], str) and r["metric"] in observed_metrics.EXTENSIVE:
                values = values / scale  # scoped rows are reported numbers: full population
        if values.empty:
            low = median = high = float("nan")
        elif ensemble:
            low, median, high = np.quantile(values.to_numpy(), [0.05, 0.5, 0.95])
        else:
            low = median = high = float(values.iloc[0])
        obs = float(r["value"])
        rows.append(
            {
                "year": int(r["year"]),
                "metric": r["metric"],
                "observed": obs,
                "median": float(median),
                "low_90": float(low),
                "high_90": float(high),
                "inside_90": bool(low <= obs <= high),
                "rel_error": (median - obs) / obs if obs != 0 else float("nan"),
                "scope": r["scope"],
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def summary_line(table: pd.DataFrame) -> str:
    """``N observations, K inside the 90% interval, median absolute relative error X%``."""
    errors = table["rel_error"].dropna().abs()
    median = f"{100 * errors.median():.1f}%" if len(errors) else "n/a"
    return (
        f"{len(table)} observations, {int(table['inside_90'].sum())} inside the 90% interval, "
        f"median absolute relative error {median}"
    )


def write_validation(table: pd.DataFrame, folder: str | Path) -> Path:
    """Write ``validation.csv`` into ``folder`` atomically (a temporary file, then renamed)."""
    target = Path(folder) / "validation.csv"
    fd, tmp = tempfile.mkstemp(prefix=".validation-", suffix=".csv", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            table.to_csv(fh, index=False)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The validation table as strings for reading (numbers rounded, not for storage)."""

    def number(v: float) -> str:
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.4g}"

    shown = table.copy()
    for col in ("observed", "median", "low_90", "high_90"):
        shown[col] = shown[col].map(number)
    shown["year"] = shown["year"].astype(str)
    shown["inside_90"] = shown["inside_90"].map({True: "yes", False: "no"})
    shown["rel_error"] = shown["rel_error"].map(lambda v: "-" if v != v else f"{100 * v:+.1f}%")
    return shown


def format_validation(table: pd.DataFrame) -> str:
    """The validation table as aligned text."""
    return display_table(table).to_string(index=False)
