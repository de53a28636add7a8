"""The small interface every measure implements, what it declares, and shared helpers.

A measure is one module: its class declares, besides its parameters and rules, the money it
uses (:attr:`Measure.funds`, :attr:`Measure.sector_sources`), the household arrays it writes
(:attr:`Measure.household_fields`, :attr:`Measure.incomes`), the shared outputs it publishes
or reads (:class:`SharedOutputs`), its invariant checks and the households it serves
(:meth:`Measure.enrolled_mask`). :func:`register` checks the declarations when the registry
(:data:`model.engine.interventions.MEASURES`) is built, so a wrong one fails at import.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from model.engine import draws
from model.engine.funding import FEN, FUNDS, SECTOR_SOURCES, select_within_budget, to_fen
from model.engine.households import INCOME_COMPONENTS, Households
from model.engine.params import Section, choice, param, year_value

if TYPE_CHECKING:
    from model.engine.simulation import PovertyModel

#: A budget that never binds (sector budgets pay what a measure needs within its capacity).
UNLIMITED_FEN = np.iinfo(np.int64).max // 8


@dataclass
class SharedOutputs:
    """What a measure publishes for other measures: the one place they read it.

    Each field is published (written) by exactly one measure, which declares it in
    :attr:`Measure.publishes`; the measures that read it declare it in :attr:`Measure.reads` and
    read it as ``model.shared.<field>``. When the publisher is switched off, the field keeps the
    value :meth:`defaults` gives it.

    Attributes:
        party_factor: Implementation capacity of the household's assisting party (multiplier on
            take-up and success; 1 for scattered households and when assistance is off).
            Published by assistance.
        social_paid_month: Last month's dibao and five-guarantee payment of each household
            (yuan; 0 when social security is off). Published by social security.
    """

    party_factor: np.ndarray
    social_paid_month: np.ndarray

    @classmethod
    def defaults(cls, n: int) -> SharedOutputs:
        """The values for ``n`` households before (or without) their publishers."""
        return cls(party_factor=np.ones(n), social_paid_month=np.zeros(n))


#: Names of the shared outputs (the fields of :class:`SharedOutputs`).
SHARED_OUTPUTS: tuple[str, ...] = tuple(f.name for f in fields(SharedOutputs))


class MeasureParams(Section):
    """Parameters every measure has; each measure's table extends this."""

    enabled: bool = param(
        True,
        unit="switch",
        source=choice(),
        doc="Switch the measure off: then neither its effect nor its cost appears.",
    )


class Measure:
    """A measure of the plan: who enrols, what it does, what it costs.

    Subclasses set ``name`` (the module's name, also the scenario table and the ledger use),
    ``Params``, and declare ``funds`` (which they must set themselves) and, where they apply,
    the other class attributes below; they override :meth:`enrol`, :meth:`apply` and, where the
    measure reacts to this month's shocks, :meth:`respond`. Each month the simulation calls, in
    the order of :data:`model.engine.interventions.MEASURES`, ``enrol`` (step 4), ``apply``
    (step 5, after the background incomes), ``respond`` (step 6, after the shocks), then reads
    :meth:`cost`. Money is only ever spent through :meth:`charge`, which goes through the
    ledger and never spends more than is available.

    Attributes:
        name: The measure's name: its module, its scenario table, its ledger use.
        Params: Its parameter table (a :class:`MeasureParams`).
        funds: Ledger pots it draws on under its own earmark: ``"special"`` makes it a use of
            the special fund (a key of ``funding.allocation``), ``"village"`` a use of the
            village funds (a key of ``funding.village_allocation``); ``()`` for neither.
        sector_source: The sector budget that pays what the pots do not, unless a charge names
            another; None for none.
        sector_sources: Every sector budget the measure charges (names of
            :data:`model.engine.funding.SECTOR_SOURCES`, ``sector_source`` among them).
        household_fields: Household arrays it writes, besides the month's income flows.
        incomes: Income components (:data:`model.engine.households.INCOME_COMPONENTS`) it adds
            to.
        publishes: Shared outputs it writes (fields of :class:`SharedOutputs`).
        reads: Shared outputs it reads (``model.shared.<name>``).
    """

    name: ClassVar[str] = ""
    Params: ClassVar[type[MeasureParams]] = MeasureParams
    funds: ClassVar[tuple[str, ...]] = ()
    sector_source: ClassVar[str | None] = None
    sector_sources: ClassVar[tuple[str, ...]] = ()
    household_fields: ClassVar[tuple[str, ...]] = ()
    incomes: ClassVar[tuple[str, ...]] = ()
    publishes: ClassVar[tuple[str, ...]] = ()
    reads: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: MeasureParams, model: PovertyModel) -> None:
        self.params = params
        self.model = model
        self.month_spend = 0.0
        #: counter -> (year, number started that year), for :meth:`quota`
        self._started: dict[str, tuple[int, int]] = {}
        #: counter -> (year, that year's capacity as last read by :meth:`quota`, scaled)
        self.capacities: dict[str, tuple[int, float]] = {}
        #: fen of candidates the budget refused, by county, since it was last reset (the
        #: demand the money did not meet; read by the accountability mechanism)
        self.unmet_fen = np.zeros(model.n_counties, dtype=np.int64)
        self._paid_in_full = np.ones(model.n_counties)  # the share paid when nothing is short

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

    def enrolled_mask(self, model: PovertyModel, among: np.ndarray | None = None) -> np.ndarray:
        """Households the measure serves now (the ``by_measure`` table's enrolled households).

        A measure spends only on the households of this mask (or on villages and staff of the
        counties it serves); when the mask is empty it spends nothing on households.

        Args:
            model: The running model.
            among: Indices of the households asked about (the record asks about the registered
                only); the mask then has one entry per index. Default: every household.
        """
        return np.zeros(model.households.n if among is None else len(among), dtype=bool)

    def invariant_checks(self) -> Mapping[str, Callable[[PovertyModel], str | None]]:
        """Checks of this measure's own state, run every month (see ``model/engine/invariants``).

        Returns:
            Name -> check; a check returns None when the invariant holds and otherwise what is
            wrong, with counts. Default: none.
        """
        return {}

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
        return self.charge_totals(
            model, np.bincount(county, cost_yuan, model.n_counties), funds, sector_source
        )

    def charge_totals(
        self,
        model: PovertyModel,
        demand_yuan: np.ndarray,
        funds: tuple[str, ...] | None = None,
        sector_source: str | None = None,
    ) -> np.ndarray:
        """:meth:`charge_by_county` of costs already summed by county (yuan per county)."""
        if sector_source is not None and sector_source not in self.sector_sources:
            raise ValueError(
                f"{self.name}: charged to the sector budget {sector_source!r}, which the measure "
                f"does not declare in sector_sources {list(self.sector_sources)}"
            )
        if funds is None and sector_source is None:
            funds, sector_source = self.funds, self.sector_source
        charged = model.ledger.charge(
            self.name, model.year, model.month, demand_yuan, funds or (), sector_source
        )
        if charged is not None:  # paid and recorded in one compiled pass, the same fen
            share, fen = charged
            if fen:
                self.month_spend += float(fen) / FEN
            return share
        demand = to_fen(demand_yuan)
        share = self._paid_in_full.copy()
        if not np.count_nonzero(demand):
            return share
        paid = model.ledger.spend(
            self.name, model.year, model.month, demand, funds or (), sector_source
        )
        self.month_spend += float(sum(paid.tolist())) / FEN  # the int64 sum, without its call
        # 1 where the county was paid in full (or asked nothing), paid / demand where it was not
        short = paid != demand
        if np.count_nonzero(short):
            share[short] = paid[short] / demand[short]
        return share

    def take_within_budget(
        self, model: PovertyModel, candidates: np.ndarray, county: np.ndarray, unit_cost: float
    ) -> np.ndarray:
        """Candidates (in priority order) whose one-off cost fits the budget; pays for them."""
        if candidates.size == 0 or unit_cost <= 0:
            return candidates
        sector = self.sector_source
        took = model.ledger.take(
            self.name, model.year, model.month, county, unit_cost,
            None if sector is None else UNLIMITED_FEN, self.unmet_fen, self.funds, sector,
        )  # fmt: skip
        if took is not None:  # chosen, paid and recorded in one compiled pass, the same fen
            mask, taken, fen = took
            if fen:
                self.month_spend += float(fen) / FEN
            return candidates if taken == candidates.size else candidates[mask]
        unit_fen = int(round(unit_cost * FEN))
        budget = self.budget_fen(model)
        if (np.bincount(county, minlength=budget.size) * unit_fen <= budget).all():
            taken = candidates  # every county can pay for all its candidates
        else:
            cost_fen = np.full(candidates.size, unit_fen, dtype=np.int64)
            mask = select_within_budget(county, cost_fen, budget)
            self.unmet_fen += np.bincount(county[~mask], minlength=budget.size) * unit_fen
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
        adaptation = getattr(model, "adaptation", None)
        if adaptation is not None:  # counties behind their target raise their capacities
            capacity *= adaptation.capacity_factor(self.name)
        year = model.year
        self.capacities[counter] = (year, capacity)
        allowed = math.floor(capacity * model.month / 12 + 1e-9)
        started_year, started = self._started.get(counter, (year, 0))  # started_this_year
        left = allowed - (started if started_year == year else 0)
        return left if left > 0 else 0

    def enrolment_queue(self, model: PovertyModel, mask: np.ndarray, size: int) -> np.ndarray:
        """The first ``size`` households to enrol among those where ``mask`` holds.

        A fair queue (:meth:`queue`) unless counties are adapting to a missed target (the
        accountability mechanism, ``model.adaptation``): then each county gets places in
        proportion to its candidates times its capacity multiplier, and a county that triages
        takes its candidates nearest the exit line first.
        """
        adaptation = getattr(model, "adaptation", None)
        if adaptation is None or not adaptation.adapting(self.name):
            return self.queue(model, mask, size)
        return adaptation.queue(model, mask, size)

    @staticmethod
    def not_started(model: PovertyModel, idx: np.ndarray, start: np.ndarray) -> np.ndarray:
        """Those of the households ``idx`` whose ``start`` is still unset (negative)."""
        kernels = model.households.kernels
        return idx[start[idx] < 0] if kernels is None else kernels.not_started(idx, start)

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
        if size <= 0:  # nobody: no draw either way (an empty choice draws no number)
            return np.zeros(0, dtype=np.intp) if mask.dtype == bool else mask[:0]
        idx = np.flatnonzero(mask) if mask.dtype == bool else mask
        size = min(int(size), idx.size)
        if size == idx.size:
            return self.shuffled(model, idx)
        return draws.choice_without_replacement(model, idx, size)

    def shuffled(self, model: PovertyModel, mask: np.ndarray) -> np.ndarray:
        """Indices where ``mask`` holds, in random order (a fair queue).

        ``mask`` may also be the ascending indices themselves (the same queue, without scanning
        every household).
        """
        idx = np.flatnonzero(mask) if mask.dtype == bool else mask
        return draws.permutation(model, idx) if idx.size > 1 else idx


def picker(among: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
    """A function giving an array's entries of the households ``among`` (all when None)."""
    if among is None:
        return lambda values: values
    return lambda values: values[among]


# -------------------------------------------------------------------------------------------
# the registry


class RegistrationError(TypeError):
    """A measure whose declarations are wrong; raised when the registry is built (at import)."""


def _check_names(cls: type[Measure], attribute: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    given = getattr(cls, attribute)
    if isinstance(given, str) or not isinstance(given, tuple):
        raise RegistrationError(
            f"{cls.__module__}.{cls.__name__}: {attribute}: expected a tuple of names, found "
            f"{given!r}"
        )
    unknown = [name for name in given if name not in allowed]
    if unknown:
        raise RegistrationError(
            f"{cls.__module__}.{cls.__name__}: {attribute}: expected names among "
            f"{sorted(allowed)}, found {unknown}"
        )


def check_declarations(cls: type[Measure]) -> None:
    """Check what a measure class declares; raise :class:`RegistrationError` naming the problem.

    The class must be a :class:`Measure` named after its module, with a :class:`MeasureParams`
    table, set ``funds`` itself (a measure states whether it is a use of the special fund),
    charge only sector budgets of :data:`model.engine.funding.SECTOR_SOURCES`, and name only
    household arrays, income components and shared outputs that exist.
    """
    where = f"{cls.__module__}.{cls.__name__}"
    if not (isinstance(cls, type) and issubclass(cls, Measure)):
        raise RegistrationError(f"{where}: expected a subclass of Measure")
    module = cls.__module__.rsplit(".", 1)[-1]
    if cls.name != module:
        raise RegistrationError(
            f"{where}: name: expected the module's name {module!r}, found {cls.name!r}"
        )
    if not (isinstance(cls.Params, type) and issubclass(cls.Params, MeasureParams)):
        raise RegistrationError(f"{where}: Params: expected a subclass of MeasureParams")
    if "funds" not in vars(cls):
        raise RegistrationError(
            f"{where}: funds: expected the measure to declare the pots it draws on "
            f"(among {list(FUNDS)}, or () for none)"
        )
    _check_names(cls, "funds", FUNDS)
    _check_names(cls, "sector_sources", SECTOR_SOURCES)
    if cls.sector_source is not None and cls.sector_source not in cls.sector_sources:
        raise RegistrationError(
            f"{where}: sector_source: expected one of sector_sources "
            f"{list(cls.sector_sources)}, found {cls.sector_source!r}"
        )
    _check_names(cls, "household_fields", (f.name for f in fields(Households)))
    _check_names(cls, "incomes", INCOME_COMPONENTS)
    _check_names(cls, "publishes", SHARED_OUTPUTS)
    _check_names(cls, "reads", SHARED_OUTPUTS)


def register(names: Iterable[str]) -> tuple[type[Measure], ...]:
    """The registry: the measure of each module ``model.engine.interventions.<name>``, checked.

    Each module defines one :class:`Measure` subclass whose ``name`` is the module's name.

    Args:
        names: The measures' module names, in the order they act each month.

    Returns:
        The measure classes in that order.

    Raises:
        RegistrationError: When a module has no such measure, a name is given twice, a
            declaration is wrong (:func:`check_declarations`), or a shared output has more
            than one publisher.
    """
    measures: list[type[Measure]] = []
    for name in names:
        if any(m.name == name for m in measures):
            raise RegistrationError(f"measure {name!r} registered twice")
        module = importlib.import_module(f"{__package__}.{name}")
        found = [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type)
            and issubclass(obj, Measure)
            and obj.__module__ == module.__name__
            and obj.name == name
        ]
        if len(found) != 1:
            raise RegistrationError(
                f"{module.__name__}: expected one Measure subclass with name = {name!r}, "
                f"found {len(found)}"
            )
        check_declarations(found[0])
        measures.append(found[0])
    for output in SHARED_OUTPUTS:
        publishers = [m.name for m in measures if output in m.publishes]
        if len(publishers) > 1:
            raise RegistrationError(
                f"shared output {output!r}: expected one publisher, found {publishers}"
            )
    return tuple(measures)
