"""Scenario comparison: ensembles of several scenarios on the same seeds (common random numbers).

Replicate ``r`` of every scenario runs with the same seed and, when parameters are drawn
(``parameters="prior"`` or a posterior), with the same parameter draw, so differences between
scenarios come from the scenarios, not from luck. The comparison table has one row per
scenario: the probability of meeting each year's target and all of them (with 95% Wilson
intervals), the median cumulative exits and villages exited per year, the median total spend,
cost per exit and cost per sustained exit, and the parameter source the probabilities come from.

Example:
    >>> cmp = compare_scenarios([baseline, variant], replicates=50, seed=1, population_scale=0.1)
    >>> cmp.table
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from model.experiments.ensemble import EnsembleResult, run_ensemble
from model.experiments.execution import (
    Executor,
    atomic_savefig,
    atomic_to_csv,
    atomic_write_json,
    given_or_own_executor,
)

#: Scalar outcomes whose medians the comparison reports (``<name>_<year>`` or ``<name>``).
MEDIAN_OUTCOMES = ("cumulative_exited_people", "villages_exited")
MEDIAN_COSTS = ("total_spend", "cost_per_exit", "cost_per_sustained_exit")


def unique_labels(names: Sequence[str]) -> list[str]:
    """Scenario names made unique (``baseline``, ``baseline-2``, ...), usable as folder names."""
    seen: dict[str, int] = {}
    labels = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        labels.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return labels


def comparison_row(label: str, ensemble: EnsembleResult) -> dict[str, Any]:
    """One scenario's row of the comparison table."""
    row: dict[str, Any] = {
        "scenario": label,
        "replicates": int(ensemble.manifest["replicates"]),
        "parameters": ensemble.parameters,
    }
    for _, p in ensemble.probabilities.iterrows():
        key = f"prob_met_{p['year']}"
        row[key] = float(p["probability_met"])
        row[f"{key}_ci_low"] = float(p["ci_low"])
        row[f"{key}_ci_high"] = float(p["ci_high"])
    pattern = re.compile(rf"^({'|'.join(MEDIAN_OUTCOMES)})_(\d{{4}})$")
    for column in ensemble.outcomes.columns:
        if pattern.match(column):
            row[f"median_{column}"] = ensemble.median(column)
    for name in MEDIAN_COSTS:
        if name in ensemble.outcomes.columns:
            row[f"median_{name}"] = ensemble.median(name)
    return row


@dataclass
class Comparison:
    """Ensembles of several scenarios on the same seeds.

    Attributes:
        table: One row per scenario (see :func:`comparison_row`).
        ensembles: Each scenario's ensemble, by label.
        manifest: Seed, replicates, population scale, scenarios, versions.
    """

    table: pd.DataFrame
    ensembles: dict[str, EnsembleResult]
    manifest: dict[str, Any] = field(default_factory=dict)

    def write(self, folder: str | Path) -> Path:
        """Write ``comparison.csv``, ``comparison.png`` and ``manifest.json`` into ``folder``."""
        from model.reporting.figures import target_probabilities_by_scenario

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        atomic_to_csv(self.table, out / "comparison.csv")
        first = next(iter(self.ensembles.values()), None)
        targets = None
        if first is not None:
            p = first.probabilities
            p = p[p["year"].map(lambda y: str(y).isdigit())]
            targets = dict(
                zip(p["year"].astype(int), p["target_cumulative_people"].astype(float), strict=True)
            )
        fig = target_probabilities_by_scenario(self.table, targets)
        atomic_savefig(fig, out / "comparison.png")
        manifest = dict(self.manifest, written_utc=datetime.now(UTC).isoformat(timespec="seconds"))
        atomic_write_json(manifest, out / "manifest.json")
        return out


def compare_scenarios(
    scenarios: Sequence[Any],
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
) -> Comparison:
    """Run an ensemble of every scenario with the same replicate seeds and tabulate them.

    Args:
        scenarios: Validated scenarios (or paths to scenario files).
        replicates: Replicates per scenario.
        seed: Root seed shared by every scenario.
        workers: Local worker processes (default: the number of cores).
        scheduler: ``tcp://HOST:PORT`` of a Dask scheduler.
        population_scale: Share of every count to simulate, in (0, 1].
        out: Folder for ``comparison.csv``, ``comparison.png``, ``manifest.json`` and one
            ensemble folder per scenario (``out/<scenario>/``).
        resume: Keep the runs of an interrupted comparison in ``out``.
        progress: Show progress bars.
        confidence: Confidence level of the probability intervals.
        executor: An open :class:`~model.execution.Executor` to reuse.
        parameters: None (default: the source the scenarios' ``[forecast]`` tables name,
            refused if they differ), ``"fixed"`` (the seeds alone vary), ``"prior"`` or a
            posterior (see :func:`~model.experiments.ensemble.run_ensemble`); every scenario
            gets the same draws.
        seeds_per_draw: Seeds run with each parameter draw.

    Returns:
        The :class:`Comparison` (also written to ``out`` when given).

    Raises:
        ValueError: No scenario, bad sizes or an unknown parameter source.
        model.experiments.parameters.PosteriorError: A posterior that cannot be drawn from for
            one of the scenarios (checked for all before anything runs).
    """
    from model.engine.scenario import load_scenario
    from model.experiments.parameters import common_scenario_source, parameter_source
    from model.results.outputs import git_commit, package_version

    scenarios = [load_scenario(s) if isinstance(s, str | Path) else s for s in scenarios]
    if not scenarios:
        raise ValueError("compare: expected at least one scenario")
    source = (
        common_scenario_source(scenarios) if parameters is None else parameter_source(parameters)
    )
    for scenario in scenarios:
        source.check(scenario)
    labels = unique_labels([s.name for s in scenarios])
    ensembles: dict[str, EnsembleResult] = {}
    with given_or_own_executor(executor, workers, scheduler) as ex:
        for label, scenario in zip(labels, scenarios, strict=True):
            ensembles[label] = run_ensemble(
                scenario,
                replicates,
                seed,
                population_scale=population_scale,
                out=None if out is None else Path(out) / label,
                resume=resume,
                progress=progress,
                confidence=confidence,
                executor=ex,
                parameters=source,
                seeds_per_draw=seeds_per_draw,
            )
    table = pd.DataFrame([comparison_row(label, e) for label, e in ensembles.items()])
    comparison = Comparison(
        table=table,
        ensembles=ensembles,
        manifest={
            "kind": "comparison",
            "schema_version": 1,
            "scenarios": {label: e.manifest["scenario"] for label, e in ensembles.items()},
            "seed": int(seed),
            "replicates": int(replicates),
            "seed_rule": "replicate r of every scenario runs with child r of "
            "numpy.random.SeedSequence(seed) (common random numbers)",
            **source.manifest(),
            **({"seeds_per_draw": int(seeds_per_draw)} if source.drawn else {}),
            "parameter_rule": "replicate r of every scenario takes the same parameter draw "
            "(the draws depend only on the seed and r)",
            "population_scale": float(population_scale),
            "confidence": confidence,
            # the ensembles' own method (several seeds per draw: Wilson on effective replicates)
            "ci_method": next(iter(ensembles.values())).manifest["ci_method"],
            "package_version": package_version(),
            "git_commit": git_commit(),
            "executed_on": ex.description,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    if out is not None:
        comparison.write(out)
    return comparison
