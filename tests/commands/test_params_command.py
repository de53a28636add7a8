"""The ``params`` command and the generated parameter reference (docs/parameters.md)."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel

from model.commands.cli import main
from model.commands.common import BadInput
from model.commands.params import fill_tables, parameter_table
from tests.conftest import ROOT, SCENARIOS

DOCS = ROOT / "docs"


def _schema_paths(obj: BaseModel, prefix: str = "") -> list[str]:
    """Every leaf parameter of the schema, found independently of the command's own walker."""
    paths = []
    for name, info in type(obj).model_fields.items():
        value = getattr(obj, name)
        if isinstance(value, BaseModel):
            paths += _schema_paths(value, f"{prefix}{name}.")
            continue
        args = typing.get_args(info.annotation)
        if isinstance(value, dict) and len(args) == 2 and isinstance(args[1], type):
            if issubclass(args[1], BaseModel):
                for key, entry in value.items():
                    paths += _schema_paths(entry, f"{prefix}{name}.{key}.")
                continue
        paths.append(f"{prefix}{name}")
    return paths


@pytest.fixture(scope="module")
def schema_paths():
    from model.engine.scenario import Scenario

    return _schema_paths(Scenario())


def test_parameters_md_is_what_the_command_generates(capsys):
    assert main(["params", "--markdown"]) == 0
    generated = capsys.readouterr().out
    checked_in = (DOCS / "parameters.md").read_text(encoding="utf-8")
    assert checked_in == generated, "docs/parameters.md is stale: run `make docs`"


def test_every_schema_parameter_is_in_parameters_md(schema_paths):
    text = (DOCS / "parameters.md").read_text(encoding="utf-8")
    missing = [p for p in schema_paths if f"| `{p}` |" not in text]
    assert not missing
    # nested tables and measure tables are there entry by entry
    assert "population.counties.ruyuan.poor_village_weight" in schema_paths
    assert "social_security.dibao_standard" in schema_paths


def test_rows_carry_the_schema_metadata(schema_paths):
    from model.engine.scenario import Scenario, sweepable_parameters

    rows, sections = parameter_table()
    assert [r.path for r in rows] == schema_paths
    by_path = {r.path: r for r in rows}
    r = by_path["dynamics.job_finding_rate"]
    assert (r.value, r.range, r.kind, r.source) == (
        0.01,
        (0.003, 0.03),
        "uncertainty",
        "assumption",
    )
    assert r.unit == "probability per job-seeking worker per month"
    f = by_path["funding.special_fund_per_person"]
    assert (f.value, f.kind) == (20_000.0, "lever") and "§III.3" in f.source
    assert by_path["population.counties.lechang.poor_village_weight"].value == 0.17
    assert by_path["assessment.relapse_share"].doc.startswith("An exited labour-capable")
    # every parameter with a sweep range is a row with the same range
    for path, spec in sweepable_parameters(Scenario()).items():
        assert by_path[path].range == (spec["low"], spec["high"])
    assert {"scenario", "dynamics", "population.counties.wujiang"} <= {s.name for s in sections}


def test_text_output_and_prefix_filter(capsys):
    assert main(["params", "dynamics.job_finding_rate", "funding.source_shares"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [
        "dynamics.job_finding_rate = 0.01  [probability per job-seeking worker per month]  "
        "range 0.003 to 0.03, uncertainty; source: assumption",
        "funding.source_shares = { province = 0.6, paired_city = 0.3, home_city = 0.1 }  "
        "[shares summing to 1]  lever; source: Shaoguan plan 2016, §III.3 "
        "(province : paired city : home city = 6 : 3 : 1)",
    ]
    assert main(["params", "population.counties.ruyuan"]) == 0
    out = capsys.readouterr().out
    assert "population.counties.ruyuan.poor_village_weight = 0.0" in out
    assert len(out.strip().splitlines()) == 4


def test_unknown_prefix_is_bad_input(capsys):
    assert main(["params", "dynamics.no_such_rate"]) == 2
    err = capsys.readouterr().err
    assert "dynamics.no_such_rate" in err and "expected a dotted path" in err


def test_scenario_values_and_ranges(capsys, tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        f'extends = "{(SCENARIOS / "baseline.toml").as_posix()}"\n'
        "[dynamics]\njob_finding_rate = 0.02\n"
        '[ranges]\n"dynamics.job_finding_rate" = [0.01, 0.04]\n'
    )
    assert main(["params", "dynamics.job_finding_rate", "--scenario", str(scenario)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dynamics.job_finding_rate = 0.02 ")
    assert "range 0.01 to 0.04" in out
    assert main(["params", "dynamics", "--markdown", "--scenario", str(scenario)]) == 0
    md = capsys.readouterr().out
    assert "| parameter | value |" in md and "Values of scenario `s`" in md


def test_fill_tables_regenerates_only_marked_blocks():
    rows, _ = parameter_table()
    text = (
        "intro\n<!-- params: dynamics.illness_rate finance.loan_size -->\nstale\n"
        "<!-- /params -->\noutro\n"
    )
    filled = fill_tables(text, rows)
    assert filled.startswith("intro\n<!-- params: dynamics.illness_rate finance.loan_size -->\n")
    assert filled.endswith("<!-- /params -->\noutro\n")
    assert "stale" not in filled
    assert "| `dynamics.illness_rate` | `0.0015` |" in filled
    assert "| `finance.loan_size` | `50000.0` |" in filled
    assert fill_tables(filled, rows) == filled
    with pytest.raises(BadInput, match="finance.no_such"):
        fill_tables("<!-- params: finance.no_such -->\n<!-- /params -->", rows)


def test_fill_command_rewrites_in_place(tmp_path, capsys):
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- params: health.clinic_cost -->\n<!-- /params -->\n")
    assert main(["params", "--fill", str(doc)]) == 0
    assert "| `health.clinic_cost` | `200000.0` |" in doc.read_text()
    assert "1 parameter table regenerated" in capsys.readouterr().out
    assert main(["params", "--fill", str(tmp_path / "missing.md")]) == 2
