"""The small interface every measure implements, its parameter base class and shared helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from model.engine.funding import FEN, select_within_budget, to_fen
from model.engine.params import Section, param, year_value

if TYPE_CHECKING:
    from model.engine.simulation import PovertyModel

#: A budget that never binds (sector budgets pay what a measure needs within its capacity).
UNLIMITED_FEN = np.iinfo(np.int64).max // 8


class MeasureParams(Section):
    """Parameters every measure has; each measure's table extends this."""

    enabled: bool = param(
        True,
        unit="switch",
        source="scenario choice",
        doc="Switch the measure off: then neither its effect nor its cost appears.",
    )


class Measure:
    """A measure of the plan: who enrols, what it does, what it costs.

    Subclasses set ``name`` (the module's name, also the scenario table and the ledger use),
    ``Params``, the budget it draws on (``funds`` pots of the ledger, then ``sector_source``)
    and override :meth:`enrol`, :meth:`apply` and, where the measure reacts to this month's
    shocks, :meth:`respond`. Each month the simulation calls, in the order of
    :data:`model.engine.interventions.MEASURES`, ``enrol`` (step 4), ``apply`` (step 5, after the
    background incomes), ``respond`` (step 6, after the shocks), then reads :meth:`cost`.
    Money is only ever spent through :meth:`charge`, which goes through the ledger and never
    spends more than is available.
    """

    name: ClassVar[str] = ""
    Params: ClassVar[type[MeasureParams]] = MeasureParams
    funds: ClassVar[tuple[str, ...]] = ("special",)
    sector_source: ClassVar[str | None] = None

    def __init__(self, params: MeasureParams, model: PovertyModel) -> None:
        self.params = params
        self.model = model
        self.month_spend = 0.0
        #: counter -> (year, number started that year), for :meth:`quota`
        self._started: dict[str, tuple[int, int]] = {}

    # -- the interface ---------------------------------------------------------------------

    @classmethod
    def switch_off(cls, model: PovertyModel) -> None:
        """Remove the measure's standing state when a scenario disables it (default: none)."""

    def enrol(self, model: PovertyModel) -> None:
        """Enrol households or villages this month, within capacity and budget."""

    def apply(self, model: PovertyModel) -> None:
        """Add this month's effect to the household income components or state."""

    def respond(self, model: PovertyModel) -> None:
        """React to this month's shocks (illness, job loss)."""

    def cost(self, model: PovertyModel) -> float:
        """Spend of this month, in yuan."""
        return self.month_spend

    def enrolled_mask(self, model: PovertyModel) -> np.ndarray:
        """Households currently enrolled (for the ``by_measure`` table)."""
        return np.zeros(model.households.n, dtype=bool)

    # -- helpers -----------------------------------------------------------------------------

    def budget_fen(self, model: PovertyModel) -> np.ndarray:
        """Fen this measure can spend now, by county."""
        if self.sector_source is not None:
            return np.full(model.n_counties, UNLIMITED_FEN, dtype=np.int64)
        return model.ledger.available(self.name, self.funds)

    def charge(
        self,
        model: PovertyModel,
        county: np.ndarray,
        cost_yuan: np.ndarray,
        funds: tuple[str, ...] | None = None,
        sector_source: str | None = None,
    ) -> np.ndarray:
        """Pay per-item costs through the ledger; returns the share paid in each item's county.

        Args:
            model: The running model.
            county: County of each item (household, village).
            cost_yuan: Cost of each item in yuan.
            funds: Ledger pots to draw on (default: the measure's ``funds``).
            sector_source: Sector budget paying the rest (default: the measure's).

        Returns:
            For each item, the share of its county's demand that was paid (1 when the budget
            covered it, less when it ran short; never more).
        """
        return self.charge_by_county(model, county, cost_yuan, funds, sector_source)[county]

    def charge_by_county(
        self,
        model: PovertyModel,
        county: np.ndarray,
        cost_yuan: np.ndarray,
        funds: tuple[str, ...] | None = None,
        sector_source: str | None = None,
    ) -> np.ndarray:
        """:meth:`charge`, returning the share paid in each county instead of each item's."""
        demand = to_fen(np.bincount(county, cost_yuan, model.n_counties))
        if not demand.any():
            return np.ones(model.n_counties)
        if funds is None and sector_source is None:
            funds, sector_source = self.funds, self.sector_source
        paid = model.ledger.spend(
            self.name, model.year, model.month, demand, funds or (), sector_source
        )
        self.month_spend += float(paid.sum()) / FEN
        return np.divide(paid, demand, out=np.ones(model.n_counties), where=demand > 0)

    def take_within_budget(
        self, model: PovertyModel, candidates: np.ndarray, county: np.ndarray, unit_cost: float
    ) -> np.ndarray:
        """Candidates (in priority order) whose one-off cost fits the budget; pays for them."""
        if candidates.size == 0 or unit_cost <= 0:
            return candidates
        unit_fen = int(round(unit_cost * FEN))
        budget = self.budget_fen(model)
        if (np.bincount(county, minlength=budget.size) * unit_fen <= budget).all():
            taken = candidates  # every county can pay for all its candidates
        else:
            cost_fen = np.full(candidates.size, unit_fen, dtype=np.int64)
            mask = select_within_budget(county, cost_fen, budget)
            taken, county = candidates[mask], county[mask]
        if taken.size:
            self.charge(model, county, np.full(taken.size, unit_cost))
        return taken

    def quota(
        self, model: PovertyModel, yearly: dict[int, float], counter: str = "households"
    ) -> int:
        """How many may start this month: the year's capacity (scaled), paced evenly by month.

        By month ``m`` at most ``floor(capacity * m / 12)`` may have started this year; the quota
        is what that leaves after those already counted with :meth:`count_started`.

        Args:
            model: The running model.
            yearly: Capacity by year, for the full population.
            counter: What is counted; a measure with several programmes paces each apart.
        """
        capacity = year_value(yearly, model.year) * model.population.scale
        allowed = int(np.floor(capacity * model.month / 12 + 1e-9))
        return max(allowed - self.started_this_year(model, counter), 0)

    def started_this_year(self, model: PovertyModel, counter: str = "households") -> int:
        """How many started this year under ``counter`` (the count restarts each year)."""
        year, n = self._started.get(counter, (model.year, 0))
        return n if year == model.year else 0

    def count_started(self, model: PovertyModel, n: int, counter: str = "households") -> None:
        """Count ``n`` more started this year under ``counter``."""
        self._started[counter] = (model.year, self.started_this_year(model, counter) + int(n))

    def queue(self, model: PovertyModel, mask: np.ndarray, size: int) -> np.ndarray:
        """The first ``size`` places of a fair queue of the households where ``mask`` holds.

        The same distribution as ``self.shuffled(model, mask)[:size]`` (a random ordered
        selection), drawing random numbers for the households taken rather than for every
        candidate. ``mask`` may also be the ascending indices themselves.
        """
        idx = np.flatnonzero(mask) if mask.dtype == bool else mask
        size = max(min(int(size), idx.size), 0)
        if size == idx.size:
            return self.shuffled(model, idx)
        return model.rng.choice(idx, size=size, replace=False)

    def shuffled(self, model: PovertyModel, mask: np.ndarray) -> np.ndarray:
        """Indices where ``mask`` holds, in random order (a fair queue).

        ``mask`` may also be the ascending indices themselves (the same queue, without scanning
        every household).
        """
        idx = np.flatnonzero(mask) if mask.dtype == bool else mask
        return model.rng.permutation(idx) if idx.size > 1 else idx
