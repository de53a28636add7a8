import numpy as np
import pytest

from model.engine.assessment import (
    EXITED,
    LABOUR_SCATTERED,
    LABOUR_VILLAGE,
    NO_LABOUR,
    NON_POOR,
    POOR,
    RELAPSED,
    AssessmentParams,
    assess_households,
    village_passes,
)


def test_income_lines_match_the_plan():
    a = AssessmentParams()
    # §I.3: 13,360 * 1.07^3 = 16,366.6; 45% = 7,365, 60% = 9,820
    assert a.provincial_income(2018) == pytest.approx(13_360 * 1.07**3)
    assert round(a.exit_line(2018)) == 7_365
    assert round(a.village_exit_line(2018)) == 9_820
    assert a.exit_line(2016) == pytest.approx(0.45 * 13_360 * 1.07)
    # 4,000 yuan in 2014 prices is 4,060 in 2015 prices (CPI 101.5)
    assert a.poverty_line(2015) == pytest.approx(4_060)
    assert a.poverty_line(2016) == pytest.approx(4_060 * 1.02)


def _assess(**kw):
    defaults = dict(exit_line=6_000.0, relapse_line=4_800.0)
    defaults.update(kw)
    return assess_households(**defaults)


def test_exit_rules_on_hand_built_households():
    # 0: labour-capable, 6,100 >= 6,000, guarantees -> exits
    # 1: labour-capable, 5,999 < 6,000 -> stays poor
    # 2: labour-capable, rich but unsafe housing -> stays poor
    # 3: no labour, enrolled in dibao, guarantees -> exits whatever its income
    # 4: no labour, not enrolled -> stays poor
    # 5: non-poor village household -> never judged
    # 6: relapsed labour-capable household back above the line -> exits again
    group = np.array(
        [
            LABOUR_VILLAGE,
            LABOUR_SCATTERED,
            LABOUR_VILLAGE,
            NO_LABOUR,
            NO_LABOUR,
            NON_POOR,
            LABOUR_VILLAGE,
        ]
    )
    v = _assess(
        group=group,
        status=np.array([POOR, POOR, POOR, POOR, POOR, POOR, RELAPSED]),
        registered=group != NON_POOR,
        income_per_capita=np.array([6_100, 5_999, 9_000, 1_000, 9_000, 20_000, 6_000.0]),
        enrolled_social=np.array([0, 0, 0, 1, 0, 0, 0], bool),
        guarantees=np.array([1, 1, 0, 1, 1, 1, 1], bool),
    )
    assert v.exits.tolist() == [True, False, False, True, False, False, True]
    assert not v.relapses.any()


def test_relapse_rules():
    # exited households: labour income 4,700 < 4,800 relapses; 4,800 stays;
    # no-labour household that left dibao relapses; one still enrolled stays
    group = np.array([LABOUR_VILLAGE, LABOUR_VILLAGE, NO_LABOUR, NO_LABOUR])
    v = _assess(
        group=group,
        status=np.full(4, EXITED),
        registered=np.ones(4, bool),
        income_per_capita=np.array([4_700, 4_800, 100, 100.0]),
        enrolled_social=np.array([0, 0, 0, 1], bool),
        guarantees=np.ones(4, bool),
    )
    assert v.relapses.tolist() == [True, False, True, False]
    assert not v.exits.any()


def test_village_rule():
    services = {"road": True, "water": True, "clinic": False, "info_station": True}
    assert village_passes(9_900, services, ["road", "water"], 9_820)
    assert not village_passes(9_900, services, ["road", "clinic"], 9_820)
    assert not village_passes(9_819, services, ["road"], 9_820)
