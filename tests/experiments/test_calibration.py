"""Calibration with pyabc: known parameters are recovered, a resumed calibration is the same.

The runs are small (population scale 0.01, three years, a few particles and generations) and
use the single-core sampler, so one seed gives the same posterior every time.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from model.engine.population import PopulationError
from model.engine.scenario import apply_overrides, load_scenario
from model.experiments.calibration import (
    CalibrationError,
    Simulator,
    calibrate,
    credible_interval,
    fitted_parameters,
    read_calibration,
    simulation_seed,
)
from model.results.observed import model_value
from model.results.recording import run
from tests.conftest import BASELINE

SCALE = 0.01
TRUTH = {"population.poor_income_mean_share": 0.62, "dynamics.job_finding_rate": 0.02}
METRICS = ("mean_per_capita_income_labour_capable", "cumulative_exited_people")
YEARS = (2016, 2017, 2018)


@pytest.fixture(scope="module")
def short():
    return load_scenario(BASELINE, ["calendar.end_year=2018"])


def synthetic_observations(scenario, folder, seed=99):
    """Observations simulated from the model at :data:`TRUTH` (a run of its own seed)."""
    truth = run(apply_overrides(scenario, TRUTH), seed=seed, population_scale=SCALE)
    rows = [
        {
            "scope": "shaoguan",
            "year": year,
            "metric": metric,
            "value": model_value(truth.annual, truth.by_party, None, metric, year, SCALE),
            "unit": "",
            "source": "simulated at known parameter values",
        }
        for metric in METRICS
        for year in YEARS
    ]
    path = folder / "synthetic.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_known_values_fall_inside_the_posterior_90_percent_interval(short, tmp_path):
    observed = synthetic_observations(short, tmp_path)
    result = calibrate(
        short,
        observed,
        tmp_path / "cal",
        params=list(TRUTH),
        population_scale=SCALE,
        particles=16,
        generations=3,
        predictive_draws=4,
        seed=3,
        figures=False,
    )
    prior = fitted_parameters(short, TRUTH)
    for name, value in TRUTH.items():
        low, high = credible_interval(result.posterior, name)
        assert low <= value <= high, (name, value, low, high)
    # the data rule out the slowest job finding: the posterior leaves the prior's lowest tenth
    # (with 0.003-0.0057 a month the labour-capable's 2018 income falls some 1,500 yuan short)
    name = "dynamics.job_finding_rate"
    low, _ = credible_interval(result.posterior, name)
    assert low > prior[name]["low"] + 0.1 * (prior[name]["high"] - prior[name]["low"])
    # the posterior file: a weight and one column per fitted parameter, by dotted path
    posterior = pd.read_parquet(tmp_path / "cal" / "posterior.parquet")
    assert list(posterior.columns) == ["weight", *TRUTH]
    assert len(posterior) == 16
    assert posterior["weight"].sum() == pytest.approx(1.0)
    manifest = json.loads((tmp_path / "cal" / "manifest.json").read_text())
    assert manifest["runs"] == int(result.generations["runs"].sum()) + 16  # + pyabc's prior sample
    assert set(manifest["acceptance_rate"]) == {"0", "1", "2"}


@pytest.mark.slow
def test_a_resumed_calibration_equals_one_run_straight_through(short, tmp_path):
    observed = synthetic_observations(short, tmp_path)
    settings = dict(
        params=["dynamics.job_finding_rate"],
        population_scale=SCALE,
        particles=6,
        predictive_draws=3,
        seed=5,
        figures=False,
    )
    straight = calibrate(short, observed, tmp_path / "straight", generations=2, **settings)
    calibrate(short, observed, tmp_path / "stopped", generations=1, **settings)
    resumed = calibrate(
        short, observed, tmp_path / "stopped", generations=2, resume=True, **settings
    )
    pd.testing.assert_frame_equal(straight.posterior, resumed.posterior)
    pd.testing.assert_frame_equal(straight.table, resumed.table)
    assert list(resumed.generations["generation"]) == [0, 1]
    assert read_calibration(tmp_path / "stopped").manifest["settings"]["generations_run"] == 2


def test_resume_refuses_other_settings(short, tmp_path):
    observed = synthetic_observations(short, tmp_path)
    settings = dict(params=["dynamics.job_finding_rate"], population_scale=SCALE, figures=False)
    calibrate(
        short, observed, tmp_path / "c", particles=4, generations=1, predictive_draws=2, **settings
    )
    with pytest.raises(CalibrationError, match="other settings .*particles"):
        calibrate(
            short, observed, tmp_path / "c", particles=5, generations=2, resume=True, **settings
        )


def test_a_scale_too_small_for_the_population_is_refused_before_anything_is_written(
    short, tmp_path
):
    observed = synthetic_observations(short, tmp_path)
    out = tmp_path / "c"
    with pytest.raises(PopulationError, match="expected a scale at which every group"):
        calibrate(short, observed, out, params=["dynamics.job_finding_rate"],
                  population_scale=1e-5, particles=4, generations=1, figures=False)  # fmt: skip
    assert not out.exists()


def test_a_run_seed_depends_on_the_seed_and_the_values_only():
    a = simulation_seed(1, {"x": 0.5, "y": 2.0})
    assert a == simulation_seed(1, {"y": 2.0, "x": 0.5})
    assert a != simulation_seed(2, {"x": 0.5, "y": 2.0})
    assert a != simulation_seed(1, {"x": 0.5000001, "y": 2.0})


def test_the_simulator_scales_counts_to_the_full_population(short):
    simulator = Simulator(
        scenario=short,
        parameters=fitted_parameters(short, ["dynamics.illness_months"]),
        observations=[
            ("a", None, "cumulative_exited_people", 2017),
            ("b", None, "mean_per_capita_income_labour_capable", 2017),
            ("c", "dongguan_villages", "villages", 2016),
        ],
        population_scale=SCALE,
        seed=1,
    )
    assert simulator.overrides({"dynamics.illness_months": 3.6}) == {"dynamics.illness_months": 4}
    stats = simulator.run({"dynamics.illness_months": 3.0}, seed=8)
    result = run(short, seed=8, population_scale=SCALE)
    annual = result.annual.set_index("year")
    assert stats["a"] == annual.loc[2017, "cumulative_exited_people"] / SCALE
    assert stats["b"] == annual.loc[2017, "mean_per_capita_income_labour_capable"]
    dongguan = result.by_party[(result.by_party["party"] == "dongguan")]
    assert stats["c"] == dongguan["villages"].iloc[0] / SCALE


def test_by_party_adds_up_to_the_poor_villages(short):
    result = run(short, seed=2, population_scale=0.02)
    for year, rows in result.by_party.groupby("year"):
        annual = result.annual.set_index("year").loc[year]
        assert rows["villages"].sum() == annual["villages_total"]
        assert rows["villages_exited"].sum() == annual["villages_exited"]
        assert (rows["cumulative_exited_people"] <= rows["registered_people"]).all()
    # incomes of the labour-capable in villages: a people-weighted mean inside the whole range
    r2018 = result.by_party[result.by_party["year"] == 2018]
    assert np.isfinite(r2018["mean_per_capita_income_labour_capable"]).all()


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["dynamics.nothing"], "found none by that name"),
        (["social_security.enrolment_rate"], "is a lever"),
        (["assessment.household_exit_share"], "found none by that name"),
    ],
)
def test_parameters_that_cannot_be_fitted_are_refused(short, names, message):
    with pytest.raises(CalibrationError, match=message):
        fitted_parameters(short, names)


def test_every_uncertainty_is_fitted_by_default(short):
    fitted = fitted_parameters(short)
    assert "dynamics.job_finding_rate" in fitted
    assert all(info["kind"] == "uncertainty" for info in fitted.values())


def test_a_run_without_a_value_for_an_observation_is_refused(short):
    # a year the runs do not reach gives no value: pyabc could never accept a particle
    simulator = Simulator(
        scenario=short,
        parameters=fitted_parameters(short, ["dynamics.job_finding_rate"]),
        observations=[("late", None, "villages_exited", 2019)],
        population_scale=SCALE,
        seed=1,
    )
    with pytest.raises(CalibrationError, match="late: the run has no value"):
        simulator({"dynamics.job_finding_rate": 0.01})


def test_calibrations_of_many_runs_load_the_compiled_kernels(short, tmp_path, monkeypatch):
    """At least MANY_RUNS runs: every worker loads the kernels first.

    A calibration runs at least particles x (generations + 1): a population a generation and
    pyabc's calibration sample of the adaptive distance.
    """
    import model.experiments.calibration as calibration
    from model.engine.kernels import MANY_RUNS

    class Built(Exception):
        pass

    made = []

    def simulator(**kwargs):
        made.append(kwargs["load_kernels"])
        raise Built  # the choice is made; the calibration itself is not needed

    monkeypatch.setattr(calibration, "Simulator", simulator)
    observed = synthetic_observations(short, tmp_path)
    assert MANY_RUNS == 16  # the cases below sit on either side of it
    for k, (particles, generations) in enumerate([(4, 2), (3, 4), (4, 3)]):
        with pytest.raises(Built):
            calibrate(
                short, observed, tmp_path / f"cal{k}", params=list(TRUTH),
                population_scale=SCALE, particles=particles, generations=generations,
            )  # fmt: skip
    assert made == [False, False, True]  # at least 12, 15, then 16 runs
