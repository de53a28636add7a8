"""Finance (§II.8): poverty microcredit with interest subsidies, and agricultural insurance.

Registered labour-capable households take interest-free microloans (the fund pays the bank's
interest) that finance a small business paying a net return after a lag; some loans default,
and the risk-compensation fund repays the principal and the business stops. Policy agricultural
insurance, with the premium subsidised, puts a floor under a covered household's farm shock.
Money: the special fund's ``finance`` earmark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.engine import draws
from model.engine.interventions.base import Measure, MeasureParams, picker
from model.engine.params import YearTable, assumption, param, statistic

if TYPE_CHECKING:
    from model.engine.simulation import PovertyModel

PLAN = "Shaoguan plan 2016"


class FinanceParams(MeasureParams):
    """Levers and uncertainties of microcredit and agricultural insurance."""

    loans_per_year: YearTable = param(
        default_factory=lambda: {2016: 2_000.0, 2017: 2_500.0, 2018: 2_500.0},
        unit="loans per year (full population)",
        source=assumption(f"{PLAN}, §II.8 microcredit; no number given", range=(1_000.0, 4_000.0)),
        kind="lever",
    )
    loan_size: float = param(
        50_000.0,
        unit="yuan per loan",
        source=statistic(
            "national poverty microcredit policy of 2014",
            "up to 50,000 yuan, up to 3 years, interest subsidised",
        ),
        kind="lever",
        range=(10_000.0, 50_000.0),
        ge=0,
    )
    interest_rate: float = param(
        0.0435,
        unit="per year",
        source=statistic(
            "People's Bank of China, 2015",
            "one-year benchmark lending rate 4.35% from 24 October 2015",
        ),
        ge=0,
        le=1,
    )
    loan_return: float = param(
        0.10,
        unit="net business income per year as a share of the loan",
        source=assumption(),
        range=(0.04, 0.2),
        ge=0,
    )
    loan_lag_months: int = param(
        6,
        unit="months before the business pays",
        source=assumption(),
        range=(3, 12),
        ge=0,
        le=36,
    )
    default_rate: float = param(
        0.04,
        unit="probability per loan per year",
        source=assumption(),
        range=(0.01, 0.15),
        ge=0,
        le=1,
    )
    insurance_coverage: float = param(
        0.8,
        unit="share of registered labour-capable households insured",
        source=assumption(f"{PLAN}, §II.8 policy agricultural insurance"),
        kind="lever",
        range=(0.0, 1.0),
        ge=0,
        le=1,
    )
    insurance_premium_subsidy: float = param(
        100.0,
        unit="yuan per insured household per year",
        source=assumption(range=(50.0, 200.0)),
        ge=0,
    )
    insurance_floor: float = param(
        0.8,
        unit="lowest farm-shock multiplier an insured household bears",
        source=assumption(),
        range=(0.6, 0.95),
        ge=0,
        le=1,
    )


class Finance(Measure):
    """Microcredit and agricultural insurance."""

    name = "finance"
    Params = FinanceParams
    funds = ("special",)
    incomes = ("business",)
    reads = ("party_factor",)

    def __init__(self, params: FinanceParams, model: PovertyModel) -> None:
        super().__init__(params, model)
        n = model.households.n
        self.loan_start = np.full(n, -1, dtype=np.int32)
        self.defaulted = np.zeros(n, dtype=bool)
        self.insured = np.zeros(n, dtype=bool)

    def _active(self, model: PovertyModel, idx: np.ndarray) -> np.ndarray:
        """Which of the households ``idx`` hold a running loan (not defaulted, under 3 years)."""
        start = self.loan_start[idx]
        return (start >= 0) & ~self.defaulted[idx] & (model.month_index - start < 36)

    def enrol(self, model: PovertyModel) -> None:
        """New loans; interest subsidies, defaults and insurance premiums."""
        hh = model.households
        p: FinanceParams = self.params
        quota = self.quota(model, p.loans_per_year)
        labour = hh.groups.labour  # loans and insurance go to registered labour-capable only
        if quota:
            pool = self.not_started(model, labour, self.loan_start)
            queue = self.enrolment_queue(model, pool, quota)
            # the first year's interest is committed when the loan is made
            taken = self.take_within_budget(
                model, queue, hh.county[queue], p.loan_size * p.interest_rate
            )
            self.loan_start[taken] = model.month_index
            self.count_started(model, taken.size)
        # the first year's interest was paid with the loan; months 13 to 36 are paid monthly
        stream = draws.numpy_stream(hh, model.rng)
        if stream is not None:  # the same loans and draws in one compiled pass
            self._loans_compiled(model, labour, stream)
        else:
            self._loans(model, labour)
        if model.month == 1:
            draw = model.rng.random(hh.n) < p.insurance_coverage  # one draw per household
            self.insured = np.zeros(hh.n, dtype=bool)
            self.insured[labour] = draw[labour]
            who = np.flatnonzero(self.insured)
            share = self.charge(
                model, hh.county[who], np.full(who.size, p.insurance_premium_subsidy)
            )
            self.insured[who[share < 1.0 - 1e-9]] = False

    def _loans(self, model: PovertyModel, labour: np.ndarray) -> None:
        """Monthly interest of the loans in their second or third year; defaults."""
        hh = model.households
        p: FinanceParams = self.params
        active = labour[
            self._active(model, labour) & (model.month_index - self.loan_start[labour] >= 12)
        ]
        if active.size:
            self._pay_interest(model, active)
            risk = self._monthly_risk() * (2 - model.shared.party_factor[active])
            default = active[model.rng.random(active.size) < risk]
            if default.size:
                self.defaulted[default] = True
                self.charge(model, hh.county[default], np.full(default.size, p.loan_size))

    def _loans_compiled(
        self, model: PovertyModel, labour: np.ndarray, stream: tuple[int, int, int]
    ) -> None:
        """:meth:`_loans` with the loans and their defaults found in one compiled pass."""
        hh = model.households
        active, default = hh.kernels.loan_month(
            stream, labour, self.loan_start, self.defaulted, model.shared.party_factor,
            model.month_index, self._monthly_risk(),
        )  # fmt: skip
        if active.size:  # the interest first, then the defaults, as in _loans
            self._pay_interest(model, active)
            if default.size:
                self.charge(model, hh.county[default], np.full(default.size, self.params.loan_size))

    def _monthly_risk(self) -> float:
        """A loan's monthly chance of default with an assisting party of capacity 1."""
        return 1 - (1 - self.params.default_rate) ** (1 / 12)

    def _pay_interest(self, model: PovertyModel, active: np.ndarray) -> None:
        p: FinanceParams = self.params
        county = model.households.county[active]
        self.charge(model, county, np.full(active.size, p.loan_size * p.interest_rate / 12))

    def apply(self, model: PovertyModel) -> None:
        """Loan-financed business income; insurance payouts when the farm shock is bad."""
        hh = model.households
        p: FinanceParams = self.params
        labour = hh.groups.labour
        loan_income = p.loan_size * p.loan_return / 12
        if hh.kernels is not None:  # both passes in one compiled loop, the same sums
            hh.kernels.finance_incomes(
                labour, self.loan_start, self.defaulted, self.insured, model.month_index,
                p.loan_lag_months, loan_income, p.insurance_floor,
                hh.farm_shock, hh.business_annual, hh.business_m,
            )  # fmt: skip
            return
        paying = labour[
            self._active(model, labour)
            & (model.month_index - self.loan_start[labour] >= p.loan_lag_months)
        ]
        hh.business_m[paying] += loan_income
        insured = labour[self.insured[labour]]
        bad = insured[hh.farm_shock[insured] < p.insurance_floor]
        payout = hh.business_annual[bad] / 12 * (p.insurance_floor - hh.farm_shock[bad])
        hh.business_m[bad] += payout

    def enrolled_mask(self, model: PovertyModel, among: np.ndarray | None = None) -> np.ndarray:
        """Households with a loan or agricultural insurance."""
        of = picker(among)
        return (of(self.loan_start) >= 0) | of(self.insured)
