"""Employment on hand-built households, with the expected change computed by hand."""

import numpy as np
import pytest

from model.engine.interventions.employment import Employment, EmploymentParams
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
