"""Industry (§II.1): household farming projects, asset shares, tourism, e-commerce, extension.

- Household projects (specialty crops, livestock, tea, fungi...): registered labour-capable
  households get an investment; after a lag the project pays a net business income, scaled by
  the year's farm shock (correlated within the county), unless it failed.
- Asset shares ("company + N + farmer", cooperatives): registered households, those without
  labour capacity and in dibao first (§II.3), invest in shares that pay dividends (property
  income) after a lag.
- Rural tourism in villages with a hardened road, and e-commerce in villages with an information
  station, raise the business income of the village's registered households after a lag.
- Technology extension raises the business income of registered households in poor villages.
Money: the special fund's ``industry`` earmark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.engine import draws
from model.engine.interventions.base import Measure, MeasureParams, picker
from model.engine.params import YearTable, assumption, param

if TYPE_CHECKING:
    from model.engine.simulation import PovertyModel

PLAN = "Shaoguan plan 2016"


class IndustryParams(MeasureParams):
    """Levers and uncertainties of the industry measures."""

    projects_per_year: YearTable = param(
        default_factory=lambda: {2016: 5_000.0, 2017: 5_000.0, 2018: 4_000.0},
        unit="household projects started per year (full population)",
        source=assumption(
            f"{PLAN}, §II.1 names the industries but no number", range=(2_000.0, 8_000.0)
        ),
        kind="lever",
    )
    project_investment: float = param(
        10_000.0,
        unit="yuan per household project",
        source=assumption(),
        range=(5_000.0, 20_000.0),
        ge=0,
    )
    project_lag_months: int = param(
        12, unit="months before returns", source=assumption(), range=(6, 18), ge=0, le=60
    )
    project_return: float = param(
        0.35,
        unit="net business income per year as a share of the investment",
        source=assumption(),
        range=(0.15, 0.6),
        ge=0,
    )
    project_failure: float = param(
        0.2,
        unit="probability a project fails at maturity",
        source=assumption(),
        range=(0.05, 0.4),
        ge=0,
        le=1,
    )
    shares_per_year: YearTable = param(
        default_factory=lambda: {2016: 4_000.0, 2017: 4_000.0, 2018: 4_000.0},
        unit="households given asset shares per year (full population)",
        source=assumption(
            f"{PLAN}, §II.1 and §II.3: asset income, dibao households first",
            range=(2_000.0, 6_000.0),
        ),
        kind="lever",
    )
    share_investment: float = param(
        8_000.0, unit="yuan per household", source=assumption(), range=(3_000.0, 15_000.0), ge=0
    )
    dividend_rate: float = param(
        0.08,
        unit="dividend per year as a share of the investment",
        source=assumption(),
        range=(0.04, 0.12),
        ge=0,
    )
    dividend_lag_months: int = param(
        12, unit="months", source=assumption(), range=(6, 18), ge=0, le=60
    )
    tourism_villages_per_year: YearTable = param(
        default_factory=lambda: {2016: 10.0, 2017: 15.0, 2018: 15.0},
        unit="villages per year (full population); only villages with a hardened road",
        source=assumption(
            f"{PLAN}, §II.1 leisure agriculture and rural tourism pilots", range=(5.0, 30.0)
        ),
        kind="lever",
    )
    tourism_investment: float = param(
        500_000.0, unit="yuan per village", source=assumption(), range=(200_000.0, 1e6), ge=0
    )
    tourism_uplift: float = param(
        0.15,
        unit="share added to business income of the village's registered households",
        source=assumption(),
        range=(0.0, 0.3),
        ge=0,
    )
    ecommerce_villages_per_year: YearTable = param(
        default_factory=lambda: {2016: 20.0, 2017: 30.0, 2018: 30.0},
        unit="villages per year (full population); only villages with an information station",
        source=assumption(
            f"{PLAN}, §II.1 'Internet + targeted poverty alleviation'", range=(10.0, 50.0)
        ),
        kind="lever",
    )
    ecommerce_investment: float = param(
        100_000.0, unit="yuan per village", source=assumption(), range=(50_000.0, 300_000.0), ge=0
    )
    ecommerce_uplift: float = param(
        0.05, unit="share added to business income", source=assumption(), range=(0.0, 0.15), ge=0
    )
    village_lag_months: int = param(
        12,
        unit="months before tourism or e-commerce pays",
        source=assumption(),
        range=(6, 24),
        ge=0,
        le=60,
    )
    extension_uplift: float = param(
        0.05,
        unit="share added to business income of registered households in poor villages",
        source=assumption(f"{PLAN}, §II.1 science-and-technology extension"),
        range=(0.0, 0.1),
        ge=0,
    )
    extension_cost: float = param(
        200.0,
        unit="yuan per household per year",
        source=assumption(range=(100.0, 400.0)),
        ge=0,
    )


class Industry(Measure):
    """Household projects, asset shares, village tourism and e-commerce, extension."""

    name = "industry"
    Params = IndustryParams
    funds = ("special",)
    incomes = ("business", "property")
    reads = ("party_factor",)

    def __init__(self, params: IndustryParams, model: PovertyModel) -> None:
        super().__init__(params, model)
        n = model.households.n
        nv = len(model.villages)
        self.project_start = np.full(n, -1, dtype=np.int32)
        self.project_failed = np.zeros(n, dtype=bool)
        self.shares_start = np.full(n, -1, dtype=np.int32)
        self.tourism_start = np.full(nv, -1, dtype=np.int32)
        self.ecommerce_start = np.full(nv, -1, dtype=np.int32)
        self.village_county = np.array([v.county for v in model.villages], dtype=np.int64)
        #: share of this year's technology extension paid, by county
        self.extension_paid = np.zeros(model.n_counties)
        self._extension_due = True  # until every county has paid this year's in full

    def enrol(self, model: PovertyModel) -> None:
        """Start household projects, asset shares and village projects."""
        hh = model.households
        p: IndustryParams = self.params
        labour = hh.groups.labour  # projects go to registered labour-capable households only
        kernels = hh.kernels
        quota = self.quota(model, p.projects_per_year)
        if quota:
            pool = self.not_started(model, labour, self.project_start)
            queue = self.enrolment_queue(model, pool, quota)
            taken = self.take_within_budget(model, queue, hh.county[queue], p.project_investment)
            self.project_start[taken] = model.month_index
            self.count_started(model, taken.size)
        # maturity: some projects fail (assisting parties with more capacity fail less)
        started = model.month_index - p.project_lag_months
        stream = draws.numpy_stream(hh, model.rng)
        if stream is not None and started >= 0:  # the same draws in one compiled pass
            kernels.project_failures(
                stream, labour, self.project_start, started, model.shared.party_factor,
                p.project_failure, self.project_failed,
            )  # fmt: skip
        elif started >= 0:
            mature = labour[self.project_start[labour] == started]
            if mature.size:
                risk = np.clip(p.project_failure * (2 - model.shared.party_factor[mature]), 0, 1)
                self.project_failed[mature] = model.rng.random(mature.size) < risk
        # asset shares, households in dibao or five-guarantee support first
        quota = self.quota(model, p.shares_per_year, "asset shares")
        if quota:
            registered = hh.groups.registered
            if kernels is not None:
                social, other = kernels.share_pools(
                    registered, self.shares_start, hh.dibao_class, hh.wubao
                )
            else:
                eligible = registered[self.shares_start[registered] < 0]
                in_social = (hh.dibao_class[eligible] > 0) | hh.wubao[eligible]  # enrolled_social
                social, other = eligible[in_social], eligible[~in_social]
            first = self.enrolment_queue(model, social, quota)
            rest = self.enrolment_queue(model, other, quota - first.size)
            queue = np.concatenate([first, rest])
            taken = self.take_within_budget(model, queue, hh.county[queue], p.share_investment)
            self.shares_start[taken] = model.month_index
            self.count_started(model, taken.size, "asset shares")
        self._enrol_villages(model)
        self._pay_extension(model)

    def _pay_extension(self, model: PovertyModel) -> None:
        """Pay the year's technology extension, county by county, as money allows.

        Charged in January; what a county could not pay then (in 2016 the first tranche arrives
        later) is charged again each month until paid. The uplift reaches a county in the share
        paid (:meth:`apply`).
        """
        if model.month == 1:
            self.extension_paid[:] = 0.0
            self._extension_due = True
        if not self._extension_due:  # paid in full this year (the shares only grow)
            return
        unpaid = 1.0 - self.extension_paid
        unpaid[unpaid < 1e-9] = 0.0
        if not unpaid.any():
            self._extension_due = False
            return
        hh = model.households
        in_village = hh.groups.registered_in_village
        county = hh.county[in_village]
        cost = self.params.extension_cost * unpaid[county]
        share = self.charge_by_county(model, county, cost)
        self.extension_paid += share * unpaid

    def _enrol_villages(self, model: PovertyModel) -> None:
        p: IndustryParams = self.params
        if not model.villages:
            return
        for kind, start, service, yearly, cost in (
            ("tourism", self.tourism_start, "road", p.tourism_villages_per_year,
             p.tourism_investment),
            ("ecommerce", self.ecommerce_start, "info_station", p.ecommerce_villages_per_year,
             p.ecommerce_investment),
        ):  # fmt: skip
            quota = self.quota(model, yearly, kind)
            if quota:  # villages with the service (a road, an information station) can start
                ready = np.array([v.services[service] for v in model.villages])
                queue = self.queue(model, ready & (start < 0), quota)
                taken = self.take_within_budget(model, queue, self.village_county[queue], cost)
                start[taken] = model.month_index
                self.count_started(model, taken.size, kind)

    def apply(self, model: PovertyModel) -> None:
        """Project income (business), dividends (property), village uplifts (business)."""
        hh = model.households
        p: IndustryParams = self.params
        t = model.month_index
        uplift = np.zeros(len(model.villages))
        live = lambda start: (start >= 0) & (t - start >= p.village_lag_months)  # noqa: E731
        uplift += np.where(live(self.tourism_start), p.tourism_uplift, 0.0)
        uplift += np.where(live(self.ecommerce_start), p.ecommerce_uplift, 0.0)
        uplift += p.extension_uplift * self.extension_paid[self.village_county]
        project_income = p.project_investment * p.project_return / 12  # per month, before shock
        dividend = p.share_investment * p.dividend_rate / 12
        groups = hh.groups  # projects go to the labour-capable, shares to the registered
        if hh.kernels is not None:  # the three passes in one compiled loop, the same sums
            hh.kernels.industry_incomes(
                groups.labour, groups.registered, groups.registered_in_village,
                self.project_start, self.project_failed, self.shares_start,
                t, p.project_lag_months, p.dividend_lag_months, project_income, dividend,
                hh.farm_shock, hh.village, uplift, hh.business_m, hh.property_m,
            )  # fmt: skip
            return
        labour = groups.labour
        start = self.project_start[labour]
        paying = labour[(start >= 0) & (t - start >= p.project_lag_months)]
        paying = paying[~self.project_failed[paying]]
        hh.business_m[paying] += project_income * hh.farm_shock[paying]
        registered = groups.registered
        start = self.shares_start[registered]
        dividends = registered[(start >= 0) & (t - start >= p.dividend_lag_months)]
        hh.property_m[dividends] += dividend
        # uplifts go to the registered households of poor villages (scattered ones get none)
        in_village = groups.registered_in_village
        hh.business_m[in_village] += hh.business_m[in_village] * uplift[hh.village[in_village]]

    def enrolled_mask(self, model: PovertyModel, among: np.ndarray | None = None) -> np.ndarray:
        """Households with a project or asset shares."""
        of = picker(among)
        return (of(self.project_start) >= 0) | (of(self.shares_start) >= 0)
