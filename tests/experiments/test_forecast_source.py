"""A scenario's ``[forecast]`` table: the parameter source its ensembles use by default."""

import pandas as pd
import pytest

from model.commands.cli import main
from model.engine.scenario import ScenarioError, load_scenario, validate_scenario
from model.experiments.compare import compare_scenarios
from model.experiments.ensemble import plan_replicates
from model.experiments.parameters import (
    common_scenario_source,
    parameter_source,
    scenario_source,
)
from tests.conftest import SCENARIOS


def scenario(name, **forecast):
    return validate_scenario({"name": name, "forecast": forecast})


def test_the_default_source_is_fixed():
    assert scenario_source(scenario("plain")).kind == "fixed"
    assert parameter_source(None, scenario("plain")).kind == "fixed"


@pytest.mark.parametrize(
    ("forecast", "message"),
    [
        ({"parameters": "posterior"}, 'needs posterior = "FILE.parquet"'),
        ({"parameters": "prior", "posterior": "p.parquet"}, "only read with parameters"),
        ({"parameters": "posterior", "posterior": "../outside.parquet"}, "without '..'"),
        ({"parameters": "sometimes"}, "forecast.parameters"),
    ],
)
def test_bad_forecast_tables_are_refused(forecast, message):
    with pytest.raises(ScenarioError, match="forecast") as err:
        scenario("bad", **forecast)
    assert message in str(err.value)


def test_a_scenario_naming_the_prior_draws_from_it_unless_the_caller_says_fixed():
    prior = scenario("prior_by_default", parameters="prior")
    drawn = plan_replicates(prior, 4, seed=5)
    assert drawn.source.kind == "prior"
    rates = [drawn.overrides(r)["dynamics.job_finding_rate"] for r in range(4)]
    assert len(set(rates)) == 4
    assert plan_replicates(prior, 4, seed=5, parameters="fixed").overrides(0) == {}


def test_a_posterior_named_by_a_relative_path_is_read_from_the_project_folder(tmp_path):
    # an absolute path is read as it is; a relative one from the folder above scenarios/
    path = tmp_path / "post.parquet"
    pd.DataFrame({"weight": [1.0], "dynamics.job_finding_rate": [0.021]}).to_parquet(path)
    absolute = scenario("abs", parameters="posterior", posterior=str(path))
    assert plan_replicates(absolute, 2, seed=1).overrides(1) == {"dynamics.job_finding_rate": 0.021}
    assert scenario_source(absolute).path == str(path)
    shipped = scenario_source(load_scenario(SCENARIOS / "calibrated.toml"))
    assert shipped.kind == "posterior" and shipped.path == "calibration/posterior.parquet"
    assert shipped.posterior["weight"].sum() > 0
    relative = scenario("rel", parameters="posterior", posterior="no/such/posterior.parquet")
    with pytest.raises(ValueError, match=str(SCENARIOS.parent / "no/such/posterior.parquet")):
        scenario_source(relative)


def test_scenarios_naming_different_sources_are_not_compared_without_a_choice(tmp_path):
    fixed, prior = scenario("a"), scenario("b", parameters="prior")
    assert common_scenario_source([prior, scenario("c", parameters="prior")]).kind == "prior"
    with pytest.raises(ValueError, match="different parameter sources.*--parameters"):
        common_scenario_source([fixed, prior])
    with pytest.raises(ValueError, match="different parameter sources"):
        compare_scenarios([fixed, prior], replicates=2, workers=1, population_scale=0.01)
    assert not any(tmp_path.iterdir())


def test_the_command_refuses_a_comparison_of_different_sources_in_one_line(tmp_path, capsys):
    a = tmp_path / "a.toml"
    base = SCENARIOS / "baseline.toml"
    a.write_text(f'extends = "{base}"\nname = "a"\n')
    b = tmp_path / "b.toml"
    b.write_text(f'extends = "{base}"\nname = "b"\n[forecast]\nparameters = "prior"\n')
    out = tmp_path / "out"
    code = main(["compare", str(a), str(b), "--replicates", "2", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
    assert "different parameter sources" in err and not out.exists()


def test_the_calibrated_scenario_forecasts_from_its_posterior_by_default(tmp_path, capsys):
    import json

    out = tmp_path / "calibrated"
    argv = ["run", str(SCENARIOS / "calibrated.toml"), "--replicates", "2", "--workers", "1"]
    assert main([*argv, "--population-scale", "0.01", "--quiet", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"] == "posterior"
    posterior = pd.read_parquet(SCENARIOS.parent / "calibration" / "posterior.parquet")
    fitted = [c for c in posterior.columns if c != "weight"]
    assert manifest["drawn_parameters"] == sorted(fitted)
    drawn = pd.read_parquet(out / "replicates.parquet")[fitted].drop_duplicates()
    # every replicate's values are one particle's, column for column
    particles = {tuple(row) for row in posterior[fitted].itertuples(index=False)}
    assert len(drawn) >= 1
    assert all(tuple(row) in particles for row in drawn.itertuples(index=False))
