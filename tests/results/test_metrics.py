"""The catalogue of metrics names every recorded column and every outcome of a run."""

from __future__ import annotations

import pytest

from model.engine.scenario import validate_scenario
from model.results import metrics as catalogue
from model.results.metrics import (
    Metric,
    find,
    label,
    outcome_names,
    outcome_names_for,
    table_columns,
    unit,
    validation_metrics,
)
from model.results.recording import RecordedModel, run

MEASURES_ON = [
    "assistance",
    "infrastructure",
    "industry",
    "employment",
    "finance",
    "education",
    "health",
    "housing",
    "social_security",
]


@pytest.fixture(scope="module")
def short_result(baseline):
    """A run to 2018 with targets from 2017 on and finance switched off."""
    data = baseline.model_dump(mode="json")
    data["calendar"]["end_year"] = 2018
    data["targets"]["cumulative_people"] = {"2017": 65_500, "2018": 95_500}
    data["finance"]["enabled"] = False
    scenario = validate_scenario(data)
    return scenario, run(scenario, seed=3, population_scale=0.02)


def test_recorded_columns_are_the_catalogues(small_result):
    for table in ("annual", "monthly", "by_county", "by_group", "by_measure"):
        assert list(getattr(small_result, table).columns) == table_columns(table), table
    assert list(small_result.income_percentiles.columns) == [
        "year",
        "population",
        "percentile",
        "value",
    ]
    spend = [c for c in small_result.monthly.columns if c.startswith("spend_")]
    assert spend == [f"spend_{m}" for m in MEASURES_ON]
    components = [c for c in small_result.annual.columns if c.endswith("_per_capita_poor")]
    expected = [f"{c}_per_capita_poor" for c in ("wage", "business", "property", "transfer")]
    assert components == expected


def test_a_measure_switched_off_has_no_spend_column(short_result):
    scenario, result = short_result
    spend = [c for c in result.monthly.columns if c.startswith("spend_")]
    assert spend == [f"spend_{m}" for m in MEASURES_ON if m != "finance"]
    assert "finance" not in set(result.by_measure["measure"])
    assert list(result.monthly.columns) == table_columns(
        "monthly", [m for m in MEASURES_ON if m != "finance"]
    )


def test_outcome_names_are_known_without_a_run(small_result, baseline, short_result):
    assert list(small_result.outcomes()) == outcome_names(baseline)
    scenario, result = short_result
    expected = [
        "cumulative_exited_people_2016",
        "villages_exited_2016",
        "poverty_gap_2016",
        "cumulative_exited_people_2017",
        "villages_exited_2017",
        "poverty_gap_2017",
        "target_met_2017",
        "cumulative_exited_people_2018",
        "villages_exited_2018",
        "poverty_gap_2018",
        "target_met_2018",
        "all_targets_met",
        "total_spend",
        "cost_per_exit",
        "cost_per_sustained_exit",
    ]
    assert outcome_names(scenario) == expected
    assert list(result.outcomes()) == expected
    assert outcome_names_for([2016], []) == [
        "cumulative_exited_people_2016",
        "villages_exited_2016",
        "poverty_gap_2016",
        "all_targets_met",
        "total_spend",
        "cost_per_exit",
        "cost_per_sustained_exit",
    ]


def test_outcome_values_follow_the_annual_table(short_result):
    _, result = short_result
    out = result.outcomes()
    a = result.annual.set_index("year")
    assert out["cumulative_exited_people_2017"] == a.loc[2017, "cumulative_exited_people"]
    assert out["poverty_gap_2018"] == a.loc[2018, "poverty_gap"]
    assert out["target_met_2018"] == float(
        a.loc[2018, "cumulative_exited_people"] >= round(95_500 * 0.02)
    )
    spend = sum(result.monthly[c].sum() for c in result.monthly if c.startswith("spend_"))
    assert out["total_spend"] == pytest.approx(spend)
    assert out["cost_per_exit"] == pytest.approx(spend / a.loc[2018, "cumulative_exited_people"])


def test_every_metric_is_documented_and_unique():
    seen = set()
    for m in catalogue.CATALOGUE:
        assert m.table in catalogue.TABLES
        assert m.description and m.computed and m.label, m.name
        assert m.dtype in ("int", "float", "bool", "str"), m.name
        assert (m.table, m.name) not in seen
        seen.add((m.table, m.name))
    for table in catalogue.TABLES[:-1]:
        assert catalogue.metrics(table)[0].name == "year"
    with pytest.raises(ValueError, match="table: expected one of"):
        catalogue.metrics("nope")


def test_patterns_match_their_names_only():
    spend = find("spend_social_security", "monthly")
    assert spend is not None and spend.name == "spend_<measure>"
    assert find("spend", "annual").name == "spend"
    assert find("wage_per_capita_poor", "annual").name == "<component>_per_capita_poor"
    assert find("salary_per_capita_poor", "annual") is None
    assert find("target_met_2018", "outcomes").name == "target_met_<year>"
    assert find("target_met_20181", "outcomes") is None
    assert label("spend_social_security") == "social security spend"
    assert label("target_met_2017") == "target met, 2017"
    assert label("not_catalogued") == "not catalogued"
    assert unit("cost_per_exit") == "yuan/person"
    assert unit("wage_per_capita_poor") == "yuan/person/year"
    assert Metric("x_<year>", "outcomes", "", "d", "c", "l").matches("x_2016")


def test_validation_metrics_are_the_numeric_annual_columns(small_result):
    a = small_result.annual
    numeric = [c for c in a.columns if c != "year" and a[c].dtype.kind in "if"]
    every_run = [c for c in validation_metrics() if find(c, "annual").mechanism is None]
    assert every_run == numeric
    # a feedback mechanism's numeric columns may be observed too (e.g. the register's size)
    assert {"registered_people", "reported_exited_people", "villages_relapsed"} <= set(
        validation_metrics()
    )


def test_recorder_refuses_a_column_the_catalogue_lacks(baseline):
    m = RecordedModel(baseline, seed=1, population_scale=0.01)
    row = {c: 0 for c in m.recorder.columns["by_county"]}
    m.recorder._append("by_county", row)
    with pytest.raises(RuntimeError, match="by_county row: expected the catalogue's columns"):
        m.recorder._append("by_county", {**row, "undeclared": 1})
    assert len(m.recorder.by_county) == 1
    m.release()


def test_markdown_lists_every_table_and_metric():
    text = catalogue.markdown()
    for table in catalogue.TABLES[:-1]:
        assert f"## Table `{table}`" in text
    assert "## Scalar outcomes" in text
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == len(catalogue.CATALOGUE)
