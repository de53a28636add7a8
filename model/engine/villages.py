"""Poor villages as Mesa agents, and the county-level units that group them."""

from __future__ import annotations

import itertools
import weakref
from typing import TYPE_CHECKING

import mesa

from model.engine.assessment import CHECKLIST_ITEMS, village_passes
from model.engine.population import PARTIES

if TYPE_CHECKING:
    from model.engine.simulation import PovertyModel


class _IdCounters(weakref.WeakKeyDictionary):
    """Per-model ``unique_id`` counters that do not keep a finished model alive.

    Mesa 3.3's ``Agent._ids`` is a class-level ``defaultdict`` keyed by the model, so every
    model that ever made an agent stays in memory (mesa issue #3179, fixed after 3.3.1): about
    70 MB per full-scale run, which a worker running thousands of sweep points cannot afford.
    """

    def __getitem__(self, model: object) -> itertools.count:
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = self[model] = itertools.count(1)
            return counter


class Village(mesa.Agent):
    """A relatively poor administrative village (§I.2).

    Holds its public services (the exit checklist), works in progress that will add services,
    its assisting party (§II.9) and its exit status. Households are not agents: the village reads
    its residents' totals from the household arrays when it is assessed.
    """

    _ids = _IdCounters()

    def __init__(
        self,
        model: PovertyModel,
        index: int,
        county: int,
        party: str,
        three_kinds_area: bool,
        services: dict[str, bool],
    ) -> None:
        super().__init__(model)
        self.index = index
        self.county = county
        self.party = party
        self.three_kinds_area = three_kinds_area
        self.services = {item: bool(services.get(item, False)) for item in CHECKLIST_ITEMS}
        #: works in progress: service item -> month index at which it opens
        self.works: dict[str, int] = {}
        self.exited = False
        self.exit_year = 0
        self.income_per_capita = 0.0

    def schedule_work(self, item: str, opens_at_month: int) -> None:
        """Start works that will open ``item`` at month index ``opens_at_month``."""
        if item not in CHECKLIST_ITEMS:
            raise ValueError(f"unknown service item {item!r}")
        if not self.services[item]:
            due = self.works.setdefault(item, opens_at_month)
            model = self.model
            if due < getattr(model, "next_work_due", due):
                model.next_work_due = due

    def step(self) -> None:
        """Step 3 of the month: works that are due open their service."""
        month = self.model.month_index
        for item, due in list(self.works.items()):
            if month >= due:
                self.services[item] = True
                del self.works[item]

    def assess(
        self, income_per_capita: float, line: float, checklist: list[str], year: int
    ) -> bool:
        """December assessment against the village exit rule; returns True on a new exit."""
        self.income_per_capita = income_per_capita
        if self.exited:
            return False
        if village_passes(income_per_capita, self.services, checklist, line):
            self.exited = True
            self.exit_year = year
            return True
        return False


def party_name(code: int) -> str:
    """Name of an assisting party code."""
    return PARTIES[code]
