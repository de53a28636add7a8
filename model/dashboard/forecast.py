"""The page's first screen: the plan's forecast, from a small ensemble cached on disk.

On load the dashboard shows the baseline scenario's ensemble (:data:`FORECAST_REPLICATES`
replicates at population scale :data:`FORECAST_SCALE`, root seed :data:`FORECAST_SEED`, the
parameters fixed at the scenario's values), so that a planner sees the targets and how likely
each is before touching a lever. The ensemble is built once and kept in the user's cache folder
(:func:`cache_folder`), under a key made of the package version, the run's settings and the
scenario's canonical TOML: a second start reads it back, and a changed scenario or a new version
builds it again.

This module also holds the comparison of two runs (:func:`run_differences`): the differences
in exits and in probability points that the page shows beside a pinned run.

Example:
    >>> scenario = load_scenario("scenarios/baseline.toml")
    >>> run = cached_forecast(scenario)  # builds on the first call, reads the cache after
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from model.dashboard import DashboardRun, run_small_ensemble, scenario_toml
from model.experiments.ensemble import read_ensemble

#: Replicates of the on-load forecast: enough for a first probability, quick to build.
FORECAST_REPLICATES = 10
#: Population scale of the on-load forecast (share of every count simulated).
FORECAST_SCALE = 0.05
#: Root seed of the on-load forecast: replicate r runs with child r of SeedSequence(1).
FORECAST_SEED = 1
#: Environment variable naming the cache folder (default: the user's cache folder).
CACHE_ENV = "SHAOGUAN_ABM_CACHE"

_LOCK = threading.Lock()
_MEMORY: dict[str, DashboardRun] = {}


def cache_folder() -> Path:
    """Where forecasts are kept: ``$SHAOGUAN_ABM_CACHE``, else ``~/.cache/shaoguan-abm``.

    ``$XDG_CACHE_HOME`` replaces ``~/.cache`` when it is set.
    """
    named = os.environ.get(CACHE_ENV)
    if named:
        return Path(named)
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "shaoguan-abm"


def forecast_key(
    scenario: Any,
    version: str,
    replicates: int = FORECAST_REPLICATES,
    population_scale: float = FORECAST_SCALE,
    seed: int = FORECAST_SEED,
) -> str:
    """The cache key of a forecast: a hash of the version, the settings and the scenario.

    The scenario enters as its canonical TOML (:func:`model.dashboard.scenario_toml`, without
    its header line), so two files that load to the same scenario share a key.

    Args:
        scenario: A validated scenario.
        version: The package version the forecast is built with.
        replicates: Replicates of the ensemble.
        population_scale: Share of every count simulated.
        seed: Root seed of the replicates.

    Returns:
        A 20-character hexadecimal key.
    """
    body = "\n".join(
        line for line in scenario_toml(scenario).splitlines() if not line.startswith("#")
    )
    text = f"{version}\n{int(replicates)}\n{float(population_scale)!r}\n{int(seed)}\n{body}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def forecast_label(
    scenario: Any,
    replicates: int = FORECAST_REPLICATES,
    population_scale: float = FORECAST_SCALE,
    seed: int = FORECAST_SEED,
) -> str:
    """How the page names the forecast: scenario, replicates, scale, seed and parameters."""
    scale = f"{population_scale:g}"
    return f"{scenario.name} (x{replicates}, scale {scale}, seed {seed}, fixed parameters)"


def _write(run: DashboardRun, folder: Path) -> None:
    """Write a run into ``folder`` whole: built beside it and renamed into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        run.ensemble.write(tmp)
        run.ledger.to_csv(tmp / "mean_ledger.csv", index=False)
        (tmp / "scenario.toml").write_text(scenario_toml(run.scenario), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _read(folder: Path, scenario: Any, label: str) -> DashboardRun | None:
    """The run kept in ``folder``, or None when it is missing or unreadable."""
    try:
        ensemble = read_ensemble(folder)
        ledger = pd.read_csv(folder / "mean_ledger.csv")
    except (OSError, ValueError):
        return None
    written = str(ensemble.manifest.get("written_utc", ""))
    return DashboardRun(ensemble, ledger, scenario, label, created=written)


def cached_forecast(
    scenario: Any,
    folder: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    replicates: int = FORECAST_REPLICATES,
    population_scale: float = FORECAST_SCALE,
    seed: int = FORECAST_SEED,
    version: str | None = None,
    build: Callable[..., DashboardRun] = run_small_ensemble,
) -> DashboardRun:
    """The scenario's forecast: from memory, else from the cache folder, else built and kept.

    One build at a time: a second caller waits for the first and then reads its result.

    Args:
        scenario: A validated scenario (the page passes the baseline).
        folder: The cache folder; :func:`cache_folder` when None.
        on_progress: Called with ``(done, replicates)`` while the ensemble is built.
        replicates: Replicates of the ensemble.
        population_scale: Share of every count simulated.
        seed: Root seed of the replicates.
        version: The package version of the key; the installed one when None.
        build: The ensemble runner (:func:`model.dashboard.run_small_ensemble`).

    Returns:
        The :class:`~model.dashboard.DashboardRun`, labelled by :func:`forecast_label`.
    """
    from model.results.outputs import package_version

    version = package_version() if version is None else version
    root = cache_folder() if folder is None else Path(folder)
    key = forecast_key(scenario, version, replicates, population_scale, seed)
    where = root / f"forecast-{key}"
    label = forecast_label(scenario, replicates, population_scale, seed)
    with _LOCK:
        memory_key = f"{where.resolve()}"
        if memory_key in _MEMORY and where.is_dir():
            return _MEMORY[memory_key]
        run = _read(where, scenario, label) if (where / "manifest.json").is_file() else None
        if run is None:
            run = build(
                scenario,
                replicates=replicates,
                seed=seed,
                population_scale=population_scale,
                on_progress=on_progress,
                label=label,
            )
            _write(run, where)
        elif on_progress:
            on_progress(replicates, replicates)
        _MEMORY[memory_key] = run
        return run


def run_differences(latest: DashboardRun, pinned: DashboardRun) -> pd.DataFrame:
    """The latest run minus the pinned one, year by year: exits and probability points.

    Args:
        latest: The run shown first.
        pinned: The run it is compared with.

    Returns:
        One row per year of the probability table (``all`` last): ``year``,
        ``exits_difference`` (median cumulative exits of ``latest`` minus those of ``pinned``,
        people; NaN for ``all``) and ``points_difference`` (100 x the difference of the
        probabilities of meeting the target, percentage points).
    """

    def by_year(run: DashboardRun) -> tuple[dict[str, float], dict[str, float]]:
        probs = run.ensemble.probabilities
        pairs = zip(probs["year"], probs["probability_met"], strict=True)
        p = {str(y): float(v) for y, v in pairs}
        q = run.ensemble.quantiles
        q = q[q["metric"] == "cumulative_exited_people"]
        exits = {str(y): float(v) for y, v in zip(q["year"], q["q50"], strict=True)}
        return p, exits

    p_new, e_new = by_year(latest)
    p_old, e_old = by_year(pinned)
    rows = []
    for year in p_new:
        if year not in p_old:
            continue
        exits = e_new.get(year, math.nan) - e_old.get(year, math.nan)
        rows.append(
            {
                "year": year,
                "exits_difference": exits,
                "points_difference": 100.0 * (p_new[year] - p_old[year]),
            }
        )
    return pd.DataFrame(rows, columns=["year", "exits_difference", "points_difference"])


def difference_rows(latest: DashboardRun, pinned: DashboardRun) -> list[dict[str, str]]:
    """:func:`run_differences` as the page's text: signed exits and signed points."""
    out = []
    for r in run_differences(latest, pinned).itertuples():
        exits = "" if math.isnan(r.exits_difference) else f"{r.exits_difference:+,.0f}"
        out.append(
            {
                "year": "all targets" if r.year == "all" else r.year,
                "exits (median)": exits,
                "P(met), points": f"{r.points_difference:+.0f}",
            }
        )
    return out
