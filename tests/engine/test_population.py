import numpy as np
import pytest

from model.engine.assessment import LABOUR_SCATTERED, LABOUR_VILLAGE, NO_LABOUR, NON_POOR
from model.engine.population import PARTIES, apportion, build_population, scaled_group_counts

PLAN_ROWS = {  # Shaoguan plan 2016, §II.9
    LABOUR_VILLAGE: (10_000, 34_000),
    LABOUR_SCATTERED: (9_000, 30_000),
    NO_LABOUR: (19_000, 31_000),
}


def test_apportion_hand_computed():
    # 38,500 * 10/38 = 10131.58, * 9/38 = 9118.42, * 19/38 = 19250 -> remainders .58 > .42
    assert apportion(38_500, [10_000, 9_000, 19_000]).tolist() == [10_132, 9_118, 19_250]
    assert apportion(95_500, [34_000, 30_000, 31_000]).tolist() == [34_179, 30_158, 31_163]
    assert apportion(7, [1, 1, 1]).sum() == 7


@pytest.fixture(scope="module", params=[1.0, 0.1])
def population(request, baseline):
    return request.param, build_population(baseline, request.param, np.random.default_rng(3))


def test_headline_totals_exact(population):
    scale, pop = population
    hh = pop.households
    assert hh.registered.sum() == round(38_500 * scale)
    assert hh.size[hh.registered].sum() == round(95_500 * scale)


def test_group_split_within_rounding(population, baseline):
    scale, pop = population
    hh = pop.households
    for group, (households, people) in PLAN_ROWS.items():
        mask = hh.group == group
        # the plan's rows add to 38,000 / 95,000 against the 38,500 / 95,500 headline:
        # the reconciliation may move each row by at most the 500-unit gap spread pro rata
        assert abs(mask.sum() - households * scale) <= 0.014 * households * scale + 1
        assert abs(hh.size[mask].sum() - people * scale) <= 0.014 * people * scale + 1
    counts = scaled_group_counts(baseline.population, scale)
    assert sum(c[1] for c in counts) == round(38_500 * scale)


def test_villages_by_party_and_county(population, baseline):
    scale, pop = population
    v = pop.villages
    assert v.n == round(278 * scale)
    by_party = np.bincount(v.party, minlength=3)
    expected = apportion(v.n, [40, 209, 29])
    assert by_party.tolist() == expected.tolist()
    if scale == 1.0:
        assert dict(zip(PARTIES, by_party.tolist(), strict=True)) == {
            "province": 40,
            "dongguan": 209,
            "shaoguan": 29,
        }
    ruyuan = pop.county_names.index("ruyuan")
    assert not (v.county == ruyuan).any()  # §II.10: Ruyuan has no poor village
    hh = pop.households
    assert ((hh.group == NON_POOR) <= (hh.village >= 0)).all()


def test_every_village_meets_the_plan_definition(population, baseline):
    _, pop = population
    hh = pop.households
    total = hh.income_history.sum(axis=0)
    in_v = hh.village >= 0
    people = np.bincount(hh.village[in_v], hh.size[in_v], pop.villages.n)
    poor = np.bincount(
        hh.village[in_v & hh.registered], hh.size[in_v & hh.registered], pop.villages.n
    )
    income = np.bincount(hh.village[in_v], total[in_v], pop.villages.n)
    assert (poor / people >= 0.05).all()
    assert (income / people < 8_000 * 1.015).all()  # 8,000 yuan in 2014 prices
    assert (poor >= 1).all()


def test_registered_poor_below_line_and_composition(population):
    _, pop = population
    hh = pop.households
    pc = hh.income_history.sum(axis=0) / hh.size
    assert (pc[hh.registered] < 4_000 * 1.015).all()
    assert (pc[~hh.registered] >= 4_000 * 1.015).all()
    assert (hh.workers[hh.group == NO_LABOUR] == 0).all()
    assert (hh.workers[hh.labour_capable] >= 1).all()
    assert (hh.workers + hh.school_children + hh.elderly == hh.size).all()
    assert (hh.jobs <= hh.workers).all()
    # income decomposes exactly into the four components (2015, before shocks)
    social = hh.income_history.sum(axis=0) - (
        hh.jobs * hh.job_wage * 12 + hh.business_annual + hh.property_annual + hh.transfer_annual
    )
    assert np.allclose(social[~hh.enrolled_social], 0, atol=1e-6)
    assert (social[hh.enrolled_social] > 0).all()


def test_unsafe_housing_matches_plan_renovations(baseline):
    pop = build_population(baseline, 1.0, np.random.default_rng(5))
    hh = pop.households
    unsafe = (~hh.housing_safe & hh.registered).sum()
    # §II.7: 4,541 + 3,293 renovations planned for 38,500 households
    assert abs(unsafe - 7_834) < 4 * np.sqrt(7_834)


def test_same_stream_same_population(baseline):
    a = build_population(baseline, 0.1, np.random.default_rng(9)).households
    b = build_population(baseline, 0.1, np.random.default_rng(9)).households
    assert np.array_equal(a.size, b.size) and np.array_equal(a.income_history, b.income_history)


def test_scale_out_of_range(baseline):
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        build_population(baseline, 0.0, np.random.default_rng(1))


def test_a_scale_with_empty_groups_or_counties_is_refused():
    from model.engine.population import (
        PopulationError,
        build_population,
        population_gaps,
        smallest_scale,
    )
    from model.engine.scenario import Scenario

    pop = Scenario().population
    # 38,500 households x 1e-5 rounds to none: every group and every county is empty
    assert population_gaps(pop, 1e-5) == [
        *(f"group {name}" for name, _, _ in pop.group_counts()),
        *(f"county {name}" for name, c in pop.counties.items() if c.scattered_weight > 0),
    ]
    assert population_gaps(pop, 0.01) == []
    s = smallest_scale(pop)
    assert population_gaps(pop, s) == [] and population_gaps(pop, s * 0.98) != []
    with pytest.raises(PopulationError, match="use at least"):
        build_population(Scenario(), s * 0.98, np.random.default_rng(1))
    # at the smallest scale counties are drawn at random: a run either has every county or is
    # refused, never run with an empty one
    for seed in range(5):
        try:
            pop_s = build_population(Scenario(), s, np.random.default_rng(seed))
        except PopulationError as err:
            assert "found none drawn in county" in str(err)
        else:
            reg = pop_s.households.registered
            assert np.all(np.bincount(pop_s.households.county[reg], minlength=10) > 0)
