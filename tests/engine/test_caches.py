"""What the monthly step caches: group indices, per-village effects, ledger blocks."""

from types import SimpleNamespace

import numpy as np
import pytest

from model.engine.assessment import (
    CHECKLIST_ITEMS,
    LABOUR_SCATTERED,
    LABOUR_VILLAGE,
    NO_LABOUR,
    NON_POOR,
)
from model.engine.funding import FEN, Ledger
from model.engine.interventions.infrastructure import Infrastructure, InfrastructureParams
from tests.conftest import make_households
from tests.fakes import FakeModel


def four_households():
    return make_households(
        4,
        group=[LABOUR_VILLAGE, NO_LABOUR, LABOUR_SCATTERED, NON_POOR],
        registered=[True, True, True, False],
        village=[1, -1, 0, 1],
        workers=[2, 0, 1, 3],
        jobs=[1, 0, 0, 1],
    )


def test_group_indices_by_hand():
    hh = four_households()
    g = hh.groups
    assert g.registered.tolist() == [0, 1, 2]
    assert g.labour.tolist() == [0, 2]
    assert g.no_labour.tolist() == [1]
    assert g.registered_in_village.tolist() == [0, 2]
    assert g.village_members(0).tolist() == [2]
    assert g.village_members(1).tolist() == [0, 3]
    assert g.village_members(2).tolist() == []
    assert hh.groups is g  # built once


def test_group_indices_follow_replaced_arrays():
    hh = four_households()
    assert hh.groups.registered.tolist() == [0, 1, 2]
    hh.registered = np.array([True, False, True, False])
    assert hh.groups.registered.tolist() == [0, 2]
    hh.village = np.array([-1, -1, -1, 0], dtype=np.int16)
    assert hh.groups.village_members(0).tolist() == [3]
    assert hh.groups.registered_in_village.tolist() == []
    hh.group[0] = NO_LABOUR  # in place: only seen after forget_groups()
    hh.forget_groups()
    assert hh.groups.no_labour.tolist() == [0, 1]


def test_job_seekers_of_a_subset():
    hh = four_households()
    hh.occupied[:] = [1, 0, 0, 0]
    # workers - jobs - posts, never negative, 0 without labour capacity
    assert hh.job_seekers.tolist() == [0, 0, 1, 2]
    assert hh.job_seekers_of(np.array([3, 1, 2])).tolist() == [2, 0, 1]


def test_income_of_the_last_12_months():
    hh = make_households(3)
    hh.income_history[:] = np.arange(36, dtype=float).reshape(12, 3)
    # column j holds j, j + 3, ..., j + 33: 12 j + 3 (0 + 1 + ... + 11) = 12 j + 198
    assert hh.income_last_12_months(np.array([2, 0])).tolist() == [222.0, 198.0]


def test_monthly_income_into_an_array():
    hh = make_households(2)
    hh.wage_m[:] = [1.0, 2.0]
    hh.business_m[:] = [10.0, 20.0]
    hh.property_m[:] = [100.0, 200.0]
    hh.transfer_m[:] = [1000.0, 2000.0]
    out = np.zeros(2)
    assert hh.monthly_income(out=out) is out
    assert out.tolist() == [1111.0, 2222.0]
    assert hh.monthly_income(np.array([1])).tolist() == [2222.0]


def village(index, **services):
    return SimpleNamespace(
        index=index,
        county=0,
        three_kinds_area=False,
        works={},
        services=dict.fromkeys(CHECKLIST_ITEMS, False) | services,
    )


def test_village_effects_rewritten_when_a_service_opens():
    hh = make_households(4, village=[0, 0, 1, -1])
    villages = [village(0), village(1)]
    m = FakeModel(hh, villages=villages)
    p = InfrastructureParams(market_access_uplift=0.1, job_access_gain=0.5)
    infra = Infrastructure(p, m)

    def month():
        hh.business_m[:] = 100.0
        infra.apply(m)
        return hh.business_m.tolist(), hh.job_access.tolist()

    assert month() == ([100.0] * 4, [1.0] * 4)
    # a road opens in village 1 (built by the measure): market and job access there
    villages[1].services["road"] = True
    infra.built_since_2016["road"][1] = True
    assert month() == ([100.0, 100.0, 110.0, 100.0], [1.0, 1.0, 1.5, 1.0])
    # a bus in village 0: job access only; village 1 keeps its road
    villages[0].services["bus"] = True
    infra.built_since_2016["bus"][0] = True
    assert month() == ([100.0, 100.0, 110.0, 100.0], [1.5, 1.5, 1.5, 1.0])
    # a road the measure did not build (there at baseline) changes nothing
    villages[0].services["road"] = True
    assert month() == ([100.0, 100.0, 110.0, 100.0], [1.5, 1.5, 1.5, 1.0])


def test_ledger_rows_in_the_order_recorded():
    led = Ledger(uses=["industry", "employment"], n_counties=3, county_names=["a", "b", "c"])
    led.receive(
        "special",
        "province",
        2016,
        3,
        np.array([1_000 * FEN, 0, 2_000 * FEN]),
        {"industry": 0.5, "employment": 0.5},
        leak_share=0.1,
    )
    led.spend("industry", 2016, 4, np.array([0, 0, 300 * FEN]))
    assert led.rows == [
        ("special", "province", "", "received", 2016, 3, 0, 100_000),
        ("special", "province", "", "received", 2016, 3, 2, 200_000),
        ("special", "province", "industry", "leaked", 2016, 3, 0, 5_000),
        ("special", "province", "employment", "leaked", 2016, 3, 0, 5_000),
        ("special", "province", "industry", "leaked", 2016, 3, 2, 10_000),
        ("special", "province", "employment", "leaked", 2016, 3, 2, 10_000),
        ("special", "province", "industry", "spent", 2016, 4, 2, 30_000),
    ]
    frame = led.frame()
    assert frame["county"].tolist() == ["a", "c", "a", "a", "c", "c", "c"]
    assert frame["amount"].tolist() == pytest.approx([1_000, 2_000, 50, 50, 100, 100, 300])
