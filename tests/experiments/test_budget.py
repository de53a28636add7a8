import concurrent.futures
import math
import subprocess
import sys

import pandas as pd
import pytest

from model.commands.cli import main
from model.engine.funding import SPECIAL_USES
from model.engine.scenario import apply_overrides
from model.experiments import ensemble, execution
from model.experiments.budget import (
    AllocationError,
    compare_allocations,
    optimize_allocation,
    parse_allocation,
    replicate_seeds,
    run_replicates,
    smallest_budget,
    validate_allocation,
)
from model.experiments.execution import Executor
from tests.conftest import BASELINE, ROOT

EMPLOYMENT = "industry=0.2,employment=0.45,finance=0.15,education=0.1,health=0.1"


@pytest.fixture
def opened(monkeypatch):
    """How many executors the budget tools open, and how many process pools start (real ones)."""
    counts = {"executors": 0, "pools": 0}

    class CountedExecutor(Executor):
        def __init__(self, *args, **kwargs):
            counts["executors"] += 1
            super().__init__(*args, **kwargs)

    class CountedPool(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            counts["pools"] += 1
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(execution, "Executor", CountedExecutor)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", CountedPool)
    return counts


def test_parse_allocation_gives_every_use_its_share():
    a = parse_allocation("industry=0.5, employment=0.5, finance=0, education=0, health=0")
    assert a == {
        "industry": 0.5,
        "employment": 0.5,
        "finance": 0.0,
        "education": 0.0,
        "health": 0.0,
    }


def test_a_use_left_out_of_an_allocation_is_an_error_not_a_zero():
    with pytest.raises(AllocationError) as err:
        parse_allocation("industry=0.5, employment=0.5")
    message = str(err.value)
    assert message.startswith("--allocation industry=0.5, employment=0.5: ")
    assert "found none for ['finance', 'education', 'health']" in message
    assert "\n" not in message
    with pytest.raises(AllocationError, match="found none for \\['health'\\]"):
        validate_allocation({"industry": 0.6, "employment": 0.2, "finance": 0.1, "education": 0.1})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("industry=0.5,employment=0.4", "summing to 1"),
        ("industry=1.2,employment=-0.2", ">= 0"),
        ("housing=1", "housing"),
        ("industry", "expected USE=SHARE"),
        ("industry=lots", "expected a number"),
        ("industry=0.5,industry=0.5", "given twice"),
    ],
)
def test_bad_allocations(text, fragment, tmp_path):
    with pytest.raises(AllocationError, match="--allocation") as err:
        parse_allocation(text)
    assert fragment in str(err.value)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "model",
            "budget",
            str(BASELINE),
            "--allocation",
            text,
            "--replicates",
            "1",
            "--population-scale",
            "0.01",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2 and fragment in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_replicate_seeds_are_spawned_and_stable():
    assert replicate_seeds is ensemble.replicate_seeds  # replicate r is an ensemble's replicate r
    assert replicate_seeds(1, 3) == [4215923173971654960, 2021340933837429789, 637987770806161565]
    assert replicate_seeds(1, 3) == replicate_seeds(1, 3)
    assert len(set(replicate_seeds(1, 50))) == 50
    assert replicate_seeds(1, 3)[:2] == replicate_seeds(1, 2)  # a prefix does not depend on n


def test_compare_uses_common_random_numbers(baseline):
    alloc = dict(baseline.funding.allocation)
    table = compare_allocations(baseline, [alloc, alloc], replicates=2, population_scale=0.01)
    numeric = table.drop(columns=["allocation"])
    # the same allocation twice on the same seeds gives the same numbers
    pd.testing.assert_series_equal(numeric.iloc[0], numeric.iloc[1], check_names=False)
    # and the means are those of the replicate outcomes
    outcomes = run_replicates(baseline, replicate_seeds(1, 2), 0.01)
    assert table.loc[0, "exits_2018"] == outcomes["cumulative_exited_people_2018"].mean()
    assert table.loc[0, "p_all_targets"] == outcomes["all_targets_met"].mean()


def test_workers_do_not_change_replicates(baseline):
    seeds = replicate_seeds(3, 2)
    one = run_replicates(baseline, seeds, 0.01, workers=1)
    two = run_replicates(baseline, seeds, 0.01, workers=2)
    pd.testing.assert_frame_equal(one, two)


def test_optimizer_result_is_a_valid_allocation_no_worse_than_start(baseline):
    # a deliberately poor start: everything on finance
    everything_on_finance = {use: float(use == "finance") for use in SPECIAL_USES}
    start = apply_overrides(baseline, {"funding.allocation": everything_on_finance})
    r = optimize_allocation(start, replicates=2, population_scale=0.01, maxiter=8)
    assert set(r.allocation) == set(SPECIAL_USES)
    assert all(v >= 0 for v in r.allocation.values())
    assert sum(r.allocation.values()) == pytest.approx(1.0)
    assert (r.probability, r.mean_exits_last_year) >= (
        r.baseline_probability,
        r.baseline_mean_exits_last_year,
    )
    assert r.evaluations >= 2


def test_compare_opens_one_executor_and_one_pool_for_all_allocations(baseline, opened):
    allocations = [dict(baseline.funding.allocation), parse_allocation(EMPLOYMENT)]
    small = dict(replicates=2, population_scale=0.01)
    one = compare_allocations(baseline, allocations, workers=1, **small)
    assert opened == {"executors": 1, "pools": 0}
    two = compare_allocations(baseline, allocations, workers=2, **small)
    assert opened == {"executors": 2, "pools": 1}
    pd.testing.assert_frame_equal(one, two)


def test_tools_run_on_the_executor_they_are_given_and_leave_it_open(baseline, opened):
    allocations = [dict(baseline.funding.allocation), parse_allocation(EMPLOYMENT)]
    small = dict(replicates=2, population_scale=0.01)
    alone = compare_allocations(baseline, allocations, **small)
    with Executor(workers=2) as ex:
        shared = compare_allocations(baseline, allocations, executor=ex, **small)
        pool = ex._pool
        r = optimize_allocation(baseline, maxiter=3, executor=ex, **small)
        smallest_budget(baseline, replicates=1, population_scale=0.01, executor=ex)
        assert ex._pool is pool and ex.map(abs, [-1]) == [1]
    assert opened == {"executors": 1, "pools": 1}  # the executor of `alone`; the pool of `ex`
    pd.testing.assert_frame_equal(alone, shared)
    assert r.evaluations >= 2


def test_optimizer_and_bisection_open_one_executor_each(baseline, opened):
    optimize_allocation(baseline, replicates=1, population_scale=0.01, maxiter=4)
    assert opened["executors"] == 1
    # targets within reach at this scale, so the bisection runs several budgets
    easy = apply_overrides(
        baseline, {"targets.cumulative_people": {"2016": 30000, "2017": 55000, "2018": 65000}}
    )
    per_person, p = smallest_budget(
        easy, probability=1.0, replicates=2, population_scale=0.01, tolerance=20_000
    )
    assert opened["executors"] == 2 and opened["pools"] == 0
    assert per_person is not None and 0 < per_person < 60_000 and p == 1.0
    at_budget = apply_overrides(easy, {"funding.special_fund_per_person": per_person})
    assert run_replicates(at_budget, replicate_seeds(1, 2), 0.01)["all_targets_met"].mean() == 1.0


def percentile(values, q):
    """numpy's default (linear) percentile, from the sorted values."""
    ordered = sorted(values)
    position = q / 100 * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (position - below) * (ordered[above] - ordered[below])


def wilson(successes, trials, z=1.959963984540054):
    """95% Wilson score interval, from its formula."""
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials**2))
    return centre - half, centre + half


def test_compare_reports_the_spread_over_replicates(baseline):
    # targets that some replicates meet and others miss at this scale
    near = apply_overrides(
        baseline, {"targets.cumulative_people": {"2016": 34000, "2017": 50000, "2018": 72000}}
    )
    alloc = parse_allocation(EMPLOYMENT)
    table = compare_allocations(near, [alloc], replicates=4, population_scale=0.01)
    row = table.iloc[0]
    runs = run_replicates(
        apply_overrides(near, {"funding.allocation": alloc}), replicate_seeds(1, 4), 0.01
    )
    for y in (2016, 2017, 2018):
        exits = runs[f"cumulative_exited_people_{y}"].to_list()
        assert row[f"exits_{y}"] == pytest.approx(sum(exits) / 4)
        assert row[f"exits_{y}_p5"] == pytest.approx(percentile(exits, 5))
        assert row[f"exits_{y}_p95"] == pytest.approx(percentile(exits, 95))
        assert min(exits) < row[f"exits_{y}_p5"] < row[f"exits_{y}_p95"] < max(exits)
        met = int(runs[f"target_met_{y}"].sum())
        assert row[f"p_target_{y}"] == met / 4
        interval = (row[f"p_target_{y}_low"], row[f"p_target_{y}_high"])
        assert interval == pytest.approx(wilson(met, 4), abs=1e-12)
    met_all = int(runs["all_targets_met"].sum())
    assert row["p_all_targets"] == met_all / 4
    interval = (row["p_all_targets_low"], row["p_all_targets_high"])
    assert interval == pytest.approx(wilson(met_all, 4), abs=1e-12)
    # the intervals checked include some strictly inside [0, 1]
    assert 0 < row["p_target_2018"] < 1 and 0 < row["p_all_targets"] < 1


def test_budget_command_writes_intervals_and_prints_means(tmp_path, capsys):
    out = tmp_path / "budget"
    args = ["budget", str(BASELINE), "--allocation", EMPLOYMENT, "--replicates", "2"]
    assert main([*args, "--population-scale", "0.01", "--out", str(out)]) == 0
    table = pd.read_csv(out / "budget.csv")
    assert table["label"].to_list() == ["scenario", "#1"]
    for column in ("exits_2018_p5", "exits_2018_p95", "p_target_2018_low", "p_all_targets_high"):
        assert column in table.columns
    heading = next(line for line in capsys.readouterr().out.splitlines() if "label" in line)
    assert heading.split() == [
        "label",
        *[f"{name}_{y}" for y in (2016, 2017, 2018) for name in ("exits", "p_target")],
        "p_all_targets",
        "total_spend",
        "cost_per_sustained_exit",
    ]
