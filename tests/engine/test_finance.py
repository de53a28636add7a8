"""Finance on hand-built households, with the expected change computed by hand."""

import pytest

from model.engine.interventions.finance import Finance, FinanceParams
from tests.conftest import make_households
from tests.fakes import FakeModel


def test_loan_interest_subsidy_and_business_income():
    p = FinanceParams(
        loans_per_year={2016: 12.0},
        loan_size=50_000,
        interest_rate=0.0435,
        loan_return=0.1,
        loan_lag_months=0,
        default_rate=0.0,
        insurance_coverage=0.0,
    )
    hh = make_households(1)
    m = FakeModel(hh, year=2016, month=2)
    m.fund("finance", 10_000)
    f = Finance(p, m)
    f.enrol(m)
    assert f.cost(m) == pytest.approx(50_000 * 0.0435)  # first year's interest committed
    f.apply(m)
    assert hh.business_m[0] == pytest.approx(50_000 * 0.1 / 12)
