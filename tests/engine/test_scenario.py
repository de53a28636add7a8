import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from model.engine.scenario import (
    ScenarioError,
    load_scenario,
    parse_override,
    sweepable_parameters,
    validate_scenario,
)
from tests.conftest import BASELINE, ROOT


def test_baseline_is_the_plan(baseline):
    assert baseline.name == "baseline"
    assert baseline.targets.cumulative_people == {2016: 30_000, 2017: 65_500, 2018: 95_500}
    assert baseline.population.registered_people == 95_500
    assert baseline.funding.source_shares == {"province": 0.6, "paired_city": 0.3, "home_city": 0.1}


def test_every_parameter_has_unit_and_source():
    from model.engine.scenario import Scenario

    def walk(model_cls, prefix=""):
        for name, info in model_cls.model_fields.items():
            ann = info.annotation
            if isinstance(ann, type) and hasattr(ann, "model_fields"):
                yield from walk(ann, f"{prefix}{name}.")
            else:
                yield f"{prefix}{name}", info

    seen = 0
    for path, info in walk(Scenario):
        extra = info.json_schema_extra or {}
        assert extra.get("unit"), f"{path} has no unit"
        assert extra.get("source"), f"{path} has no source"
        assert "Unit:" in info.description and "Source:" in info.description
        if "range" in extra:
            low, high = extra["range"]
            assert low <= high
        seen += 1
    assert seen > 60


def test_sweepable_parameters_have_defaults_inside_ranges(baseline):
    params = sweepable_parameters(baseline)
    assert "dynamics.job_finding_rate" in params
    for path, p in params.items():
        if isinstance(p["default"], int | float):
            assert p["low"] <= p["default"] <= p["high"], path


def test_extends_and_overrides(tmp_path):
    child = tmp_path / "child.toml"
    child.write_text(
        f'extends = "{BASELINE.as_posix()}"\n'
        "[dynamics]\njob_finding_rate = 0.02\n"
        '[ranges]\n"dynamics.job_finding_rate" = [0.01, 0.03]\n'
    )
    s = load_scenario(
        child, ["social_security.enrolment_rate=0.5", "social_security.dibao_standard.2017=5000"]
    )
    assert s.name == "child"  # the parent's name is not inherited
    assert s.dynamics.job_finding_rate == 0.02
    assert s.social_security.enrolment_rate == 0.5
    assert s.social_security.dibao_standard[2017] == 5000.0
    assert s.social_security.dibao_standard[2016] == 3960.0  # merged, not replaced
    assert s.population.registered_people == 95_500  # inherited
    assert sweepable_parameters(s)["dynamics.job_finding_rate"]["low"] == 0.01


def test_relative_extends(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "base.toml").write_text("[dynamics]\nwage_growth = 0.05\n")
    (tmp_path / "sub" / "v.toml").write_text('extends = "../base.toml"\n')
    assert load_scenario(tmp_path / "sub" / "v.toml").dynamics.wage_growth == 0.05


def test_parse_override_types():
    assert parse_override("a.b=5000") == ("a.b", 5000)
    assert parse_override("a.b=0.5") == ("a.b", 0.5)
    assert parse_override("a.b=false") == ("a.b", False)
    assert parse_override("a.b=text") == ("a.b", "text")


def test_validate_mapping():
    s = validate_scenario({"name": "nb", "dynamics": {"wage_growth": 0.1}})
    assert s.dynamics.wage_growth == 0.1
    with pytest.raises(ScenarioError, match="dynamics.wage_growth"):
        validate_scenario({"dynamics": {"wage_growth": "fast"}})


# ---------------------------------------------------------------------------------------------
# bad input: each case gives exit code 2, a message naming file, key, expected and found, no
# traceback, and no results folder

BAD_FILES = {
    "unknown_key": (
        "[dynamics]\njob_findng_rate = 0.1\n",
        ["dynamics.job_findng_rate", "unknown key"],
    ),
    "unknown_table": ("[employmnt]\nx = 1\n", ["employmnt", "unknown key"]),
    "wrong_type": (
        '[dynamics]\njob_finding_rate = "often"\n',
        ["dynamics.job_finding_rate", "expected", "'often'"],
    ),
    "negative_money": (
        "[dynamics]\nillness_cost = -5.0\n",
        ["dynamics.illness_cost", "greater than or equal to 0", "-5.0"],
    ),
    "negative_count": (
        "[population]\nregistered_households = -1\n",
        ["population.registered_households", "greater than or equal to 1", "-1"],
    ),
    "shares_not_one": (
        "[funding]\nsource_shares = { province = 0.6, paired_city = 0.3, home_city = 0.2 }\n",
        ["funding.source_shares", "summing to 1", "1.1"],
    ),
    "year_outside_horizon": (
        "[social_security]\ndibao_standard = { 2016 = 4000.0, 2040 = 9000.0 }\n",
        ["social_security.dibao_standard", "2016-2035", "2040"],
    ),
    "target_outside_horizon": (
        "[calendar]\nend_year = 2018\n[targets]\ncumulative_people = { 2016 = 1, 2019 = 2 }\n",
        ["targets.cumulative_people", "2019"],
    ),
    "nan": ("[dynamics]\nwage_growth = nan\n", ["dynamics.wage_growth", "finite", "nan"]),
    "inf": ("[dynamics]\nwage_growth = inf\n", ["dynamics.wage_growth", "inf"]),
    "malformed_toml": ("[dynamics\nwage_growth = 0.1\n", ["malformed TOML", "line 1"]),
    "missing_extends": ('extends = "nowhere.toml"\n', ["extends", "nowhere.toml"]),
    "bad_name": ('name = "../../escape"\n', ["name", "../../escape"]),
    "unknown_measure_off": (
        '[measures]\noff = ["housng"]\n',
        ["measures.off", "expected measure names among ['assistance', ", "found ['housng']"],
    ),
    "unknown_measure_only": (
        '[measures]\nonly = ["social_security", "dibao"]\n',
        ["measures.only", "'social_security']", "found ['dibao']"],
    ),
    "measures_off_and_only": (
        '[measures]\noff = ["housing"]\nonly = ["social_security"]\n',
        ["measures: expected either off or only, found both"],
    ),
    "measures_not_a_list": ('[measures]\noff = "housing"\n', ["measures.off", "'housing'"]),
    "allocation_use_left_out": (
        "[funding]\nallocation = { industry = 0.5, employment = 0.5 }\n",
        ["funding.allocation", "found none for ['finance', 'education', 'health']"],
    ),
}


def _cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "model", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def _in_process(capsys, *args):
    """The command line run in this process (the subprocess tests below check real exits)."""
    from types import SimpleNamespace

    from model.commands.cli import main

    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse refusing an argument
        code = exit_.code
    captured = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)


def _assert_clean_failure(proc, tmp_path, *fragments):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_scenario_file(case, tmp_path, capsys):
    text, fragments = BAD_FILES[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert str(path) in str(err.value)
    for fragment in fragments:
        assert fragment in str(err.value), (fragment, str(err.value))
    proc = _in_process(
        capsys, "run", str(path), "--population-scale", "0.01", "--out", str(tmp_path / "out")
    )
    _assert_clean_failure(proc, tmp_path, str(path), *fragments)
    assert _in_process(capsys, "check", str(path)).returncode == 2


def test_non_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('description = "Shaoguan plan caf\xe9"\n'.encode("latin-1"))
    proc = _cli("run", str(path), "--out", str(tmp_path / "out"), cwd=tmp_path)
    _assert_clean_failure(proc, tmp_path, str(path), "UTF-8", "offset")


def test_extends_cycle(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    proc = _cli("check", str(tmp_path / "a.toml"), cwd=tmp_path)
    _assert_clean_failure(proc, tmp_path, "extends", "cycle", "a.toml -> ")


def test_missing_and_directory_path(tmp_path):
    proc = _cli("run", str(tmp_path / "absent.toml"), cwd=tmp_path)
    _assert_clean_failure(proc, tmp_path, "absent.toml", "not found")
    proc = _cli("run", str(tmp_path), cwd=tmp_path)
    _assert_clean_failure(proc, tmp_path, str(tmp_path), "expected a scenario file")


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        (
            "dynamics.no_such_rate=1",
            ["--set dynamics.no_such_rate", "no such key", "job_finding_rate"],
        ),
        ("nosection.x=1", ["--set nosection.x", "no such key 'nosection'"]),
        (
            "dynamics.job_finding_rate=-0.5",
            ["--set dynamics.job_finding_rate", "greater than or equal to 0", "-0.5"],
        ),
        ("dynamics.job_finding_rate", ["expected KEY=VALUE"]),
    ],
)
def test_bad_override(override, fragments, tmp_path, capsys):
    proc = _in_process(
        capsys, "run", str(BASELINE), "--set", override, "--out", str(tmp_path / "out")
    )
    _assert_clean_failure(proc, tmp_path, *fragments)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--population-scale", "0"], "expected a number in (0, 1], found 0"),
        (["--population-scale", "1.5"], "expected a number in (0, 1], found 1.5"),
        (["--population-scale", "abc"], "found 'abc'"),
        (["--seed", "-3"], "expected a non-negative integer, found -3"),
    ],
)
def test_bad_command_line_numbers(args, fragment, tmp_path, capsys):
    proc = _in_process(capsys, "run", str(BASELINE), *args, "--out", str(tmp_path / "out"))
    _assert_clean_failure(proc, tmp_path, fragment)


def test_check_ok():
    proc = _cli("check", str(BASELINE), cwd=ROOT)
    assert proc.returncode == 0
    assert "OK" in proc.stdout and "baseline" in proc.stdout


def test_nan_is_rejected_even_via_override():
    with pytest.raises(ScenarioError, match="finite"):
        load_scenario(BASELINE, {"dynamics.wage_growth": math.nan})
    assert Path(BASELINE).is_file()


def test_a_shorter_horizon_runs_the_same_first_years(baseline):
    """Year tables reaching past the horizon are fine; the run is the long run cut short."""
    from model.engine.scenario import apply_overrides
    from model.results.recording import run

    short = apply_overrides(baseline, {"calendar.end_year": 2018})
    assert max(short.social_security.dibao_standard) > 2018  # the table still reaches 2020
    cut = run(short, seed=5, population_scale=0.02)
    full = run(baseline, seed=5, population_scale=0.02)
    assert cut.annual["year"].tolist() == [2016, 2017, 2018]
    pd.testing.assert_frame_equal(cut.annual, full.annual.iloc[:3])
    pd.testing.assert_frame_equal(cut.monthly, full.monthly.iloc[:36])


# ---------------------------------------------------------------------------------------------
# [measures]: which measures run


def _on(scenario):
    from model.engine.interventions import running

    return [m.name for m in running(scenario)]


def test_measures_off_and_only_by_name(baseline):
    from model.engine.interventions import MEASURE_NAMES
    from model.engine.scenario import apply_overrides

    assert _on(baseline) == list(MEASURE_NAMES)
    off = apply_overrides(baseline, {"measures.off": ["housing", "finance"]})
    assert _on(off) == [n for n in MEASURE_NAMES if n not in ("housing", "finance")]
    only = apply_overrides(baseline, {"measures.only": ["health", "assistance"]})
    assert _on(only) == ["assistance", "health"]  # monthly order, not the list's
    assert _on(apply_overrides(baseline, {"measures.only": []})) == []


def test_measures_table_and_enabled_both_switch_off_neither_switches_on(tmp_path):
    parent = tmp_path / "parent.toml"
    parent.write_text(
        '[measures]\nonly = ["social_security", "housing"]\n[housing]\nenabled = false\n'
    )
    child = tmp_path / "child.toml"
    child.write_text('extends = "parent.toml"\n[health]\nenabled = true\n')
    # housing: kept by [measures] but disabled in its table; health: enabled, not kept
    assert _on(load_scenario(child)) == ["social_security"]
    # a child inherits [measures] and may replace its list
    child.write_text('extends = "parent.toml"\n[measures]\nonly = ["health", "housing"]\n')
    assert _on(load_scenario(child)) == ["health"]
    # off given by a child of a file giving only is both: refused
    child.write_text('extends = "parent.toml"\n[measures]\noff = ["health"]\n')
    with pytest.raises(ScenarioError, match="expected either off or only, found both"):
        load_scenario(child)


def test_measures_off_on_the_command_line(tmp_path):
    s = load_scenario(BASELINE, ['measures.off=["industry"]'])
    assert "industry" not in _on(s) and len(_on(s)) == 8
    with pytest.raises(ScenarioError, match=r"measures.off: expected measure names among"):
        load_scenario(BASELINE, ['measures.off=["industy"]'])
