"""Global sensitivity sweeps with SALib: which assumptions and levers drive the outcomes?

Parameters and their ranges come from the scenario
(:func:`model.engine.scenario.sweepable_parameters`: every uncertainty and lever with a
``[low, high]`` range, which a scenario may change in its ``[ranges]`` table). Two methods:

- ``sobol``: Saltelli's extension of the Sobol' sequence (``SALib.sample.sobol``), ``N * (D + 2)``
  runs for ``D`` parameters and ``N`` a power of two; first-order (S1) and total (ST) indices with
  bootstrap confidence intervals (``SALib.analyze.sobol``, second order not computed);
- ``morris``: ``N`` elementary-effect trajectories, ``N * (D + 1)`` runs; mu*, its confidence
  interval and sigma (``SALib.analyze.morris``).

Every sample point runs ``replicates`` replicates with the seeds of an ensemble of the same seed
(common random numbers: points differ only by their parameters). An outcome is any key of
:meth:`model.results.outputs.RunResult.outcomes` (averaged over the replicates of a point), or
``prob_<key>`` for the share of replicates where a 0/1 outcome is 1; ``prob_all_targets`` is the
probability of meeting every target of the plan.

The sweep machinery (:func:`sweep`) takes any picklable function of the parameters (so it can be
checked on test functions whose indices are known analytically); :func:`run_sweep` is the
model's sweep.
"""

from __future__ import annotations

import fnmatch
import json
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.engine.kernels import many_runs
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

METHODS = ("sobol", "morris")
DEFAULT_OUTCOME = "cumulative_exited_people_2018"
SOBOL_COLUMNS = ["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
MORRIS_COLUMNS = ["outcome", "parameter", "mu_star", "mu_star_conf", "sigma"]
SWEEP_SCHEMA_VERSION = 1

#: ``prob_<name>`` outcomes whose 0/1 outcome is not simply ``<name>``.
PROBABILITY_ALIASES = {"prob_all_targets": "all_targets_met"}

#: A function the sweep evaluates: ``(parameter values, replicate) -> {outcome: value}``.
Evaluate = Callable[[dict[str, float], int], Mapping[str, float]]


@dataclass(frozen=True)
class Problem:
    """The parameters a sweep varies, with their ranges.

    Attributes:
        names: Dotted parameter paths (or any names, for a test function).
        bounds: ``(low, high)`` of each parameter; sampled uniformly.
        integer: Whether each parameter takes whole numbers (values are rounded when applied).
    """

    names: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    integer: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        if not self.integer:
            object.__setattr__(self, "integer", (False,) * len(self.names))
        if not self.names:
            raise ValueError("a sweep needs at least one parameter")
        for name, (low, high) in zip(self.names, self.bounds, strict=True):
            if not low < high:
                raise ValueError(
                    f"parameter {name}: expected a range with low < high, found [{low}, {high}]"
                )

    def salib(self) -> dict[str, Any]:
        """The problem as SALib takes it."""
        return {
            "num_vars": len(self.names),
            "names": list(self.names),
            "bounds": [list(b) for b in self.bounds],
        }


def sweep_problem(scenario: Any, params: Sequence[str] | None = None) -> Problem:
    """The scenario's sweepable parameters, optionally limited to ``params``.

    Args:
        scenario: A validated scenario.
        params: Dotted paths or shell patterns (``dynamics.*``); default every parameter with a
            range.

    Raises:
        ValueError: A name or pattern that matches no sweepable parameter.
    """
    from model.engine.scenario import sweepable_parameters

    table = sweepable_parameters(scenario)
    chosen = list(table)
    if params:
        chosen = []
        for pattern in params:
            matches = [p for p in table if fnmatch.fnmatchcase(p, pattern)]
            if not matches:
                raise ValueError(
                    f"--param {pattern}: expected a parameter with a sweep range (or a pattern "
                    f"such as 'dynamics.*'), found none; parameters: {', '.join(table)}"
                )
            chosen += [m for m in matches if m not in chosen]
    return Problem(
        names=tuple(chosen),
        bounds=tuple((float(table[p]["low"]), float(table[p]["high"])) for p in chosen),
        integer=tuple(
            isinstance(table[p]["default"], int) and not isinstance(table[p]["default"], bool)
            for p in chosen
        ),
    )


def check_samples(method: str, samples: int) -> None:
    """Raise ``ValueError`` unless ``samples`` suits ``method``."""
    if method not in METHODS:
        raise ValueError(f"--method: expected one of {', '.join(METHODS)}, found {method!r}")
    if method == "sobol" and (samples < 2 or samples & (samples - 1)):
        raise ValueError(
            f"--samples: the Sobol method needs a power of two (2, 4, 8, ..., 64, 128, ...), "
            f"found {samples}"
        )
    if method == "morris" and samples < 2:
        raise ValueError(
            f"--samples: the Morris method needs at least 2 trajectories, found {samples}"
        )


def run_count(problem: Problem, method: str, samples: int, replicates: int = 1) -> int:
    """Number of model runs a sweep makes."""
    d = len(problem.names)
    points = samples * (d + 2) if method == "sobol" else samples * (d + 1)
    return points * replicates


def sample_points(
    problem: Problem, method: str, samples: int, seed: int, num_levels: int = 4
) -> np.ndarray:
    """The sample matrix (one row per point), deterministic in ``seed``."""
    check_samples(method, samples)
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem.salib(), samples, calc_second_order=False, seed=seed)
    from SALib.sample import morris

    return morris.sample(problem.salib(), samples, num_levels=num_levels, seed=seed)


def analyze(
    problem: Problem,
    method: str,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    num_levels: int = 4,
    confidence: float = 0.95,
) -> dict[str, np.ndarray]:
    """Sensitivity indices of one outcome: ``S1, S1_conf, ST, ST_conf`` or Morris' measures.

    An outcome that does not vary over the sample has undefined Sobol indices (NaN).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # zero variance: NaN indices
        if method == "sobol":
            from SALib.analyze import sobol

            res = sobol.analyze(
                problem.salib(), y, calc_second_order=False, conf_level=confidence, seed=seed
            )
            return {k: np.asarray(res[k], dtype=float) for k in SOBOL_COLUMNS[2:]}
        from SALib.analyze import morris

        res = morris.analyze(
            problem.salib(), x, y, conf_level=confidence, num_levels=num_levels, seed=seed
        )
        return {k: np.asarray(res[k], dtype=float) for k in MORRIS_COLUMNS[2:]}


# ---------------------------------------------------------------------------------------------
# outcomes


def resolve_outcome(name: str, available: Iterable[str]) -> tuple[str, bool]:
    """The stored outcome column behind ``name``, and whether ``name`` is a probability.

    Raises:
        ValueError: ``name`` is neither an outcome nor ``prob_<outcome>``.
    """
    available = list(available)
    if name in available:
        return name, False
    if name.startswith("prob_"):
        base = PROBABILITY_ALIASES.get(name, name.removeprefix("prob_"))
        if base in available:
            return base, True
    choices = [*available, *PROBABILITY_ALIASES]
    raise ValueError(
        f"--outcome {name}: expected an outcome of a run, or prob_<outcome> for a 0/1 outcome; "
        f"found no such outcome. Outcomes: {', '.join(choices)}"
    )


def point_outcomes(runs: pd.DataFrame, outcomes: Sequence[str], points: int) -> pd.DataFrame:
    """One row per sample point: each outcome averaged over the point's replicates.

    A probability outcome (``prob_<name>``) is the mean of the 0/1 outcome ``<name>``, i.e. the
    share of replicates in which it is 1.
    """
    table = pd.DataFrame({"sample": np.arange(points)})
    grouped = runs.groupby("sample", sort=True)
    for name in outcomes:
        column, _ = resolve_outcome(name, runs.columns)
        means = grouped[column].mean()
        table[name] = means.reindex(table["sample"]).to_numpy(dtype=float)
    return table


# ---------------------------------------------------------------------------------------------
# tasks


def evaluate_point(payload: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Task: evaluate one sample point for one replicate; one row of outcomes."""
    values = payload["values"]
    replicate = payload["replicate"]
    outcomes = payload["evaluate"](values, replicate)
    row = {"sample": payload["sample"], "replicate": replicate}
    row.update({k: float(v) for k, v in outcomes.items()})
    return {"outcomes": [row]}


@dataclass(frozen=True)
class ModelEvaluator:
    """The model as a function of swept parameters (picklable; workers rebuild the scenario).

    Attributes:
        scenario: The scenario's JSON dump.
        population_scale: Share of every count to simulate.
        seed: Root seed; replicate ``r`` runs with the seed of replicate ``r`` of an ensemble.
        integer: Names of parameters that take whole numbers.
        load_kernels: Load the compiled kernels in the worker before its first run
            (:func:`model.engine.kernels.load`): for jobs of many runs, where each worker pays
            the load once and every run is then cheaper; the results are the same.
    """

    scenario: str
    population_scale: float
    seed: int
    integer: tuple[str, ...] = ()
    load_kernels: bool = False

    def __call__(self, values: dict[str, float], replicate: int) -> dict[str, float]:
        """Run one replicate at these parameter values; its scalar outcomes.

        The validated scenario and the replicate's seed come from the worker's cache
        (:mod:`model.experiments.worker_cache`); the run's random state never does.
        """
        from model.experiments import worker_cache
        from model.results.recording import run_for_outcomes

        overrides = {k: int(round(v)) if k in self.integer else float(v) for k, v in values.items()}
        scenario = worker_cache.scenario(self.scenario, overrides)
        seed = worker_cache.replicate_seed(self.seed, replicate)
        outcomes, _ = run_for_outcomes(
            scenario,
            seed=seed,
            population_scale=self.population_scale,
            load_kernels=self.load_kernels,
        )
        return outcomes


def available_outcomes(scenario: Any) -> list[str]:
    """Outcome names of the scenario's runs, from the catalogue of metrics (no run needed).

    Args:
        scenario: A validated scenario; its horizon and target years name the outcomes.
    """
    from model.results.metrics import outcome_names

    return outcome_names(scenario)


# ---------------------------------------------------------------------------------------------
# the result


@dataclass
class SweepResult:
    """Results of a sweep.

    Attributes:
        method: ``"sobol"`` or ``"morris"``.
        problem: The parameters and ranges.
        points: One row per sample point: ``sample``, the parameter values and each requested
            outcome (averaged over replicates).
        sensitivity: ``outcome, parameter, S1, S1_conf, ST, ST_conf`` (Sobol) or
            ``outcome, parameter, mu_star, mu_star_conf, sigma`` (Morris).
        manifest: Method, sizes, seed, parameters, outcomes, versions, where it ran.
    """

    method: str
    problem: Problem
    points: pd.DataFrame
    sensitivity: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    def top(self, outcome: str, n: int = 3) -> list[str]:
        """The ``n`` parameters with the largest ST (Sobol) or mu* (Morris) for ``outcome``."""
        key = "ST" if self.method == "sobol" else "mu_star"
        t = self.sensitivity[self.sensitivity["outcome"] == outcome]
        return list(t.sort_values(key, ascending=False, na_position="last")["parameter"][:n])

    def write(self, folder: str | Path) -> Path:
        """Write ``sensitivity.csv``, ``sensitivity.png``, ``points.parquet``, ``manifest.json``."""
        from model.reporting.figures import sensitivity_bars

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        atomic_to_csv(self.sensitivity, out / "sensitivity.csv")
        atomic_to_parquet(self.points, out / "points.parquet")
        atomic_savefig(sensitivity_bars(self.sensitivity), out / "sensitivity.png")
        manifest = dict(self.manifest, written_utc=datetime.now(UTC).isoformat(timespec="seconds"))
        atomic_write_json(manifest, out / "manifest.json")
        return out


# ---------------------------------------------------------------------------------------------
# running


def _callable_name(func: Any) -> str:
    target = func if hasattr(func, "__qualname__") else type(func)
    return f"{target.__module__}.{target.__qualname__}"


def sweep(
    evaluate: Evaluate,
    problem: Problem,
    method: str = "sobol",
    samples: int = 64,
    outcomes: Sequence[str] = (DEFAULT_OUTCOME,),
    replicates: int = 1,
    seed: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    num_levels: int = 4,
    confidence: float = 0.95,
    executor: Executor | None = None,
    job: Mapping[str, Any] | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> SweepResult:
    """Sample the parameters, evaluate every point (streamed to disk), compute the indices.

    Args:
        evaluate: Picklable ``(values, replicate) -> {outcome: value}``, e.g. a
            :class:`ModelEvaluator`.
        problem: Parameters and ranges.
        method: ``"sobol"`` or ``"morris"``.
        samples: Sobol base sample size (a power of two) or number of Morris trajectories.
        outcomes: Outcomes to analyse (names returned by ``evaluate``, or ``prob_<name>``).
        replicates: Evaluations per sample point (replicate index 0..R-1).
        seed: Seed of the sample, of the bootstrap confidence intervals and of the replicates.
        workers: Local worker processes (default: the number of cores; 1 = this process).
        scheduler: ``tcp://HOST:PORT`` of a Dask scheduler to run on instead.
        out: Results folder; runs are saved in ``out/runs/`` as they finish. Without it the runs
            go to a temporary folder.
        resume: Keep the runs an interrupted sweep of the same job left in ``out/runs/``.
        progress: Show a progress bar with ETA.
        num_levels: Grid levels of the Morris method.
        confidence: Confidence level of the intervals.
        executor: An open :class:`~model.execution.Executor` to reuse.
        job: Extra description of what ``evaluate`` computes (resuming requires the same).
        manifest: Extra entries for the manifest.

    Returns:
        The :class:`SweepResult` (also written to ``out`` when given).
    """
    check_samples(method, samples)
    if replicates < 1:
        raise ValueError(f"--replicates: expected a positive integer, found {replicates}")
    x = sample_points(problem, method, samples, seed, num_levels)
    points = len(x)
    names = problem.names

    def payload(key: int) -> dict[str, Any]:
        sample, replicate = divmod(key, replicates)
        return {
            "evaluate": evaluate,
            "sample": sample,
            "replicate": replicate,
            "values": dict(zip(names, map(float, x[sample]), strict=True)),
        }

    description = {
        "kind": "sweep",
        "method": method,
        "samples": samples,
        "replicates": replicates,
        "seed": seed,
        "num_levels": num_levels if method == "morris" else None,
        "parameters": list(names),
        "bounds": [list(b) for b in problem.bounds],
        "evaluate": _callable_name(evaluate),
        **dict(job or {}),
    }
    with (
        runs_folder(out, "sweep-") as runs_dir,
        given_or_own_executor(executor, workers, scheduler) as ex,
    ):
        store = RunStore(runs_dir, description, resume, "outcomes")
        stats = ex.run(
            evaluate_point,
            range(points * replicates),
            payload,
            store,
            progress=progress,
            desc=f"{method} sweep",
        )
        runs = store.table("outcomes").drop(columns=KEY)
    per_point = point_outcomes(runs, outcomes, points)
    rows = []
    for name in outcomes:
        y = per_point[name].to_numpy(dtype=float)
        indices = analyze(problem, method, x, y, seed, num_levels, confidence)
        for i, parameter in enumerate(names):
            rows.append(
                {"outcome": name, "parameter": parameter, **{k: v[i] for k, v in indices.items()}}
            )
    columns = SOBOL_COLUMNS if method == "sobol" else MORRIS_COLUMNS
    sensitivity = pd.DataFrame(rows, columns=columns)
    points_table = pd.concat(
        [
            per_point[["sample"]],
            pd.DataFrame(x, columns=list(names)),
            per_point.drop(columns="sample"),
        ],
        axis=1,
    )
    from model.results.outputs import git_commit, package_version

    result = SweepResult(
        method=method,
        problem=problem,
        points=points_table,
        sensitivity=sensitivity,
        manifest={
            "kind": "sweep",
            "schema_version": SWEEP_SCHEMA_VERSION,
            "method": method,
            "samples": samples,
            "sample_points": points,
            "replicates": replicates,
            "runs": points * replicates,
            "seed": seed,
            "num_levels": num_levels if method == "morris" else None,
            "confidence": confidence,
            "parameters": {
                n: {"low": b[0], "high": b[1], "integer": i}
                for n, b, i in zip(names, problem.bounds, problem.integer, strict=True)
            },
            "outcomes": list(outcomes),
            "package_version": package_version(),
            "git_commit": git_commit(),
            "executed_on": ex.description,
            "runs_computed": stats.computed,
            "runs_resumed": stats.skipped,
            "seconds": round(stats.seconds, 3),
            **dict(manifest or {}),
        },
    )
    if out is not None:
        result.write(out)
    return result


def run_sweep(
    scenario: Any,
    method: str = "sobol",
    samples: int = 64,
    outcomes: Sequence[str] = (DEFAULT_OUTCOME,),
    params: Sequence[str] | None = None,
    replicates: int = 1,
    seed: int = 0,
    population_scale: float = 1.0,
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    num_levels: int = 4,
    confidence: float = 0.95,
    executor: Executor | None = None,
) -> SweepResult:
    """Global sensitivity of the model's outcomes to the scenario's uncertainties and levers.

    Args:
        scenario: A validated scenario (or a path to a scenario file).
        method: ``"sobol"`` or ``"morris"``.
        samples: Sobol base sample size (a power of two) or number of Morris trajectories.
        outcomes: Outcome names, e.g. ``cumulative_exited_people_2018``, ``prob_all_targets``,
            ``cost_per_sustained_exit``.
        params: Dotted paths or patterns limiting the parameters (default: all with a range).
        replicates: Replicates per sample point (for probability outcomes).
        seed: Seed of the sample, the confidence intervals and the replicates.
        population_scale: Share of every count to simulate, in (0, 1].
        workers: Local worker processes (default: the number of cores).
        scheduler: ``tcp://HOST:PORT`` of a Dask scheduler.
        out: Results folder (``sensitivity.csv``, ``sensitivity.png``, ``points.parquet``,
            ``manifest.json``, ``runs/``).
        resume: Keep the runs of an interrupted sweep of the same job in ``out/runs/``.
        progress: Show a progress bar with ETA.
        num_levels: Grid levels of the Morris method.
        confidence: Confidence level of the intervals.
        executor: An open :class:`~model.execution.Executor` to reuse.

    Returns:
        The :class:`SweepResult`.

    Raises:
        ValueError: Bad method, sample size, parameter or outcome name (before any run).

    Example:
        >>> res = run_sweep(load_scenario("scenarios/baseline.toml"), "morris", samples=4,
        ...                 params=["dynamics.*"], population_scale=0.05)
        >>> res.sensitivity
    """
    from model.engine.scenario import load_scenario
    from model.results.outputs import package_version

    if isinstance(scenario, str | Path):
        scenario = load_scenario(scenario)
    check_samples(method, samples)
    if not 0 < population_scale <= 1:
        raise ValueError(f"population_scale: expected a number in (0, 1], found {population_scale}")
    problem = sweep_problem(scenario, params)
    known = available_outcomes(scenario)
    for name in outcomes:
        resolve_outcome(name, known)
    evaluator = ModelEvaluator(
        scenario=json.dumps(scenario.model_dump(mode="json")),
        population_scale=float(population_scale),
        seed=int(seed),
        integer=tuple(n for n, i in zip(problem.names, problem.integer, strict=True) if i),
        load_kernels=many_runs(run_count(problem, method, samples, replicates)),
    )
    return sweep(
        evaluator,
        problem,
        method,
        samples,
        outcomes,
        replicates,
        seed,
        workers,
        scheduler,
        out=out,
        resume=resume,
        progress=progress,
        num_levels=num_levels,
        confidence=confidence,
        executor=executor,
        job={
            "scenario": scenario.model_dump(mode="json"),
            "population_scale": float(population_scale),
            "package_version": package_version(),
        },
        manifest={
            "scenario_name": scenario.name,
            "scenario": scenario.model_dump(mode="json"),
            "population_scale": float(population_scale),
        },
    )
