"""Medical insurance and assistance (§II.4), village clinics.

- The government pays the full basic medical insurance premium of registered poor people, so
  they stay insured (the medical guarantee) whatever happens at the January renewal.
- Serious-illness insurance pays a further share of what basic insurance leaves; medical
  assistance pays at least 70% of the compliant remainder, up to an annual cap per household.
  Out-of-pocket cost is consumption; whether it is deducted from assessed income is the
  ``assessment.deduct_medical_oop`` switch.
- Standard clinics are built in the poor villages that lack one (all by 2018 in the plan).
Money: premiums from the special fund's ``health`` earmark (the ``medical`` sector budget pays
what the earmark lacks); assistance and clinics from the ``medical`` sector budget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.engine.interventions.base import Measure, MeasureParams
from model.engine.params import YearTable, assumption, param, plan, statistic, year_value

if TYPE_CHECKING:
    from model.engine.simulation import PovertyModel

PLAN = "Shaoguan plan 2016"


class HealthParams(MeasureParams):
    """Levers and uncertainties of the health measures."""

    premium: YearTable = param(
        default_factory=lambda: {2016: 150.0, 2017: 180.0, 2018: 220.0},
        unit="yuan per person per year (individual contribution, paid in full for the poor)",
        source=statistic(
            "national notices on rural medical insurance financing, 2016-2018",
            f"minimum individual contributions, which {PLAN}, §II.4 pays in full for the poor",
        ),
        kind="lever",
    )
    serious_illness_share: float = param(
        0.1,
        unit="share of the cost left after basic insurance",
        source=assumption(f"{PLAN}, §II.4 serious-illness insurance"),
        range=(0.05, 0.2),
        ge=0,
        le=1,
    )
    compliant_share: float = param(
        0.8,
        unit="share of the remaining cost that is compliant (eligible for assistance)",
        source=assumption(),
        range=(0.6, 0.95),
        ge=0,
        le=1,
    )
    assistance_share: float = param(
        0.7,
        unit="share of the compliant remainder paid by medical assistance",
        source=plan("§II.4", "at least 70%"),
        kind="lever",
        range=(0.7, 0.9),
        ge=0,
        le=1,
    )
    assistance_cap: YearTable = param(
        default_factory=lambda: {2016: 50_000.0, 2017: 55_000.0, 2018: 60_000.0},
        unit="yuan per household per year",
        source=plan(
            "§II.3",
            "cap at least 50,000 yuan; §II.4: raised step by step, by an assumed 5,000 yuan a year",
        ),
        kind="lever",
    )
    clinics_per_year: YearTable = param(
        default_factory=lambda: {2016: 40.0, 2017: 40.0, 2018: 40.0},
        unit="village clinics standardised per year (full population)",
        source=assumption(
            f"{PLAN}, §II.4: a standard clinic in every poor village by 2018; pace assumed",
            range=(20.0, 100.0),
        ),
        kind="lever",
    )
    clinic_cost: float = param(
        200_000.0, unit="yuan per clinic", source=assumption(), range=(100_000.0, 400_000.0), ge=0
    )
    clinic_months: int = param(
        6, unit="months to build", source=assumption(), range=(3, 12), ge=0, le=36
    )


class Health(Measure):
    """Premiums, serious-illness insurance, medical assistance and clinics."""

    name = "health"
    Params = HealthParams
    funds = ("special",)
    sector_sources = ("medical",)
    household_fields = ("insured", "medical_oop_m")

    def __init__(self, params: HealthParams, model: PovertyModel) -> None:
        super().__init__(params, model)
        self.assisted_this_year = np.zeros(model.households.n)
        #: this month's claims per household (what insurance leaves, the assistance), written
        #: and read by the compiled pass only at the indices of the month's ill
        self._oop = np.zeros(model.households.n)
        self._assist = np.zeros(model.households.n)

    def enrol(self, model: PovertyModel) -> None:
        """Pay the premiums in January; start clinic works."""
        hh = model.households
        p: HealthParams = self.params
        if model.month == 1:
            self.assisted_this_year[:] = 0.0
            poor = hh.groups.registered
            # the special fund's health earmark first; the medical budget pays what it lacks
            # (the first tranche of 2016 arrives after January)
            share = self.charge(
                model,
                hh.county[poor],
                hh.size[poor] * year_value(p.premium, model.year),
                funds=("special",),
                sector_source="medical",
            )
            hh.insured[poor[share >= 1.0 - 1e-9]] = True
        quota = self.quota(model, p.clinics_per_year, "clinics")
        if quota and model.villages:
            lacking = [
                v for v in model.villages if not v.services["clinic"] and "clinic" not in v.works
            ]
            order = model.rng.permutation(len(lacking))[:quota]
            chosen = [lacking[i] for i in order]
            if chosen:
                county = np.array([v.county for v in chosen])
                self.charge(
                    model, county, np.full(len(chosen), p.clinic_cost), sector_source="medical"
                )
                for v in chosen:
                    v.schedule_work("clinic", model.month_index + p.clinic_months)
                self.count_started(model, len(chosen), "clinics")

    def respond(self, model: PovertyModel) -> None:
        """Serious-illness insurance and medical assistance for this month's ill poor."""
        hh = model.households
        p: HealthParams = self.params
        registered = hh.groups.registered
        if hh.kernels is not None:  # the claims, their sums and what was paid, compiled
            ill, demand = hh.kernels.health_claims(
                registered, hh.medical_oop_m, hh.insured, self.assisted_this_year,
                1 - p.serious_illness_share, year_value(p.assistance_cap, model.year),
                p.compliant_share, p.assistance_share, hh.county, model.n_counties,
                self._oop, self._assist,
            )  # fmt: skip
            if ill.size:
                share = self.charge_totals(model, demand, sector_source="medical")
                hh.kernels.health_paid(
                    ill, share, hh.county, hh.medical_oop_m, self._oop, self._assist,
                    self.assisted_this_year,
                )  # fmt: skip
            return
        ill = registered[(hh.medical_oop_m[registered] > 0) & hh.insured[registered]]
        if ill.size == 0:
            return
        oop = hh.medical_oop_m[ill] * (1 - p.serious_illness_share)
        room = np.maximum(
            year_value(p.assistance_cap, model.year) - self.assisted_this_year[ill], 0
        )
        assist = np.minimum(oop * p.compliant_share * p.assistance_share, room)
        share = self.charge(
            model, hh.county[ill], hh.medical_oop_m[ill] - oop + assist, sector_source="medical"
        )
        paid_insurance = (hh.medical_oop_m[ill] - oop) * share
        assist = assist * share
        self.assisted_this_year[ill] += assist
        hh.medical_oop_m[ill] -= paid_insurance + assist

    def enrolled_mask(self, model: PovertyModel, among: np.ndarray | None = None) -> np.ndarray:
        """Registered households (all have their premium paid)."""
        registered = model.households.registered
        return registered.copy() if among is None else registered[among]
