"""Infrastructure (§II.5, §II.10): roads, safe water, information stations, buses.

Each year a number of poor villages lacking an item of the exit checklist get works (three kinds
of area first, §II.10); works open the service after a lag. A hardened road raises the business
income of the village's households (market access); a road or a bus raises their chance of
finding a job (job access). Roads cost the plan's unit costs per km (city 50,000 yuan/km, old
revolutionary areas 180,000 provincial + 20,000 county per km) plus a local counterpart, and
1,000 yuan/km/year of maintenance. Money: the village funds of the city's and the provincial
units' villages first, then the sector budgets (``roads``, ``water``, ``telecom``,
``transport``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.engine.interventions.base import Measure, MeasureParams, picker
from model.engine.params import YearTable, assumption, param, plan

if TYPE_CHECKING:
    from model.engine.simulation import PovertyModel

PLAN = "Shaoguan plan 2016"
ITEMS = ("road", "water", "info_station", "bus")
#: The sector budget that pays what the village funds do not, per item.
SECTOR = {"road": "roads", "water": "water", "info_station": "telecom", "bus": "transport"}


class InfrastructureParams(MeasureParams):
    """Levers and uncertainties of the infrastructure works."""

    villages_per_year: YearTable = param(
        default_factory=lambda: {2016: 70.0, 2017: 70.0, 2018: 70.0},
        unit="villages per item per year (full population)",
        source=assumption(
            f"enough for every checklist item in every poor village by 2018: {PLAN}, §II.5",
            range=(40.0, 100.0),
        ),
        kind="lever",
    )
    road_km_per_village: float = param(
        3.0, unit="km per village", source=assumption(), range=(1.0, 6.0), gt=0
    )
    road_cost_per_km: float = param(
        300_000.0,
        unit="yuan per km (all sources)",
        source=assumption(f"the city pays 50,000 yuan/km of it: {PLAN}, §II.5"),
        range=(150_000.0, 500_000.0),
        ge=0,
    )
    road_cost_per_km_three_kinds: float = param(
        200_000.0,
        unit="yuan per km in old revolutionary areas (provincial 180,000 + county 20,000)",
        source=plan("§II.10", "provincial 180,000 + county 20,000 yuan/km"),
        ge=0,
    )
    road_maintenance_per_km: float = param(
        1_000.0, unit="yuan per km per year", source=plan("§II.5", "poor-village roads"), ge=0
    )
    water_cost: float = param(
        300_000.0,
        unit="yuan per village",
        source=assumption(),
        range=(100_000.0, 600_000.0),
        ge=0,
    )
    info_station_cost: float = param(
        50_000.0,
        unit="yuan per village (fibre, 4G, station)",
        source=assumption(),
        range=(20_000.0, 150_000.0),
        ge=0,
    )
    bus_cost: float = param(
        30_000.0,
        unit="yuan per village (stop and route subsidy)",
        source=assumption(),
        range=(10_000.0, 100_000.0),
        ge=0,
    )
    works_months: dict[str, int] = param(
        default_factory=lambda: {"road": 9, "water": 6, "info_station": 3, "bus": 2},
        unit="months from start to opening",
        source=assumption(range=(1.0, 12.0)),
    )
    market_access_uplift: float = param(
        0.05,
        unit="share added to business income after a new road",
        source=assumption(),
        range=(0.0, 0.15),
        ge=0,
    )
    job_access_gain: float = param(
        0.2,
        unit="share added to the job-finding chance after a new road or bus",
        source=assumption(),
        range=(0.0, 0.5),
        ge=0,
    )


class Infrastructure(Measure):
    """Village works that complete the exit checklist and open income channels."""

    name = "infrastructure"
    Params = InfrastructureParams
    funds = ("village",)
    sector_source = "roads"
    sector_sources = tuple(SECTOR.values())
    household_fields = ("job_access",)
    incomes = ("business",)

    def __init__(self, params: InfrastructureParams, model: PovertyModel) -> None:
        super().__init__(params, model)
        self.built_since_2016 = {item: np.zeros(len(model.villages), bool) for item in ITEMS}
        self.km_by_county = np.zeros(model.n_counties)
        # per-village effects as last written to the households (None: not yet written)
        self._road: np.ndarray | None = None
        self._access: np.ndarray | None = None
        self._road_households = np.zeros(model.households.n, dtype=bool)
        self._road_idx = np.zeros(0, dtype=np.int64)

    def _cost(self, item: str, village) -> float:  # noqa: ANN001 - a Village
        p: InfrastructureParams = self.params
        if item == "road":
            per_km = (
                p.road_cost_per_km_three_kinds if village.three_kinds_area else p.road_cost_per_km
            )
            return per_km * p.road_km_per_village
        return {"water": p.water_cost, "info_station": p.info_station_cost, "bus": p.bus_cost}[item]

    def enrol(self, model: PovertyModel) -> None:
        """Start works in villages lacking an item; maintain the roads built."""
        p: InfrastructureParams = self.params
        if not model.villages:
            return
        if model.month == 1 and self.km_by_county.any():
            counties = np.arange(model.n_counties)
            self.charge(model, counties, self.km_by_county * p.road_maintenance_per_km)
        for item in ITEMS:
            quota = self.quota(model, p.villages_per_year, item)
            if not quota:
                continue
            lacking = [v for v in model.villages if not v.services[item] and item not in v.works]
            if not lacking:
                continue
            order = model.rng.permutation(len(lacking))
            lacking = [lacking[i] for i in order]
            lacking.sort(key=lambda v: not v.three_kinds_area)  # §II.10 priority, stable
            chosen = lacking[:quota]
            county = np.array([v.county for v in chosen])
            self.charge(
                model,
                county,
                np.array([self._cost(item, v) for v in chosen]),
                funds=self.funds,
                sector_source=SECTOR[item],
            )
            for v in chosen:
                v.schedule_work(item, model.month_index + p.works_months.get(item, 6))
                self.built_since_2016[item][v.index] = True
            if item == "road":
                np.add.at(self.km_by_county, county, p.road_km_per_village)
            self.count_started(model, len(chosen), item)

    def apply(self, model: PovertyModel) -> None:
        """Market access (business income) and job access for villages with new services."""
        p: InfrastructureParams = self.params
        hh = model.households
        if not model.villages:
            return
        road = (
            np.array([v.services["road"] for v in model.villages]) & self.built_since_2016["road"]
        )
        bus = np.array([v.services["bus"] for v in model.villages]) & self.built_since_2016["bus"]
        access = np.where(road | bus, 1 + p.job_access_gain, 1.0)
        # the households' job access and market access change only when a village's road or bus
        # opens: rewrite them for those villages' households alone
        if self._road is None:
            in_v = hh.village >= 0
            hh.job_access[in_v] = access[hh.village[in_v]]
            self._road_households[in_v] = road[hh.village[in_v]]
            changed = True
        else:
            villages = np.flatnonzero((road != self._road) | (access != self._access))
            for v in villages:
                members = hh.groups.village_members(v)
                hh.job_access[members] = access[v]
                self._road_households[members] = road[v]
            changed = villages.size > 0
        if changed:
            self._road, self._access = road, access
            self._road_idx = np.flatnonzero(self._road_households)
        idx = self._road_idx
        if hh.kernels is not None:  # the gather, product and scatter in one compiled pass
            hh.kernels.add_own_share(hh.business_m, idx, p.market_access_uplift)
        else:
            hh.business_m[idx] += hh.business_m[idx] * p.market_access_uplift

    def enrolled_mask(self, model: PovertyModel, among: np.ndarray | None = None) -> np.ndarray:
        """Households of villages with new works."""
        village = picker(among)(model.households.village)
        built = np.zeros(len(model.villages) + 1, dtype=bool)
        for item in ITEMS:
            built[:-1] |= self.built_since_2016[item]
        return built[village] & (village >= 0)
