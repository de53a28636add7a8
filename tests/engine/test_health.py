"""Health on hand-built households, with the expected change computed by hand."""

import pytest

from model.engine.interventions.health import Health, HealthParams
from tests.conftest import make_households
from tests.fakes import FakeModel


def test_medical_assistance_by_hand():
    p = HealthParams(
        serious_illness_share=0.1,
        compliant_share=0.8,
        assistance_share=0.7,
        assistance_cap={2016: 50_000.0},
        clinics_per_year={2016: 0.0},
    )
    hh = make_households(2, insured=[True, True])
    hh.medical_oop_m[:] = [10_000.0, 0.0]
    m = FakeModel(hh, year=2016, month=5)
    Health(p, m).respond(m)
    # serious-illness insurance pays 1,000; assistance 0.7 x 0.8 x 9,000 = 5,040
    assert hh.medical_oop_m.tolist() == pytest.approx([10_000 - 1_000 - 5_040, 0.0])


def test_premium_keeps_the_poor_insured():
    p = HealthParams(premium={2016: 150.0}, clinics_per_year={2016: 0.0})
    hh = make_households(2, insured=[False, False], size=[3, 2])
    m = FakeModel(hh, year=2016, month=1)
    m.fund("health", 750)
    h = Health(p, m)
    h.enrol(m)
    assert hh.insured.all() and h.cost(m) == 750
