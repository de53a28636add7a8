"""Validation against observed data: the model's value and 90% interval beside each observation.

The observed file is a CSV with columns ``year,metric,value[,source]``, where ``metric`` names a
numeric metric of the annual table in the catalogue of metrics
(:func:`model.results.metrics.validation_metrics`: ``cumulative_exited_people``,
``villages_exited``, ``mean_per_capita_income_poor``...; see ``docs/outputs.md``). For an
ensemble (a folder with ``replicates.parquet``) the model's median and 5-95% interval come from
the replicates of that year (linear interpolation between order statistics, numpy's default);
for a single run all three are the run's value.

Only data from 2016 on serve here: the model is calibrated to the plan and to 2015 or earlier.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from model.results.folder import ResultsFolder, ResultsFolderError
from model.results.metrics import validation_metrics

#: Columns of ``validation.csv``, in order.
COLUMNS = ["year", "metric", "observed", "median", "low_90", "high_90", "inside_90", "rel_error"]
OBSERVED_COLUMNS = ("year", "metric", "value")
OPTIONAL_OBSERVED_COLUMNS = ("source",)


class ObservedDataError(ValueError):
    """An observed-data file that cannot be used; the message names file, line and problem."""


def read_observed(path: str | Path) -> pd.DataFrame:
    """Read and check an observed-data CSV (``year,metric,value[,source]``).

    Args:
        path: The CSV file.

    Returns:
        A DataFrame with integer ``year``, string ``metric``, float ``value`` and ``source``.

    Raises:
        ObservedDataError: Missing file, wrong columns, empty file, a value that is not a number,
            a year that is not an integer, or the same year and metric twice.
    """
    path = Path(path)
    if not path.is_file():
        raise ObservedDataError(f"{path}: observed-data file not found")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ObservedDataError(f"{path}: expected CSV with a header row, found: {err}") from None
    columns = [c.strip() for c in raw.columns]
    raw.columns = columns
    missing = [c for c in OBSERVED_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in OBSERVED_COLUMNS + OPTIONAL_OBSERVED_COLUMNS]
    if missing or unknown:
        raise ObservedDataError(
            f"{path}: expected columns year,metric,value[,source], found {','.join(columns)}"
        )
    if raw.empty:
        raise ObservedDataError(f"{path}: expected at least one observation, found none")
    rows = []
    for i, r in raw.iterrows():
        line = int(i) + 2  # header is line 1
        year_text, metric, value_text = r["year"].strip(), r["metric"].strip(), r["value"].strip()
        try:
            year = int(year_text)
        except ValueError:
            raise ObservedDataError(
                f"{path}, line {line}: year: expected an integer, found {year_text!r}"
            ) from None
        try:
            value = float(value_text)
        except ValueError:
            value = float("nan")
        if not np.isfinite(value):
            raise ObservedDataError(
                f"{path}, line {line}: value: expected a finite number, found {value_text!r}"
            )
        if not metric:
            raise ObservedDataError(f"{path}, line {line}: metric: expected a name, found none")
        source = r["source"].strip() if "source" in raw.columns else ""
        rows.append(
            {"year": year, "metric": metric, "value": value, "source": source, "line": line}
        )
    observed = pd.DataFrame(rows)
    duplicated = observed[observed.duplicated(["year", "metric"], keep="first")]
    if not duplicated.empty:
        first = duplicated.iloc[0]
        raise ObservedDataError(
            f"{path}, line {first['line']}: expected one value per year and metric, found "
            f"{first['metric']} {first['year']} twice"
        )
    return observed


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
        if r["metric"] not in known:
            raise ObservedDataError(
                f"{where}: metric {r['metric']!r} is not a numeric column of the annual table; "
                f"expected one of {', '.join(known)} (docs/outputs.md)"
            )
        if r["metric"] not in table or not table[r["metric"]].notna().any():
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
    table, ensemble = _model_table(results)
    _check_against(observed, table, Path(observed_path))
    rows = []
    for _, r in observed.iterrows():
        values = table.loc[table["year"] == r["year"], r["metric"]].dropna().astype(float)
        if ensemble:
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
