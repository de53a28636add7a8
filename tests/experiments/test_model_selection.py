"""Model choice with pyabc: a model that cannot reproduce the observations loses.

The runs are small (population scale 0.01, three years, a few particles and generations) and
use the single-core sampler, so one seed gives the same model probabilities every time. The
observations are simulated from the baseline at known parameter values
(:func:`tests.experiments.test_calibration.synthetic_observations`).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from model.engine.scenario import load_scenario
from model.experiments.calibration import CalibrationError, Simulator
from model.experiments.model_selection import (
    CLOSED_REGISTER,
    common_observations,
    model_parameters,
    select_model,
)
from model.results.observed import ObservedDataError, read_observed, statistic_key
from model.results.recording import run
from tests.conftest import BASELINE, SCENARIOS
from tests.experiments.test_calibration import SCALE, TRUTH, synthetic_observations

SHORT = ["calendar.end_year=2018"]


@pytest.fixture(scope="module")
def short():
    return load_scenario(BASELINE, SHORT)


@pytest.fixture(scope="module")
def without_measures():
    """The baseline without the plan's new measures: far fewer exits whatever job finding is."""
    return load_scenario(SCENARIOS / "no_new_measures.toml", SHORT)


@pytest.fixture(scope="module")
def with_register():
    """The baseline with the living register on (the other three mechanisms off)."""
    return load_scenario(BASELINE, [*SHORT, "name=with_register", "living_register.enabled=true"])


def observed_file(folder, rows):
    path = folder / "observed.csv"
    header = "scope,year,metric,value,unit,source\n"
    path.write_text(header + "".join(f"shaoguan,{y},{m},{v},people,x\n" for y, m, v in rows))
    return path


def test_the_model_that_reproduces_the_observations_wins(short, without_measures, tmp_path):
    observed = synthetic_observations(short, tmp_path)
    result = select_model(
        [short, without_measures],
        observed,
        tmp_path / "choice",
        params=list(TRUTH),
        population_scale=SCALE,
        particles=20,
        generations=2,
        seed=4,
    )
    p = result.probabilities
    assert list(p.columns) == ["generation", "model", "scenario", "probability"]
    assert sorted(set(p["generation"])) == [0, 1]
    for _, generation in p.groupby("generation"):
        assert list(generation["scenario"]) == ["baseline", "no_new_measures"]
        assert generation["probability"].sum() == pytest.approx(1.0)
    final = result.final
    assert final["baseline"] > final["no_new_measures"]
    assert final["baseline"] > 0.8
    # the files: probabilities, a posterior per model alive, the history, the manifest, a figure
    folder = tmp_path / "choice"
    written = pd.read_csv(folder / "model_probabilities.csv")
    pd.testing.assert_frame_equal(written, p, check_dtype=False)
    posterior = pd.read_parquet(folder / "posterior_baseline.parquet")
    assert list(posterior.columns) == ["weight", *TRUTH]
    assert posterior["weight"].sum() == pytest.approx(1.0)
    assert set(result.posteriors) <= {"baseline", "no_new_measures"}
    for name in ("history.db", "generations.csv", "model_probabilities.png"):
        assert (folder / name).is_file()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "model_selection"
    assert [s["name"] for s in manifest["scenarios"]] == ["baseline", "no_new_measures"]
    assert manifest["probabilities"] == pytest.approx(final.to_dict())
    assert len(manifest["observations_fitted"]) == 6
    assert manifest["settings"]["reproducible"] is True
    assert manifest["runs"] == int(result.generations["runs"].sum()) + 20  # + the prior sample


def test_a_resumed_model_choice_equals_one_run_straight_through(short, with_register, tmp_path):
    observed = synthetic_observations(short, tmp_path)
    settings = dict(
        params=["dynamics.job_finding_rate"],
        population_scale=SCALE,
        particles=5,
        seed=7,
        figures=False,
    )
    models = [short, with_register]  # both reproduce the exits: both stay alive
    straight = select_model(models, observed, tmp_path / "straight", generations=2, **settings)
    select_model(models, observed, tmp_path / "stopped", generations=1, **settings)
    resumed = select_model(
        models, observed, tmp_path / "stopped", generations=2, resume=True, **settings
    )
    pd.testing.assert_frame_equal(straight.probabilities, resumed.probabilities)
    assert straight.posteriors.keys() == resumed.posteriors.keys()
    for name, posterior in straight.posteriors.items():
        pd.testing.assert_frame_equal(posterior, resumed.posteriors[name])


def test_without_the_living_register_the_register_keeps_its_identified_size(
    short, with_register, tmp_path
):
    path = observed_file(
        tmp_path, [(2018, "registered_people", 90000), (2018, "cumulative_exited_people", 70000)]
    )
    fitted, skipped, _, constants = common_observations(
        read_observed(path), path, [short, with_register]
    )
    key = statistic_key("shaoguan", "registered_people", 2018)
    assert len(fitted) == 2 and skipped.empty
    assert constants == [{key: "population.registered_people"}, {}]
    assert CLOSED_REGISTER["registered_people"][0] == "living_register"
    observations = [
        (key, None, "registered_people", 2018),
        ("exits", None, "cumulative_exited_people", 2018),
    ]
    parameters = model_parameters([short, with_register], ["dynamics.job_finding_rate"])
    closed = Simulator(short, parameters[0], observations, SCALE, 1, constants[0])
    stats = closed.run({"dynamics.job_finding_rate": 0.02}, seed=3)
    # the full-population count the scenario identifies, not a run's value
    assert stats[key] == float(short.population.registered_people) == 95500.0
    assert stats["exits"] > 0
    living = Simulator(with_register, parameters[1], observations, SCALE, 1, constants[1])
    annual = run(with_register, seed=3, population_scale=SCALE).annual.set_index("year")
    stats = living.run({"dynamics.job_finding_rate": with_register.dynamics.job_finding_rate}, 3)
    assert stats[key] == annual.loc[2018, "registered_people"] / SCALE


def test_another_mechanism_metric_a_model_lacks_is_refused_or_skipped(
    short, with_register, tmp_path
):
    feedback = load_scenario(SCENARIOS / "feedback.toml", SHORT)
    path = observed_file(
        tmp_path,
        [(2017, "reported_exited_people", 60000), (2018, "cumulative_exited_people", 70000)],
    )
    table = read_observed(path)
    with pytest.raises(ObservedDataError) as err:
        common_observations(table, path, [with_register, feedback])
    message = str(err.value)
    assert "metric 'reported_exited_people'" in message
    assert "verification" in message and "model 0 (scenario 'with_register')" in message
    assert "--skip-unknown" in message
    fitted, skipped, _, _ = common_observations(
        table, path, [with_register, feedback], skip_unknown=True
    )
    assert list(fitted["metric"]) == ["cumulative_exited_people"]
    assert list(skipped["metric"]) == ["reported_exited_people"]


def test_a_mechanism_parameter_is_fitted_only_where_the_mechanism_is_on(short, with_register):
    names = ["dynamics.job_finding_rate", "living_register.removal_share"]
    without, living = model_parameters([short, with_register], names)
    assert list(without) == ["dynamics.job_finding_rate"]
    assert list(living) == names
    with pytest.raises(CalibrationError, match="scenario 'baseline': expected at least one"):
        model_parameters([short, with_register], ["living_register.removal_share"])
    with pytest.raises(CalibrationError, match="found none by that name"):
        model_parameters([short, with_register], ["dynamics.nothing"])
    with pytest.raises(CalibrationError, match="is a lever"):
        model_parameters([short, with_register], ["social_security.enrolment_rate"])


def test_one_scenario_or_two_of_one_name_are_refused(short, tmp_path):
    observed = synthetic_observations(short, tmp_path)
    with pytest.raises(CalibrationError, match="at least two scenarios"):
        select_model([short], observed, tmp_path / "one")
    with pytest.raises(CalibrationError, match="distinct names.*'baseline' 2 times"):
        select_model([short, short], observed, tmp_path / "twice")
    assert not (tmp_path / "one").exists() and not (tmp_path / "twice").exists()
