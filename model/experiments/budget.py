"""Tools for budget officers: allocations side by side, and the allocation optimiser.

Every allocation is run with the same replicate seeds (common random numbers), so differences
between allocations are the allocations' doing, not noise. The seeds are an ensemble's
(:func:`model.experiments.ensemble.replicate_seeds`): replicate ``r`` runs with the seed of
replicate ``r`` of an ensemble of the same root seed. With ``parameters="prior"`` (or a
posterior) replicate ``r`` also runs with the parameter draw of replicate ``r`` of such an
ensemble (:func:`model.experiments.ensemble.plan_replicates`), the same for every allocation;
levers, the allocation among them, are never drawn.

Each tool opens one :class:`~model.execution.Executor` (or uses the open one it is given) and
runs every allocation, candidate or budget on it, so a pool of workers starts once per call, not
once per allocation. Results are identical whatever the number of workers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from model.engine.funding import SPECIAL_USES, check_shares
from model.engine.kernels import many_runs
from model.engine.scenario import apply_overrides
from model.experiments.ensemble import (  # noqa: F401 - replicate_seeds is the tools' seed rule
    binomial_interval,
    plan_replicates,
    replicate_seeds,
)
from model.experiments.execution import Executor, given_or_own_executor

#: Percentiles of cumulative exits over replicates shown beside their mean (a 90% range).
EXIT_PERCENTILES = (5, 95)

#: Confidence level of the Wilson interval of every probability.
CONFIDENCE = 0.95


class AllocationError(ValueError):
    """An allocation string or mapping that is not a valid special-fund allocation."""


def parse_allocation(text: str) -> dict[str, float]:
    """Parse ``"industry=0.4,employment=0.3,..."``: a share for every special-fund use.

    Raises:
        AllocationError: Naming the allocation, what was expected and what was found.
    """
    shares: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise AllocationError(f"--allocation {text}: expected USE=SHARE, found {part!r}")
        use, raw = (s.strip() for s in part.split("=", 1))
        try:
            value = float(raw)
        except ValueError:
            raise AllocationError(
                f"--allocation {text}: {use}: expected a number, found {raw!r}"
            ) from None
        if use in shares:
            raise AllocationError(f"--allocation {text}: {use} given twice")
        shares[use] = value
    return validate_allocation(shares, label=f"--allocation {text}")


def validate_allocation(shares: dict[str, float], label: str = "allocation") -> dict[str, float]:
    """A complete allocation over :data:`SPECIAL_USES`, or AllocationError.

    Every use of the special fund must be given a share (0 for none): a use left out is an
    error, not a silent 0.
    """
    try:
        check_shares(shares, SPECIAL_USES, label, complete=True)
    except ValueError as err:
        raise AllocationError(str(err)) from None
    if any(not math.isfinite(v) for v in shares.values()):
        raise AllocationError(f"{label}: expected finite shares, found {shares}")
    return {use: float(shares.get(use, 0.0)) for use in SPECIAL_USES}


def _run_one(payload: tuple) -> dict[str, float]:
    """Task: the scalar outcomes of one run.

    Args:
        payload: Scenario JSON text, seed, population scale, the drawn parameter values
            (``{dotted path: value}``) to run the scenario with or None, and whether to load
            the compiled kernels first (the same results, cheaper over many runs).
    """
    from model.experiments.ensemble import scenario_from_json
    from model.results.recording import run_for_outcomes

    text, seed, scale, drawn, load_kernels = payload
    scenario = scenario_from_json(text)
    if drawn:
        scenario = apply_overrides(scenario, drawn)
    return run_for_outcomes(scenario, seed, scale, load_kernels=load_kernels)[0]


def run_replicates(
    scenario: Any,
    seeds: Sequence[int],
    population_scale: float,
    workers: int = 1,
    *,
    executor: Executor | None = None,
    draws: Sequence[dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Outcomes of one scenario for each seed (one row per replicate, in seed order).

    Args:
        scenario: A validated scenario.
        seeds: One run per seed.
        population_scale: Share of every count to simulate, in (0, 1].
        workers: Local worker processes (1 runs in this process).
        executor: An open :class:`~model.execution.Executor` to run on (then ``workers`` is
            ignored and the executor is left open).
        draws: Parameter values for each seed's run (``{dotted path: value}``, e.g.
            :meth:`model.experiments.ensemble.ReplicatePlan.overrides`); None runs the scenario
            as it is.

    Returns:
        A ``replicate`` column (0, 1, ...) and the run's scalar outcomes
        (:meth:`model.results.outputs.RunResult.outcomes`).
    """
    text = json.dumps(scenario.model_dump(mode="json"))
    if draws is not None and len(draws) != len(seeds):
        raise ValueError(f"draws: expected one per seed ({len(seeds)}), found {len(draws)}")
    load = many_runs(len(seeds))
    payloads = [
        (text, int(s), float(population_scale), None if draws is None else dict(draws[k]), load)
        for k, s in enumerate(seeds)
    ]
    with given_or_own_executor(executor, workers) as ex:
        rows = ex.map(_run_one, payloads)
    out = pd.DataFrame(rows)
    out.insert(0, "replicate", range(len(rows)))
    return out


def _probability(met: pd.Series) -> tuple[float, float, float]:
    """Share of replicates meeting a target (1/0 per replicate) and its Wilson interval."""
    low, high = binomial_interval(int(met.sum()), int(met.count()), CONFIDENCE)
    return float(met.mean()), low, high


def summarise(outcomes: pd.DataFrame, years: Sequence[int]) -> dict[str, float]:
    """Exits per year, probability of meeting each target and all, spend, cost per exit.

    Args:
        outcomes: One row per replicate (:func:`run_replicates`).
        years: The plan years (those of the scenario's targets).

    Returns:
        For each year ``y``: ``exits_y`` (mean cumulative exits over replicates) with
        ``exits_y_p5`` and ``exits_y_p95`` (their 5th and 95th percentiles, numpy's linear
        interpolation), and ``p_target_y`` (share of replicates meeting the year's target) with
        ``p_target_y_low`` and ``p_target_y_high`` (95% Wilson interval). Then
        ``p_all_targets`` with its interval, and the means of ``total_spend`` and
        ``cost_per_sustained_exit``.
    """
    row: dict[str, float] = {}
    for y in years:
        exits = outcomes[f"cumulative_exited_people_{y}"]
        row[f"exits_{y}"] = float(exits.mean())
        p5, p95 = np.percentile(exits.to_numpy(dtype=float), EXIT_PERCENTILES)
        row[f"exits_{y}_p5"], row[f"exits_{y}_p95"] = float(p5), float(p95)
        if f"target_met_{y}" in outcomes:
            p, low, high = _probability(outcomes[f"target_met_{y}"])
            row[f"p_target_{y}"], row[f"p_target_{y}_low"], row[f"p_target_{y}_high"] = p, low, high
    p, low, high = _probability(outcomes["all_targets_met"])
    row["p_all_targets"], row["p_all_targets_low"], row["p_all_targets_high"] = p, low, high
    row["total_spend"] = float(outcomes["total_spend"].mean())
    row["cost_per_sustained_exit"] = float(outcomes["cost_per_sustained_exit"].mean())
    return row


def compare_allocations(
    scenario: Any,
    allocations: Sequence[dict[str, float]],
    replicates: int = 10,
    seed: int = 1,
    population_scale: float = 0.1,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    *,
    executor: Executor | None = None,
    parameters: Any = None,
) -> pd.DataFrame:
    """Run the scenario under each allocation with common random numbers.

    Args:
        scenario: A validated scenario.
        allocations: Special-fund allocations (use -> share, for every use).
        replicates: Runs per allocation, on the same seeds for every allocation.
        seed: Root seed of the replicate seeds.
        population_scale: Share of every count to simulate, in (0, 1].
        workers: Local worker processes (1 runs in this process).
        progress: Called with ``(allocations done, allocations)`` after each allocation.
        executor: An open :class:`~model.execution.Executor` to run on (then ``workers`` is
            ignored and the executor is left open).
        parameters: None (the scenario's ``[forecast]`` source), ``"fixed"`` (the seeds alone
            vary), ``"prior"`` or a posterior (see
            :func:`model.experiments.ensemble.run_ensemble`); every allocation gets the same
            draws.

    Returns:
        One row per allocation: its shares; per plan year the mean cumulative exits with their
        5th-95th percentile range over replicates (``exits_y``, ``exits_y_p5``,
        ``exits_y_p95``) and the probability of meeting the target with its 95% Wilson interval
        (``p_target_y``, ``p_target_y_low``, ``p_target_y_high``); the same for all targets
        (``p_all_targets``...); mean total spend (yuan) and mean cost per sustained exit (yuan
        per person still out of poverty at the horizon). See :func:`summarise`. Last, the
        ``parameters`` source the probabilities come from (``fixed``: seeds only).
    """
    plan = plan_replicates(scenario, replicates, seed, parameters)
    draws = _draws(plan)
    years = sorted(scenario.targets.cumulative_people)
    rows = []
    with given_or_own_executor(executor, workers) as ex:
        for i, alloc in enumerate(allocations):
            s = apply_overrides(scenario, {"funding.allocation": validate_allocation(alloc)})
            outcomes = run_replicates(s, plan.seeds, population_scale, executor=ex, draws=draws)
            rows.append(
                {
                    "allocation": format_allocation(alloc),
                    **alloc,
                    **summarise(outcomes, years),
                    "parameters": plan.source.kind,
                }
            )
            if progress:
                progress(i + 1, len(allocations))
    return pd.DataFrame(rows)


def _draws(plan: Any) -> list[dict[str, Any]] | None:
    """Each replicate's drawn parameter values, or None when the parameters are fixed."""
    if not plan.source.drawn:
        return None
    return [plan.overrides(r) for r in range(len(plan.seeds))]


def format_allocation(alloc: dict[str, float]) -> str:
    """``industry=0.40,employment=0.25,...`` (uses with a zero share left out)."""
    return ",".join(f"{u}={alloc.get(u, 0):.2f}" for u in SPECIAL_USES if alloc.get(u, 0) > 0)


def _simplex(z: np.ndarray) -> np.ndarray:
    """Softmax: any real vector to shares summing to 1."""
    e = np.exp(z - z.max())
    return e / e.sum()


@dataclass
class OptimisationResult:
    """The best allocation found, its probability and cost, against the starting allocation.

    ``parameters`` is the source of the parameters the probabilities come from (``fixed``:
    seeds only; ``prior`` or ``posterior``: seeds and parameter draws).
    """

    allocation: dict[str, float]
    probability: float
    mean_exits_last_year: float
    cost_per_sustained_exit: float
    baseline_allocation: dict[str, float]
    baseline_probability: float
    baseline_mean_exits_last_year: float
    baseline_cost_per_sustained_exit: float
    evaluations: int
    history: list[dict[str, float]] = field(default_factory=list)
    parameters: str = "fixed"

    def table(self) -> pd.DataFrame:
        """The optimum and the baseline side by side."""
        rows = []
        for name, alloc, p, exits, cost in (
            (
                "baseline",
                self.baseline_allocation,
                self.baseline_probability,
                self.baseline_mean_exits_last_year,
                self.baseline_cost_per_sustained_exit,
            ),
            (
                "optimised",
                self.allocation,
                self.probability,
                self.mean_exits_last_year,
                self.cost_per_sustained_exit,
            ),
        ):
            rows.append(
                {
                    "allocation": name,
                    **{u: round(alloc[u], 3) for u in SPECIAL_USES},
                    "p_all_targets": p,
                    "mean_exits_last_target_year": exits,
                    "cost_per_sustained_exit": cost,
                }
            )
        return pd.DataFrame(rows)


def optimize_allocation(
    scenario: Any,
    replicates: int = 8,
    seed: int = 1,
    population_scale: float = 0.05,
    maxiter: int = 40,
    workers: int = 1,
    *,
    executor: Executor | None = None,
    parameters: Any = None,
) -> OptimisationResult:
    """Find the special-fund allocation that maximises the probability of meeting all targets.

    The allocation lives on the simplex (shares >= 0 summing to 1), searched through a softmax
    parametrisation with scipy's Nelder-Mead, starting from the scenario's own allocation. The
    probability is estimated on common random numbers (the same ``replicates`` seeds for every
    candidate); mean exits in the last target year break ties between allocations with the same
    probability, so the search has a slope to follow. The best allocation evaluated is returned,
    so the result is never worse than the starting allocation on these seeds.

    Args:
        scenario: A validated scenario; its allocation is the starting point.
        replicates: Runs per candidate allocation, on the same seeds for every candidate.
        seed: Root seed of the replicate seeds.
        population_scale: Share of every count to simulate, in (0, 1].
        maxiter: Most candidate evaluations of the search.
        workers: Local worker processes (1 runs in this process).
        executor: An open :class:`~model.execution.Executor` to run every candidate on (then
            ``workers`` is ignored and the executor is left open).
        parameters: None (the scenario's ``[forecast]`` source), ``"fixed"``, ``"prior"`` or a
            posterior; every candidate runs with the
            same parameter draws.
    """
    from scipy.optimize import minimize

    plan = plan_replicates(scenario, replicates, seed, parameters)
    seeds, draws = plan.seeds, _draws(plan)
    last = max(scenario.targets.cumulative_people)
    target = scenario.targets.cumulative_people[last] * population_scale
    history: list[dict[str, float]] = []
    cache: dict[tuple, tuple[float, float, float]] = {}

    def evaluate(alloc: dict[str, float]) -> tuple[float, float, float]:
        key = tuple(round(alloc[u], 6) for u in SPECIAL_USES)
        if key not in cache:
            s = apply_overrides(scenario, {"funding.allocation": alloc})
            out = run_replicates(s, seeds, population_scale, executor=ex, draws=draws)
            cache[key] = (
                float(out["all_targets_met"].mean()),
                float(out[f"cumulative_exited_people_{last}"].mean()),
                float(out["cost_per_sustained_exit"].mean()),
            )
            history.append({**alloc, "p_all_targets": cache[key][0], "exits": cache[key][1]})
        return cache[key]

    def objective(z: np.ndarray) -> float:
        shares = _simplex(z)
        alloc = dict(zip(SPECIAL_USES, (float(x) for x in shares), strict=True))
        p, exits, _ = evaluate(alloc)
        return -(p + 0.5 * exits / max(target, 1.0))

    start = validate_allocation(dict(scenario.funding.allocation))
    z0 = np.log(np.maximum([start[u] for u in SPECIAL_USES], 1e-3))
    with given_or_own_executor(executor, workers) as ex:
        base = evaluate(start)
        # a wide first simplex: each use's weight multiplied by e in turn
        simplex = np.vstack([z0, z0 + np.eye(len(z0))])
        minimize(
            objective,
            z0,
            method="Nelder-Mead",
            options={"maxfev": maxiter, "xatol": 1e-2, "initial_simplex": simplex},
        )
        best = max(history, key=lambda h: (h["p_all_targets"], h["exits"]))
        best_alloc = {u: best[u] for u in SPECIAL_USES}
        p, exits, cost = evaluate(best_alloc)
    return OptimisationResult(
        allocation=best_alloc,
        probability=p,
        mean_exits_last_year=exits,
        cost_per_sustained_exit=cost,
        baseline_allocation=start,
        baseline_probability=base[0],
        baseline_mean_exits_last_year=base[1],
        baseline_cost_per_sustained_exit=base[2],
        evaluations=len(history),
        history=history,
        parameters=plan.source.kind,
    )


def smallest_budget(
    scenario: Any,
    probability: float = 0.8,
    replicates: int = 8,
    seed: int = 1,
    population_scale: float = 0.05,
    high_per_person: float = 60_000.0,
    tolerance: float = 500.0,
    workers: int = 1,
    *,
    executor: Executor | None = None,
    parameters: Any = None,
) -> tuple[float | None, float]:
    """Smallest special fund per labour-capable person meeting all targets with ``probability``.

    Bisection on ``funding.special_fund_per_person`` with the scenario's allocation (the
    probability rises with the budget on common random numbers, up to noise). Returns the budget
    per person (None when even ``high_per_person`` falls short) and its probability.

    Args:
        scenario: A validated scenario.
        probability: The probability of meeting all targets to reach.
        replicates: Runs per budget, on the same seeds for every budget.
        seed: Root seed of the replicate seeds.
        population_scale: Share of every count to simulate, in (0, 1].
        high_per_person: Upper end of the search (yuan per labour-capable person).
        tolerance: Width of the final bracket (yuan per person).
        workers: Local worker processes (1 runs in this process).
        executor: An open :class:`~model.execution.Executor` to run every budget on (then
            ``workers`` is ignored and the executor is left open).
        parameters: None (the scenario's ``[forecast]`` source), ``"fixed"``, ``"prior"`` or a
            posterior; every budget runs with the same
            parameter draws.
    """
    plan = plan_replicates(scenario, replicates, seed, parameters)
    seeds, draws = plan.seeds, _draws(plan)
    cache: dict[float, float] = {}

    def prob(per_person: float) -> float:
        if per_person not in cache:
            s = apply_overrides(scenario, {"funding.special_fund_per_person": per_person})
            out = run_replicates(s, seeds, population_scale, executor=ex, draws=draws)
            cache[per_person] = float(out["all_targets_met"].mean())
        return cache[per_person]

    with given_or_own_executor(executor, workers) as ex:
        p_high = prob(high_per_person)
        if p_high < probability:
            return None, p_high
        low, high = 0.0, high_per_person
        if prob(low) >= probability:
            return 0.0, prob(low)
        while high - low > tolerance:
            mid = (low + high) / 2
            if prob(mid) >= probability:
                high, p_high = mid, prob(mid)
            else:
                low = mid
        return high, p_high
