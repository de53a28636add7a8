"""The benchmark script's arithmetic (it prints figures; no test asserts a time)."""

import importlib.util
import json
import subprocess

import pytest

from tests.conftest import ROOT


def load_script(name):
    """A script of ``benchmarks/`` as a module (the folder is no package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return load_script("run_benchmarks")


def test_affine_cost_recovers_fixed_and_marginal_parts(bench):
    # 2 ms a month plus 150 ns per household-month, exactly
    rows = [
        {"workload": name, "households": n, "months": 60, "simulation_s": 60 * (2e-3 + 150e-9 * n)}
        for name, n in [("small", 16_000), ("W1", 172_000), ("W3", 1_616_000)]
    ]
    fit = bench.affine_cost(rows)
    assert fit["fixed_ms_per_month"] == pytest.approx(2.0, rel=1e-9)
    assert fit["marginal_ns_per_household_month"] == pytest.approx(150.0, rel=1e-9)
    # by hand: 2 ms of the 2 + 2.4 ms a month of the small run
    assert fit["fixed_share"]["small"] == pytest.approx(2.0 / 4.4, rel=1e-9)


def test_single_workload_reports_the_manifest_figures(bench):
    out = bench._single(ROOT / "scenarios" / "baseline.toml", 0.01, 1)
    assert out["months"] == 60
    assert out["households"] > 1_000
    per_hm = 1e9 * out["simulation_s"] / (out["households"] * out["months"])
    assert out["ns_per_household_month"] == pytest.approx(per_hm)
    assert out["peak_rss_mb"] >= out["rss_after_imports_mb"] > 0


def test_affine_cost_fits_the_cpu_seconds_when_asked(bench):
    rows = [
        {
            "workload": name,
            "households": n,
            "months": 60,
            "simulation_s": 1.0,  # wall clock: ignored by the CPU fit
            "cpu_simulation_s": 60 * (0.5e-3 + 100e-9 * n),
        }
        for name, n in [("small", 7_800), ("W1", 172_000)]
    ]
    fit = bench.affine_cost(rows, "cpu_simulation_s")
    assert fit["fixed_ms_per_month"] == pytest.approx(0.5, rel=1e-9)
    assert fit["marginal_ns_per_household_month"] == pytest.approx(100.0, rel=1e-9)


def test_naive_mesa_households_earn_the_engines_base_income():
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from naive_mesa import NaiveHousehold, NaiveModel

    from model.engine.scenario import apply_overrides, load_scenario

    # no job lost or found: a month's income is the engine's base income of the household
    scenario = apply_overrides(
        load_scenario(ROOT / "scenarios" / "baseline.toml"),
        {"dynamics.job_loss_rate": 0.0, "dynamics.job_finding_rate": 0.0},
    )
    naive = NaiveModel(scenario, 0.01, seed=4)
    naive.step()
    # the households of an engine run with seed 4
    from model.engine.simulation import PovertyModel

    hh = PovertyModel(scenario, seed=4, population_scale=0.01).households
    expected = (
        hh.jobs * hh.job_wage
        + hh.business_annual / 12 * hh.farm_shock
        + hh.property_annual / 12
        + hh.transfer_annual / 12
    )
    agents = list(naive.agents_by_type[NaiveHousehold])
    assert len(agents) == hh.n
    got = np.array([a.history[0] for a in agents])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert sum(a.jobs for a in agents) == int(hh.jobs.sum())


def test_mechanism_cost_ratio_pairs_feedback_with_its_baseline(bench):
    rows = [
        {"workload": "W1", "ns_per_household_month": 100.0, "cpu_ns_per_household_month": 80.0},
        {
            "workload": "W1 feedback",
            "ns_per_household_month": 110.0,
            "cpu_ns_per_household_month": 100.0,
        },
        {
            "workload": "W1 scale 0.1",
            "ns_per_household_month": 200.0,
            "cpu_ns_per_household_month": 200.0,
        },
        {"workload": "W2 4 replicates, 2 workers", "wall_s": 3.0},
    ]
    ratios = bench.mechanism_cost_ratio(rows)
    # by hand: 110 / 100 and 100 / 80; no feedback run at scale 0.1, so no pair there
    assert ratios == {"W1": {"wall": pytest.approx(1.1), "cpu": pytest.approx(1.25)}}
    closed = {
        "workload": "W1 feedback closed register",
        "ns_per_household_month": 105.0,
        "cpu_ns_per_household_month": 96.0,
    }
    ratios = bench.mechanism_cost_ratio([*rows, closed])
    # by hand: 105 / 100 and 96 / 80
    assert ratios["W1 closed register"] == {
        "wall": pytest.approx(1.05),
        "cpu": pytest.approx(1.2),
    }


def test_mechanism_ratio_pairs_each_round_with_its_own_baseline():
    module = load_script("mechanism_ratio")
    # the machine slows by half in round 2: each round's own ratio stays 1.2
    ms = {"baseline": [10.0, 15.0, 10.0], "all four": [12.0, 18.0, 13.0]}
    out = module.summarise(ms)["all four"]
    assert out["median"] == pytest.approx(1.2)  # of 1.2, 1.2, 1.3
    assert out["q1"] == pytest.approx(1.2) and out["q3"] == pytest.approx(1.25)
    assert out["least"] == pytest.approx(12.0 / 10.0)


def test_knockout_replaces_each_part_of_one_run_and_names_those_the_run_needs():
    import model
    from model.results.recording import RecordedModel

    module = load_script("month_sections")
    feedback = ROOT / "scenarios" / "feedback.toml"
    labels = ("recorder.record", "living_register.end_of_month")
    out = module.knockout(0.005, 1, feedback, only=labels)
    assert list(out["saved"]) == list(labels)
    assert isinstance(out["saved"]["recorder.record"], float)
    # the register's monthly accounting is what its check reads: without it the run stops
    assert "InvariantError" in out["saved"]["living_register.end_of_month"]
    fresh = RecordedModel(model.load_scenario(feedback), seed=1, population_scale=0.005)
    assert out["households"] == fresh.households.n and out["months"] == 60
    # every measure's phases and every mechanism's hooks are offered, each a method of its own
    parts = module._parts(fresh)
    assert len(parts) == 2 + 3 * len(fresh.measures) + 2 * len(fresh.mechanisms)
    assert all(callable(getattr(obj, name)) for obj, name in parts.values())
    # the parts were replaced on that run's objects only: a new run records every month
    fresh.run_model()
    assert len(fresh.result().monthly) == 60
    with pytest.raises(ValueError, match="no part 'industry.dream'"):
        module.knockout(0.005, 1, feedback, only=("industry.dream",))


@pytest.fixture(scope="module")
def against():
    return load_script("against")


def test_against_takes_each_workloads_main_figure_and_the_many_run_fit(against):
    results = {
        "workloads": [
            {"workload": "W1", "ns_per_household_month": 60.0, "cpu_ns_per_household_month": 55.0},
            {"workload": "W4 2000 runs", "wall_s": 54.0},
            {"workload": "import model", "wall_s": 0.02, "ns_per_household_month": None},
        ],
        "cost_model": {"fixed_ms_per_month": 1.4, "marginal_ns_per_household_month": 76.0},
        "cost_model_cpu": {"fixed_ms_per_month": 1.3, "marginal_ns_per_household_month": 75.0},
        "cost_model_compiled_cpu": {
            "fixed_ms_per_month": 0.32,
            "marginal_ns_per_household_month": 62.7,
            "fixed_share": {"a": 0.2, "b": 0.9},
        },
    }
    figs = against.figures(results)
    assert figs["W1"] == ("CPU ns per household-month", 55.0)  # CPU before wall clock
    assert figs["W4 2000 runs"] == ("wall s", 54.0)
    assert figs["import model"] == ("wall s", 0.02)
    # the compiled kernels' fit is the many-run one when a side has it
    assert figs["fixed part of a many-run month"] == ("ms a month (CPU)", 0.32)
    assert figs["many-run month, per household"] == ("ns a household-month (CPU)", 62.7)
    assert figs["cost_model_compiled_cpu fixed (a, b)"] == ("ms a month (CPU)", 0.32)
    assert figs["cost_model fixed ()"] == ("ms a month (wall clock)", 1.4)
    # an older revision has only the fits of its one engine: the CPU one first
    del results["cost_model_compiled_cpu"]
    assert against.figures(results)["fixed part of a many-run month"] == ("ms a month (CPU)", 1.3)
    del results["cost_model_cpu"]
    fixed = against.figures(results)["fixed part of a many-run month"]
    assert fixed == ("ms a month (wall clock)", 1.4)


def single(name, households, cpu_s):
    return {
        "workload": name,
        "households": households,
        "months": 60,
        "simulation_s": cpu_s,
        "cpu_simulation_s": cpu_s,
        "cpu_ns_per_household_month": 1e9 * cpu_s / (households * 60),
    }


def test_against_keeps_each_workloads_least_round_and_refits_from_those_runs(against, bench):
    # round 1: the large run slow (which lowers the fitted fixed part); round 2: the small one
    fitted = {"small": 0, "large": 0}
    rounds = [
        {
            "workloads": [single("small", 1_000, 0.12), single("large", 100_000, 0.9)],
            "cost_model_cpu": {"fixed_share": fitted, "fixed_ms_per_month": 0.0},
        },
        {
            "workloads": [single("small", 1_000, 0.15), single("large", 100_000, 0.6)],
            "cost_model_cpu": {"fixed_share": fitted, "fixed_ms_per_month": 0.0},
        },
    ]
    kept = against.least_rows(rounds)
    by_name = {r["workload"]: r for r in kept["workloads"]}
    assert by_name["small"]["cpu_simulation_s"] == 0.12
    assert by_name["large"]["cpu_simulation_s"] == 0.6
    # two points fit exactly: per household (0.6 - 0.12) / 60 / 99,000 s, the rest fixed
    marginal = (0.6 - 0.12) / 60 / 99_000
    fixed = 0.12 / 60 - 1_000 * marginal
    fit = kept["cost_model_cpu"]
    assert fit["fixed_ms_per_month"] == pytest.approx(1e3 * fixed, rel=1e-9)
    assert fit["marginal_ns_per_household_month"] == pytest.approx(1e9 * marginal, rel=1e-9)
    assert against.least_rows(rounds[:1]) is rounds[0]  # one round: as the side wrote it


def test_against_divides_this_by_the_revision_only_for_figures_of_one_unit(against):
    cpu, wall = "CPU ns per household-month", "ns per household-month"
    theirs = {"W4": ("wall s", 158.0), "W1": (cpu, 90.0), "naive": (wall, 900.0)}
    ours = {"W4": ("wall s", 54.0), "new": ("wall s", 1.0), "naive": (cpu, 880.0)}
    rows = {r["figure"]: r for r in against.compare(theirs, ours)}
    assert rows["W4"]["ratio"] == pytest.approx(54.0 / 158.0)
    assert rows["W1"]["this"] is None and rows["W1"]["ratio"] is None
    assert rows["new"]["revision"] is None and rows["new"]["this"] == 1.0
    assert rows["naive"]["ratio"] is None and rows["naive"]["unit"] == f"{cpu} / {wall}"
    assert [r["figure"] for r in against.compare(theirs, ours)] == ["W4", "W1", "naive", "new"]


def worktrees():
    out = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_against_runs_both_sides_and_leaves_no_worktree(against, tmp_path, capsys):
    before = worktrees()
    out = tmp_path / "cmp.json"
    code = against.main(["HEAD", "--only", "import", "--also", "", "--no-warm", "--json", str(out)])
    assert code == 0
    assert worktrees() == before
    rows = {r["figure"]: r for r in json.loads(out.read_text())["rows"]}
    row = rows["import model"]
    assert row["revision"] > 0 and row["this"] > 0
    assert row["ratio"] == pytest.approx(row["this"] / row["revision"])
    assert "import model" in capsys.readouterr().out


def test_against_refuses_a_revision_that_is_no_commit(against, capsys):
    with pytest.raises(SystemExit) as stop:
        against.main(["no-such-revision-anywhere"])
    assert stop.value.code == 2
    assert "'no-such-revision-anywhere' is no commit" in capsys.readouterr().err


def test_against_removes_its_worktree_when_a_side_fails(against):
    before = worktrees()
    with pytest.raises(SystemExit) as stop:
        against.main(["HEAD", "--only", "no such workload", "--also", "", "--no-warm"])
    assert "run_benchmarks.py --only no such workload in" in str(stop.value.code)
    assert "unknown workloads" in str(stop.value.code)
    assert worktrees() == before
