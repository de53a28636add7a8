"""Adapter to the EMA Workbench (exploratory modelling and analysis): the model in XLRM terms.

``as_ema_model(scenario)`` returns an ``ema_workbench`` model whose uncertainties (X) and levers
(L) are the scenario's sweepable parameters with their ranges, and whose outcomes (M) are the
scalar outcomes of a run, so that researchers can use the Workbench's samplers, evaluators,
optimisers and PRIM scenario discovery::

    from ema_workbench import SequentialEvaluator, perform_experiments
    from model.experiments.ema import as_ema_model

    ema_model = as_ema_model(load_scenario("scenarios/baseline.toml"), population_scale=0.1)
    with SequentialEvaluator(ema_model) as evaluator:
        experiments, outcomes = perform_experiments(ema_model, scenarios=50, policies=4,
                                                    evaluator=evaluator)

Needs the optional extra ``ema`` (``pip install 'shaoguan-poverty-abm[ema]'``). Parameters keep
their dotted names (``dynamics.job_finding_rate``). Every experiment runs with the seed of
replicate 0 of an ensemble of ``seed`` (common random numbers), or, with ``replicates > 1``, the
seeds of replicates ``0..R-1`` and each outcome is their mean (so a 0/1 outcome becomes the
probability of meeting the target).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class EMAFunction:
    """The model as the keyword-argument function the Workbench calls (picklable).

    Attributes:
        scenario: The scenario's JSON dump.
        population_scale: Share of every count to simulate.
        seed: Root seed of the replicates.
        integer: Names of parameters that take whole numbers.
    """

    scenario: str
    population_scale: float
    seed: int
    integer: tuple[str, ...] = ()

    def __call__(self, replicate: int = 0, **values: float) -> dict[str, float]:
        """Run the scenario with these parameter values; its scalar outcomes."""
        from model.experiments.sweep import ModelEvaluator

        evaluate = ModelEvaluator(self.scenario, self.population_scale, self.seed, self.integer)
        return evaluate(dict(values), int(replicate))


def as_ema_model(
    scenario: Any,
    population_scale: float = 1.0,
    seed: int = 0,
    replicates: int = 1,
    outcomes: Sequence[str] | None = None,
    params: Sequence[str] | None = None,
) -> Any:
    """The scenario as an ``ema_workbench`` model.

    Args:
        scenario: A validated scenario.
        population_scale: Share of every count to simulate in each experiment.
        seed: Root seed; replicate ``r`` uses the seed of replicate ``r`` of an ensemble.
        replicates: Replicates per experiment; with more than one the model is a
            ``ReplicatorModel`` and each outcome is the mean over replicates.
        outcomes: Outcome names (default: every scalar outcome of a run).
        params: Dotted paths or patterns limiting the parameters (default: all with a range).

    Returns:
        An ``ema_workbench.Model`` (or ``ReplicatorModel``) with uncertainties, levers and
        outcomes set.

    Raises:
        ImportError: The ``ema`` extra is not installed.
        ValueError: An unknown parameter or outcome.
    """
    try:
        import ema_workbench as ema
    except ImportError as err:
        raise ImportError(
            "model.experiments.ema needs the EMA Workbench: pip install 'shaoguan-poverty-abm[ema]'"
        ) from err
    from model.engine.scenario import sweepable_parameters
    from model.experiments.sweep import available_outcomes, resolve_outcome, sweep_problem

    problem = sweep_problem(scenario, params)
    table = sweepable_parameters(scenario)
    known = available_outcomes(scenario)
    names = list(outcomes) if outcomes else known
    for name in names:
        if resolve_outcome(name, known)[1]:
            raise ValueError(
                f"outcome {name}: the Workbench model returns run outcomes; use replicates > 1 "
                f"and the 0/1 outcome {resolve_outcome(name, known)[0]!r} for a probability"
            )
    function = EMAFunction(
        scenario=json.dumps(scenario.model_dump(mode="json")),
        population_scale=float(population_scale),
        seed=int(seed),
        integer=tuple(n for n, i in zip(problem.names, problem.integer, strict=True) if i),
    )
    label = re.sub(r"[^A-Za-z0-9]", "", scenario.name) or "scenario"
    if replicates > 1:
        model = ema.ReplicatorModel(label, function=function)
        model.replications = [{"replicate": r} for r in range(replicates)]
        model.outcomes = [ema.ScalarOutcome(n, function=np.mean) for n in names]
    else:
        model = ema.Model(label, function=function)
        model.outcomes = [ema.ScalarOutcome(n) for n in names]
    uncertainties, levers = [], []
    for name, (low, high), integer in zip(
        problem.names, problem.bounds, problem.integer, strict=True
    ):
        default = table[name]["default"]
        default = default if low <= default <= high else None
        if integer:
            parameter = ema.IntegerParameter(
                name, int(np.ceil(low)), int(np.floor(high)), default=default
            )
        else:
            parameter = ema.RealParameter(name, low, high, default=default)
        (levers if table[name]["kind"] == "lever" else uncertainties).append(parameter)
    model.uncertainties = uncertainties
    model.levers = levers
    return model
