"""Shipped scenarios, switched-off measures, capacities and the sign of each measure's effect."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import PovertyModel, run
from model.engine.interventions import MEASURES
from model.engine.scenario import apply_overrides, load_scenario
from tests.conftest import SCENARIOS

SHIPPED = sorted(p.name for p in Path(SCENARIOS).glob("*.toml"))


def test_every_scenario_is_shipped():
    expected = {
        "baseline.toml",
        "no_new_measures.toml",
        "employment_first.toml",
        "industry_first.toml",
        "social_security_only.toml",
        "housing_delayed.toml",
        "late_dongguan_tranche.toml",
        "leakage_10pct.toml",
        "reallocated_to_employment.toml",
        "guangdong_scale.toml",
        "guangdong.toml",
    }
    assert expected <= set(SHIPPED)
    for name in SHIPPED:
        first = (Path(SCENARIOS) / name).read_text().splitlines()[0]
        assert first.startswith("#"), f"{name} does not start with its question"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_runs_at_a_tenth(name):
    scale = 0.01 if name.startswith("guangdong") else 0.1
    r = run(load_scenario(Path(SCENARIOS) / name), seed=1, population_scale=scale)
    assert len(r.annual) == 5
    f = r.funding
    assert np.allclose(f["received"], f["spent"] + f["leaked"] + f["unspent"], atol=0.005)


@pytest.mark.parametrize("measure", [m.name for m in MEASURES])
def test_disabled_measure_has_no_cost_and_no_enrolment(baseline, measure):
    s = apply_overrides(baseline, {f"{measure}.enabled": False})
    r = run(s, seed=2, population_scale=0.02)
    assert f"spend_{measure}" not in r.monthly
    assert measure not in set(r.by_measure["measure"])
    assert not ((r.ledger["use"] == measure) & (r.ledger["kind"] == "spent")).any()


def test_disabled_measures_leave_their_state_untouched(baseline):
    off = apply_overrides(
        baseline,
        {"employment.enabled": False, "housing.enabled": False, "social_security.enabled": False},
    )
    m = PovertyModel(off, seed=2, population_scale=0.02)
    unsafe_before = (~m.households.housing_safe).sum()
    m.run_model()
    hh = m.households
    assert (hh.occupied == 0).all()  # no public posts, no ranger posts
    assert (~hh.housing_safe).sum() == unsafe_before  # no renovation
    assert not hh.enrolled_social.any()


def _exits_2018(scenario, seeds=(1, 2, 3), scale=0.05):
    return np.mean(
        [
            run(scenario, seed=s, population_scale=scale)
            .annual.set_index("year")
            .loc[2018, "cumulative_exited_people"]
            for s in seeds
        ]
    )


@pytest.mark.parametrize("measure", ["employment", "housing", "social_security", "industry"])
def test_each_measure_raises_exits(baseline, measure):
    without = apply_overrides(baseline, {f"{measure}.enabled": False})
    assert _exits_2018(baseline) > _exits_2018(without)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    places=st.integers(0, 20_000),
    posts=st.integers(0, 8_000),
    renovations=st.integers(0, 8_000),
    fund=st.sampled_from([0.0, 5_000.0, 20_000.0]),
)
def test_capacity_and_budget_never_exceeded(baseline, places, posts, renovations, fund):
    scale = 0.02
    s = apply_overrides(
        baseline,
        {
            "employment.training_places": {2016: places, 2017: places, 2018: places},
            "employment.public_posts": {2016: posts},
            "housing.renovations": {2016: renovations, 2017: 0.0},
            "funding.special_fund_per_person": fund,
        },
    )
    m = PovertyModel(s, seed=4, population_scale=scale)
    employment = next(x for x in m.measures if x.name == "employment")
    housing = next(x for x in m.measures if x.name == "housing")
    starts = {}
    renovated = {}
    while m.running:
        before_train = (employment.training_ends >= 0).sum()
        before_reno = (housing.safe_at >= 0).sum()
        m.step()
        starts[m.year] = (
            starts.get(m.year, 0) + (employment.training_ends >= 0).sum() - before_train
        )
        renovated[m.year] = renovated.get(m.year, 0) + (housing.safe_at >= 0).sum() - before_reno
        assert employment.post.sum() <= int(posts * scale)
        for pot in m.ledger.pots.values():
            assert pot.min() >= 0
    assert all(v <= places * scale + 1e-9 for v in starts.values())
    assert renovated[2016] <= renovations * scale + 1e-9 and renovated[2017] == 0
    special = m.result().funding.query("fund == 'special'")
    assert (special["spent"] <= special["received"] - special["leaked"] + 0.005).all()
