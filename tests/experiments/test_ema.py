import json

import numpy as np
import pytest

ema_workbench = pytest.importorskip("ema_workbench")

from model.experiments.ema import as_ema_model  # noqa: E402
from model.experiments.sweep import ModelEvaluator  # noqa: E402

SCALE = 0.02
PARAMS = ["dynamics.job_finding_rate", "dynamics.illness_months", "social_security.enrolment_rate"]
OUTCOMES = ["cumulative_exited_people_2018", "all_targets_met", "cost_per_sustained_exit"]


def direct(baseline, values, replicate=0, seed=0):
    evaluate = ModelEvaluator(
        json.dumps(baseline.model_dump(mode="json")),
        SCALE,
        seed,
        integer=("dynamics.illness_months",),
    )
    return evaluate(values, replicate)


def test_ema_model_has_the_scenarios_uncertainties_levers_and_outcomes(baseline):
    model = as_ema_model(baseline, population_scale=SCALE, outcomes=OUTCOMES, params=PARAMS)
    uncertainties = {u.name: u for u in model.uncertainties}
    assert set(uncertainties) == {"dynamics.job_finding_rate", "dynamics.illness_months"}
    assert [lever.name for lever in model.levers] == ["social_security.enrolment_rate"]
    assert isinstance(uncertainties["dynamics.illness_months"], ema_workbench.IntegerParameter)
    assert (uncertainties["dynamics.job_finding_rate"].lower_bound,
            uncertainties["dynamics.job_finding_rate"].upper_bound) == (0.003, 0.03)  # fmt: skip
    assert [o.name for o in model.outcomes] == OUTCOMES


def test_ema_experiments_equal_direct_runs(baseline):
    from ema_workbench import SequentialEvaluator, perform_experiments

    model = as_ema_model(baseline, population_scale=SCALE, outcomes=OUTCOMES, params=PARAMS)
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = perform_experiments(
            model, scenarios=2, policies=2, evaluator=evaluator
        )
    assert len(experiments) == 4
    for i in (0, 3):
        values = {p: experiments[p].iloc[i] for p in PARAMS}
        expected = direct(baseline, values)
        for name in OUTCOMES:
            assert outcomes[name][i] == pytest.approx(expected[name])


def test_ema_replicator_model_averages_replicates(baseline):
    from ema_workbench import SequentialEvaluator, perform_experiments

    model = as_ema_model(
        baseline,
        population_scale=SCALE,
        replicates=2,
        outcomes=["cumulative_exited_people_2018"],
        params=["dynamics.job_finding_rate"],
    )
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = perform_experiments(model, scenarios=1, evaluator=evaluator)
    values = {"dynamics.job_finding_rate": experiments["dynamics.job_finding_rate"].iloc[0]}
    runs = [direct(baseline, values, r)["cumulative_exited_people_2018"] for r in (0, 1)]
    assert runs[0] != runs[1]
    assert outcomes["cumulative_exited_people_2018"][0] == pytest.approx(np.mean(runs))
