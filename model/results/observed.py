"""Observed outcomes with a scope, and the model's value of each from a run.

An observed-data file is a CSV with the columns ``scope,year,metric,value,unit,source``
(``data/observed/observed_calibration.csv``); the older ``year,metric,value[,source]`` is read
too, every row then describing the whole run. A *scope* names what a row describes:

- ``REGION``: the whole simulated population of a scenario of that region (``guangdong``,
  ``shaoguan``);
- ``REGION:SUBSET``: a subset of such a run; the subsets are the poor villages of one assisting
  party (§II.9) and the registered households living in them: ``dongguan_villages``,
  ``province_villages``, ``shaoguan_villages`` (the ``by_party`` table of a run).

A scenario's region is read from its name: a scenario whose name starts with ``guangdong`` is of
Guangdong, any other of Shaoguan (:func:`scenario_region`).

A ``metric`` names a column of the annual table (or, for a subset, of the ``by_party`` table).
Counts of people, households and villages are scaled to the full population (the run's value
divided by its population scale) so that they compare with the reported numbers; incomes and
shares are not scaled. A metric the model does not produce (a name the catalogue of metrics
does not list, or ``registered_people`` of a run whose living register is off) is refused with
a message naming it, unless the caller asks to skip such rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from model.results.metrics import metrics, validation_metrics

#: Regions a scope may name.
REGIONS = ("guangdong", "shaoguan")
#: Subsets of a run a scope may name, with the assisting party of ``by_party`` they select.
SUBSETS = {
    "dongguan_villages": "dongguan",
    "province_villages": "province",
    "shaoguan_villages": "shaoguan",
}
#: Numeric columns of the annual table an observation of a whole run may name (the catalogue
#: of metrics, :func:`model.results.metrics.validation_metrics`).
ANNUAL_METRICS = tuple(validation_metrics())
#: Numeric columns of the ``by_party`` table an observation of a subset may name.
SUBSET_METRICS = tuple(m.name for m in metrics("by_party") if m.numeric)
#: Metrics that count people, households or villages (or yuan in total): scaled to the full
#: population by dividing by the run's population scale.
EXTENSIVE = frozenset(
    {
        "exited_people",
        "exited_households",
        "cumulative_exited_people",
        "cumulative_exited_households",
        "remaining_poor_people",
        "villages_exited",
        "villages_total",
        "villages",
        "relapsed_people",
        "ever_relapsed_people",
        "registered_people",
        "spend",
    }
)

NEW_COLUMNS = ("scope", "year", "metric", "value", "unit", "source")
OLD_COLUMNS = ("year", "metric", "value")


class ObservedDataError(ValueError):
    """An observed-data file that cannot be used; the message names file, line and problem."""


@dataclass(frozen=True)
class Scope:
    """What an observation describes: a region's run, or a subset of it."""

    region: str | None  # None: the whole run, whatever its region (the old format)
    subset: str | None = None

    @property
    def label(self) -> str:
        """``region`` or ``region:subset`` (``run`` for a row of the old format)."""
        if self.region is None:
            return "run"
        return self.region if self.subset is None else f"{self.region}:{self.subset}"


def parse_scope(text: str) -> Scope:
    """A scope from its text, or ``ValueError`` naming what is allowed."""
    region, _, subset = text.strip().partition(":")
    if region not in REGIONS:
        raise ValueError(f"scope {text!r}: expected a region among {', '.join(REGIONS)}")
    if subset and subset not in SUBSETS:
        raise ValueError(
            f"scope {text!r}: expected a subset among {', '.join(sorted(SUBSETS))} after ':'"
        )
    return Scope(region, subset or None)


def scenario_region(name: str) -> str:
    """The region of a scenario from its name: ``guangdong...`` is Guangdong, else Shaoguan."""
    return "guangdong" if name.startswith("guangdong") else "shaoguan"


def read_observed(path: str | Path) -> pd.DataFrame:
    """Read and check an observed-data CSV of either format.

    Args:
        path: The CSV file.

    Returns:
        One row per observation: ``scope`` (text, ``run`` for the old format), ``region``,
        ``subset`` (None for a whole run), integer ``year``, ``metric``, float ``value``,
        ``unit``, ``source`` and the file's ``line``.

    Raises:
        ObservedDataError: Missing file, wrong columns, no rows, a scope that names no known
            region or subset, a year that is not an integer, a value that is not a finite
            number, an empty metric, or the same scope, year and metric twice.
    """
    path = Path(path)
    if not path.is_file():
        raise ObservedDataError(f"{path}: observed-data file not found")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ObservedDataError(f"{path}: expected CSV with a header row, found: {err}") from None
    raw.columns = [c.strip() for c in raw.columns]
    columns = list(raw.columns)
    scoped = "scope" in columns
    allowed = NEW_COLUMNS if scoped else (*OLD_COLUMNS, "source")
    required = ("scope", *OLD_COLUMNS) if scoped else OLD_COLUMNS
    if any(c not in columns for c in required) or any(c not in allowed for c in columns):
        raise ObservedDataError(
            f"{path}: expected columns year,metric,value[,source] or "
            f"scope,year,metric,value,unit,source, found {','.join(columns)}"
        )
    if raw.empty:
        raise ObservedDataError(f"{path}: expected at least one observation, found none")
    rows: list[dict[str, Any]] = []
    for i, r in raw.iterrows():
        line = int(i) + 2  # the header is line 1
        where = f"{path}, line {line}"
        scope = Scope(None)
        if scoped:
            try:
                scope = parse_scope(r["scope"])
            except ValueError as err:
                raise ObservedDataError(f"{where}: {err}") from None
        year_text, metric, value_text = r["year"].strip(), r["metric"].strip(), r["value"].strip()
        try:
            year = int(year_text)
        except ValueError:
            raise ObservedDataError(
                f"{where}: year: expected an integer, found {year_text!r}"
            ) from None
        try:
            value = float(value_text)
        except ValueError:
            value = float("nan")
        if not math.isfinite(value):
            raise ObservedDataError(
                f"{where}: value: expected a finite number, found {value_text!r}"
            )
        if not metric:
            raise ObservedDataError(f"{where}: metric: expected a name, found none")
        rows.append(
            {
                "scope": scope.label,
                "region": scope.region,
                "subset": scope.subset,
                "year": year,
                "metric": metric,
                "value": value,
                "unit": r["unit"].strip() if "unit" in columns else "",
                "source": r["source"].strip() if "source" in columns else "",
                "line": line,
            }
        )
    observed = pd.DataFrame(rows)
    twice = observed[observed.duplicated(["scope", "year", "metric"], keep="first")]
    if not twice.empty:
        first = twice.iloc[0]
        what = "scope, year and metric" if scoped else "year and metric"
        raise ObservedDataError(
            f"{path}, line {first['line']}: expected one value per {what}, found "
            f"{first['scope']} {first['metric']} {first['year']} twice"
        )
    return observed


def subset_of(value: Any) -> str | None:
    """The subset of an observation's row: its name, or None (also for a missing value)."""
    return value if isinstance(value, str) and value else None


def known_metric(subset: str | None, metric: str) -> bool:
    """Whether the model produces ``metric`` for a whole run (``subset`` None) or a subset."""
    subset = subset_of(subset)
    return metric in (ANNUAL_METRICS if subset is None else SUBSET_METRICS)


def metric_mechanism(metric: str) -> str | None:
    """The feedback mechanism an annual metric needs switched on (None: every run has it)."""
    for m in metrics("annual"):
        if m.matches(metric):
            return m.mechanism
    return None


def check_observations(
    observed: pd.DataFrame,
    path: str | Path,
    years: tuple[int, int],
    skip_unknown: bool = False,
    mechanisms: Iterable[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split observations into those the model can be compared with and those skipped.

    Args:
        observed: Rows of :func:`read_observed` (already restricted to one region).
        path: The file, for messages.
        years: The first and last year of the runs.
        skip_unknown: Skip rows whose metric the model does not produce instead of refusing.
        mechanisms: The feedback mechanisms switched on in the runs; a metric of a mechanism
            that is off is not produced (``registered_people`` needs the living register).
            None: do not check.

    Returns:
        ``(kept, skipped)``.

    Raises:
        ObservedDataError: A metric the model does not produce (unless skipped) or a year
            outside the runs, naming the line.
    """
    first, last = years
    keep = []
    for i, r in observed.iterrows():
        where = f"{path}, line {r['line']}"
        if not known_metric(r["subset"], r["metric"]):
            if skip_unknown:
                continue
            names = ANNUAL_METRICS if subset_of(r["subset"]) is None else SUBSET_METRICS
            raise ObservedDataError(
                f"{where}: metric {r['metric']!r} of scope {r['scope']} is not produced by the "
                f"model (expected one of {', '.join(names)}; --skip-unknown leaves such rows out)"
            )
        needs = None if subset_of(r["subset"]) else metric_mechanism(r["metric"])
        if mechanisms is not None and needs is not None and needs not in set(mechanisms):
            if skip_unknown:
                continue
            raise ObservedDataError(
                f"{where}: metric {r['metric']!r} is produced only with the {needs} mechanism, "
                f"which is off in this scenario (switch it on with [{needs}] enabled = true; "
                "--skip-unknown leaves such rows out)"
            )
        if not first <= r["year"] <= last:
            raise ObservedDataError(
                f"{where}: year {r['year']} is outside the runs; expected a year in {first}-{last}"
            )
        keep.append(i)
    return observed.loc[keep].reset_index(drop=True), observed.drop(index=keep).reset_index(
        drop=True
    )


def model_value(
    annual: pd.DataFrame,
    by_party: pd.DataFrame | None,
    subset: str | None,
    metric: str,
    year: int,
    scale: float,
) -> float:
    """The run's value of one observation, counts scaled to the full population.

    Args:
        annual: The run's annual table.
        by_party: The run's ``by_party`` table (needed for a subset).
        subset: The scope's subset, or None for the whole run.
        metric: A column of the table the scope reads.
        year: The year.
        scale: The run's population scale (counts are divided by it).

    Returns:
        The value (NaN when the run has no such year or the subset is empty).
    """
    subset = subset_of(subset)
    if subset is None:
        table = annual
    else:
        if by_party is None or by_party.empty:
            raise ObservedDataError(
                f"scope {subset}: the results hold no by_party table (runs of this version "
                "record one; ensemble folders do not keep it)"
            )
        table = by_party[by_party["party"] == SUBSETS[subset]]
    values = table.loc[table["year"] == year, metric]
    if values.empty:
        return float("nan")
    value = float(values.iloc[0])
    return value / scale if metric in EXTENSIVE else value


def statistic_key(scope: str, metric: str, year: int) -> str:
    """The name of one observation among the calibration's summary statistics."""
    return f"{scope}|{metric}|{year}"
