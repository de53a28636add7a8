"""The plan's measures, one module each, listed once in their monthly order.

Each measure owns its parameters (a top-level scenario table named after the module), its
enrolment rule, its effect on household or village state, its cost, and declares on its class
the money it uses, the household arrays it writes, the shared outputs it publishes or reads and
the households it serves (:class:`~model.engine.interventions.base.Measure`). The simulation
loops over :data:`MEASURES`; the special fund's uses (``funding.allocation``), the scenario's
measure tables and ``[measures]`` switches, and the "which money" table of ``docs/ODD.md``
are all read from it.

Adding a measure means adding its module (and its test file) and its name to
:data:`MEASURE_NAMES`. Social security comes last so that its top-ups see every other income
of the month.
"""

from __future__ import annotations

from pydantic import field_validator, model_validator

from model.engine.interventions.base import (
    SHARED_OUTPUTS,
    Measure,
    MeasureParams,
    RegistrationError,
    SharedOutputs,
    register,
)
from model.engine.params import Section, param

#: The one list of measures: module names, in the order they act each month.
MEASURE_NAMES: tuple[str, ...] = (
    "assistance",
    "infrastructure",
    "industry",
    "employment",
    "finance",
    "education",
    "health",
    "housing",
    "social_security",
)

#: Measures in the order they act each month (the classes of :data:`MEASURE_NAMES`, checked).
MEASURES: tuple[type[Measure], ...] = register(MEASURE_NAMES)


class MeasureSwitches(Section):
    """The scenario's ``[measures]`` table: which measures run, by name.

    ``off = [...]`` switches the named measures off; ``only = [...]`` keeps the named ones and
    switches every other measure off, including measures added to the model later (so a
    counterfactual lists what it keeps). Give one or the other, not both. A measure runs when
    this table leaves it on *and* its own table's ``enabled`` is true (the default): either
    switch can turn a measure off, neither can turn on what the other turned off. A scenario
    that ``extends`` another inherits its ``[measures]`` table and may replace ``off`` or
    ``only``.
    """

    off: list[str] = param(
        default_factory=list,
        unit="measure names",
        source="scenario choice",
        doc="Measures switched off (neither effect nor cost); names among "
        + ", ".join(MEASURE_NAMES)
        + ".",
    )
    only: list[str] | None = param(
        None,
        unit="measure names",
        source="scenario choice",
        doc="If given, the only measures that run; every other measure is off.",
    )

    @field_validator("off", "only")
    @classmethod
    def _known(cls, names: list[str] | None) -> list[str] | None:
        unknown = [n for n in names or () if n not in MEASURE_NAMES]
        if unknown:
            raise ValueError(f"expected measure names among {list(MEASURE_NAMES)}, found {unknown}")
        return names

    @model_validator(mode="after")
    def _not_both(self) -> MeasureSwitches:
        if self.only is not None and self.off:
            raise ValueError(
                f"expected either off or only, found both (off = {self.off}, only = {self.only})"
            )
        return self

    def runs(self, name: str) -> bool:
        """Whether this table leaves measure ``name`` on."""
        if self.only is not None:
            return name in self.only
        return name not in self.off


def running(scenario: object) -> tuple[type[Measure], ...]:
    """The measures a scenario runs, in monthly order: on in ``[measures]`` and ``enabled``."""
    switches: MeasureSwitches = scenario.measures  # type: ignore[attr-defined]
    return tuple(
        cls
        for cls in MEASURES
        if switches.runs(cls.name) and getattr(scenario, cls.name).enabled
    )


__all__ = [
    "MEASURES",
    "MEASURE_NAMES",
    "SHARED_OUTPUTS",
    "Measure",
    "MeasureParams",
    "MeasureSwitches",
    "RegistrationError",
    "SharedOutputs",
    "running",
]
