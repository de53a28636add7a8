"""Building blocks of the scenario schema: parameter metadata and year tables.

Every parameter of a scenario is declared with :func:`param`, which records its unit, its
source and, for quantities a sweep may vary, a ``[low, high]`` range and whether it is an
*uncertainty* (nobody controls it) or a *lever* (the government chooses it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Kind = Literal["uncertainty", "lever", "fixed"]


class _YearKeyed:
    """Marker: the table's keys are calendar years (checked against the horizon)."""


YEAR_KEYED = _YearKeyed()

#: A table keyed by calendar year, e.g. ``{2016: 3960.0, 2017: 4440.0}``.
YearTable = Annotated[dict[int, float], YEAR_KEYED]


def param(
    default: Any = None,
    *,
    unit: str,
    source: str,
    doc: str = "",
    range: tuple[float, float] | None = None,  # noqa: A002 - the word users read in the docs
    kind: Kind | None = None,
    default_factory: Callable[[], Any] | None = None,
    **constraints: Any,
) -> Any:
    """Declare a scenario parameter with its unit, source and optional sweep range.

    Args:
        default: The default value (omit when ``default_factory`` is given).
        unit: Unit of the value, e.g. ``"yuan/person/year"`` or ``"share (0-1)"``.
        source: Where the default comes from: "Shaoguan plan 2016, §…", a pre-2016 statistic
            with its citation, or "assumption".
        doc: One sentence on what the parameter means.
        range: Plausible ``(low, high)`` used by sensitivity sweeps.
        kind: ``"uncertainty"``, ``"lever"`` or ``"fixed"``; defaults to ``"uncertainty"`` when
            a range is given and ``"fixed"`` otherwise.
        default_factory: Factory for mutable defaults (year tables, dicts).
        **constraints: pydantic constraints such as ``ge=0`` or ``le=1``.

    Returns:
        A pydantic ``FieldInfo``.
    """
    if kind is None:
        kind = "uncertainty" if range is not None else "fixed"
    extra: dict[str, Any] = {"unit": unit, "source": source, "kind": kind}
    if range is not None:
        extra["range"] = [float(range[0]), float(range[1])]
    description = f"{doc} Unit: {unit}. Source: {source}.".strip()
    if default_factory is not None:
        return Field(
            default_factory=default_factory,
            description=description,
            json_schema_extra=extra,
            **constraints,
        )
    return Field(default, description=description, json_schema_extra=extra, **constraints)


class Section(BaseModel):
    """Base of every scenario table: unknown keys, NaN and infinity are refused.

    So is ``true``/``false`` where a number is expected (pydantic would read it as 1 or 0).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        annotation = field.annotation
        if annotation in _NUMBERS and isinstance(value, bool):
            raise ValueError(f"expected a number, found {str(value).lower()}")
        if get_origin(annotation) is dict and isinstance(value, dict):
            args = get_args(annotation)
            if len(args) == 2 and args[1] in _NUMBERS:
                flags = sorted(str(k) for k, v in value.items() if isinstance(v, bool))
                if flags:
                    raise ValueError(f"expected numbers, found true/false for {flags}")
        return value


_NUMBERS = (int, float)


def year_value(table: dict[int, float], year: int) -> float:
    """Value of a year table in ``year``: the entry of the latest year not after it.

    Years before the first entry take the first entry's value.
    """
    keys = sorted(table)
    chosen = keys[0]
    for key in keys:
        if key <= year:
            chosen = key
    return table[chosen]
