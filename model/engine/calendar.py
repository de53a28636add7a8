"""The simulation calendar and the plan's annual targets."""

from __future__ import annotations

from pydantic import field_validator

from model.engine.params import Section, param, plan

#: The last year a run may reach (``calendar.end_year`` at most); year tables may hold entries up
#: to it, so a scenario written for a long horizon also runs on a shorter one.
LAST_YEAR = 2035


class CalendarParams(Section):
    """Horizon of a run: months from January of ``start_year`` to December of ``end_year``."""

    start_year: int = param(
        2016,
        unit="year",
        source=plan("§I.3", "the plan period starts in 2016"),
        doc="First simulated year; the synthetic population describes the end of 2015.",
        ge=2016,
        le=2016,
    )
    end_year: int = param(
        2020,
        unit="year",
        source=plan("§I.3", "targets to 2018; consolidation to 2020 is an assumption"),
        doc="Last simulated year (December is the last month).",
        ge=2018,
        le=LAST_YEAR,
    )

    @property
    def years(self) -> list[int]:
        """Simulated calendar years."""
        return list(range(self.start_year, self.end_year + 1))

    @property
    def months(self) -> int:
        """Number of simulated months."""
        return 12 * (self.end_year - self.start_year + 1)


class TargetParams(Section):
    """The plan's cumulative exit targets."""

    cumulative_people: dict[int, int] = param(
        default_factory=lambda: {2016: 30_000, 2017: 65_500, 2018: 95_500},
        unit="people (cumulative)",
        source=plan("§I.3"),
        doc="Cumulative registered poor people out of poverty by December of each year.",
    )
    villages_exit_year: int = param(
        2018,
        unit="year",
        source=plan("§I.3"),
        doc="Year by which all relatively poor villages exit.",
        ge=2016,
    )

    @field_validator("cumulative_people")
    @classmethod
    def _non_decreasing(cls, table: dict[int, int]) -> dict[int, int]:
        if not table:
            raise ValueError("expected at least one year")
        values = [table[y] for y in sorted(table)]
        if any(v < 0 for v in values):
            raise ValueError(f"expected non-negative targets, found {values}")
        if any(b < a for a, b in zip(values, values[1:], strict=False)):
            raise ValueError(f"expected cumulative (non-decreasing) targets, found {values}")
        return table

    @property
    def last_year(self) -> int:
        """The plan's last year: the latest year with a cumulative target (2018 by default)."""
        return max(self.cumulative_people)

    def target_for(self, year: int) -> int | None:
        """Cumulative target for ``year``: the latest target year at or before it, else None."""
        years = [y for y in sorted(self.cumulative_people) if y <= year]
        return self.cumulative_people[years[-1]] if years else None
