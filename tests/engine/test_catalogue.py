"""The parameter catalogue, structured sources, the TOML writer and the schema's new constants."""

from __future__ import annotations

import re
import tomllib

import numpy as np
import pytest
from pydantic import BaseModel

from model.engine.assessment import NO_LABOUR
from model.engine.catalogue import catalogue, scenario_toml, toml_value
from model.engine.dynamics import skill_wage_factor
from model.engine.interventions import MEASURE_NAMES
from model.engine.params import (
    PLAN,
    YEAR_KEYED,
    Source,
    assumption,
    choice,
    param,
    parse_source,
    plan,
    statistic,
)
from model.engine.population import build_population
from model.engine.scenario import (
    SCENARIO_DIR,
    Scenario,
    ScenarioError,
    apply_overrides,
    load_scenario,
    shipped_scenarios,
    sweepable_parameters,
    validate_scenario,
)


def _year_keyed_paths(obj, prefix=""):
    """Paths of the fields annotated as year tables, found from the pydantic fields directly."""
    out = []
    for name, info in type(obj).model_fields.items():
        value = getattr(obj, name)
        if isinstance(value, BaseModel):
            out += _year_keyed_paths(value, f"{prefix}{name}.")
        elif any(m is YEAR_KEYED for m in info.metadata):
            out.append(f"{prefix}{name}")
    return out


def test_entries_carry_values_units_sources_and_year_keys():
    s = Scenario()
    cat = catalogue(s)
    by_path = {e.path: e for e in cat}
    assert len(by_path) == len(cat.entries)  # one entry per parameter
    e = by_path["dynamics.job_finding_rate"]
    assert (e.value, e.unit, e.kind, e.range) == (
        0.01,
        "probability per job-seeking worker per month",
        "uncertainty",
        (0.003, 0.03),
    )
    assert e.source == assumption() == Source("assumption")
    assert sorted(p for p, e in by_path.items() if e.year_keyed) == sorted(_year_keyed_paths(s))
    assert by_path["housing.renovations"].year_keyed
    assert not by_path["targets.cumulative_people"].year_keyed  # years of targets, not a rate
    assert cat.entry("funding.delay_months.paired_city").path == "funding.delay_months"
    with pytest.raises(KeyError):
        cat.entry("dynamics.job_finding_rate.x")
    assert "lechang" in cat.children("population.counties")
    assert "job_finding_rate" in cat.children("dynamics")


def test_structured_sources_and_their_wording():
    assert str(plan("§II.5", "roads to every village")) == (
        "Shaoguan plan 2016, §II.5 (roads to every village)"
    )
    assert str(statistic("NBS 2015 Migrant Worker Monitoring Survey")) == (
        "NBS 2015 Migrant Worker Monitoring Survey"
    )
    assert str(assumption()) == "assumption"
    assert str(assumption("half", range=(0.3, 0.7))) == "assumption (half; plausible 0.3 to 0.7)"
    assert str(choice()) == "scenario choice"
    # free text is classified and keeps its wording
    text = "Shaoguan plan 2016, §III.3 (province : paired city : home city = 6 : 3 : 1)"
    parsed = parse_source(text)
    assert (parsed.kind, parsed.reference, str(parsed)) == ("plan", "§III.3", text)
    assert parse_source("assumption (x)").kind == "assumption"
    assert parse_source("Guangdong CPI 2015 = 101.5").kind == "statistic"
    by_path = {e.path: e for e in catalogue()}
    assert by_path["funding.special_fund_per_person"].source.reference == "§III.3"
    assert by_path["employment.public_post_wage"].source.kind == "statistic"
    assert by_path["name"].source.kind == "choice"
    floor = by_path["dynamics.skill_wage_floor"].source
    assert (floor.kind, floor.range) == ("assumption", (0.5, 0.9))


def test_param_refuses_a_source_written_as_free_text():
    with pytest.raises(TypeError, match=r"plan\(\), statistic\(\), assumption\(\) or choice\(\)"):
        param(1.0, unit="yuan", source="assumption (typed by hand)")
    field = param(1.0, unit="yuan", source=plan("§II.5", "x"))
    assert field.json_schema_extra["source"] == f"{PLAN}, §II.5 (x)"
    assert field.json_schema_extra["source_detail"] == {
        "kind": "plan",
        "reference": "§II.5",
        "note": "x",
    }


#: A section of the plan: part I, II or III, then its item.
SECTION = r"§(I|II|III)\.\d{1,2}"


def test_every_source_in_the_catalogue_is_structured():
    entries = list(catalogue())
    assert len(entries) > 200
    free = [e.path for e in entries if e.source.text]
    assert free == []
    for e in entries:
        assert e.source.kind in ("plan", "statistic", "assumption", "choice"), e.path
        if e.source.kind == "plan":  # sections of the plan, e.g. "§II.5" or "§I.3, §II.5"
            assert re.fullmatch(rf"{SECTION}(, {SECTION})*", e.source.reference), e.path
            assert str(e.source).startswith(f"{PLAN}, {e.source.reference}"), e.path
        if e.source.kind == "statistic":
            assert e.source.reference, e.path


def test_every_assumption_of_the_money_and_the_measures_has_a_range():
    tables = ("funding", *MEASURE_NAMES)
    missing = [
        e.path
        for e in catalogue()
        if e.path.split(".")[0] in tables
        and e.source.kind == "assumption"
        and e.range is None
        and e.source.range is None
    ]
    assert missing == []
    # a table of values the plan does not give: the range covers every year's value
    for path in ("industry.projects_per_year", "social_security.dibao_standard"):
        e = catalogue().entry(path)
        low, high = e.source.range
        assert all(low <= v <= high for v in e.value.values()), path


# Figures of the plan (plan/FACTS.md), with the section that holds each.
PLAN_FIGURES = {
    "funding.special_fund_per_person": ("§III.3", 20_000.0),
    "funding.city_village_fund": ("§III.3", 200_000.0),
    "funding.source_shares": ("§III.3", {"province": 0.6, "paired_city": 0.3, "home_city": 0.1}),
    "infrastructure.road_maintenance_per_km": ("§II.5", 1_000.0),
    "infrastructure.road_cost_per_km_three_kinds": ("§II.10", 180_000.0 + 20_000.0),
    "education.teacher_allowance": ("§II.6", {2016: 800.0, 2017: 900.0, 2018: 1_000.0}),
    "health.assistance_share": ("§II.4", 0.70),
    "health.assistance_cap": ("§II.3", 50_000.0),
    "housing.renovations": ("§II.7", {2016: 4_541.0, 2017: 3_293.0}),
    "social_security.class2_floor": ("§II.3", 0.90),
}


@pytest.mark.parametrize("path", sorted(PLAN_FIGURES))
def test_plan_sources_point_at_the_section_that_holds_the_number(path):
    section, figure = PLAN_FIGURES[path]
    e = catalogue().entry(path)
    assert (e.source.kind, e.source.reference) == ("plan", section)
    if isinstance(figure, dict):
        assert {k: e.value[k] for k in figure} == figure
    elif isinstance(e.value, dict):  # the plan's figure is the first year's value
        assert e.value[min(e.value)] == figure
    else:
        assert e.value == figure


def test_numbers_the_plan_does_not_give_are_not_cited_as_plan_figures():
    by_path = {e.path: e for e in catalogue()}
    # the plan asks for a clinic in every poor village by 2018 but sets no yearly pace
    assert by_path["health.clinics_per_year"].source.kind == "assumption"
    # the contributions are national figures; the plan only says they are paid in full
    assert by_path["health.premium"].source.kind == "statistic"
    assert by_path["funding.year_shares"].source.range == (0.2, 0.5)


def test_toml_values():
    assert toml_value(0.1 + 0.2) == "0.30000000000000004"
    assert toml_value(0.1 + 0.2, digits=10) == "0.3"
    assert toml_value({2016: 1.0, "a b": [1, 2], "ok": True}) == (
        '{ 2016 = 1.0, "a b" = [1, 2], ok = true }'
    )
    assert toml_value('韶关 "x"') == '"韶关 \\"x\\""'
    assert toml_value({}) == "{}"
    with pytest.raises(TypeError):
        toml_value(object())


@pytest.mark.parametrize("name", shipped_scenarios())
def test_scenario_toml_loads_back_to_the_same_scenario(name):
    s = load_scenario(SCENARIO_DIR / name)
    again = validate_scenario(tomllib.loads(scenario_toml(s, header="round trip")))
    assert again == s


def test_set_paths_are_checked_against_the_catalogue():
    with pytest.raises(ScenarioError, match=r"no such key 'job_finding' in dynamics; expected"):
        apply_overrides(Scenario(), {"dynamics.job_finding": 0.1})
    with pytest.raises(ScenarioError, match=r"no such key 'dynamic' in the scenario"):
        apply_overrides(Scenario(), {"dynamic.job_finding_rate": 0.1})
    s = apply_overrides(Scenario(), {"population.counties.lechang.poor_village_weight": 0.2})
    assert s.population.counties["lechang"].poor_village_weight == 0.2
    s = apply_overrides(Scenario(), {"health.premium.2017": 200.0})
    assert s.health.premium == {2016: 150.0, 2017: 200.0, 2018: 220.0}


def test_sweepable_parameters_include_a_nested_range_a_scenario_gives():
    path = "population.counties.lechang.poor_village_weight"
    s = validate_scenario({"ranges": {path: (0.1, 0.3)}})
    table = sweepable_parameters(s)
    assert table[path] == {
        "default": 0.17,
        "low": 0.1,
        "high": 0.3,
        "unit": "relative weight",
        "kind": "fixed",
    }
    assert len(table) == len(sweepable_parameters(Scenario())) + 1


def test_skill_wage_factor_uses_the_schema():
    p = Scenario().dynamics.model_copy(update={"skill_wage_floor": 0.5, "skill_wage_span": 1.0})
    skill = np.array([0.0, 0.5, 1.0], dtype=np.float32)
    assert skill_wage_factor(p, skill).tolist() == [0.5, 1.0, 1.5]
    default = Scenario().dynamics
    assert np.allclose(skill_wage_factor(default, skill), [0.7, 1.0, 1.3])


def test_population_composition_follows_the_schema():
    base = Scenario()
    no_children = apply_overrides(
        base,
        {
            "population.school_child_share_labour": 0.0,
            "population.skill_shape_a_registered": 8.0,
            "population.skill_shape_b_registered": 2.0,
        },
    )
    hh = build_population(no_children, 0.05, np.random.default_rng(1)).households
    labour = hh.group != NO_LABOUR
    assert hh.school_children[labour].sum() == 0
    assert hh.school_children[~labour].sum() > 0
    # Beta(8, 2) has mean 0.8; the default Beta(2, 5) has mean 2/7
    assert abs(hh.skill[hh.registered].mean() - 0.8) < 0.01
    default = build_population(base, 0.05, np.random.default_rng(1)).households
    assert abs(default.skill[default.registered].mean() - 2 / 7) < 0.01
    assert hh.school_children[labour].sum() < default.school_children[labour].sum()
