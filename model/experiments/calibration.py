"""Calibration: fit uncertain parameters to observed outcomes with ABC-SMC (pyabc).

What is fitted to what:

- the *parameters* are uncertainties (X) of the scenario with a range (every one by default, or
  those named); levers are refused (they are chosen, not estimated), as is a parameter without
  a range (it has no prior);
- each parameter's *prior* is uniform over its range (the schema's, or the scenario's
  ``[ranges]``); the schema declares no other prior yet;
- the *observations* are the rows of an observed-data file (``model.results.observed``) whose
  scope belongs to the scenario's region (or the scopes asked for);
- the *summary statistics* are the model's value of each observation from one run at the
  particle's parameters (counts scaled to the full population);
- the *distance* is pyabc's ``AdaptivePNormDistance`` (p = 2): each statistic is divided by a
  scale (median absolute deviation of the generation's simulations) re-estimated every
  generation, so exits in millions and incomes in thousands of yuan weigh alike;
- the *threshold* is the median distance of the previous generation (pyabc's default); the
  transition a multivariate normal kernel fitted to the previous generation.

Seeds. pyabc draws the parameters from numpy's global generator; this module re-seeds it at the
start of every generation from ``(seed, generation)``. Each model run takes its seed from the
calibration seed and the particle's parameter values (:func:`simulation_seed`), so a run is a
function of its parameters whatever process runs it. With one worker (pyabc's single-core
sampler) one ``seed`` reproduces the calibration exactly, and a calibration stopped after a
generation and resumed gives the same posterior as one run straight through. With several
workers (pyabc's multicore sampler) or a Dask cluster, which particles are accepted depends on
the order in which runs finish and the workers seed themselves from the operating system, so
the posterior is a different draw of the same distribution each time.

Each generation is one call of pyabc on the history database (``history.db`` in the results
folder), which pyabc writes when a generation is complete (one SQLite transaction: a kill in the
middle of it is rolled back when the history is next opened), so ``resume`` continues from the
last complete generation, also after a SIGKILL at any moment.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import struct
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.engine.catalogue import get_path
from model.engine.kernels import many_runs
from model.engine.scenario import apply_overrides, sweepable_parameters
from model.results.observed import (
    ObservedDataError,
    check_observations,
    model_value,
    read_observed,
    scenario_region,
    statistic_key,
    subset_of,
)

#: Files of a calibration folder.
HISTORY = "history.db"
#: the tables of a run the summary statistics are read from (``model_value``)
RUN_TABLES = ("annual", "by_party")
SETTINGS = "calibration_settings.json"
POSTERIOR = "posterior.parquet"
TABLE = "calibration.csv"
GENERATIONS = "generations.csv"
MANIFEST = "manifest.json"
#: Suffixes of the files SQLite keeps beside ``history.db`` while it writes.
JOURNALS = ("-journal", "-wal", "-shm")
PRIOR_POSTERIOR_FIGURE = "prior_posterior.png"
PREDICTIVE_FIGURE = "posterior_predictive.png"

#: Columns of ``calibration.csv``.
TABLE_COLUMNS = [
    "scope",
    "year",
    "metric",
    "observed",
    "median",
    "low_90",
    "high_90",
    "inside_90",
    "rel_error",
    "unit",
    "source",
]


class CalibrationError(ValueError):
    """Bad input to a calibration (a parameter, an observation, a setting, the folder)."""


# ---------------------------------------------------------------------------------------------
# what is fitted


def fitted_parameters(
    scenario: Any, names: Iterable[str] | None = None
) -> dict[str, dict[str, Any]]:
    """The parameters to fit with their ranges: ``{path: {default, low, high, unit, kind}}``.

    Args:
        scenario: A validated scenario.
        names: Dotted paths to fit; default every uncertainty with a range.

    Raises:
        CalibrationError: A name that is no parameter, has no range, is a lever, has an empty
            range, or is given twice.
    """
    catalogue = sweepable_parameters(scenario)
    if names is None:
        chosen = {p: i for p, i in catalogue.items() if i["kind"] == "uncertainty"}
    else:
        chosen = {}
        for name in names:
            if name in chosen:
                raise CalibrationError(f"--param {name}: given twice")
            info = catalogue.get(name)
            if info is None:
                raise CalibrationError(
                    f"--param {name}: expected an uncertain parameter with a range "
                    f"(shaoguan-abm params lists them), found none by that name"
                )
            if info["kind"] != "uncertainty":
                raise CalibrationError(
                    f"--param {name}: is a lever (chosen by the government), not an "
                    f"uncertainty; levers are not calibrated"
                )
            chosen[name] = info
    for name, info in chosen.items():
        if not info["low"] < info["high"]:
            raise CalibrationError(
                f"--param {name}: expected a range low < high to draw a prior from, found "
                f"[{info['low']}, {info['high']}]"
            )
    if not chosen:
        raise CalibrationError("expected at least one parameter to fit, found none")
    return chosen


def prior_distribution(parameters: Mapping[str, Mapping[str, Any]]) -> Any:
    """The prior for pyabc: independent uniform distributions over each parameter's range."""
    import pyabc

    return pyabc.Distribution(
        **{
            name: pyabc.RV("uniform", float(info["low"]), float(info["high"] - info["low"]))
            for name, info in parameters.items()
        }
    )


def simulation_seed(seed: int, values: Mapping[str, float], salt: str = "abc") -> int:
    """The seed of one model run: a hash of the calibration seed and the parameter values."""
    digest = hashlib.sha256(f"{salt}:{seed}".encode())
    for name in sorted(values):
        digest.update(name.encode())
        digest.update(struct.pack("<d", float(values[name])))
    return int.from_bytes(digest.digest()[:4], "little")


def _generation_seed(seed: int, generation: int) -> int:
    return int(np.random.SeedSequence([seed, generation]).generate_state(1)[0])


@dataclass
class Simulator:
    """One model run at a particle's parameters, as the observations' summary statistics.

    A top-level, picklable callable: pyabc's samplers and the Dask workers call it.

    ``constants`` names the statistics the model holds fixed instead of simulating them: a key
    of ``observations`` -> the dotted path of the scenario parameter that is its value (a
    full-population count, not scaled). A model without the living register, for one, states
    that the register keeps its identified size: its ``registered_people`` is
    ``population.registered_people`` (see :mod:`model.experiments.model_selection`).
    """

    scenario: Any
    parameters: dict[str, dict[str, Any]]
    observations: list[tuple[str, str | None, str, int]]  # (key, subset, metric, year)
    population_scale: float
    seed: int
    constants: dict[str, str] = field(default_factory=dict)
    #: load the compiled kernels before the first run in each worker (jobs of many runs,
    #: particles x (generations + 1) at the least: :data:`model.engine.kernels.MANY_RUNS`);
    #: the statistics are the same either way
    load_kernels: bool = False

    def overrides(self, values: Mapping[str, float]) -> dict[str, float | int]:
        """The particle's values as scenario overrides (integer parameters rounded)."""
        out: dict[str, float | int] = {}
        for name, info in self.parameters.items():
            value = float(values[name])
            out[name] = int(round(value)) if isinstance(info["default"], int) else value
        return out

    def run(self, values: Mapping[str, float], seed: int) -> dict[str, float]:
        """The summary statistics of one run at ``values`` with ``seed``."""
        from model.results.recording import run_for_outcomes

        scenario = apply_overrides(self.scenario, self.overrides(values))
        _, tables = run_for_outcomes(
            scenario,
            seed=seed,
            population_scale=self.population_scale,
            tables=RUN_TABLES,
            load_kernels=self.load_kernels,
        )
        stats = {
            key: float(get_path(scenario, self.constants[key]))
            if key in self.constants
            else model_value(
                tables["annual"], tables["by_party"], subset, metric, year, self.population_scale
            )
            for key, subset, metric, year in self.observations
        }
        empty = [key for key, value in stats.items() if value != value]  # noqa: PLR0124 - NaN
        if empty:
            # a NaN distance is never accepted: pyabc would sample for ever
            raise CalibrationError(
                f"{empty[0]}: the run has no value (an empty subset at population scale "
                f"{self.population_scale}?); raise --population-scale"
            )
        return stats

    def __call__(self, values: Mapping[str, float]) -> dict[str, float]:
        values = {name: float(values[name]) for name in self.parameters}
        return self.run(values, simulation_seed(self.seed, values))


def posterior_table(
    history: Any, parameters: Iterable[str], m: int = 0, t: int | None = None
) -> pd.DataFrame:
    """The particles of model ``m`` in generation ``t`` (default the last) of a pyabc history.

    Returns:
        ``weight`` (summing to 1 within the model) and one column per parameter, by dotted
        path: the rows of ``posterior.parquet``.
    """
    frame, weights = history.get_distribution(m=m, t=history.max_t if t is None else t)
    posterior = pd.DataFrame({"weight": np.asarray(weights, dtype=float)})
    for name in parameters:
        posterior[name] = frame[name].to_numpy(dtype=float)
    return posterior


def _predictive_run(payload: tuple[Simulator, dict[str, float], int]) -> dict[str, float]:
    simulator, values, seed = payload
    return simulator.run(values, seed)


# ---------------------------------------------------------------------------------------------
# the calibration


@dataclass
class CalibrationResult:
    """A finished calibration: its folder and tables.

    Attributes:
        folder: The results folder.
        posterior: One row per particle of the last generation: ``weight`` and every fitted
            parameter by dotted path.
        table: Each observation against the posterior predictive median and 90% interval.
        generations: One row per generation: ``generation, epsilon, particles, runs,
            acceptance_rate, seconds``.
        manifest: Scenario, observations, settings, versions, runs and seconds.
    """

    folder: Path
    posterior: pd.DataFrame
    table: pd.DataFrame
    generations: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)


def select_observations(
    observed: pd.DataFrame,
    path: str | Path,
    scenario: Any,
    scopes: Iterable[str] | None = None,
    skip_unknown: bool = False,
    mechanisms: Iterable[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The observations a calibration of ``scenario`` fits: ``(fitted, skipped, other)``.

    Rows of the old format (no scope) and rows of the scenario's region are kept by default;
    ``scopes`` names the scopes to keep instead. ``other`` holds the rows left out because they
    describe another scope; ``skipped`` those whose metric the model does not produce (only
    with ``skip_unknown``). A metric of a feedback mechanism counts as produced when the
    mechanism is in ``mechanisms`` (default: those ``scenario`` switches on).
    """
    if scopes:
        wanted = set(scopes)
        unknown = sorted(wanted - set(observed["scope"]))
        if unknown:
            raise CalibrationError(
                f"--scope {unknown[0]}: no observation of that scope in {path}; found "
                f"{', '.join(sorted(set(observed['scope'])))}"
            )
        mine = observed["scope"].isin(wanted)
    else:
        region = scenario_region(scenario.name)
        mine = observed["region"].isna() | (observed["region"] == region)
        if not mine.any():
            raise CalibrationError(
                f"{path}: no observation of the scenario's region ({region}: scenario "
                f"{scenario.name!r}); found scopes {', '.join(sorted(set(observed['scope'])))}; "
                "name the scopes to fit with --scope"
            )
    years = (scenario.calendar.start_year, scenario.calendar.end_year)
    fitted, skipped = check_observations(
        observed[mine].reset_index(drop=True),
        path,
        years,
        skip_unknown,
        enabled_mechanisms(scenario) if mechanisms is None else list(mechanisms),
    )
    if fitted.empty:
        raise CalibrationError(f"{path}: no observation left to fit (every row was skipped)")
    return fitted, skipped, observed[~mine].reset_index(drop=True)


def enabled_mechanisms(scenario: Any) -> list[str]:
    """Names of the feedback mechanisms switched on in ``scenario``."""
    from model.engine.mechanisms import MECHANISMS

    return [cls.name for cls in MECHANISMS if getattr(scenario, cls.name).enabled]


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (the observations file in settings and manifests)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scenario_sha256(scenario: Any) -> str:
    """The SHA-256 of a validated scenario's canonical JSON (every parameter's value)."""
    return hashlib.sha256(
        json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()


def _settings(
    scenario: Any,
    observed_path: Path,
    observations: pd.DataFrame,
    parameters: Mapping[str, Mapping[str, Any]],
    population_scale: float,
    particles: int,
    seed: int,
) -> dict[str, Any]:
    """What a resumed calibration must share with the one it continues."""
    return {
        "scenario_name": scenario.name,
        "scenario_sha256": scenario_sha256(scenario),
        "observed_file": str(observed_path),
        "observed_sha256": file_sha256(observed_path),
        "observations": [
            statistic_key(r["scope"], r["metric"], int(r["year"]))
            for _, r in observations.iterrows()
        ],
        "parameters": {
            name: {"low": info["low"], "high": info["high"], "prior": "uniform"}
            for name, info in parameters.items()
        },
        "population_scale": population_scale,
        "particles": particles,
        "seed": seed,
    }


def check_calibration_folder(
    out: Path,
    resume: bool,
    settings: dict[str, Any],
    settings_file: str = SETTINGS,
    kind: str = "calibration",
) -> None:
    """Refuse a folder the calibration must not write to, or a resume of other work.

    ``settings_file`` and ``kind`` name the settings file and the work in messages (a model
    selection keeps its own settings file).
    """
    from model.results.safety import OutputError, check_output_folder

    if resume:
        # the settings are written first: a calibration killed before pyabc made its history
        # has settings and no history, and resumes from the first generation
        if not (out / settings_file).is_file():
            raise CalibrationError(
                f"--resume: expected a {kind} folder with {settings_file} (and {HISTORY}) in "
                f"{out}, found none"
            )
        try:
            before = json.loads((out / settings_file).read_text(encoding="utf-8"))
        except ValueError as err:
            raise CalibrationError(f"{out / settings_file}: expected JSON ({err})") from None
        differ = sorted(k for k in settings if before.get(k) != settings[k])
        if differ:
            raise CalibrationError(
                f"--resume: {out} holds a {kind} with other settings ({', '.join(differ)}); "
                "resume with the same scenario, observations, parameters, scale, particles and "
                "seed, or choose another --out"
            )
        return
    try:
        check_output_folder(out)
    except OutputError:
        # an earlier calibration folder (a settings file, maybe no manifest yet) may be replaced
        if not (out.is_dir() and (out / settings_file).is_file()):
            raise


def check_run_settings(population_scale: float, max_runs: int | None, **positive: int) -> None:
    """Refuse a population scale outside (0, 1], a ``max_runs`` or a count below 1.

    Args:
        population_scale: Share of the population each run simulates.
        max_runs: The run budget, or None.
        **positive: Counts that must be positive integers, by name (particles, generations...).

    Raises:
        CalibrationError: Naming the setting, what was expected and what was found.
    """
    for name, value in positive.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise CalibrationError(f"{name}: expected a positive integer, found {value!r}")
    if max_runs is not None and (not isinstance(max_runs, int) or max_runs < 1):
        raise CalibrationError(f"max_runs: expected a positive integer, found {max_runs!r}")
    if not 0 < population_scale <= 1:
        raise CalibrationError(f"population_scale: expected (0, 1], found {population_scale}")


def start_folder(
    folder: Path,
    resume: bool,
    settings: dict[str, Any],
    settings_file: str = SETTINGS,
    stale: Iterable[str] = (),
) -> None:
    """Make the folder of an ABC-SMC run and write its settings first (whole or absent).

    A fresh start removes the history with its SQLite journals, the settings, the manifest and
    the files named in ``stale`` (glob patterns) an earlier run left; a resume leaves all as is.
    """
    if resume:
        return
    if folder.exists():
        # with the history goes its rollback journal, which a kill mid-write leaves
        for name in (HISTORY, *(HISTORY + end for end in JOURNALS), settings_file, MANIFEST):
            (folder / name).unlink(missing_ok=True)
        for pattern in stale:
            for path in folder.glob(pattern):
                path.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    from model.experiments.execution import atomic_write_json

    atomic_write_json(settings, folder / settings_file)  # whole or absent after a kill


def run_generations(
    make_abc: Callable[[], Any],
    folder: Path,
    x_0: Mapping[str, float],
    *,
    generations: int,
    max_runs: int | None,
    seed: int,
    resume: bool,
    say: Callable[[str], None],
    describe: Callable[[Any, int, Mapping[int, float]], str],
) -> tuple[Any, dict[int, float]]:
    """Run ABC-SMC one generation per call of pyabc on ``folder/history.db``.

    Each generation builds a fresh ``pyabc.ABCSMC`` with ``make_abc()``, re-seeds numpy's and
    Python's global generators from ``(seed, generation)``, starts the history (generation 0)
    or loads it, and runs one population. A resume continues after the last complete
    generation (a history without one is started again).

    Args:
        make_abc: A new ``pyabc.ABCSMC`` (models, priors, distance, sampler).
        folder: The results folder holding ``history.db`` (and ``generations.csv`` of the
            generations already run, for their seconds).
        x_0: The observed statistics.
        generations: Generations in total.
        max_runs: Stop before a generation once the runs reach this.
        seed: The seed of the draws.
        resume: Continue the history in ``folder``.
        say: Receives the progress lines.
        describe: The line of a finished generation, from ``(history, t, seconds)``.

    Returns:
        The history and the seconds of each generation by index.
    """
    import pyabc

    db = f"sqlite:///{(folder / HISTORY).absolute()}"
    seconds: dict[int, float] = {}
    if resume:
        previous = folder / GENERATIONS
        if previous.is_file():
            done = pd.read_csv(previous)
            seconds.update(dict(zip(done["generation"], done["seconds"], strict=True)))
    # opening the history rolls back a write a kill left unfinished (SQLite's journal),
    # so the last generation read is a complete one
    history = pyabc.History(db) if resume and (folder / HISTORY).is_file() else None
    if history is not None and (history.max_t is None or history.max_t < 0):
        # stopped before the first generation was complete: nothing to continue from
        history = None
        (folder / HISTORY).unlink()
    start = 0 if history is None else history.max_t + 1
    if resume:
        say(f"resuming after generation {start} of {generations}")
    for t in range(start, generations):
        if history is not None and max_runs is not None:
            if history.total_nr_simulations >= max_runs:
                say(f"stopped: {history.total_nr_simulations} runs reached --max-runs")
                break
        abc = make_abc()
        np.random.seed(_generation_seed(seed, t))
        random.seed(_generation_seed(seed, t))
        t0 = time.perf_counter()
        history = abc.new(db, dict(x_0)) if t == 0 else abc.load(db, 1)
        abc.run(max_nr_populations=1)
        seconds[t] = round(time.perf_counter() - t0, 3)
        say(describe(history, t, seconds))
    assert history is not None
    return history, seconds


def abc_sampler(workers: int, scheduler: str | None) -> Any:
    """The sampler of pyabc: single-core (1 worker), multicore (several) or Dask."""
    import pyabc

    if scheduler is not None:
        from model.experiments.execution import connect_client

        try:
            client = connect_client(scheduler)
        except OSError as err:
            raise CalibrationError(str(err)) from None
        return pyabc.sampler.DaskDistributedSampler(dask_client=client, batch_size=1)
    if workers == 1:
        return pyabc.sampler.SingleCoreSampler()
    return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers)


def close_sampler(sampler: Any) -> None:
    """Close the Dask client of a sampler (other samplers hold nothing to close)."""
    client = getattr(sampler, "my_client", None)
    if client is not None:
        client.close()


def generations_table(history: Any, seconds: Mapping[int, float]) -> pd.DataFrame:
    """The rows of ``generations.csv``, one per generation of a pyabc history.

    Columns: ``generation, epsilon, particles, runs, acceptance_rate, seconds``.
    """
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    runs = pops["samples"].astype(int).to_numpy()
    particles = pops["particles"].astype(int).to_numpy()
    return pd.DataFrame(
        {
            "generation": pops["t"].astype(int).to_numpy(),
            "epsilon": pops["epsilon"].astype(float).to_numpy(),
            "particles": particles,
            "runs": runs,
            "acceptance_rate": particles / np.maximum(runs, 1),
            "seconds": [seconds.get(int(t), float("nan")) for t in pops["t"]],
        }
    )


def calibrate(
    scenario: Any,
    observed: str | Path,
    out: str | Path,
    *,
    params: Iterable[str] | None = None,
    scopes: Iterable[str] | None = None,
    skip_unknown: bool = False,
    population_scale: float = 0.02,
    particles: int = 100,
    generations: int = 5,
    max_runs: int | None = None,
    seed: int = 1,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    predictive_draws: int = 50,
    figures: bool = True,
    progress: Callable[[str], None] | None = None,
) -> CalibrationResult:
    """Fit uncertain parameters of a scenario to observed outcomes with ABC-SMC.

    Args:
        scenario: A validated scenario, or a path to a scenario file.
        observed: The observed-data CSV (``scope,year,metric,value,unit,source``).
        out: The calibration folder: ``history.db`` (pyabc's database, written as generations
            complete), then ``posterior.parquet``, ``calibration.csv``, ``generations.csv``,
            ``manifest.json`` and two figures.
        params: Dotted paths of the parameters to fit; default every uncertainty with a range.
        scopes: The observation scopes to fit; default those of the scenario's region.
        skip_unknown: Leave out observations whose metric the model does not produce (they
            are refused otherwise).
        population_scale: Share of the population each run simulates, in (0, 1].
        particles: Particles per generation (pyabc's population size).
        generations: Generations to run in total (a resumed calibration runs the rest).
        max_runs: Stop after the generation in which the number of model runs reaches this.
        seed: Seed of pyabc's draws and of every model run.
        workers: Local processes; 1 uses pyabc's single-core sampler (reproducible).
        scheduler: ``tcp://HOST:PORT`` of a Dask scheduler (pyabc's Dask sampler).
        resume: Continue the calibration in ``out`` from its last complete generation.
        predictive_draws: Posterior draws re-run for the posterior predictive.
        figures: Draw the prior/posterior and the posterior predictive figures.
        progress: Receives one line per generation (default: nothing).

    Returns:
        A :class:`CalibrationResult`.

    Raises:
        CalibrationError: Bad parameters, settings, folder or scheduler.
        ObservedDataError: A bad observed-data file or an observation the model cannot match.
        PopulationError: A population scale at which a group or a county has no household.
        ScenarioError: A bad scenario file.

    Example:
        >>> result = model.calibrate("scenarios/guangdong.toml",
        ...     "data/observed/observed_calibration.csv", "results/calibration",
        ...     params=["dynamics.job_finding_rate"], skip_unknown=True, particles=50)
        >>> result.posterior                     # weight and one column per parameter
    """
    import pyabc

    from model.engine.population import check_population_scale
    from model.engine.scenario import load_scenario

    say = progress or (lambda line: None)
    t_start = time.perf_counter()
    if isinstance(scenario, str | Path):
        scenario = load_scenario(scenario)
    check_run_settings(
        population_scale,
        max_runs,
        particles=particles,
        generations=generations,
        predictive_draws=predictive_draws,
        workers=workers,
    )
    check_population_scale(scenario.population, population_scale)  # before anything is written
    observed_path = Path(observed)
    parameters = fitted_parameters(scenario, params)
    table = read_observed(observed_path)
    fitted, skipped, other = select_observations(
        table, observed_path, scenario, scopes, skip_unknown
    )
    keys = [statistic_key(r["scope"], r["metric"], int(r["year"])) for _, r in fitted.iterrows()]
    x_0 = {k: float(v) for k, v in zip(keys, fitted["value"], strict=True)}
    settings = _settings(
        scenario, observed_path, fitted, parameters, population_scale, particles, seed
    )
    folder = Path(out)
    check_calibration_folder(folder, resume, settings)
    logging.getLogger("ABC").setLevel(logging.WARNING)
    sampler = abc_sampler(workers, scheduler)

    simulator = Simulator(
        scenario=scenario,
        parameters=parameters,
        observations=[
            (k, subset_of(r["subset"]), r["metric"], int(r["year"]))
            for k, (_, r) in zip(keys, fitted.iterrows(), strict=True)
        ],
        population_scale=population_scale,
        seed=seed,
        # at least a population a generation, and pyabc's sample for the adaptive distance
        load_kernels=many_runs(particles * (generations + 1)),
    )
    prior = prior_distribution(parameters)

    def make_abc() -> Any:
        return pyabc.ABCSMC(
            simulator,
            prior,
            pyabc.distance.AdaptivePNormDistance(p=2),
            population_size=particles,
            sampler=sampler,
        )

    def describe(history: Any, t: int, seconds: Mapping[int, float]) -> str:
        row = generations_table(history, seconds).iloc[-1]
        return (
            f"generation {t + 1}/{generations}: {int(row['particles'])} particles accepted "
            f"of {int(row['runs'])} runs (acceptance {row['acceptance_rate']:.2f}), "
            f"epsilon {row['epsilon']:.3g}, {seconds[t]:.1f} s"
        )

    try:
        start_folder(folder, resume, settings)
        history, seconds = run_generations(
            make_abc,
            folder,
            x_0,
            generations=generations,
            max_runs=max_runs,
            seed=seed,
            resume=resume,
            say=say,
            describe=describe,
        )
    finally:
        close_sampler(sampler)
    gen_table = generations_table(history, seconds)
    posterior = posterior_table(history, parameters)
    weights = posterior["weight"].to_numpy(dtype=float)

    # posterior predictive: re-run the model at draws of the posterior
    say(f"posterior predictive: {predictive_draws} runs at posterior draws")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7_919]))
    picks = rng.choice(len(posterior), size=predictive_draws, p=weights / weights.sum())
    payloads = []
    for i, pick in enumerate(picks):
        values = {name: float(posterior[name].iloc[pick]) for name in parameters}
        payloads.append((simulator, values, simulation_seed(seed, {"draw": i}, "predictive")))
    from model.experiments.execution import Executor

    with Executor(workers=workers, scheduler=scheduler) as executor:
        draws = executor.map(_predictive_run, payloads)
    predictive = pd.DataFrame(draws, columns=keys)
    table_out = predictive_table(fitted, keys, predictive)

    total_runs = int(history.total_nr_simulations)
    from model.results.outputs import SCHEMA_VERSION

    manifest = {
        "schema_version": SCHEMA_VERSION,
        "kind": "calibration",
        "scenario_name": scenario.name,
        "scenario": scenario.model_dump(mode="json"),
        "observed_file": str(observed_path),
        "observed_sha256": settings["observed_sha256"],
        "observations_fitted": keys,
        "observations_skipped": [
            statistic_key(r["scope"], r["metric"], int(r["year"])) for _, r in skipped.iterrows()
        ],
        "observations_of_other_scopes": int(len(other)),
        "parameters": settings["parameters"],
        "settings": {
            "population_scale": population_scale,
            "particles": particles,
            "generations": generations,
            "generations_run": int(history.max_t + 1),
            "max_runs": max_runs,
            "seed": seed,
            "workers": workers,
            "scheduler": scheduler,
            "sampler": type(sampler).__name__,
            "distance": "AdaptivePNormDistance(p=2)",
            "epsilon": "MedianEpsilon",
            "predictive_draws": predictive_draws,
            "reproducible": scheduler is None and workers == 1,
        },
        "pyabc_version": pyabc.__version__,
        "package_version": _package_version(),
        "runs": total_runs,
        "runs_predictive": predictive_draws,
        "seconds": round(time.perf_counter() - t_start, 2),
        "acceptance_rate": {
            str(int(r["generation"])): float(r["acceptance_rate"]) for _, r in gen_table.iterrows()
        },
    }
    _write(folder, posterior, table_out, gen_table, manifest, parameters, figures)
    say(f"written to {folder}")
    return CalibrationResult(folder, posterior, table_out, gen_table, manifest)


def _package_version() -> str:
    from model.results.outputs import package_version

    return package_version()


def predictive_table(
    fitted: pd.DataFrame, keys: list[str], predictive: pd.DataFrame
) -> pd.DataFrame:
    """Each observation against the posterior predictive median and 5-95% interval."""
    rows = []
    for key, (_, r) in zip(keys, fitted.iterrows(), strict=True):
        values = predictive[key].dropna().to_numpy(dtype=float)
        if values.size:
            low, median, high = (float(v) for v in np.quantile(values, [0.05, 0.5, 0.95]))
        else:
            low = median = high = float("nan")
        obs = float(r["value"])
        rows.append(
            {
                "scope": r["scope"],
                "year": int(r["year"]),
                "metric": r["metric"],
                "observed": obs,
                "median": median,
                "low_90": low,
                "high_90": high,
                "inside_90": bool(low <= obs <= high),
                "rel_error": (median - obs) / obs if obs != 0 else float("nan"),
                "unit": r["unit"],
                "source": r["source"],
            }
        )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _write(
    folder: Path,
    posterior: pd.DataFrame,
    table: pd.DataFrame,
    generations: pd.DataFrame,
    manifest: dict[str, Any],
    parameters: Mapping[str, Mapping[str, Any]],
    figures: bool,
) -> None:
    from model.experiments.execution import (
        atomic_savefig,
        atomic_to_csv,
        atomic_to_parquet,
        atomic_write_json,
    )

    atomic_to_parquet(posterior, folder / POSTERIOR)
    atomic_to_csv(table, folder / TABLE)
    atomic_to_csv(generations, folder / GENERATIONS)
    if figures:
        from model.reporting.figures import calibration_predictive, prior_posterior

        bounds = {name: (info["low"], info["high"]) for name, info in parameters.items()}
        atomic_savefig(prior_posterior(posterior, bounds), folder / PRIOR_POSTERIOR_FIGURE)
        atomic_savefig(calibration_predictive(table), folder / PREDICTIVE_FIGURE)
    atomic_write_json(manifest, folder / MANIFEST)


def read_calibration(folder: str | Path) -> CalibrationResult:
    """Read a calibration folder written by :func:`calibrate` (or ``shaoguan-abm calibrate``).

    Args:
        folder: The calibration folder.

    Returns:
        A :class:`CalibrationResult`: the posterior (``weight`` and one column per parameter),
        the observations against the posterior predictive, the generations and the manifest.

    Raises:
        CalibrationError: The folder is not a finished calibration.
    """
    folder = Path(folder)
    manifest_path = folder / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CalibrationError(f"{folder}: expected a calibration folder ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != "calibration":
        raise CalibrationError(f"{folder}: expected a calibration folder, found other results")
    return CalibrationResult(
        folder,
        pd.read_parquet(folder / POSTERIOR),
        pd.read_csv(folder / TABLE),
        pd.read_csv(folder / GENERATIONS),
        manifest,
    )


def is_calibration(folder: str | Path) -> bool:
    """Whether ``folder`` holds a finished calibration (its manifest says so)."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("kind") == "calibration"


def credible_interval(
    posterior: pd.DataFrame, name: str, level: float = 0.9
) -> tuple[float, float]:
    """The weighted equal-tailed credible interval of one parameter of a posterior."""
    values = posterior[name].to_numpy(dtype=float)
    weights = posterior["weight"].to_numpy(dtype=float)
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order]) / weights.sum()
    tail = (1.0 - level) / 2.0
    low = values[order][min(int(np.searchsorted(cum, tail)), len(values) - 1)]
    high = values[order][min(int(np.searchsorted(cum, 1.0 - tail)), len(values) - 1)]
    return float(low), float(high)


def weighted_mean(posterior: pd.DataFrame, name: str) -> float:
    """The posterior mean of one parameter."""
    w = posterior["weight"].to_numpy(dtype=float)
    return float((posterior[name].to_numpy(dtype=float) * w).sum() / w.sum())


__all__ = [
    "CalibrationError",
    "CalibrationResult",
    "ObservedDataError",
    "calibrate",
    "credible_interval",
    "fitted_parameters",
    "is_calibration",
    "read_calibration",
    "simulation_seed",
]
