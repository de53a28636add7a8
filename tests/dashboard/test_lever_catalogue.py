"""The dashboard's levers are levers of the parameter catalogue."""

from __future__ import annotations

from model.dashboard import LEVERS, PLAN_YEARS, lever_unit
from model.engine.catalogue import catalogue
from model.engine.scenario import Scenario, validate_scenario


def test_every_lever_is_a_lever_of_the_catalogue():
    cat = catalogue()
    for lever in LEVERS:
        entry = cat.entry(lever.path)
        assert entry.kind == "lever", lever.path
        assert lever_unit(Scenario(), lever.path) == entry.unit
        # year-table levers show the plan's years; table levers name the table's keys
        assert entry.year_keyed == (lever.keys == PLAN_YEARS), lever.path
        if lever.keys and not entry.year_keyed:
            assert set(lever.keys) == set(entry.value), lever.path


def test_plan_years_come_from_the_targets():
    assert PLAN_YEARS == (2016, 2017, 2018)
    longer = validate_scenario({"targets": {"cumulative_people": {2016: 1, 2019: 2}}})
    assert longer.targets.last_year == 2019
