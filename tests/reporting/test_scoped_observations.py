"""Scoped observations: the file's format, and validate comparing a subset with its rows."""

from __future__ import annotations

import pandas as pd
import pytest

from model.commands.cli import main
from model.results.observed import (
    ANNUAL_METRICS,
    SUBSET_METRICS,
    ObservedDataError,
    check_observations,
    metric_mechanism,
    read_observed,
    scenario_region,
)
from tests.conftest import ROOT

SHIPPED = ROOT / "data" / "observed" / "observed_calibration.csv"
SCALE = 0.02


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    from model.engine.scenario import load_scenario
    from model.results.recording import run

    scenario = load_scenario(ROOT / "scenarios" / "baseline.toml", ["calendar.end_year=2018"])
    result = run(scenario, seed=3, population_scale=SCALE)
    return result, result.write(tmp_path_factory.mktemp("scoped") / "run", figure=False)


def test_the_shipped_file_reads_with_its_scopes_and_sources():
    observed = read_observed(SHIPPED)
    assert len(observed) == 12
    assert set(observed["scope"]) == {"guangdong", "shaoguan:dongguan_villages"}
    assert (observed["source"].str.len() > 20).all()
    dongguan = observed[observed["scope"] == "shaoguan:dongguan_villages"].iloc[0]
    assert (dongguan["region"], dongguan["subset"], dongguan["value"]) == (
        "shaoguan",
        "dongguan_villages",
        14952.0,
    )


def test_every_metric_an_observation_may_name_is_recorded(run_folder):
    result, _ = run_folder
    assert "mean_per_capita_income_labour_capable" in ANNUAL_METRICS
    # every metric of the catalogue but those of feedback mechanisms (all off here)
    always = {m for m in ANNUAL_METRICS if metric_mechanism(m) is None}
    assert always <= set(result.annual.columns)
    assert metric_mechanism("registered_people") == "living_register"
    assert set(SUBSET_METRICS) == set(result.by_party.columns) - {"year", "party"}


def test_a_metric_the_model_does_not_produce_is_refused_or_skipped():
    observed = read_observed(SHIPPED)
    guangdong = observed[observed["region"] == "guangdong"].reset_index(drop=True)
    with pytest.raises(ObservedDataError, match="'registered_people'.*living_register.*--skip"):
        check_observations(guangdong, SHIPPED, (2016, 2020), mechanisms=[])
    kept, skipped = check_observations(
        guangdong, SHIPPED, (2016, 2020), skip_unknown=True, mechanisms=[]
    )
    assert list(skipped["metric"]) == ["registered_people"]
    assert len(kept) == 10
    # with the living register on, the final register is a metric like the others
    kept, skipped = check_observations(
        guangdong, SHIPPED, (2016, 2020), mechanisms=["living_register"]
    )
    assert len(kept) == 11 and skipped.empty


def test_region_of_a_scenario():
    assert scenario_region("guangdong") == "guangdong"
    assert scenario_region("guangdong_scale") == "guangdong"
    assert scenario_region("baseline") == "shaoguan"


def test_validate_compares_a_subset_with_its_by_party_row(run_folder, tmp_path, capsys):
    result, folder = run_folder
    obs = tmp_path / "obs.csv"
    obs.write_text(
        "scope,year,metric,value,unit,source\n"
        "shaoguan:dongguan_villages,2018,mean_per_capita_income_labour_capable,14952,yuan,x\n"
        "shaoguan,2017,cumulative_exited_people,60000,people,y\n"
        "guangdong,2018,cumulative_exited_people,1500000,people,z\n"
    )
    assert main(["validate", str(folder), "--observed", str(obs)]) == 0
    table = pd.read_csv(folder / "validation.csv")
    assert list(table["scope"]) == ["shaoguan:dongguan_villages", "shaoguan"]  # guangdong left out
    party = result.by_party
    expected = party[(party["party"] == "dongguan") & (party["year"] == 2018)][
        "mean_per_capita_income_labour_capable"
    ].iloc[0]
    assert table["median"].iloc[0] == pytest.approx(expected)
    # a scoped count is compared at full population: the run's count over its scale
    exits = result.annual.set_index("year").loc[2017, "cumulative_exited_people"]
    assert table["median"].iloc[1] == pytest.approx(exits / SCALE)
    capsys.readouterr()
