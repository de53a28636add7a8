"""A living register: the annual re-check removes the wrongly registered and adds the newly poor.

The plan manages the register dynamically (§II.9, 推行动态管理; §II.3: low-income dibao recipients
below the line are registered as poor). With the mechanism on:

* **Registration error at the start.** A share ``wrongly_registered_share`` of the registered
  households had, in truth, an income above the registration line in 2015 (the national
  2015-2016 "look back" removed about 10% of the register): their business income is raised so
  that their 2015 per-capita income is drawn uniformly between the line and
  ``wrong_income_max`` times it. They are poor on the register like the others.
* **The re-check** (every year in month ``recheck_month``, after the villages act and before the
  programmes enrol) compares each household's income of the last 12 months per person with the
  year's registration line (4,000 yuan at 2014 prices, :meth:`AssessmentParams.poverty_line`):

  - a wrongly registered household not out of poverty and not holding a public post, whose
    income is at least ``removal_share`` times the line, is found with probability
    ``removal_detection`` and **removed** (it becomes a non-registered household);
  - a non-registered household of a poor village that has fallen below the line since the last
    re-check (or since 2015: it was at or above the line then, a shock or lost work has pushed
    it below) is found with probability ``entry_detection`` and **added** (labour-capable if it
    has a worker, else without labour capacity; poor). Added households get the measures like
    the others. A household already below the line in 2015 and not registered then is not
    added: the model reads the 2015 register as the re-check of 2015 saw it.

Households outside the poor villages who fall into poverty are not simulated, so additions come
only from the poor villages (see ``docs/limitations.md``). Targets remain the plan's numbers;
the annual table gives the register after adjustment beside them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from model.engine.assessment import (
    EXITED,
    LABOUR_VILLAGE,
    NO_LABOUR,
    NON_POOR,
    POOR,
    HouseholdVerdict,
)
from model.engine.households import people_where
from model.engine.invariants import household_counts
from model.engine.mechanisms.base import REPORTED_FACTS as README
from model.engine.mechanisms.base import Mechanism
from model.engine.params import Section, assumption, param, plan, statistic

if TYPE_CHECKING:
    from model.engine.households import Households
    from model.engine.simulation import PovertyModel


class RegisterParams(Section):
    """The living register: registration error and the annual re-check (§II.9, §II.3)."""

    enabled: bool = param(
        False,
        unit="switch",
        source=plan(
            "§II.9, §II.3",
            "推行动态管理, dynamic management of the register; dibao "
            "recipients below the line are registered",
        ),
        doc="Whether the register is re-checked each year (removals and additions).",
    )
    recheck_month: int = param(
        10,
        unit="month of the year (1-12)",
        source=assumption("the annual adjustment precedes the year-end assessment", range=(1, 12)),
        doc="Month of the annual re-check.",
        ge=1,
        le=12,
    )
    wrongly_registered_share: float = param(
        0.10,
        unit="share of registered households at the start",
        source=statistic(
            "national 2015-2016 re-check of the register: 9.29 of 89.62 million removed (10.4%)",
            README,
        ),
        doc="Share of the registered households whose 2015 income was above the line.",
        range=(0.0, 0.2),
        ge=0,
        le=1,
    )
    wrong_income_max: float = param(
        2.0,
        unit="multiple of the 2015 registration line",
        source=assumption(),
        doc="A wrongly registered household's 2015 per-capita income lies uniformly between "
        "the line and this multiple of it.",
        range=(1.2, 3.0),
        ge=1,
        le=10,
    )
    removal_share: float = param(
        1.2,
        unit="multiple of the year's registration line",
        source=assumption("income 'well above the line'"),
        doc="A wrongly registered household at or above this income is removed if found.",
        range=(1.0, 1.5),
        ge=0,
    )
    removal_detection: float = param(
        0.7,
        unit="probability per re-check",
        source=assumption(),
        doc="Probability that the re-check finds a wrongly registered household above the "
        "removal income.",
        range=(0.3, 1.0),
        ge=0,
        le=1,
    )
    entry_detection: float = param(
        0.7,
        unit="probability per re-check",
        source=assumption(
            "the national 2015-2016 re-check added 8.07 million against 89.62 million "
            f"registered (9.0%; {README})"
        ),
        doc="Probability that the re-check registers a non-registered village household "
        "whose income is below the line.",
        range=(0.3, 1.0),
        ge=0,
        le=1,
    )


def misregister(
    hh: Households, share: float, income_max: float, line: float, rng: np.random.Generator
) -> np.ndarray:
    """Give a share of registered households a 2015 income above the line; return their mask.

    The gap between the drawn per-capita income (uniform between ``line`` and ``income_max``
    times it) and the household's current 12-month income is added to its business income
    and to its income history.
    """
    n = hh.n
    wrong = hh.registered & (rng.random(n) < share)
    idx = np.flatnonzero(wrong)
    target = line * rng.uniform(1.0, income_max, idx.size)
    current = hh.income_history[:, idx].sum(axis=0) / hh.size[idx]
    gap = np.maximum(target - current, 0.0) * hh.size[idx]
    hh.business_annual[idx] += gap
    hh.income_history[:, idx] += gap / 12.0
    return wrong


def recheck(
    *,
    registered: np.ndarray,
    status: np.ndarray,
    village: np.ndarray,
    wrongly_registered: np.ndarray,
    on_post: np.ndarray,
    was_above: np.ndarray,
    income_pc: np.ndarray,
    line: float,
    removal_share: float,
    removal_detection: float,
    entry_detection: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Households the re-check removes and adds (masks); two uniform draws per household.

    Args:
        registered: On the register now.
        status: Status codes (exited households are not removed).
        village: Poor village of each household (-1 outside the poor villages).
        wrongly_registered: Households whose registration was wrong.
        on_post: Households holding a public post (kept until the next re-check).
        was_above: Households at or above the line at the last re-check (or in 2015).
        income_pc: Income of the last 12 months per person (yuan).
        line: The year's registration line (yuan/person/year).
        removal_share: Multiple of the line at or above which a wrong registration is removed.
        removal_detection: Probability that a wrong registration above it is found.
        entry_detection: Probability that a newly poor household is found.
        rng: The model's generator.

    Returns:
        Masks of the households removed and of those added.
    """
    n = registered.shape[0]
    removal_draw = rng.random(n)
    entry_draw = rng.random(n)
    removed = (
        registered
        & wrongly_registered
        & (status != EXITED)
        & ~on_post
        & (income_pc >= removal_share * line)
        & (removal_draw < removal_detection)
    )
    added = (
        ~registered
        & (village >= 0)
        & was_above
        & (income_pc < line)
        & (entry_draw < entry_detection)
    )
    return removed, added


class LivingRegister(Mechanism):
    """The annual re-check of the register, its accounting and its outputs."""

    name = "living_register"
    Params = RegisterParams

    def __init__(self, params: RegisterParams, model: PovertyModel) -> None:
        super().__init__(params, model)
        hh = model.households
        a = model.scenario.assessment
        first = model.scenario.calendar.start_year
        line_2015 = a.poverty_line(first - 1)
        self.wrongly_registered = misregister(
            hh, params.wrongly_registered_share, params.wrong_income_max, line_2015, model.rng
        )
        #: at or above the registration line at the last re-check (at the start: in 2015)
        self.was_above = hh.rolling_income_per_capita() >= line_2015
        n_c = model.n_counties
        self.added_c = np.zeros(n_c, dtype=np.int64)  # people added this year, by county
        self.removed_c = np.zeros(n_c, dtype=np.int64)
        self.added_households = 0
        self.removed_households = 0
        self.added_total = 0  # households, whole run
        self.removed_total = 0
        self.start_households = int(np.count_nonzero(hh.registered))
        #: people of the register not out of poverty after the last December (or at the start)
        self.poor_people_start = people_where(hh.size, hh.registered & (hh.status != EXITED))
        self.exited_people = 0
        self.returned_people = 0

    def after_villages_act(self, model: PovertyModel) -> None:
        """In the re-check month: remove the wrongly registered found, add the newly poor."""
        if model.month != self.params.recheck_month:
            return
        p = self.params
        hh = model.households
        line = model.scenario.assessment.poverty_line(model.year)
        income_pc = hh.rolling_income_per_capita()
        removed, added = recheck(
            registered=hh.registered,
            status=hh.status,
            village=hh.village,
            wrongly_registered=self.wrongly_registered,
            on_post=hh.occupied > 0,
            was_above=self.was_above,
            income_pc=income_pc,
            line=line,
            removal_share=p.removal_share,
            removal_detection=p.removal_detection,
            entry_detection=p.entry_detection,
            rng=model.rng,
        )
        hh.registered[removed] = False
        hh.group[removed] = NON_POOR
        hh.status[removed] = POOR
        hh.exit_year[removed] = 0
        hh.registered[added] = True
        hh.group[added] = np.where(hh.workers[added] > 0, LABOUR_VILLAGE, NO_LABOUR)
        hh.forget_groups()
        self.wrongly_registered &= ~removed
        self.was_above = income_pc >= line
        size = hh.size.astype(np.int64)
        n_c = model.n_counties
        self.added_c += np.bincount(hh.county[added], size[added], n_c).astype(np.int64)
        self.removed_c += np.bincount(hh.county[removed], size[removed], n_c).astype(np.int64)
        self.added_households += int(np.count_nonzero(added))
        self.removed_households += int(np.count_nonzero(removed))
        self.added_total += int(np.count_nonzero(added))
        self.removed_total += int(np.count_nonzero(removed))
        # the built-in conservation checks follow the register as adjusted
        start = model.invariants.start
        model.invariants.start = dataclasses.replace(
            start,
            registered_households=int(np.count_nonzero(hh.registered)),
            registered_people=people_where(hh.size, hh.registered),
        )

    def _new_year(self) -> None:
        self.added_c[:] = 0
        self.removed_c[:] = 0
        self.added_households = self.removed_households = 0

    def after_household_verdict(
        self,
        model: PovertyModel,
        verdict: HouseholdVerdict,
        income_pc: np.ndarray,
        line: float,
        guarantees: np.ndarray,
    ) -> HouseholdVerdict:
        """Note the December's exits and returns (relapses) for the register's accounting."""
        size = model.households.size
        self.exited_people = people_where(size, verdict.exits)
        self.returned_people = people_where(size, verdict.relapses)
        return verdict

    def annual_row(self, model: PovertyModel) -> dict[str, Any]:
        """The register after adjustment, and this year's additions and removals."""
        hh = model.households
        reg_people = people_where(hh.size, hh.registered)
        exited = people_where(hh.size, hh.registered & (hh.status == EXITED))
        row = {
            "registered_households": int(np.count_nonzero(hh.registered)),
            "registered_people": reg_people,
            "added_people": int(self.added_c.sum()),
            "removed_people": int(self.removed_c.sum()),
            "register_share_exited": exited / reg_people if reg_people else float("nan"),
        }
        return row

    def county_rows(self, model: PovertyModel) -> list[dict[str, Any]]:
        """People added to and removed from each county's register this year."""
        return [
            {"added_people": int(a), "removed_people": int(r)}
            for a, r in zip(self.added_c, self.removed_c, strict=True)
        ]

    def end_of_month(self, model: PovertyModel) -> None:
        """After the checks of December: the next year's accounting starts from this register."""
        if model.month == 12:
            hh = model.households
            self.poor_people_start = people_where(hh.size, hh.registered & (hh.status != EXITED))
            self.exited_people = self.returned_people = 0
            self._new_year()

    def invariant_checks(self) -> Mapping[str, Any]:
        """Register accounting: start + added - removed - exited + returned = end."""
        return {"register_accounting": self._accounting}

    def _accounting(self, model: PovertyModel) -> str | None:
        hh = model.households
        counts = household_counts(model)  # the compiled screen's exact counts, when it runs
        if counts is None:
            counts = {
                "registered_households": int(np.count_nonzero(hh.registered)),
                "registered_not_exited_people": people_where(
                    hh.size, hh.registered & (hh.status != EXITED)
                ),
            }
        households = counts["registered_households"]
        expected_households = self.start_households + self.added_total - self.removed_total
        if households != expected_households:
            return (
                f"expected {expected_households:,} registered households (start "
                f"{self.start_households:,} + added {self.added_total:,} - removed "
                f"{self.removed_total:,}), found {households:,}"
            )
        poor = counts["registered_not_exited_people"]
        added, removed = int(self.added_c.sum()), int(self.removed_c.sum())
        expected = (
            self.poor_people_start + added - removed - self.exited_people + self.returned_people
        )
        if poor != expected:
            return (
                f"poor people on the register: start {self.poor_people_start:,} + added "
                f"{added:,} - removed {removed:,} - exited {self.exited_people:,} + returned "
                f"{self.returned_people:,} = {expected:,}, found {poor:,}"
            )
        return None
