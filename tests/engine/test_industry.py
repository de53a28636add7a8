"""Industry on hand-built households, with the expected change computed by hand."""

import numpy as np
import pytest

from model.engine.interventions.industry import Industry, IndustryParams
from tests.conftest import make_households
from tests.fakes import FakeModel


def test_household_project_income_after_lag():
    hh = make_households(2, farm_shock=[1.2, 1.2])
    m = FakeModel(hh, year=2016, month=1)
    m.fund("industry", 10_000)
    p = IndustryParams(
        projects_per_year={2016: 24.0},
        project_investment=10_000,
        project_return=0.36,
        project_lag_months=12,
        project_failure=0.0,
        shares_per_year={2016: 0.0},
        extension_uplift=0.0,
        extension_cost=0.0,
        tourism_villages_per_year={2016: 0.0},
        ecommerce_villages_per_year={2016: 0.0},
    )
    ind = Industry(p, m)
    ind.enrol(m)
    assert (ind.project_start >= 0).sum() == 1  # the budget pays one project
    ind.apply(m)
    assert hh.business_m.tolist() == [0, 0]  # lag not over
    m.month_index += 12
    ind.apply(m)
    assert sorted(hh.business_m.tolist()) == pytest.approx([0, 10_000 * 0.36 / 12 * 1.2])


def test_only_started_projects_mature():
    # the month before the first projects mature, households without a project draw nothing
    hh = make_households(3)
    m = FakeModel(hh, year=2016, month=12)  # month index 11 = lag - 1
    p = IndustryParams(
        projects_per_year={2016: 0.0},
        shares_per_year={2016: 0.0},
        project_lag_months=12,
        project_failure=1.0,
        tourism_villages_per_year={2016: 0.0},
        ecommerce_villages_per_year={2016: 0.0},
    )
    ind = Industry(p, m)
    ind.project_start[1] = 0  # started in January 2016: matures in January 2017
    ind.enrol(m)
    assert not ind.project_failed.any()
    m.month_index, m.year, m.month = 12, 2017, 1
    ind.enrol(m)
    assert ind.project_failed.tolist() == [False, True, False]


def test_extension_uplift_only_in_the_share_paid():
    """Unpaid in January (no money yet), half paid in February, the rest in March."""
    from types import SimpleNamespace

    hh = make_households(3, village=np.array([0, 0, -1], np.int16))
    village = SimpleNamespace(county=0, services={"road": False, "info_station": False})
    m = FakeModel(hh, year=2016, month=1, villages=[village])
    p = IndustryParams(
        projects_per_year={2016: 0.0},
        shares_per_year={2016: 0.0},
        tourism_villages_per_year={2016: 0.0},
        ecommerce_villages_per_year={2016: 0.0},
        extension_uplift=0.05,
        extension_cost=200.0,
    )
    ind = Industry(p, m)

    def month_of_business_income() -> list[float]:
        hh.business_m[:] = 1_000.0
        ind.apply(m)
        return hh.business_m.tolist()

    ind.enrol(m)
    assert month_of_business_income() == [1_000.0, 1_000.0, 1_000.0]
    m.month, m.month_index = 2, 1
    m.fund("industry", 200.0)  # half of 2 households x 200 yuan
    ind.enrol(m)
    assert ind.extension_paid[0] == pytest.approx(0.5)
    assert month_of_business_income() == pytest.approx([1_025.0, 1_025.0, 1_000.0])
    m.month, m.month_index = 3, 2
    m.fund("industry", 1_000.0)
    ind.enrol(m)
    assert month_of_business_income() == pytest.approx([1_050.0, 1_050.0, 1_000.0])
    spent = m.ledger.totals[("special", "province", "spent")]
    assert spent == 400 * 100  # fen: the year's 200 yuan for each of the 2, paid once
    m.month, m.month_index = 4, 3
    ind.enrol(m)
    assert m.ledger.totals[("special", "province", "spent")] == spent
    m.year, m.month, m.month_index = 2017, 1, 12  # a new year: its extension is paid again
    ind.enrol(m)
    assert m.ledger.totals[("special", "province", "spent")] == 2 * spent
