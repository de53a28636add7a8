"""Housing on hand-built households, with the expected change computed by hand."""

from model.engine.interventions.housing import Housing, HousingParams
from tests.conftest import make_households
from tests.fakes import FakeModel


def test_renovation_makes_housing_safe_after_the_works():
    p = HousingParams(
        renovations={2016: 12.0},
        renovation_months=6,
        relocation_share=0.0,
        renovation_subsidy=40_000,
        ranger_posts={2016: 0.0},
    )
    hh = make_households(2, housing_safe=[False, True])
    m = FakeModel(hh, year=2016, month=1)
    h = Housing(p, m)
    h.enrol(m)
    assert h.cost(m) == 40_000 and not hh.housing_safe[0]
    m.month_index += 6
    h.enrol(m)
    assert hh.housing_safe.all()
