"""Fuzzing scenario loading: a mutated scenario either loads as a valid scenario or fails with a
:class:`ScenarioError` naming a file of its ``extends`` chain (or ``--set``), never anything else.

Mutations start from the baseline scenario: structured ones (wrong types, out-of-range and huge
numbers, NaN and infinity, missing and extra keys, a table replaced by a value, a broken
``extends``), line edits of the hand-written file (deleted, duplicated, replaced lines) and byte
edits (truncation, non-UTF-8 bytes, random bytes). The runs are deterministic
(``derandomize=True``) and have no deadline; ``FUZZ_EXAMPLES`` raises the count for a longer
local search. The scenarios are only loaded, never run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import re
import shutil
import tempfile
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from model.commands.cli import COMMANDS
from model.commands.dashboard import OFFLINE_SETTINGS
from model.engine.scenario import Scenario, ScenarioError, load_scenario
from tests.conftest import BASELINE

FUZZ_EXAMPLES = max(500, int(os.environ.get("FUZZ_EXAMPLES", "600")))
OVERRIDE_EXAMPLES = 300

BASE_TEXT = BASELINE.read_text(encoding="utf-8")
BASE = tomllib.loads(BASE_TEXT)

#: ``FUZZ_RANDOM=1`` draws new examples each run (for a local search); CI is deterministic.
DERANDOMIZE = os.environ.get("FUZZ_RANDOM") != "1"

FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=DERANDOMIZE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------------------------
# a small TOML writer (inline tables only), enough to serialise any mutated scenario

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    return key if BARE_KEY.match(key) else toml_string(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def toml_document(data: dict[str, Any]) -> str:
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in data.items())


def test_writer_round_trips_the_baseline():
    assert tomllib.loads(toml_document(BASE)) == BASE


# ---------------------------------------------------------------------------------------------
# strategies

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SPECIAL_NUMBERS = st.sampled_from(
    [0, -1, 1, 2**63 - 1, -(2**63), 0.0, -0.0, 1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf]
)
SCALARS = st.one_of(
    SPECIAL_NUMBERS,
    INT64,
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=20),
    st.datetimes(),
    st.dates(),
    st.times(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=8,
)


def _schema_paths() -> list[str]:
    from pydantic import BaseModel

    out = []

    def walk(model, prefix):
        for name, info in model.model_fields.items():
            ann = info.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, f"{prefix}{name}.")
            else:
                out.append(f"{prefix}{name}")

    walk(Scenario, "")
    return out


SCHEMA_PATHS = _schema_paths()


def leaf_paths(data: dict[str, Any], prefix: tuple = ()) -> list[tuple]:
    paths = []
    for key, value in data.items():
        paths.append((*prefix, key))
        if isinstance(value, dict):
            paths.extend(leaf_paths(value, (*prefix, key)))
    return paths


PATHS = leaf_paths(BASE)


def _get(data: dict, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


TABLES = [()] + [p for p in PATHS if isinstance(_get(BASE, p), dict)]


@st.composite
def structured_mutation(draw) -> tuple[str, dict[str, Any]]:
    """A mutated copy of the baseline mapping and a label of what was done."""
    data = _deep_copy(BASE)
    kinds = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(["replace", "numeric", "delete", "add", "extends", "name", "ranges"])
        )
        kinds.append(kind)
        if kind in ("replace", "numeric", "delete"):
            path = draw(st.sampled_from(leaf_paths(data) or [("name",)]))
            try:
                parent = _get(data, path[:-1])
            except (KeyError, TypeError):
                continue
            if not isinstance(parent, dict):
                continue
            if kind == "delete":
                parent.pop(path[-1], None)
            elif kind == "replace":
                parent[path[-1]] = draw(VALUES)
            else:
                old = parent.get(path[-1])
                if isinstance(old, int | float) and not isinstance(old, bool):
                    factor = draw(st.sampled_from([-1, 0, 1e-9, 1e6, 1e30, 1e300]))
                    parent[path[-1]] = old * factor
                else:
                    parent[path[-1]] = draw(SPECIAL_NUMBERS)
        elif kind == "add":
            table_path = draw(st.sampled_from([p for p in TABLES if _is_dict(data, p)]))
            table = _get(data, table_path)
            table[draw(st.text(min_size=1, max_size=12))] = draw(VALUES)
        elif kind == "extends":
            data["extends"] = draw(
                st.one_of(
                    st.sampled_from(["", ".", "..", "/", "nowhere.toml", "a" * 5000, "x\x00y"]),
                    st.text(max_size=30),
                    VALUES,
                )
            )
        elif kind == "ranges":
            key = draw(
                st.one_of(
                    st.sampled_from(SCHEMA_PATHS),
                    st.sampled_from(SCHEMA_PATHS).map(lambda p: p + ".2016"),
                    st.text(max_size=20),
                )
            )
            bounds = draw(st.one_of(st.tuples(SPECIAL_NUMBERS, SPECIAL_NUMBERS).map(list), VALUES))
            ranges = data.get("ranges")
            if not isinstance(ranges, dict):
                ranges = data["ranges"] = {}
            ranges[key] = bounds
        else:
            data["name"] = draw(
                st.one_of(
                    st.sampled_from(["../../x", "a/b", "", ".", "..", "x" * 200, "名字"]),
                    st.text(max_size=30),
                )
            )
    return "+".join(kinds), data


def _is_dict(data: dict, path: tuple) -> bool:
    try:
        return isinstance(_get(data, path), dict)
    except (KeyError, TypeError):
        return False


@st.composite
def line_mutation(draw) -> tuple[str, str]:
    """The hand-written baseline file with lines deleted, duplicated or rewritten."""
    lines = BASE_TEXT.splitlines(keepends=True)
    kinds = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["delete", "duplicate", "value", "insert"]))
        kinds.append(kind)
        i = draw(st.integers(0, len(lines) - 1))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "value":
            key, sep, _ = lines[i].partition("=")
            if sep:
                lines[i] = f"{key}= {draw(st.text(max_size=20))}\n"
        else:
            lines.insert(i, draw(st.text(max_size=40)) + "\n")
        if not lines:
            break
    return "+".join(kinds), "".join(lines)


@st.composite
def byte_mutation(draw, text: str) -> tuple[str, bytes]:
    raw = text.encode("utf-8")
    kind = draw(st.sampled_from(["truncate", "non_utf8", "random_bytes", "flip"]))
    i = draw(st.integers(0, len(raw)))
    if kind == "truncate":
        raw = raw[:i]
    elif kind == "non_utf8":
        raw = (
            raw[:i]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\xe9", b"\x80\x80", b"\xed\xa0\x80"]))
            + raw[i:]
        )
    elif kind == "random_bytes":
        raw = raw[:i] + draw(st.binary(min_size=1, max_size=16)) + raw[i:]
    elif raw:
        j = min(i, len(raw) - 1)
        raw = raw[:j] + bytes([raw[j] ^ (1 << draw(st.integers(0, 7)))]) + raw[j + 1 :]
    return kind, raw


@st.composite
def mutated_scenario(draw) -> tuple[str, bytes]:
    source = draw(st.sampled_from(["structured", "lines", "bytes", "structured+bytes"]))
    if source.startswith("structured"):
        label, data = draw(structured_mutation())
        text = toml_document(data)
    elif source == "lines":
        label, text = draw(line_mutation())
    else:
        label, text = "original", BASE_TEXT
    raw = text.encode("utf-8")
    if source.endswith("bytes"):
        kind, raw = draw(byte_mutation(text))
        label = f"{label}/{kind}"
    return f"{source}:{label}", raw


# ---------------------------------------------------------------------------------------------
# the property


def assert_valid(scenario) -> None:
    """A loaded scenario is a complete, re-validatable scenario with finite numbers."""
    assert isinstance(scenario, Scenario)
    dumped = scenario.model_dump(mode="python")
    assert Scenario.model_validate(dumped) == scenario

    def finite(value):
        if isinstance(value, float):
            assert math.isfinite(value), value
        elif isinstance(value, dict):
            for v in value.values():
                finite(v)
        elif isinstance(value, list | tuple):
            for v in value:
                finite(v)

    finite(dumped)


def load_or_clean_error(path: Path, files: list[Path], overrides=None) -> str:
    """``"ok"`` or ``"error"``; any other exception fails the test."""
    try:
        scenario = load_scenario(path, overrides)
    except ScenarioError as err:
        message = str(err)
        assert message.strip(), "empty message"
        named = [str(f) for f in files] + (["--set"] if overrides else [])
        assert any(n in message for n in named), (named, message)
        assert "Traceback" not in message
        return "error"
    assert_valid(scenario)
    return "ok"


OUTCOMES: Counter = Counter()


#: Inputs that once escaped as other exceptions (they always run, before the random ones).
REGRESSIONS = [
    ("extends name too long (OSError)", b'extends = "' + b"a" * 5000 + b'"\n'),
    ("arrays nested 1,000 deep (RecursionError)", b"x = " + b"[" * 1000 + b"]" * 1000 + b"\n"),
    ("tables nested 400 deep (RecursionError)", b"x = " + b"{a=" * 400 + b"1" + b"}" * 400),
    ("range of an unknown parameter (KeyError)", b'[ranges]\n"nowhere" = [0, 1]\n'),
    ("range of a year-table entry (KeyError)", b'[ranges]\n"name.2016" = [0, 1]\n'),
]


def with_regressions(test):
    for label, raw in REGRESSIONS:
        test = example(case=(f"regression:{label}", raw), layout="alone")(test)
    return test


@FUZZ_SETTINGS
@with_regressions
@given(case=mutated_scenario(), layout=st.sampled_from(["alone", "child", "parent"]))
def fuzz_one_scenario(tmp_root: Path, case: tuple[str, bytes], layout: str) -> None:
    label, raw = case
    folder = Path(tempfile.mkdtemp(dir=tmp_root))
    mutated = folder / "mutated.toml"
    mutated.write_bytes(raw)
    (folder / "baseline.toml").write_text(BASE_TEXT, encoding="utf-8")
    if layout == "alone":
        top, files = mutated, [mutated]
    elif layout == "child":  # the mutated file extends the (valid) baseline
        if not raw.lstrip().startswith(b"extends"):
            mutated.write_bytes(b'extends = "baseline.toml"\n' + raw)
        top, files = mutated, [mutated, folder / "baseline.toml"]
    else:  # a valid child extends the mutated file
        top = folder / "child.toml"
        top.write_text('extends = "mutated.toml"\n[dynamics]\njob_finding_rate = 0.02\n')
        files = [top, mutated]
    outcome = load_or_clean_error(top, files)
    OUTCOMES[outcome] += 1
    OUTCOMES[f"{outcome}:{label.split(':')[0]}"] += 1


def test_fuzz_scenario_files(tmp_path_factory):
    OUTCOMES.clear()
    fuzz_one_scenario(tmp_path_factory.mktemp("fuzz"))
    total = OUTCOMES["ok"] + OUTCOMES["error"]
    print(f"\nfuzzed scenario files: {total} examples, {dict(OUTCOMES)}")
    assert total >= 500
    # the mutations reach both sides: scenarios that load and scenarios that are refused
    assert OUTCOMES["ok"] >= 0.05 * total and OUTCOMES["error"] >= 0.3 * total


# ---------------------------------------------------------------------------------------------
# --set overrides


def _baseline_value(path: str) -> Any:
    node: Any = BASE
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


#: Dotted paths with a value in the baseline file (an override with that value is valid).
BASELINE_PATHS = [p for p in SCHEMA_PATHS if _baseline_value(p) is not None]

OVERRIDE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(BASELINE_PATHS).map(lambda p: f"{p}={toml_value(_baseline_value(p))}"),
    st.builds(
        lambda key, suffix, value: f"{key}{suffix}={value}",
        st.sampled_from(SCHEMA_PATHS),
        st.sampled_from(["", "", "", ".2016", ".x", ".0", "..", ".province"]),
        st.one_of(st.text(max_size=20), VALUES.map(toml_value)),
    ),
)


@settings(
    max_examples=OVERRIDE_EXAMPLES,
    derandomize=DERANDOMIZE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(overrides=st.lists(OVERRIDE_TEXT, min_size=1, max_size=3))
def fuzz_overrides(overrides: list[str]) -> None:
    OUTCOMES[load_or_clean_error(BASELINE, [BASELINE], overrides)] += 1


def test_fuzz_overrides():
    OUTCOMES.clear()
    fuzz_overrides()
    total = OUTCOMES["ok"] + OUTCOMES["error"]
    print(f"\nfuzzed --set overrides: {total} examples, {dict(OUTCOMES)}")
    assert total >= OVERRIDE_EXAMPLES
    assert OUTCOMES["ok"] > 0 and OUTCOMES["error"] > 0


# ---------------------------------------------------------------------------------------------
# command lines: every command's real options, mutated, run in this process

#: A second scenario for select-model: the baseline with the living register on.
WITH_REGISTER = (
    'extends = "baseline.toml"\nname = "with_register"\n[living_register]\nenabled = true\n'
)

#: Command-line cases per command (every command of the CLI, seeded: the same cases each run).
COMMAND_CASES = 20
#: Fewer cases for commands whose accepted command lines take several seconds each.
SLOW_COMMAND_CASES = {"calibrate": 10, "select-model": 10}

#: Values that no option should accept silently: empty, signs, NaN, infinities, huge, text...
BAD_VALUES = [
    "", " ", "-", "--", "-1", "0", "-0", "nan", "NaN", "inf", "-inf", "1e400", "-1e400",
    "1.5", "0x10", "1_0", "9" * 5000, "abc", "名字", "\x00", "=", ",", "tcp://", "tcp://:1",
    "tcp://127.0.0.1:99999", "127.0.0.1:8786", "http://127.0.0.1:1", "nowhere.toml",
    "nowhere/x", "dynamics.nothing", "nowhere*", "[", "x=", "=1", "industry=2",
    "industry=nan", "industry=-1,employment=2", "dynamics.job_finding_rate=nan",
    "dynamics.job_finding_rate=", "dynamics.job_finding_rate=-1", "-3", "2",
]  # fmt: skip

#: Valid values that keep a command cheap (a valid case runs for real, in this process).
GOOD_VALUES = {
    "--seed": ["0", "7", str(2**64)],
    "--population-scale": ["0.01", ".01", "1e-2"],
    "--replicates": ["1", "2"],
    "--samples": ["2"],
    "--maxiter": ["1"],
    "--workers": ["1"],
    "--set": ["dynamics.job_finding_rate=0.02", "dynamics.job_finding_rate=.03"],
    "--outcome": ["total_spend", "prob_all_targets"],
    "--param": ["dynamics.job_finding_rate"],
    "--allocation": ["industry=0.2,employment=0.5,finance=0.1,education=0.1,health=0.1"],
    "--out": ["out", "deep/er/out", "baseline.toml", "res"],
    "--port": ["8765", "1"],
    "--host": ["127.0.0.1", "localhost", "0.0.0.0"],
    "--observed": ["observed.csv", "baseline.toml"],
    "--scenario": ["baseline.toml"],
    "--fill": ["notes.md"],
}


def command_bases(results: str) -> dict[str, list[str]]:
    """A valid, cheap command line per command (``results``: a results folder of a run)."""
    small = ["--population-scale", "0.01"]
    return {
        "run": ["run", "baseline.toml", *small, "--quiet", "--out", "out"],
        "check": ["check", "baseline.toml"],
        "compare": ["compare", "baseline.toml", "baseline.toml", "--replicates", "1",
                    "--workers", "1", "--quiet", *small, "--out", "out"],
        "sweep": ["sweep", "baseline.toml", "--method", "morris", "--samples", "2", "--param",
                  "dynamics.job_finding_rate", "--workers", "1", "--quiet", *small, "--out",
                  "out"],
        "report": ["report", results],
        "validate": ["validate", "--observed", "observed.csv", results],
        "budget": ["budget", "baseline.toml", "--replicates", "1", "--workers", "1", *small,
                   "--out", "out"],
        "optimize": ["optimize", "baseline.toml", "--replicates", "1", "--maxiter", "1",
                     "--workers", "1", *small],
        "params": ["params", "dynamics"],
        "outputs": ["outputs", "annual"],
        # a short horizon, one replicate and few runs keep every accepted case to a few seconds
        # a single run's folder: discover refuses it (no prior draws), after parsing the options
        "discover": ["discover", results, "--target-met", "2017", "--min-mass", "0.05"],
        "calibrate": ["calibrate", "baseline.toml", "--observed", "observed.csv", "--param",
                      "dynamics.job_finding_rate", "--particles", "2", "--generations", "1",
                      "--set", "calendar.end_year=2018", "--workers", "1", *small, "--out",
                      "out"],
        "select-model": ["select-model", "baseline.toml", "with_register.toml", "--observed",
                         "observed.csv", "--param", "dynamics.job_finding_rate", "--particles",
                         "2", "--generations", "1", "--set", "calendar.end_year=2018",
                         "--workers", "1", *small, "--out", "out"],
        "attribute": ["attribute", "baseline.toml", "--replicates", "1", "--no-shapley",
                      "--max-runs", "60", "--set", "calendar.end_year=2018", "--workers", "1",
                      "--population-scale", "0.003", "--out", "out"],
        "dashboard": ["dashboard", "--port", "8765"],
    }  # fmt: skip


def command_options(command: str) -> dict[str, argparse.Action]:
    """The real options of a sub-command, from the parser itself: option string -> action."""
    from model.commands.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {
        option: action
        for action in sub.choices[command]._actions
        for option in action.option_strings
        if option not in ("-h", "--help")
    }


def mutate_command_line(rng: random.Random, base: list[str], options) -> tuple[str, list[str]]:
    """``base`` with 1 to 3 mutations: values out of range or of the wrong kind, options
    repeated, given without their value or with one too many, unknown options, tokens deleted.
    """
    argv = list(base)
    kinds = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["value", "value", "value", "good", "repeat", "no_value", "flag_value",
                           "unknown", "delete", "equals", "positional"])  # fmt: skip
        kinds.append(kind)
        if kind == "positional" or not options:
            # a positional argument (scenario file, results folder, parameter path) replaced
            places = [i for i, token in enumerate(argv[1:], 1) if not token.startswith("-")]
            if places:
                argv[rng.choice(places)] = rng.choice(BAD_VALUES + ["baseline.toml", "res"])
            continue
        name = rng.choice(sorted(options))
        action = options[name]
        takes_value = action.nargs != 0
        if kind in ("value", "good", "equals"):
            if not takes_value:
                argv.append(name)
                continue
            good = GOOD_VALUES.get(name, []) + list(action.choices or [])
            pool = good if kind == "good" and good else BAD_VALUES
            value = rng.choice(pool)
            argv += [f"{name}={value}"] if kind == "equals" else [name, value]
        elif kind == "repeat":
            argv += [token for token in argv[1:3] if token.startswith("-")] or [name]
            if argv[-1] in options and options[argv[-1]].nargs != 0:
                argv.append(rng.choice(GOOD_VALUES.get(argv[-1], BAD_VALUES)))
        elif kind == "no_value":
            argv.insert(rng.randint(1, len(argv)), name) if not takes_value else argv.append(name)
        elif kind == "flag_value":
            argv += [f"{name}={rng.choice(BAD_VALUES)}"]
        elif kind == "unknown":
            argv.insert(rng.randint(1, len(argv)), rng.choice(["--nope", "-x", "--", "---"]))
        elif len(argv) > 1:
            del argv[rng.randint(1, len(argv) - 1)]
    return "+".join(kinds), argv


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder``: relative path -> (size, mtime in ns)."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size if p.is_file() else -1, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture(scope="module")
def fuzz_results(tmp_path_factory):
    """A small results folder (``report`` and ``validate`` read it)."""
    from model.results.recording import run

    folder = tmp_path_factory.mktemp("fuzz-results") / "res"
    run(load_scenario(BASELINE), seed=1, population_scale=0.01).write(folder)
    return folder


@pytest.mark.parametrize("command", COMMANDS)
def test_fuzz_command_lines(command, fuzz_results, tmp_path, monkeypatch, capsys):
    """Mutated command lines exit 0 or 2, never with a traceback, writing nothing on failure."""
    from model.commands.cli import main

    served = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: served.append(k))
    for key in ("SOLARA_APP", *OFFLINE_SETTINGS):
        monkeypatch.delenv(key, raising=False)  # restored after the test
    monkeypatch.chdir(tmp_path)
    (tmp_path / "baseline.toml").write_text(BASE_TEXT, encoding="utf-8")
    (tmp_path / "with_register.toml").write_text(WITH_REGISTER, encoding="utf-8")
    (tmp_path / "observed.csv").write_text(
        "year,metric,value,source\n2016,cumulative_exited_people,30000,report A\n"
    )
    (tmp_path / "notes.md").write_text("notes\n")
    shutil.copytree(fuzz_results, tmp_path / "res")
    base = command_bases(str(tmp_path / "res"))[command]
    options = command_options(command)
    outcomes: Counter = Counter()
    cases = SLOW_COMMAND_CASES.get(command, COMMAND_CASES)
    for i in range(cases):
        rng = random.Random(f"{command}-{i}")
        label, argv = mutate_command_line(rng, base, options)
        before = tree(tmp_path)
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse: usage errors (2) and --help (0)
            code = exit_.code
        out, err = capsys.readouterr()
        case = f"case {i} ({label}): shaoguan-abm {' '.join(map(repr, argv))}\n{err[-2000:]}"
        assert code in (0, 2), case
        assert "Traceback" not in err and "Traceback" not in out, case
        if code != 0:
            last = err.strip().splitlines()[-1]
            prefixes = ("error: ", "shaoguan-abm: error: ", f"shaoguan-abm {command}: error: ")
            assert last.startswith(prefixes), case
            assert tree(tmp_path) == before, f"written on failure: {case}"
        outcomes[code] += 1
    print(f"\nfuzzed {command} command lines: {dict(outcomes)}")
    assert outcomes[2] >= cases // 4  # the mutations reach the checks
