"""Each measure on hand-built households, with the expected change computed by hand."""

import numpy as np
import pytest

from model.engine.assessment import LABOUR_VILLAGE, NO_LABOUR
from model.engine.interventions.employment import Employment, EmploymentParams
from model.engine.interventions.finance import Finance, FinanceParams
from model.engine.interventions.health import Health, HealthParams
from model.engine.interventions.housing import Housing, HousingParams
from model.engine.interventions.industry import Industry, IndustryParams
from model.engine.interventions.social_security import SocialSecurity, SocialSecurityParams
from tests.conftest import make_households
from tests.fakes import FakeModel


def test_public_posts_pay_the_wage_and_occupy_a_worker():
    hh = make_households(3, workers=[1, 1, 2], jobs=[0, 1, 0])
    hh.income_history[:] = np.array([100.0, 900.0, 50.0])[None, :]
    m = FakeModel(hh, year=2016, month=1)
    m.fund("employment", 10_000)
    p = EmploymentParams(
        public_posts={2016: 1.0}, training_places={2016: 0.0}, public_post_wage=1_210.0
    )
    e = Employment(p, m)
    e.enrol(m)
    # one post, to the poorest household with a free worker (household 1 has no free worker)
    assert e.post.tolist() == [False, False, True]  # 50/2 < 100/2 per person
    assert hh.occupied.tolist() == [0, 0, 1] and hh.job_seekers.tolist() == [1, 0, 1]
    e.apply(m)
    assert hh.wage_m.tolist() == [0, 0, 1_210]
    assert e.cost(m) == 1_210
    assert m.ledger.available("employment").tolist() == [(10_000 - 1_210) * 100]


def test_training_within_budget_and_completion():
    hh = make_households(4, workers=[1, 1, 1, 1], skill=[0.5] * 4)
    m = FakeModel(hh, year=2016, month=12)
    m.fund("employment", 6_500)  # pays two places of 3,000, not three
    p = EmploymentParams(
        training_places={2016: 12.0},
        public_posts={2016: 0.0},
        training_cost=3_000,
        completion_rate=1.0,
        skill_gain=0.2,
        training_months=2,
    )
    e = Employment(p, m)
    e.enrol(m)
    started = e.training_ends >= 0
    assert started.sum() == 2 and e.cost(m) == 6_000
    m.month_index += 2
    e.enrol(m)
    assert np.allclose(hh.skill[started], 0.7) and np.allclose(hh.skill[~started], 0.5)


def test_placement_adds_a_job_at_the_new_job_wage():
    hh = make_households(1, workers=[1], jobs=[0], skill=[0.5])
    m = FakeModel(hh, year=2016)
    m.fund("employment", 5_000)
    p = EmploymentParams(
        placement_rate=1.0,
        migrant_share=0.0,
        firm_reward=1_000,
        placement_cost=800,
        training_places={2016: 0.0},
        public_posts={2016: 0.0},
    )
    Employment(p, m).respond(m)
    assert hh.jobs.tolist() == [1]
    assert hh.job_wage[0] == pytest.approx(1_800 * 1.08)  # 2016 wage, skill 0.5 -> factor 1
    assert m.ledger.available("employment").tolist() == [(5_000 - 1_800) * 100]


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


def test_dibao_classes_by_hand():
    p = SocialSecurityParams(
        dibao_standard={2016: 4_800.0},
        disability_subsidy=0.0,
        pension_increase={2016: 0.0},
        class2_floor=0.9,
    )
    # monthly standard 400/person; own incomes per person: 100 (class 2 and 3), 390 (class 2)
    hh = make_households(3, group=[LABOUR_VILLAGE] * 3, size=[2, 2, 2], dibao_class=[3, 2, 2])
    hh.business_m[:] = [200.0, 200.0, 780.0]
    m = FakeModel(hh, year=2016)
    s = SocialSecurity(p, m)
    pay = s.monthly_payment(m)
    # class 3: the gap (400 - 100) x 2; class 2: max(gap, 0.9 x 400) x 2
    assert pay.tolist() == pytest.approx([600.0, 720.0, 720.0])


def test_labour_households_below_standard_enter_class_2_or_3():
    p = SocialSecurityParams(
        dibao_standard={2016: 4_800.0}, labour_take_up=1.0, inclusion_error=0.0
    )
    hh = make_households(
        3, group=[LABOUR_VILLAGE] * 3, size=[1, 1, 1], chronic=[True, False, False]
    )
    # January: last month's recorded income (December's row) is 1,200 / 1,200 / 6,000 a year;
    # this month's flows (not yet written when households enrol) must not count
    hh.income_history[11] = [100.0, 100.0, 500.0]
    hh.business_m[:] = [0.0, 0.0, 0.0]
    m = FakeModel(hh, year=2016, month=1)
    SocialSecurity(p, m).enrol(m)
    assert hh.dibao_class.tolist() == [2, 3, 0]


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


def test_five_guarantee_and_no_labour_never_get_jobs(baseline):
    from model import PovertyModel

    m = PovertyModel(baseline, seed=5, population_scale=0.02)
    m.run_model()
    hh = m.households
    assert (hh.jobs[hh.group == NO_LABOUR] == 0).all()
    assert (hh.occupied[hh.group == NO_LABOUR] == 0).all()
    assert (hh.jobs <= hh.workers).all()


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


def test_quota_paces_each_counter_by_month_and_restarts_each_year():
    """floor(capacity * month / 12) may have started by each month, counted per programme."""
    from model.engine.interventions.base import Measure, MeasureParams

    m = FakeModel(make_households(1), year=2016, month=1, scale=0.5)
    measure = Measure(MeasureParams(), m)
    yearly = {2016: 30.0, 2017: 6.0}  # 15 and 3 at scale 0.5
    started = 0
    for month in range(1, 13):
        m.month = month
        q = measure.quota(m, yearly, "roads")
        assert q == int(15 * month / 12) - started  # by hand: 1, 2, 3, 5, 6, 7, 8, ...
        measure.count_started(m, q, "roads")
        started += q
    assert started == 15
    assert measure.quota(m, yearly, "water") == 15  # another programme is paced apart
    m.year, m.month = 2017, 1
    assert measure.started_this_year(m, "roads") == 0
    assert measure.quota(m, yearly, "roads") == 0  # floor(3 / 12)
    m.month = 4
    assert measure.quota(m, yearly, "roads") == 1


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
