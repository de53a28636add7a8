"""Social security (§II.3): dibao in three classes, five-guarantee support, subsidies, pensions.

Five-guarantee support is wubao (特困); disability subsidies are paid on top of dibao.

Households without labour capacity leave poverty by enrolment ("兜底"): they are enrolled each
month at a take-up rate, except those missed by targeting (exclusion error); single elderly
members get five-guarantee support, the others class 1 dibao at the full standard per person.
Labour-capable registered households whose own income falls below the standard enter class 2
(weak labour: chronic illness or disability) paid at least ``class2_floor`` of the standard, or
class 3 (temporarily without income) paid the difference; a few above it are enrolled by mistake
(inclusion error). Classes 2 and 3 are reviewed each December. Disability living subsidies are
paid on top of dibao. Money: the ``dibao`` sector budget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.engine import draws
from model.engine.interventions.base import Measure, MeasureParams
from model.engine.params import YearTable, assumption, param, plan, year_value

if TYPE_CHECKING:
    from model.engine.simulation import PovertyModel

PLAN = "Shaoguan plan 2016"
STANDARD_NOTE = (
    "Shaoguan's rural dibao standard was about 3,600 yuan/person/year in 2015 and is raised "
    f"every year: {PLAN}, §II.3"
)


class SocialSecurityParams(MeasureParams):
    """Dibao and five-guarantee levers and uncertainties."""

    dibao_standard: YearTable = param(
        default_factory=lambda: {2016: 3_960.0, 2017: 4_440.0, 2018: 4_920.0},
        unit="yuan/person/year",
        source=assumption(STANDARD_NOTE, range=(3_350.0, 5_650.0)),
        doc="Local rural dibao standard by year (class 1 receives it in full); a year missing "
        "from the table keeps the previous year's value.",
        kind="lever",
    )
    wubao_standard: YearTable = param(
        default_factory=lambda: {2016: 6_000.0, 2017: 6_600.0, 2018: 7_200.0},
        unit="yuan/person/year",
        source=assumption(
            f"five-guarantee support above dibao and raised yearly: {PLAN}, §II.3",
            range=(5_000.0, 8_500.0),
        ),
        doc="Rural five-guarantee (特困) support standard by year.",
        kind="lever",
    )
    dibao_standard_2015: float = param(
        3_600.0,
        unit="yuan/person/year",
        source=assumption(STANDARD_NOTE),
        doc="Dibao standard in force in 2015 (baseline incomes).",
        range=(3_000.0, 4_000.0),
        gt=0,
    )
    wubao_standard_2015: float = param(
        3_900.0,
        unit="yuan/person/year",
        source=assumption("five-guarantee support in 2015, below the 4,060-yuan line"),
        range=(3_600.0, 4_050.0),
        gt=0,
    )
    baseline_coverage: float = param(
        0.60,
        unit="share of households without labour capacity enrolled at the end of 2015",
        source=assumption(),
        range=(0.4, 0.8),
        ge=0,
        le=1,
    )
    enrolment_rate: float = param(
        0.25,
        unit="probability per eligible household per month",
        source=assumption(f"the plan brings all eligible into dibao: {PLAN}, §I.3 and §II.3"),
        range=(0.05, 0.5),
        kind="lever",
        ge=0,
        le=1,
    )
    class2_floor: float = param(
        0.9,
        unit="share of the dibao standard paid to class 2 at least",
        source=plan(
            "§II.3",
            "class 2: at least 90% of the minimum top-up standard; read as 90% of the "
            "standard, an interpretation",
        ),
        range=(0.7, 1.0),
        ge=0,
        le=1,
    )
    labour_take_up: float = param(
        0.1,
        unit="probability per month that an eligible labour-capable household enrols",
        source=assumption(),
        range=(0.02, 0.3),
        ge=0,
        le=1,
    )
    inclusion_error: float = param(
        0.001,
        unit="probability per month that an ineligible registered household is enrolled",
        source=assumption("targeting error"),
        range=(0.0, 0.005),
        ge=0,
        le=1,
    )
    disability_subsidy: float = param(
        150.0,
        unit="yuan per month per household with a disabled member",
        source=assumption(f"poor disabled living subsidy, paid on top of dibao: {PLAN}, §II.3"),
        range=(100.0, 200.0),
        ge=0,
    )
    pension_increase: YearTable = param(
        default_factory=lambda: {2016: 0.0, 2017: 10.0, 2018: 20.0},
        unit="yuan per month per person aged 60+ on top of the 2015 basic pension",
        source=assumption(f"{PLAN}, §II.3: basic pension raised step by step", range=(0.0, 40.0)),
        kind="lever",
    )
    exclusion_error: float = param(
        0.02,
        unit="share of eligible households never enrolled",
        source=assumption("targeting error"),
        range=(0.0, 0.1),
        ge=0,
        le=1,
    )


class SocialSecurity(Measure):
    """Dibao and five-guarantee enrolment and payments."""

    name = "social_security"
    Params = SocialSecurityParams
    funds = ()
    sector_source = "dibao"
    sector_sources = ("dibao",)
    household_fields = ("dibao_class", "wubao")
    incomes = ("transfer",)
    publishes = ("social_paid_month",)
    reads = ("social_paid_month",)

    def __init__(self, params: SocialSecurityParams, model: PovertyModel) -> None:
        super().__init__(params, model)
        #: this month's dibao and five-guarantee payments per household (yuan)
        self._social_paid = np.zeros(model.households.n)
        #: this month's payment per household, written by the compiled pass (yuan)
        self._paid = np.empty(model.households.n)

    @classmethod
    def switch_off(cls, model: PovertyModel) -> None:
        """Without the measure nobody is in dibao or five-guarantee support."""
        model.households.dibao_class[:] = 0
        model.households.wubao[:] = False

    def enrol(self, model: PovertyModel) -> None:
        """Enrol households without labour capacity, and labour-capable ones below the standard."""
        hh = model.households
        p: SocialSecurityParams = self.params
        no_labour = hh.groups.no_labour
        stream = draws.numpy_stream(hh, model.rng)  # None: numpy draws
        if stream is not None:  # the same draws and enrolments in one compiled pass
            hh.kernels.social_enrolment(
                stream, no_labour, hh.dibao_class, hh.wubao, hh.social_excluded, hh.size,
                hh.elderly, p.enrolment_rate,
            )  # fmt: skip
        else:
            eligible = no_labour[
                ~((hh.dibao_class[no_labour] > 0) | hh.wubao[no_labour])
                & ~hh.social_excluded[no_labour]
            ]
            take = eligible[model.rng.random(eligible.size) < p.enrolment_rate]
            five_guarantee = (hh.size[take] == 1) & (hh.elderly[take] >= 1)
            hh.wubao[take[five_guarantee]] = True
            hh.dibao_class[take[~five_guarantee]] = 1
        # labour-capable households below the standard: classes 2 and 3 (classes 2 and 3 are
        # only ever given to these households, so the review below looks at them alone)
        labour = hh.groups.labour
        standard = year_value(p.dibao_standard, model.year)
        if hh.kernels is not None:  # own income and the two candidate lists in one pass
            own_pc, below, above = hh.kernels.dibao_candidates(
                labour, hh.income_history[self._last_month(model)], model.shared.social_paid_month,
                hh.size, hh.dibao_class, hh.social_excluded, standard,
            )  # fmt: skip
        else:
            own_pc = self._own_income_per_capita(model, labour)
            candidate = (hh.dibao_class[labour] == 0) & ~hh.social_excluded[labour]
            below = labour[candidate & (own_pc < standard)]
            above = labour[candidate & (own_pc >= standard)]
        if stream is not None:
            hh.kernels.dibao_take_up(
                stream, below, above, p.labour_take_up, p.inclusion_error, hh.chronic,
                hh.disabled, hh.dibao_class,
            )  # fmt: skip
        else:
            take = below[model.rng.random(below.size) < p.labour_take_up]
            take = np.concatenate([take, above[model.rng.random(above.size) < p.inclusion_error]])
            weak = hh.chronic[take] | hh.disabled[take]
            hh.dibao_class[take] = np.where(weak, 2, 3).astype(np.int8)
        if model.month == 12:  # annual review of classes 2 and 3
            review = labour[(hh.dibao_class[labour] >= 2) & (own_pc >= standard)]
            hh.dibao_class[review] = 0

    @staticmethod
    def _own_income_per_capita(model: PovertyModel, idx: np.ndarray) -> np.ndarray:
        """Last month's income without dibao payments, per person, as a yearly rate.

        Args:
            model: The running model.
            idx: Households to compute it for.
        """
        hh = model.households
        last_month = hh.income_history[SocialSecurity._last_month(model), idx]
        return 12 * (last_month - model.shared.social_paid_month[idx]) / hh.size[idx]

    @staticmethod
    def _last_month(model: PovertyModel) -> int:
        """The income history's row of last month.

        In January 2016 it holds December 2015 from the baseline; this month's flows are not
        written yet when households enrol.
        """
        return (model.month - 2) % 12

    def _payment(self, model: PovertyModel, idx: np.ndarray) -> np.ndarray:
        """This month's dibao or five-guarantee payment of the households ``idx`` (yuan)."""
        hh = model.households
        p: SocialSecurityParams = self.params
        dibao = year_value(p.dibao_standard, model.year) / 12
        wubao = year_value(p.wubao_standard, model.year) / 12
        size = hh.size[idx]
        own_pc = hh.monthly_income(idx) / size  # this month's income before these payments
        gap = np.maximum(dibao - own_pc, 0.0)
        dibao_class = hh.dibao_class[idx]
        per_person = np.select(
            [hh.wubao[idx], dibao_class == 1, dibao_class == 2, dibao_class == 3],
            [wubao, dibao, np.maximum(gap, p.class2_floor * dibao), gap],
            0.0,
        )
        return per_person * size

    def monthly_payment(self, model: PovertyModel) -> np.ndarray:
        """This month's dibao or five-guarantee payment per household (yuan).

        Class 1: the full standard per person; class 2: the gap to the standard but at least
        ``class2_floor`` of it; class 3: the gap; five-guarantee: its own standard.
        """
        hh = model.households
        payment = np.zeros(hh.n)
        enrolled = np.flatnonzero(hh.enrolled_social)
        payment[enrolled] = self._payment(model, enrolled)
        return payment

    def apply(self, model: PovertyModel) -> None:
        """Add dibao, five-guarantee, disability and pension payments to transfer income."""
        hh = model.households
        payments = self._payments if hh.kernels is None else self._payments_compiled
        paid, demand = payments(model)
        social = self._social_paid
        county_share = self.charge_totals(model, demand)
        if not (county_share == 1.0).all():  # the budget fell short somewhere: pay the share
            share = county_share[hh.county]
            paid *= share
            social *= share
        hh.transfer_m += paid
        model.shared.social_paid_month = social

    def _payments(self, model: PovertyModel) -> tuple[np.ndarray, np.ndarray]:
        """This month's payment per household and their sum by county (yuan).

        Writes the dibao and five-guarantee part of each payment into ``_social_paid``.
        """
        hh = model.households
        p: SocialSecurityParams = self.params
        # disability subsidies and pension increases (registered households' members aged 60+)
        paid = np.where(hh.registered & hh.disabled, p.disability_subsidy, 0.0)
        pension = year_value(p.pension_increase, model.year)
        if pension:  # (adding 0.0 would change nothing)
            paid += np.where(hh.registered, hh.elderly * pension, 0.0)
        # dibao and five-guarantee payments on top, for the enrolled households
        enrolled = np.flatnonzero(hh.enrolled_social)
        social = self._payment(model, enrolled)
        paid[enrolled] = social + paid[enrolled]
        self._social_paid.fill(0.0)
        self._social_paid[enrolled] = social
        return paid, np.bincount(hh.county, paid, model.n_counties)

    def _payments_compiled(self, model: PovertyModel) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_payments` in one compiled pass over the households (the same numbers)."""
        hh = model.households
        p: SocialSecurityParams = self.params
        demand = hh.kernels.social_payments(
            hh.registered,
            hh.disabled,
            hh.elderly,
            float(p.disability_subsidy),
            float(year_value(p.pension_increase, model.year)),
            hh.wubao,
            hh.dibao_class,
            hh.size,
            hh.wage_m,
            hh.business_m,
            hh.property_m,
            hh.transfer_m,
            year_value(p.dibao_standard, model.year) / 12,
            year_value(p.wubao_standard, model.year) / 12,
            float(p.class2_floor),
            hh.county,
            model.n_counties,
            self._paid,
            self._social_paid,
        )
        return self._paid, demand

    def enrolled_mask(self, model: PovertyModel, among: np.ndarray | None = None) -> np.ndarray:
        """Households in dibao (any class) or five-guarantee support."""
        hh = model.households
        if among is None:
            return hh.enrolled_social
        return (hh.dibao_class[among] > 0) | hh.wubao[among]  # enrolled_social of ``among``
