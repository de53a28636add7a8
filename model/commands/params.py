"""``shaoguan-abm params``: every parameter of the scenario schema, with unit, range and source.

The table is the engine's parameter catalogue (:func:`model.engine.catalogue.catalogue`, one walk
of the pydantic scenario schema), so a parameter added to any section (or any measure's table)
appears without editing this module. Nested tables of
sub-models, such as ``population.counties``, are listed entry by entry
(``population.counties.lechang.poor_village_weight``).

``--markdown`` writes the reference that ``docs/parameters.md`` holds (``make docs``);
``--fill FILE`` regenerates the parameter tables between ``<!-- params: PATH ... -->`` and
``<!-- /params -->`` markers of a hand-written document such as ``docs/ODD.md``, so that the
numbers it quotes are always the schema's.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from model.commands.common import BadInput
from model.engine.catalogue import catalogue, toml_value
from model.engine.params import SOURCE_KINDS

#: Marker pairs that ``--fill`` regenerates: ``<!-- params: PATH ... -->`` ... ``<!-- /params -->``.
FILL_PATTERN = re.compile(
    r"(?P<open><!-- params: (?P<spec>[^>]*?) -->\n)(?P<body>.*?)(?P<close><!-- /params -->)",
    re.DOTALL,
)


@dataclass(frozen=True)
class ParameterRow:
    """One parameter of the schema.

    Attributes:
        path: Dotted path, the key of ``--set`` and of the scenario's TOML tables.
        section: Top-level scenario table the parameter belongs to.
        value: Default (or the given scenario's value).
        unit: Unit of the value.
        range: ``(low, high)`` used by sensitivity sweeps, or None.
        kind: ``"uncertainty"``, ``"lever"`` or ``"fixed"``.
        source: Where the default comes from, as the documents write it.
        doc: What the parameter means (may be empty).
        source_kind: ``"plan"``, ``"statistic"``, ``"assumption"`` or ``"choice"``.
    """

    path: str
    section: str
    value: Any
    unit: str
    range: tuple[float, float] | None
    kind: str
    source: str
    doc: str
    source_kind: str = ""


@dataclass(frozen=True)
class SectionInfo:
    """A group of parameters: a top-level table or one entry of a nested table."""

    name: str
    doc: str
    module: str


def parameter_table(
    scenario: BaseModel | None = None,
) -> tuple[list[ParameterRow], list[SectionInfo]]:
    """Every parameter of a scenario (the schema's defaults when None), in schema order.

    Args:
        scenario: A validated scenario; its values and its ``[ranges]`` overrides are reported.

    Returns:
        The rows, and the sections (top-level tables and nested entries) that group them.

    Example:
        >>> rows, _ = parameter_table()
        >>> [r for r in rows if r.path == "dynamics.job_finding_rate"][0].range
        (0.003, 0.03)
    """
    found = catalogue(scenario)
    rows = [
        ParameterRow(
            path=e.path,
            section=e.section,
            value=e.value,
            unit=e.unit,
            range=e.range,
            kind=e.kind,
            source=str(e.source),
            doc=e.doc,
            source_kind=e.source.kind,
        )
        for e in found
    ]
    sections = [SectionInfo(t.name, t.doc, t.module) for t in found.tables if not t.keyed]
    return rows, sections


def select(rows: list[ParameterRow], prefixes: list[str]) -> list[ParameterRow]:
    """Rows whose path equals a prefix or lies under it (all rows when no prefix is given).

    Raises:
        BadInput: When a prefix matches no parameter.
    """
    if not prefixes:
        return rows
    chosen: list[ParameterRow] = []
    for prefix in prefixes:
        hits = [r for r in rows if r.path == prefix or r.path.startswith(f"{prefix}.")]
        if not hits:
            tops = sorted({r.path.split(".")[0] for r in rows})
            raise BadInput(
                f"params: no parameter matches {prefix!r}; expected a dotted path or a prefix "
                f"such as one of {tops}"
            )
        chosen.extend(r for r in hits if r not in chosen)
    return chosen


# ---------------------------------------------------------------------------------------------
# formatting


def format_value(value: Any) -> str:
    """A value as it would be written in a scenario's TOML (floats to 10 significant digits)."""
    try:
        return toml_value(value, digits=10)
    except TypeError:
        return str(value)


def format_range(row: ParameterRow) -> str:
    """``low to high``, or an empty string."""
    if row.range is None:
        return ""
    low, high = row.range
    if isinstance(row.value, int) and not isinstance(row.value, bool):
        if float(low).is_integer() and float(high).is_integer():
            return f"{int(low)} to {int(high)}"
    return f"{format_value(low)} to {format_value(high)}"


def text_lines(rows: list[ParameterRow]) -> list[str]:
    """One line per parameter: ``path = value  [unit]  range ..., kind; source: ...``."""
    lines = []
    for r in rows:
        rng = f"range {format_range(r)}, " if r.range is not None else ""
        lines.append(
            f"{r.path} = {format_value(r.value)}  [{r.unit}]  {rng}{r.kind}; source: {r.source}"
        )
    return lines


def _cell(text: str) -> str:
    """Plain text for a Markdown table cell (reST literals become code spans)."""
    text = text.replace("``", "`").replace("|", "\\|").replace("\n", " ")
    return text.replace("<", "&lt;").replace(">", "&gt;")


def markdown_table(
    rows: list[ParameterRow], meaning: bool = True, value_header: str = "default"
) -> list[str]:
    """A Markdown table of ``rows`` (``value_header`` names the value column)."""
    head = ["parameter", value_header, "unit", "range", "kind", "source"]
    if meaning:
        head.append("meaning")
    out = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        cells = [
            f"`{r.path}`",
            f"`{format_value(r.value)}`".replace("|", "\\|"),
            _cell(r.unit),
            format_range(r),
            r.kind,
            _cell(r.source),
        ]
        if meaning:
            cells.append(_cell(r.doc))
        out.append("| " + " | ".join(cells) + " |")
    return out


def markdown_reference(
    rows: list[ParameterRow], sections: list[SectionInfo], scenario_name: str | None = None
) -> str:
    """The whole parameter reference (``docs/parameters.md``).

    Args:
        rows: The parameters to list (see :func:`parameter_table` and :func:`select`).
        sections: The sections that group them.
        scenario_name: When the values are a scenario's rather than the schema's defaults.
    """
    value_header = "default" if scenario_name is None else "value"
    ranged = [r for r in rows if r.range is not None]
    n_unc = sum(r.kind == "uncertainty" for r in ranged)
    n_lev = sum(r.kind == "lever" for r in ranged)
    n_cite = sum("Shaoguan plan 2016" in r.source for r in rows)
    n_kind = {k: sum(r.source_kind == k for r in rows) for k in SOURCE_KINDS}
    lines = [
        "# Parameter reference",
        "",
        "<!-- Generated by `shaoguan-abm params --markdown` from the scenario schema. "
        "Do not edit by hand: run `make docs`. -->",
        "",
        "Every parameter of the scenario schema (`model/engine/scenario.py` and the parameter "
        "classes it gathers), generated from the schema itself by "
        "`shaoguan-abm params --markdown`.",
        "",
        "- **parameter**: the dotted path, which is both the key in a scenario's TOML tables and "
        "the key of `--set` (`shaoguan-abm run scenarios/baseline.toml --set "
        "dynamics.job_finding_rate=0.02`).",
        "- **default**: the schema's default, written as in TOML. Tables keyed by year "
        "(`{ 2016 = ..., 2017 = ... }`) hold each year's value; a year missing from such a table "
        "takes the value of the latest earlier year. A scenario file may set other values "
        "(`shaoguan-abm params --scenario FILE` lists a scenario's values).",
        "- **range**: the plausible `[low, high]` that sensitivity sweeps use; a scenario can "
        "change it in its `[ranges]` table.",
        "- **kind**: `uncertainty` (no one controls it), `lever` (the government chooses it) or "
        "`fixed` (a definition, a count from the plan, or a value not varied by sweeps).",
        '- **source**: "Shaoguan plan 2016, §..." (a section of the city\'s 2016 plan), a '
        'pre-2016 statistic with its citation, "assumption" (with the range it is believed to '
        'lie in when sweeps do not vary it) or "scenario choice".',
        "",
        f"{len(rows)} parameters; {len(ranged)} with a sweep range ({n_unc} uncertainties, "
        f"{n_lev} levers); {n_cite} cite the plan. Sources: {n_kind['plan']} plan sections, "
        f"{n_kind['statistic']} statistics, {n_kind['assumption']} assumptions, "
        f"{n_kind['choice']} scenario choices.",
        "",
    ]
    if scenario_name is not None:
        lines += [f"**Values of scenario `{scenario_name}`**, not the schema's defaults.", ""]
    by_section: dict[str, list[ParameterRow]] = {}
    for r in rows:
        by_section.setdefault(r.section, []).append(r)
    for s in sections:
        section_rows = by_section.get(s.name, [])
        if not section_rows:
            continue
        depth = "##" if "." not in s.name else "###"
        module = s.module.replace(".", "/") + ".py"
        doc = _cell(s.doc)
        lines += [f"{depth} `{s.name}`", "", f"{doc} Defined in `{module}`.", ""]
        lines += markdown_table(section_rows, value_header=value_header)
        lines.append("")
    return "\n".join(lines)


def fill_tables(text: str, rows: list[ParameterRow], label: str = "<text>") -> str:
    """Regenerate every ``<!-- params: PATH ... -->`` block of a Markdown document.

    Each block's body becomes the table of the listed parameters (a path or a prefix each);
    everything outside the markers is left as it is.

    Raises:
        BadInput: When a block names a parameter the schema does not have.
    """

    def replace(match: re.Match[str]) -> str:
        spec = match.group("spec").split()
        try:
            chosen = select(rows, spec)
        except BadInput as err:
            raise BadInput(f"{label}: {err}") from None
        table = "\n".join(markdown_table(chosen, meaning=False))
        return f"{match.group('open')}{table}\n{match.group('close')}"

    return FILL_PATTERN.sub(replace, text)


# ---------------------------------------------------------------------------------------------
# the command


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the sub-command."""
    p = sub.add_parser(
        "params",
        help="list every parameter with its unit, default, range, kind and source",
        description="List every parameter of the scenario schema: dotted path, default, unit, "
        "sweep range, kind (uncertainty, lever, fixed) and source.",
    )
    p.add_argument(
        "prefixes",
        nargs="*",
        metavar="PATH",
        help="only parameters at or under these dotted paths, e.g. dynamics or "
        "funding.source_shares",
    )
    p.add_argument(
        "--markdown", action="store_true", help="the Markdown reference (docs/parameters.md)"
    )
    p.add_argument(
        "--scenario",
        metavar="FILE",
        help="report this scenario's values and ranges instead of the schema's defaults",
    )
    p.add_argument(
        "--fill",
        metavar="FILE",
        type=Path,
        help="regenerate the tables between <!-- params: PATH ... --> and <!-- /params --> "
        "markers of FILE in place",
    )


def main(args: argparse.Namespace) -> int:
    """Print the parameters (or fill a document's parameter tables)."""
    scenario = None
    if args.scenario:
        from model.engine.scenario import load_scenario

        scenario = load_scenario(args.scenario)
    rows, sections = parameter_table(scenario)
    if args.fill is not None:
        path: Path = args.fill
        if not path.is_file():
            raise BadInput(f"--fill {path}: expected an existing Markdown file")
        text = path.read_text(encoding="utf-8")
        from model.engine.interventions import fill_measures_table

        filled = fill_measures_table(fill_tables(text, rows, label=str(path)))
        if filled != text:
            path.write_text(filled, encoding="utf-8")
        n_blocks = len(FILL_PATTERN.findall(text))
        print(f"{path}: {n_blocks} parameter table{'s' if n_blocks != 1 else ''} regenerated")
        return 0
    rows = select(rows, list(args.prefixes))
    if args.markdown:
        text = markdown_reference(rows, sections, None if scenario is None else scenario.name)
    else:
        text = "\n".join(text_lines(rows))
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
