"""Paired assistance (§II.9, §II.10, §II.12): who helps each poor village, and how well.

Provincial and central units (40 villages), Dongguan (209) and Shaoguan's own departments (29)
differ in money and in implementation capacity. Capacity is a multiplier, per assisting party,
on the take-up and success of the other measures in the party's villages (training completion,
placement, project and loan failure, school return); scattered households get 1. The village
funds (the city's 200,000 yuan a village a year, the provincial units' money) not spent on
public-service works go into collective projects whose dividends are shared among the village's
registered households (property income).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import field_validator

from model.engine.interventions.base import Measure, MeasureParams, picker
from model.engine.params import assumption, param

if TYPE_CHECKING:
    from model.engine.simulation import PovertyModel

PLAN = "Shaoguan plan 2016"


class AssistanceParams(MeasureParams):
    """Implementation capacity of the assisting parties and the village collective projects."""

    capacity: dict[str, float] = param(
        default_factory=lambda: {"province": 1.1, "dongguan": 1.1, "shaoguan": 1.0},
        unit="multiplier on take-up and success in the party's villages (1 = scattered)",
        source=assumption(
            f"{PLAN}, §II.9 and §II.12: resident work teams, staying three years by §III.2",
            range=(0.8, 1.3),
        ),
    )
    collective_return: float = param(
        0.08,
        unit="dividend per year as a share of the collective investment",
        source=assumption(),
        range=(0.03, 0.12),
        ge=0,
    )
    collective_lag_months: int = param(
        12, unit="months", source=assumption(), range=(6, 24), ge=0, le=60
    )

    @field_validator("capacity")
    @classmethod
    def _all_parties(cls, capacity: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(capacity) - {"province", "dongguan", "shaoguan"})
        if unknown:
            raise ValueError(
                f"expected parties among province, dongguan, shaoguan, found {unknown}"
            )
        bad = {k: v for k, v in capacity.items() if not 0 < v <= 2}
        if bad:
            raise ValueError(f"expected multipliers in (0, 2], found {bad}")
        return {**cls.model_fields["capacity"].default_factory(), **capacity}


class Assistance(Measure):
    """Party capacity multipliers and village collective projects."""

    name = "assistance"
    Params = AssistanceParams
    funds = ("village",)
    incomes = ("property",)
    publishes = ("party_factor",)

    def __init__(self, params: AssistanceParams, model: PovertyModel) -> None:
        super().__init__(params, model)
        hh = model.households
        factor = np.ones(len(model.villages) + 1)
        for v in model.villages:
            factor[v.index] = params.capacity.get(v.party, 1.0)
        model.shared.party_factor = np.where(hh.village >= 0, factor[hh.village], 1.0)
        self.investments: list[tuple[int, np.ndarray]] = []  # (month index, yuan by village)

    def enrol(self, model: PovertyModel) -> None:
        """In December, invest what the village funds have left in collective projects."""
        if model.month != 12 or not model.villages:
            return
        available = model.ledger.available(self.name, self.funds)
        if not available.any():
            return
        county = np.array([v.county for v in model.villages])
        assisted = np.array([v.party in ("shaoguan", "province") for v in model.villages])
        per_county = np.bincount(county[assisted], minlength=model.n_counties)
        amount = np.where(
            assisted, available[county] / 100 / np.maximum(per_county[county], 1), 0.0
        )
        share = self.charge(model, county, amount)
        self.investments.append((model.month_index, amount * share))

    def apply(self, model: PovertyModel) -> None:
        """Collective dividends shared among the village's registered households."""
        if not self.investments:
            return
        p: AssistanceParams = self.params
        hh = model.households
        live = sum(
            (
                yuan
                for start, yuan in self.investments
                if model.month_index - start >= p.collective_lag_months
            ),
            np.zeros(len(model.villages)),
        )
        if not live.any():
            return
        members = hh.groups.registered_in_village
        village = hh.village[members]
        count = np.bincount(village, minlength=len(model.villages))
        per_household = np.divide(
            live * p.collective_return / 12, count, out=np.zeros(count.size), where=count > 0
        )
        hh.property_m[members] += per_household[village]

    def enrolled_mask(self, model: PovertyModel, among: np.ndarray | None = None) -> np.ndarray:
        """Registered households of the villages with collective projects."""
        hh, of = model.households, picker(among)
        if not self.investments:
            return np.zeros(hh.n if among is None else len(among), dtype=bool)
        funded = np.append(sum(y for _, y in self.investments) > 0, False)
        return of(hh.registered) & funded[of(hh.village)]
