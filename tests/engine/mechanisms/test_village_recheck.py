"""Villages re-checked each December on hand-built villages and households."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from model.engine.assessment import EXITED, NON_POOR, POOR
from model.engine.mechanisms.village_recheck import (
    VillageRecheck,
    VillageRecheckParams,
    falls_back,
    village_poor_share,
)
from tests.conftest import make_households
from tests.fakes import FakeModel

LINE = 9_000.0
ALL_SERVICES = {"road": True, "water": True, "clinic": True, "info_station": True, "bus": True}


def _village(index, exit_year, county=0, **services):
    return SimpleNamespace(
        index=index,
        county=county,
        exited=exit_year > 0,
        exit_year=exit_year,
        services={**ALL_SERVICES, **services},
    )


def test_falls_back_only_on_income_checklist_or_poor_share_and_only_earlier_exits():
    relapsed = falls_back(
        earlier_exit=np.array([True, True, True, True, False]),
        income_pc=np.array([9_500, 8_900, 9_500, 9_500, 5_000.0]),
        line=LINE,
        income_share=1.0,
        checklist_ok=np.array([True, True, False, True, True]),
        poor_share=np.array([0.10, 0.10, 0.10, 0.13, 0.50]),
        poor_share_at_exit=np.array([0.09, 0.10, 0.10, 0.10, 0.10]),
        poor_share_rise=0.02,
    )
    # 0 passes (rise 0.01); 1 income below; 2 service missing; 3 rise 0.03 > 0.02;
    # 4 exited this year (or never): not re-checked
    assert relapsed.tolist() == [False, True, True, True, False]


def test_recheck_counts_again_and_records_share_at_exit():
    # village 0: 4 households of 2, one poor (share 0.25); village 1: all out (share 0)
    hh = make_households(
        8,
        village=[0, 0, 0, 0, 1, 1, 1, 1],
        group=[0, 0, NON_POOR, NON_POOR, 0, 0, NON_POOR, NON_POOR],
        registered=[True, True, False, False, True, True, False, False],
        status=[POOR, EXITED, POOR, POOR, EXITED, EXITED, POOR, POOR],
        exit_year=[0, 2016, 0, 0, 2016, 2017, 0, 0],
    )
    villages = [_village(0, 2016), _village(1, 2017, county=1)]
    m = FakeModel(hh, year=2017, month=12, n_counties=2, villages=villages)
    assert village_poor_share(m).tolist() == [0.25, 0.0]
    mech = VillageRecheck(VillageRecheckParams(enabled=True), m)
    mech.poor_share_at_exit[0] = 0.20  # village 0 exited in 2016 with 20% poor
    mech.after_village_assessment(m, np.array([9_500.0, 9_500.0]), LINE)
    # village 0: share 0.25 > 0.20 + 0.02 -> counted again; village 1 exited this year
    assert [v.exited for v in villages] == [False, True]
    assert villages[0].exit_year == 0
    assert mech.poor_share_at_exit.tolist() == [0.20, 0.0]
    assert mech.annual_row(m) == {"villages_relapsed": 1, "villages_ever_relapsed": 1}
    assert mech.county_rows(m) == [{"villages_relapsed": 1}, {"villages_relapsed": 0}]
    assert mech.invariant_checks()["relapsed_villages_not_exited"](m) is None
    # the next year village 1 falls below the line; village 0 is poor, not re-checked
    m.year = 2018
    mech.after_village_assessment(m, np.array([5_000.0, 8_000.0]), LINE)
    assert [v.exited for v in villages] == [False, False]
    assert mech.annual_row(m) == {"villages_relapsed": 1, "villages_ever_relapsed": 2}


def test_checklist_can_be_left_out_of_the_recheck():
    hh = make_households(2, village=[0, 0], status=[EXITED, EXITED], exit_year=[2016, 2016])
    villages = [_village(0, 2016, road=False)]
    m = FakeModel(hh, year=2017, month=12, villages=villages)
    mech = VillageRecheck(VillageRecheckParams(enabled=True, require_checklist=False), m)
    mech.after_village_assessment(m, np.array([9_500.0]), LINE)
    assert villages[0].exited
    mech = VillageRecheck(VillageRecheckParams(enabled=True), m)
    mech.after_village_assessment(m, np.array([9_500.0]), LINE)
    assert not villages[0].exited
