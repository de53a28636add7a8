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

import re

from model.engine.interventions.base import (
    SHARED_OUTPUTS,
    Measure,
    MeasureParams,
    RegistrationError,
    SharedOutputs,
    register,
)

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


def running(scenario: object) -> tuple[type[Measure], ...]:
    """The measures a scenario runs, in monthly order: on in ``[measures]`` and ``enabled``.

    See :class:`model.engine.scenario.MeasureSwitches` for how the two switches combine.
    """
    switches = scenario.measures  # type: ignore[attr-defined]
    return tuple(
        cls for cls in MEASURES if switches.runs(cls.name) and getattr(scenario, cls.name).enabled
    )


#: The block of a Markdown document that :func:`fill_measures_table` regenerates.
MEASURES_BLOCK = re.compile(r"(<!-- measures -->\n)(.*?)(<!-- /measures -->)", re.DOTALL)


def measures_table() -> str:
    """The measures at a glance, as a Markdown table read from their declarations.

    One row per registered measure, in monthly order: the pots it draws on, the sector budgets
    it charges, the household arrays and income components it writes and the shared outputs it
    publishes or reads. ``docs/ODD.md`` holds it between ``<!-- measures -->`` markers.
    """

    def names(values: tuple[str, ...]) -> str:
        return ", ".join(f"`{v}`" for v in values) or "none"

    lines = [
        "| measure | pots it draws on (its earmark) | sector budgets | household arrays it "
        "writes | income it adds to | shared outputs |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    pots = {"special": "special fund", "village": "village funds"}
    for cls in MEASURES:
        drawn = ", ".join(pots[f] for f in cls.funds) or "none"
        budgets = [
            f"`{s}`" + (" (default)" if s == cls.sector_source else "") for s in cls.sector_sources
        ]
        shared = [f"publishes `{o}`" for o in cls.publishes]
        shared += [f"reads `{o}`" for o in cls.reads if o not in cls.publishes]
        lines.append(
            f"| {cls.name} | {drawn} | {', '.join(budgets) or 'none'} | "
            f"{names(cls.household_fields)} | {names(cls.incomes)} | "
            f"{'; '.join(shared) or 'none'} |"
        )
    return "\n".join(lines) + "\n"


def fill_measures_table(text: str) -> str:
    """``text`` with its ``<!-- measures -->`` block replaced by :func:`measures_table`."""
    return MEASURES_BLOCK.sub(lambda m: f"{m.group(1)}{measures_table()}{m.group(3)}", text)


__all__ = [
    "MEASURES",
    "MEASURE_NAMES",
    "SHARED_OUTPUTS",
    "Measure",
    "MeasureParams",
    "RegistrationError",
    "SharedOutputs",
    "fill_measures_table",
    "measures_table",
    "running",
]
