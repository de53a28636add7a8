"""Model choice with ABC-SMC (pyabc): which scenario reproduces the observations best.

The question it answers for the plan: does the model *with* the plan's four feedback mechanisms
(exit verification, village re-checks, the living register, county accountability) reproduce
the reported aggregates better than the model without them? More generally it compares any
two or more scenarios ("models") on the same observations.

What is compared with what:

- the *models* are scenarios, each one model of pyabc (one :class:`Simulator` each);
- the *model prior* is uniform over the models; the models are perturbed between generations
  by pyabc's default kernel (a particle keeps its model with probability 0.7);
- each model's *parameters* are its uncertainties with a range (every one by default, or those
  named; the same names for every model), with uniform priors over each scenario's ranges as in
  :func:`model.experiments.calibration.calibrate`. A parameter that is no uncertainty of a
  scenario, or belongs to a feedback mechanism the scenario switches off (it changes nothing
  there), is not fitted for that model;
- the *observations* are the same statistics for every model: those of
  :func:`model.experiments.calibration.select_observations`, checked against the mechanisms
  switched on in any model. A metric of a mechanism a model switches off is one that model
  does not produce. For the register this has a natural answer: a model without the living
  register states that the register keeps its identified size, so its ``registered_people`` is
  the scenario's ``population.registered_people`` every year (a full-population count, held
  constant: :data:`CLOSED_REGISTER`). Any other such metric is refused, naming the model and
  the metric (or, with ``skip_unknown``, left out for every model);
- the *distance* is the Euclidean norm of the relative errors, ``(simulated - observed) /
  observed`` of each statistic (pyabc's ``PNormDistance(p=2)`` with fixed weights ``1 /
  |observed|``), and the threshold the median distance of the previous generation. A
  calibration's adaptive distance (each statistic scaled by its spread over the generation's
  runs) would be estimated here over the runs of every model together: a statistic one model
  holds constant (the closed register) has no spread once that model makes half the runs, and
  would drop out of the distance just where it tells the models apart.

The result is the posterior probability of each model after the last generation, its change
generation by generation, and the weighted posterior of the parameters of every model still
alive. Seeding, resuming and reproducibility are those of a calibration
(:func:`model.experiments.calibration.run_generations`): with one worker one ``seed``
reproduces the model choice exactly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from model.engine.kernels import many_runs
from model.experiments.calibration import (
    GENERATIONS,
    MANIFEST,
    CalibrationError,
    Simulator,
    abc_sampler,
    check_calibration_folder,
    check_run_settings,
    close_sampler,
    enabled_mechanisms,
    file_sha256,
    fitted_parameters,
    generations_table,
    posterior_table,
    prior_distribution,
    run_generations,
    scenario_sha256,
    select_observations,
    start_folder,
)
from model.results.observed import (
    ObservedDataError,
    metric_mechanism,
    read_observed,
    statistic_key,
    subset_of,
)

#: Files of a model-selection folder (besides ``history.db``, ``generations.csv`` and
#: ``manifest.json``, named as in a calibration folder).
SETTINGS = "model_selection_settings.json"
PROBABILITIES = "model_probabilities.csv"
PROBABILITIES_FIGURE = "model_probabilities.png"
POSTERIOR_PATTERN = "posterior_{name}.parquet"

#: Columns of ``model_probabilities.csv``.
PROBABILITY_COLUMNS = ["generation", "model", "scenario", "probability"]

#: Annual metrics of a feedback mechanism that a model without it states as a constant: metric
#: -> (mechanism, dotted path of the scenario parameter that is its value). Without the living
#: register the register keeps the size identified in 2016.
CLOSED_REGISTER = {"registered_people": ("living_register", "population.registered_people")}


@dataclass
class ModelSelectionResult:
    """A finished model choice: its folder and tables.

    Attributes:
        folder: The results folder.
        probabilities: ``generation, model, scenario, probability``: one row per generation and
            model (0 once a model has died out); each generation's probabilities sum to 1.
        posteriors: Scenario name -> its particles of the last generation (``weight`` summing
            to 1 within the model, and one column per fitted parameter), for every model alive.
        generations: One row per generation: ``generation, epsilon, particles, runs,
            acceptance_rate, seconds``.
        manifest: Scenarios, observations, settings, versions, runs, seconds and the final
            probabilities.
    """

    folder: Path
    probabilities: pd.DataFrame
    posteriors: dict[str, pd.DataFrame]
    generations: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> pd.Series:
        """The posterior model probabilities after the last generation, by scenario name."""
        return final_probabilities(self.probabilities)


def final_probabilities(probabilities: pd.DataFrame) -> pd.Series:
    """The last generation's rows of a ``model_probabilities.csv`` table, by scenario name."""
    last = probabilities[probabilities["generation"] == probabilities["generation"].max()]
    return last.set_index("scenario")["probability"]


# ---------------------------------------------------------------------------------------------
# what is compared


def _mechanism_names() -> set[str]:
    from model.engine.mechanisms import MECHANISMS

    return {cls.name for cls in MECHANISMS}


def model_parameters(
    scenarios: Sequence[Any], names: Iterable[str] | None = None
) -> list[dict[str, dict[str, Any]]]:
    """The parameters each model fits with their ranges (one dict per scenario, in order).

    Args:
        scenarios: The validated scenarios.
        names: Dotted paths to fit in every model; default every uncertainty with a range.
            A name is fitted in the scenarios of which it is an uncertainty; a parameter of a
            feedback mechanism a scenario switches off is not fitted there (it has no effect).

    Raises:
        CalibrationError: A name that is an uncertainty of no scenario, a lever, given twice,
            with an empty range; or a scenario left with no parameter to fit.
    """
    from model.engine.scenario import sweepable_parameters

    mechanisms = _mechanism_names()

    def switched_off(scenario: Any, path: str) -> bool:
        head = path.split(".", 1)[0]
        return head in mechanisms and head not in enabled_mechanisms(scenario)

    catalogues = [sweepable_parameters(s) for s in scenarios]
    if names is None:
        chosen = [
            {p: i for p, i in fitted_parameters(s).items() if not switched_off(s, p)}
            for s in scenarios
        ]
    else:
        names = list(names)
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise CalibrationError(f"--param {name}: given twice")
            seen.add(name)
            owner = next((s for s, c in zip(scenarios, catalogues, strict=True) if name in c), None)
            # refuses an unknown name, a lever or an empty range with calibrate's message
            fitted_parameters(scenarios[0] if owner is None else owner, [name])
        chosen = []
        for scenario, catalogue in zip(scenarios, catalogues, strict=True):
            here = [n for n in names if n in catalogue and not switched_off(scenario, n)]
            chosen.append(fitted_parameters(scenario, here) if here else {})
    for scenario, parameters in zip(scenarios, chosen, strict=True):
        if not parameters:
            raise CalibrationError(
                f"scenario {scenario.name!r}: expected at least one parameter to fit, found none "
                "(no --param given is an uncertainty of it with its mechanism on; mechanisms on: "
                f"{', '.join(enabled_mechanisms(scenario)) or 'none'}); name an uncertainty "
                "every model has, e.g. dynamics.job_finding_rate"
            )
    return chosen


def common_observations(
    observed: pd.DataFrame,
    path: str | Path,
    scenarios: Sequence[Any],
    scopes: Iterable[str] | None = None,
    skip_unknown: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[dict[str, str]]]:
    """The observations every model is compared on: ``(fitted, skipped, other, constants)``.

    ``fitted``, ``skipped`` and ``other`` are as in
    :func:`model.experiments.calibration.select_observations`, with the metrics of the
    mechanisms switched on in any model counted as produced; ``constants`` holds, per scenario,
    the statistics that model states as constants (statistic key -> scenario path;
    :data:`CLOSED_REGISTER`).

    Raises:
        CalibrationError: The scenarios fit different observations (regions differ), or none is
            left.
        ObservedDataError: A bad row, or a metric of a mechanism some model switches off that
            has no constant statement (unless ``skip_unknown``): the message names the model,
            the metric and the line.
    """
    path = Path(path)
    union = sorted({m for s in scenarios for m in enabled_mechanisms(s)})
    scopes = list(scopes) if scopes else None
    selections = [
        select_observations(observed, path, s, scopes, skip_unknown, mechanisms=union)
        for s in scenarios
    ]
    keys = [_keys(fitted) for fitted, _, _ in selections]
    for scenario, mine in zip(scenarios[1:], keys[1:], strict=True):
        if mine != keys[0]:
            raise CalibrationError(
                f"{path}: the scenarios select different observations ({scenarios[0].name!r}: "
                f"{len(keys[0])}, {scenario.name!r}: {len(mine)}; their regions or years "
                "differ); expected the same statistics for every model: choose scenarios of one "
                "region and horizon, or name the scopes with --scope"
            )
    fitted, skipped, other = selections[0]
    constants: list[dict[str, str]] = [{} for _ in scenarios]
    dropped = []
    for i, r in fitted.iterrows():
        needs = None if subset_of(r["subset"]) else metric_mechanism(r["metric"])
        lacking = [
            (k, s) for k, s in enumerate(scenarios) if needs and needs not in enabled_mechanisms(s)
        ]
        if not lacking:
            continue
        key = statistic_key(r["scope"], r["metric"], int(r["year"]))
        statement = CLOSED_REGISTER.get(r["metric"])
        if statement is not None and statement[0] == needs:
            for k, _ in lacking:
                constants[k][key] = statement[1]
            continue
        if skip_unknown:
            dropped.append(i)
            continue
        k, scenario = lacking[0]
        raise ObservedDataError(
            f"{path}, line {r['line']}: metric {r['metric']!r} is produced only with the {needs} "
            f"mechanism, which model {k} (scenario {scenario.name!r}) switches off, so that "
            "model has no value for it; every model must be compared on the same statistics "
            "(--skip-unknown leaves the row out for every model)"
        )
    if dropped:
        skipped = pd.concat([skipped, fitted.loc[dropped]], ignore_index=True)
        fitted = fitted.drop(index=dropped).reset_index(drop=True)
    if fitted.empty:
        raise CalibrationError(f"{path}: no observation left to compare the models on")
    return fitted, skipped, other, constants


def _keys(observations: pd.DataFrame) -> list[str]:
    return [
        statistic_key(r["scope"], r["metric"], int(r["year"])) for _, r in observations.iterrows()
    ]


def _load(scenarios: Iterable[Any]) -> list[Any]:
    from model.engine.scenario import load_scenario

    loaded = [load_scenario(s) if isinstance(s, str | Path) else s for s in scenarios]
    if len(loaded) < 2:
        raise CalibrationError(
            f"SCENARIO: expected at least two scenarios to choose between, found {len(loaded)}"
        )
    names = [s.name for s in loaded]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise CalibrationError(
            f"SCENARIO: expected scenarios with distinct names (a name identifies a model in the "
            f"outputs), found {twice[0]!r} {names.count(twice[0])} times; give one a `name = ...`"
        )
    return loaded


# ---------------------------------------------------------------------------------------------
# the model choice


def relative_distance(x_0: Mapping[str, float]) -> Any:
    """The Euclidean norm of the statistics' relative errors against the observations ``x_0``.

    Raises:
        CalibrationError: An observation of zero (its relative error has no scale).
    """
    import pyabc

    zero = [key for key, value in x_0.items() if value == 0]
    if zero:
        raise CalibrationError(f"{zero[0]}: an observation of 0 has no relative error")
    weights = {key: 1.0 / abs(value) for key, value in x_0.items()}
    return pyabc.distance.PNormDistance(p=2, fixed_weights=weights)


def select_model(
    scenarios: Sequence[Any],
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
    figures: bool = True,
    progress: Callable[[str], None] | None = None,
) -> ModelSelectionResult:
    """Choose between scenarios with ABC-SMC: the posterior probability of each as a model.

    One ``pyabc.ABCSMC`` with one model per scenario (a uniform model prior) and each model's
    uncertainties as its parameters, run generation by generation as :func:`calibrate` runs
    (see :mod:`model.experiments.model_selection` for what is compared with what).

    Args:
        scenarios: Two or more validated scenarios or scenario files, with distinct names (the
            model index is the position in this list).
        observed: The observed-data CSV (``scope,year,metric,value,unit,source``).
        out: The results folder: ``history.db`` (as generations complete), then
            ``model_probabilities.csv``, ``posterior_<scenario>.parquet`` for every model still
            alive, ``generations.csv``, ``manifest.json`` and ``model_probabilities.png``.
        params: Dotted paths of the parameters to fit in every model; default every
            uncertainty with a range.
        scopes: The observation scopes to compare on; default those of the scenarios' region.
        skip_unknown: Leave out observations that some model does not produce (else refused).
        population_scale: Share of the population each run simulates, in (0, 1].
        particles: Particles per generation, over all models.
        generations: Generations to run in total (a resumed model choice runs the rest).
        max_runs: Stop after the generation in which the number of model runs reaches this.
        seed: Seed of pyabc's draws and of every model run.
        workers: Local processes; 1 uses pyabc's single-core sampler (reproducible).
        scheduler: ``tcp://HOST:PORT`` of a Dask scheduler (pyabc's Dask sampler).
        resume: Continue the model choice in ``out`` from its last complete generation.
        figures: Draw ``model_probabilities.png``.
        progress: Receives one line per generation (default: nothing).

    Returns:
        A :class:`ModelSelectionResult`; ``result.final`` holds the posterior model
        probabilities (the answer), by scenario name.

    Raises:
        CalibrationError: Fewer than two scenarios, two with one name, bad parameters, settings,
            folder or scheduler, scenarios that select different observations.
        ObservedDataError: A bad observed-data file, or an observation some model cannot give.
        PopulationError: A population scale at which a scenario has an empty group or county.
        ScenarioError: A bad scenario file.

    Example:
        >>> result = model.select_model(
        ...     ["scenarios/guangdong.toml", "scenarios/guangdong_feedback.toml"],
        ...     "data/observed/observed_calibration.csv", "results/model_choice",
        ...     params=["dynamics.job_finding_rate"], skip_unknown=True, particles=100)
        >>> result.final                         # P(model | observations), summing to 1
    """
    import pyabc

    from model.engine.population import check_population_scale

    say = progress or (lambda line: None)
    t_start = time.perf_counter()
    scenarios = _load(scenarios)
    check_run_settings(
        population_scale, max_runs, particles=particles, generations=generations, workers=workers
    )
    for scenario in scenarios:
        check_population_scale(scenario.population, population_scale)
    observed_path = Path(observed)
    parameters = model_parameters(scenarios, params)
    table = read_observed(observed_path)
    fitted, skipped, other, constants = common_observations(
        table, observed_path, scenarios, scopes, skip_unknown
    )
    keys = _keys(fitted)
    x_0 = {k: float(v) for k, v in zip(keys, fitted["value"], strict=True)}
    settings = {
        "scenarios": [
            {
                "name": s.name,
                "sha256": scenario_sha256(s),
                "parameters": _priors(p),
                "constants": c,
            }
            for s, p, c in zip(scenarios, parameters, constants, strict=True)
        ],
        "observed_file": str(observed_path),
        "observed_sha256": file_sha256(observed_path),
        "observations": keys,
        "population_scale": population_scale,
        "particles": particles,
        "seed": seed,
    }
    folder = Path(out)
    check_calibration_folder(folder, resume, settings, SETTINGS, "model selection")
    logging.getLogger("ABC").setLevel(logging.WARNING)
    sampler = abc_sampler(workers, scheduler)

    observations = [
        (k, subset_of(r["subset"]), r["metric"], int(r["year"]))
        for k, (_, r) in zip(keys, fitted.iterrows(), strict=True)
    ]
    models = [
        pyabc.FunctionModel(
            Simulator(
                scenario=s,
                parameters=p,
                observations=observations,
                population_scale=population_scale,
                seed=seed,
                constants=c,
                load_kernels=many_runs(particles * generations),
            ),
            name=s.name,
        )
        for s, p, c in zip(scenarios, parameters, constants, strict=True)
    ]
    priors = [prior_distribution(p) for p in parameters]
    names = [s.name for s in scenarios]

    def make_abc() -> Any:
        return pyabc.ABCSMC(
            models,
            priors,
            relative_distance(x_0),
            population_size=particles,
            sampler=sampler,
        )

    def describe(history: Any, t: int, seconds: Mapping[int, float]) -> str:
        row = generations_table(history, seconds).iloc[-1]
        p = probabilities_table(history, names)
        p = p[p["generation"] == p["generation"].max()]
        shown = ", ".join(
            f"P({s}) {v:.2f}" for s, v in zip(p["scenario"], p["probability"], strict=True)
        )
        return (
            f"generation {t + 1}/{generations}: {int(row['particles'])} particles accepted "
            f"of {int(row['runs'])} runs (acceptance {row['acceptance_rate']:.2f}), "
            f"epsilon {row['epsilon']:.3g}, {seconds[t]:.1f} s; {shown}"
        )

    try:
        start_folder(
            folder,
            resume,
            settings,
            SETTINGS,
            stale=(PROBABILITIES, PROBABILITIES_FIGURE, GENERATIONS, "posterior_*.parquet"),
        )
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

    probabilities = probabilities_table(history, names)
    gen_table = generations_table(history, seconds)
    alive = [int(m) for m in history.alive_models(history.max_t)]
    posteriors = {names[m]: posterior_table(history, parameters[m], m=m) for m in alive}
    final = final_probabilities(probabilities)

    from model.results.outputs import SCHEMA_VERSION, package_version

    manifest = {
        "schema_version": SCHEMA_VERSION,
        "kind": "model_selection",
        "scenarios": [
            {
                "model": k,
                "name": s.name,
                "mechanisms": enabled_mechanisms(s),
                "parameters": _priors(parameters[k]),
                "statistics_held_constant": constants[k],
                "alive": k in alive,
                "scenario": s.model_dump(mode="json"),
            }
            for k, s in enumerate(scenarios)
        ],
        "observed_file": str(observed_path),
        "observed_sha256": settings["observed_sha256"],
        "observations_fitted": keys,
        "observations_skipped": _keys(skipped),
        "observations_of_other_scopes": int(len(other)),
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
            "model_prior": "uniform",
            "model_perturbation": "pyabc ModelPerturbationKernel, probability to stay 0.7",
            "distance": "PNormDistance(p=2) of relative errors (weights 1 / |observed|)",
            "epsilon": "MedianEpsilon",
            "reproducible": scheduler is None and workers == 1,
        },
        "pyabc_version": pyabc.__version__,
        "package_version": package_version(),
        "runs": int(history.total_nr_simulations),
        "seconds": round(time.perf_counter() - t_start, 2),
        "acceptance_rate": {
            str(int(r["generation"])): float(r["acceptance_rate"]) for _, r in gen_table.iterrows()
        },
        "probabilities": {str(name): float(p) for name, p in final.items()},
    }
    _write(folder, probabilities, posteriors, names, gen_table, manifest, figures)
    say(f"written to {folder}")
    return ModelSelectionResult(folder, probabilities, posteriors, gen_table, manifest)


def _priors(parameters: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        name: {"low": info["low"], "high": info["high"], "prior": "uniform"}
        for name, info in parameters.items()
    }


def probabilities_table(history: Any, names: Sequence[str]) -> pd.DataFrame:
    """The posterior model probabilities of every generation of a pyabc history.

    Args:
        history: A ``pyabc.History`` of a model choice.
        names: The scenario name of each model index.

    Returns:
        ``generation, model, scenario, probability``: one row per generation and model, 0 for
        a model that has died out (pyabc stores only the models alive).
    """
    wide = history.get_model_probabilities()
    rows = [
        {
            "generation": int(t),
            "model": m,
            "scenario": name,
            "probability": float(wide.at[t, m]) if m in wide.columns else 0.0,
        }
        for t in wide.index
        for m, name in enumerate(names)
    ]
    return pd.DataFrame(rows, columns=PROBABILITY_COLUMNS)


def _write(
    folder: Path,
    probabilities: pd.DataFrame,
    posteriors: dict[str, pd.DataFrame],
    names: Sequence[str],
    generations: pd.DataFrame,
    manifest: dict[str, Any],
    figures: bool,
) -> None:
    from model.experiments.execution import (
        atomic_savefig,
        atomic_to_csv,
        atomic_to_parquet,
        atomic_write_json,
    )

    atomic_to_csv(probabilities, folder / PROBABILITIES)
    for name in names:
        path = folder / POSTERIOR_PATTERN.format(name=name)
        if name in posteriors:
            atomic_to_parquet(posteriors[name], path)
        else:
            path.unlink(missing_ok=True)  # died out since an earlier call wrote it
    atomic_to_csv(generations, folder / GENERATIONS)
    if figures:
        from model.reporting.figures import model_probabilities

        shown = manifest["observations_fitted"]
        title = f"{len(shown)} observations, {manifest['runs']} runs, uniform model prior"
        atomic_savefig(model_probabilities(probabilities, title), folder / PROBABILITIES_FIGURE)
    atomic_write_json(manifest, folder / MANIFEST)


__all__ = [
    "CLOSED_REGISTER",
    "ModelSelectionResult",
    "ObservedDataError",
    "common_observations",
    "final_probabilities",
    "model_parameters",
    "probabilities_table",
    "select_model",
]
