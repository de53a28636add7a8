import numpy as np
import pytest

from model.engine.assessment import LABOUR_VILLAGE, NO_LABOUR
from model.engine.interventions.social_security import SocialSecurity, SocialSecurityParams
from tests.conftest import make_households
from tests.fakes import FakeModel


def test_payments_by_hand():
    p = SocialSecurityParams(
        dibao_standard={2016: 3_600.0, 2017: 4_800.0}, wubao_standard={2016: 6_000.0}
    )
    hh = make_households(
        3, group=[NO_LABOUR] * 3, size=[3, 1, 2], dibao_class=[1, 0, 0], wubao=[False, True, False]
    )
    m = FakeModel(hh, year=2018)  # 2018 not in the table: the 2017 value holds
    s = SocialSecurity(p, m)
    s.apply(m)
    assert hh.transfer_m.tolist() == pytest.approx([3 * 400, 500, 0])
    assert s.cost(m) == pytest.approx(1_700)


def test_enrolment_only_eligible():
    # classes 2 and 3 (labour-capable households below the standard) switched off here
    p = SocialSecurityParams(enrolment_rate=1.0, labour_take_up=0.0, inclusion_error=0.0)
    hh = make_households(
        4,
        group=[NO_LABOUR, NO_LABOUR, NO_LABOUR, LABOUR_VILLAGE],
        size=[1, 2, 2, 2],
        elderly=[1, 0, 0, 0],
        social_excluded=[False, False, True, False],
    )
    m = FakeModel(hh)
    SocialSecurity(p, m).enrol(m)
    assert hh.wubao.tolist() == [True, False, False, False]  # single elderly: five-guarantee
    assert hh.dibao_class.tolist() == [0, 1, 0, 0]  # excluded and labour-capable left out


def test_enrolment_rate_is_a_monthly_probability():
    p = SocialSecurityParams(enrolment_rate=0.25)
    n = 40_000
    hh = make_households(n, group=np.full(n, NO_LABOUR), size=np.full(n, 2))
    m = FakeModel(hh, seed=3)
    s = SocialSecurity(p, m)
    s.enrol(m)
    s.enrol(m)
    # after two months 1 - 0.75^2 = 43.75% enrolled
    assert hh.enrolled_social.mean() == pytest.approx(0.4375, abs=0.01)


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
