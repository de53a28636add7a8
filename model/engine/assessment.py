"""Exit rules of the plan (§I.3) and the income lines they use.

All rules are vectorised over household arrays; the December assessment of a run calls
:func:`assess_households` once and lets each village judge itself with the village totals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import field_validator

from model.engine.params import Section, assumption, param, plan, statistic

#: Household status codes (``Households.status``).
POOR, EXITED, RELAPSED = 0, 1, 2

#: Household groups (``Households.group``), following §II.9.
LABOUR_VILLAGE, LABOUR_SCATTERED, NO_LABOUR, NON_POOR = 0, 1, 2, 3
GROUP_NAMES = ("labour_village", "labour_scattered", "no_labour", "village_non_poor")

#: Items of the village public-service checklist.
CHECKLIST_ITEMS = ("road", "water", "clinic", "info_station", "bus")


def labour_capable(group: np.ndarray) -> np.ndarray:
    """Whether each group code is a labour-capable group (§II.9 rows 1 and 2)."""
    return (group == LABOUR_VILLAGE) | (group == LABOUR_SCATTERED)


class AssessmentParams(Section):
    """Income lines and the exit and relapse rules."""

    provincial_rural_income_2015: float = param(
        13_360.0,
        unit="yuan/person/year (nominal)",
        source=statistic(
            "Guangdong Statistical Bulletin 2015",
            "Guangdong rural per-capita disposable income 2015; the plan's own base, §I.3",
        ),
        doc="Provincial rural per-capita disposable income in 2015.",
        gt=0,
    )
    provincial_income_growth: float = param(
        0.07,
        unit="share per year",
        source=plan("§I.3", "income grows no slower than the economy, 7%"),
        doc="Annual nominal growth of provincial rural income, which moves the exit lines.",
        range=(0.05, 0.09),
        ge=-0.2,
        le=0.5,
    )
    household_exit_share: float = param(
        0.45,
        unit="share of provincial rural income",
        source=plan("§I.3"),
        doc="Labour-capable households exit at or above this share.",
        gt=0,
        le=1,
    )
    village_exit_share: float = param(
        0.60,
        unit="share of provincial rural income",
        source=plan("§I.3"),
        doc="Villages exit at or above this share (with the service checklist).",
        gt=0,
        le=1,
    )
    poverty_line_2014: float = param(
        4_000.0,
        unit="yuan/person/year (2014 prices)",
        source=plan("§I.2"),
        doc="Relative poverty line for registration.",
        gt=0,
    )
    village_income_line_2014: float = param(
        8_000.0,
        unit="yuan/person/year (2014 prices)",
        source=plan("§I.2"),
        doc="A village is relatively poor below this per-capita income.",
        gt=0,
    )
    village_poor_share_min: float = param(
        0.05,
        unit="share of registered village population",
        source=plan("§I.2"),
        doc="A relatively poor village has at least this share of poor people.",
        ge=0,
        le=1,
    )
    price_index_2015: float = param(
        1.015,
        unit="index, 2014 = 1",
        source=statistic("Guangdong Statistical Bulletin 2015", "Guangdong CPI 2015 = 101.5"),
        doc="Converts the 2014-price lines to 2015 yuan.",
        range=(1.005, 1.025),
        gt=0,
    )
    inflation: float = param(
        0.02,
        unit="share per year",
        source=assumption("Guangdong CPI 2011-2015 averaged about 2.5%"),
        doc="Annual price growth after 2015, for the 2014-price lines (reported, not used by "
        "the exit rules, which follow provincial income).",
        ge=-0.1,
        le=0.5,
    )
    relapse_share: float = param(
        0.8,
        unit="share of the year's exit line",
        source=assumption(),
        doc="An exited labour-capable household relapses when its income falls below this "
        "share of the year's exit line.",
        range=(0.6, 1.0),
        gt=0,
        le=1.5,
    )
    require_guarantees: bool = param(
        True,
        unit="switch",
        source=plan("§I.3", "three guarantees: schooling, medical care, safe housing"),
        doc="Whether exit requires the three guarantees.",
    )
    deduct_medical_oop: bool = param(
        False,
        unit="switch",
        source=assumption("the plan is silent; surveys count medical spending as consumption"),
        doc="Whether out-of-pocket medical cost is deducted from assessed income.",
    )
    village_checklist: list[str] = param(
        default_factory=lambda: ["road", "water", "clinic", "info_station"],
        unit="names of service items",
        source=plan("§I.3, §II.5", "hardened road, safe water, clinic, information station"),
        doc=f"Services a village needs to exit; any of {', '.join(CHECKLIST_ITEMS)}.",
    )

    @field_validator("village_checklist")
    @classmethod
    def _known_items(cls, items: list[str]) -> list[str]:
        unknown = sorted(set(items) - set(CHECKLIST_ITEMS))
        if unknown:
            raise ValueError(f"expected items among {list(CHECKLIST_ITEMS)}, found {unknown}")
        return items

    def provincial_income(self, year: int) -> float:
        """Provincial rural per-capita income of ``year`` (nominal yuan)."""
        return self.provincial_rural_income_2015 * (1 + self.provincial_income_growth) ** (
            year - 2015
        )

    def exit_line(self, year: int) -> float:
        """Household exit line of ``year``: 45% of provincial rural income by default."""
        return self.household_exit_share * self.provincial_income(year)

    def village_exit_line(self, year: int) -> float:
        """Village exit line of ``year``: 60% of provincial rural income by default."""
        return self.village_exit_share * self.provincial_income(year)

    def price_index(self, year: int) -> float:
        """Price level of ``year`` relative to 2014."""
        return self.price_index_2015 * (1 + self.inflation) ** (year - 2015)

    def poverty_line(self, year: int) -> float:
        """The 4,000-yuan registration line in nominal yuan of ``year``."""
        return self.poverty_line_2014 * self.price_index(year)


@dataclass(frozen=True)
class HouseholdVerdict:
    """Outcome of one December assessment for every household (boolean masks)."""

    exits: np.ndarray
    relapses: np.ndarray


def assess_households(
    *,
    group: np.ndarray,
    status: np.ndarray,
    registered: np.ndarray,
    income_per_capita: np.ndarray,
    enrolled_social: np.ndarray,
    guarantees: np.ndarray,
    exit_line: float,
    relapse_line: float,
) -> HouseholdVerdict:
    """Apply the plan's household exit rules and the relapse rule.

    Args:
        group: Household group codes (``LABOUR_VILLAGE`` ... ``NON_POOR``).
        status: Status codes before the assessment (``POOR``, ``EXITED``, ``RELAPSED``).
        registered: True for registered poor households.
        income_per_capita: Assessed 12-month per-capita disposable income (yuan).
        enrolled_social: Enrolled in dibao or five-guarantee support.
        guarantees: The three guarantees hold (school, medical insurance, safe housing).
        exit_line: Income a labour-capable household needs to exit (yuan/person/year).
        relapse_line: Income below which an exited labour-capable household relapses.

    Returns:
        Masks of households that exit now and of exited households that relapse now.
    """
    labour = labour_capable(group)
    no_labour = group == NO_LABOUR
    qualifies = guarantees & (
        (labour & (income_per_capita >= exit_line)) | (no_labour & enrolled_social)
    )
    not_out = registered & (status != EXITED)
    exits = not_out & qualifies
    exited = registered & (status == EXITED)
    falls_back = (labour & (income_per_capita < relapse_line)) | (no_labour & ~enrolled_social)
    relapses = exited & falls_back
    return HouseholdVerdict(exits=exits, relapses=relapses)


def village_passes(
    income_per_capita: float, services: dict[str, bool], checklist: list[str], line: float
) -> bool:
    """Village exit rule: per-capita income at or above the line and every checklist item."""
    return income_per_capita >= line and all(services.get(item, False) for item in checklist)
