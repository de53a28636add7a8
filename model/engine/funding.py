"""Money (§III.3): the special fund and its 6:3:1 split, village funds, sector budgets, the ledger.

Every yuan moves from a source to a use (a measure) in a month and a county, and is counted in
integer fen so that, for every source, ``received = spent + unspent + leaked`` holds exactly.

Budget lines (``fund``):

- ``special``: 20,000 yuan per labour-capable registered poor person (§III.3), paid by
  ``province``, ``paired_city`` and ``home_city`` in the shares 6 : 3 : 1 (a lever), in yearly
  amounts and monthly tranches (levers), each source possibly late (a lever), earmarked to uses
  by the allocation lever. A share of each tranche leaks (uncertainty), less what audits recover.
  Unspent money carries over. County shares follow the labour-capable poor people.
- ``village``: the city's 200,000 yuan per village per year for its own 29 villages (§III.3;
  source ``shaoguan_city``) and the provincial/central units' money for their 40 villages
  (source ``provincial_units``; amount an assumption), spent on those villages.
- ``sector``: budgets outside the special fund (:data:`SECTOR_SOURCES`: roads, water, housing,
  dibao, medical assistance, education...); they pay what a measure needs within its own
  capacity, so they are received when spent.

The uses of the special fund and of the village funds are the measures that declare them
(:attr:`model.engine.interventions.base.Measure.funds`): :data:`SPECIAL_USES` and
:data:`VILLAGE_USES` are read from the registry of measures, and an allocation must give a share
to every one of them (0 for none).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import field_validator, model_validator

from model.engine.params import Section, YearTable, assumption, choice, param, plan

if TYPE_CHECKING:
    import pandas as pd

    from model.engine.simulation import PovertyModel

PLAN = "Shaoguan plan 2016"
SPECIAL_SOURCES = ("province", "paired_city", "home_city")
VILLAGE_SOURCES = ("shaoguan_city", "provincial_units")
#: The ledger's pots a measure may draw on: the special fund and the village funds.
FUNDS = ("special", "village")
#: The one registry of sector budgets (money outside the special fund and the village funds)
#: a measure may charge: name -> what it is. A measure declares the ones it uses
#: (:attr:`model.engine.interventions.base.Measure.sector_sources`); a name not listed here is
#: refused when the measure is registered and when money is spent, so a typo never opens a
#: new budget.
SECTOR_SOURCES: dict[str, str] = {
    "roads": "rural roads: construction and maintenance (§II.5, §II.10)",
    "water": "safe drinking water works (§II.5)",
    "telecom": "broadband, 4G and information stations (§II.5)",
    "transport": "village bus stops and routes (§II.5)",
    "education": "education budget: mountain-area teachers' allowances (§II.6)",
    "medical": "medical insurance funds, medical assistance and village clinics (§II.4)",
    "housing": "dilapidated-house renovation and relocation (§II.7)",
    "forestry": "ecological compensation: forest-ranger pay (§II.7)",
    "dibao": "civil affairs: dibao, five-guarantee support, disability subsidies, pensions (§II.3)",
}
FEN = 100


def special_uses() -> tuple[str, ...]:
    """Uses the special fund may pay for: the registered measures drawing on the ``special`` pots.

    In the measures' monthly order (§III.3: income projects, then schooling and medical costs).
    """
    from model.engine.interventions import MEASURES  # the registry imports this module

    return tuple(m.name for m in MEASURES if "special" in m.funds)


def village_uses() -> tuple[str, ...]:
    """Uses the village funds may pay for: registered measures drawing on the ``village`` pots."""
    from model.engine.interventions import MEASURES

    return tuple(m.name for m in MEASURES if "village" in m.funds)


def __getattr__(name: str) -> tuple[str, ...]:
    """``SPECIAL_USES`` and ``VILLAGE_USES``, read from the registry of measures when asked.

    (The registry imports this module, so the tuples cannot be built when it loads.)
    """
    if name == "SPECIAL_USES":
        return special_uses()
    if name == "VILLAGE_USES":
        return village_uses()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_sector_source(name: str, what: str) -> None:
    """Raise ``ValueError`` unless ``name`` is a sector budget of :data:`SECTOR_SOURCES`."""
    if name not in SECTOR_SOURCES:
        raise ValueError(
            f"{what}: expected a sector budget among {sorted(SECTOR_SOURCES)}, found {name!r}"
        )


def check_shares(
    shares: dict[str, float],
    allowed: tuple[str, ...] | None,
    what: str,
    complete: bool = False,
) -> None:
    """Raise ``ValueError`` unless ``shares`` are non-negative, known and sum to 1.

    Args:
        shares: Name -> share.
        allowed: The names a share may be given for (None: any).
        what: What the shares are, for the message (``"allocation"``, ``"--allocation ..."``).
        complete: Also require a share for every name of ``allowed`` (0 for none), so that a
            use left out is an error rather than silently given nothing.
    """
    if allowed is not None:
        unknown = sorted(set(shares) - set(allowed))
        if unknown:
            raise ValueError(f"{what}: expected names among {list(allowed)}, found {unknown}")
    bad = {k: v for k, v in shares.items() if not (v >= 0 and math.isfinite(v))}
    if bad:
        raise ValueError(f"{what}: expected finite shares >= 0, found {bad}")
    total = sum(shares.values())
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise ValueError(f"{what}: expected shares summing to 1, found a sum of {total:g}")
    if complete and allowed is not None:
        missing = [name for name in allowed if name not in shares]
        if missing:
            raise ValueError(
                f"{what}: expected a share for every use {list(allowed)} (0 for none), "
                f"found none for {missing}"
            )


class FundingParams(Section):
    """Size, sharing, timing, allocation and losses of the money."""

    special_fund_per_person: float = param(
        20_000.0,
        unit="yuan per labour-capable registered poor person, over the fund's years",
        source=plan("§III.3"),
        kind="lever",
        range=(10_000.0, 30_000.0),
        ge=0,
    )
    source_shares: dict[str, float] = param(
        default_factory=lambda: {"province": 0.6, "paired_city": 0.3, "home_city": 0.1},
        unit="shares summing to 1",
        source=plan("§III.3", "province : paired city : home city = 6 : 3 : 1"),
        kind="lever",
    )
    year_shares: YearTable = param(
        default_factory=lambda: {2016: 1 / 3, 2017: 1 / 3, 2018: 1 / 3},
        unit="share of the special fund paid in each year (sum 1)",
        source=assumption(f"equal thirds over the three years of {PLAN}, §I.3", range=(0.2, 0.5)),
        kind="lever",
    )
    tranches: dict[int, float] = param(
        default_factory=lambda: {3: 0.5, 9: 0.5},
        unit="month of the year -> share of that year's amount (sum 1)",
        source=assumption("two tranches a year; each tranche's share", range=(0.25, 0.75)),
        kind="lever",
    )
    delay_months: dict[str, int] = param(
        default_factory=lambda: {"province": 0, "paired_city": 0, "home_city": 0},
        unit="months each source's tranches arrive late",
        source=choice("0 = on time"),
        kind="lever",
    )
    allocation: dict[str, float] = param(
        default_factory=lambda: {
            "industry": 0.40,
            "employment": 0.25,
            "finance": 0.15,
            "education": 0.10,
            "health": 0.10,
        },
        unit="share of the special fund earmarked to each use (sum 1)",
        source=assumption(
            f"following the priorities of {PLAN}, §III.3: income projects first, then "
            "schooling and medical costs; each use's share",
            range=(0.05, 0.5),
        ),
        kind="lever",
    )
    leakage_rate: float = param(
        0.03,
        unit="share of each tranche misused",
        source=assumption(),
        range=(0.0, 0.15),
        ge=0,
        le=1,
    )
    audit_recovery: float = param(
        0.5,
        unit="share of misused money recovered by audit and returned to its pot",
        source=assumption(f"{PLAN}, §III.3: funds follow projects, supervision follows funds"),
        range=(0.0, 0.9),
        ge=0,
        le=1,
    )
    city_village_fund: float = param(
        200_000.0,
        unit="yuan per village per year",
        source=plan("§III.3", "Shaoguan's own 29 villages"),
        kind="lever",
        ge=0,
    )
    village_allocation: dict[str, float] = param(
        default_factory=lambda: {"infrastructure": 0.6, "assistance": 0.4},
        unit="share of the village funds for public-service works and for collective projects",
        source=assumption(
            f"{PLAN}, §III.3: 'mainly for village public services'; each use's share",
            range=(0.3, 0.7),
        ),
        kind="lever",
    )
    provincial_unit_village_fund: float = param(
        200_000.0,
        unit="yuan per village per year",
        source=assumption(
            "provincial and central units' money for their 40 villages; the plan gives no figure"
        ),
        range=(50_000.0, 500_000.0),
        ge=0,
    )

    @field_validator("source_shares")
    @classmethod
    def _source_shares(cls, shares: dict[str, float]) -> dict[str, float]:
        check_shares(shares, SPECIAL_SOURCES, "source_shares")
        return shares

    @field_validator("allocation")
    @classmethod
    def _allocation(cls, shares: dict[str, float]) -> dict[str, float]:
        check_shares(shares, special_uses(), "allocation", complete=True)
        return shares

    @field_validator("village_allocation")
    @classmethod
    def _village_allocation(cls, shares: dict[str, float]) -> dict[str, float]:
        check_shares(shares, village_uses(), "village_allocation", complete=True)
        return shares

    @field_validator("year_shares")
    @classmethod
    def _year_shares(cls, shares: dict[int, float]) -> dict[int, float]:
        check_shares({str(k): v for k, v in shares.items()}, None, "year_shares")
        return shares

    @field_validator("tranches")
    @classmethod
    def _tranches(cls, shares: dict[int, float]) -> dict[int, float]:
        bad = sorted(m for m in shares if not 1 <= m <= 12)
        if bad:
            raise ValueError(f"tranches: expected months 1-12, found {bad}")
        check_shares({str(k): v for k, v in shares.items()}, None, "tranches")
        return shares

    @field_validator("delay_months")
    @classmethod
    def _delays(cls, delays: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(delays) - set(SPECIAL_SOURCES))
        if unknown:
            raise ValueError(
                f"delay_months: expected sources among {SPECIAL_SOURCES}, found {unknown}"
            )
        bad = {k: v for k, v in delays.items() if not 0 <= v <= 60}
        if bad:
            raise ValueError(f"delay_months: expected 0-60 months, found {bad}")
        return delays

    @model_validator(mode="after")
    def _complete(self) -> FundingParams:
        for source in SPECIAL_SOURCES:
            self.source_shares.setdefault(source, 0.0)
            self.delay_months.setdefault(source, 0)
        return self

    def special_fund(self, labour_capable_people: int) -> dict[str, float]:
        """The special fund by source (yuan) for a labour-capable population."""
        total = self.special_fund_per_person * labour_capable_people
        return {source: total * self.source_shares[source] for source in SPECIAL_SOURCES}


def split_fen(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` fen over ``weights`` exactly (largest remainder)."""
    w = np.asarray(weights, dtype=float)
    if total == 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    quota = total * w / w.sum()
    base = np.floor(quota).astype(np.int64)
    rest = int(total - base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:rest]] += 1
    return base


def split_fen_rows(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """:func:`split_fen` of each of ``totals`` at once: one row of shares per total."""
    totals = np.asarray(totals, dtype=np.int64)
    w = np.asarray(weights, dtype=float)
    if w.sum() <= 0:
        return np.zeros((totals.size, w.size), dtype=np.int64)
    quota = totals[:, None] * w / w.sum()
    base = np.floor(quota).astype(np.int64)
    rest = totals - base.sum(axis=1)
    order = np.argsort(-(quota - base), axis=1, kind="stable")
    rank = np.empty_like(order)  # each weight's place in its row's order
    rank[np.arange(totals.size)[:, None], order] = np.arange(w.size)
    base += rank < rest[:, None]
    return base


def to_fen(yuan: np.ndarray | float) -> np.ndarray:
    """Yuan to integer fen (rounded to the nearest fen)."""
    return np.rint(np.asarray(yuan, dtype=float) * FEN).astype(np.int64)


#: The kinds of movement the ledger records, in the order of its totals' columns.
KINDS = ("received", "spent", "leaked", "unspent", "reallocated_out", "reallocated_in")
_KIND = {kind: k for k, kind in enumerate(KINDS)}
_RECEIVED, _SPENT = _KIND["received"], _KIND["spent"]  # compiled_kernels.RECEIVED, SPENT
_REALLOCATED_OUT, _REALLOCATED_IN = _KIND["reallocated_out"], _KIND["reallocated_in"]


@dataclass(eq=False)
class Ledger:
    """Pots of money by (fund, source) x use x county, and the record of every movement.

    Amounts are integer fen internally; the ledger table reports yuan. The pots live in one
    array (pot x use x county) and the movements in preallocated arrays, one row each, that
    grow by doubling: a month adds rows without building a Python object per movement, and the
    table is made once at the end (:meth:`frame`).
    """

    uses: list[str]
    n_counties: int
    county_names: list[str]
    #: the compiled kernels (:mod:`model.engine.kernels`) when the model runs them, else None:
    #: :meth:`spend` then pays, takes from the pots and records in one compiled pass, with the
    #: same fen
    kernels: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._pot_keys: list[tuple[str, str]] = []  # (fund, source) of each pot, in order made
        self._store = np.zeros((0, len(self.uses), self.n_counties), dtype=np.int64)
        self._fund_pots: dict[tuple[str, ...], tuple[list, np.ndarray, np.ndarray, Any]] = {}
        self._payers: dict[tuple, tuple[int, np.ndarray, np.ndarray, int]] = {}
        # what the record names: every (fund, source) that moved money, and the uses ("" first)
        self._sources: list[tuple[str, str]] = []
        self._source_code: dict[tuple[str, str], int] = {}
        self._pot_codes = np.zeros(0, dtype=np.int64)  # each pot's source code, for the screen
        self._use_names = ["", *self.uses]
        self._use_code = {name: k for k, name in enumerate(self._use_names)}
        # the record: one row per movement (source, use, kind, year, month codes; fen by
        # county), and the totals by source and kind with whether each was ever recorded
        self._heads = np.zeros((64, 5), dtype=np.int64)
        self._amounts = np.zeros((64, self.n_counties), dtype=np.int64)
        self._n = 0
        self._totals = np.zeros((0, len(KINDS)), dtype=np.int64)
        self._seen = np.zeros((0, len(KINDS)), dtype=bool)

    # -- what was recorded ---------------------------------------------------------------------

    @property
    def pots(self) -> dict[tuple[str, str], np.ndarray]:
        """``(fund, source) -> fen held`` (uses x counties), views of the ledger's pots.

        A new dict each time: change a pot through its view (``pots[key][u, c] -= fen``), not
        by assigning to the dict; a view kept from before a pot is made no longer follows the
        ledger (the pots' array is then made anew).
        """
        return {key: self._store[i] for i, key in enumerate(self._pot_keys)}

    @property
    def totals(self) -> dict[tuple[str, str, str], int]:
        """``(fund, source, kind) -> fen`` of every kind of movement recorded for a source."""
        return {
            (*self._sources[s], KINDS[k]): int(self._totals[s, k])
            for s, k in zip(*np.nonzero(self._seen), strict=True)
        }

    @property
    def movements(self) -> list[tuple]:
        """Movements as recorded: ``(fund, source, use, kind, year, month, fen by county)``.

        One entry per call that moved money, with every county's amount (0 where none moved;
        the table has a row only for the counties that moved money).
        """
        uses, sources = self._use_names, self._sources
        return [
            (*sources[s], uses[u], KINDS[k], year, month, amounts)
            for (s, u, k, year, month), amounts in zip(
                self._heads[: self._n].tolist(), self._amounts[: self._n].tolist(), strict=True
            )
        ]

    @property
    def blocks(self) -> list[tuple]:
        """:attr:`movements` as ``(fund, source, use, kind, year, month, counties, fen)``.

        Each with only the counties that moved money, in county order.
        """
        return [
            (*head, [c for c, fen in enumerate(amounts) if fen], [fen for fen in amounts if fen])
            for *head, amounts in self.movements
        ]

    @property
    def rows(self) -> list[tuple]:
        """Every movement: ``(fund, source, use, kind, year, month, county, fen)``, in order.

        One row per county that moved money, counties in order within a movement.
        """
        return [
            (*head, county, fen)
            for *head, amounts in self.movements
            for county, fen in enumerate(amounts)
            if fen
        ]

    # -- storage -------------------------------------------------------------------------------

    def _pot(self, fund: str, source: str) -> np.ndarray:
        """The pot of ``(fund, source)`` (uses x counties), made empty on first use."""
        key = (fund, source)
        if key not in self._pot_keys:
            self._code(fund, source)  # every pot has its code in the record
            self._pot_keys.append(key)
            empty = np.zeros((1, len(self.uses), self.n_counties), dtype=np.int64)
            self._store = np.concatenate([self._store, empty])
            self._fund_pots.clear()
            self._payers.clear()
        return self._store[self._pot_keys.index(key)]

    def _pots_of(
        self, funds: tuple[str, ...] | list[str] | None
    ) -> tuple[list, np.ndarray, np.ndarray, Any]:
        """The pots of ``funds`` in order made: keys, positions, record codes and a selector.

        The selector picks them from the pots' array: a slice when they lie side by side (a
        view, cheaper than gathering), else their positions.
        """
        if type(funds) is not tuple:  # a list of funds names the same pots; None none
            funds = tuple(funds or ())
        found = self._fund_pots.get(funds)
        if found is None:
            keys = [k for k in self._pot_keys if k[0] in funds]
            positions = np.array([self._pot_keys.index(k) for k in keys], dtype=np.int64)
            codes = np.array([self._code(*k) for k in keys], dtype=np.int64)
            first = int(positions[0]) if keys else 0
            side_by_side = positions.tolist() == list(range(first, first + len(keys)))
            select = slice(first, first + len(keys)) if side_by_side else positions
            found = self._fund_pots[funds] = (keys, positions, codes, select)
        return found

    def _payer(
        self, use: str, funds: tuple[str, ...], sector_source: str | None
    ) -> tuple[int, np.ndarray, np.ndarray, int]:
        """Who pays for ``use``: its row, the pots of ``funds`` (positions, codes), the sector.

        Kept until a pot is made; a sector budget not in :data:`SECTOR_SOURCES` is refused.
        """
        if type(funds) is not tuple:  # a list of funds names the same pots; None none
            funds = tuple(funds or ())
        key = (use, funds, sector_source)
        found = self._payers.get(key)
        if found is None:
            if sector_source is not None and sector_source not in SECTOR_SOURCES:
                check_sector_source(sector_source, f"spending for {use}")
            _, positions, codes, _ = self._pots_of(funds)
            sector = -1 if sector_source is None else self._code("sector", sector_source)
            found = self._payers[key] = (self.uses.index(use), positions, codes, sector)
        return found

    def _code(self, fund: str, source: str) -> int:
        """The record's code of ``(fund, source)``, given on first use."""
        key = (fund, source)
        code = self._source_code.get(key)
        if code is None:
            code = self._source_code[key] = len(self._sources)
            self._sources.append(key)
            self._totals = np.concatenate([self._totals, np.zeros((1, len(KINDS)), np.int64)])
            self._seen = np.concatenate([self._seen, np.zeros((1, len(KINDS)), bool)])
        return code

    def _buffers(self, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The record as the compiled kernels take it, with room for ``rows`` more movements."""
        if self._n + rows > self._heads.shape[0]:
            self._room(rows)
        return self._heads, self._amounts, self._totals, self._seen

    def _room(self, rows: int) -> None:
        """Make room for ``rows`` more movements (the buffers double when full)."""
        if self._n + rows > self._heads.shape[0]:
            size = max(2 * self._heads.shape[0], self._n + rows)
            for name in ("_heads", "_amounts"):
                old = getattr(self, name)
                new = np.zeros((size, old.shape[1]), dtype=np.int64)
                new[: self._n] = old[: self._n]
                setattr(self, name, new)

    def _record(self, fund, source, use, kind, year, month, amounts_fen) -> None:  # noqa: ANN001
        """Record a movement of ``amounts_fen`` (fen by county: an array or a list of ints).

        Raises:
            OverflowError: When a total would pass the int64 range (about 9.2e16 yuan).
        """
        if isinstance(amounts_fen, np.ndarray):
            amounts_fen = amounts_fen.tolist()
        s, k = self._code(fund, source), _KIND[kind]
        total = int(self._totals[s, k]) + sum(amounts_fen)
        if not -(2**63) <= total < 2**63:
            raise OverflowError(f"the ledger's {kind} total of {fund}/{source} passes int64 fen")
        if any(amounts_fen):
            self._room(1)
            self._heads[self._n] = (s, self._use_code[use], k, year, month)
            self._amounts[self._n] = amounts_fen
            self._n += 1
        self._totals[s, k] = total
        self._seen[s, k] = True

    def _record_rows(
        self,
        code: int,
        kind: int,
        year: int,
        month: int,
        use: np.ndarray,
        county: np.ndarray,
        fen: np.ndarray,
    ) -> None:
        """Record one movement per entry, in order, all of source ``code`` and kind ``kind``.

        Entry ``i`` moves ``fen[i]`` of use ``use[i]`` (an index into :attr:`uses`) in county
        ``county[i]``.

        Raises:
            OverflowError: When the total would pass the int64 range (about 9.2e16 yuan).
        """
        if not use.size:
            return
        total = int(self._totals[code, kind]) + sum(fen.tolist())
        if not -(2**63) <= total < 2**63:
            fund, source = self._sources[code]
            raise OverflowError(
                f"the ledger's {KINDS[kind]} total of {fund}/{source} passes int64 fen"
            )
        first, end = self._n, self._n + use.size
        self._room(use.size)
        heads = self._heads[first:end]
        heads[:, 0], heads[:, 1], heads[:, 2] = code, use + 1, kind
        heads[:, 3], heads[:, 4] = year, month
        amounts = self._amounts[first:end]
        amounts[:] = 0
        amounts[np.arange(use.size), county] = fen
        self._n = end
        self._totals[code, kind] = total
        self._seen[code, kind] = True

    def receive(
        self,
        fund: str,
        source: str,
        year: int,
        month: int,
        by_county_fen: np.ndarray,
        earmark: dict[str, float],
        leak_share: float = 0.0,
    ) -> None:
        """Money arrives: recorded as received, a share leaks, the rest is earmarked to uses."""
        by_county_fen = np.asarray(by_county_fen, dtype=np.int64)
        weights = np.array([earmark.get(u, 0.0) for u in self.uses])
        if self.kernels is not None and by_county_fen.shape == (self.n_counties,):
            code = self._code(fund, source)
            self._pot(fund, source)
            record = self._buffers(1 + by_county_fen.size * weights.size)
            n, exact = self.kernels.ledger_receive(
                self._store, self._pot_keys.index((fund, source)), code, by_county_fen,
                float(leak_share), weights, year, month, record, self._n,
            )  # fmt: skip
            if exact:  # the same movements and fen as below, in one compiled pass
                self._n = n
                return
        self._record(fund, source, "", "received", year, month, by_county_fen)
        leaked = np.floor(by_county_fen * leak_share).astype(np.int64)
        kept = by_county_fen - leaked
        pot = self._pot(fund, source)
        counties = np.flatnonzero(by_county_fen)
        pot[:, counties] += split_fen_rows(kept[counties], weights).T
        code, leak = self._code(fund, source), _KIND["leaked"]
        if leaked.any():  # a movement per county and use that lost money, in that order
            split = split_fen_rows(leaked[counties], weights)
            which, u = np.nonzero(split)
            self._record_rows(code, leak, year, month, u, counties[which], split[which, u])
        self._seen[code, leak] = True

    def available(self, use: str, funds: tuple[str, ...] = ("special", "village")) -> np.ndarray:
        """Fen available to ``use`` by county in the pots of ``funds``."""
        u = self.uses.index(use)
        select = self._pots_of(funds)[3]
        return self._store[select, u].sum(axis=0)

    def spend(
        self,
        use: str,
        year: int,
        month: int,
        demand_fen: np.ndarray,
        funds: tuple[str, ...] = ("special",),
        sector_source: str | None = None,
    ) -> np.ndarray:
        """Pay ``demand_fen`` (by county) for ``use`` from the pots of ``funds``.

        Each source pays in proportion to what it holds for the use in the county.

        What the pots cannot cover is paid by ``sector_source`` (a sector budget of
        :data:`SECTOR_SOURCES`, received as it is spent) when one is given, and otherwise not
        paid. Returns the fen paid by county; spending can never exceed what was available.

        Raises:
            ValueError: When ``sector_source`` is not a sector budget of :data:`SECTOR_SOURCES`.
        """
        u, positions, codes, sector = self._payer(use, funds, sector_source)
        if self.kernels is not None:
            paid = self._spend_compiled(u, year, month, demand_fen, positions, codes, sector)
            if paid is not None:
                return paid
        # a handful of counties and sources: exact Python integers (products of two amounts in
        # fen can pass 2**63 at province scale)
        need = [fen if fen > 0 else 0 for fen in map(int, np.asarray(demand_fen).tolist())]
        paid = None
        keys = [self._sources[code] for code in codes.tolist()]  # the paying pots' (fund, source)
        if keys and any(need):
            rows = [self._store[i, u] for i in positions.tolist()]
            columns = list(zip(*[row.tolist() for row in rows], strict=True))  # counties x sources
            take = {}  # county -> fen paid by each source
            for c, wanted in enumerate(need):
                if not wanted:
                    continue
                held = columns[c]
                total = sum(held)
                covered = wanted if wanted < total else total
                if covered <= 0:
                    continue
                # each source pays in proportion to what it holds; the few fen of rounding go
                # to the sources with most left
                share = [covered * h // total for h in held]
                rounding = covered - sum(share)
                if rounding:
                    left = [h - t for h, t in zip(held, share, strict=True)]
                    for _ in range(rounding):
                        richest = left.index(max(left))
                        share[richest] += 1
                        left[richest] -= 1
                take[c] = share
                need[c] = wanted - covered
            if take:
                for i, (key, row) in enumerate(zip(keys, rows, strict=True)):
                    fen = [0] * self.n_counties
                    for c, share in take.items():
                        fen[c] = share[i]
                    if any(fen):
                        row -= fen
                        self._record(key[0], key[1], use, "spent", year, month, fen)
                paid = [0] * self.n_counties
                for c, share in take.items():
                    paid[c] = sum(share)
        if sector_source is not None and any(need):
            self._record("sector", sector_source, "", "received", year, month, need)
            self._record("sector", sector_source, use, "spent", year, month, need)
            paid = need if paid is None else [p + n for p, n in zip(paid, need, strict=True)]
        if paid is None:
            return np.zeros(self.n_counties, dtype=np.int64)
        return np.array(paid, dtype=np.int64)

    def charge(
        self,
        use: str,
        year: int,
        month: int,
        demand_yuan: np.ndarray,
        funds: tuple[str, ...],
        sector_source: str | None,
    ) -> tuple[np.ndarray, int] | None:
        """A measure's charge of ``demand_yuan`` (by county) in one compiled pass.

        :func:`to_fen` of the demand, :meth:`spend` of it when some county asks for a fen, and
        the share of each county's demand paid (1 where paid in full or nothing was asked).
        Returns ``(share, fen paid)``, or None (nothing paid or recorded) without the compiled
        kernels or when the demand or the payment needs numpy's or Python's arithmetic: the
        caller then charges through :meth:`spend`, with the same result.
        """
        demand = demand_yuan if type(demand_yuan) is np.ndarray else np.asarray(demand_yuan)
        if self.kernels is None or demand.dtype != np.float64 or demand.shape != (self.n_counties,):
            return None
        payer = self._payers.get((use, funds, sector_source)) if type(funds) is tuple else None
        u, positions, codes, sector = payer or self._payer(use, funds, sector_source)
        return self._compiled(
            self.kernels.ledger_charge, positions, codes, u, demand, sector, year, month
        )

    def take(
        self,
        use: str,
        year: int,
        month: int,
        county: np.ndarray,
        unit_cost: float,
        unlimited_fen: int | None,
        unmet_fen: np.ndarray,
        funds: tuple[str, ...],
        sector_source: str | None,
    ) -> tuple[np.ndarray, int, int] | None:
        """Candidates that fit the budget, charged, in one compiled pass (``ledger_take``).

        Candidates come in priority order with their ``county``; each costs ``unit_cost``
        yuan. The budget is what the pots of ``funds`` hold for ``use`` (or ``unlimited_fen``
        per county when given); a county takes the candidates whose cumulative cost fits
        (:func:`select_within_budget`), adds the others' cost to ``unmet_fen`` and pays for
        those taken as :meth:`charge` would. Returns ``(mask, taken, fen paid)``, or None
        (nothing changed) when :meth:`charge` would return None.
        """
        if self.kernels is None or county.ndim != 1 or unmet_fen.shape != (self.n_counties,):
            return None
        payer = self._payers.get((use, funds, sector_source)) if type(funds) is tuple else None
        u, positions, codes, sector = payer or self._payer(use, funds, sector_source)
        limit = -1 if unlimited_fen is None else int(unlimited_fen)
        return self._compiled(
            self.kernels.ledger_take, positions, codes, u, county, int(round(unit_cost * FEN)),
            float(unit_cost), limit, unmet_fen, sector, year, month,
        )  # fmt: skip

    def _spend_compiled(
        self,
        u: int,
        year: int,
        month: int,
        demand_fen: np.ndarray,
        positions: np.ndarray,
        codes: np.ndarray,
        sector: int,
    ) -> np.ndarray | None:
        """:meth:`spend` in one compiled pass (``compiled_kernels.ledger_spend``).

        The same movements, in the same order and with the same fen; None (nothing moved) when
        an amount is too large for int64 arithmetic, for :meth:`spend` to pay in Python.
        """
        demand = np.asarray(demand_fen)
        if demand.dtype != np.int64 or demand.shape != (self.n_counties,):
            return None
        done = self._compiled(
            self.kernels.ledger_spend, positions, codes, u, demand, sector, year, month
        )
        return None if done is None else done[0]

    def _compiled(
        self, kernel: Any, positions: np.ndarray, codes: np.ndarray, u: int, *args: Any
    ) -> tuple | None:
        """Run a compiled payment (``ledger_spend``, ``ledger_charge``, ``ledger_take``).

        The kernel takes the pots, the pots that pay (``positions``, their record ``codes``),
        the use (row ``u``, record code ``u + 1``), its own ``args`` and the record, and
        returns its results, the record's next free row and whether its arithmetic was exact.
        Returns the results, or None (nothing changed) when it was not.
        """
        if self._n + positions.size + 2 > self._heads.shape[0]:  # a payment's most rows
            self._room(positions.size + 2)
        record = (self._heads, self._amounts, self._totals, self._seen)
        out = kernel(self._store, positions, codes, u, u + 1, *args, record, self._n)
        if not out[-1]:  # not exact
            return None
        self._n = out[-2]
        return out[:-2]

    def reallocate(
        self,
        fund: str,
        year: int,
        month: int,
        county: int,
        out_fen: dict[str, int],
        in_weights: dict[str, float],
    ) -> int:
        """Move unspent money of one county between uses of ``fund``, source by source.

        Each use of ``out_fen`` gives up that many fen, taken from its sources in proportion to
        what each holds for it in the county; each source's money moved is split over the uses
        of ``in_weights`` (largest remainder). Both sides are recorded (kinds
        ``reallocated_out`` and ``reallocated_in``), so for every (fund, source) the money moved
        out equals the money moved in and ``received = spent + leaked + unspent + held`` still
        holds to the fen.

        Args:
            fund: The pots' fund (``"special"``).
            year: Year of the movement.
            month: Month of the movement.
            county: The county whose pots move money.
            out_fen: Use -> fen it gives up (at most what it holds in the county).
            in_weights: Use -> weight of the money it receives (positive for at least one).

        Returns:
            The fen moved.

        Raises:
            ValueError: When a use would give up more than it holds, or nothing may receive.
        """
        keys = self._pots_of((fund,))[0]
        weights = np.array([max(in_weights.get(u, 0.0), 0.0) for u in self.uses])
        total_out = sum(int(f) for f in out_fen.values())
        if total_out <= 0 or not keys:
            return 0
        if weights.sum() <= 0:
            raise ValueError(f"reallocation in county {county}: no use to receive the money")
        if self.kernels is not None:
            moved = self._reallocate_compiled(fund, year, month, county, out_fen, weights)
            if moved is not None:
                return moved
        pots = self.pots
        taken = {key: np.zeros(len(self.uses), dtype=np.int64) for key in keys}
        for use, fen in out_fen.items():
            fen = int(fen)
            if fen <= 0:
                continue
            u = self.uses.index(use)
            held = np.array([pots[k][u, county] for k in keys], dtype=np.int64)
            if fen > int(held.sum()):
                raise ValueError(
                    f"reallocation in county {county}: {use} holds {int(held.sum())} fen, "
                    f"asked to give up {fen}"
                )
            for key, share in zip(keys, split_fen(fen, held), strict=True):
                taken[key][u] = share
        moved = 0
        for key in keys:
            out = taken[key]
            if not out.any():
                continue
            received = split_fen(int(out.sum()), weights)
            pot = pots[key]
            pot[:, county] += received - out
            code = self._code(*key)
            for kind, amounts in ((_REALLOCATED_OUT, out), (_REALLOCATED_IN, received)):
                u = np.flatnonzero(amounts)
                self._record_rows(code, kind, year, month, u, np.full(u.size, county), amounts[u])
            moved += int(out.sum())
        return moved

    def _reallocate_compiled(
        self,
        fund: str,
        year: int,
        month: int,
        county: int,
        out_fen: dict[str, int],
        weights: np.ndarray,
    ) -> int | None:
        """:meth:`reallocate` in one compiled pass (``compiled_kernels.ledger_reallocate``).

        The same movements, in the same order and with the same fen; None (nothing moved) when
        the kernel leaves it to Python (an amount beyond int64, a use giving up more than it
        holds), which then moves the money or says what is wrong.
        """
        out = np.zeros(len(self.uses), dtype=np.int64)
        for use, fen in out_fen.items():
            fen = int(fen)
            if fen >= 2**63:
                return None
            if fen > 0:
                out[self.uses.index(use)] = fen
        _, positions, codes, _ = self._pots_of((fund,))
        record = self._buffers(2 * positions.size * out.size)
        moved, n, exact = self.kernels.ledger_reallocate(
            self._store, positions, codes, county, out, weights, year, month, record, self._n
        )
        if not exact:
            return None
        self._n = n
        return int(moved)

    def close(self, year: int, month: int) -> None:
        """Record what is left in every pot as unspent at the end of the horizon."""
        for (fund, source), pot in self.pots.items():
            left = pot.sum(axis=0)
            self._record(fund, source, "", "unspent", year, month, left)
            pot[:] = 0

    def invariant_checks(self) -> dict:
        """Checks run every month: every source balances to the fen, no pot is negative."""

        def identity(model: PovertyModel) -> str | None:
            if self.screen_holds("LEDGER_GAP") or not self._gaps_fen().any():
                return None
            wrong = {f"{f}/{s}": gap for (f, s), gap in self.identity_gaps_fen().items() if gap}
            return (
                f"received != spent + leaked + unspent + held, fen off: {wrong}" if wrong else None
            )

        def no_overspending(model: PovertyModel) -> str | None:
            if self.screen_holds("LEDGER_NEGATIVE"):
                return None
            if not self._store.size or self._store.min() >= 0:
                return None
            negative = {f"{f}/{s}": int(p.min()) for (f, s), p in self.pots.items() if p.min() < 0}
            return f"pots below zero (fen): {negative}" if negative else None

        return {"ledger_identity": identity, "no_overspending": no_overspending}

    def frame(self) -> pd.DataFrame:
        """The ledger table: ``fund, source, use, kind, year, month, county, amount`` (yuan)."""
        import pandas as pd  # only when tables are built: scenario checks stay light

        columns = ["fund", "source", "use", "kind", "year", "month", "county", "amount_fen"]
        if not self._n:
            df = pd.DataFrame([], columns=columns)
            df["county"] = [self.county_names[c] for c in df["county"]]
            df["amount"] = df.pop("amount_fen") / FEN
            return df
        # column by column from the record (one row per county that moved money, in the order
        # recorded), each name converted once and taken by code
        heads, by_county = self._heads[: self._n], self._amounts[: self._n]
        which, county = np.nonzero(by_county)  # movement by movement, counties in order
        text = pd.DataFrame({"name": [""]})["name"].dtype  # pandas' dtype for text columns

        def named(names: list[str], codes: np.ndarray) -> Any:
            return pd.array(names, dtype=text).take(codes[which])

        source = heads[:, 0]
        return pd.DataFrame(
            {
                "fund": named([f for f, _ in self._sources], source),
                "source": named([s for _, s in self._sources], source),
                "use": named(self._use_names, heads[:, 1]),
                "kind": named(list(KINDS), heads[:, 2]),
                "year": heads[which, 3],
                "month": heads[which, 4],
                "county": pd.array(list(self.county_names), dtype=text).take(county),
                "amount": by_county[which, county] / FEN,
            }
        )

    def summary(self) -> pd.DataFrame:
        """One row per (fund, source): ``received, spent, leaked, unspent`` in yuan.

        When money was moved between uses (:meth:`reallocate`) a column ``reallocated`` adds
        what each source moved (moved out = moved in, so it leaves the identity unchanged).
        """
        import pandas as pd

        keys = sorted({(f, s) for f, s, _ in self.totals})
        kinds = ["received", "spent", "leaked", "unspent"]
        if any(kind == "reallocated_out" for _, _, kind in self.totals):
            kinds.append("reallocated")
        rows = []
        for fund, source in keys:
            row = {"fund": fund, "source": source}
            for kind in kinds:
                stored = "reallocated_out" if kind == "reallocated" else kind
                row[kind] = self.totals.get((fund, source, stored), 0) / FEN
            rows.append(row)
        return pd.DataFrame(rows, columns=["fund", "source", *kinds])

    def screen_holds(self, flag: str) -> bool:
        """Whether the compiled screen of the ledger shows a check holding (False without it).

        ``flag`` names the check in :func:`model.engine.compiled_kernels.ledger_screen`:
        ``"LEDGER_GAP"`` (every source balances), ``"LEDGER_NEGATIVE"`` (no pot below zero),
        ``"LEDGER_MOVES_UNEQUAL"`` (money moved out equals money moved in). When it does not
        hold, numpy's check runs and says what is wrong.
        """
        kernels = self.kernels
        if kernels is None:
            return False
        codes = self._pot_codes
        if codes.size != len(self._pot_keys):  # pots are only ever added
            codes = np.array([self._source_code[key] for key in self._pot_keys], dtype=np.int64)
            self._pot_codes = codes
        return not kernels.ledger_screen(self._totals, self._store, codes) & getattr(kernels, flag)

    def _gaps_fen(self) -> np.ndarray:
        """:meth:`identity_gaps_fen` by source code (0 for a source never recorded)."""
        t = self._totals
        gaps = t[:, _RECEIVED] - t[:, _SPENT] - t[:, _KIND["leaked"]] - t[:, _KIND["unspent"]]
        if self._pot_keys:  # a pot's source was recorded as received before the pot was made
            codes = [self._source_code[key] for key in self._pot_keys]
            gaps[codes] -= self._store.sum(axis=(1, 2))
        return gaps

    def reallocation_gaps_fen(self) -> dict[tuple[str, str], int]:
        """Money moved out - moved in between uses, per source where the two differ (fen)."""
        t = self._totals
        gaps = t[:, _KIND["reallocated_out"]] - t[:, _KIND["reallocated_in"]]
        return {self._sources[s]: int(gaps[s]) for s in np.flatnonzero(gaps).tolist()}

    def identity_gaps_fen(self) -> dict[tuple[str, str], int]:
        """Received - spent - leaked - unspent - still in pots, per source (0 when balanced)."""
        recorded = self._seen.any(axis=1).tolist()
        return {
            source: gap
            for source, gap, seen in zip(
                self._sources, self._gaps_fen().tolist(), recorded, strict=True
            )
            if seen
        }


class Treasury:
    """Brings each month's money into the ledger according to the scenario's funding levers."""

    def __init__(self, model: PovertyModel, uses: list[str]) -> None:
        p: FundingParams = model.scenario.funding
        self.params = p
        hh = model.households
        self.ledger = Ledger(
            uses=uses,
            n_counties=model.n_counties,
            county_names=model.population.county_names,
            kernels=hh.kernels,
        )
        labour_people = hh.size * (hh.labour_capable & hh.registered)
        self.labour_people = int(labour_people.sum())
        self.county_weights = np.bincount(hh.county, labour_people, model.n_counties)
        fund = p.special_fund(self.labour_people)
        # schedule: (arrival month index) -> list of (source, fen)
        self.schedule: dict[int, list[tuple[str, int]]] = {}
        start = model.scenario.calendar.start_year
        for source in SPECIAL_SOURCES:
            yearly = {y: fund[source] * s for y, s in p.year_shares.items()}
            for year, amount in yearly.items():
                for tranche_month, share in p.tranches.items():
                    index = (year - start) * 12 + tranche_month - 1 + p.delay_months[source]
                    fen = int(round(amount * share * FEN))
                    if fen > 0:
                        self.schedule.setdefault(index, []).append((source, fen))
        self.leak_share = p.leakage_rate * (1 - p.audit_recovery)
        # village funds by county: the city's own and the provincial units' villages
        party_villages = {
            "shaoguan": np.zeros(model.n_counties),
            "province": np.zeros(model.n_counties),
        }
        for v in model.villages:
            if v.party in party_villages:
                party_villages[v.party][v.county] += 1
        self.village_yearly_fen = {
            "shaoguan_city": to_fen(party_villages["shaoguan"] * p.city_village_fund),
            "provincial_units": to_fen(party_villages["province"] * p.provincial_unit_village_fund),
        }

    def receive_month(self, model: PovertyModel, village_uses: dict[str, float]) -> None:
        """Step 2 of the month: tranches (and, in January, the year's village funds) arrive."""
        for source, fen in self.schedule.get(model.month_index, []):
            self.ledger.receive(
                "special",
                source,
                model.year,
                model.month,
                split_fen(fen, self.county_weights),
                self.params.allocation,
                self.leak_share,
            )
        if model.month == 1 and model.year <= model.scenario.targets.villages_exit_year:
            for source, fen in self.village_yearly_fen.items():
                if fen.any():
                    self.ledger.receive(
                        "village", source, model.year, model.month, fen, village_uses, 0.0
                    )


def select_within_budget(
    county: np.ndarray, cost_fen: np.ndarray, budget_fen: np.ndarray
) -> np.ndarray:
    """Candidates (in the given priority order) whose cumulative cost fits their county budget.

    Args:
        county: County of each candidate, in priority order.
        cost_fen: Cost of each candidate in fen.
        budget_fen: Fen available per county.

    Returns:
        Boolean mask of the candidates taken: within each county, the longest prefix of the
        priority order whose total cost does not exceed that county's budget.
    """
    if county.size == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(county, kind="stable")
    c_sorted = county[order]
    cum = np.cumsum(cost_fen[order])
    starts = np.searchsorted(c_sorted, c_sorted, side="left")
    before = np.where(starts > 0, cum[starts - 1], 0)
    within = (cum - before) <= budget_fen[c_sorted]
    mask = np.zeros(county.size, dtype=bool)
    mask[order] = within
    return mask
