"""December's tables against the same figures counted with plain boolean masks, every year.

The recorder keeps what changes only with the register between Decembers: with the living
register (which changes the register every year) each December is checked after a change, and
without it every December after the first reads the indices kept from the first.
"""

import numpy as np
import pytest

from model import PovertyModel, load_scenario
from model.engine.assessment import EXITED, GROUP_NAMES
from model.engine.households import INCOME_COMPONENTS
from model.engine.population import PARTIES
from tests.conftest import ROOT

FEEDBACK = ROOT / "scenarios" / "feedback.toml"


def _by_hand(m, income_pc):
    """The year's figures from the arrays, one mask each (no index kept between years)."""
    hh = m.households
    size = hh.size.astype(np.int64)
    reg = hh.registered
    out = reg & (hh.status == EXITED)
    labour = (hh.group == 0) | (hh.group == 1)
    party = np.full(hh.n, -1)
    for v in m.villages:
        party[hh.village == v.index] = PARTIES.index(v.party)
    groups = {}
    for g, name in enumerate(GROUP_NAMES):
        mask = hh.group == g
        if size[mask].sum():
            groups[name] = {
                "households": int(mask.sum()),
                "people": int(size[mask].sum()),
                "cumulative_exited_people": int(size[mask & out].sum()),
                "mean_per_capita_income": (income_pc * size)[mask].sum() / size[mask].sum(),
                **{
                    f"{c}_per_capita": hh.year_components[k][mask].sum() / size[mask].sum()
                    for k, c in enumerate(INCOME_COMPONENTS)
                },
            }
    parties = {}
    for p, name in enumerate(PARTIES):
        here = party == p
        people = size[reg & here].sum()
        workers = size[labour & here].sum()
        parties[name] = {
            "registered_people": int(people),
            "cumulative_exited_people": int(size[out & here].sum()),
            "mean_per_capita_income_poor": (income_pc * size)[reg & here].sum() / people
            if people
            else np.nan,
            "mean_per_capita_income_labour_capable": (income_pc * size)[labour & here].sum()
            / workers
            if workers
            else np.nan,
        }
    counties = {
        c: {
            "registered_people": int(size[reg & (hh.county == c)].sum()),
            "cumulative_exited_people": int(size[out & (hh.county == c)].sum()),
        }
        for c in range(m.n_counties)
    }
    annual = {
        "cumulative_exited_people": int(size[out].sum()),
        "cumulative_exited_households": int(out.sum()),
        "remaining_poor_people": int(size[reg].sum() - size[out].sum()),
        "mean_per_capita_income_poor": (income_pc * size)[reg].sum() / size[reg].sum(),
        "mean_per_capita_income_labour_capable": (income_pc * size)[labour].sum()
        / size[labour].sum(),
    }
    return annual, groups, parties, counties


@pytest.mark.parametrize(
    ("scenario_file", "register_moves"),
    [(FEEDBACK, True), (ROOT / "scenarios" / "baseline.toml", False)],
    ids=["register changes every year", "register fixed"],
)
def test_year_tables_equal_plain_masks_every_december(scenario_file, register_moves):
    scenario = load_scenario(scenario_file)
    assert scenario.living_register.enabled == register_moves
    m = PovertyModel(scenario, seed=4, population_scale=0.01)
    registers, kept = [], []
    while m.running:
        m.step()
        if m.month != 12:
            continue
        rec = m.recorder
        income_pc = m.households.rolling_income_per_capita(
            deduct_medical=m.scenario.assessment.deduct_medical_oop
        )
        annual, groups, parties, counties = _by_hand(m, income_pc)
        registers.append(int(m.households.registered.sum()))
        kept.append(rec._fixed)
        row = rec.annual[-1]
        assert row["year"] == m.year
        for key, value in annual.items():  # the same sums in the same order: equal exactly
            assert row[key] == value, (m.year, key)
        year_groups = {r["group"]: r for r in rec.by_group if r["year"] == m.year}
        assert set(year_groups) == set(groups)
        for name, want in groups.items():
            for key, value in want.items():
                assert year_groups[name][key] == value, (m.year, name, key)
        year_parties = {r["party"]: r for r in rec.by_party if r["year"] == m.year}
        assert set(year_parties) == set(PARTIES)
        for name, want in parties.items():  # the recorder sums by party in index order
            for key, value in want.items():
                assert year_parties[name][key] == pytest.approx(value, rel=1e-12, nan_ok=True)
        year_counties = [r for r in rec.by_county if r["year"] == m.year]
        assert len(year_counties) == m.n_counties
        for c, row_c in enumerate(year_counties):
            for key, value in counties[c].items():
                assert row_c[key] == value, (m.year, c, key)
    assert len(registers) == 5
    if register_moves:  # each December after a change: the indices were made anew each time
        assert len(set(registers)) == 5
        assert len({id(k) for k in kept}) == 5
    else:  # one register all run: the indices made in the first December served every year
        assert len(set(registers)) == 1
        assert all(k is kept[0] for k in kept)
