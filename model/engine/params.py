"""Building blocks of the scenario schema: parameter metadata and year tables.

Every parameter of a scenario is declared with :func:`param`, which records its unit, its
source and, for quantities a sweep may vary, a ``[low, high]`` range and whether it is an
*uncertainty* (nobody controls it) or a *lever* (the government chooses it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Kind = Literal["uncertainty", "lever", "fixed"]

#: The plan every "plan" source cites (``plan/shaoguan_plan_2016_zh.txt``).
PLAN = "Shaoguan plan 2016"

#: What a parameter's default rests on.
SourceKind = Literal["plan", "statistic", "assumption", "choice"]
SOURCE_KINDS: tuple[str, ...] = get_args(SourceKind)


@dataclass(frozen=True)
class Source:
    """Where a parameter's default comes from, structured.

    Build one with :func:`plan`, :func:`statistic`, :func:`assumption` or :func:`choice`;
    ``str(source)`` is the sentence the documents show.

    Attributes:
        kind: ``"plan"`` (a section of the city's 2016 plan), ``"statistic"`` (a published
            pre-2016 figure), ``"assumption"`` or ``"choice"`` (the scenario's own choice).
        reference: The plan section (``"§II.5"``) or the statistic's citation (publisher,
            year); empty for assumptions and choices.
        note: What the source says or why the value was chosen (may be empty).
        range: For an assumption, the ``(low, high)`` it is believed to lie in, when it is
            not the parameter's sweep range (a parameter sweeps do not vary).
        text: The sentence to show, when it is not the one the fields compose (a source
            still written as free text).
    """

    kind: SourceKind
    reference: str = ""
    note: str = ""
    range: tuple[float, float] | None = None
    text: str = ""

    def __str__(self) -> str:
        if self.text:
            return self.text
        if self.kind == "plan":
            head = f"{PLAN}, {self.reference}" if self.reference else PLAN
        elif self.kind == "statistic":  # the figure, then where it is published
            return f"{self.note} ({self.reference})" if self.note else self.reference
        elif self.kind == "assumption":
            head = "assumption"
        else:
            head = "scenario choice"
        notes = [self.note] if self.note else []
        if self.range is not None:
            notes.append(f"plausible {self.range[0]:g} to {self.range[1]:g}")
        return f"{head} ({'; '.join(notes)})" if notes else head

    def as_dict(self) -> dict[str, Any]:
        """The source as JSON-friendly fields (kept in the field's JSON schema)."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.reference:
            out["reference"] = self.reference
        if self.note:
            out["note"] = self.note
        if self.range is not None:
            out["range"] = [float(self.range[0]), float(self.range[1])]
        if self.text:
            out["text"] = self.text
        return out


def plan(section: str, note: str = "") -> Source:
    """A section of the Shaoguan plan 2016, e.g. ``plan("§II.5", "roads to every village")``."""
    return Source("plan", reference=section, note=note)


def statistic(citation: str, note: str = "") -> Source:
    """A published figure: ``citation`` names the publisher and year (and the figure)."""
    return Source("statistic", reference=citation, note=note)


def assumption(note: str = "", range: tuple[float, float] | None = None) -> Source:  # noqa: A002
    """A modelling assumption; ``range`` is where it is believed to lie.

    Give ``range`` for a parameter without a sweep range (the sweep range of a parameter that
    has one already says where it may lie).
    """
    return Source("assumption", note=note, range=range)


def choice(note: str = "") -> Source:
    """A choice the scenario makes (its name, its description, its sweep ranges)."""
    return Source("choice", note=note)


_PLAN_TEXT = re.compile(rf"^{re.escape(PLAN)}, (?P<section>§[^ ,;(]+)")


def parse_source(text: str) -> Source:
    """A source written as free text, classified: the sentence is kept as it is written.

    For reading a source stored as text (a field without structured details); :func:`param`
    itself refuses free text.

    ``"Shaoguan plan 2016, §II.5 (...)"`` is a plan source (its section parsed),
    ``"assumption ..."`` an assumption, ``"scenario choice"`` a choice, anything else a
    statistic cited in words.
    """
    match = _PLAN_TEXT.match(text)
    if match:
        return Source("plan", reference=match.group("section"), text=text)
    if text.startswith("assumption"):
        return Source("assumption", text=text)
    if text.startswith("scenario choice"):
        return Source("choice", text=text)
    return Source("statistic", reference=text, text=text)


def source_of(extra: dict[str, Any]) -> Source:
    """The :class:`Source` of a field declared with :func:`param` (from its schema extras)."""
    detail = extra.get("source_detail")
    if isinstance(detail, dict):
        rng = detail.get("range")
        return Source(
            detail["kind"],
            reference=detail.get("reference", ""),
            note=detail.get("note", ""),
            range=None if rng is None else (float(rng[0]), float(rng[1])),
            text=detail.get("text", ""),
        )
    return parse_source(str(extra.get("source", "")))


class _YearKeyed:
    """Marker: the table's keys are calendar years (checked against the horizon)."""


YEAR_KEYED = _YearKeyed()

#: A table keyed by calendar year, e.g. ``{2016: 3960.0, 2017: 4440.0}``.
YearTable = Annotated[dict[int, float], YEAR_KEYED]


def param(
    default: Any = None,
    *,
    unit: str,
    source: Source,
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
        source: Where the default comes from: :func:`plan`, :func:`statistic`,
            :func:`assumption` or :func:`choice` (free text is refused, so that every
            source in the catalogue is structured).
        doc: One sentence on what the parameter means.
        range: Plausible ``(low, high)`` used by sensitivity sweeps.
        kind: ``"uncertainty"``, ``"lever"`` or ``"fixed"``; defaults to ``"uncertainty"`` when
            a range is given and ``"fixed"`` otherwise.
        default_factory: Factory for mutable defaults (year tables, dicts).
        **constraints: pydantic constraints such as ``ge=0`` or ``le=1``.

    Returns:
        A pydantic ``FieldInfo``.

    Raises:
        TypeError: ``source`` is not a :class:`Source` (e.g. free text).
    """
    if not isinstance(source, Source):
        raise TypeError(
            "source must be built with plan(), statistic(), assumption() or choice(), "
            f"found {source!r}"
        )
    if kind is None:
        kind = "uncertainty" if range is not None else "fixed"
    text = str(source)
    extra: dict[str, Any] = {
        "unit": unit,
        "source": text,
        "source_detail": source.as_dict(),
        "kind": kind,
    }
    if range is not None:
        extra["range"] = [float(range[0]), float(range[1])]
    description = f"{doc} Unit: {unit}. Source: {text}.".strip()
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
    if year in table:  # the usual case: the year's own entry
        return table[year]
    keys = sorted(table)
    chosen = keys[0]
    for key in keys:
        if key <= year:
            chosen = key
    return table[chosen]
