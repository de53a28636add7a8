"""One process, a local pool of two and a real Dask cluster give the same tables."""

import pandas as pd
import pytest

from model.experiments.budget import replicate_seeds, run_replicates
from model.experiments.ensemble import run_ensemble
from model.experiments.execution import Executor
from model.experiments.sweep import run_sweep
from tests.conftest import ROOT
from tests.experiments.dask_cluster import LocalDaskCluster

SCALE = 0.02
SWEEP = dict(
    method="morris",
    samples=2,
    outcomes=["cumulative_exited_people_2018", "cost_per_sustained_exit"],
    params=["dynamics.job_finding_rate", "dynamics.illness_months"],
    seed=4,
    population_scale=SCALE,
)


@pytest.fixture(scope="module")
def pool():
    with Executor(workers=2) as ex:
        yield ex


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A Dask scheduler and one single-threaded worker on 127.0.0.1, always torn down."""
    cluster = LocalDaskCluster(tmp_path_factory.mktemp("dask"))
    try:
        cluster.add_worker()
        cluster.wait_for_workers(1)
        yield cluster.address
    finally:
        cluster.close()


def test_one_and_two_workers_give_identical_ensembles(baseline, pool, tmp_path):
    one = run_ensemble(
        baseline, replicates=4, seed=3, workers=1, population_scale=SCALE, out=tmp_path / "one"
    )
    two = run_ensemble(
        baseline, replicates=4, seed=3, population_scale=SCALE, out=tmp_path / "two", executor=pool
    )
    assert two.manifest["executed_on"] == "local pool of 2 processes"
    for name in ("replicates", "outcomes", "probabilities", "quantiles", "outcome_summary"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name))
    for name in ("replicates.parquet", "quantiles.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "one" / name), pd.read_parquet(tmp_path / "two" / name)
        )
    assert (tmp_path / "one" / "probabilities.csv").read_text() == (
        tmp_path / "two" / "probabilities.csv"
    ).read_text()


def test_dask_cluster_sweep_equals_local_pool(baseline, pool, dask_cluster, tmp_path):
    local = run_sweep(baseline, **SWEEP, executor=pool, out=tmp_path / "local")
    remote = run_sweep(baseline, **SWEEP, scheduler=dask_cluster, out=tmp_path / "dask")
    assert remote.manifest["executed_on"] == f"dask cluster at {dask_cluster}"
    assert remote.manifest["runs_computed"] == local.manifest["runs_computed"] == 2 * 3
    pd.testing.assert_frame_equal(local.sensitivity, remote.sensitivity)
    pd.testing.assert_frame_equal(local.points, remote.points)
    assert (tmp_path / "local" / "sensitivity.csv").read_text() == (
        tmp_path / "dask" / "sensitivity.csv"
    ).read_text()


def test_dask_cluster_budget_replicates_equal_one_process(baseline, dask_cluster):
    seeds = replicate_seeds(3, 2)
    with Executor(scheduler=dask_cluster) as ex:
        remote = run_replicates(baseline, seeds, SCALE, executor=ex)
        assert ex.map(abs, [-3, 2, -1]) == [3, 2, 1]
    pd.testing.assert_frame_equal(run_replicates(baseline, seeds, SCALE, workers=1), remote)


def test_budget_command_on_a_dask_cluster_equals_one_process(dask_cluster, tmp_path, capsys):
    from model.commands.cli import main

    def budget(*where: str, out: str) -> str:
        code = main(
            [
                "budget",
                str(ROOT / "scenarios" / "baseline.toml"),
                "--allocation",
                "industry=0.2,employment=0.5,finance=0.1,education=0.1,health=0.1",
                "--replicates",
                "2",
                "--population-scale",
                str(SCALE),
                "--out",
                str(tmp_path / out),
                *where,
            ]
        )
        assert code == 0
        return (tmp_path / out / "budget.csv").read_text()

    remote = budget("--scheduler", dask_cluster, out="dask")
    assert remote == budget("--workers", "1", out="one")
    assert remote.count("\n") == 3  # header, the scenario's own allocation, the one given


def test_prior_draws_are_identical_in_one_process_a_pool_and_a_dask_cluster(
    baseline, pool, dask_cluster, tmp_path
):
    runs = dict(replicates=4, seed=3, population_scale=SCALE, parameters="prior", seeds_per_draw=2)
    one = run_ensemble(baseline, workers=1, out=tmp_path / "one", **runs)
    two = run_ensemble(baseline, executor=pool, out=tmp_path / "two", **runs)
    remote = run_ensemble(baseline, scheduler=dask_cluster, out=tmp_path / "dask", **runs)
    assert remote.manifest["executed_on"] == f"dask cluster at {dask_cluster}"
    drawn = one.manifest["drawn_parameters"]
    assert len(drawn) > 50 and "dynamics.job_finding_rate" in drawn
    for other in (two, remote):
        for name in ("replicates", "outcomes", "probabilities", "quantiles", "variance_split"):
            pd.testing.assert_frame_equal(getattr(one, name), getattr(other, name))
    assert one.outcomes["dynamics.job_finding_rate"].nunique() == 2  # two draws of two seeds
