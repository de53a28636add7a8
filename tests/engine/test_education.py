"""Education on hand-built households, with the numbers worked by hand."""

import numpy as np
import pytest

from model.engine.assessment import LABOUR_VILLAGE, NON_POOR
from model.engine.interventions.education import Education, EducationParams
from tests.conftest import make_households
from tests.fakes import FakeModel

#: Only what a test turns on: no vocational places, no teachers, no subsidy.
QUIET = dict(
    vocational_places={2016: 0.0}, mountain_teachers=0.0, student_subsidy=0.0, return_rate=0.0
)


def test_children_return_at_the_rate_times_party_capacity_registered_only():
    hh = make_households(
        4,
        registered=[True, True, False, True],
        group=[LABOUR_VILLAGE, LABOUR_VILLAGE, NON_POOR, LABOUR_VILLAGE],
        children_in_school=[False, False, False, True],
        school_children=[1, 1, 1, 1],
    )
    m = FakeModel(hh, year=2016, month=1)
    # probability 0.5 x 2 = 1 for the first household, 0.5 x 0 = 0 for the second
    m.shared.party_factor[:] = [2.0, 0.0, 2.0, 2.0]
    e = Education(EducationParams(**{**QUIET, "return_rate": 0.5}), m)
    for _ in range(5):
        e.enrol(m)
    assert hh.children_in_school.tolist() == [True, False, False, True]
    assert e.cost(m) == 0


def test_student_subsidy_paid_as_far_as_the_earmark_allows():
    hh = make_households(
        3,
        registered=[True, True, False],
        group=[LABOUR_VILLAGE, LABOUR_VILLAGE, NON_POOR],
        school_children=[2, 0, 1],
    )
    m = FakeModel(hh, year=2016, month=3)
    m.fund("education", 150.0)  # the month's demand is 2 x 1,200 / 12 = 200 yuan
    e = Education(EducationParams(**{**QUIET, "student_subsidy": 1_200.0}), m)
    e.apply(m)
    assert hh.transfer_m.tolist() == pytest.approx([150.0, 0.0, 0.0])  # 3/4 of 200
    assert e.cost(m) == pytest.approx(150.0)
    assert e.enrolled_mask(m).tolist() == [True, False, False]


def test_teachers_allowance_from_the_education_budget_by_county_households():
    hh = make_households(4, county=[0, 0, 0, 1], school_children=[0, 0, 0, 0])
    m = FakeModel(hh, year=2017, month=5, n_counties=2, scale=0.5)
    p = EducationParams(
        **{**QUIET, "mountain_teachers": 20.0, "teacher_allowance": {2016: 800.0, 2017: 900.0}}
    )
    e = Education(p, m)
    e.apply(m)
    # 20 x 0.5 = 10 teachers x 900 yuan = 9,000 yuan, 3:1 over the counties' households
    ledger = m.ledger.frame()
    spent = ledger.query("kind == 'spent'")
    assert set(spent["fund"]) == {"sector"} and set(spent["source"]) == {"education"}
    assert spent.groupby("county")["amount"].sum().to_dict() == pytest.approx(
        {"c0": 6_750.0, "c1": 2_250.0}
    )
    assert e.cost(m) == pytest.approx(9_000.0)
    assert not hh.transfer_m.any()  # a cost, not an income


def test_vocational_place_paid_at_start_raises_skill_when_it_ends():
    hh = make_households(3, school_children=[1, 1, 0], skill=[0.5, 0.5, 0.5])
    m = FakeModel(hh, year=2016, month=1)
    m.fund("education", 20_000.0)  # one place of 3 years x 5,000 yuan, not two
    p = EducationParams(
        **{
            **QUIET,
            "vocational_places": {2016: 24.0},  # two may start in January
            "vocational_cost": 5_000.0,
            "vocational_years": 3,
            "vocational_skill_gain": 0.15,
        }
    )
    e = Education(p, m)
    e.enrol(m)
    taken = np.flatnonzero(e.vocational_ends >= 0)
    assert taken.size == 1 and taken[0] in (0, 1)  # a household with a pupil
    assert e.vocational_ends[taken[0]] == 36
    assert e.cost(m) == pytest.approx(15_000.0)
    assert m.ledger.available("education").tolist() == [5_000 * 100]
    assert e.enrolled_mask(m).tolist() == [True, True, False]  # pupils, or a place
    # three years later the place ends and the household's skill rises
    m.year, m.month, m.month_index = 2019, 1, 36
    e.enrol(m)
    expected = np.full(3, 0.5)
    expected[taken[0]] = 0.65
    assert hh.skill.tolist() == pytest.approx(expected.tolist())
    assert (e.vocational_ends >= 0).sum() == 1  # no money for another place
