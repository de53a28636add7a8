import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.experiments.sweep import (
    ModelEvaluator,
    Problem,
    check_samples,
    resolve_outcome,
    run_count,
    sweep,
    sweep_problem,
)

SCALE = 0.02


def ishigami(values, replicate=0):
    """sin x1 + 7 sin^2 x2 + 0.1 x3^4 sin x1, x_i uniform on [-pi, pi]."""
    x1, x2, x3 = values["x1"], values["x2"], values["x3"]
    return {"y": math.sin(x1) + 7 * math.sin(x2) ** 2 + 0.1 * x3**4 * math.sin(x1)}


def ishigami_analytic(a=7.0, b=0.1):
    """First-order and total indices from the variance decomposition (Ishigami & Homma 1990)."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return {"x1": (v1 / v, (v1 + v13) / v), "x2": (v2 / v, v2 / v), "x3": (0.0, v13 / v)}


def linear(values, replicate=0):
    return {"y": 2.0 * values["a"] - 3.0 * values["b"] + 0.0 * values["c"]}


def test_sobol_on_ishigami_recovers_the_analytic_indices(tmp_path):
    problem = Problem(names=("x1", "x2", "x3"), bounds=((-math.pi, math.pi),) * 3)
    result = sweep(
        ishigami, problem, "sobol", samples=1024, outcomes=["y"], seed=2, workers=1, out=tmp_path
    )
    assert result.manifest["runs"] == 1024 * 5
    s = result.sensitivity.set_index("parameter")
    # analytic values: S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244
    for name, (s1, st) in ishigami_analytic().items():
        assert s.loc[name, "S1"] == pytest.approx(s1, abs=0.05)
        assert s.loc[name, "ST"] == pytest.approx(st, abs=0.05)
        assert 0 < s.loc[name, "ST_conf"] < 0.1
    assert result.top("y") == ["x1", "x2", "x3"]
    csv = pd.read_csv(tmp_path / "sensitivity.csv")
    assert list(csv.columns) == ["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert (tmp_path / "sensitivity.png").stat().st_size > 0


def test_morris_on_a_linear_function_gives_its_coefficients():
    # A linear function's elementary effects are its coefficients (in units of each range,
    # here [0, 1]) wherever they are measured: mu* = |a_i|, sigma = 0.
    problem = Problem(names=("a", "b", "c"), bounds=((0.0, 1.0),) * 3)
    result = sweep(linear, problem, "morris", samples=6, outcomes=["y"], seed=1, workers=1)
    m = result.sensitivity.set_index("parameter")
    assert list(result.sensitivity.columns) == [
        "outcome",
        "parameter",
        "mu_star",
        "mu_star_conf",
        "sigma",
    ]
    assert m["mu_star"].to_list() == pytest.approx([2.0, 3.0, 0.0])
    assert m["sigma"].to_list() == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)
    assert len(result.points) == 6 * 4


def test_sample_sizes_are_checked():
    check_samples("sobol", 64)
    for bad in (0, 1, 3, 48, 100):
        with pytest.raises(ValueError, match="power of two"):
            check_samples("sobol", bad)
    with pytest.raises(ValueError, match="at least 2"):
        check_samples("morris", 1)
    with pytest.raises(ValueError, match="sobol, morris"):
        check_samples("fast", 8)


def test_problem_comes_from_the_scenario(baseline):
    from model.engine.scenario import sweepable_parameters, validate_scenario

    table = sweepable_parameters(baseline)
    everything = sweep_problem(baseline)
    assert everything.names == tuple(table)
    some = sweep_problem(baseline, ["dynamics.job*", "social_security.enrolment_rate"])
    assert some.names == (
        "dynamics.job_finding_rate",
        "dynamics.job_loss_rate",
        "social_security.enrolment_rate",
    )
    assert some.bounds[0] == (table["dynamics.job_finding_rate"]["low"], 0.03)
    assert sweep_problem(baseline, ["dynamics.illness_months"]).integer == (True,)
    # a scenario's [ranges] table narrows a range
    data = baseline.model_dump(mode="json")
    data["ranges"] = {"dynamics.job_finding_rate": [0.004, 0.005]}
    narrowed = sweep_problem(validate_scenario(data), ["dynamics.job_finding_rate"])
    assert narrowed.bounds == ((0.004, 0.005),)
    with pytest.raises(ValueError, match="--param nope"):
        sweep_problem(baseline, ["nope"])
    assert run_count(some, "sobol", 8) == 8 * 5
    assert run_count(some, "morris", 8, replicates=3) == 8 * 4 * 3


def test_outcome_names():
    known = ["cumulative_exited_people_2018", "target_met_2018", "all_targets_met"]
    assert resolve_outcome("cumulative_exited_people_2018", known) == (
        "cumulative_exited_people_2018",
        False,
    )
    assert resolve_outcome("prob_all_targets", known) == ("all_targets_met", True)
    assert resolve_outcome("prob_target_met_2018", known) == ("target_met_2018", True)
    with pytest.raises(ValueError, match="--outcome nope"):
        resolve_outcome("nope", known)


def test_probability_outcome_is_the_share_of_replicates(tmp_path):
    def coin(values, replicate):
        return {"met": float(replicate < 2)}  # 2 of 4 replicates

    problem = Problem(names=("a", "b"), bounds=((0.0, 1.0),) * 2)
    result = sweep(
        coin, problem, "morris", samples=2, outcomes=["prob_met"], replicates=4, workers=1
    )
    assert result.points["prob_met"].to_list() == [0.5] * len(result.points)


@dataclass(frozen=True)
class CountingEvaluator:
    """The real model evaluator, recording every completed run once (O_EXCL: a second
    computation of the same run fails), and raising KeyboardInterrupt at the n-th call while
    ``stop_file`` exists."""

    inner: ModelEvaluator
    folder: str
    stop_file: str
    stop_at: int

    def __call__(self, values, replicate):
        folder = Path(self.folder)
        if os.path.exists(self.stop_file) and len(list(folder.iterdir())) == self.stop_at:
            os.remove(self.stop_file)
            raise KeyboardInterrupt
        outcomes = self.inner(values, replicate)
        name = json.dumps([values, replicate], sort_keys=True).encode().hex()[:200]
        os.close(os.open(folder / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return outcomes


def test_interrupted_sweep_resumed_equals_uninterrupted_and_runs_each_run_once(baseline, tmp_path):
    problem = sweep_problem(baseline, ["dynamics.job_finding_rate", "dynamics.illness_months"])
    inner = ModelEvaluator(
        scenario=json.dumps(baseline.model_dump(mode="json")),
        population_scale=SCALE,
        seed=5,
        integer=("dynamics.illness_months",),
    )
    outcomes = ["cumulative_exited_people_2018", "cost_per_sustained_exit"]
    n_runs = run_count(problem, "sobol", 2)  # 2 x (2 + 2) = 8

    def evaluator(name, stop_at):
        folder = tmp_path / f"count-{name}"
        folder.mkdir()
        stop = tmp_path / f"stop-{name}"
        stop.touch()
        return CountingEvaluator(inner, str(folder), str(stop), stop_at), folder

    whole_ev, whole_count = evaluator("whole", stop_at=-1)
    whole = sweep(whole_ev, problem, "sobol", 2, outcomes, seed=5, workers=1, out=tmp_path / "w")
    assert len(list(whole_count.iterdir())) == n_runs

    cut_ev, cut_count = evaluator("cut", stop_at=5)
    with pytest.raises(KeyboardInterrupt):
        sweep(cut_ev, problem, "sobol", 2, outcomes, seed=5, workers=1, out=tmp_path / "c")
    assert len(list(cut_count.iterdir())) == 5
    resumed = sweep(
        cut_ev, problem, "sobol", 2, outcomes, seed=5, workers=1, out=tmp_path / "c", resume=True
    )
    # every run computed exactly once over the two sessions (a repeat would fail O_EXCL)
    assert len(list(cut_count.iterdir())) == n_runs
    assert resumed.manifest["runs_resumed"] == 5
    assert resumed.manifest["runs_computed"] == n_runs - 5
    pd.testing.assert_frame_equal(resumed.sensitivity, whole.sensitivity)
    pd.testing.assert_frame_equal(resumed.points, whole.points)
    assert np.isfinite(whole.sensitivity["ST"]).all()
