"""The answer in words: shares grouped by year, the source of the probabilities, single runs."""

from __future__ import annotations

import pandas as pd
import pytest

from model.reporting.answer import (
    cost_sentence,
    met_from_annual,
    met_from_columns,
    met_from_probabilities,
    parameter_source,
    percent,
    scenarios_answer,
    targets_answer,
)


@pytest.mark.parametrize(
    "share, shown",
    [(0.0, "none"), (1.0, "100%"), (0.45, "45%"), (0.004, "<1%"), (0.996, ">99%"), (0.5, "50%")],
)
def test_percent(share, shown):
    assert percent(share) == shown


def test_ensemble_answer_groups_years_and_names_its_source():
    # 200 replicates: 200, 0 and 0 of them meet 2016, 2017 and 2018
    met = {2016: 200 / 200, 2017: 0 / 200, 2018: 0 / 200, "all": 0 / 200}
    assert targets_answer(met, runs=200) == (
        "Targets met: 2016 in 100% of 200 replicates; 2017 and 2018 in none "
        "(probabilities over seeds only, parameters fixed at the scenario's values)."
    )
    # 90, 27 and 6 of 300 meet the targets, 3 meet all of them: the all-share is not implied
    met = {2018: 6 / 300, 2016: 90 / 300, 2017: 27 / 300, "all": 3 / 300}
    assert targets_answer(met, runs=300, parameters="posterior") == (
        "Targets met: 2016 in 30% of 300 replicates; 2017 in 9%; 2018 in 2%; every target in 1% "
        "(probabilities over seeds and parameters drawn from their posterior, calibrated to "
        "observed data)."
    )
    assert "drawn from their prior ranges" in targets_answer(met, 300, "prior")
    assert targets_answer({2016: 0.0, 2017: 0.0}, runs=20).startswith(
        "Targets met: 2016 and 2017 in none of 20 replicates ("
    )


def test_single_run_answer_gives_no_probability():
    text = targets_answer({2016: 1.0, 2017: 0.0, 2018: 1.0}, runs=1, seed=7)
    assert text.startswith(
        "Targets in this single run (seed 7, parameters fixed at the scenario's values): "
        "2016 and 2018 met; 2017 missed."
    )
    assert "no probability" in text


def test_parameter_source_defaults_to_fixed():
    assert parameter_source({}) == "fixed"
    assert parameter_source(None) == "fixed"
    assert parameter_source({"parameters": "prior"}) == "prior"


def test_shares_from_tables():
    probabilities = pd.DataFrame(
        {"year": ["2016", "2017", "2019", "all"], "probability_met": [0.5, 0.25, 0.1, 0.2]}
    )
    assert met_from_probabilities(probabilities, [2016, 2017]) == {
        2016: 0.5,
        2017: 0.25,
        "all": 0.2,
    }
    annual = pd.DataFrame(
        {"year": [2016, 2017, 2019], "target_met": [True, False, None]}, dtype=object
    )
    assert met_from_annual(annual) == {2016: 1.0, 2017: 0.0}
    row = {"prob_met_2016": 0.9, "prob_met_2016_ci_low": 0.8, "prob_met_all": 0.1}
    assert met_from_columns(row, "prob_met_", "prob_met_all") == {2016: 0.9, "all": 0.1}


def test_several_scenarios_in_one_line():
    text = scenarios_answer(
        {"a": {2016: 1.0, 2017: 0.0}, "b": {2016: 1.0, 2017: 0.35, "all": 0.35}}, runs=20
    )
    assert text == (
        "Targets met, over 20 replicates each (probabilities over seeds only, parameters fixed "
        "at the scenario's values): a: 2016 in 100%, 2017 in none; "
        "b: 2016 in 100%, 2017 in 35%, every target in 35%."
    )


def test_cost_sentence():
    assert cost_sentence(34_412.4, 33_867.0, 34_706.2) == (
        "Cost per sustained exit: 34,412 yuan (median; 5-95% of replicates: 33,867 to 34,706)."
    )
    assert cost_sentence(float("nan")) == ""
