"""Ensembles: many replicates of one scenario, and the probability that each target is met.

A single run answers nothing; the question is how likely each year's target is. Replicate ``r``
of an ensemble with seed ``s`` runs the model with the seed drawn from child ``r`` of
``numpy.random.SeedSequence(s)`` (:func:`replicate_seeds`), so

- the result is identical whatever the number of workers and their order of completion;
- replicate ``r`` is the same run in every ensemble of seed ``s`` whatever its size, and in
  every scenario of a comparison (common random numbers);
- any replicate can be rerun alone: ``model.run(scenario, seed=<its seed column>)``.

The probability of meeting a target is the share of replicates that meet it, with a Wilson score
interval (:func:`wilson_interval`, the interval of
``scipy.stats.binomtest(...).proportion_ci(method="wilson")``), which stays inside [0, 1] and is
not degenerate when no or every replicate meets the target.

What a probability means depends on what varies between replicates: ``parameters="fixed"``
(the default) varies the seeds only; ``"prior"`` also draws every uncertainty from its prior
and a posterior file draws the fitted parameters from it (:mod:`model.experiments.parameters`).
With ``seeds_per_draw=k`` each parameter draw runs with ``k`` seeds (replicates ``d*k`` to
``d*k+k-1`` share draw ``d``), and :func:`variance_split` separates the variance of cumulative
exits into a part from the parameters and a part from the seeds.

Example:
    >>> import model
    >>> ens = model.run_ensemble(model.load_scenario("scenarios/baseline.toml"),
    ...                          replicates=20, seed=1, population_scale=0.05)
    >>> ens.probabilities
    >>> wide = model.run_ensemble(model.load_scenario("scenarios/baseline.toml"),
    ...                           replicates=20, seed=1, population_scale=0.05,
    ...                           parameters="prior", seeds_per_draw=2)
    >>> wide.variance_split
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.engine import kernels
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
from model.experiments.parameters import LABELS as PARAMETER_LABELS
from model.experiments.parameters import ParameterSource, PosteriorError, parameter_source

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
ID_COLUMNS = (KEY, "replicate", "seed", "year", "draw")

#: Columns of ``variance_split.csv``.
VARIANCE_COLUMNS = [
    "outcome",
    "parameters",
    "draws",
    "seeds_per_draw",
    "variance_total",
    "variance_parameters",
    "variance_seeds",
    "share_parameters",
    "share_seeds",
    "estimator",
]


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


@dataclass(frozen=True)
class ReplicatePlan:
    """The seed and the parameter values of every replicate of an ensemble.

    Attributes:
        seeds: Replicate ``r`` runs with ``seeds[r]`` (:func:`replicate_seeds`).
        source: Where the parameter values come from.
        seeds_per_draw: Replicates that share one parameter draw (``r // seeds_per_draw`` is
            replicate ``r``'s draw).
        draws: The values of each draw, ``{dotted path: value}`` (empty when fixed).
        parameters: The dotted paths drawn (sorted; empty when fixed).
    """

    seeds: list[int]
    source: ParameterSource
    seeds_per_draw: int = 1
    draws: list[dict[str, Any]] = field(default_factory=list)
    parameters: list[str] = field(default_factory=list)

    def draw_of(self, replicate: int) -> int:
        """Index of the parameter draw replicate ``replicate`` runs with."""
        return int(replicate) // self.seeds_per_draw

    def overrides(self, replicate: int) -> dict[str, Any]:
        """The drawn values replicate ``replicate`` runs with (``{}`` when fixed)."""
        return dict(self.draws[self.draw_of(replicate)]) if self.draws else {}

    def tag(self, replicate: int) -> dict[str, Any]:
        """What the replicate's rows record of its draw: ``draw`` and each value (none if fixed)."""
        if not self.source.drawn:
            return {}
        return {"draw": self.draw_of(replicate), **self.overrides(replicate)}

    def manifest(self) -> dict[str, Any]:
        """The parameter source, the design and the rule of the draws, for manifests."""
        out = self.source.manifest()
        if self.source.drawn:
            out.update(
                {
                    "seeds_per_draw": self.seeds_per_draw,
                    "parameter_draws": len(self.draws),
                    "drawn_parameters": list(self.parameters),
                    "draw_rule": "replicate r takes draw r // seeds_per_draw; draw d takes each "
                    "parameter from numpy.random.SeedSequence(seed, spawn_key=(0x70617261, d, "
                    "crc32(path))) (a posterior row from the key crc32('posterior row'))",
                }
            )
        return out


def plan_replicates(
    scenario: Any,
    replicates: int,
    seed: int,
    parameters: Any = None,
    seeds_per_draw: int = 1,
) -> ReplicatePlan:
    """The seeds and parameter draws of an ensemble's replicates, drawn before any run.

    Replicate ``r`` runs with child ``r`` of ``SeedSequence(seed)`` and with parameter draw
    ``r // seeds_per_draw``; draw ``d`` depends only on ``seed`` and ``d`` (see
    :mod:`model.experiments.parameters`), so every scenario of a comparison, every number of
    workers and every engine gets the same draws.

    Args:
        scenario: The validated scenario (its uncertainties and ranges).
        replicates: Number of replicates (a multiple of ``seeds_per_draw``).
        seed: The root seed.
        parameters: ``"fixed"``, ``"prior"``, a posterior (see
            :func:`model.experiments.parameters.parameter_source`).
        seeds_per_draw: Seeds run with each parameter draw.

    Returns:
        The :class:`ReplicatePlan`.

    Raises:
        ValueError: Bad sizes, or replicates not a multiple of ``seeds_per_draw``.
        PosteriorError: A posterior whose parameters are not uncertainties of the scenario, or
            a drawn row the scenario refuses.
        ScenarioError: A prior draw the scenario refuses (a range outside a constraint).
    """
    from model.engine.scenario import ScenarioError, apply_overrides

    source = parameter_source(parameters, scenario)
    replicates, seeds_per_draw = int(replicates), int(seeds_per_draw)
    if replicates < 1:
        raise ValueError(f"replicates: expected a positive integer, found {replicates}")
    if seeds_per_draw < 1:
        raise ValueError(f"seeds_per_draw: expected a positive integer, found {seeds_per_draw}")
    if replicates % seeds_per_draw:
        raise ValueError(
            f"replicates {replicates}, seeds per draw {seeds_per_draw}: expected a number of "
            "replicates that is a multiple of the seeds per draw"
        )
    seeds = replicate_seeds(seed, replicates)
    if not source.drawn:
        return ReplicatePlan(seeds, source, seeds_per_draw)
    source.check(scenario)
    draws = []
    for d in range(replicates // seeds_per_draw):
        values = source.draw(scenario, seed, d)
        try:
            apply_overrides(scenario, values)
        except ScenarioError as err:
            if source.kind == "posterior":
                message = str(err)
                for path in values:  # the override's label: the column names the parameter
                    message = message.replace(f"--set {path}: ", "")
                raise PosteriorError(
                    f"{source.path}: row {source.row(seed, d)}: {message}"
                ) from None
            raise
        draws.append(values)
    return ReplicatePlan(seeds, source, seeds_per_draw, draws, source.drawn_parameters(scenario))


def run_replicate(payload: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Task: one replicate. Its annual rows and its scalar outcomes, tagged with replicate and seed.

    A replicate with drawn parameters runs the scenario with them, and its rows end with its
    ``draw`` and the drawn values (one column per dotted path).

    Args:
        payload: ``scenario`` (JSON text), ``seed``, ``population_scale``, ``replicate``,
            ``load_kernels`` (load the compiled kernels first: the same results, cheaper); and
            ``draw`` and ``parameters`` (``{dotted path: value}``) when parameters are drawn.
    """
    from model.results.recording import run

    scenario = scenario_from_json(payload["scenario"])
    drawn: dict[str, Any] = {}
    if "draw" in payload:
        from model.engine.scenario import apply_overrides

        scenario = apply_overrides(scenario, payload["parameters"])
        drawn = {"draw": payload["draw"], **payload["parameters"]}
    if payload.get("load_kernels"):
        kernels.load()
    result = run(scenario, seed=payload["seed"], population_scale=payload["population_scale"])
    tag = {"replicate": payload["replicate"], "seed": payload["seed"]}
    return {
        "annual": _tagged(tag, result.annual, drawn),
        "outcomes": [{**tag, **result.outcomes(), **drawn}],
        **{name: _tagged(tag, table) for name, table in replicate_tables(result).items()},
    }


def _tagged(
    tag: dict[str, Any], table: pd.DataFrame, after: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    return [{**tag, **row, **(after or {})} for row in table.to_dict("records")]


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
    return wilson_interval(int(successes) / int(trials), int(trials), confidence)


def clustered_interval(
    met: np.ndarray, seeds_per_draw: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Wilson interval of a share when replicates come in groups that share a parameter draw.

    Replicates ``d*k`` to ``d*k+k-1`` (``k = seeds_per_draw``) share draw ``d``, so they are
    not independent: the interval uses the effective number of replicates ``n / deff`` with
    Kish's design effect ``deff = 1 + (k - 1) * icc``, the intraclass correlation estimated
    from the 1/0 outcomes by one-way analysis of variance and kept within [0, 1]. When it cannot
    be estimated (every replicate agrees, or there is a single draw) ``deff = k``: each draw
    counts once.
    With ``k = 1`` this is :func:`binomial_interval`.

    Args:
        met: 1/0 (or bool) per replicate, in replicate order.
        seeds_per_draw: Replicates per draw (``len(met)`` must be a multiple).
        confidence: Confidence level.
    """
    y = np.asarray(met, dtype=float)
    n, k = y.size, int(seeds_per_draw)
    if k <= 1 or n == 0:
        return binomial_interval(int(y.sum()), n, confidence)
    if n % k:
        raise ValueError(f"{n} replicates: expected a multiple of seeds_per_draw {k}")
    draws = n // k
    p = float(y.mean())
    by_draw = y.reshape(draws, k).mean(axis=1)
    between = k * float(((by_draw - p) ** 2).sum()) / max(draws - 1, 1)
    within = k * float((by_draw * (1 - by_draw)).sum()) / (draws * (k - 1))
    if draws < 2 or between + (k - 1) * within <= 0:
        icc = 1.0
    else:
        icc = min(max((between - within) / (between + (k - 1) * within), 0.0), 1.0)
    effective = n / (1 + (k - 1) * icc)
    return wilson_interval(p, effective, confidence)


def wilson_interval(share: float, trials: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of ``share`` observed over ``trials`` (which may be fractional)."""
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    half = z * np.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / denominator
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def target_probabilities(
    replicates: pd.DataFrame,
    plan_years: Iterable[int],
    confidence: float = 0.95,
    seeds_per_draw: int = 1,
) -> pd.DataFrame:
    """Probability of meeting each year's cumulative target, and all of the plan's targets.

    Args:
        replicates: One row per replicate and year with ``replicate``, ``year``,
            ``target_cumulative_people`` and ``target_met``.
        plan_years: The years of the scenario's target table; the ``all`` row counts the
            replicates that meet the target in every one of them.
        confidence: Confidence level of the Wilson interval.
        seeds_per_draw: Replicates per parameter draw; above 1 the interval counts the
            replicates of a draw as correlated (:func:`clustered_interval`).

    Returns:
        ``year, target_cumulative_people, probability_met, ci_low, ci_high``: one row per year
        that has a target, then a row with ``year == "all"``. When the replicates carry
        ``income_verified_target_met`` (exit verification on), ``probability_met`` is the
        target met on paper, and ``probability_met_in_income``, ``ci_low_in_income`` and
        ``ci_high_in_income`` follow for the target met by income-verified exits.
    """
    if INCOME_VERIFIED_MET in replicates:
        paper = target_probabilities(
            replicates.drop(columns=[INCOME_VERIFIED_MET]), plan_years, confidence, seeds_per_draw
        )
        in_income = target_probabilities(
            replicates.drop(columns=["target_met", INCOME_VERIFIED_MET]).assign(
                target_met=replicates[INCOME_VERIFIED_MET]
            ),
            plan_years,
            confidence,
            seeds_per_draw,
        )
        for column in ("probability_met", "ci_low", "ci_high"):
            paper[f"{column}_in_income"] = in_income[column].to_numpy()
        return paper
    with_target = replicates[replicates["target_cumulative_people"].notna()]
    rows = []
    for year, group in with_target.groupby("year", sort=True):
        met = group.sort_values("replicate")["target_met"].astype(bool)
        low, high = clustered_interval(met.to_numpy(), seeds_per_draw, confidence)
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
        every = per_replicate.reindex(sorted(replicates["replicate"].unique()), fill_value=False)
        low, high = clustered_interval(every.to_numpy(dtype=bool), seeds_per_draw, confidence)
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


def quantile_bands(replicates: pd.DataFrame, exclude: Iterable[str] = ()) -> pd.DataFrame:
    """Mean and 5/25/50/75/95% quantiles of every numeric annual metric, per year.

    Args:
        replicates: One row per replicate and year.
        exclude: Columns that are not metrics (the drawn parameters).

    Returns:
        Long table ``metric, year, mean, q05, q25, q50, q75, q95`` (rows in the order of the
        metric columns, then years).
    """
    skip = set(ID_COLUMNS) | set(exclude)
    metrics = [
        c
        for c in replicates.columns
        if c not in skip and replicates[c].dtype.kind in "iuf" and replicates[c].notna().any()
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


def outcome_distribution(outcomes: pd.DataFrame, exclude: Iterable[str] = ()) -> pd.DataFrame:
    """Mean, standard deviation and 5/25/50/75/95% quantiles of every scalar outcome.

    Includes the cost distributions (``total_spend``, ``cost_per_exit``,
    ``cost_per_sustained_exit``). NaN outcomes (e.g. a cost per exit with no exits) are left out
    of that outcome's statistics; ``replicates`` says how many replicates each row counts.
    Columns in ``exclude`` (the drawn parameters) are not outcomes.
    """
    skip = set(ID_COLUMNS) | set(exclude)
    rows = []
    for name in outcomes.columns:
        if name in skip:
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


def nested_variance_components(values: np.ndarray) -> tuple[float, float]:
    """Parameter and seed variance of a nested design: one-way random-effects ANOVA.

    ``values[d, j]`` is the outcome of parameter draw ``d`` run with its ``j``-th seed
    (``D >= 2`` draws, ``k >= 2`` seeds each). Writing ``Y[d, j] = m(theta_d) + e[d, j]``:

    - the seed variance, ``E[Var(Y | theta)]``, is estimated by the mean within-draw variance
      ``sum((Y[d, j] - mean_d)^2) / (D (k - 1))``;
    - the parameter variance, ``Var(E[Y | theta])``, by the variance of the draw means (``ddof
      = 1``) minus the seed variance over ``k`` (a draw mean still holds ``1/k`` of the seed
      variance), set to 0 when negative.

    Both are unbiased before the truncation at 0; their sum estimates ``Var(Y)`` (the law of
    total variance).

    Returns:
        ``(parameter variance, seed variance)``.

    Raises:
        ValueError: Fewer than 2 draws or 2 seeds per draw.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[0] < 2 or values.shape[1] < 2:
        raise ValueError(
            f"a nested design needs at least 2 draws of 2 seeds each, found shape {values.shape}"
        )
    draws, k = values.shape
    means = values.mean(axis=1)
    seeds = float(((values - means[:, None]) ** 2).sum() / (draws * (k - 1)))
    parameters = float(means.var(ddof=1)) - seeds / k
    return max(parameters, 0.0), seeds


def variance_split(
    outcomes: pd.DataFrame,
    names: Sequence[str],
    parameters: str = "fixed",
    seeds_per_draw: int = 1,
) -> pd.DataFrame:
    """How much of the spread of each outcome comes from the parameters and from the seeds.

    Args:
        outcomes: One row per replicate (``replicate`` and, when parameters are drawn,
            ``draw``), with the outcome columns.
        names: The outcomes to split (e.g. ``cumulative_exited_people_2018``).
        parameters: The source of the parameters (``fixed``, ``prior`` or ``posterior``).
        seeds_per_draw: Replicates per parameter draw.

    Returns:
        One row per outcome, columns :data:`VARIANCE_COLUMNS`. ``variance_total`` is the sample
        variance over replicates (``ddof = 1``). ``estimator`` says how the split was made:

        - ``parameters fixed``: nothing is drawn, so the parameter variance is 0 and the seed
          variance is the total;
        - ``nested anova``: :func:`nested_variance_components` over the draws (shares of their
          sum);
        - ``not separable``: one seed per draw (or a single draw) cannot tell the parameters'
          part from the seeds' (NaN); run with ``seeds_per_draw`` of 2 or more.
    """
    rows = []
    ordered = outcomes.sort_values("replicate", kind="stable")
    for name in names:
        values = ordered[name].to_numpy(dtype=float)
        total = float(values.var(ddof=1)) if values.size > 1 else float("nan")
        draws = int(ordered["draw"].nunique()) if "draw" in ordered else 0
        row: dict[str, Any] = {
            "outcome": name,
            "parameters": parameters,
            "draws": draws,
            "seeds_per_draw": int(seeds_per_draw),
            "variance_total": total,
        }
        if parameters == "fixed":
            p_var, s_var, estimator = 0.0, total, "parameters fixed"
        elif seeds_per_draw >= 2 and draws >= 2:
            by_draw = ordered.sort_values(["draw", "replicate"], kind="stable")
            grid = by_draw[name].to_numpy(dtype=float).reshape(draws, -1)
            p_var, s_var = nested_variance_components(grid)
            estimator = "nested anova"
        else:
            p_var, s_var, estimator = float("nan"), float("nan"), "not separable"
        both = p_var + s_var
        row.update(
            {
                "variance_parameters": p_var,
                "variance_seeds": s_var,
                "share_parameters": p_var / both if both > 0 else (0.0 if p_var == 0 else np.nan),
                "share_seeds": s_var / both if both > 0 else float("nan"),
                "estimator": estimator,
            }
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=VARIANCE_COLUMNS)


def plan_outcomes(plan_years: Iterable[int], metric: str = "cumulative_exited_people") -> list[str]:
    """The outcome names of ``metric`` in the plan years: ``cumulative_exited_people_2016``..."""
    return [f"{metric}_{int(y)}" for y in sorted(int(y) for y in plan_years)]


# ---------------------------------------------------------------------------------------------
# the result


@dataclass
class EnsembleResult:
    """Results of an ensemble: every replicate, and the statistics across them.

    Attributes:
        replicates: One row per replicate and year: ``replicate``, ``seed`` and the run's annual
            columns (nothing that depends on timing or on which worker ran it).
        outcomes: One row per replicate: ``replicate``, ``seed`` and ``RunResult.outcomes()``.
        probabilities: Probability of meeting each year's target and all of them (Wilson CI),
            with the ``parameters`` source they come from (``fixed``: seeds only).
        quantiles: Mean and quantile bands of every annual metric per year (long format).
        outcome_summary: Distribution of every scalar outcome, costs included.
        manifest: Scenario, seed, replicates, population scale, parameter source, versions,
            confidence level.
        replicate_ledger: Per replicate, money spent or leaked by fund, source, use, kind and
            year (``replicate, seed, fund, source, use, kind, year, amount``).
        replicate_by_county: Per replicate, the run's ``by_county`` rows.
        replicate_income_percentiles: Per replicate, the run's ``income_percentiles`` rows.
        variance_split: The variance of cumulative exits in each plan year split into a part
            from the parameters and a part from the seeds (:func:`variance_split`).

    When parameters are drawn, ``replicates`` and ``outcomes`` end with each replicate's
    ``draw`` and the drawn values (one column per dotted path).
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
    variance_split: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=VARIANCE_COLUMNS)
    )

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
        The manifest's ``parameters`` (default ``fixed``), ``drawn_parameters`` and
        ``seeds_per_draw`` say what varied between replicates.
        """
        plan_years = list(plan_years)
        parameters = str(manifest.get("parameters", "fixed"))
        drawn = list(manifest.get("drawn_parameters", []))
        seeds_per_draw = int(manifest.get("seeds_per_draw", 1))
        probabilities = target_probabilities(replicates, plan_years, confidence, seeds_per_draw)
        probabilities["parameters"] = parameters
        names = [n for n in plan_outcomes(plan_years) if n in outcomes.columns]
        return cls(
            replicates=replicates,
            outcomes=outcomes,
            probabilities=probabilities,
            quantiles=quantile_bands(replicates, drawn),
            outcome_summary=outcome_distribution(outcomes, drawn),
            manifest=manifest,
            variance_split=variance_split(outcomes, names, parameters, seeds_per_draw),
            **replicate_tables,
        )

    @property
    def name(self) -> str:
        """The scenario's name."""
        return str(self.manifest.get("scenario_name", ""))

    @property
    def parameters(self) -> str:
        """Where the parameters came from: ``fixed``, ``prior`` or ``posterior``."""
        return str(self.manifest.get("parameters", "fixed"))

    def probability_source(self) -> str:
        """``probabilities over 20 replicates: seeds and prior parameter draws`` (or ...)."""
        n = int(self.manifest.get("replicates", self.outcomes["replicate"].nunique()))
        return f"probabilities over {n} replicates: {PARAMETER_LABELS[self.parameters]}"

    def median(self, outcome: str) -> float:
        """Median over replicates of a scalar outcome."""
        values = self.outcomes[outcome].to_numpy(dtype=float)
        return float(np.nanmedian(values)) if values.size else float("nan")

    def write(self, folder: str | Path) -> Path:
        """Write the results folder; each file appears complete (renamed into place).

        Files: ``replicates.parquet``, ``outcomes.parquet``, ``probabilities.csv``,
        ``quantiles.parquet``, ``outcome_summary.csv``, ``variance_split.csv``, the
        per-replicate tables that are not empty (``replicate_ledger.parquet``,
        ``replicate_by_county.parquet``, ``replicate_income_percentiles.parquet``),
        ``exits_vs_targets.png`` (fan chart, its title naming what varied) and ``manifest.json``
        (written last).
        """
        from model.reporting.figures import fan_chart

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        atomic_to_parquet(self.replicates, out / "replicates.parquet")
        atomic_to_parquet(self.outcomes, out / "outcomes.parquet")
        atomic_to_csv(self.probabilities, out / "probabilities.csv")
        atomic_to_parquet(self.quantiles, out / "quantiles.parquet")
        atomic_to_csv(self.outcome_summary, out / "outcome_summary.csv")
        atomic_to_csv(self.variance_split, out / "variance_split.csv")
        for name in REPLICATE_TABLES:
            if not getattr(self, name).empty:
                atomic_to_parquet(getattr(self, name), out / f"{name}.parquet")
        fig = fan_chart(
            self.quantiles, self.probabilities, title=self.name, subtitle=self.probability_source()
        )
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
    split = folder / "variance_split.csv"
    return EnsembleResult(
        replicates=pd.read_parquet(folder / "replicates.parquet"),
        outcomes=pd.read_parquet(folder / "outcomes.parquet"),
        probabilities=probabilities,
        quantiles=pd.read_parquet(folder / "quantiles.parquet"),
        outcome_summary=pd.read_csv(folder / "outcome_summary.csv"),
        manifest=manifest,
        variance_split=(
            pd.read_csv(split) if split.is_file() else pd.DataFrame(columns=VARIANCE_COLUMNS)
        ),
        **{
            name: pd.read_parquet(folder / f"{name}.parquet")
            for name in REPLICATE_TABLES
            if (folder / f"{name}.parquet").is_file()
        },
    )


# ---------------------------------------------------------------------------------------------
# running


def ensemble_job(
    scenario: Any, seed: int, population_scale: float, plan: ReplicatePlan | None = None
) -> dict[str, Any]:
    """What identifies an ensemble's runs on disk.

    The replicate count is not part of it: resuming with more replicates keeps the runs done.
    With drawn parameters, so are the source (and the posterior file's SHA-256) and the seeds
    per draw; with fixed parameters the job is what it was before parameters could be drawn.
    """
    from model.results.outputs import package_version

    job = {
        "kind": "ensemble",
        "scenario": scenario.model_dump(mode="json"),
        "seed": int(seed),
        "population_scale": float(population_scale),
        "package_version": package_version(),
    }
    if plan is not None and plan.source.drawn:
        job.update(plan.source.manifest())
        job["seeds_per_draw"] = plan.seeds_per_draw
    return job


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
    parameters: Any = None,
    seeds_per_draw: int = 1,
) -> EnsembleResult:
    """Run ``replicates`` replicates of a scenario and summarise them.

    Args:
        scenario: A validated scenario (or a path to a scenario file).
        replicates: Number of replicates.
        seed: Root seed; replicate seeds are spawned from ``SeedSequence(seed)``, and so are
            the parameter draws (on streams of their own).
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
        parameters: Where the parameter values come from: None (default: what the
            scenario's ``[forecast]`` table names, ``"fixed"`` unless it says otherwise),
            ``"fixed"`` (the scenario's values; the seeds alone vary), ``"prior"`` (every
            uncertainty drawn uniformly over its range for every draw) or a posterior
            (``ParameterSource.from_posterior_file(path)`` or a ``pathlib.Path``). Levers are
            never drawn.
        seeds_per_draw: Seeds run with each parameter draw (``replicates`` must be a multiple
            of it); 2 or more lets :attr:`EnsembleResult.variance_split` separate the
            parameters' part of the variance from the seeds'.

    Returns:
        The :class:`EnsembleResult` (also written to ``out`` when given).

    Raises:
        ValueError: Bad sizes or population scale, or an unknown parameter source.
        model.experiments.parameters.PosteriorError: A posterior file that cannot be drawn from
            for this scenario.
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
    plan = plan_replicates(scenario, replicates, seed, parameters, seeds_per_draw)
    seeds = plan.seeds
    text = json.dumps(scenario.model_dump(mode="json"))
    load_kernels = kernels.many_runs(replicates)  # the same results, each run cheaper

    def payload(r: int) -> dict[str, Any]:
        task = {
            "scenario": text,
            "seed": seeds[r],
            "population_scale": float(population_scale),
            "replicate": r,
            "load_kernels": load_kernels,
        }
        if plan.source.drawn:
            task.update(draw=plan.draw_of(r), parameters=plan.overrides(r))
        return task

    with (
        runs_folder(out, "ensemble-") as runs_dir,
        given_or_own_executor(executor, workers, scheduler) as ex,
    ):
        store = RunStore(
            runs_dir, ensemble_job(scenario, seed, population_scale, plan), resume, "outcomes"
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
        **plan.manifest(),
        "parameters_description": plan.source.describe(scenario),
        "population_scale": float(population_scale),
        "confidence": confidence,
        "ci_method": CI_METHOD
        if seeds_per_draw == 1
        else f"{CI_METHOD}, effective replicates n / (1 + ({seeds_per_draw} - 1) x icc)",
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
