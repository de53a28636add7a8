"""The special poverty fund (§III.3): how much there is and who pays it."""

from __future__ import annotations

import math

from pydantic import field_validator

from model.params import Section, param

PLAN = "Shaoguan plan 2016"
SPECIAL_SOURCES = ("province", "paired_city", "home_city")


def check_shares(shares: dict[str, float], allowed: tuple[str, ...] | None, what: str) -> None:
    """Raise ``ValueError`` unless ``shares`` are non-negative, known and sum to 1."""
    if allowed is not None:
        unknown = sorted(set(shares) - set(allowed))
        if unknown:
            raise ValueError(f"{what}: expected names among {list(allowed)}, found {unknown}")
    negative = {k: v for k, v in shares.items() if v < 0}
    if negative:
        raise ValueError(f"{what}: expected shares >= 0, found {negative}")
    total = sum(shares.values())
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise ValueError(f"{what}: expected shares summing to 1, found a sum of {total:g}")


class FundingParams(Section):
    """Size and sharing of the special fund."""

    special_fund_per_person: float = param(
        20_000.0,
        unit="yuan per labour-capable registered poor person, over 2016-2018",
        source=f"{PLAN}, §III.3",
        ge=0,
    )
    source_shares: dict[str, float] = param(
        default_factory=lambda: {"province": 0.6, "paired_city": 0.3, "home_city": 0.1},
        unit="shares summing to 1",
        source=f"{PLAN}, §III.3 (province : paired city : home city = 6 : 3 : 1)",
        kind="lever",
    )

    @field_validator("source_shares")
    @classmethod
    def _shares_sum_to_one(cls, shares: dict[str, float]) -> dict[str, float]:
        check_shares(shares, SPECIAL_SOURCES, "source_shares")
        return shares

    def special_fund(self, labour_capable_people: int) -> dict[str, float]:
        """The three-year special fund by source (yuan) for a labour-capable population."""
        total = self.special_fund_per_person * labour_capable_people
        return {source: total * share for source, share in self.source_shares.items()}
