"""Ensembles: many replicates of one scenario, and the probability that each target is met.

A single run answers nothing; the question is how likely each year's target is. Replicate ``r``
of an ensemble with seed ``s`` runs the model with the seed drawn from child ``r`` of
``numpy.random.SeedSequence(s)`` (:func:`replicate_seeds`), so

- the result is identical whatever the number of workers and their order of completion;
- replicate ``r`` is the same run in every ensemble of seed ``s`` whatever its size, and in
  every scenario of a comparison (common random numbers);
- any replicate can be rerun alone: ``model.run(scenario, seed=<its seed column>)``.

The probability of meeting a target is the share of replicates that meet it, with a Wilson score
interval (``scipy.stats.binomtest(...).proportion_ci(method="wilson")``), which stays inside
[0, 1] and is not degenerate when no or every replicate meets the target.

Example:
    >>> import model
    >>> ens = model.run_ensemble(model.load_scenario("scenarios/baseline.toml"),
    ...                          replicates=20, seed=1, population_scale=0.05)
    >>> ens.probabilities
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.experiments.execution import (
    KEY,
    Executor,
    RunStore,
    atomic_savefig,
    atomic_to_csv,
    atomic_to_parquet,
    atomic_write_json,
    given_or_own_executor,
    runs_folder,
)

#: Version of the ensemble results-folder layout.
ENSEMBLE_SCHEMA_VERSION = 1

#: Quantile bands of every annual metric, and their column names.
QUANTILES = (0.05, 0.25, 0.50, 0.75, 0.95)
QUANTILE_COLUMNS = ("q05", "q25", "q50", "q75", "q95")

#: The binomial confidence interval used for every probability.
CI_METHOD = "wilson"

PROBABILITY_COLUMNS = ["year", "target_cumulative_people", "probability_met", "ci_low", "ci_high"]
#: Annual column of the target met in income (present when exit verification is on).
INCOME_VERIFIED_MET = "income_verified_target_met"

#: Columns that identify a run rather than measure it.
ID_COLUMNS = (KEY, "replicate", "seed", "year")


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """Seeds of replicates ``0..replicates-1``: child ``r`` of ``SeedSequence(seed)``.

    Each child's first 64 random bits, shifted to 63 bits so that they fit a signed integer
    column. Replicate ``r``'s seed does not depend on ``replicates``.
    """
    children = np.random.SeedSequence(int(seed)).spawn(int(replicates))
    return [int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)) for child in children]


@functools.lru_cache(maxsize=16)
def scenario_from_json(text: str) -> Any:
    """A validated scenario from its JSON dump (workers rebuild scenarios this way)."""
    from model.engine.scenario import validate_scenario

    return validate_scenario(json.loads(text))


def run_replicate(payload: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Task: one replicate. Its annual rows and its scalar outcomes, tagged with replicate and seed.

    Args:
        payload: ``scenario`` (JSON text), ``seed``, ``population_scale``, ``replicate``.
    """
    from model.results.recording import run

    scenario = scenario_from_json(payload["scenario"])
    result = run(scenario, seed=payload["seed"], population_scale=payload["population_scale"])
    tag = {"replicate": payload["replicate"], "seed": payload["seed"]}
    return {
        "annual": _tagged(tag, result.annual),
        "outcomes": [{**tag, **result.outcomes()}],
        **{name: _tagged(tag, table) for name, table in replicate_tables(result).items()},
    }


def _tagged(tag: dict[str, Any], table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{**tag, **row} for row in table.to_dict("records")]


#: Tables an ensemble keeps of every replicate besides its annual rows, for the figures a single
#: run has (spend by year, remaining poor by county, income distribution) with their bands.
REPLICATE_TABLES = ("replicate_ledger", "replicate_by_county", "replicate_income_percentiles")


def replicate_tables(result: Any) -> dict[str, pd.DataFrame]:
    """The compact tables an ensemble keeps of one run (see :data:`REPLICATE_TABLES`).

    ``replicate_ledger`` is the run's ledger of money spent or leaked summed by fund, source,
    use, kind and year (months and counties summed); the others are the run's ``by_county`` and
    ``income_percentiles`` tables.
    """
    ledger = result.ledger
    keys = ["fund", "source", "use", "kind", "year"]
    if ledger.empty:
        compact = pd.DataFrame(columns=[*keys, "amount"])
    else:
        moved = ledger[ledger["kind"].isin(["spent", "leaked"])]
        compact = moved.groupby(keys, as_index=False, sort=True)["amount"].sum()
    return {
        "replicate_ledger": compact,
        "replicate_by_county": result.by_county,
        "replicate_income_percentiles": result.income_percentiles,
    }


# ---------------------------------------------------------------------------------------------
# statistics of an ensemble


def binomial_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (NaN, NaN when there are no trials)."""
    if trials == 0:
        return float("nan"), float("nan")
    from scipy.stats import binomtest

    ci = binomtest(int(successes), int(trials)).proportion_ci(
        confidence_level=confidence, method=CI_METHOD
    )
    return float(ci.low), float(ci.high)


def target_probabilities(
    replicates: pd.DataFrame, plan_years: Iterable[int], confidence: float = 0.95
) -> pd.DataFrame:
    """Probability of meeting each year's cumulative target, and all of the plan's targets.

    Args:
        replicates: One row per replicate and year with ``replicate``, ``year``,
            ``target_cumulative_people`` and ``target_met``.
        plan_years: The years of the scenario's target table; the ``all`` row counts the
            replicates that meet the target in every one of them.
        confidence: Confidence level of the Wilson interval.

    Returns:
        ``year, target_cumulative_people, probability_met, ci_low, ci_high``: one row per year
        that has a target, then a row with ``year == "all"``. When the replicates carry
        ``income_verified_target_met`` (exit verification on), ``probability_met`` is the
        target met on paper, and ``probability_met_in_income``, ``ci_low_in_income`` and
        ``ci_high_in_income`` follow for the target met by income-verified exits.
    """
    if INCOME_VERIFIED_MET in replicates:
        paper = target_probabilities(
            replicates.drop(columns=[INCOME_VERIFIED_MET]), plan_years, confidence
        )
        in_income = target_probabilities(
            replicates.drop(columns=["target_met", INCOME_VERIFIED_MET]).assign(
                target_met=replicates[INCOME_VERIFIED_MET]
            ),
            plan_years,
            confidence,
        )
        for column in ("probability_met", "ci_low", "ci_high"):
            paper[f"{column}_in_income"] = in_income[column].to_numpy()
        return paper
    with_target = replicates[replicates["target_cumulative_people"].notna()]
    rows = []
    for year, group in with_target.groupby("year", sort=True):
        met = group["target_met"].astype(bool)
        low, high = binomial_interval(int(met.sum()), len(met), confidence)
        rows.append(
            {
                "year": int(year),
                "target_cumulative_people": int(group["target_cumulative_people"].iloc[0]),
                "probability_met": float(met.mean()),
                "ci_low": low,
                "ci_high": high,
            }
        )
    plan_years = sorted(int(y) for y in plan_years)
    if plan_years:
        in_plan = with_target[with_target["year"].isin(plan_years)]
        per_replicate = in_plan.groupby("replicate")["target_met"].agg(
            lambda met: bool(met.astype(bool).all()) and len(met) == len(plan_years)
        )
        n = replicates["replicate"].nunique()
        k = int(per_replicate.sum())
        low, high = binomial_interval(k, n, confidence)
        rows.append(
            {
                "year": "all",
                "target_cumulative_people": None,
                "probability_met": k / n if n else float("nan"),
                "ci_low": low,
                "ci_high": high,
            }
        )
    table = pd.DataFrame(rows, columns=PROBABILITY_COLUMNS)
    table["target_cumulative_people"] = table["target_cumulative_people"].astype("Int64")
    return table


def _quantile_rows(values: np.ndarray) -> np.ndarray:
    """Quantiles (numpy's default linear interpolation) of each column: shape (5, columns)."""
    return np.quantile(values, QUANTILES, axis=0)


def quantile_bands(replicates: pd.DataFrame) -> pd.DataFrame:
    """Mean and 5/25/50/75/95% quantiles of every numeric annual metric, per year.

    Returns:
        Long table ``metric, year, mean, q05, q25, q50, q75, q95`` (rows in the order of the
        metric columns, then years).
    """
    metrics = [
        c
        for c in replicates.columns
        if c not in ID_COLUMNS and replicates[c].dtype.kind in "iuf" and replicates[c].notna().any()
    ]
    frames = []
    for year, group in replicates.groupby("year", sort=True):
        values = group[metrics].to_numpy(dtype=float)
        q = _quantile_rows(values)
        frame = pd.DataFrame({"metric": metrics, "year": int(year), "mean": values.mean(axis=0)})
        for name, row in zip(QUANTILE_COLUMNS, q, strict=True):
            frame[name] = row
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    order = {m: i for i, m in enumerate(metrics)}
    table["_order"] = table["metric"].map(order)
    return (
        table.sort_values(["_order", "year"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def outcome_distribution(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and 5/25/50/75/95% quantiles of every scalar outcome.

    Includes the cost distributions (``total_spend``, ``cost_per_exit``,
    ``cost_per_sustained_exit``). NaN outcomes (e.g. a cost per exit with no exits) are left out
    of that outcome's statistics; ``replicates`` says how many replicates each row counts.
    """
    rows = []
    for name in outcomes.columns:
        if name in ID_COLUMNS:
            continue
        values = outcomes[name].to_numpy(dtype=float)
        values = values[~np.isnan(values)]
        row: dict[str, Any] = {"outcome": name, "replicates": int(values.size)}
        if values.size:
            row["mean"] = float(values.mean())
            row["sd"] = float(values.std(ddof=1)) if values.size > 1 else float("nan")
            row.update(dict(zip(QUANTILE_COLUMNS, map(float, _quantile_rows(values)), strict=True)))
        rows.append(row)
    return pd.DataFrame(rows, columns=["outcome", "replicates", "mean", "sd", *QUANTILE_COLUMNS])


# ---------------------------------------------------------------------------------------------
# the result


@dataclass
class EnsembleResult:
    """Results of an ensemble: every replicate, and the statistics across them.

    Attributes:
        replicates: One row per replicate and year: ``replicate``, ``seed`` and the run's annual
            columns (nothing that depends on timing or on which worker ran it).
        outcomes: One row per replicate: ``replicate``, ``seed`` and ``RunResult.outcomes()``.
        probabilities: Probability of meeting each year's target and all of them (Wilson CI).
        quantiles: Mean and quantile bands of every annual metric per year (long format).
        outcome_summary: Distribution of every scalar outcome, costs included.
        manifest: Scenario, seed, replicates, population scale, versions, confidence level.
        replicate_ledger: Per replicate, money spent or leaked by fund, source, use, kind and
            year (``replicate, seed, fund, source, use, kind, year, amount``).
        replicate_by_county: Per replicate, the run's ``by_county`` rows.
        replicate_income_percentiles: Per replicate, the run's ``income_percentiles`` rows.
    """

    replicates: pd.DataFrame
    outcomes: pd.DataFrame
    probabilities: pd.DataFrame
    quantiles: pd.DataFrame
    outcome_summary: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)
    replicate_ledger: pd.DataFrame = field(default_factory=pd.DataFrame)
    replicate_by_county: pd.DataFrame = field(default_factory=pd.DataFrame)
    replicate_income_percentiles: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def from_runs(
        cls,
        replicates: pd.DataFrame,
        outcomes: pd.DataFrame,
        plan_years: Iterable[int],
        manifest: dict[str, Any],
        confidence: float = 0.95,
        **replicate_tables: pd.DataFrame,
    ) -> EnsembleResult:
        """Compute the statistics of an ensemble from its replicate tables.

        ``replicate_tables`` are the optional per-replicate tables (:data:`REPLICATE_TABLES`).
        """
        return cls(
            replicates=replicates,
            outcomes=outcomes,
            probabilities=target_probabilities(replicates, plan_years, confidence),
            quantiles=quantile_bands(replicates),
            outcome_summary=outcome_distribution(outcomes),
            manifest=manifest,
            **replicate_tables,
        )

    @property
    def name(self) -> str:
        """The scenario's name."""
        return str(self.manifest.get("scenario_name", ""))

    def median(self, outcome: str) -> float:
        """Median over replicates of a scalar outcome."""
        values = self.outcomes[outcome].to_numpy(dtype=float)
        return float(np.nanmedian(values)) if values.size else float("nan")

    def write(self, folder: str | Path) -> Path:
        """Write the results folder; each file appears complete (renamed into place).

        Files: ``replicates.parquet``, ``outcomes.parquet``, ``probabilities.csv``,
        ``quantiles.parquet``, ``outcome_summary.csv``, the per-replicate tables that are not
        empty (``replicate_ledger.parquet``, ``replicate_by_county.parquet``,
        ``replicate_income_percentiles.parquet``), ``exits_vs_targets.png`` (fan chart) and
        ``manifest.json`` (written last).
        """
        from model.reporting.figures import fan_chart

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        atomic_to_parquet(self.replicates, out / "replicates.parquet")
        atomic_to_parquet(self.outcomes, out / "outcomes.parquet")
        atomic_to_csv(self.probabilities, out / "probabilities.csv")
        atomic_to_parquet(self.quantiles, out / "quantiles.parquet")
        atomic_to_csv(self.outcome_summary, out / "outcome_summary.csv")
        for name in REPLICATE_TABLES:
            if not getattr(self, name).empty:
                atomic_to_parquet(getattr(self, name), out / f"{name}.parquet")
        fig = fan_chart(self.quantiles, self.probabilities, title=self.name)
        atomic_savefig(fig, out / "exits_vs_targets.png")
        manifest = dict(self.manifest, written_utc=datetime.now(UTC).isoformat(timespec="seconds"))
        atomic_write_json(manifest, out / "manifest.json")
        return out


def read_ensemble(folder: str | Path) -> EnsembleResult:
    """Read an ensemble results folder written by :meth:`EnsembleResult.write`.

    Args:
        folder: A folder written by ``shaoguan-abm run SCENARIO --replicates N`` or
            :meth:`EnsembleResult.write` (``manifest.json`` with ``kind = "ensemble"``).

    Returns:
        The :class:`EnsembleResult`, with its replicate table, probabilities and quantiles.

    Raises:
        FileNotFoundError: If the folder has no ``manifest.json``.
        ValueError: If it is not an ensemble folder of this version's schema.
    """
    folder = Path(folder)
    path = folder / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: not a results folder (no manifest.json)")
    manifest = json.loads(path.read_text())
    if manifest.get("kind") != "ensemble" or manifest.get("schema_version") != (
        ENSEMBLE_SCHEMA_VERSION
    ):
        raise ValueError(
            f"{folder}: expected an ensemble folder of schema_version {ENSEMBLE_SCHEMA_VERSION}, "
            f"found kind {manifest.get('kind')!r}, schema_version "
            f"{manifest.get('schema_version')!r}"
        )
    probabilities = pd.read_csv(folder / "probabilities.csv", dtype={"year": str})
    probabilities["year"] = [int(y) if y.isdigit() else y for y in probabilities["year"]]
    return EnsembleResult(
        replicates=pd.read_parquet(folder / "replicates.parquet"),
        outcomes=pd.read_parquet(folder / "outcomes.parquet"),
        probabilities=probabilities,
        quantiles=pd.read_parquet(folder / "quantiles.parquet"),
        outcome_summary=pd.read_csv(folder / "outcome_summary.csv"),
        manifest=manifest,
        **{
            name: pd.read_parquet(folder / f"{name}.parquet")
            for name in REPLICATE_TABLES
            if (folder / f"{name}.parquet").is_file()
        },
    )


# ---------------------------------------------------------------------------------------------
# running


def ensemble_job(scenario: Any, seed: int, population_scale: float) -> dict[str, Any]:
    """What identifies an ensemble's runs on disk.

    The replicate count is not part of it: resuming with more replicates keeps the runs done.
    """
    from model.results.outputs import package_version

    return {
        "kind": "ensemble",
        "scenario": scenario.model_dump(mode="json"),
        "seed": int(seed),
        "population_scale": float(population_scale),
        "package_version": package_version(),
    }


def run_ensemble(
    scenario: Any,
    replicates: int = 100,
    seed: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    population_scale: float = 1.0,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    confidence: float = 0.95,
    executor: Executor | None = None,
) -> EnsembleResult:
    """Run ``replicates`` replicates of a scenario and summarise them.

    Args:
        scenario: A validated scenario (or a path to a scenario file).
        replicates: Number of replicates.
        seed: Root seed; replicate seeds are spawned from ``SeedSequence(seed)``.
        workers: Local worker processes (default: the number of cores; 1 = this process).
        scheduler: ``tcp://HOST:PORT`` of a Dask scheduler to run the replicates on instead.
        population_scale: Share of every count to simulate, in (0, 1].
        out: Results folder. Runs are saved in ``out/runs/`` as they finish, and the folder's
            files are written at the end. Without it the runs go to a temporary folder.
        resume: Keep the runs an interrupted ensemble left in ``out/runs/`` (same scenario,
            seed and population scale; the replicate count may differ).
        progress: Show a progress bar with ETA.
        confidence: Confidence level of the probability intervals.
        executor: An open :class:`~model.execution.Executor` to reuse (then ``workers`` and
            ``scheduler`` are ignored).

    Returns:
        The :class:`EnsembleResult` (also written to ``out`` when given).

    Raises:
        ValueError: Bad sizes or population scale.
        model.execution.JobMismatch: ``resume`` into a folder holding another job's runs.
    """
    from model.engine.scenario import load_scenario
    from model.results.outputs import git_commit, package_version

    if isinstance(scenario, str | Path):
        scenario = load_scenario(scenario)
    if int(replicates) < 1:
        raise ValueError(f"replicates: expected a positive integer, found {replicates}")
    if not 0 < population_scale <= 1:
        raise ValueError(f"population_scale: expected a number in (0, 1], found {population_scale}")
    seeds = replicate_seeds(seed, replicates)
    text = json.dumps(scenario.model_dump(mode="json"))

    def payload(r: int) -> dict[str, Any]:
        return {
            "scenario": text,
            "seed": seeds[r],
            "population_scale": float(population_scale),
            "replicate": r,
        }

    with (
        runs_folder(out, "ensemble-") as runs_dir,
        given_or_own_executor(executor, workers, scheduler) as ex,
    ):
        store = RunStore(
            runs_dir, ensemble_job(scenario, seed, population_scale), resume, "outcomes"
        )
        stats = ex.run(
            run_replicate,
            range(replicates),
            payload,
            store,
            progress=progress,
            desc=f"{scenario.name} replicates",
        )
        annual = store.table("annual")
        outcomes = store.table("outcomes")
        extra = {name: store.table(name) for name in REPLICATE_TABLES}
    annual = annual[annual[KEY] < replicates].drop(columns=KEY).reset_index(drop=True)
    outcomes = outcomes[outcomes[KEY] < replicates].drop(columns=KEY).reset_index(drop=True)
    extra = {
        name: table[table[KEY] < replicates].drop(columns=KEY).reset_index(drop=True)
        for name, table in extra.items()
    }
    manifest = {
        "kind": "ensemble",
        "schema_version": ENSEMBLE_SCHEMA_VERSION,
        "scenario_name": scenario.name,
        "scenario": scenario.model_dump(mode="json"),
        "seed": int(seed),
        "replicates": int(replicates),
        "seed_rule": "replicate r runs with child r of numpy.random.SeedSequence(seed)",
        "population_scale": float(population_scale),
        "confidence": confidence,
        "ci_method": CI_METHOD,
        "quantiles": list(QUANTILES),
        "package_version": package_version(),
        "git_commit": git_commit(),
        "executed_on": ex.description,
        "runs_computed": stats.computed,
        "runs_resumed": stats.skipped,
        "seconds": round(stats.seconds, 3),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    result = EnsembleResult.from_runs(
        annual, outcomes, scenario.targets.cumulative_people, manifest, confidence, **extra
    )
    if out is not None:
        result.write(out)
    return result
