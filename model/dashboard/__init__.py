"""The planners' dashboard: levers, a small ensemble, and the targets met or missed.

This module holds what the page does, without the page: the levers it shows (with their units
and the plan's values), the checks that turn the page's values into a validated scenario or
clear messages, a small ensemble run with a progress callback, and the downloads (the results
folder as a zip, the scenario as TOML). The Solara page itself is :mod:`model.dashboard.app`;
``shaoguan-abm dashboard`` serves it.

Example:
    >>> from model.dashboard import lever_values, check_levers, run_small_ensemble
    >>> base = model.load_scenario("scenarios/baseline.toml")
    >>> values = lever_values(base)
    >>> values["employment.training_places"][2017] = 9000
    >>> scenario, errors = check_levers(base, values)
    >>> run = run_small_ensemble(scenario, replicates=3, population_scale=0.02)
"""

from __future__ import annotations

import io
import math
import tempfile
import tomllib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from model.engine.catalogue import catalogue, get_path
from model.engine.catalogue import scenario_toml as _scenario_toml
from model.engine.funding import SPECIAL_SOURCES, SPECIAL_USES
from model.engine.scenario import (
    SCENARIO_DIR,
    Scenario,
    ScenarioError,
    apply_overrides,
    load_scenario_text,
    shipped_scenario_path,
    shipped_scenarios,
)
from model.experiments.budget import AllocationError, validate_allocation
from model.experiments.ensemble import (
    ENSEMBLE_SCHEMA_VERSION,
    REPLICATE_TABLES,
    EnsembleResult,
    plan_replicates,
    replicate_tables,
)

#: The plan's years, for the year-table levers: from the first simulated year to the last year
#: of the schema's cumulative targets (2016-2018, Shaoguan plan 2016, §I.3).
PLAN_YEARS = tuple(range(Scenario().calendar.start_year, Scenario().targets.last_year + 1))

#: The parameter sources the page offers: what the scenario's ``[forecast]`` table names (the
#: posterior of ``calibrated.toml``; fixed for a scenario without the table), the scenario's
#: values, or draws from the priors.
PARAMETER_CHOICES = ("scenario", "fixed", "prior")


def resolved_source(scenario: Any, parameters: str) -> Any:
    """The :class:`~model.experiments.parameters.ParameterSource` a page choice stands for.

    ``"scenario"`` is the source the scenario's ``[forecast]`` table names.

    Raises:
        ValueError: A choice outside :data:`PARAMETER_CHOICES`.
        PosteriorError: The scenario's posterior file cannot be read.
    """
    from model.experiments.parameters import parameter_source

    if parameters not in PARAMETER_CHOICES:
        raise ValueError(
            f"parameters: expected one of {', '.join(PARAMETER_CHOICES)}, found {parameters!r}"
        )
    return parameter_source(None if parameters == "scenario" else parameters, scenario)


@dataclass(frozen=True)
class Lever:
    """One lever of the page.

    Attributes:
        path: Dotted scenario path, as ``--set`` takes it.
        label: What the page calls it.
        keys: The entries of a table lever (uses, sources or years); empty for a scalar.
        step: Step of the lever's slider (the plan's values lie on its steps from the range's
            low end).
    """

    path: str
    label: str
    keys: tuple[Any, ...] = ()
    step: float = 1.0


#: The levers the page shows, in order.
LEVERS: tuple[Lever, ...] = (
    Lever("funding.allocation", "Special fund by use", SPECIAL_USES, 0.05),
    Lever("funding.source_shares", "Special fund by source (6:3:1)", SPECIAL_SOURCES, 0.05),
    Lever("funding.delay_months.paired_city", "Dongguan (paired city) tranche delay"),
    Lever("employment.training_places", "Training places", PLAN_YEARS, 500.0),
    Lever("employment.public_posts", "Public service posts", PLAN_YEARS, 500.0),
    Lever("housing.renovations", "House renovations", PLAN_YEARS, 500.0),
    Lever("social_security.dibao_standard", "Dibao standard", PLAN_YEARS, 10.0),
)


def list_scenarios(folder: Path = SCENARIO_DIR) -> list[str]:
    """Names of the shipped scenario files (without ``.toml``), baseline first."""
    names = [Path(n).stem for n in shipped_scenarios(folder)]
    return sorted(names, key=lambda n: n != "baseline")


def lever_unit(scenario: Any, path: str) -> str:
    """The unit the schema declares for a lever (``funding.delay_months.paired_city`` included)."""
    return catalogue(scenario).entry(path).unit


def lever_range(scenario: Any, path: str) -> tuple[float, float] | None:
    """The ``(low, high)`` the parameter catalogue gives a lever, or None when it has none.

    A lever's sweep range when it has one, else the plausible range its source states (a year
    table's or a share table's range applies to each of its entries).
    """
    entry = catalogue(scenario).entry(path)
    if entry.range is not None:
        return entry.range
    return None if entry.source.range is None else tuple(map(float, entry.source.range))


def slider_bounds(scenario: Any, path: str, value: Any) -> tuple[float, float] | None:
    """The slider's ends for a lever: its range, widened to hold ``value`` when it lies outside.

    Returns None for a lever without a range (it has no slider).
    """
    low_high = lever_range(scenario, path)
    if low_high is None:
        return None
    low, high = low_high
    try:
        number = float(value)
    except (TypeError, ValueError):
        return low, high
    if not math.isfinite(number):
        return low, high
    return min(low, number), max(high, number)


def lever_values(scenario: Any) -> dict[str, Any]:
    """The scenario's value of every lever: a number, or ``{key: number}`` for a table lever."""
    out: dict[str, Any] = {}
    for lever in LEVERS:
        value = get_path(scenario, lever.path)
        if lever.keys:
            out[lever.path] = {k: float(value.get(k, 0.0)) for k in lever.keys}
        else:
            out[lever.path] = value
    return out


def changed_levers(scenario: Any, reference: Any) -> list[str]:
    """The levers whose values differ from ``reference`` (the plan), as ``label: values``."""
    ours, theirs = lever_values(scenario), lever_values(reference)
    out = []
    for lever in LEVERS:
        value = ours[lever.path]
        if value != theirs[lever.path]:
            shown = (
                ", ".join(f"{k} {v:g}" for k, v in value.items())
                if isinstance(value, dict)
                else f"{value:g}"
            )
            out.append(f"{lever.label}: {shown}")
    return out


def _number(value: Any, label: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{label}: expected a number, found {value!r}") from None
    if not math.isfinite(number):
        raise ScenarioError(f"{label}: expected a finite number, found {value!r}")
    return number


def _lever_error(base: Any, lever: Lever, value: Any) -> str | None:
    """The command line's message for one lever's value, or None when it is valid."""
    try:
        if lever.keys:
            value = {k: _number(v, f"{lever.path}.{k}") for k, v in value.items()}
            if lever.keys == PLAN_YEARS:
                value = {**get_path(base, lever.path), **value}
        else:
            value = _number(value, lever.path)
        if lever.path == "funding.allocation":
            text = ",".join(f"{k}={v:g}" for k, v in value.items())
            validate_allocation(value, label=f"--allocation {text}")
        apply_overrides(base, {lever.path: value})
    except (ScenarioError, AllocationError) as err:
        return str(err)
    return None


def check_levers(base: Any, values: dict[str, Any]) -> tuple[Any | None, dict[str, str]]:
    """The scenario the page's lever values make, or the message for each bad lever.

    Each lever is checked alone against ``base`` so that its message stands next to it; the
    messages are those of ``--set`` and ``--allocation`` on the command line.

    Args:
        base: The validated scenario picked or uploaded.
        values: ``{lever path: value}`` as :func:`lever_values` gives it.

    Returns:
        ``(scenario, {})`` when every lever is valid, else ``(None, {lever path: message})``.
    """
    errors: dict[str, str] = {}
    for lever in LEVERS:
        if lever.path in values:
            message = _lever_error(base, lever, values[lever.path])
            if message:
                errors[lever.path] = message
    if errors:
        return None, errors
    overrides = {}
    for lever in LEVERS:
        if lever.path in values:
            value = values[lever.path]
            if lever.keys:
                # years the page does not show (consolidation, 2019-2020) keep their values
                value = {**get_path(base, lever.path), **{k: float(v) for k, v in value.items()}}
            elif lever.path.endswith("delay_months.paired_city"):
                value = int(float(value))
            overrides[lever.path] = value
    try:
        return apply_overrides(base, overrides), {}
    except ScenarioError as err:
        return None, {"scenario": str(err)}


def scenario_from_upload(text: str | bytes, name: str = "uploaded.toml") -> Any:
    """A validated scenario from an uploaded TOML file (its text or bytes).

    The file may only extend a shipped scenario (see
    :func:`model.engine.scenario.load_scenario_text`), and a posterior its ``[forecast]``
    table names must be a Parquet file of the project's ``calibration/`` folder: nothing else
    on the server is opened.

    Raises:
        ScenarioError: The file is not TOML, not a valid scenario, extends anything but a
            shipped scenario (the command line's message, naming the upload) or names a
            posterior outside ``calibration/``.
    """
    shown = Path(str(name)).name or "uploaded.toml"
    scenario = load_scenario_text(text, name=shown)
    posterior = PurePosixPath(scenario.forecast.posterior.replace("\\", "/"))
    if scenario.forecast.posterior and (
        posterior.is_absolute()
        or posterior.parts[0] != "calibration"
        or posterior.suffix != ".parquet"
    ):
        raise ScenarioError(
            f"{shown}: forecast.posterior: an uploaded scenario may name a posterior of the "
            f"project's calibration/ folder (calibration/NAME.parquet), found "
            f"{scenario.forecast.posterior!r}"
        )
    return scenario


def upload_extends(text: str | bytes) -> str | None:
    """The shipped scenario an upload that loaded extends, as a file name, or None if none."""
    if not isinstance(text, str):
        text = bytes(text).decode("utf-8")
    path = shipped_scenario_path(tomllib.loads(text).get("extends"))
    return None if path is None else path.name


# ---------------------------------------------------------------------------------------------
# TOML


def scenario_toml(scenario: Any) -> str:
    """The complete scenario as a TOML scenario file (loads back to the same scenario)."""
    return _scenario_toml(scenario, header=f"scenario {scenario.name}, written by the dashboard")


# ---------------------------------------------------------------------------------------------
# the run


@dataclass(eq=False)
class DashboardRun:
    """An ensemble run from the page.

    Attributes:
        ensemble: The ensemble's replicates and statistics (as ``run_ensemble`` gives them).
        ledger: Mean over replicates of the money ledger (``fund, source, use, kind, year,
            amount``), for spend by source and use.
        scenario: The scenario run.
        label: Short description of the run for the comparison view.
        changes: The levers set away from the plan's values (see :func:`changed_levers`).
        created: When the run finished (UTC, ISO 8601).
    """

    ensemble: EnsembleResult
    ledger: pd.DataFrame
    scenario: Any
    label: str = ""
    changes: list[str] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def probability_rows(self) -> list[dict[str, str]]:
        """The probability table as text: target, P(met) and its interval, median exits."""
        q = self.ensemble.quantiles.set_index(["metric", "year"])
        rows = []
        for _, r in self.ensemble.probabilities.iterrows():
            key = ("cumulative_exited_people", r["year"])
            target = r["target_cumulative_people"]
            rows.append(
                {
                    "year": str(r["year"]),
                    "target (people, scaled)": "all targets"
                    if pd.isna(target)
                    else f"{int(target):,}",
                    "P(met)": f"{r['probability_met']:.2f}",
                    "95% CI": f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]",
                    "exited (median)": f"{q.loc[key, 'q50']:,.0f}" if key in q.index else "",
                }
            )
        return rows

    def costs(self) -> dict[str, float]:
        """Medians over replicates of the total spend, cost per exit and per sustained exit."""
        return {
            name: self.ensemble.median(name)
            for name in ("total_spend", "cost_per_exit", "cost_per_sustained_exit")
        }

    def villages(self) -> pd.DataFrame:
        """Per year: median villages exited and the number of poor villages."""
        r = self.ensemble.replicates
        return r.groupby("year")[["villages_exited", "villages_total"]].median().reset_index()

    def results_zip(self) -> bytes:
        """The ensemble's results folder (plus the scenario TOML and spend ledger) as a zip."""
        buffer = io.BytesIO()
        with tempfile.TemporaryDirectory(prefix="dashboard-") as tmp:
            folder = self.ensemble.write(Path(tmp) / "results")
            (folder / "scenario.toml").write_text(scenario_toml(self.scenario), encoding="utf-8")
            self.ledger.to_csv(folder / "mean_ledger.csv", index=False)
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
                for path in sorted(folder.rglob("*")):
                    if path.is_file():
                        zf.write(path, path.relative_to(folder).as_posix())
        return buffer.getvalue()


def run_small_ensemble(
    scenario: Any,
    replicates: int = 3,
    seed: int = 1,
    population_scale: float = 0.02,
    on_progress: Callable[[int, int], None] | None = None,
    label: str = "",
    parameters: str = "scenario",
) -> DashboardRun:
    """Run an ensemble in this process, one replicate after another, reporting progress.

    Replicate ``r`` runs with the seed and the parameter draw
    :func:`model.experiments.ensemble.run_ensemble` gives it, so the statistics equal those of
    ``shaoguan-abm run SCENARIO --replicates N --seed S --parameters P``.

    Args:
        scenario: A validated scenario.
        replicates: Number of replicates (at least 1).
        seed: Root seed of the replicate seeds.
        population_scale: Share of every count to simulate, in (0, 1].
        on_progress: Called with ``(done, replicates)`` before the first and after each
            replicate.
        label: Short description of the run.
        parameters: ``"scenario"`` (the source the scenario's ``[forecast]`` table names:
            fixed unless it names the priors or a posterior), ``"fixed"`` (the scenario's
            values: the seeds alone vary) or ``"prior"`` (every uncertainty drawn uniformly
            over its range for each replicate).

    Returns:
        The :class:`DashboardRun`.

    Raises:
        ValueError: Bad replicate count, population scale or parameter source.
    """
    from model.results.outputs import package_version
    from model.results.recording import run

    if int(replicates) < 1:
        raise ValueError(f"replicates: expected a positive integer, found {replicates}")
    if not 0 < population_scale <= 1:
        raise ValueError(f"population_scale: expected a number in (0, 1], found {population_scale}")
    plan = plan_replicates(scenario, replicates, seed, resolved_source(scenario, parameters))
    annual, outcomes, ledgers = [], [], []
    extra: dict[str, list[pd.DataFrame]] = {name: [] for name in REPLICATE_TABLES}
    if on_progress:
        on_progress(0, replicates)
    for r, s in enumerate(plan.seeds):
        drawn = plan.overrides(r)
        runs = apply_overrides(scenario, drawn) if drawn else scenario
        result = run(runs, seed=s, population_scale=population_scale)
        tag = {"replicate": r, "seed": s}
        annual += [{**tag, **row, **plan.tag(r)} for row in result.annual.to_dict("records")]
        outcomes.append({**tag, **result.outcomes(), **plan.tag(r)})
        for name, table in replicate_tables(result).items():
            extra[name].append(table.assign(replicate=r, seed=s))
        if not result.ledger.empty:
            ledgers.append(result.ledger)
        if on_progress:
            on_progress(r + 1, replicates)
    manifest = {
        "kind": "ensemble",
        "schema_version": ENSEMBLE_SCHEMA_VERSION,
        "scenario_name": scenario.name,
        "scenario": scenario.model_dump(mode="json"),
        "seed": int(seed),
        "replicates": int(replicates),
        "seed_rule": "replicate r runs with child r of numpy.random.SeedSequence(seed)",
        **plan.manifest(),
        "parameters_description": plan.source.describe(scenario),
        "population_scale": float(population_scale),
        "package_version": package_version(),
        "executed_on": "dashboard (one process)",
    }
    ensemble = EnsembleResult.from_runs(
        pd.DataFrame(annual),
        pd.DataFrame(outcomes),
        scenario.targets.cumulative_people,
        manifest,
        **{
            name: pd.concat(tables, ignore_index=True)[
                ["replicate", "seed", *tables[0].columns.drop(["replicate", "seed"])]
            ]
            for name, tables in extra.items()
            if tables
        },
    )
    ledger = pd.DataFrame(columns=["fund", "source", "use", "kind", "year", "amount"])
    if ledgers:
        all_ledgers = pd.concat(ledgers, ignore_index=True)
        keys = ["fund", "source", "use", "kind", "year"]
        ledger = all_ledgers.groupby(keys, as_index=False)["amount"].sum()
        ledger["amount"] = ledger["amount"] / replicates
    return DashboardRun(ensemble, ledger, scenario, label or scenario.name)
