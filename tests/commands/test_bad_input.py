"""Bad input everywhere input enters, as one table of cases.

Every case must give exit code 2 (or the code it names), one message on standard error holding
every expected fragment (file, key or argument, expected, found), no traceback, and leave the
folder it runs in exactly as it was: nothing written, nothing removed.

To cover a new command or argument, add rows: ``Case(id, argv, fragments, files=...)``. In
``argv`` and ``files``, ``{tmp}`` is the case's folder (also the working directory) and
``{baseline}`` the baseline scenario. ``SCENARIO_CASES`` and ``OVERRIDE_CASES`` run once per
command in ``SCENARIO_COMMANDS``; the scenario file of a case is ``{tmp}/s.toml`` unless the
case names another.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from model.commands.cli import main
from model.results.outputs import ResultsError, read_results
from tests.conftest import BASELINE, SCENARIOS

BASE_TEXT = BASELINE.read_text(encoding="utf-8")
FEEDBACK = SCENARIOS / "feedback.toml"


@dataclass(frozen=True)
class Case:
    """One bad input and what the user must see."""

    id: str
    argv: tuple[str, ...]
    fragments: tuple[str, ...]
    files: dict[str, str | bytes] = field(default_factory=dict)
    dirs: tuple[str, ...] = ()
    code: int = 2


#: Commands that read a scenario, with the extra arguments a case adds to each.
SCENARIO_COMMANDS = {
    "run": ("--population-scale", "0.01", "--out", "{tmp}/out"),
    "check": (),
    "budget": ("--replicates", "1", "--population-scale", "0.01", "--out", "{tmp}/out"),
    "optimize": ("--replicates", "1", "--population-scale", "0.01", "--maxiter", "2"),
    "attribute": ("--replicates", "1", "--population-scale", "0.01", "--out", "{tmp}/out"),
}


#: Commands with ``--out`` (before the option), each at population scale 0.01.
MANY_OUT_COMMANDS = {
    "run": ("run", "{baseline}", "--population-scale", "0.01"),
    "ensemble": ("run", "{baseline}", "--replicates", "2", "--population-scale", "0.01"),
    "compare": (
        "compare",
        "{baseline}",
        "{baseline}",
        "--replicates",
        "2",
        "--population-scale",
        "0.01",
    ),
    "sweep": (
        "sweep",
        "{baseline}",
        "--method",
        "morris",
        "--samples",
        "2",
        "--population-scale",
        "0.01",
    ),
    "budget": ("budget", "{baseline}", "--replicates", "1", "--population-scale", "0.01"),
    "attribute": ("attribute", "{baseline}", "--replicates", "1", "--population-scale", "0.01"),
}


def scenario_file(case_id: str, text: str | bytes, *fragments: str, **files) -> tuple:
    return case_id, {"s.toml": text, **files}, ("{tmp}/s.toml", *fragments)


# (id, files, fragments, [scenario path]) -- run with every command of SCENARIO_COMMANDS
SCENARIO_CASES = [
    ("missing_file", {}, ("{tmp}/absent.toml", "scenario file not found"), "{tmp}/absent.toml"),
    (
        "directory",
        {"adir/keep.txt": ""},
        ("{tmp}/adir", "expected a scenario file, found a directory"),
        "{tmp}/adir",
    ),
    scenario_file(
        "non_utf8",
        'description = "caf\xe9"\n'.encode("latin-1"),
        "expected UTF-8 text, found the byte 0xe9 at line 1, column 19",
    ),
    scenario_file("malformed", "[dynamics\nwage_growth = 0.1\n", "malformed TOML", "line 1"),
    scenario_file("truncated", BASE_TEXT[: BASE_TEXT.index("2017 = 65500") + 6], "malformed TOML"),
    scenario_file(
        "duplicate_key", "[dynamics]\nwage_growth = 0.1\nwage_growth = 0.2\n", "malformed TOML"
    ),
    scenario_file(
        "unknown_key", "[dynamics]\njob_findng_rate = 0.1\n", "dynamics.job_findng_rate: unknown"
    ),
    scenario_file("unknown_table", "[employmnt]\nx = 1\n", "employmnt: unknown key"),
    scenario_file(
        "wrong_type",
        '[dynamics]\njob_finding_rate = "often"\n',
        "dynamics.job_finding_rate: expected a valid number",
        "found 'often'",
    ),
    scenario_file(
        "boolean_for_number",
        "[dynamics]\njob_finding_rate = true\n",
        "dynamics.job_finding_rate: expected a number, found true",
    ),
    scenario_file(
        "nan", "[dynamics]\nwage_growth = nan\n", "dynamics.wage_growth", "finite", "found nan"
    ),
    scenario_file("inf", "[dynamics]\nillness_cost = inf\n", "dynamics.illness_cost", "found inf"),
    scenario_file(
        "huge_float", "[dynamics]\nillness_cost = 1e400\n", "dynamics.illness_cost", "found inf"
    ),
    scenario_file(
        "huge_integer",
        "[dynamics]\nwage_growth = 1000000000000000000000\n",
        "dynamics.wage_growth: expected less than or equal to 1",
        "found 1000000000000000000000",
    ),
    scenario_file(
        "negative_rate",
        "[dynamics]\njob_finding_rate = -0.5\n",
        "dynamics.job_finding_rate: expected greater than or equal to 0",
        "found -0.5",
    ),
    scenario_file(
        "shares_not_one",
        "[funding]\nsource_shares = { province = 0.6, paired_city = 0.3, home_city = 0.2 }\n",
        "funding.source_shares",
        "summing to 1",
        "1.1",
    ),
    scenario_file(
        "year_outside_horizon",
        "[social_security]\ndibao_standard = { 2016 = 4000.0, 2040 = 9000.0 }\n",
        "social_security.dibao_standard",
        "2016-2035",
        "[2040]",
    ),
    scenario_file(
        "nested_too_deep",
        "[dynamics]\nwage_growth = " + "[" * 40 + "]" * 40 + "\n",
        "dynamics.wage_growth",
        "nested at most 16 deep",
    ),
    scenario_file(
        "too_large", "# padding\n" * 110_000, "at most 1,000,000 bytes", "found a larger file"
    ),
    scenario_file("name_escapes", 'name = "../../x"\n', "name: expected text matching", "../../x"),
    scenario_file(
        "range_of_unknown_parameter",
        '[ranges]\n"dynamics.nowhere" = [0, 1]\n',
        "ranges: 'dynamics.nowhere' is not a parameter",
    ),
    scenario_file(
        "range_reversed",
        '[ranges]\n"dynamics.wage_growth" = [0.1, 0.05]\n',
        "ranges: 'dynamics.wage_growth' expected finite low <= high",
        "found 0.1, 0.05",
    ),
    # extends chains
    scenario_file(
        "extends_missing",
        'extends = "nowhere.toml"\n',
        "extends: expected an existing scenario file",
        "{tmp}/nowhere.toml",
    ),
    scenario_file("extends_not_text", "extends = 5\n", "extends: expected a file name, found 5"),
    scenario_file(
        "extends_directory",
        'extends = "adir"\n',
        "extends: expected an existing scenario file",
        **{"adir/keep.txt": ""},
    ),
    scenario_file(
        "extends_name_too_long",
        'extends = "' + "a" * 5000 + '"\n',
        "extends: expected an existing scenario file",
    ),
    scenario_file(
        "extends_cycle",
        'extends = "b.toml"\n',
        "extends: expected no cycle",
        "s.toml -> ",
        **{"b.toml": 'extends = "s.toml"\n'},
    ),
    scenario_file("extends_itself", 'extends = "s.toml"\n', "extends: expected no cycle"),
    (
        "extends_parent_malformed",
        {"s.toml": 'extends = "parent.toml"\n', "parent.toml": "[dynamics\n"},
        ("{tmp}/parent.toml: malformed TOML",),
    ),
    (
        "extends_parent_unknown_key",
        {"s.toml": 'extends = "parent.toml"\n', "parent.toml": "[dynamics]\nspeed = 1\n"},
        ("{tmp}/parent.toml: dynamics.speed: unknown key",),
    ),
    (
        "extends_parent_non_utf8",
        {"s.toml": 'extends = "parent.toml"\n', "parent.toml": b"name = '\xff'\n"},
        ("{tmp}/parent.toml: expected UTF-8 text",),
    ),
    (
        "extends_chain_too_long",
        {
            "s.toml": 'extends = "c1.toml"\n',
            **{f"c{i}.toml": f'extends = "c{i + 1}.toml"\n' for i in range(1, 40)},
            "c40.toml": "",
        },
        ("extends: expected a chain of at most 32 files",),
    ),
]

# (id, --set value, fragments) -- with the baseline scenario, for every command
OVERRIDE_CASES = [
    ("no_equals", "dynamics.job_finding_rate", ("--set dynamics.job_finding_rate", "KEY=VALUE")),
    ("empty_key", "=5", ("--set =5", "expected a dotted key before '='")),
    ("unknown_key", "dynamics.no_such_rate=1", ("--set dynamics.no_such_rate", "no such key")),
    ("unknown_table", "nosection.x=1", ("--set nosection.x", "no such key 'nosection'")),
    (
        "out_of_range",
        "dynamics.job_finding_rate=-0.5",
        ("--set dynamics.job_finding_rate", "greater than or equal to 0", "-0.5"),
    ),
    ("nan", "dynamics.wage_growth=nan", ("--set dynamics.wage_growth", "finite", "found nan")),
    (
        "wrong_type",
        "dynamics.job_finding_rate=often",
        ("--set dynamics.job_finding_rate", "expected a valid number", "'often'"),
    ),
    (
        "boolean_for_number",
        "dynamics.job_finding_rate=true",
        ("--set dynamics.job_finding_rate", "expected a number, found true"),
    ),
    ("table_as_value", "dynamics=5", ("--set dynamics", "expected a valid dictionary", "found 5")),
    (
        "nested_too_deep",
        "dynamics.wage_growth=" + "[" * 40 + "]" * 40,
        ("--set dynamics.wage_growth", "nested at most 16 deep"),
    ),
    ("name_escapes", "name=../../x", ("--set name", "expected text matching", "'../../x'")),
]

RUN = ("run", "{baseline}", "--population-scale", "0.01")
CAL_HEADER = "scope,year,metric,value,unit,source\n"
CAL_OK = CAL_HEADER + "shaoguan,2017,villages_exited,50,villages,x\n"
ENSEMBLE = (*RUN, "--replicates", "2", "--workers", "1", "--out", "{tmp}/out")


def parquet_bytes(columns: dict) -> bytes:
    """A posterior file's bytes."""
    import io

    import pandas as pd

    buffer = io.BytesIO()
    pd.DataFrame(columns).to_parquet(buffer, index=False)
    return buffer.getvalue()


def ensemble_files(parameters: str = "prior", met: tuple = (True, False, True, False)) -> dict:
    """The two files of an ensemble folder that ``discover`` reads, under ``ens/``."""
    import json

    n = len(met)
    manifest = {
        "kind": "ensemble",
        "schema_version": 1,
        "scenario_name": "baseline",
        "parameters": parameters,
        "drawn_parameters": [] if parameters == "fixed" else ["dynamics.job_finding_rate"],
        "scenario": {"targets": {"cumulative_people": {"2016": 300, "2017": 655}}},
    }
    columns = {
        "replicate": list(range(n)),
        "seed": list(range(n)),
        "cumulative_exited_people_2017": [700.0 if m else 500.0 for m in met],
        "target_met_2017": list(met),
        "dynamics.job_finding_rate": [0.01 * (i + 1) for i in range(n)],
    }
    return {
        "ens/manifest.json": json.dumps(manifest),
        "ens/outcomes.parquet": parquet_bytes(columns),
    }


# (id, posterior columns or raw bytes, fragments) -- given to run --replicates as posterior FILE
POSTERIOR_CASES = [
    (
        "unknown_parameter",
        {"weight": [1.0], "dynamics.nope": [0.1]},
        ("found unknown parameter names dynamics.nope",),
    ),
    (
        "lever",
        {"weight": [1.0], "funding.special_fund_per_person": [9000.0]},
        ("levers funding.special_fund_per_person (levers are never drawn)",),
    ),
    (
        "negative_weight",
        {"weight": [1.0, -0.5], "dynamics.job_finding_rate": [0.01, 0.02]},
        ("expected weights >= 0, found -0.5",),
    ),
    (
        "zero_sum_weights",
        {"weight": [0.0, 0.0], "dynamics.job_finding_rate": [0.01, 0.02]},
        ("expected weights with a positive sum, found a sum of 0",),
    ),
    (
        "no_rows",
        {"weight": [], "dynamics.job_finding_rate": []},
        ("expected at least one row, found none",),
    ),
    (
        "no_weight",
        {"w": [1.0], "dynamics.job_finding_rate": [0.01]},
        ("expected a column 'weight'",),
    ),
    (
        "value_refused",
        {"weight": [1.0], "dynamics.job_finding_rate": [-0.5]},
        ("row 0: dynamics.job_finding_rate: expected greater than or equal to 0", "-0.5"),
    ),
    (
        "not_parquet",
        b"weight,x\n1,2\n",
        ("expected a Parquet posterior file, found an unreadable",),
    ),
]

CASES: list[Case] = [
    *(
        Case(
            f"{command}-{case[0]}",
            (command, case[3] if len(case) > 3 else "{tmp}/s.toml", *extra),
            case[2],
            files=case[1],
        )
        for command, extra in SCENARIO_COMMANDS.items()
        for case in SCENARIO_CASES
    ),
    *(
        Case(f"{command}-set-{cid}", (command, "{baseline}", "--set", value, *extra), fragments)
        for command, extra in SCENARIO_COMMANDS.items()
        for cid, value, fragments in OVERRIDE_CASES
    ),
    # command-line numbers
    Case(
        "seed_negative",
        (*RUN, "--seed", "-3"),
        ("argument --seed", "expected a non-negative integer, found -3"),
    ),
    Case("seed_text", (*RUN, "--seed", "abc"), ("argument --seed", "found 'abc'")),
    Case("seed_fraction", (*RUN, "--seed", "1.5"), ("argument --seed", "found '1.5'")),
    Case(
        "scale_zero",
        (*RUN[:2], "--population-scale", "0"),
        ("argument --population-scale", "expected a number in (0, 1], found 0"),
    ),
    Case(
        "scale_negative",
        (*RUN[:2], "--population-scale", "-0.1"),
        ("expected a number in (0, 1], found -0.1",),
    ),
    Case(
        "scale_above_one",
        (*RUN[:2], "--population-scale", "1.5"),
        ("expected a number in (0, 1], found 1.5",),
    ),
    Case("scale_text", (*RUN[:2], "--population-scale", "abc"), ("found 'abc'",)),
    Case("scale_nan", (*RUN[:2], "--population-scale", "nan"), ("found nan",)),
    Case("scale_inf", (*RUN[:2], "--population-scale", "inf"), ("found inf",)),
    # missing or unknown arguments
    Case("run_without_scenario", ("run",), ("required: scenario",)),
    Case("unknown_command", ("frobnicate",), ("invalid choice: 'frobnicate'",)),
    Case("unknown_option", (*RUN, "--speed", "2"), ("unrecognized arguments: --speed 2",)),
    # budget officers' commands
    *(
        Case(
            f"allocation_{cid}",
            (
                "budget",
                "{baseline}",
                "--allocation",
                text,
                "--replicates",
                "1",
                "--out",
                "{tmp}/out",
            ),
            ("--allocation", *fragments),
        )
        for cid, text, fragments in [
            ("not_summing_to_one", "industry=0.5,employment=0.4", ("summing to 1", "0.9")),
            (
                "use_left_out",
                "industry=0.5,employment=0.5",
                ("expected a share for every use", "none for ['finance', 'education', 'health']"),
            ),
            ("unknown_use", "housing=1", ("housing",)),
            ("negative_share", "industry=1.2,employment=-0.2", (">= 0", "-0.2")),
            ("not_a_number", "industry=lots", ("expected a number", "'lots'")),
            ("no_equals", "industry", ("expected USE=SHARE",)),
        ]
    ),
    Case(
        "replicates_zero",
        ("budget", "{baseline}", "--replicates", "0"),
        ("argument --replicates", "expected a positive integer, found 0"),
    ),
    Case(
        "workers_negative",
        ("budget", "{baseline}", "--workers", "-2"),
        ("argument --workers", "expected a positive integer, found -2"),
    ),
    # attribute
    *(
        Case(
            f"attribute_{cid}",
            ("attribute", "{baseline}", *argv, "--population-scale", "0.01", "--out", "{tmp}/out"),
            fragments,
        )
        for cid, argv, fragments in [
            (
                "unknown_outcome",
                ("--outcome", "exits_total"),
                (
                    "--outcome: expected names among",
                    "cumulative_exited_people",
                    "found exits_total",
                ),
            ),
            (
                "step_makes_an_earmark_negative",
                ("--step", "-0.2"),
                ("--step -0.2", "earmark of finance would be -0.05", "expected a share in [0, 1]"),
            ),
            (
                "step_makes_shares_exceed_one",
                ("--step", "0.7"),
                (
                    "--step 0.7",
                    "the earmark of industry would be 1.1",
                    "expected a share in [0, 1]",
                ),
            ),
            ("step_nan", ("--step", "nan"), ("argument --step", "expected a finite number")),
            ("step_text", ("--step", "more"), ("argument --step", "found 'more'")),
            ("step_zero", ("--step", "0"), ("--step: expected a non-zero finite number, found 0",)),
            (
                "replicates_zero",
                ("--replicates", "0"),
                ("argument --replicates", "expected a positive integer, found 0"),
            ),
            (
                "max_runs_too_small",
                ("--replicates", "2", "--max-runs", "5"),
                ("--max-runs 5", "expected --max-runs >= "),
            ),
        ]
    ),
    Case(
        "min_budget_probability_above_one",
        ("optimize", "{baseline}", "--min-budget", "1.5"),
        ("argument --min-budget", "expected a probability in (0, 1], found 1.5"),
    ),
    # ensembles, comparisons, sweeps and the parameter list
    Case(
        "compare_missing_scenario",
        ("compare", "{baseline}", "{tmp}/absent.toml", "--replicates", "2", "--out", "{tmp}/out"),
        ("{tmp}/absent.toml", "not found"),
    ),
    Case(
        "sweep_sobol_samples_not_power_of_two",
        ("sweep", "{baseline}", "--method", "sobol", "--samples", "3", "--out", "{tmp}/out"),
        ("--samples", "power of two", "found 3"),
    ),
    Case(
        "sweep_unknown_param",
        ("sweep", "{baseline}", "--param", "dynamics.nothing", "--out", "{tmp}/out"),
        ("--param dynamics.nothing", "found none"),
    ),
    Case("params_unknown_path", ("params", "no.such.param"), ("no parameter matches",)),
    Case(
        "run_replicates_zero",
        (*RUN, "--replicates", "0"),
        ("argument --replicates", "expected a positive integer, found 0"),
    ),
    # parameter sources of ensembles
    Case(
        "parameters_unknown_source",
        (*ENSEMBLE, "--parameters", "guess"),
        ("argument --parameters", "expected fixed, prior or posterior FILE, found 'guess'"),
    ),
    Case(
        "parameters_posterior_without_file",
        (*ENSEMBLE, "--parameters", "posterior"),
        ("argument --parameters", "expected posterior FILE (one Parquet file), found no file"),
    ),
    Case(
        "parameters_prior_with_a_file",
        (*ENSEMBLE, "--parameters", "prior", "extra.parquet"),
        ("argument --parameters", "expected nothing after prior, found 'extra.parquet'"),
    ),
    Case(
        "parameters_without_replicates",
        (*RUN, "--parameters", "prior", "--out", "{tmp}/out"),
        ("--parameters: expected --replicates N",),
    ),
    Case(
        "seeds_per_draw_without_replicates",
        (*RUN, "--seeds-per-draw", "2", "--out", "{tmp}/out"),
        ("--seeds-per-draw: expected --replicates N",),
    ),
    Case(
        "seeds_per_draw_not_a_divisor",
        (*RUN, "--replicates", "3", "--seeds-per-draw", "2", "--out", "{tmp}/out"),
        ("--seeds-per-draw 2: expected a divisor of --replicates 3",),
    ),
    Case(
        "seeds_per_draw_zero",
        (*ENSEMBLE, "--seeds-per-draw", "0"),
        ("argument --seeds-per-draw", "expected a positive integer, found 0"),
    ),
    Case(
        "posterior_missing_file",
        (*ENSEMBLE, "--parameters", "posterior", "{tmp}/absent.parquet"),
        ("--parameters posterior {tmp}/absent.parquet", "found no such file"),
    ),
    *(
        Case(
            f"posterior_{cid}",
            (*ENSEMBLE, "--parameters", "posterior", "{tmp}/post.parquet"),
            ("--parameters posterior {tmp}/post.parquet: ", *fragments),
            files={"post.parquet": data if isinstance(data, bytes) else parquet_bytes(data)},
        )
        for cid, data, fragments in POSTERIOR_CASES
    ),
    *(
        Case(
            f"{command}_posterior_unknown_parameter",
            (command, "{baseline}", *extra, "--parameters", "posterior", "{tmp}/post.parquet"),
            ("--parameters posterior {tmp}/post.parquet: ", "dynamics.nope"),
            files={"post.parquet": parquet_bytes({"weight": [1.0], "dynamics.nope": [0.1]})},
        )
        for command, extra in (
            ("compare", ("{baseline}", "--replicates", "2", "--out", "{tmp}/out")),
            ("budget", SCENARIO_COMMANDS["budget"]),
            ("optimize", SCENARIO_COMMANDS["optimize"]),
        )
    ),
    Case(
        "optimize_posterior_value_refused",
        (
            "optimize",
            "{baseline}",
            *SCENARIO_COMMANDS["optimize"],
            "--parameters",
            "posterior",
            "{tmp}/post.parquet",
        ),
        ("--parameters posterior {tmp}/post.parquet: row 0: dynamics.job_finding_rate",),
        files={
            "post.parquet": parquet_bytes({"weight": [1.0], "dynamics.job_finding_rate": [-1.0]})
        },
    ),
    Case(
        "attribute_posterior_missing_file",
        ("attribute", "{baseline}", *SCENARIO_COMMANDS["attribute"], "--parameters", "posterior"),
        ("argument --parameters", "expected posterior FILE (one Parquet file), found no file"),
    ),
    *(
        Case(
            f"attribute_posterior_{cid}",
            (
                "attribute",
                "{baseline}",
                *SCENARIO_COMMANDS["attribute"],
                "--parameters",
                "posterior",
                "{tmp}/post.parquet",
            ),
            ("--parameters posterior {tmp}/post.parquet: ", *fragments),
            files={"post.parquet": data if isinstance(data, bytes) else parquet_bytes(data)},
        )
        for cid, data, fragments in POSTERIOR_CASES
    ),
    Case(
        "attribute_parameters_unknown_source",
        ("attribute", "{baseline}", *SCENARIO_COMMANDS["attribute"], "--parameters", "seeds"),
        ("argument --parameters", "expected fixed, prior or posterior FILE, found 'seeds'"),
    ),
    Case(
        "compare_parameters_unknown_source",
        ("compare", "{baseline}", "--replicates", "2", "--parameters", "seeds"),
        ("argument --parameters", "found 'seeds'"),
    ),
    # results folders and observed data given to report and validate
    Case(
        "report_no_folder", ("report", "{tmp}/nothing"), ("{tmp}/nothing", "no such results folder")
    ),
    Case(
        "report_not_results",
        ("report", "{tmp}/docs"),
        ("{tmp}/docs",),
        files={"docs/a.txt": "not results\n"},
    ),
    Case(
        "validate_no_folder",
        ("validate", "{tmp}/nothing", "--observed", "{tmp}/obs.csv"),
        ("{tmp}/nothing",),
        files={"obs.csv": "year,metric,value\n2017,villages_exited,5\n"},
    ),
    # calibration: observed data, parameters and settings
    *(
        Case(
            f"calibrate_{cid}",
            (
                "calibrate",
                "{baseline}",
                "--observed",
                "{tmp}/obs.csv",
                "--population-scale",
                "0.01",
                "--particles",
                "2",
                "--generations",
                "1",
                *extra,
                "--out",
                "{tmp}/cal",
            ),
            fragments,
            files={"obs.csv": text},
        )
        for cid, text, extra, fragments in [
            (
                "unknown_metric",
                CAL_HEADER + "shaoguan,2017,exits_galore,5,people,x\n",
                ("--param", "dynamics.job_finding_rate"),
                ("{tmp}/obs.csv, line 2", "metric 'exits_galore'", "not produced by the model"),
            ),
            (
                "metric_not_produced_yet",
                CAL_HEADER + "shaoguan,2018,registered_people,90000,people,x\n",
                ("--param", "dynamics.job_finding_rate"),
                ("metric 'registered_people'", "--skip-unknown"),
            ),
            (
                "unknown_scope",
                CAL_HEADER + "beijing,2017,villages_exited,5,villages,x\n",
                ("--param", "dynamics.job_finding_rate"),
                ("{tmp}/obs.csv, line 2", "scope 'beijing'", "expected a region among"),
            ),
            (
                "unknown_subset",
                CAL_HEADER + "shaoguan:moon_villages,2017,villages_exited,5,villages,x\n",
                ("--param", "dynamics.job_finding_rate"),
                ("scope 'shaoguan:moon_villages'", "expected a subset among"),
            ),
            (
                "year_outside_horizon",
                CAL_HEADER + "shaoguan,2031,villages_exited,5,villages,x\n",
                ("--param", "dynamics.job_finding_rate"),
                ("line 2", "year 2031 is outside the runs", "2016-2020"),
            ),
            (
                "value_not_a_number",
                CAL_HEADER + "shaoguan,2017,villages_exited,many,villages,x\n",
                ("--param", "dynamics.job_finding_rate"),
                ("line 2", "value: expected a finite number, found 'many'"),
            ),
            (
                "no_observation_of_the_region",
                CAL_HEADER + "guangdong,2017,villages_exited,5,villages,x\n",
                ("--param", "dynamics.job_finding_rate"),
                ("no observation of the scenario's region (shaoguan", "--scope"),
            ),
            (
                "parameter_without_range",
                CAL_OK,
                ("--param", "assessment.household_exit_share"),
                ("--param assessment.household_exit_share", "found none by that name"),
            ),
            (
                "lever",
                CAL_OK,
                ("--param", "social_security.enrolment_rate"),
                ("--param social_security.enrolment_rate", "is a lever"),
            ),
            (
                "resume_nothing",
                CAL_OK,
                ("--param", "dynamics.job_finding_rate", "--resume"),
                ("--resume: expected a calibration folder", "{tmp}/cal"),
            ),
        ]
    ),
    Case(
        "calibrate_zero_particles",
        (
            "calibrate",
            "{baseline}",
            "--observed",
            "{tmp}/obs.csv",
            "--particles",
            "0",
            "--out",
            "{tmp}/cal",
        ),
        ("argument --particles", "expected a positive integer, found 0"),
        files={"obs.csv": CAL_OK},
    ),
    Case(
        "calibrate_missing_observed",
        ("calibrate", "{baseline}", "--observed", "{tmp}/none.csv", "--out", "{tmp}/cal"),
        ("{tmp}/none.csv", "observed-data file not found"),
    ),
    # model choice: two or more scenarios of distinct names, the same observations for each
    Case(
        "select-model_one_scenario",
        ("select-model", "{baseline}", "--observed", "{tmp}/obs.csv", "--out", "{tmp}/sel"),
        ("SCENARIO: expected at least two scenarios to choose between, found one",),
        files={"obs.csv": CAL_OK},
    ),
    Case(
        "select-model_same_name",
        (
            "select-model",
            "{baseline}",
            "{baseline}",
            "--observed",
            "{tmp}/obs.csv",
            "--param",
            "dynamics.job_finding_rate",
            "--out",
            "{tmp}/sel",
        ),
        ("expected scenarios with distinct names", "'baseline' 2 times"),
        files={"obs.csv": CAL_OK},
    ),  # fmt: skip
    Case(
        "select-model_zero_particles",
        (
            "select-model",
            "{baseline}",
            str(FEEDBACK),
            "--observed",
            "{tmp}/obs.csv",
            "--particles",
            "0",
            "--out",
            "{tmp}/sel",
        ),
        ("argument --particles", "expected a positive integer, found 0"),
        files={"obs.csv": CAL_OK},
    ),  # fmt: skip
    Case(
        "select-model_metric_a_model_lacks",
        (
            "select-model",
            "{baseline}",
            str(FEEDBACK),
            "--observed",
            "{tmp}/obs.csv",
            "--param",
            "dynamics.job_finding_rate",
            "--population-scale",
            "0.01",
            "--out",
            "{tmp}/sel",
        ),
        (
            "{tmp}/obs.csv, line 3",
            "metric 'reported_exited_people'",
            "model 0 (scenario 'baseline') switches off",
            "--skip-unknown",
        ),
        files={"obs.csv": CAL_OK + "shaoguan,2017,reported_exited_people,60000,people,x\n"},
    ),  # fmt: skip
    # --out
    Case(
        "out_is_a_file",
        (*RUN, "--out", "{tmp}/notes.txt"),
        ("--out {tmp}/notes.txt", "expected a results folder", "found an existing file"),
        files={"notes.txt": "my notes\n"},
    ),
    Case(
        "out_under_a_file",
        (*RUN, "--out", "{tmp}/notes.txt/run1"),
        ("--out {tmp}/notes.txt/run1", "found {tmp}/notes.txt is an existing file"),
        files={"notes.txt": "my notes\n"},
    ),
    Case(
        "out_is_a_folder_of_other_files",
        (*RUN, "--out", "{tmp}/docs"),
        ("--out {tmp}/docs", "found a folder with other files (a.txt, b.txt)"),
        files={"docs/a.txt": "keep me\n", "docs/b.txt": "and me\n"},
    ),
    *[
        case
        for name, argv in MANY_OUT_COMMANDS.items()
        for case in (
            Case(
                f"{name}-out_where_no_folder_can_be_made",
                (*argv, "--out", "/proc/shaoguan-results"),
                ("--out /proc/shaoguan-results", "found /proc refuses new folders"),
            ),
            Case(
                f"{name}-out_name_too_long",
                (*argv, "--out", "{tmp}/" + "n" * 300),
                ("expected folder names of at most", "found one of 300"),
            ),
        )
    ],
    *[
        Case(
            f"{name}-population_scale_with_empty_counties",
            (*[a if a != "0.01" else "0.0001" for a in argv], *extra),
            (
                "--population-scale 0.0001: expected a scale at which every group and county "
                "has households, found none in county",
                "use at least 0.000299",
            ),
        )
        for name, (argv, extra) in {
            **{k: (v, ("--out", "{tmp}/out")) for k, v in MANY_OUT_COMMANDS.items()},
            "optimize": (("optimize", "{baseline}", *SCENARIO_COMMANDS["optimize"]), ()),
        }.items()
    ],
    # scenario discovery reads an ensemble folder with prior draws
    Case(
        "discover_not_an_ensemble",
        ("discover", "{tmp}/docs"),
        ("RESULTS_DIR {tmp}/docs: expected an ensemble folder", "found no readable manifest"),
        files={"docs/a.txt": "not results\n"},
    ),
    Case(
        "discover_no_folder",
        ("discover", "{tmp}/nothing"),
        ("RESULTS_DIR {tmp}/nothing: expected an ensemble folder", "found no such folder"),
    ),
    Case(
        "discover_fixed_parameters",
        ("discover", "{tmp}/ens"),
        ("found fixed parameters", "nothing to discover"),
        files=ensemble_files("fixed"),
    ),
    Case(
        "discover_unknown_outcome",
        ("discover", "{tmp}/ens", "--outcome", "exits_2017", "--threshold", "1"),
        ("--outcome exits_2017: expected an outcome of the ensemble", "found exits_2017"),
        files=ensemble_files(),
    ),
    Case(
        "discover_threshold_no_replicate_meets",
        (
            "discover",
            "{tmp}/ens",
            "--outcome",
            "cumulative_exited_people_2017",
            "--threshold",
            "900",
        ),
        ("cumulative_exited_people_2017 >= 900", "found no replicate meets it"),
        files=ensemble_files(),
    ),  # fmt: skip
    Case(
        "discover_threshold_every_replicate_meets",
        (
            "discover",
            "{tmp}/ens",
            "--outcome",
            "cumulative_exited_people_2017",
            "--threshold",
            "100",
        ),
        ("found every one of the 4 replicates meets it",),
        files=ensemble_files(),
    ),  # fmt: skip
    Case(
        "discover_target_never_met",
        ("discover", "{tmp}/ens", "--target-met", "2017"),
        ("target_met_2017 is true", "found no replicate meets it"),
        files=ensemble_files(met=(False, False, False, False)),
    ),
    Case(
        "discover_year_without_target",
        ("discover", "{tmp}/ens", "--target-met", "2030"),
        ("--target-met 2030: expected a year with a target (2017)",),
        files=ensemble_files(),
    ),
    Case(
        "discover_min_mass_out_of_range",
        ("discover", "{tmp}/ens", "--min-mass", "1.5"),
        ("argument --min-mass", "expected a number in (0, 1), found 1.5"),
        files=ensemble_files(),
    ),
    Case(
        "discover_threshold_and_target",
        ("discover", "{tmp}/ens", "--threshold", "1", "--target-met", "2017"),
        ("not allowed with argument",),
        files=ensemble_files(),
    ),
    Case(
        "outputs_unknown_table",
        ("outputs", "anual"),
        ("TABLE anual: expected one of annual, monthly, by_county",),
    ),
    # found by the command-line fuzzer: an --out of the commands that make many runs holding
    # other files was written into; paths other than --out escaped as tracebacks
    Case(
        "replicates_out_is_a_folder_of_other_files",
        (*RUN, "--replicates", "1", "--workers", "1", "--out", "{tmp}/docs"),
        ("--out {tmp}/docs", "found a folder with other files (a.txt)"),
        files={"docs/a.txt": "keep me\n"},
    ),
    Case(
        "sweep_out_is_a_folder_of_other_files",
        (
            *MANY_OUT_COMMANDS["sweep"],
            "--param",
            "dynamics.job_finding_rate",
            "--workers",
            "1",
            "--out",
            "{tmp}/docs",
        ),
        ("--out {tmp}/docs", "found a folder with other files (a.txt)"),
        files={"docs/a.txt": "keep me\n"},
    ),
    Case(
        "results_folder_name_too_long",
        ("report", "{tmp}/" + "x" * 300),
        ("RESULTS_DIR: expected a path whose names have at most", "found one of 300 bytes"),
    ),
    Case("scenario_nul_byte", ("check", "a\x00b.toml"), ("scenario: expected text without NUL",)),
    Case(
        "dashboard_port_out_of_range",
        ("dashboard", "--port", "70000"),
        ("argument --port", "expected a port number in 1-65535, found '70000'"),
    ),
    Case(
        "dashboard_port_not_a_number",
        ("dashboard", "--port", "http"),
        ("argument --port", "expected a port number in 1-65535, found 'http'"),
    ),
]


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every path under ``folder`` with its kind, size and modification time."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(folder))] = (p.is_dir(), st.st_size, st.st_mtime_ns)
    return out


def materialise(case: Case, tmp: Path) -> list[str]:
    def fill(text: str) -> str:
        return text.replace("{tmp}", str(tmp)).replace("{baseline}", str(BASELINE))

    for name, content in case.files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(fill(content), encoding="utf-8")
    for name in case.dirs:
        (tmp / name).mkdir(parents=True, exist_ok=True)
    return [fill(a) for a in case.argv]


def fragments_of(case: Case, tmp: Path) -> list[str]:
    return [f.replace("{tmp}", str(tmp)) for f in case.fragments]


def run_in_process(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse refuses an argument
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_clean_failure(case: Case, tmp: Path, code: int, err: str, before: dict) -> None:
    assert code == case.code, err
    assert "Traceback" not in err
    message = err.strip()
    assert message, "no message"
    for fragment in fragments_of(case, tmp):
        assert fragment in message, (fragment, message)
    assert snapshot(tmp) == before, "the command wrote or removed files"


def test_the_table_covers_every_command():
    from model.commands.cli import COMMANDS

    covered = {c.argv[0] for c in CASES}
    assert set(COMMANDS) <= covered, set(COMMANDS) - covered
    assert len(CASES) == len({c.id for c in CASES})


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case, tmp_path, monkeypatch, capsys):
    argv = materialise(case, tmp_path)
    monkeypatch.chdir(tmp_path)  # a default results/ folder would appear here
    before = snapshot(tmp_path)
    code, _, err = run_in_process(argv, capsys)
    assert_clean_failure(case, tmp_path, code, err, before)
    if case.code == 2:
        assert err.startswith(("error: ", "usage: ")), err


#: A few rows again through the real entry point, in a fresh interpreter.
SUBPROCESS_CASES = ["run-extends_parent_malformed", "out_is_a_file"]


@pytest.mark.parametrize("case_id", SUBPROCESS_CASES)
def test_bad_input_entry_point(case_id, tmp_path):
    case = next(c for c in CASES if c.id == case_id)
    argv = materialise(case, tmp_path)
    before = snapshot(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "model", *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert_clean_failure(case, tmp_path, proc.returncode, proc.stderr, before)
    assert proc.stdout == ""


# ---------------------------------------------------------------------------------------------
# results folders (read by report/validate once they exist: add command rows above then)


def _results_folder(tmp: Path, small_result) -> Path:
    return small_result.write(tmp / "res", figure=False)


def _edit_manifest(folder: Path, **changes) -> None:
    import json

    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


RESULTS_CASES = {
    "missing_folder": (lambda f: f.rename(f.with_name("gone")), ["res", "found nothing"]),
    "a_file": (
        lambda f: (__import__("shutil").rmtree(f), f.write_text("x")),
        ["expected a results folder, found a file"],
    ),
    "no_manifest": (lambda f: (f / "manifest.json").unlink(), ["expected manifest.json"]),
    "manifest_not_json": (
        lambda f: (f / "manifest.json").write_text("{schema_version: 1"),
        ["manifest.json: expected JSON"],
    ),
    "manifest_not_utf8": (
        lambda f: (f / "manifest.json").write_bytes(b'{"a": "\xff"}'),
        ["manifest.json: expected JSON"],
    ),
    "manifest_a_list": (
        lambda f: (f / "manifest.json").write_text("[1, 2]"),
        ["expected a JSON object, found list"],
    ),
    "other_schema_version": (
        lambda f: _edit_manifest(f, schema_version=99, package_version="9.0"),
        ["schema_version: expected 1", "found 99", "package version 9.0", "rerun"],
    ),
    "no_schema_version": (
        lambda f: _edit_manifest(f, schema_version=None),
        ["schema_version: expected 1", "found None"],
    ),
    "missing_table": (
        lambda f: (f / "monthly.parquet").unlink(),
        ["expected monthly.parquet, found no such file"],
    ),
    "corrupt_table": (
        lambda f: (f / "annual.parquet").write_bytes(b"PAR1 not really"),
        ["annual.parquet: expected a Parquet table, found an unreadable file"],
    ),
}


@pytest.mark.parametrize("case", sorted(RESULTS_CASES))
def test_bad_results_folder(case, tmp_path, small_result):
    folder = _results_folder(tmp_path, small_result)
    read_results(folder)  # the untouched folder reads
    corrupt, fragments = RESULTS_CASES[case]
    corrupt(folder)
    before = snapshot(tmp_path)
    with pytest.raises(ResultsError) as err:
        read_results(folder)
    message = str(err.value)
    assert str(folder) in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert snapshot(tmp_path) == before
