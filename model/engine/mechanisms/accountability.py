"""Accountability and adaptation: counties behind their target raise their effort.

The plan (§III.5, 严格考核督查问责) assesses every county each year and summons (约谈) the
leaders of a county that misses its annual task. The mechanism models the county's answer.
After each December assessment every county compares the people it has brought out
(cumulative, registered and exited) with its share of the next cumulative target (the target
of next year, or the last target once the plan's years are over; a county's share is its share
of the registered poor people when the run starts). A county *behind* by a shortfall ``s``
(the share of its target still missing) raises its effort ``e = min(ceiling, 1 + elasticity *
s)`` for the next year:

* **capacity**: the household programmes of ``measures`` (posts, places, projects, loans,
  renovations) run with their capacities multiplied by ``e`` in that county: the year's quota
  is multiplied by the mean multiplier (weighted by the counties' registered people) and its
  places are given to counties in proportion to their candidates times their multiplier;
* **money**: it moves a share ``min(1, elasticity * s)`` of the unspent special-fund money of
  the uses whose candidates the budget never refused this year to the uses whose candidates
  it refused (unmet demand, in proportion to it), at most the unmet demand; the ledger records
  each movement (``reallocated_out``, ``reallocated_in``);
* **triage** (when on): its programmes take the candidates nearest the exit line first
  (smallest distance between December's per-capita income and the line) instead of a fair
  queue.

A county ahead (or with ``elasticity = 0``) keeps effort 1, moves nothing and keeps the fair
queue, so elasticity 0 gives exactly the model without the mechanism. Effort is set anew each
December: a county that catches up returns to 1. The last December of a run records the
comparison but moves no money (nothing could spend it). The rule draws random numbers only in the
fair queue of the counties that do not triage, when some county adapts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import field_validator

from model.engine import draws
from model.engine.assessment import EXITED
from model.engine.funding import FEN, split_fen
from model.engine.mechanisms.base import Mechanism
from model.engine.params import Section, assumption, choice, param, plan

if TYPE_CHECKING:
    from model.engine.assessment import HouseholdVerdict
    from model.engine.simulation import PovertyModel

#: The household programmes whose capacity and queue a county's effort may change.
ADAPTABLE_MEASURES = ("industry", "employment", "finance", "education", "housing")


class AccountabilityParams(Section):
    """The annual assessment of counties and their answer to a missed target (§III.5)."""

    enabled: bool = param(
        False,
        unit="switch",
        source=plan("§III.5", "annual assessment; leaders of counties missing the task summoned"),
        doc="Whether counties behind their share of the next target raise their effort.",
    )
    elasticity: float = param(
        1.0,
        unit="effort multiplier per unit of shortfall (share of the target missing)",
        source=assumption("no pre-2016 measure of how counties answer a summons"),
        doc="How strongly a county behind raises its effort; 0 = no answer (today's model).",
        kind="lever",
        range=(0.0, 3.0),
        ge=0,
        le=10,
    )
    ceiling: float = param(
        1.5,
        unit="largest capacity multiplier",
        source=assumption("staff, places and projects cannot grow without bound in a year"),
        doc="Ceiling on a county's effort (multiplier on its programmes' capacities).",
        kind="lever",
        range=(1.0, 2.0),
        ge=1,
        le=5,
    )
    reallocate: bool = param(
        True,
        unit="switch",
        source=choice("§III.3 says funds follow projects; moving them between uses is ours"),
        doc="Whether a county behind moves unspent special-fund money to uses with unmet demand.",
        kind="lever",
    )
    triage: bool = param(
        True,
        unit="switch",
        source=choice("a county behind serves the households nearest the line first"),
        doc="Whether a county behind enrols its candidates nearest the exit line first.",
        kind="lever",
    )
    measures: list[str] = param(
        default_factory=lambda: list(ADAPTABLE_MEASURES),
        unit="measure names",
        source=choice("the household programmes with a yearly capacity"),
        doc="The programmes whose capacity and queue a county's effort changes.",
    )

    @field_validator("measures")
    @classmethod
    def _measures(cls, names: list[str]) -> list[str]:
        unknown = sorted(set(names) - set(ADAPTABLE_MEASURES))
        if unknown:
            raise ValueError(
                f"accountability.measures: expected names among {list(ADAPTABLE_MEASURES)}, "
                f"found {unknown}"
            )
        return names


def county_effort(
    exited_people: np.ndarray, target_people: np.ndarray, elasticity: float, ceiling: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each county's shortfall and effort (vectorised over counties).

    Args:
        exited_people: People the county has brought out (cumulative).
        target_people: The county's share of the next cumulative target (people).
        elasticity: Effort per unit of shortfall.
        ceiling: Largest effort.

    Returns:
        ``(shortfall, effort)``: the share of the target still missing (0 when ahead or without
        a target) and ``min(ceiling, 1 + elasticity * shortfall)``.
    """
    target = np.asarray(target_people, dtype=float)
    done = np.asarray(exited_people, dtype=float)
    shortfall = np.where(target > 0, np.clip(1 - done / np.maximum(target, 1e-12), 0, 1), 0.0)
    effort = np.minimum(ceiling, 1 + elasticity * shortfall)
    return shortfall, effort


def triage_order(
    candidates: np.ndarray, income_pc: np.ndarray, line: float, first: int | None = None
) -> np.ndarray:
    """``candidates`` ordered by distance of their per-capita income to ``line``, nearest first.

    Ties keep the candidates' order (a stable sort). With ``first``, only the first ``first``
    of that order: the same households in the same order, found without sorting the others.
    """
    distance = np.abs(income_pc[candidates] - line)
    if first is None or first >= candidates.size:
        return candidates[np.argsort(distance, kind="stable")]
    if first <= 0:
        return candidates[:0]
    # everything nearer than the first-th distance, sorted; then the ties at that distance in
    # the candidates' order, as many as are still wanted
    kth = np.partition(distance, first - 1)[first - 1]
    nearer = np.flatnonzero(distance < kth)
    nearer = nearer[np.argsort(distance[nearer], kind="stable")]
    tied = np.flatnonzero(distance == kth)[: first - nearer.size]
    return candidates[np.concatenate((nearer, tied))]


def allot(size: int, eligible: np.ndarray, multiplier: np.ndarray) -> np.ndarray:
    """Split ``size`` places over counties by candidates x multiplier, never beyond candidates.

    Places a county cannot fill go to the others with candidates left, in the same proportions.
    """
    eligible = np.asarray(eligible, dtype=np.int64)
    size = min(int(size), int(eligible.sum()))
    places = np.zeros(eligible.size, dtype=np.int64)
    while size > places.sum():
        room = eligible - places
        extra = split_fen(int(size - places.sum()), room * multiplier * (room > 0))
        places += np.minimum(extra, room)
    return places


class Accountability(Mechanism):
    """Each December, counties behind their share of the next target raise their effort."""

    name = "accountability"
    Params = AccountabilityParams

    def __init__(self, params: AccountabilityParams, model: PovertyModel) -> None:
        super().__init__(params, model)
        hh = model.households
        n_c = model.n_counties
        people = hh.size * hh.registered
        registered = np.bincount(hh.county, people, n_c)
        #: each county's share of the targets: its share of the registered poor people
        self.target_share = registered / max(registered.sum(), 1)
        self.effort = np.ones(n_c)
        self.shortfall = np.zeros(n_c)
        self.target_people = np.zeros(n_c, dtype=np.int64)
        self.exited_people = np.zeros(n_c, dtype=np.int64)
        self.target_people.flags.writeable = self.exited_people.flags.writeable = False
        #: the arrays of the last check of the effort that held (the same objects: it holds)
        self._effort_checked: tuple | None = None
        self.triaging = np.zeros(n_c, dtype=bool)
        self.reallocated_fen = np.zeros(n_c, dtype=np.int64)
        self.reallocated_total_fen = 0
        self.income_pc = np.zeros(hh.n)
        self.line = 0.0
        self._measures = set(params.measures)
        model.adaptation = self

    # -- what the measures read -------------------------------------------------------------

    @property
    def effort(self) -> np.ndarray:
        """Each county's effort (a read-only view: assign a new array to change it)."""
        return self._effort_view

    @effort.setter
    def effort(self, value: np.ndarray) -> None:
        # what the measures read is derived once, here; the kernels take the writeable array
        # (a read-only one is another type to numba, compiled anew)
        self._effort = np.array(value, dtype=float)
        self._effort_view = self._effort.view()
        self._effort_view.flags.writeable = False
        self._raised = bool((self._effort > 1).any())
        self._mean_effort = float(self.target_share @ self._effort)

    def adapting(self, measure: str) -> bool:
        """Whether some county has raised its effort for ``measure``."""
        return self._raised and measure in self._measures

    def capacity_factor(self, measure: str) -> float:
        """Multiplier on ``measure``'s yearly capacity: the counties' mean effort (1 if none)."""
        return self._mean_effort if self.adapting(measure) else 1.0

    def queue(self, model: PovertyModel, mask: np.ndarray, size: int) -> np.ndarray:
        """The first ``size`` candidates: places by county, triaged where the county triages."""
        hh = model.households
        idx = np.flatnonzero(mask) if mask.dtype == bool else np.asarray(mask)
        stream = draws.compiled_stream(model, idx)  # None without the compiled kernels
        if stream is not None:  # the places, the triage and every county's draw at once
            taken, exact = hh.kernels.county_queue(
                idx, hh.county, model.n_counties, int(size), self._effort, self.triaging,
                self.income_pc, self.line, *stream,
            )  # fmt: skip
            if exact:
                return taken
        # numpy's queue: the same households, drawn in the same order
        county = hh.county[idx]
        counts = np.bincount(county, minlength=model.n_counties)
        places = allot(size, counts, self.effort)
        # candidates grouped by county, each county's in their original order (a stable sort)
        grouped = idx[np.argsort(county, kind="stable")]
        ends = np.cumsum(counts)
        taken = []
        for c in np.flatnonzero(places):
            candidates = grouped[ends[c] - counts[c] : ends[c]]
            if self.triaging[c]:
                taken.append(triage_order(candidates, self.income_pc, self.line, int(places[c])))
            else:
                taken.append(draws.choice_without_replacement(model, candidates, int(places[c])))
        return np.concatenate(taken) if taken else idx[:0]

    # -- the December hooks -----------------------------------------------------------------

    def after_household_verdict(
        self,
        model: PovertyModel,
        verdict: HouseholdVerdict,
        income_pc: np.ndarray,
        line: float,
        guarantees: np.ndarray,
    ) -> HouseholdVerdict:
        """Keep December's incomes and line for triage; the verdict is unchanged."""
        self.income_pc = np.asarray(income_pc, dtype=float).copy()
        self.line = float(line)
        return verdict

    def after_assessment(self, model: PovertyModel) -> None:
        """Compare each county with its share of the next target; adapt those behind."""
        p = self.params
        hh = model.households
        n_c = model.n_counties
        out = hh.registered & (hh.status == EXITED)
        self.exited_people = np.bincount(hh.county[out], hh.size[out], n_c).astype(np.int64)
        target = model.scenario.targets.target_for(model.year + 1)
        if target is None:
            self.target_people = np.zeros(n_c, dtype=np.int64)
        else:
            scaled = round(target * model.population.scale)
            self.target_people = split_fen(scaled, self.target_share)
        self.exited_people.flags.writeable = False  # compared with the effort every month
        self.target_people.flags.writeable = False
        self.shortfall, self.effort = county_effort(
            self.exited_people, self.target_people, p.elasticity, p.ceiling
        )
        self.triaging = p.triage & (self.effort > 1)
        self.reallocated_fen = np.zeros(n_c, dtype=np.int64)
        running = [m for m in model.measures if "special" in m.funds]
        last = model.month_index + 1 >= getattr(model, "total_months", model.month_index + 2)
        if p.reallocate and running and not last:  # after the last month money cannot be used
            share = np.minimum(1.0, p.elasticity * self.shortfall)
            # what each use holds by county: a county's movements change only its own column
            held = {m.name: model.ledger.available(m.name, ("special",)).tolist() for m in running}
            for c in np.flatnonzero(share > 0).tolist():
                self.reallocated_fen[c] = self._reallocate(model, running, held, c, share[c])
            self.reallocated_total_fen += int(self.reallocated_fen.sum())
        for measure in model.measures:
            measure.unmet_fen[:] = 0  # the year's unmet demand has been answered

    def _reallocate(
        self,
        model: PovertyModel,
        running: list[Any],
        held: dict[str, list[int]],
        c: int,
        share: float,
    ) -> int:
        unmet = {m.name: int(m.unmet_fen[c]) for m in running if m.unmet_fen[c] > 0}
        if not unmet:
            return 0
        ledger = model.ledger
        donors = {
            m.name: int(np.floor(share * held[m.name][c])) for m in running if m.name not in unmet
        }
        donors = {name: fen for name, fen in donors.items() if fen > 0}
        wanted = sum(unmet.values())
        if sum(donors.values()) > wanted:  # never more than the unmet demand
            names = list(donors)
            cut = split_fen(wanted, np.array([donors[n] for n in names], dtype=float))
            donors = {n: int(f) for n, f in zip(names, cut, strict=True) if f > 0}
        if not donors:
            return 0
        weights = {name: float(fen) for name, fen in unmet.items()}
        return ledger.reallocate("special", model.year, model.month, c, donors, weights)

    # -- outputs and checks -----------------------------------------------------------------

    def annual_row(self, model: PovertyModel) -> dict[str, Any]:
        """Counties behind, counties adapting, and the money moved this December."""
        return {
            "counties_behind": int(np.count_nonzero(self.exited_people < self.target_people)),
            "counties_adapting": int(np.count_nonzero(self.effort > 1)),
            "reallocated": float(self.reallocated_fen.sum()) / FEN,
            "reallocated_to_date": self.reallocated_total_fen / FEN,
        }

    def county_rows(self, model: PovertyModel) -> list[dict[str, Any]]:
        """Each county's target share, shortfall, effort, triage and money moved."""
        return [
            {
                "target_next_people": target,
                "behind_target": exited < target,
                "shortfall": shortfall,
                "effort": effort,
                "triage": triage,
                "reallocated": float(moved) / FEN,
            }
            for target, exited, shortfall, effort, triage, moved in zip(
                self.target_people.tolist(), self.exited_people.tolist(),
                self.shortfall.tolist(), self.effort.tolist(), self.triaging.tolist(),
                self.reallocated_fen.tolist(), strict=True,
            )
        ]  # fmt: skip

    def invariant_checks(self) -> Mapping[str, Any]:
        """Effort within [1, ceiling], only where behind; reallocations balance per source."""
        return {
            "effort_within_ceiling": self._effort_within_ceiling,
            "reallocations_balance": self._reallocations_balance,
        }

    def _effort_within_ceiling(self, model: PovertyModel) -> str | None:
        e, exited, target = self.effort, self.exited_people, self.target_people
        held = self._effort_checked
        if held is not None and held[0] is e and held[1] is exited and held[2] is target:
            return None  # the same read-only arrays as at the last check, which held
        if (e < 1).any() or (e > self.params.ceiling + 1e-12).any():
            return f"effort outside [1, {self.params.ceiling}]: {e.round(3).tolist()}"
        ahead = (e > 1) & (exited >= target)
        if ahead.any():
            return f"counties ahead of target with raised effort: {np.flatnonzero(ahead)}"
        if not (e.flags.writeable or exited.flags.writeable or target.flags.writeable):
            self._effort_checked = (e, exited, target)
        return None

    def _reallocations_balance(self, model: PovertyModel) -> str | None:
        if model.ledger.screen_holds("LEDGER_MOVES_UNEQUAL"):
            return None
        gaps = model.ledger.reallocation_gaps_fen()
        wrong = {f"{f}/{s}": gap for (f, s), gap in gaps.items()}
        return f"money moved out != moved in, fen: {wrong}" if wrong else None
