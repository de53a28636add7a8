"""Scenario schema (pydantic) and TOML loading with ``extends`` and dotted overrides.

A scenario is levers plus uncertainties. Every parameter carries a unit and a source (see
:func:`model.engine.params.param`); uncertain parameters and levers carry a ``[low, high]``
range that sweeps use, which a scenario can narrow or widen in its ``[ranges]`` table::

    extends = "baseline.toml"
    name = "employment_first"

    [social_security]
    enrolment_rate = 0.3

    [ranges]
    "dynamics.job_finding_rate" = [0.005, 0.02]

A ``[measures]`` table switches measures off by name (``off = ["housing"]``) or keeps only some
(``only = ["social_security"]``, what a counterfactual keeps): :class:`MeasureSwitches`.

A file's ``extends`` names a file beside it; TOML given as text (:func:`load_scenario_text`, a
file uploaded to the dashboard) may only extend a shipped scenario of ``scenarios/``.

Bad input raises :class:`ScenarioError`, whose message names the file, the key, what was expected
and what was found.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from model.engine.assessment import AssessmentParams
from model.engine.calendar import LAST_YEAR, CalendarParams, TargetParams
from model.engine.catalogue import canonicalise, catalogue, get_path, set_path
from model.engine.dynamics import DynamicsParams
from model.engine.forecast import ForecastParams
from model.engine.funding import FundingParams
from model.engine.interventions import MEASURE_NAMES, MEASURES
from model.engine.mechanisms import MECHANISMS
from model.engine.params import Section, choice, param
from model.engine.population import PopulationParams

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$"

#: Folder of the shipped scenarios: the only files a scenario given as text (a file uploaded to
#: the dashboard, :func:`load_scenario_text`) may extend.
SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"

#: Limits on what a scenario file may be: its size, the length of an ``extends`` chain and how
#: deeply tables and arrays nest (the schema needs 4 levels). Beyond them a file is refused.
MAX_FILE_BYTES = 1_000_000
MAX_EXTENDS = 32
MAX_NESTING = 16
#: Longest rendering of a found value in an error message.
MAX_FOUND_CHARS = 120


class ScenarioError(ValueError):
    """A scenario (file, ``extends`` chain or override) that cannot be used.

    The message names the file (or ``--set``), the key, what was expected and what was found.
    """


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
        source=choice(),
        doc="Measures switched off (neither effect nor cost); names among "
        + ", ".join(MEASURE_NAMES)
        + ".",
    )
    only: list[str] | None = param(
        None,
        unit="measure names",
        source=choice(),
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


class _ScenarioBase(Section):
    name: str = param(
        "scenario",
        unit="text",
        source=choice(),
        doc="Short name; results go to results/<name>/. Defaults to the file name.",
        pattern=NAME_PATTERN,
    )
    description: str = param("", unit="text", source=choice())
    calendar: CalendarParams = Field(default_factory=CalendarParams)
    targets: TargetParams = Field(default_factory=TargetParams)
    assessment: AssessmentParams = Field(default_factory=AssessmentParams)
    population: PopulationParams = Field(default_factory=PopulationParams)
    dynamics: DynamicsParams = Field(default_factory=DynamicsParams)
    funding: FundingParams = Field(default_factory=FundingParams)
    measures: MeasureSwitches = Field(default_factory=MeasureSwitches)
    forecast: ForecastParams = Field(default_factory=ForecastParams)
    ranges: dict[str, tuple[float, float]] = param(
        default_factory=dict,
        unit="[low, high] in the parameter's unit",
        source=choice(),
        doc="Sweep ranges overriding the schema's defaults, keyed by dotted parameter path.",
    )

    @field_validator("name")
    @classmethod
    def _no_dots_only(cls, name: str) -> str:
        if ".." in name:
            raise ValueError(f"a name without '..', found {name!r}")
        return name

    @model_validator(mode="after")
    def _canonical_order(self) -> _ScenarioBase:
        # after every table's own validators (which may add keys): results must not depend
        # on the order in which a file writes its keys
        canonicalise(self)
        return self

    @model_validator(mode="after")
    def _check_years_and_ranges(self) -> _ScenarioBase:
        first, last = self.calendar.start_year, self.calendar.end_year
        for path, table in ((e.path, e.value) for e in catalogue(self) if e.year_keyed):
            bad = sorted(y for y in table if not first <= y <= LAST_YEAR)
            if bad:
                raise ValueError(
                    f"{path}: years must lie in {first}-{LAST_YEAR} (entries after the "
                    f"horizon's last year, {last}, are not used), found {bad}"
                )
            if first not in table:
                raise ValueError(f"{path}: expected a value for the first year {first}")
        bad = sorted(y for y in self.targets.cumulative_people if not first <= y <= last)
        if bad:
            raise ValueError(
                f"targets.cumulative_people: years must lie in the horizon {first}-{last}, "
                f"found {bad}"
            )
        if self.targets.villages_exit_year > last:
            raise ValueError(
                f"targets.villages_exit_year: expected a year <= {last}, "
                f"found {self.targets.villages_exit_year}"
            )
        for key, (low, high) in self.ranges.items():
            try:
                value = get_path(self, key)
            except KeyError:
                raise ValueError(f"ranges: {key!r} is not a parameter of the scenario") from None
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"ranges: {key!r} is not a numeric parameter")
            if not (math.isfinite(low) and math.isfinite(high)) or low > high:
                raise ValueError(
                    f"ranges: {key!r} expected finite low <= high, found {low}, {high}"
                )
        return self


#: The scenario schema: the core tables plus one table per measure of
#: :data:`model.engine.interventions.MEASURES`, named after the measure's module.
Scenario: type[_ScenarioBase] = create_model(  # type: ignore[call-overload]
    "Scenario",
    __base__=_ScenarioBase,
    __module__=__name__,
    __doc__="""A complete, validated scenario: levers, uncertainties and their ranges.

    A pydantic model with one table per section: ``calendar``, ``targets``, ``assessment``,
    ``population``, ``dynamics``, ``funding``, ``measures`` (which measures run:
    ``off = [...]`` or ``only = [...]``), ``forecast`` (the parameter source of its ensembles
    by default), ``ranges``, and one table per measure of
    :data:`model.engine.interventions.MEASURES` (``assistance``, ``infrastructure``, ``industry``,
    ``employment``, ``finance``, ``education``, ``health``, ``housing``,
    ``social_security``), and one per feedback mechanism of
    :data:`model.engine.mechanisms.MECHANISMS` (``verification``, ``village_recheck``; all off
    by default). Every parameter carries a unit, a source and, if sweeps may vary
    it, a range (``docs/parameters.md``). Unknown keys, NaN and infinity are refused.

    Build one with :func:`load_scenario` (a TOML file), :func:`load_scenario_text` (TOML
    text), :func:`validate_scenario` (a dict) or ``Scenario()`` (every default); change one
    with :func:`apply_overrides`.

    Example:
        >>> s = Scenario()
        >>> s.assessment.exit_line(2018)        # 45% of provincial rural income, yuan
        7364.9...
    """,
    **{m.name: (m.Params, Field(default_factory=m.Params)) for m in MEASURES},
    **{m.name: (m.Params, Field(default_factory=m.Params)) for m in MECHANISMS},
)


# ---------------------------------------------------------------------------------------------
# loading


def _is_file(path: Path) -> bool:
    """``path.is_file()``, but False for a path the system cannot even look up."""
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte, a loop of links...
        return False


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        exists = path.exists()
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise ScenarioError(
            f"{path}: expected a scenario file, found an unusable path ({reason})"
        ) from None
    if not exists:
        raise ScenarioError(f"{path}: scenario file not found")
    if not path.is_file():
        raise ScenarioError(f"{path}: expected a scenario file, found a directory or other")
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ScenarioError(f"{path}: expected a readable file, found {err.strerror}") from None
    return _parse_toml(raw, str(path))


def _parse_toml(raw: bytes, label: str) -> dict[str, Any]:
    """The tables of a scenario file's bytes, or a :class:`ScenarioError` naming ``label``."""
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"{label}: expected a scenario file of at most {MAX_FILE_BYTES:,} bytes, found a "
            f"larger file"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - raw.rfind(b"\n", 0, err.start)
        raise ScenarioError(
            f"{label}: expected UTF-8 text, found the byte 0x{raw[err.start]:02x} at line "
            f"{line}, column {column} (offset {err.start})"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{label}: malformed TOML: {err}") from None
    except RecursionError:
        raise ScenarioError(
            f"{label}: expected tables and arrays nested at most {MAX_NESTING} deep, found "
            f"deeper nesting"
        ) from None
    _check_nesting(data, label)
    return data


def _check_nesting(value: Any, label: str, prefix: str = "") -> None:
    """Refuse tables and arrays nested deeper than :data:`MAX_NESTING` (without recursion)."""
    stack = [(value, prefix, 0)]
    while stack:
        node, key, depth = stack.pop()
        if depth > MAX_NESTING:
            where = f"{key}: " if key else ""
            raise ScenarioError(
                f"{label}: {where}expected tables and arrays nested at most {MAX_NESTING} deep, "
                f"found deeper nesting"
            )
        if isinstance(node, Mapping):
            items = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        for k, v in items:
            if isinstance(v, Mapping | list):
                stack.append((v, f"{key}.{k}" if key else str(k), depth + 1))


def _merge(
    base: dict[str, Any], over: Mapping[str, Any], origin: dict[str, str], label: str, prefix=""
) -> None:
    for key, value in over.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value, origin, label, prefix=f"{dotted}.")
        else:
            base[key] = _deep_copy(value)
            origin[dotted] = label


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _resolve(path: Path, chain: list[Path], origin: dict[str, str]) -> dict[str, Any]:
    resolved = path.resolve()
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError(
            f"{path}: extends: expected a chain of at most {MAX_EXTENDS} files, found a longer one"
        )
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in [*chain, resolved])
        raise ScenarioError(f"{path}: extends: expected no cycle, found {cycle}")
    data = _read_toml(path)
    parent = data.pop("extends", None)
    parent_path = None
    if parent is not None:
        if not isinstance(parent, str):
            raise ScenarioError(f"{path}: extends: expected a file name, found {parent!r}")
        parent_path = path.parent / parent
        if not _is_file(parent_path):
            raise ScenarioError(
                f"{path}: extends: expected an existing scenario file, found no file {parent_path}"
            )
    return _extend(data, str(path), parent_path, [*chain, resolved], origin)


def _extend(
    data: dict[str, Any],
    label: str,
    parent: Path | None,
    chain: list[Path],
    origin: dict[str, str],
) -> dict[str, Any]:
    """``data`` (read from ``label``) merged over its parent file's resolved tables."""
    merged: dict[str, Any] = {}
    if parent is not None:
        merged = _resolve(parent, chain, origin)
        merged.pop("name", None)
    _merge(merged, data, origin, label)
    return merged


def shipped_scenarios(folder: str | Path | None = None) -> list[str]:
    """File names of the shipped scenarios: the ``*.toml`` files of ``scenarios/``, sorted.

    A name that leads out of the folder (a symbolic link to a file elsewhere) or to anything
    but a file is left out. No file is opened: the folder is listed and each name resolved.

    Args:
        folder: The folder to list; default :data:`SCENARIO_DIR`.

    Returns:
        The file names, such as ``["baseline.toml", "employment_first.toml", ...]``.
    """
    base = Path(SCENARIO_DIR if folder is None else folder)
    names = []
    try:
        root = base.resolve()
        entries = sorted(base.glob("*.toml"))
    except (OSError, RuntimeError):  # RuntimeError: a loop of symbolic links (Python 3.11)
        return []
    for entry in entries:
        try:
            target = entry.resolve()
            if target.is_relative_to(root) and target.is_file():
                names.append(entry.name)
        except (OSError, RuntimeError, ValueError):
            continue
    return names


def shipped_scenario_path(name: Any, folder: str | Path | None = None) -> Path | None:
    """The file of the shipped scenario ``name`` (``"baseline"`` or ``"baseline.toml"``).

    Only a name of :func:`shipped_scenarios` counts, so absolute paths, folder parts, ``..``,
    symbolic links leading out of the folder and missing names give None; no file is opened.

    Args:
        name: The scenario's file name, with or without ``.toml``.
        folder: The shipped scenarios' folder; default :data:`SCENARIO_DIR`.

    Returns:
        The path of the file in ``folder``, or None when ``name`` is not a shipped scenario.
    """
    if not isinstance(name, str):
        return None
    file_name = name if name.endswith(".toml") else f"{name}.toml"
    if file_name not in shipped_scenarios(folder):
        return None
    return Path(SCENARIO_DIR if folder is None else folder) / file_name


def _shipped_parent(parent: Any, label: str, folder: str | Path | None) -> Path:
    """The shipped scenario a scenario given as text extends, or its one-line refusal."""
    path = shipped_scenario_path(parent, folder)
    if path is None:
        names = ", ".join(Path(n).stem for n in shipped_scenarios(folder)) or "none"
        raise ScenarioError(
            f"{label}: extends: expected the name of a shipped scenario ({names}; with or "
            f"without .toml), found {_short_repr(parent)}"
        )
    return path


def default_name(path: Path) -> str:
    """The name of a scenario without a ``name`` key: its file name made a valid name.

    Characters other than ASCII letters, digits, ``_``, ``.`` and ``-`` become ``_``
    (``"employment first.toml"`` gives ``employment_first``; a name of only such characters,
    like ``基线.toml``, gives ``scenario``).
    """
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem)
    name = re.sub(r"\.{2,}", ".", name).lstrip("_.-")[:80]
    return name if re.match(NAME_PATTERN, name) else "scenario"


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``"a.b=value"`` into the dotted key and a TOML-typed value.

    >>> parse_override("employment.training_places=5000")
    ('employment.training_places', 5000)
    """
    if "=" not in text:
        raise ScenarioError(f"--set {text}: expected KEY=VALUE, found no '='")
    key, raw = (s.strip() for s in text.split("=", 1))
    if not key:
        raise ScenarioError(f"--set {text}: expected a dotted key before '='")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    except RecursionError:
        raise ScenarioError(
            f"--set {key}: expected a value nested at most {MAX_NESTING} deep, found deeper nesting"
        ) from None
    _check_nesting(value, f"--set {key}")
    return key, value


def _check_override_path(key: str) -> None:
    """Refuse a ``--set`` key that names no table or parameter of the schema."""
    known = _default_catalogue()
    parts = key.split(".")
    for i, part in enumerate(parts):
        where = ".".join(parts[:i])
        if where:
            table = next((t for t in known.tables if t.name == where), None)
            if table is None or table.keyed:
                # inside a parameter's table (or a table of tables): keys are checked when the
                # scenario is validated
                return
        names = known.children(where)
        if part not in names:
            raise ScenarioError(
                f"--set {key}: no such key {part!r} in {where or 'the scenario'}; expected one "
                f"of {names}"
            )


_DEFAULT_CATALOGUE: list[Any] = []


def _default_catalogue() -> Any:
    """The catalogue of the schema's defaults (built once)."""
    if not _DEFAULT_CATALOGUE:
        _DEFAULT_CATALOGUE.append(catalogue(Scenario()))
    return _DEFAULT_CATALOGUE[0]


def _overrides(overrides: Mapping[str, Any] | Iterable[str] | None) -> list[tuple[str, Any]]:
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        return list(overrides.items())
    return [parse_override(item) for item in overrides]


def _short_repr(value: Any) -> str:
    text = repr(value)
    if len(text) > MAX_FOUND_CHARS:
        text = f"{text[: MAX_FOUND_CHARS - 20]}... ({len(text):,} characters)"
    return text


def _format_errors(err: ValidationError, origin: dict[str, str], default_file: str) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        label = default_file
        parts = key.split(".")
        for i in range(len(parts), 0, -1):
            prefix = ".".join(parts[:i])
            if prefix in origin:
                label = origin[prefix]
                break
        msg = e["msg"]
        for lead in ("Value error, ", "Input should be ", "Assertion failed, "):
            if msg.startswith(lead):
                msg = msg[len(lead) :]
        if e["type"] == "string_pattern_mismatch":
            msg = msg.replace("String should match pattern", "text matching the pattern")
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
            found = ""
        elif e["type"] == "missing":
            msg = "missing key"
            found = ""
        else:
            found = (
                f"; found {_short_repr(e['input'])}"
                if "input" in e and e["type"] != "value_error"
                else ""
            )
            if not msg.startswith("expected") and e["type"] != "value_error":
                msg = f"expected {msg}"
        where = f"{key}: " if key else ""
        lines.append(f"{label}: {where}{msg}{found}")
    return "\n".join(lines)


def load_scenario(
    path: str | Path, overrides: Mapping[str, Any] | Iterable[str] | None = None
) -> _ScenarioBase:
    """Load, merge and validate a scenario file.

    Args:
        path: The TOML file. ``extends = "other.toml"`` is resolved relative to it.
        overrides: Dotted-path overrides, as ``{"employment.training_places": 5000}`` or as
            ``["employment.training_places=5000"]`` (the command line's ``--set``).

    Returns:
        The validated :data:`Scenario`.

    Raises:
        ScenarioError: On any bad input; the message names file, key, expected and found.

    Example:
        >>> s = load_scenario("scenarios/baseline.toml", ["dynamics.job_finding_rate=0.02"])
        >>> s.dynamics.job_finding_rate
        0.02
    """
    path = Path(path)
    origin: dict[str, str] = {}
    data = _resolve(path, [], origin)
    data.setdefault("name", default_name(path))
    return _validated(data, origin, str(path), overrides)


def load_scenario_text(
    text: str | bytes,
    name: str = "scenario.toml",
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    folder: str | Path | None = None,
) -> _ScenarioBase:
    r"""Load, merge and validate a scenario given as TOML text (a file uploaded to the dashboard).

    Text has no folder of its own, so its ``extends`` may only name a shipped scenario:
    ``"baseline.toml"``, ``"baseline"`` or another file of ``scenarios/``, looked up in that
    folder. Anything else (an absolute path, a folder part, ``..``, a symbolic link leading out
    of the folder, a name not shipped) is refused before any file is opened, so text cannot
    make the loader read other files. The shipped scenario's own ``extends`` chain then
    resolves as in :func:`load_scenario`.

    Args:
        text: The TOML text, as ``str`` or UTF-8 ``bytes``; at most 1,000,000 bytes.
        name: The file name the text came with: error messages name it, and a text without a
            ``name`` key takes it as a file name (``"more jobs.toml"`` gives ``more_jobs``).
        overrides: Dotted-path overrides, as for :func:`load_scenario`.
        folder: The folder of the scenarios ``extends`` may name; default the shipped
            ``scenarios/`` (:data:`SCENARIO_DIR`).

    Returns:
        The validated :data:`Scenario`.

    Raises:
        ScenarioError: On any bad input, in the messages of :func:`load_scenario`; a refused
            ``extends`` reads ``<name>: extends: expected the name of a shipped scenario (...),
            found ...``.

    Example:
        >>> s = load_scenario_text(
        ...     'extends = "baseline"\n[social_security]\nenrolment_rate = 0.3\n', "more.toml"
        ... )
        >>> s.name, s.social_security.enrolment_rate
        ('more', 0.3)
    """
    label = str(name)
    if isinstance(text, str):
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError as err:
            raise ScenarioError(
                f"{label}: expected UTF-8 text, found a character UTF-8 cannot encode at "
                f"offset {err.start}"
            ) from None
    else:
        raw = bytes(text)
    data = _parse_toml(raw, label)
    parent = data.pop("extends", None)
    parent_path = None if parent is None else _shipped_parent(parent, label, folder)
    origin: dict[str, str] = {}
    data = _extend(data, label, parent_path, [], origin)
    data.setdefault("name", default_name(Path(label)))
    return _validated(data, origin, label, overrides)


def _validated(
    data: dict[str, Any],
    origin: dict[str, str],
    label: str,
    overrides: Mapping[str, Any] | Iterable[str] | None,
) -> _ScenarioBase:
    """The merged tables validated, then with the overrides applied and validated again."""
    parsed = _overrides(overrides)
    for key, _ in parsed:
        _check_override_path(key)
    scenario = validate_scenario(data, origin=origin, label=label)
    if not parsed:
        return scenario
    # overrides apply to the complete scenario, so a key inside a table the files do not
    # write changes that key only, not the whole table
    full = scenario.model_dump(mode="python")
    for key, value in parsed:
        set_path(full, key, value)
        origin[key] = f"--set {key}"
    return validate_scenario(full, origin=origin, label=label)


def validate_scenario(
    data: Mapping[str, Any], origin: dict[str, str] | None = None, label: str = "<scenario>"
) -> _ScenarioBase:
    """Validate a scenario given as a mapping (e.g. built in a notebook).

    Missing tables and keys take the schema's defaults (``shaoguan-abm params`` lists them).

    Args:
        data: The scenario as nested dicts, the shape of a parsed TOML file.
        origin: Optional map from dotted key to where it came from (file or ``--set``), used
            to name the origin in error messages.
        label: Name used in error messages for keys without a recorded origin.

    Returns:
        The validated :data:`Scenario`.

    Raises:
        ScenarioError: On unknown keys, wrong types, out-of-range values, shares that do not
            sum to 1, years outside the horizon...; one line per problem, naming the key.

    Example:
        >>> s = validate_scenario({"name": "fast", "social_security": {"enrolment_rate": 0.5}})
        >>> s.social_security.enrolment_rate, s.funding.special_fund_per_person
        (0.5, 20000.0)
    """
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as err:
        raise ScenarioError(_format_errors(err, origin or {}, label)) from None


def apply_overrides(
    scenario: _ScenarioBase, overrides: Mapping[str, Any] | Iterable[str]
) -> _ScenarioBase:
    """A new validated scenario with dotted-path values replaced (the scenario is unchanged).

    Example:
        >>> faster = apply_overrides(baseline, {"dynamics.job_finding_rate": 0.02})
    """
    data = scenario.model_dump(mode="python")
    origin: dict[str, str] = {}
    for key, value in _overrides(overrides):
        _check_override_path(key)
        set_path(data, key, value)
        origin[key] = f"--set {key}"
    return validate_scenario(data, origin=origin, label=f"scenario {scenario.name}")


def sweepable_parameters(scenario: _ScenarioBase) -> dict[str, dict[str, Any]]:
    """Every numeric parameter with a range: ``{path: {default, low, high, unit, kind}}``.

    Ranges come from the schema unless the scenario's ``[ranges]`` table overrides them;
    ``default`` is the scenario's value. Built on :func:`model.engine.catalogue.catalogue`.
    """
    return {
        e.path: {
            "default": e.value,
            "low": e.range[0],
            "high": e.range[1],
            "unit": e.unit,
            "kind": e.kind,
        }
        for e in catalogue(scenario)
        if e.range is not None
    }
