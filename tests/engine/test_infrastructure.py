"""Infrastructure on hand-built villages and households, with the numbers worked by hand."""

import numpy as np
import pytest

from model.engine.interventions.infrastructure import Infrastructure, InfrastructureParams
from tests.conftest import make_households
from tests.fakes import FakeModel


class _Village:
    """The parts of a village that infrastructure reads and writes."""

    def __init__(self, index, three_kinds_area=False, road=False):
        self.index = index
        self.county = 0
        self.three_kinds_area = three_kinds_area
        self.services = {"road": road, "water": True, "info_station": True, "bus": True}
        self.works: dict[str, int] = {}

    def schedule_work(self, item, month_index):
        self.works[item] = month_index


def _params(**values):
    base = dict(
        villages_per_year={2016: 12.0},  # one village per item a month
        road_km_per_village=3.0,
        road_cost_per_km=300_000.0,
        road_cost_per_km_three_kinds=200_000.0,
        road_maintenance_per_km=1_000.0,
        market_access_uplift=0.05,
        job_access_gain=0.2,
    )
    return InfrastructureParams(**{**base, **values})


def test_roads_go_to_three_kinds_areas_first_village_funds_then_the_roads_budget():
    villages = [_Village(0), _Village(1), _Village(2, three_kinds_area=True)]
    hh = make_households(3, village=[0, 1, 2])
    m = FakeModel(hh, year=2016, month=1, villages=villages)
    m.fund("infrastructure", 100_000, fund="village", source="shaoguan_city")
    infra = Infrastructure(_params(), m)
    infra.enrol(m)
    # only the road is lacking; the old revolutionary area's village is first whatever the draw
    assert [v.works for v in villages] == [{}, {}, {"road": 0 + 9}]
    # 3 km x 200,000 yuan: 100,000 from the village funds, 500,000 from the roads budget
    assert infra.cost(m) == pytest.approx(600_000)
    spent = m.ledger.frame().query("kind == 'spent'").groupby(["fund", "source"])["amount"].sum()
    assert spent.to_dict() == pytest.approx(
        {("village", "shaoguan_city"): 100_000.0, ("sector", "roads"): 500_000.0}
    )
    assert infra.km_by_county.tolist() == [3.0]
    assert infra.enrolled_mask(m).tolist() == [False, False, True]
    # next January the road's upkeep: 3 km x 1,000 yuan, before any new works
    m.year, m.month, m.month_index = 2017, 1, 12
    infra.month_spend = 0.0
    infra.params = _params(villages_per_year={2016: 12.0, 2017: 0.0})
    infra.enrol(m)
    assert infra.cost(m) == pytest.approx(3_000)


def test_a_new_road_raises_business_income_and_job_access_in_its_village_only():
    # village 0 gets a new road; village 1 had one before 2016 (no uplift from this measure)
    villages = [_Village(0), _Village(1, road=True)]
    hh = make_households(3, village=[0, 1, -1])
    m = FakeModel(hh, year=2016, month=1, villages=villages)
    infra = Infrastructure(_params(), m)
    infra.enrol(m)
    assert villages[0].works == {"road": 9}
    hh.business_m[:] = 1_000.0
    infra.apply(m)  # works under way: nothing yet
    assert hh.business_m.tolist() == [1_000.0] * 3
    assert hh.job_access.tolist() == [1.0] * 3
    villages[0].services["road"] = True  # the road opens (Village.step in month 9)
    hh.business_m[:] = 1_000.0
    infra.apply(m)
    assert hh.business_m.tolist() == pytest.approx([1_050.0, 1_000.0, 1_000.0])
    assert hh.job_access.tolist() == pytest.approx([1.2, 1.0, 1.0])
    assert np.all(m.ledger.available("infrastructure", ("village",)) == 0)
