"""Paired assistance on hand-built households and villages, with the numbers worked by hand."""

from types import SimpleNamespace

import numpy as np
import pytest

from model.engine.assessment import LABOUR_VILLAGE, NON_POOR
from model.engine.interventions.assistance import Assistance, AssistanceParams
from tests.conftest import make_households
from tests.fakes import FakeModel


def _villages(*parties, county=0):
    return [SimpleNamespace(index=i, county=county, party=p) for i, p in enumerate(parties)]


def test_capacity_of_the_village_party_is_published_for_every_household():
    hh = make_households(4, village=[0, 1, 2, -1])
    m = FakeModel(hh, villages=_villages("province", "dongguan", "shaoguan"))
    # shaoguan left out of the table keeps its default 1.0
    Assistance(AssistanceParams(capacity={"province": 1.3, "dongguan": 0.9}), m)
    assert m.shared.party_factor.tolist() == pytest.approx([1.3, 0.9, 1.0, 1.0])


def test_party_outside_the_three_is_refused():
    with pytest.raises(ValueError, match=r"expected parties among .*found \['guangzhou'\]"):
        AssistanceParams(capacity={"guangzhou": 1.2})
    with pytest.raises(ValueError, match=r"expected multipliers in \(0, 2\]"):
        AssistanceParams(capacity={"province": 2.5})


def test_december_investment_split_over_the_countys_assisted_villages():
    # village 0 Shaoguan's, 1 a provincial unit's, 2 Dongguan's (no village fund of its own)
    hh = make_households(
        6,
        village=[0, 0, 0, 1, 2, -1],
        registered=[True, True, False, True, True, True],
        group=[
            LABOUR_VILLAGE,
            LABOUR_VILLAGE,
            NON_POOR,
            LABOUR_VILLAGE,
            LABOUR_VILLAGE,
            LABOUR_VILLAGE,
        ],
    )
    m = FakeModel(hh, year=2016, month=11, villages=_villages("shaoguan", "province", "dongguan"))
    m.fund("assistance", 90_000, fund="village", source="shaoguan_city")
    p = AssistanceParams(collective_return=0.08, collective_lag_months=12)
    a = Assistance(p, m)
    a.enrol(m)  # November: nothing invested
    assert a.cost(m) == 0 and not a.enrolled_mask(m).any()
    m.month, m.month_index = 12, 11
    a.enrol(m)
    # 90,000 yuan over the county's two assisted villages: 45,000 each, none for Dongguan's
    assert a.cost(m) == pytest.approx(90_000)
    assert m.ledger.available("assistance", ("village",)).tolist() == [0]
    assert a.investments[0][1].tolist() == pytest.approx([45_000, 45_000, 0])
    # served: the registered households of the two villages
    assert a.enrolled_mask(m).tolist() == [True, True, False, True, False, False]

    # dividends start collective_lag_months after the investment
    def property_income(month_index):
        m.month_index = month_index
        hh.property_m[:] = 0.0
        a.apply(m)
        return hh.property_m.tolist()

    assert property_income(11 + 11) == [0.0] * 6
    # 45,000 x 8% / 12 = 300 yuan a month per village, shared by its registered households
    assert property_income(11 + 12) == pytest.approx([150.0, 150.0, 0.0, 300.0, 0.0, 0.0])


def test_nothing_to_invest_spends_nothing():
    hh = make_households(2, village=[0, 0])
    m = FakeModel(hh, year=2016, month=12, villages=_villages("shaoguan"))
    a = Assistance(AssistanceParams(), m)
    a.enrol(m)
    a.apply(m)
    assert a.cost(m) == 0 and a.investments == []
    assert not hh.property_m.any() and not a.enrolled_mask(m).any()
    assert np.all(m.ledger.available("assistance", ("village",)) == 0)
