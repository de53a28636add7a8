"""Social security (§II.3): rural dibao and five-guarantee (wubao, 特困) support.

Households without labour capacity leave poverty by enrolment ("兜底"). Enrolment proceeds each
month at a take-up rate among the eligible who are not missed by targeting (exclusion error).
Class 1 dibao households receive the full local rural dibao standard per person; five-guarantee
members receive the five-guarantee standard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.interventions.base import Measure, MeasureParams
from model.params import YearTable, param, year_value

if TYPE_CHECKING:
    from model.simulation import PovertyModel

PLAN = "Shaoguan plan 2016"
STANDARD_SOURCE = (
    "assumption: Shaoguan's rural dibao standard was about 3,600 yuan/person/year in 2015 and "
    f"is raised every year ({PLAN}, §II.3); range +-15%"
)


class SocialSecurityParams(MeasureParams):
    """Dibao and five-guarantee levers and uncertainties."""

    dibao_standard: YearTable = param(
        default_factory=lambda: {2016: 3_960.0, 2017: 4_440.0, 2018: 4_920.0},
        unit="yuan/person/year",
        source=STANDARD_SOURCE,
        doc="Local rural dibao standard by year (class 1 receives it in full); a year missing "
        "from the table keeps the previous year's value.",
        kind="lever",
    )
    wubao_standard: YearTable = param(
        default_factory=lambda: {2016: 6_000.0, 2017: 6_600.0, 2018: 7_200.0},
        unit="yuan/person/year",
        source=f"assumption: five-guarantee support above dibao and raised yearly ({PLAN}, §II.3)",
        doc="Rural five-guarantee (特困) support standard by year.",
        kind="lever",
    )
    dibao_standard_2015: float = param(
        3_600.0,
        unit="yuan/person/year",
        source=STANDARD_SOURCE,
        doc="Dibao standard in force in 2015 (baseline incomes).",
        range=(3_000.0, 4_000.0),
        gt=0,
    )
    wubao_standard_2015: float = param(
        3_900.0,
        unit="yuan/person/year",
        source="assumption (five-guarantee support in 2015, below the 4,060-yuan line)",
        range=(3_600.0, 4_050.0),
        gt=0,
    )
    baseline_coverage: float = param(
        0.60,
        unit="share of households without labour capacity enrolled at the end of 2015",
        source="assumption",
        range=(0.4, 0.8),
        ge=0,
        le=1,
    )
    enrolment_rate: float = param(
        0.25,
        unit="probability per eligible household per month",
        source=f"assumption: the plan brings all eligible into dibao ({PLAN}, §II.3, §I.3)",
        range=(0.05, 0.5),
        kind="lever",
        ge=0,
        le=1,
    )
    exclusion_error: float = param(
        0.02,
        unit="share of eligible households never enrolled",
        source="assumption (targeting error)",
        range=(0.0, 0.1),
        ge=0,
        le=1,
    )


class SocialSecurity(Measure):
    """Dibao and five-guarantee enrolment and payments."""

    name = "social_security"
    Params = SocialSecurityParams

    @classmethod
    def switch_off(cls, model: PovertyModel) -> None:
        """Without the measure nobody is in dibao or five-guarantee support."""
        model.households.dibao_class[:] = 0
        model.households.wubao[:] = False

    def enrol(self, model: PovertyModel) -> None:
        """Enrol eligible households without labour capacity at the take-up rate."""
        hh = model.households
        p: SocialSecurityParams = self.params
        eligible = np.flatnonzero(hh.no_labour & ~hh.enrolled_social & ~hh.social_excluded)
        if eligible.size == 0:
            return
        take = eligible[model.rng.random(eligible.size) < p.enrolment_rate]
        five_guarantee = (hh.size[take] == 1) & (hh.elderly[take] >= 1)
        hh.wubao[take[five_guarantee]] = True
        hh.dibao_class[take[~five_guarantee]] = 1

    def monthly_payment(self, model: PovertyModel) -> np.ndarray:
        """This month's payment per household (yuan)."""
        hh = model.households
        p: SocialSecurityParams = self.params
        dibao = year_value(p.dibao_standard, model.year) / 12
        wubao = year_value(p.wubao_standard, model.year) / 12
        per_person = np.where(hh.wubao, wubao, np.where(hh.dibao_class == 1, dibao, 0.0))
        return per_person * hh.size

    def apply(self, model: PovertyModel) -> None:
        """Add dibao and five-guarantee payments to transfer income."""
        self._paid = self.monthly_payment(model)
        model.households.transfer_m += self._paid

    def cost(self, model: PovertyModel) -> float:
        """Payments of this month."""
        return float(self._paid.sum())

    def enrolled_mask(self, model: PovertyModel) -> np.ndarray:
        """Households in dibao or five-guarantee support."""
        return model.households.enrolled_social
