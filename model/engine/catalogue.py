"""The parameter catalogue: one walk of the scenario schema, and the helpers built on it.

Every consumer of "the parameters of a scenario" reads them here: ``--set`` path checking,
sweeps and their ranges (:func:`model.engine.scenario.sweepable_parameters`),
``shaoguan-abm params`` and the documents it generates, the report's assumptions table and the
dashboard's levers. The walk visits every field of the validated scenario in schema order,
descends into sub-tables (``population``, ``funding``...) and into tables of sub-tables
(``population.counties.lechang``), and yields one :class:`Entry` per parameter.

The module also holds the one dotted-path getter and setter (:func:`get_path`,
:func:`set_path`), the one TOML writer (:func:`toml_value`, :func:`scenario_toml`) and the
canonical order of scenario tables (:func:`canonicalise`), so that results never depend on the
order in which a file writes its keys.

Example:
    >>> from model.engine.scenario import Scenario
    >>> entry = catalogue(Scenario()).entry("dynamics.job_finding_rate")
    >>> entry.kind, entry.range, entry.source.kind
    ('uncertainty', (0.003, 0.03), 'assumption')
"""

from __future__ import annotations

import functools
import json
import math
import re
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from model.engine.params import YEAR_KEYED, Source, source_of

#: Name of the table that holds the scenario's own top-level keys (``name``, ``ranges``...).
TOP_LEVEL = "scenario"


@dataclass(frozen=True)
class Entry:
    """One parameter of a scenario.

    Attributes:
        path: Dotted path, the key of ``--set`` and of the scenario's TOML tables.
        section: The table the parameter belongs to (``dynamics``, ``population.counties.
            lechang``, or :data:`TOP_LEVEL` for the scenario's own keys).
        value: The scenario's value.
        unit: Unit of the value.
        source: Where the default comes from (plan section, statistic, assumption, choice).
        kind: ``"uncertainty"``, ``"lever"`` or ``"fixed"``.
        range: ``(low, high)`` sweeps use (the scenario's ``[ranges]`` entry, else the
            schema's), or None.
        doc: What the parameter means (may be empty).
        year_keyed: The value is a table keyed by calendar year.
    """

    path: str
    section: str
    value: Any
    unit: str
    source: Source
    kind: str
    range: tuple[float, float] | None
    doc: str
    year_keyed: bool = False

    @property
    def numeric(self) -> bool:
        """The value is a number (not a flag, text or table)."""
        return isinstance(self.value, int | float) and not isinstance(self.value, bool)


@dataclass(frozen=True)
class Table:
    """A group of parameters: a table of the scenario or one entry of a table of tables.

    Attributes:
        name: Dotted path of the table (:data:`TOP_LEVEL` for the scenario's own keys).
        doc: What the table holds.
        module: The module that defines the table's schema.
        keyed: The table's entries are user-chosen keys (``population.counties``) rather than
            fields of a schema.
    """

    name: str
    doc: str
    module: str
    keyed: bool = False


@dataclass
class Catalogue:
    """Every parameter of one scenario, in schema order, and the tables that group them."""

    entries: list[Entry] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def entry(self, path: str) -> Entry:
        """The parameter at ``path``, or the table-valued parameter that holds it.

        ``funding.delay_months.paired_city`` gives the entry of ``funding.delay_months``.

        Raises:
            KeyError: When no parameter is at or above ``path``.
        """
        by_path = {e.path: e for e in self.entries}
        parts = path.split(".")
        for i in range(len(parts), 0, -1):
            found = by_path.get(".".join(parts[:i]))
            if found is not None and (i == len(parts) or isinstance(found.value, Mapping)):
                return found
        raise KeyError(path)

    def children(self, prefix: str) -> list[str]:
        """Names of the keys directly under the table ``prefix`` (``""`` for the scenario)."""
        lead = f"{prefix}." if prefix else ""
        names = {e.path[len(lead) :].split(".")[0] for e in self.entries if e.path.startswith(lead)}
        names |= {
            t.name[len(lead) :].split(".")[0]
            for t in self.tables
            if t.name != TOP_LEVEL and t.name.startswith(lead)
        }
        return sorted(names)


def _first_paragraph(cls: type) -> str:
    doc = (cls.__doc__ or "").strip()
    return " ".join(doc.split("\n\n")[0].split())


def _model_dict_type(annotation: Any) -> type[BaseModel] | None:
    """The sub-model class of a ``dict[str, SubModel]`` annotation, else None."""
    if typing.get_origin(annotation) is dict:
        args = typing.get_args(annotation)
        if len(args) == 2 and isinstance(args[1], type) and issubclass(args[1], BaseModel):
            return args[1]
    return None


def field_doc(info: Any) -> str:
    """The ``doc`` sentence of a field declared with :func:`~model.engine.params.param`."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    description = (info.description or "").strip()
    suffix = f"Unit: {extra.get('unit', '')}. Source: {extra.get('source', '')}."
    if description.endswith(suffix):
        description = description[: -len(suffix)]
    return description.strip()


@dataclass(frozen=True)
class _FieldMeta:
    """What the schema declares about one field (the same for every scenario)."""

    unit: str
    source: Source
    kind: str
    range: tuple[float, float] | None
    doc: str
    year_keyed: bool
    sub_model: type[BaseModel] | None


@functools.lru_cache(maxsize=1024)
def _field_meta(cls: type[BaseModel], name: str) -> _FieldMeta:
    info = cls.model_fields[name]
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    low_high = extra.get("range")
    return _FieldMeta(
        unit=str(extra.get("unit", "")),
        source=source_of(extra),
        kind=str(extra.get("kind", "fixed")),
        range=None if low_high is None else (float(low_high[0]), float(low_high[1])),
        doc=field_doc(info),
        year_keyed=any(m is YEAR_KEYED for m in info.metadata),
        sub_model=_model_dict_type(info.annotation),
    )


def _walk(
    obj: BaseModel,
    prefix: str,
    section: str,
    ranges: Mapping[str, Any],
    out: Catalogue,
) -> None:
    for name in type(obj).model_fields:
        value = getattr(obj, name)
        path = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            out.tables.append(Table(path, _first_paragraph(type(value)), type(value).__module__))
            _walk(value, f"{path}.", path, ranges, out)
            continue
        meta = _field_meta(type(obj), name)
        if meta.sub_model is not None and isinstance(value, dict):
            out.tables.append(Table(path, meta.doc, type(obj).__module__, keyed=True))
            for key, item in value.items():
                entry_path = f"{path}.{key}"
                out.tables.append(
                    Table(
                        entry_path,
                        f"{_first_paragraph(meta.sub_model)} An entry of `{path}` ({meta.unit}; "
                        f"source: {meta.source}). {meta.doc}".strip(),
                        meta.sub_model.__module__,
                    )
                )
                _walk(item, f"{entry_path}.", entry_path, ranges, out)
            continue
        low_high = ranges.get(path)
        out.entries.append(
            Entry(
                path=path,
                section=section,
                value=value,
                unit=meta.unit,
                source=meta.source,
                kind=meta.kind,
                range=meta.range if low_high is None else (float(low_high[0]), float(low_high[1])),
                doc=meta.doc,
                year_keyed=meta.year_keyed,
            )
        )


def catalogue(scenario: BaseModel | None = None) -> Catalogue:
    """Every parameter of a validated scenario (the schema's defaults when None).

    Args:
        scenario: A validated scenario; its values and its ``[ranges]`` overrides are reported.

    Returns:
        The :class:`Catalogue`: entries in schema order, and the tables that group them (the
        first is :data:`TOP_LEVEL`, the scenario's own keys).
    """
    if scenario is None:
        from model.engine.scenario import Scenario

        scenario = Scenario()
    out = Catalogue(tables=[Table(TOP_LEVEL, "The scenario's own keys.", "model.engine.scenario")])
    _walk(scenario, "", TOP_LEVEL, dict(getattr(scenario, "ranges", {}) or {}), out)
    return out


def parameters(scenario: BaseModel | None = None) -> Iterator[Entry]:
    """Yield every parameter of a validated scenario, in schema order (see :func:`catalogue`)."""
    yield from catalogue(scenario).entries


# ---------------------------------------------------------------------------------------------
# dotted paths


def get_path(obj: Any, dotted: str) -> Any:
    """The value at a dotted path of a scenario (or of its dump as nested dicts).

    Integer keys of year tables may be written as digits (``health.premium.2017``).

    Raises:
        KeyError: When the path leads nowhere.
    """
    for part in dotted.split("."):
        if isinstance(obj, BaseModel):
            if part not in type(obj).model_fields:
                raise KeyError(dotted)
            obj = getattr(obj, part)
        elif isinstance(obj, Mapping):
            key: Any = int(part) if part.isdigit() and part not in obj else part
            if key not in obj:
                raise KeyError(dotted)
            obj = obj[key]
        else:
            raise KeyError(dotted)
    return obj


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set the value at a dotted path of a scenario given as nested dicts, creating tables.

    A digit key sets the existing integer key of a year table when there is one
    (``health.premium.2017``), else a text key that validation reads as a year.
    """
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    last: Any = parts[-1]
    if last.isdigit() and last not in node and int(last) in node:
        last = int(last)
    node[last] = value


# ---------------------------------------------------------------------------------------------
# canonical order


@functools.lru_cache(maxsize=1024)
def _default_keys(cls: type[BaseModel], name: str) -> tuple[Any, ...]:
    """Keys of a table field's default, in order (empty when the default is not a table)."""
    default = cls.model_fields[name].get_default(call_default_factory=True)
    return tuple(default) if isinstance(default, Mapping) else ()


def _order(table: Mapping[Any, Any], reference: tuple[Any, ...]) -> list[Any]:
    """Keys of ``table`` in canonical order.

    Numbers ascending; names in the order of the schema's default table ``reference``, then
    the others alphabetically.
    """
    keys = list(table)
    if all(isinstance(k, int) and not isinstance(k, bool) for k in keys):
        return sorted(keys)
    known = [k for k in reference if k in table]
    return known + sorted((k for k in keys if k not in known), key=str)


def canonicalise(obj: BaseModel) -> None:
    """Put every table of a validated scenario into canonical key order, in place.

    Year tables (and every table keyed by numbers) are sorted by key; tables keyed by names
    (sources, uses, counties, parties...) follow the order of the schema's default table, with
    other names after it in alphabetical order. Fields keep the schema's order, so a scenario's
    results never depend on the order in which its file writes keys.
    """
    for name in type(obj).model_fields:
        value = obj.__dict__.get(name)
        if isinstance(value, BaseModel):
            canonicalise(value)
        elif isinstance(value, dict):
            order = _order(value, _default_keys(type(obj), name))
            if order != list(value):
                obj.__dict__[name] = {k: value[k] for k in order}
            for item in obj.__dict__[name].values():
                if isinstance(item, BaseModel):
                    canonicalise(item)


# ---------------------------------------------------------------------------------------------
# TOML


def toml_key(key: Any) -> str:
    """A TOML key: bare when it may be, else quoted."""
    text = str(key)
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else toml_value(text)


def toml_value(value: Any, digits: int | None = None) -> str:
    """A value written as TOML (tables inline); ``None`` entries of arrays and tables are left out.

    Args:
        value: A number, flag, text, list, tuple or dict of these.
        digits: Significant digits of floats (for display); default the shortest exact repr.

    Raises:
        TypeError: For a value TOML cannot hold.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value if digits is None else float(f"{value:.{digits}g}"))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v, digits) for v in value if v is not None) + "]"
    if isinstance(value, Mapping):
        items = [
            f"{toml_key(k)} = {toml_value(v, digits)}" for k, v in value.items() if v is not None
        ]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise TypeError(f"cannot write {value!r} as TOML")


def scenario_toml(scenario: BaseModel, header: str = "") -> str:
    """The complete scenario as a TOML scenario file (loads back to the same scenario).

    Args:
        scenario: A validated scenario.
        header: A comment line to open the file with (without ``#``), or nothing.
    """
    data = scenario.model_dump(mode="json")
    lines = [f"# {header}"] if header else []
    tables = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, value in tables:
        lines += ["", f"[{toml_key(key)}]"]
        lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items() if v is not None]
    return "\n".join(lines) + "\n"
