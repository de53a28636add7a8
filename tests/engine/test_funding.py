import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import PovertyModel
from model.engine.funding import FEN, SPECIAL_USES, Ledger, select_within_budget, split_fen
from model.engine.scenario import ScenarioError, apply_overrides, validate_scenario
from tests.conftest import BASELINE


def ledger(n_counties=2):
    return Ledger(
        uses=["industry", "employment"], n_counties=n_counties, county_names=["a", "b"][:n_counties]
    )


def test_receive_leak_spend_close_by_hand():
    led = ledger(1)
    # 1,000 yuan, 10% leaks: 100 leaked, 900 earmarked 2/3 industry, 1/3 employment
    led.receive(
        "special",
        "province",
        2016,
        3,
        np.array([1_000 * FEN]),
        {"industry": 2 / 3, "employment": 1 / 3},
        leak_share=0.1,
    )
    assert led.available("industry").tolist() == [600 * FEN]
    assert led.available("employment").tolist() == [300 * FEN]
    paid = led.spend("industry", 2016, 4, np.array([1_200 * FEN]))
    assert paid.tolist() == [600 * FEN]  # never more than the pot
    assert led.available("industry").tolist() == [0]
    led.close(2020, 12)
    s = led.summary().set_index("source").loc["province"]
    assert (s["received"], s["spent"], s["leaked"], s["unspent"]) == (1_000, 600, 100, 300)
    assert all(v == 0 for v in led.identity_gaps_fen().values())


def test_sources_pay_in_proportion():
    led = ledger(1)
    led.receive("special", "province", 2016, 1, np.array([300 * FEN]), {"industry": 1.0})
    led.receive("special", "paired_city", 2016, 1, np.array([100 * FEN]), {"industry": 1.0})
    led.spend("industry", 2016, 2, np.array([200 * FEN]))
    spent = led.frame().query("kind == 'spent'").set_index("source")["amount"]
    assert spent["province"] == 150 and spent["paired_city"] == 50


def test_sector_budget_pays_the_rest():
    led = ledger(1)
    led.receive("village", "shaoguan_city", 2016, 1, np.array([100 * FEN]), {"industry": 1.0})
    paid = led.spend("industry", 2016, 1, np.array([250 * FEN]), ("village",), "roads")
    assert paid.tolist() == [250 * FEN]
    s = led.summary().set_index("source")
    assert s.loc["roads", "received"] == 150 and s.loc["roads", "spent"] == 150
    assert s.loc["shaoguan_city", "spent"] == 100


def test_split_fen_and_select_within_budget():
    assert split_fen(100, np.array([1, 1, 1])).tolist() == [34, 33, 33]
    county = np.array([0, 1, 0, 0, 1])
    cost = np.array([40, 50, 40, 40, 60])
    # county 0 has 100: the first two of its three candidates (80); county 1 has 60: only 50
    taken = select_within_budget(county, cost, np.array([100, 60]))
    assert taken.tolist() == [True, True, True, False, False]


def test_special_fund_six_three_one_by_hand(baseline):
    m = PovertyModel(baseline, seed=1, population_scale=1.0)
    # labour-capable registered people: 34,179 + 30,158 (population.py reconciliation)
    assert m.treasury.labour_people == 64_337
    total = 20_000 * 64_337  # 1,286,740,000 yuan
    by_source = {}
    for items in m.treasury.schedule.values():
        for source, fen in items:
            by_source[source] = by_source.get(source, 0) + fen
    assert by_source["province"] == pytest.approx(0.6 * total * FEN, abs=6)
    assert by_source["paired_city"] == pytest.approx(0.3 * total * FEN, abs=6)
    assert by_source["home_city"] == pytest.approx(0.1 * total * FEN, abs=6)
    assert sum(by_source.values()) / FEN == pytest.approx(1_286_740_000, abs=0.1)


def _assert_pots_never_negative_and_balanced(m):
    while m.running:
        m.step()
        for pot in m.ledger.pots.values():
            assert pot.min() >= 0
    gaps = m.ledger.identity_gaps_fen()
    assert gaps and all(v == 0 for v in gaps.values()), gaps
    f = m.result().funding
    assert np.allclose(f["received"], f["spent"] + f["unspent"] + f["leaked"], atol=0.005)


allocations = st.lists(st.integers(0, 10), min_size=5, max_size=5).filter(lambda w: sum(w) > 0)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    weights=allocations,
    tranche_months=st.lists(st.integers(1, 12), min_size=1, max_size=4, unique=True),
    leakage=st.floats(0, 0.5),
    recovery=st.floats(0, 1),
    delay=st.integers(0, 30),
)
def test_ledger_identity_holds_in_every_run(
    baseline, weights, tranche_months, leakage, recovery, delay
):
    alloc = {u: w / sum(weights) for u, w in zip(SPECIAL_USES, weights, strict=True)}
    alloc[SPECIAL_USES[0]] += 1 - sum(alloc.values())  # exact sum
    tranches = {m: 1 / len(tranche_months) for m in tranche_months}
    tranches[tranche_months[0]] += 1 - sum(tranches.values())
    s = apply_overrides(
        baseline,
        {
            "funding.allocation": alloc,
            "funding.tranches": tranches,
            "funding.leakage_rate": leakage,
            "funding.audit_recovery": recovery,
            "funding.delay_months": {"paired_city": delay},
        },
    )
    _assert_pots_never_negative_and_balanced(PovertyModel(s, seed=3, population_scale=0.01))


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"funding.allocation": {"industry": 0.5, "employment": 0.4}}, "summing to 1"),
        ({"funding.allocation": {"industry": 1.2, "employment": -0.2}}, ">= 0"),
        ({"funding.allocation": {"housing": 1.0}}, "housing"),
        (
            {"funding.source_shares": {"province": 0.7, "paired_city": 0.3, "home_city": 0.1}},
            "summing to 1",
        ),
        ({"funding.tranches": {13: 1.0}}, "months 1-12"),
        (
            {"funding.allocation": {"industry": 0.5, "employment": 0.5}},
            "expected a share for every use ['industry', 'employment', 'finance', 'education', "
            "'health'] (0 for none), found none for ['finance', 'education', 'health']",
        ),
        (
            {"funding.village_allocation": {"infrastructure": 1.0}},
            "found none for ['assistance']",
        ),
    ],
)
def test_bad_funding_levers(baseline, override, fragment):
    with pytest.raises(ScenarioError, match="funding") as err:
        apply_overrides(baseline, override)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_a_use_left_out_of_a_scenario_allocation_is_refused(tmp_path):
    from model.engine.scenario import load_scenario

    path = tmp_path / "short.toml"
    path.write_text(
        f'extends = "{BASELINE}"\n[funding]\n'
        "allocation = { industry = 0.5, employment = 0.5, finance = 0.0, education = 0.0 }\n"
    )
    # the file's table merges over the baseline's, which gives health 0.1: the sum is off
    with pytest.raises(ScenarioError, match=r"funding.allocation: .*sum of 1.1"):
        load_scenario(path)
    data = {"funding": {"allocation": {"industry": 0.5, "employment": 0.5}}}
    with pytest.raises(ScenarioError) as err:
        validate_scenario(data, label="short.toml")
    assert str(err.value) == (
        "short.toml: funding.allocation: allocation: expected a share for every use "
        "['industry', 'employment', 'finance', 'education', 'health'] (0 for none), found none "
        "for ['finance', 'education', 'health']"
    )


def test_special_and_village_uses_are_the_measures_that_declare_the_pots():
    from model.engine import funding
    from model.engine.interventions import MEASURES

    special = [m.name for m in MEASURES if "special" in m.funds]
    village = [m.name for m in MEASURES if "village" in m.funds]
    assert funding.SPECIAL_USES == tuple(special)
    assert funding.SPECIAL_USES == ("industry", "employment", "finance", "education", "health")
    assert set(funding.VILLAGE_USES) == {"infrastructure", "assistance"} == set(village)
    # the default allocations give every use a share
    defaults = funding.FundingParams()
    assert set(defaults.allocation) == set(special)
    assert set(defaults.village_allocation) == set(village)


def test_an_unknown_sector_budget_is_refused_not_opened():
    led = ledger(1)
    with pytest.raises(ValueError, match="expected a sector budget among .*found 'road'"):
        led.spend("industry", 2016, 1, np.array([100]), (), sector_source="road")
    assert not led.blocks and not led.totals  # nothing was recorded
    paid = led.spend("industry", 2016, 1, np.array([100]), (), sector_source="roads")
    assert paid.tolist() == [100]


def test_treasury_delay_moves_tranches(baseline):
    late = apply_overrides(baseline, {"funding.delay_months": {"paired_city": 6}})
    m1 = PovertyModel(baseline, seed=1, population_scale=0.02)
    m2 = PovertyModel(late, seed=1, population_scale=0.02)

    def first(m, src):
        return min(i for i, items in m.treasury.schedule.items() for s, _ in items if s == src)

    assert first(m1, "paired_city") == 2  # March 2016
    assert first(m2, "paired_city") == 8  # September 2016
    assert first(m2, "province") == 2


def test_ledger_invariants_catch_corruption(baseline):
    from model.engine.invariants import InvariantError

    m = PovertyModel(baseline, seed=1, population_scale=0.01)
    for _ in range(3):
        m.step()
    pot = m.ledger.pots[("special", "province")]
    pot[0, np.argmax(pot[0])] += 100  # one yuan appears from nowhere
    with pytest.raises(InvariantError, match="ledger_identity"):
        m.step()


def test_sources_pay_in_proportion_at_province_scale():
    # amounts whose products pass 2**63 fen^2: the split stays exact
    led = ledger(1)
    led.receive("special", "province", 2016, 1, np.array([6 * 10**12]), {"industry": 1.0})
    led.receive("special", "paired_city", 2016, 1, np.array([3 * 10**12 + 1]), {"industry": 1.0})
    paid = led.spend("industry", 2016, 2, np.array([4_500_000_000_000]))
    assert paid.tolist() == [4_500_000_000_000]
    spent = {r[1]: r[7] for r in led.rows if r[3] == "spent"}
    # 4.5e12 x 6e12 / (9e12 + 1) = 2,999,999,999,999.67 -> 2,999,999,999,999 and the one fen of
    # rounding goes to the source with most left (the province)
    assert spent == {"province": 3_000_000_000_000, "paired_city": 1_500_000_000_000}
    assert led.available("industry").tolist() == [4_500_000_000_001]


def test_split_fen_rows_by_hand():
    from model.engine.funding import split_fen_rows

    rows = split_fen_rows(np.array([100, 0, 7]), np.array([1.0, 1.0, 1.0]))
    assert rows.tolist() == [[34, 33, 33], [0, 0, 0], [3, 2, 2]]
    # 0.4 / 0.6 of 5: quotas 2 and 3 exactly; of 1: 0.4 / 0.6, the larger remainder gets it
    assert split_fen_rows(np.array([5, 1]), np.array([0.4, 0.6])).tolist() == [[2, 3], [0, 1]]


def test_split_fen_rows_is_split_fen_of_each_row():
    from model.engine.funding import split_fen, split_fen_rows

    rng = np.random.default_rng(8)
    for trial in range(300):
        n = int(rng.integers(1, 12))
        # few distinct weights make ties among the remainders common
        weights = rng.choice([0.0, 1.0, 2.0, 3.0], n) if trial % 2 else rng.uniform(0, 5, n)
        totals = rng.integers(0, 10_000, int(rng.integers(0, 8)))
        rows = split_fen_rows(totals, weights)
        assert rows.shape == (totals.size, n)
        for total, row in zip(totals, rows, strict=True):
            np.testing.assert_array_equal(row, split_fen(int(total), weights))
