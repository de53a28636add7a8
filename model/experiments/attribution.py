"""What each measure buys: counterfactual attribution of exits to measures and money.

Counting exits among a measure's enrolled households (``by_measure``'s
``exits_among_enrolled_per_million_yuan``) credits a measure with every exit of the people it
serves, whatever would have happened without it. This module answers "what does each measure
buy, and what would the next million buy?" with counterfactual runs on common random numbers:
every scenario variant runs replicate ``r`` with the seed of replicate ``r`` of an ensemble of
the same root seed (:func:`model.experiments.ensemble.replicate_seeds`), so differences between
variants are paired, replicate by replicate, and their noise largely cancels.

Three answers, each per outcome (``cumulative_exited_people`` and ``villages_exited`` by
default) and year; every interval is a 95% Student-t interval over the paired replicates
(sampled Shapley values add their permutation error in quadrature):

- **Leave one out.** The scenario with one measure switched off (``[measures] off``; or removed
  from ``only``), against the full scenario: what the plan loses without that measure. A removed
  measure's earmark of the special fund is *left unspent* (the ledger keeps it). Divided by
  what the measure spent in the full scenario (``loo_per_million_yuan``, a ratio of means with
  a delta-method interval) it says what each yuan of the measure buys. With
  ``reallocate=True`` each removed special-fund use is also run with its share spread over the
  other uses in proportion to their shares (``loo_reallocated_*`` columns), which answers "what
  does this measure buy compared with the other uses of the same money".
- **Shapley values.** The game's players are the measures the scenario runs; a coalition ``S``
  is the scenario with ``[measures] only = S``. The empty coalition is ``only = []``: *no
  measure at all* runs -- not even dibao, five-guarantee support or medical insurance -- and the
  special fund and village funds arrive and stay unspent. That is not the shipped
  ``no_new_measures`` scenario, which keeps the old dibao (social security at its 2015 standard
  and take-up) and has no special fund: its gap to the baseline is the Shapley total minus what
  the old dibao alone achieves. Shapley values add up, by construction and exactly in every
  replicate, to the total effect ``v(all measures) - v(no measure)``. They are exact over every
  subset when ``max_runs`` allows (``2 ** n`` coalitions per replicate), otherwise estimated on
  random permutations (the same permutations in every replicate; each permutation's marginal
  contributions telescope to the total, so the sum is still exact) with the Monte Carlo error
  of the permutation sample. ``interaction = leave one out - Shapley`` shows where a measure's
  effect depends on the others.
- **Marginal returns.** For each use of the special fund, its earmark grows by ``step`` (a share
  of the fund, 0.10 by default) and the other shares shrink in proportion, so they still sum to
  1: the change in each outcome per extra million yuan *actually spent* on that use (the change
  in the use's spend over the horizon, not in its earmark: an earmark that cannot be spent buys
  nothing, and a ratio whose extra spend is not positive is left empty).
  The ratio of mean changes has a delta-method interval. For each capacity lever
  (:data:`CAPACITY_LEVERS`: training places, public posts, renovations) every year's number
  grows by the same relative ``step``: the change per extra unit (in full-population units).

Parameter draws: with ``parameters="prior"`` (or a posterior) replicate ``r`` of *every*
variant also runs with the parameter draw of replicate ``r`` of an ensemble of the same root seed
(:func:`model.experiments.ensemble.plan_replicates`), carried to :func:`attribution_run` in its
payload; so the variants stay paired (common random numbers in the seeds and in the parameters)
and the intervals carry the uncertainty of the assumptions as well as the Monte Carlo noise.
Levers (the allocation, the capacities the marginal returns step) are never drawn. With
``parameters="fixed"`` (the default for a scenario whose ``[forecast]`` table names no other
source) only the seeds vary, and the results are those of an
attribution without a parameter source.

Example:
    >>> import model
    >>> att = model.attribute(model.load_scenario("scenarios/baseline.toml"), replicates=10,
    ...                       population_scale=0.05)
    >>> att.table
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.engine.funding import SPECIAL_USES
from model.engine.kernels import many_runs
from model.engine.scenario import apply_overrides
from model.experiments.ensemble import plan_replicates
from model.experiments.execution import (
    Executor,
    atomic_savefig,
    atomic_to_csv,
    atomic_write_json,
    given_or_own_executor,
)
from model.reporting.attribution_section import interval_source

#: Version of the attribution results-folder layout.
ATTRIBUTION_SCHEMA_VERSION = 1

#: Outcomes attributed unless others are asked for (per-year outcomes of ``RunResult.outcomes``).
DEFAULT_OUTCOMES = ("cumulative_exited_people", "villages_exited")

#: Capacity levers whose marginal return is measured: dotted path -> unit of one extra unit.
CAPACITY_LEVERS = {
    "employment.training_places": "training place",
    "employment.public_posts": "public post (a year's stock)",
    "housing.renovations": "renovation",
}

#: Default step of the marginal returns: share of the special fund (and relative capacity).
DEFAULT_STEP = 0.10

#: Default largest number of runs; Shapley values are exact when every subset fits.
DEFAULT_MAX_RUNS = 1000

#: Confidence level of every interval.
CONFIDENCE = 0.95

#: The standard normal's 97.5% quantile: the permutation error's share of a 95% interval.
NORMAL_975 = 1.959963984540054

#: Most permutations drawn for sampled Shapley values.
MAX_PERMUTATIONS = 2000

#: Columns of ``attribution.csv``, in order.
TABLE_COLUMNS = [
    "measure",
    "outcome",
    "year",
    "full",
    "loo_effect",
    "loo_low",
    "loo_high",
    "loo_per_million_yuan",
    "loo_per_million_low",
    "loo_per_million_high",
    "loo_reallocated_effect",
    "loo_reallocated_low",
    "loo_reallocated_high",
    "shapley",
    "shapley_low",
    "shapley_high",
    "shapley_mc_error",
    "interaction",
    "spend_yuan",
    "loo_spend_saved_yuan",
    "marginal_effect",
    "marginal_low",
    "marginal_high",
    "marginal_extra_spend_yuan",
    "marginal_per_million_yuan",
    "marginal_per_million_low",
    "marginal_per_million_high",
    "parameters",
]


class AttributionError(ValueError):
    """Bad input to :func:`attribute`: an unknown outcome, a step that breaks the shares..."""


# ---------------------------------------------------------------------------------------------
# statistics


def paired_interval(
    diffs: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """Mean of paired differences and its Student-t interval (NaN bounds with one replicate).

    Args:
        diffs: Per-replicate differences, shape ``(replicates, ...)``.
        confidence: Confidence level.

    Returns:
        ``(mean, low, high)`` arrays (or floats) over the first axis.
    """
    from scipy.stats import t

    d = np.asarray(diffs, dtype=float)
    n = d.shape[0]
    mean = d.mean(axis=0)
    if n < 2:
        nan = np.full_like(mean, np.nan)
        return mean, nan, nan
    half = t.ppf(0.5 + confidence / 2, n - 1) * d.std(axis=0, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


def ratio_interval(
    dy: np.ndarray, dx: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratio of mean paired changes ``mean(dy) / mean(dx)`` with a delta-method interval.

    ``dx`` has one value per replicate (shape ``(replicates,)``), ``dy`` one per replicate and
    metric. Where ``mean(dx) <= 0`` (the extra money was not spent) the ratio is NaN.
    """
    from scipy.stats import t

    dy = np.asarray(dy, dtype=float)
    dx = np.asarray(dx, dtype=float)
    n = dy.shape[0]
    mx = dx.mean()
    my = dy.mean(axis=0)
    if not mx > 0:
        nan = np.full_like(my, np.nan)
        return nan, nan, nan
    ratio = my / mx
    if n < 2:
        nan = np.full_like(my, np.nan)
        return ratio, nan, nan
    # residuals of dy - ratio * dx: their variance is the delta method's
    resid = dy - ratio * dx[:, None] if dy.ndim > 1 else dy - ratio * dx
    se = resid.std(axis=0, ddof=1) / math.sqrt(n) / mx
    half = t.ppf(0.5 + confidence / 2, n - 1) * se
    return ratio, ratio - half, ratio + half


# ---------------------------------------------------------------------------------------------
# Shapley values of a value function


@dataclass
class ShapleyValues:
    """Shapley values of a coalition game, per player, for each replicate.

    Attributes:
        players: The players, in order.
        values: Shape ``(players, replicates, metrics)``: each player's value in each replicate.
        exact: Whether every subset was evaluated (else sampled permutations).
        permutations: Permutations sampled (0 when exact).
        mc_error: Shape ``(players, metrics)``: standard error of the permutation sample of the
            replicate-mean values (0 when exact).
    """

    players: tuple[str, ...]
    values: np.ndarray
    exact: bool
    permutations: int
    mc_error: np.ndarray


def shapley_coalitions(
    players: Sequence[str], permutations: Sequence[Sequence[int]] | None
) -> list[frozenset[str]]:
    """The coalitions a Shapley computation evaluates (every subset, or along the permutations)."""
    n = len(players)
    if permutations is None:
        return [
            frozenset(players[i] for i in combo)
            for k in range(n + 1)
            for combo in itertools.combinations(range(n), k)
        ]
    seen: dict[frozenset[str], None] = {frozenset(): None}
    for perm in permutations:
        members: set[str] = set()
        for i in perm:
            members.add(players[i])
            seen.setdefault(frozenset(members), None)
    return list(seen)


def shapley_values(
    players: Sequence[str],
    value: Callable[[frozenset[str]], np.ndarray],
    permutations: Sequence[Sequence[int]] | None = None,
) -> ShapleyValues:
    """Shapley values of the game ``value`` (exact, or on the given permutations).

    Args:
        players: The players.
        value: Coalition -> array of shape ``(replicates, metrics)`` (or any shape, the same for
            every coalition): the game's value in each replicate.
        permutations: Orders of player indices to average marginal contributions over; ``None``
            evaluates every subset (exact Shapley values).

    Returns:
        The :class:`ShapleyValues`. In each replicate the values of all players add up to
        ``value(all) - value(empty)``: exactly for exact values, and for sampled values too,
        since each permutation's marginal contributions telescope.
    """
    players = tuple(players)
    n = len(players)
    cache: dict[frozenset[str], np.ndarray] = {}

    def v(s: frozenset[str]) -> np.ndarray:
        if s not in cache:
            cache[s] = np.asarray(value(s), dtype=float)
        return cache[s]

    shape = v(frozenset()).shape
    phi = np.zeros((n, *shape))
    if permutations is None:
        weights = [
            math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) for k in range(n)
        ]
        for i, player in enumerate(players):
            others = [p for p in players if p != player]
            for k in range(n):
                for combo in itertools.combinations(others, k):
                    s = frozenset(combo)
                    phi[i] += weights[k] * (v(s | {player}) - v(s))
        return ShapleyValues(players, phi, True, 0, np.zeros((n, *shape[1:])))
    contributions = np.zeros((len(permutations), n, *shape))
    for p, perm in enumerate(permutations):
        members: frozenset[str] = frozenset()
        before = v(members)
        for i in perm:
            members = members | {players[i]}
            after = v(members)
            contributions[p, i] = after - before
            before = after
    phi = contributions.mean(axis=0)
    # error of the permutation sample, on the replicate means
    per_perm = contributions.mean(axis=2) if len(shape) > 1 else contributions
    m = len(permutations)
    mc = (
        per_perm.std(axis=0, ddof=1) / math.sqrt(m)
        if m > 1
        else np.full(per_perm.shape[1:], np.nan)
    )
    return ShapleyValues(players, phi, False, m, mc)


def widened_interval(
    mean: np.ndarray, high: np.ndarray, mc_error: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A sampled Shapley value's 95% interval: the seeds' half-width and the permutations'.

    The two errors are independent (the permutations are drawn apart from the seeds), so the
    half-widths add in quadrature: ``sqrt((high - mean)^2 + (1.96 x mc_error)^2)``.

    Args:
        mean: The value (mean over the paired replicates).
        high: The upper end of its paired interval over the replicates.
        mc_error: The standard error of the permutation sample.

    Returns:
        ``(low, high)`` of the widened interval, symmetric about ``mean``.
    """
    half = np.sqrt((high - mean) ** 2 + (NORMAL_975 * mc_error) ** 2)
    return mean - half, mean + half


# ---------------------------------------------------------------------------------------------
# runs


def attribution_run(payload: tuple) -> dict[str, float]:
    """Task: one run's scalar outcomes and each measure's spend (``spend_<measure>``, yuan).

    Args:
        payload: ``(scenario JSON text, seed, population scale, drawn, load_kernels)``: the
            drawn parameter values (``{dotted path: value}``) to run the scenario with or
            None, and whether to load the compiled kernels first (the same results, cheaper).
    """
    from model.experiments.ensemble import scenario_from_json
    from model.results.recording import run_for_outcomes

    text, seed, scale, drawn, load_kernels = payload
    scenario = scenario_from_json(text)
    if drawn:
        scenario = apply_overrides(scenario, drawn)
    out, tables = run_for_outcomes(
        scenario, seed, scale, tables=("by_measure",), load_kernels=load_kernels
    )
    by_measure = tables["by_measure"]
    if not by_measure.empty:
        last = by_measure[by_measure["year"] == by_measure["year"].max()]
        for measure, spend in zip(last["measure"], last["spend_to_date"], strict=True):
            out[f"spend_{measure}"] = float(spend)
    return out


def run_variants(
    variants: dict[str, Any],
    seeds: Sequence[int],
    population_scale: float,
    executor: Executor,
    draws: Sequence[dict[str, Any]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Run every scenario variant on every seed in one batch; identical variants run once.

    Args:
        variants: Label -> validated scenario.
        seeds: Replicate ``r`` of every variant runs with ``seeds[r]``.
        population_scale: Share of every count to simulate.
        executor: The open executor to run on.
        draws: Parameter values of each replicate (``{dotted path: value}``), the same for
            every variant; None (or empty values) runs the scenarios as they are.

    Returns:
        Variant label -> one row per replicate (in seed order) of :func:`attribution_run`.

    Raises:
        ValueError: ``draws`` not one per seed.
    """
    texts = {label: json.dumps(s.model_dump(mode="json")) for label, s in variants.items()}
    unique = list(dict.fromkeys(texts.values()))
    if draws is not None and len(draws) != len(seeds):
        raise ValueError(f"draws: expected one per seed ({len(seeds)}), found {len(draws)}")
    drawn = [None] * len(seeds) if draws is None else [dict(d) if d else None for d in draws]
    load = many_runs(len(unique) * len(seeds))
    payloads = [
        (text, int(seed), float(population_scale), d, load)
        for text in unique
        for seed, d in zip(seeds, drawn, strict=True)
    ]
    rows = executor.map(attribution_run, payloads)
    r = len(seeds)
    tables = {text: pd.DataFrame(rows[k * r : (k + 1) * r]) for k, text in enumerate(unique)}
    return {label: tables[text] for label, text in texts.items()}


# ---------------------------------------------------------------------------------------------
# scenario variants


def running_measures(scenario: Any) -> tuple[str, ...]:
    """Names of the measures the scenario runs, in their monthly order."""
    from model.engine.interventions import running

    return tuple(cls.name for cls in running(scenario))


def without(scenario: Any, measure: str) -> Any:
    """The scenario with ``measure`` switched off (its earmark left unspent)."""
    switches = scenario.measures
    if switches.only is not None:
        keep = [m for m in switches.only if m != measure]
        return apply_overrides(scenario, {"measures.only": keep})
    return apply_overrides(scenario, {"measures.off": [*switches.off, measure]})


def with_only(scenario: Any, measures: Iterable[str]) -> Any:
    """The scenario with only ``measures`` on (a Shapley coalition; empty: no measure at all)."""
    from model.engine.interventions import MEASURE_NAMES

    keep = [m for m in MEASURE_NAMES if m in set(measures)]
    return apply_overrides(scenario, {"measures.only": keep, "measures.off": []})


def reallocated(allocation: dict[str, float], use: str) -> dict[str, float] | None:
    """``use``'s share spread over the other uses in proportion (None if nothing is left)."""
    rest = 1.0 - allocation[use]
    if rest <= 0:
        return None
    return {u: (0.0 if u == use else allocation[u] / rest) for u in allocation}


def stepped_allocation(allocation: dict[str, float], use: str, step: float) -> dict[str, float]:
    """``use``'s share plus ``step``, the other shares scaled so that they still sum to 1.

    Raises:
        AttributionError: When the step makes a share negative or above 1, or the other uses
            have no share to give.
    """
    from model.experiments.budget import AllocationError, validate_allocation

    new = allocation[use] + step
    rest = 1.0 - allocation[use]
    if not 0 <= new <= 1:
        raise AttributionError(
            f"--step {step:g}: the earmark of {use} would be {new:g}; expected a share in [0, 1]"
        )
    if rest <= 0:
        raise AttributionError(
            f"--step {step:g}: {use} has the whole special fund; no other use can give a share"
        )
    factor = (1.0 - new) / rest
    shares = {u: (new if u == use else allocation[u] * factor) for u in allocation}
    try:
        return validate_allocation(shares, label=f"--step {step:g} on {use}")
    except AllocationError as err:
        raise AttributionError(str(err)) from None


def stepped_capacity(table: dict[int, float], step: float) -> dict[int, float]:
    """Every year's number of a capacity lever times ``1 + step``."""
    return {year: value * (1.0 + step) for year, value in table.items()}


# ---------------------------------------------------------------------------------------------
# the result


@dataclass
class AttributionResult:
    """What each measure buys, and what the next million would buy.

    Attributes:
        table: ``attribution.csv``: one row per measure, outcome and year (:data:`TABLE_COLUMNS`).
        capacity: One row per capacity lever, outcome and year: ``lever, unit, outcome, year,
            extra_units, per_unit, per_unit_low, per_unit_high``.
        totals: One row per outcome and year: the full scenario, no measure at all, and the
            total effect (the sum of the Shapley values) with its interval.
        manifest: Scenario, seeds, scale, step, how Shapley values were computed, run count.
    """

    table: pd.DataFrame
    capacity: pd.DataFrame
    totals: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    def write(self, folder: str | Path) -> Path:
        """Write the attribution folder; each file appears complete (renamed into place).

        Files: ``attribution.csv``, ``capacity_levers.csv``, ``attribution_totals.csv``,
        ``attribution.png`` and ``manifest.json`` (written last).
        """
        from model.reporting.figures import attribution_chart

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        atomic_to_csv(self.table, out / "attribution.csv")
        atomic_to_csv(self.capacity, out / "capacity_levers.csv")
        atomic_to_csv(self.totals, out / "attribution_totals.csv")
        year = self.manifest.get("figure_year")
        fig = attribution_chart(
            self.table,
            outcome=self.manifest.get("outcomes", list(DEFAULT_OUTCOMES))[0],
            year=year,
            title=f"{self.manifest.get('scenario_name', '')}, population scale "
            f"{self.manifest.get('population_scale', 1):g}, {self.manifest.get('replicates')} "
            "paired replicates",
        )
        atomic_savefig(fig, out / "attribution.png")
        manifest = dict(self.manifest, written_utc=datetime.now(UTC).isoformat(timespec="seconds"))
        atomic_write_json(manifest, out / "manifest.json")
        return out


def check_outcomes(outcomes: Sequence[str] | None) -> list[str]:
    """The outcomes to attribute: per-year outcome names of ``RunResult.outcomes``.

    Raises:
        AttributionError: An unknown outcome, naming the known ones.
    """
    from model.results.metrics import PER_YEAR_SUFFIX, per_year_outcomes

    known = [
        m.name.removesuffix(PER_YEAR_SUFFIX)
        for m in per_year_outcomes()
        if m.name != "target_met" + PER_YEAR_SUFFIX
    ]
    chosen = list(dict.fromkeys(outcomes or DEFAULT_OUTCOMES))
    unknown = [o for o in chosen if o not in known]
    if unknown:
        raise AttributionError(
            f"--outcome: expected names among {', '.join(known)}, found {', '.join(unknown)}"
        )
    return chosen


def _draw_permutations(n: int, replicates: int, budget: int, seed: int) -> list[list[int]]:
    """Random permutations of ``n`` players, as many as fit ``budget`` runs.

    The same root seed draws the same permutations. Returns the permutations that fit, and
    raises when fewer than two do (one permutation has no Monte Carlo error).

    Raises:
        AttributionError: Naming the runs that two permutations need.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 17]))
    perms: list[list[int]] = []
    coalitions: set[frozenset[int]] = {frozenset()}
    while len(perms) < MAX_PERMUTATIONS:
        perm = [int(i) for i in rng.permutation(n)]
        new = {frozenset(perm[: k + 1]) for k in range(n)} - coalitions
        if (len(coalitions) + len(new)) * replicates > budget:
            if len(perms) < 2:
                rest = [] if perms else [[int(i) for i in rng.permutation(n)]]
                more = {frozenset(p[: k + 1]) for p in [perm, *rest] for k in range(n)}
                needed = len(coalitions | new | more) * replicates
                raise ShapleyBudgetError(needed)
            break
        perms.append(perm)
        coalitions |= new
    return perms


class ShapleyBudgetError(Exception):
    """Fewer than two permutations fit the runs left for Shapley values."""

    def __init__(self, needed: int) -> None:
        super().__init__(needed)
        self.needed = needed


def attribute(
    scenario: Any,
    replicates: int = 10,
    seed: int = 1,
    population_scale: float = 0.05,
    outcomes: Sequence[str] | None = None,
    *,
    reallocate: bool = False,
    step: float = DEFAULT_STEP,
    max_runs: int = DEFAULT_MAX_RUNS,
    shapley: bool = True,
    workers: int | None = 1,
    scheduler: str | None = None,
    executor: Executor | None = None,
    out: str | Path | None = None,
    parameters: Any = None,
) -> AttributionResult:
    """Attribute a scenario's outcomes to its measures, and measure marginal returns.

    Args:
        scenario: A validated scenario (or a path to a scenario file).
        replicates: Replicates of every variant, on the same seeds.
        seed: Root seed of the replicate seeds.
        population_scale: Share of every count to simulate, in (0, 1].
        outcomes: Per-year outcome names (default :data:`DEFAULT_OUTCOMES`).
        reallocate: Also run each removed special-fund use with its share spread over the
            other uses (``loo_reallocated_*`` columns).
        step: Extra share of the special fund for each use's marginal return, and relative
            extra capacity for each capacity lever.
        max_runs: Most runs; Shapley values are exact if every subset fits in what is left
            after the other variants, else estimated on as many permutations as fit.
        shapley: Compute Shapley values at all.
        workers: Local worker processes (1 = this process).
        scheduler: ``tcp://HOST:PORT`` of a Dask scheduler instead.
        executor: An open executor to reuse (then ``workers`` and ``scheduler`` are ignored).
        out: Results folder to write (see :meth:`AttributionResult.write`).
        parameters: None (the scenario's ``[forecast]`` source), ``"fixed"`` (the seeds alone
            vary), ``"prior"`` or a posterior (see
            :func:`model.experiments.parameters.parameter_source`): replicate ``r`` of every
            variant runs with draw ``r`` of an ensemble of root ``seed``.

    Returns:
        The :class:`AttributionResult`.

    Raises:
        AttributionError: Bad input (outcome, step, replicates, scale, run budget).
        PosteriorError: A posterior whose parameters are not uncertainties of the scenario, or
            a drawn row the scenario refuses (before any run).
        ScenarioError: A prior draw the scenario refuses.
    """
    import time

    from model.engine.scenario import load_scenario
    from model.results.outputs import git_commit, package_version

    if isinstance(scenario, str | Path):
        scenario = load_scenario(scenario)
    if int(replicates) < 1:
        raise AttributionError(f"replicates: expected a positive integer, found {replicates}")
    if not 0 < population_scale <= 1:
        raise AttributionError(
            f"population_scale: expected a number in (0, 1], found {population_scale}"
        )
    if not (math.isfinite(step) and step != 0):
        raise AttributionError(f"--step: expected a non-zero finite number, found {step}")
    chosen = check_outcomes(outcomes)
    allocation = {u: float(scenario.funding.allocation.get(u, 0.0)) for u in SPECIAL_USES}
    players = running_measures(scenario)
    special = [u for u in SPECIAL_USES if u in players]
    stepped = {u: stepped_allocation(allocation, u, step) for u in special}
    if step <= -1:
        raise AttributionError(f"--step {step:g}: a capacity would become negative")

    variants: dict[str, Any] = {"full": scenario}
    for m in players:
        variants[f"loo:{m}"] = without(scenario, m)
        if reallocate and m in special:
            shares = reallocated(allocation, m)
            if shares is not None:
                variants[f"realloc:{m}"] = apply_overrides(
                    without(scenario, m), {"funding.allocation": shares}
                )
    for u, shares in stepped.items():
        variants[f"step:{u}"] = apply_overrides(scenario, {"funding.allocation": shares})
    for path in CAPACITY_LEVERS:
        section, name = path.split(".")
        if section in players:
            table = getattr(getattr(scenario, section), name)
            variants[f"cap:{path}"] = apply_overrides(
                scenario, {path: stepped_capacity(table, step)}
            )
    fixed_runs = len({json.dumps(s.model_dump(mode="json")) for s in variants.values()})
    fixed_runs *= replicates
    if fixed_runs > max_runs:
        raise AttributionError(
            f"--max-runs {max_runs}: leave-one-out and marginal returns alone need {fixed_runs} "
            f"runs ({replicates} replicates); expected --max-runs >= {fixed_runs}"
        )
    n = len(players)
    permutations: list[list[int]] | None = None
    if shapley and n:
        budget = max_runs - fixed_runs
        if (2**n) * replicates <= budget:
            permutations = None
        else:
            try:
                permutations = _draw_permutations(n, replicates, budget, seed)
            except ShapleyBudgetError as err:
                raise AttributionError(
                    f"--max-runs {max_runs}: Shapley values on two permutations need about "
                    f"{err.needed} runs beside the {fixed_runs} of leave one out and marginal "
                    f"returns; expected --max-runs >= {fixed_runs + err.needed}, or --no-shapley"
                ) from None
        coalitions = shapley_coalitions(players, None if permutations is None else permutations)
        for c in coalitions:
            variants[f"only:{','.join(sorted(c))}"] = with_only(scenario, c)

    plan = plan_replicates(scenario, replicates, seed, parameters)
    seeds = plan.seeds
    draws = [plan.overrides(r) for r in range(replicates)] if plan.source.drawn else None
    started = time.perf_counter()
    with given_or_own_executor(executor, workers, scheduler) as ex:
        runs = run_variants(variants, seeds, population_scale, ex, draws)
        description = ex.description
    seconds = time.perf_counter() - started

    years = list(range(scenario.calendar.start_year, scenario.calendar.end_year + 1))
    columns = [f"{o}_{y}" for o in chosen for y in years]

    def values(label: str) -> np.ndarray:
        return runs[label][columns].to_numpy(dtype=float)

    def spend(label: str, measure: str | None = None) -> np.ndarray:
        col = "total_spend" if measure is None else f"spend_{measure}"
        table = runs[label]
        return table[col].to_numpy(dtype=float) if col in table else np.zeros(len(table))

    full = values("full")
    rows: dict[str, dict[str, np.ndarray]] = {}
    for m in players:
        r: dict[str, np.ndarray] = {}
        loo = full - values(f"loo:{m}")
        r["loo_effect"], r["loo_low"], r["loo_high"] = paired_interval(loo)
        r["loo_per_million_yuan"], r["loo_per_million_low"], r["loo_per_million_high"] = (
            ratio_interval(loo, spend("full", m) / 1e6)
        )
        if f"realloc:{m}" in variants:
            r["loo_reallocated_effect"], r["loo_reallocated_low"], r["loo_reallocated_high"] = (
                paired_interval(full - values(f"realloc:{m}"))
            )
        r["spend_yuan"] = np.full(len(columns), spend("full", m).mean())
        r["loo_spend_saved_yuan"] = np.full(
            len(columns), (spend("full") - spend(f"loo:{m}")).mean()
        )
        if m in stepped:
            dy = values(f"step:{m}") - full
            dx = spend(f"step:{m}", m) - spend("full", m)
            r["marginal_effect"], r["marginal_low"], r["marginal_high"] = paired_interval(dy)
            r["marginal_extra_spend_yuan"] = np.full(len(columns), dx.mean())
            (
                r["marginal_per_million_yuan"],
                r["marginal_per_million_low"],
                r["marginal_per_million_high"],
            ) = ratio_interval(dy, dx / 1e6)
        rows[m] = r

    manifest_shapley: dict[str, Any] = {"computed": False}
    totals_rows = []
    if shapley and n:
        none = with_only(scenario, [])
        sv = shapley_values(
            players,
            lambda c: values(f"only:{','.join(sorted(c))}"),
            permutations,
        )
        for i, m in enumerate(players):
            mean, low, high = paired_interval(sv.values[i])
            if not sv.exact:
                low, high = widened_interval(mean, high, sv.mc_error[i])
            rows[m]["shapley"], rows[m]["shapley_low"], rows[m]["shapley_high"] = mean, low, high
            rows[m]["shapley_mc_error"] = sv.mc_error[i]
            rows[m]["interaction"] = rows[m]["loo_effect"] - mean
        total = values(f"only:{','.join(sorted(players))}") - values("only:")
        t_mean, t_low, t_high = paired_interval(total)
        empty = values("only:").mean(axis=0)
        for k, col in enumerate(columns):
            o, y = col.rsplit("_", 1)
            totals_rows.append(
                {
                    "outcome": o,
                    "year": int(y),
                    "full": float(full[:, k].mean()),
                    "no_measure": float(empty[k]),
                    "total_effect": float(t_mean[k]),
                    "total_low": float(t_low[k]),
                    "total_high": float(t_high[k]),
                    "shapley_sum": float(sv.values[:, :, k].mean(axis=1).sum()),
                }
            )
        manifest_shapley = {
            "computed": True,
            "exact": sv.exact,
            "permutations": sv.permutations,
            "coalitions": len(shapley_coalitions(players, permutations)),
            "empty_coalition": "[measures] only = [] on the scenario: no measure runs (no dibao, "
            "no five-guarantee support, no medical insurance); the funds arrive and stay unspent",
            "empty_scenario_name": none.name,
        }

    table_rows = []
    for m in players:
        for k, col in enumerate(columns):
            o, y = col.rsplit("_", 1)
            row: dict[str, Any] = {
                "measure": m,
                "outcome": o,
                "year": int(y),
                "full": float(full[:, k].mean()),
            }
            for name, arr in rows[m].items():
                row[name] = float(np.asarray(arr)[k])
            row["parameters"] = plan.source.kind
            table_rows.append(row)
    table = pd.DataFrame(table_rows).reindex(columns=TABLE_COLUMNS)

    cap_rows = []
    for path, unit in CAPACITY_LEVERS.items():
        if f"cap:{path}" not in variants:
            continue
        section, name = path.split(".")
        base_table = getattr(getattr(scenario, section), name)
        extra_units = sum(v * step for y, v in base_table.items() if int(y) in years)
        dy = values(f"cap:{path}") - full
        per_unit = dy / (extra_units * population_scale) if extra_units else dy * np.nan
        mean, low, high = paired_interval(per_unit)
        for k, col in enumerate(columns):
            o, y = col.rsplit("_", 1)
            cap_rows.append(
                {
                    "lever": path,
                    "unit": unit,
                    "outcome": o,
                    "year": int(y),
                    "extra_units": float(extra_units),
                    "per_unit": float(mean[k]),
                    "per_unit_low": float(low[k]),
                    "per_unit_high": float(high[k]),
                }
            )
    capacity = pd.DataFrame(
        cap_rows,
        columns=[
            "lever",
            "unit",
            "outcome",
            "year",
            "extra_units",
            "per_unit",
            "per_unit_low",
            "per_unit_high",
        ],
    )
    totals = pd.DataFrame(
        totals_rows,
        columns=[
            "outcome",
            "year",
            "full",
            "no_measure",
            "total_effect",
            "total_low",
            "total_high",
            "shapley_sum",
        ],
    )
    runs_made = len({json.dumps(s.model_dump(mode="json")) for s in variants.values()})
    manifest = {
        "kind": "attribution",
        "schema_version": ATTRIBUTION_SCHEMA_VERSION,
        "scenario_name": scenario.name,
        "scenario": scenario.model_dump(mode="json"),
        "seed": int(seed),
        "replicates": int(replicates),
        "seed_rule": "replicate r of every variant runs with child r of "
        "numpy.random.SeedSequence(seed) (common random numbers)",
        **plan.manifest(),
        "parameter_source": plan.source.describe(scenario),
        "intervals_carry": interval_source(plan.source.kind),
        "population_scale": float(population_scale),
        "outcomes": chosen,
        "figure_year": max(int(y) for y in scenario.targets.cumulative_people)
        if scenario.targets.cumulative_people
        else years[-1],
        "step": float(step),
        "removed_money": "a removed measure's earmark is left unspent"
        + ("; loo_reallocated_* spread it over the other uses in proportion" if reallocate else ""),
        "confidence": CONFIDENCE,
        "interval": "Student t over paired replicates; marginal per million yuan: ratio of mean "
        "changes with a delta-method interval",
        "shapley": manifest_shapley,
        "variants": len(variants),
        "runs": runs_made * int(replicates),
        "max_runs": int(max_runs),
        "executed_on": description,
        "seconds": round(seconds, 3),
        "package_version": package_version(),
        "git_commit": git_commit(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    result = AttributionResult(table, capacity, totals, manifest)
    if out is not None:
        result.write(out)
    return result
