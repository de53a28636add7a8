"""Villages re-checked: an exited village that falls back is counted as poor again.

Without the mechanism a village that has exited stays out for good. With it, every December
after the village assessment each village that exited in an earlier year is re-checked against
the rule it exited by (§I.3: per-capita income at or above 60% of provincial rural income, and
the service checklist) and against its poor share: it is counted again (*relapsed*) when

* its per-capita income is below ``income_share`` of the year's village exit line, or
* a checklist service is missing, or
* the share of its people in registered households not (or no longer) out of poverty has risen
  more than ``poor_share_rise`` above the share when it exited.

A relapsed village is poor again and may exit again at a later December. The rule is
deterministic: the mechanism draws no random numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from model.engine.assessment import EXITED
from model.engine.mechanisms.base import Mechanism
from model.engine.params import Section, assumption, param, plan

if TYPE_CHECKING:
    from model.engine.simulation import PovertyModel


class VillageRecheckParams(Section):
    """The annual re-check of exited villages (§III.5 assessment, §II.9 dynamic management)."""

    enabled: bool = param(
        False,
        unit="switch",
        source=plan("§III.5, §II.9", "annual assessment; dynamic management of the register"),
        doc="Whether exited villages are re-checked each December and counted again if they "
        "fall back.",
    )
    income_share: float = param(
        1.0,
        unit="share of the year's village exit line",
        source=plan("§I.3", "the village exit rule; below 1 is an assumption"),
        doc="An exited village whose per-capita income falls below this share of the line is "
        "counted again.",
        range=(0.8, 1.0),
        ge=0,
        le=2,
    )
    poor_share_rise: float = param(
        0.02,
        unit="share of village people (points)",
        source=assumption("the plan's 5% poor-share criterion of §I.2 as a scale"),
        doc="An exited village whose poor share rises by more than this since its exit is "
        "counted again.",
        range=(0.0, 0.1),
        ge=0,
        le=1,
    )
    require_checklist: bool = param(
        True,
        unit="switch",
        source=plan("§I.3", "the service checklist is part of the exit rule"),
        doc="Whether a missing checklist service also counts the village again.",
    )


def village_poor_share(model: PovertyModel) -> np.ndarray:
    """Share of each village's people in registered households not out of poverty."""
    hh = model.households
    poor = (hh.village >= 0) & hh.registered & (hh.status != EXITED)
    poor_people = np.bincount(hh.village[poor], hh.size[poor], len(model.villages))
    return poor_people / np.maximum(model.village_people, 1)


def falls_back(
    *,
    earlier_exit: np.ndarray,
    income_pc: np.ndarray,
    line: float,
    income_share: float,
    checklist_ok: np.ndarray,
    poor_share: np.ndarray,
    poor_share_at_exit: np.ndarray,
    poor_share_rise: float,
) -> np.ndarray:
    """Villages that exited before this year and fail the re-check (vectorised over villages).

    Args:
        earlier_exit: Villages out since an earlier year.
        income_pc: Village per-capita income of this year (yuan).
        line: The year's village exit line (yuan/person/year).
        income_share: Share of the line below which a village falls back.
        checklist_ok: Every checklist service holds (all True to ignore the checklist).
        poor_share: Poor share now.
        poor_share_at_exit: Poor share in the December of the village's exit.
        poor_share_rise: Largest rise of the poor share that still passes.

    Returns:
        Mask of villages counted again.
    """
    fails = (
        (income_pc < income_share * line)
        | ~checklist_ok
        | (poor_share > poor_share_at_exit + poor_share_rise)
    )
    return earlier_exit & fails


class VillageRecheck(Mechanism):
    """Re-checks exited villages each December; counts again those that fall back."""

    name = "village_recheck"
    Params = VillageRecheckParams

    def __init__(self, params: VillageRecheckParams, model: PovertyModel) -> None:
        super().__init__(params, model)
        n_v = len(model.villages)
        self.poor_share_at_exit = np.zeros(n_v)
        self.times_relapsed = np.zeros(n_v, dtype=np.int64)
        self.relapsed_this_year = np.zeros(n_v, dtype=bool)

    def after_village_assessment(
        self, model: PovertyModel, village_pc: np.ndarray, village_line: float
    ) -> None:
        """Re-check the villages out since an earlier year; note the poor share of new exits."""
        p = self.params
        villages = model.villages
        year = model.year
        exited = np.array([v.exited for v in villages], dtype=bool)
        exit_year = np.array([v.exit_year for v in villages], dtype=np.int64)
        checklist = model.scenario.assessment.village_checklist
        if p.require_checklist:
            checklist_ok = np.array(
                [all(v.services.get(item, False) for item in checklist) for v in villages],
                dtype=bool,
            )
        else:
            checklist_ok = np.ones(len(villages), dtype=bool)
        share = village_poor_share(model)
        relapsed = falls_back(
            earlier_exit=exited & (exit_year < year),
            income_pc=np.asarray(village_pc, dtype=float),
            line=village_line,
            income_share=p.income_share,
            checklist_ok=checklist_ok,
            poor_share=share,
            poor_share_at_exit=self.poor_share_at_exit,
            poor_share_rise=p.poor_share_rise,
        )
        new = exited & (exit_year == year)
        self.poor_share_at_exit[new] = share[new]
        for i in np.flatnonzero(relapsed):
            villages[i].exited = False
            villages[i].exit_year = 0
        self.relapsed_this_year = relapsed
        self.times_relapsed += relapsed

    def annual_row(self, model: PovertyModel) -> dict[str, Any]:
        """Villages counted again this December, and villages ever counted again."""
        return {
            "villages_relapsed": int(np.count_nonzero(self.relapsed_this_year)),
            "villages_ever_relapsed": int(np.count_nonzero(self.times_relapsed)),
        }

    def county_rows(self, model: PovertyModel) -> list[dict[str, Any]]:
        """Villages of each county counted again this December."""
        county = np.array([v.county for v in model.villages], dtype=np.int64)
        per_county = np.bincount(county[self.relapsed_this_year], minlength=model.n_counties)
        return [{"villages_relapsed": int(k)} for k in per_county]

    def invariant_checks(self) -> Mapping[str, Any]:
        """A village counted again this year is not out."""
        return {"relapsed_villages_not_exited": self._relapsed_not_exited}

    def _relapsed_not_exited(self, model: PovertyModel) -> str | None:
        if model.month != 12:
            return None
        bad = [v.index for v in model.villages if v.exited and self.relapsed_this_year[v.index]]
        if bad:
            return f"{len(bad)} villages counted again this year are marked exited: {bad[:5]}"
        return None
