"""Housing and living environment (§II.7): dilapidated-house renovation, relocation, rangers.

Registered households in unsafe houses are renovated at the plan's yearly numbers (4,541 in
2016, 3,293 in 2017); a share without viable conditions is relocated instead; the house is safe
once the works end. Safe housing is one of the three guarantees. Forest-ranger posts
(ecological compensation, counted as transfer income) go to registered labour-capable
households. Money: the ``housing`` and ``forestry`` sector budgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.engine.interventions.base import Measure, MeasureParams, picker
from model.engine.params import YearTable, assumption, param, plan, year_value

if TYPE_CHECKING:
    from model.engine.simulation import PovertyModel

PLAN = "Shaoguan plan 2016"


class HousingParams(MeasureParams):
    """Levers and uncertainties of the housing measures."""

    renovations: YearTable = param(
        default_factory=lambda: {2016: 4_541.0, 2017: 3_293.0, 2018: 0.0},
        unit="households whose renovation starts in the year (full population)",
        source=plan(
            "§II.7", "4,541 households in 2016, 3,293 in 2017; all urgent ones done by end 2017"
        ),
        kind="lever",
    )
    renovation_subsidy: float = param(
        40_000.0,
        unit="yuan per household",
        source=assumption(
            "Guangdong's subsidy for poor households' dilapidated houses, about 30,000-50,000 yuan"
        ),
        range=(20_000.0, 60_000.0),
        ge=0,
    )
    renovation_months: int = param(
        6,
        unit="months from start to a safe house",
        source=assumption(),
        range=(3, 12),
        ge=0,
        le=36,
    )
    relocation_share: float = param(
        0.1,
        unit="share of unsafe households relocated instead of renovated",
        source=assumption(f"{PLAN}, §II.7 scattered relocation"),
        range=(0.0, 0.3),
        ge=0,
        le=1,
    )
    relocation_cost: float = param(
        60_000.0,
        unit="yuan per household",
        source=assumption(),
        range=(30_000.0, 100_000.0),
        ge=0,
    )
    ranger_posts: YearTable = param(
        default_factory=lambda: {2016: 500.0, 2017: 1_000.0, 2018: 1_000.0},
        unit="posts filled (stock, full population)",
        source=assumption(
            f"{PLAN}, §II.7: households unwilling to move may become rangers",
            range=(0.0, 2_000.0),
        ),
        kind="lever",
    )
    ranger_pay: float = param(
        10_000.0,
        unit="yuan per post per year",
        source=assumption(),
        range=(5_000.0, 15_000.0),
        ge=0,
    )


class Housing(Measure):
    """Renovation, relocation and forest-ranger posts."""

    name = "housing"
    Params = HousingParams
    funds = ()
    sector_source = "housing"
    sector_sources = ("housing", "forestry")
    household_fields = ("housing_safe", "occupied")
    incomes = ("transfer",)

    def __init__(self, params: HousingParams, model: PovertyModel) -> None:
        super().__init__(params, model)
        n = model.households.n
        self.safe_at = np.full(n, -1, dtype=np.int32)
        self.ranger = np.zeros(n, dtype=bool)

    def enrol(self, model: PovertyModel) -> None:
        """Start renovations and relocations; fill ranger posts."""
        hh = model.households
        p: HousingParams = self.params
        registered = hh.groups.registered  # renovations are for the registered poor only
        kernels = hh.kernels
        quota = self.quota(model, p.renovations)
        if kernels is not None:  # the works done and the queue's pool in one pass
            unsafe = kernels.housing_month(
                registered, self.safe_at, model.month_index, hh.housing_safe, quota > 0
            )
        else:
            done = registered[self.safe_at[registered] == model.month_index]
            hh.housing_safe[done] = True
            unsafe = registered[~hh.housing_safe[registered] & (self.safe_at[registered] < 0)]
        if quota:
            queue = self.enrolment_queue(model, unsafe, quota)
            relocate = model.rng.random(queue.size) < p.relocation_share
            cost = np.where(relocate, p.relocation_cost, p.renovation_subsidy)
            self.charge(model, hh.county[queue], cost)
            self.safe_at[queue] = model.month_index + p.renovation_months
            self.count_started(model, queue.size)
        held = hh.posts_still_held(self.ranger)
        target = int(year_value(p.ranger_posts, model.year) * model.population.scale)
        missing = target - held
        if missing > 0:
            labour = hh.groups.labour
            seekers = hh.with_job_seekers(labour)
            free = seekers[~self.ranger[seekers]]
            chosen = self.queue(model, free, missing)
            self.ranger[chosen] = True
            hh.occupied[chosen] += 1

    def apply(self, model: PovertyModel) -> None:
        """Pay the rangers (ecological compensation, transfer income)."""
        hh = model.households
        holders = np.flatnonzero(self.ranger)
        if holders.size:
            pay = np.full(holders.size, self.params.ranger_pay / 12)
            share = self.charge(model, hh.county[holders], pay, sector_source="forestry")
            hh.transfer_m[holders] += pay * share

    def invariant_checks(self) -> dict:
        """Ranger posts never exceed the year's number."""
        from model.engine.invariants import capacity_check

        return {
            "ranger_posts_within_capacity": capacity_check(
                lambda m: int(np.count_nonzero(self.ranger)),
                lambda m: int(year_value(self.params.ranger_posts, m.year) * m.population.scale),
                "ranger posts",
            )
        }

    def enrolled_mask(self, model: PovertyModel, among: np.ndarray | None = None) -> np.ndarray:
        """Households renovated, relocated or on a ranger post."""
        of = picker(among)
        return (of(self.safe_at) >= 0) | of(self.ranger)
