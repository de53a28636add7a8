"""Education (§II.6): children back in school, student subsidies, vocational school, teachers.

Children of registered households who dropped out are brought back each month at a rate; every
school-age child of a registered household gets a living subsidy (transfer income); vocational
places for teenagers of registered households raise the household's skill when they finish;
mountain-area teachers get the plan's monthly allowance (a cost only). Money: the special fund's
``education`` earmark; teachers' allowances from the ``education`` sector budget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.engine import draws
from model.engine.interventions.base import Measure, MeasureParams, picker
from model.engine.params import YearTable, assumption, param, plan, year_value

if TYPE_CHECKING:
    from model.engine.simulation import PovertyModel

PLAN = "Shaoguan plan 2016"


class EducationParams(MeasureParams):
    """Levers and uncertainties of the education measures."""

    return_rate: float = param(
        0.25,
        unit="probability per month that a registered household's out-of-school children return",
        source=assumption(f"{PLAN}, §II.6: every poor child in school"),
        range=(0.05, 0.5),
        ge=0,
        le=1,
    )
    student_subsidy: float = param(
        1_000.0,
        unit="yuan per school-age child per year",
        source=assumption(
            f"{PLAN}, §II.6 subsidies at every stage; Guangdong boarding subsidies about "
            "1,000-1,250 yuan in 2015"
        ),
        range=(500.0, 2_000.0),
        kind="lever",
        ge=0,
    )
    vocational_places: YearTable = param(
        default_factory=lambda: {2016: 1_500.0, 2017: 1_500.0, 2018: 1_500.0},
        unit="places per year (full population)",
        source=assumption(
            f"{PLAN}, §II.2 and §II.6: tuition waivers in vocational schools",
            range=(500.0, 3_000.0),
        ),
        kind="lever",
    )
    vocational_cost: float = param(
        5_000.0,
        unit="yuan per place per year",
        source=assumption(),
        range=(3_000.0, 8_000.0),
        ge=0,
    )
    vocational_years: int = param(
        3,
        unit="years",
        source=assumption("secondary vocational school", range=(2, 3)),
        ge=1,
        le=5,
    )
    vocational_skill_gain: float = param(
        0.15,
        unit="skill index points for the household",
        source=assumption(),
        range=(0.05, 0.3),
        ge=0,
        le=1,
    )
    mountain_teachers: float = param(
        4_000.0,
        unit="teachers in mountain and remote rural schools (full population)",
        source=assumption(),
        range=(2_000.0, 6_000.0),
        ge=0,
    )
    teacher_allowance: YearTable = param(
        default_factory=lambda: {2016: 800.0, 2017: 900.0, 2018: 1_000.0},
        unit="yuan per teacher per month",
        source=plan("§II.6", "at least 800 / 900 / 1,000 yuan a month in 2016 / 2017 / 2018"),
        kind="lever",
    )


class Education(Measure):
    """School return, student subsidies, vocational places and teachers' allowances."""

    name = "education"
    Params = EducationParams
    funds = ("special",)
    sector_sources = ("education",)
    household_fields = ("children_in_school", "skill")
    incomes = ("transfer",)
    reads = ("party_factor",)

    def __init__(self, params: EducationParams, model: PovertyModel) -> None:
        super().__init__(params, model)
        hh = model.households
        self.vocational_ends = np.full(hh.n, -1, dtype=np.int32)
        #: households per county, the key for sharing the teachers' allowances
        self.county_weights = np.bincount(hh.county, minlength=model.n_counties).astype(float)

    def enrol(self, model: PovertyModel) -> None:
        """Bring children back to school; start and finish vocational places."""
        hh = model.households
        p: EducationParams = self.params
        registered = hh.groups.registered  # every education measure is for the registered poor
        stream = draws.numpy_stream(hh, model.rng)
        if stream is not None and hh.skill.dtype == np.float32:  # the same steps, compiled
            quota = self.quota(model, p.vocational_places)
            eligible = hh.kernels.education_month(
                stream, registered, hh.children_in_school, model.shared.party_factor,
                p.return_rate, self.vocational_ends, model.month_index, hh.skill,
                p.vocational_skill_gain, hh.school_children, quota > 0,
            )  # fmt: skip
            if quota:
                self._start_places(model, eligible, quota)
            return
        out = registered[~hh.children_in_school[registered]]
        back = out[model.rng.random(out.size) < p.return_rate * model.shared.party_factor[out]]
        hh.children_in_school[back] = True
        done = registered[self.vocational_ends[registered] == model.month_index]
        hh.skill[done] = np.minimum(hh.skill[done] + p.vocational_skill_gain, 1.0)
        quota = self.quota(model, p.vocational_places)
        if quota:
            eligible = registered[
                (hh.school_children[registered] > 0) & (self.vocational_ends[registered] < 0)
            ]
            self._start_places(model, eligible, quota)

    def _start_places(self, model: PovertyModel, eligible: np.ndarray, quota: int) -> None:
        """Vocational places for the first ``quota`` of the queue that the budget allows."""
        p: EducationParams = self.params
        queue = self.enrolment_queue(model, eligible, quota)
        county = model.households.county[queue]
        taken = self.take_within_budget(
            model, queue, county, p.vocational_cost * p.vocational_years
        )
        self.vocational_ends[taken] = model.month_index + 12 * p.vocational_years
        self.count_started(model, taken.size)

    def apply(self, model: PovertyModel) -> None:
        """Student subsidies (transfer income); teachers' allowances (cost)."""
        hh = model.households
        p: EducationParams = self.params
        registered = hh.groups.registered
        if hh.kernels is not None:  # the pupils, their subsidies and the county sums, compiled
            pupils, amount, demand = hh.kernels.pupil_subsidies(
                registered, hh.school_children, hh.county, p.student_subsidy, model.n_counties
            )
            if pupils.size:
                share = self.charge_totals(model, demand)
                hh.kernels.add_paid_share(hh.transfer_m, pupils, amount, share, hh.county)
        else:
            pupils = registered[hh.school_children[registered] > 0]
            if pupils.size:
                amount = hh.school_children[pupils] * p.student_subsidy / 12
                share = self.charge(model, hh.county[pupils], amount)
                hh.transfer_m[pupils] += amount * share
        teachers = p.mountain_teachers * model.population.scale
        if teachers:
            weights = self.county_weights
            allowance = teachers * year_value(p.teacher_allowance, model.year)
            self.charge(
                model,
                np.arange(model.n_counties),
                allowance * weights / weights.sum(),
                sector_source="education",
            )

    def enrolled_mask(self, model: PovertyModel, among: np.ndarray | None = None) -> np.ndarray:
        """Registered households with pupils or a vocational place."""
        hh, of = model.households, picker(among)
        return (of(hh.registered) & (of(hh.school_children) > 0)) | (of(self.vocational_ends) >= 0)
