import numpy as np
import pytest

from model.engine.assessment import NO_LABOUR
from model.engine.dynamics import (
    DynamicsParams,
    flow_base_incomes,
    illness,
    labour_market,
    new_job_wage,
    start_of_year,
)
from tests.conftest import make_households


def test_monthly_flows_by_hand():
    hh = make_households(
        3,
        jobs=[1, 2, 0],
        workers=[1, 2, 2],
        job_wage=[1_500, 2_000, 0],
        business_annual=[1_200, 2_400, 3_600],
        property_annual=[120, 0, 0],
        transfer_annual=[0, 600, 1_200],
        farm_shock=[1.0, 0.5, 1.0],
        ill_months=[0, 2, 1],
    )
    flow_base_incomes(hh)
    # household 1 has an ill worker: one of two jobs and half of the farm work lost
    assert hh.wage_m.tolist() == [1_500, 2_000, 0]
    assert hh.business_m == pytest.approx([100, 2_400 / 12 * 0.5 * 0.5, 300 * 0.5])
    assert hh.property_m == pytest.approx([10, 0, 0])
    assert hh.transfer_m == pytest.approx([0, 50, 100])
    assert hh.monthly_income() == pytest.approx([1_610, 2_000 + 50 + 50, 150 + 100])


def test_rolling_income_per_capita():
    hh = make_households(2, size=[2, 4])
    hh.income_history[:] = np.array([100.0, 400.0])[None, :]
    hh.medical_history[3] = [240.0, 0.0]
    assert hh.rolling_income_per_capita().tolist() == [600, 1_200]
    assert hh.rolling_income_per_capita(deduct_medical=True).tolist() == [480, 1_200]


def test_labour_market_certain_rates():
    p = DynamicsParams(
        job_finding_rate=1.0, job_loss_rate=0.0, new_job_wage_2015=2_000, wage_growth=0.1
    )
    hh = make_households(
        3,
        workers=[2, 1, 0],
        jobs=[1, 0, 0],
        job_wage=[1_000, 0, 0],
        group=[0, 1, NO_LABOUR],
        skill=[0.5, 1.0, 0.5],
    )
    labour_market(hh, p, np.random.default_rng(0), 2016)
    wage = 2_000 * 1.1  # 2016 wage of a new job; skill 0.5 -> factor 1.0, skill 1 -> 1.3
    assert new_job_wage(p, 2016) == pytest.approx(wage)
    assert hh.jobs.tolist() == [2, 1, 0]  # never a job without labour capacity
    assert hh.job_wage[0] == pytest.approx((1_000 + wage) / 2)
    assert hh.job_wage[1] == pytest.approx(wage * 1.3)
    p2 = DynamicsParams(job_finding_rate=0.0, job_loss_rate=1.0)
    labour_market(hh, p2, np.random.default_rng(0), 2016)
    assert hh.jobs.tolist() == [0, 0, 0] and hh.job_wage.tolist() == [0, 0, 0]


def test_illness_cost_after_insurance():
    p = DynamicsParams.model_construct(
        illness_rate=50.0, illness_cost=10_000, insurance_reimbursement=0.6, illness_months=3
    )
    hh = make_households(2, insured=[True, False])
    ill = illness(hh, p, np.random.default_rng(0))
    assert ill.tolist() == [0, 1]
    assert hh.medical_oop_m.tolist() == pytest.approx([4_000, 10_000])
    assert hh.ill_months.tolist() == [3, 3]
    none = DynamicsParams(illness_rate=0.0)
    illness(hh, none, np.random.default_rng(0))
    assert hh.ill_months.tolist() == [2, 2] and hh.medical_oop_m.tolist() == [0, 0]


def test_illness_frequency_matches_rate():
    p = DynamicsParams(illness_rate=0.01, chronic_multiplier=3.0)
    n = 200_000
    hh = make_households(n, size=np.full(n, 2), chronic=np.arange(n) % 2 == 0)
    ill = illness(hh, p, np.random.default_rng(1))
    chronic = hh.chronic[ill].sum() / (n / 2)
    plain = (~hh.chronic[ill]).sum() / (n / 2)
    assert chronic == pytest.approx(1 - np.exp(-0.06), rel=0.05)
    assert plain == pytest.approx(1 - np.exp(-0.02), rel=0.05)


def test_start_of_year_growth_and_ageing():
    p = DynamicsParams(
        wage_growth=0.1,
        business_growth=0.05,
        property_growth=0.0,
        transfer_growth=0.02,
        farm_shock_sd_county=0,
        farm_shock_sd_household=0,
        age_out_rate=1.0,
        youth_entry_rate=1.0,
        insurance_renewal=1.0,
    )
    hh = make_households(
        2,
        job_wage=[1_000, 0],
        business_annual=[100, 200],
        transfer_annual=[50, 0],
        workers=[2, 0],
        jobs=[2, 0],
        school_children=[1, 1],
        group=[0, NO_LABOUR],
    )
    start_of_year(hh, p, np.random.default_rng(0), n_counties=1)
    assert hh.job_wage.tolist() == pytest.approx([1_100, 0])
    assert hh.business_annual.tolist() == pytest.approx([105, 210])
    assert hh.transfer_annual.tolist() == pytest.approx([51, 0])
    assert hh.farm_shock.tolist() == [1.0, 1.0]
    # every worker ages out, every child joins -- except in a household without labour capacity
    assert hh.workers.tolist() == [1, 0] and hh.elderly.tolist() == [2, 0]
    assert hh.school_children.tolist() == [0, 1]
    assert hh.jobs.tolist() == [1, 0]


def test_farm_shocks_have_mean_one():
    p = DynamicsParams(farm_shock_sd_county=0.1, farm_shock_sd_household=0.2)
    n = 100_000
    hh = make_households(n, county=np.arange(n) % 200)
    start_of_year(hh, p, np.random.default_rng(2), n_counties=200)
    assert hh.farm_shock.mean() == pytest.approx(1.0, abs=0.03)
    assert np.log(hh.farm_shock).std() == pytest.approx(np.hypot(0.1, 0.2), rel=0.05)


def test_binomial_draws_match_the_binomial():
    from model.engine.dynamics import binomial_draws

    rng = np.random.default_rng(0)
    n = np.repeat([1, 2, 4], 100_000)
    for p in (0.3, 0.01):
        draws = binomial_draws(rng, n, p)
        for k in (1, 2, 4):
            d = draws[n == k]
            assert d.max() <= k
            assert d.mean() == pytest.approx(p * k, rel=0.02 if p > 0.1 else 0.12)
            assert d.var() == pytest.approx(k * p * (1 - p), rel=0.03 if p > 0.1 else 0.12)
    assert binomial_draws(rng, np.zeros(0, int), 0.5).size == 0
    assert binomial_draws(rng, np.zeros(3, int), 0.5).tolist() == [0, 0, 0]
    assert binomial_draws(rng, np.array([2, 0, 3]), 1.0).tolist() == [2, 0, 3]
    assert binomial_draws(rng, np.array([2, 0, 3]), 0.0).tolist() == [0, 0, 0]


def test_binomial_draws_with_a_probability_per_household():
    from model.engine.dynamics import binomial_draws

    rng = np.random.default_rng(1)
    m = 200_000
    n = np.full(m, 3)
    p = np.where(np.arange(m) % 2 == 0, 0.2, 0.05)
    draws = binomial_draws(rng, n, p)
    for value in (0.2, 0.05):
        d = draws[p == value]
        assert d.mean() == pytest.approx(3 * value, rel=0.03)
        assert (d >= 2).mean() == pytest.approx(3 * value**2 * (1 - value) + value**3, rel=0.15)
    assert binomial_draws(rng, np.array([1, 2]), np.array([0.0, 1.0])).tolist() == [0, 2]


def test_bernoulli_indices_match_their_chances():
    from model.engine.dynamics import bernoulli_indices

    rng = np.random.default_rng(2)
    hits = bernoulli_indices(rng, 0.03, 300_000)
    assert hits.size == pytest.approx(9_000, rel=0.05)
    assert (np.diff(hits) > 0).all() and hits.min() >= 0 and hits.max() < 300_000
    p = np.where(np.arange(300_000) % 3 == 0, 0.06, 0.01)
    hits = bernoulli_indices(rng, p)
    assert (p[hits] == 0.06).sum() == pytest.approx(6_000, rel=0.06)
    assert (p[hits] == 0.01).sum() == pytest.approx(2_000, rel=0.1)
    assert bernoulli_indices(rng, 0.5, 0).size == 0
    assert bernoulli_indices(rng, 1.0, 3).tolist() == [0, 1, 2]
    assert bernoulli_indices(rng, np.array([0.0, 1.0, 0.0])).tolist() == [1]
    assert bernoulli_indices(rng, np.zeros(4)).size == 0
