"""Faults of a real Dask cluster on 127.0.0.1 (scheduler and workers are processes we can kill).

- a worker killed (SIGKILL) in the middle of an ensemble and of a sweep: the scheduler runs its
  tasks again elsewhere and the results are identical, bit for bit, to a run in one process;
- the scheduler killed: exit code 6 and one ``error:`` line naming ``--resume``, the finished
  runs kept, and resuming on this machine gives the results of an unfaulted run;
- a worker whose model differs from the client's (another ``__version__``, or one source file
  changed): refused on connect, before any task is sent;
- the client interrupted (SIGINT, SIGTERM): exit 130 / 143, the finished runs kept, nothing
  half-written, and ``--resume`` gives the results of an unfaulted run.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pandas as pd
import pytest

from model.commands.cli import EXIT_BAD_INPUT, EXIT_CLUSTER_LOST, main
from model.experiments.ensemble import run_ensemble
from model.experiments.execution import (
    SYNC_CANCEL_RACE,
    TORNADO_LOG,
    Executor,
    WorkerMismatch,
)
from model.experiments.sweep import run_sweep
from tests.conftest import BASELINE, CLI, ROOT
from tests.experiments.dask_cluster import LocalDaskCluster, kill, wait_until

SCALE = 0.01
SEED = 5
#: Enough runs that a signal or a kill sent after the first few lands well before the last one
#: ends (a run at this scale takes under a tenth of a second).
REPLICATES = 32
SWEEP = dict(
    method="morris",
    samples=2,
    outcomes=["cumulative_exited_people_2018", "total_spend"],
    params=["dynamics.job_finding_rate", "dynamics.illness_months"],
    seed=SEED,
    population_scale=SCALE,
)
ENSEMBLE_TABLES = ("replicates", "outcomes", "probabilities", "quantiles", "outcome_summary")
#: Generous bounds on every wait (the machine may be busy); no test asserts a duration.
TIMEOUT = 240


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two single-threaded workers, torn down whatever the test did to them."""
    cluster = LocalDaskCluster(tmp_path)
    try:
        cluster.add_worker()
        cluster.add_worker()
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def reference(baseline):
    """The unfaulted ensemble, computed in this process."""
    return run_ensemble(
        baseline, replicates=REPLICATES, seed=SEED, workers=1, population_scale=SCALE
    )


def assert_same_ensemble(result, reference) -> None:
    for name in ENSEMBLE_TABLES:
        pd.testing.assert_frame_equal(
            getattr(result, name), getattr(reference, name), check_exact=True
        )


def stored_keys(runs) -> set[int]:
    """Keys of the finished runs in a runs folder (whole parts only), read as a resume would."""
    if not (runs / "job.json").is_file():
        return set()
    keys: set[int] = set()
    for part in runs.glob("part-*"):
        keys.update(int(k) for k in pd.read_parquet(part / "outcomes.parquet")["task"])
    return keys


def finished_tasks(client, prefix: str) -> int:
    """How many tasks of this kind reached memory on the scheduler so far (all jobs)."""

    def count(dask_scheduler, prefix=prefix):
        tp = dask_scheduler.task_prefixes.get(prefix)
        return 0 if tp is None else tp.state_counts["memory"]

    return client.run_on_scheduler(count)


def kill_a_busy_worker(cluster, runs, at_least: int) -> tuple[str, int]:
    """Once ``runs`` holds ``at_least`` finished runs, SIGKILL a worker that holds a task."""
    wait_until(lambda: len(stored_keys(runs)) >= at_least, TIMEOUT, f"{at_least} stored runs")
    with cluster.client() as observer:
        busy = wait_until(
            lambda: [w for w, tasks in observer.processing().items() if tasks],
            TIMEOUT,
            "a worker holding a task",
            every=0.01,
        )
    done = len(stored_keys(runs))
    kill(cluster.workers[busy[0]])
    return busy[0], done


def in_thread(work):
    """Run ``work()`` in a thread; a function returning its result (or raising its error)."""
    box = {}

    def target():
        try:
            box["value"] = work()
        except BaseException as err:  # noqa: BLE001 - handed to the test thread
            box["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()

    def result():
        thread.join(TIMEOUT)
        assert not thread.is_alive(), f"the job did not finish within {TIMEOUT} s"
        if "error" in box:
            raise box["error"]
        return box["value"]

    return result


def test_worker_killed_mid_ensemble_changes_nothing(baseline, cluster, reference, tmp_path):
    out = tmp_path / "ens"
    with Executor(scheduler=cluster.address, flush_seconds=0.1, max_buffer=1) as ex:
        result = in_thread(
            lambda: run_ensemble(
                baseline,
                replicates=REPLICATES,
                seed=SEED,
                population_scale=SCALE,
                out=out,
                executor=ex,
            )
        )
        killed, done = kill_a_busy_worker(cluster, out / "runs", at_least=2)
        ensemble = result()
    assert cluster.workers[killed].returncode == -signal.SIGKILL
    assert 2 <= done < REPLICATES  # the worker died in the middle of the job
    assert ensemble.manifest["runs_computed"] == REPLICATES
    assert_same_ensemble(ensemble, reference)
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "replicates.parquet"), reference.replicates, check_exact=True
    )
    # every replicate is stored once: a rescheduled task neither lost nor counted twice
    rows = pd.concat(pd.read_parquet(p / "outcomes.parquet") for p in (out / "runs").glob("part-*"))
    assert sorted(rows["task"]) == list(range(REPLICATES))


def test_worker_killed_mid_sweep_changes_nothing(baseline, cluster, tmp_path):
    expected = run_sweep(baseline, **SWEEP, workers=1)
    out = tmp_path / "sweep"
    runs = expected.manifest["runs"]
    with Executor(scheduler=cluster.address, flush_seconds=0.1, max_buffer=1) as ex:
        result = in_thread(lambda: run_sweep(baseline, **SWEEP, out=out, executor=ex))
        killed, done = kill_a_busy_worker(cluster, out / "runs", at_least=2)
        swept = result()
    assert cluster.workers[killed].returncode == -signal.SIGKILL
    assert 2 <= done < runs
    assert swept.manifest["runs_computed"] == runs == 6
    pd.testing.assert_frame_equal(swept.points, expected.points, check_exact=True)
    pd.testing.assert_frame_equal(swept.sensitivity, expected.sensitivity, check_exact=True)
    rows = pd.concat(pd.read_parquet(p / "outcomes.parquet") for p in (out / "runs").glob("part-*"))
    assert sorted(rows["task"]) == list(range(runs))


def ensemble_command(out, *extra: str) -> list[str]:
    return [
        "run",
        str(BASELINE),
        "--replicates",
        str(REPLICATES),
        "--seed",
        str(SEED),
        "--population-scale",
        str(SCALE),
        "--quiet",
        "--out",
        str(out),
        *extra,
    ]


def start_client(cluster, out) -> subprocess.Popen:
    """``shaoguan-abm run --replicates`` on the cluster, in its own process."""
    return subprocess.Popen(
        [*CLI, *ensemble_command(out, "--scheduler", cluster.address)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_finished_replicates(cluster, before: int, n: int) -> None:
    with cluster.client() as observer:
        wait_until(
            lambda: finished_tasks(observer, "run_replicate") >= before + n,
            TIMEOUT,
            f"{n} finished replicates",
            every=0.1,
        )


def assert_only_whole_parts(out) -> set[int]:
    """``out`` holds nothing but ``runs/`` with the job and whole parts; their keys."""
    assert sorted(p.name for p in out.iterdir()) == ["runs"]
    names = sorted(p.name for p in (out / "runs").iterdir())
    assert names[0] == "job.json" and all(n.startswith("part-") for n in names[1:]), names
    for part in (out / "runs").glob("part-*"):
        tables = sorted(part.iterdir())
        assert "outcomes.parquet" in [t.name for t in tables]
        for table in tables:  # whole Parquet files only, each readable
            assert table.suffix == ".parquet", table
            pd.read_parquet(table)
    return stored_keys(out / "runs")


def resume_on_this_machine(out, reference, capsys, kept: set[int]) -> None:
    capsys.readouterr()
    assert main(ensemble_command(out, "--resume", "--workers", "1")) == 0
    printed = capsys.readouterr().out
    assert f"{REPLICATES - len(kept)} runs" in printed
    assert (f"({len(kept)} resumed)" in printed) == bool(kept)
    for name in ("replicates", "outcomes", "quantiles"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(out / f"{name}.parquet"),
            getattr(reference, name),
            check_exact=True,
        )
    assert sorted(stored_keys(out / "runs")) == list(range(REPLICATES))


def test_scheduler_killed_exits_6_naming_resume_and_resume_finishes(
    cluster, reference, tmp_path, capsys
):
    out = tmp_path / "ens"
    with cluster.client() as observer:
        before = finished_tasks(observer, "run_replicate")
    client = start_client(cluster, out)
    try:
        wait_for_finished_replicates(cluster, before, 2)
        kill(cluster.scheduler)
        _, stderr = client.communicate(timeout=TIMEOUT)
    finally:
        kill(client)
    assert client.returncode == EXIT_CLUSTER_LOST, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --scheduler "), stderr
    assert "lost the connection to the Dask scheduler" in lines[0]
    assert f"--out {out} --resume" in lines[0]
    kept = assert_only_whole_parts(out)
    assert 1 <= len(kept) < REPLICATES
    resume_on_this_machine(out, reference, capsys, kept)


def test_scheduler_killed_during_budget_exits_6_and_writes_nothing(cluster, tmp_path):
    # budget keeps its replicates in memory: nothing to resume, nothing half-written
    out = tmp_path / "budget"
    with cluster.client() as observer:
        before = finished_tasks(observer, "run_one")
    client = subprocess.Popen(
        [*CLI, "budget", str(BASELINE), "--replicates", "12",
         "--population-scale", str(SCALE), "--scheduler", cluster.address, "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        with cluster.client() as observer:
            wait_until(
                lambda: finished_tasks(observer, "run_one") >= before + 2,
                TIMEOUT,
                "2 finished budget replicates",
                every=0.1,
            )
        kill(cluster.scheduler)
        _, stderr = client.communicate(timeout=TIMEOUT)
    finally:
        kill(client)
    assert client.returncode == EXIT_CLUSTER_LOST, stderr
    assert stderr.strip().splitlines()[-1] == (
        f"error: --scheduler {cluster.address}: lost the connection to the Dask scheduler in the "
        "middle of the work; nothing was written"
    )
    assert "Traceback" not in stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "signum, code, word",
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_client_interrupted_keeps_finished_runs_and_resumes(
    cluster, reference, tmp_path, capsys, signum, code, word
):
    out = tmp_path / "ens"
    with cluster.client() as observer:
        before = finished_tasks(observer, "run_replicate")
    client = start_client(cluster, out)
    try:
        wait_for_finished_replicates(cluster, before, 3)
        client.send_signal(signum)
        _, stderr = client.communicate(timeout=TIMEOUT)
    finally:
        kill(client)
    assert client.returncode == code, stderr
    assert "Traceback" not in stderr
    assert stderr.strip() == (
        f"{word}: the runs that finished are saved in {out}/runs; to continue, run the same run "
        f"command with --out {out} --resume"
    )
    kept = assert_only_whole_parts(out)
    assert 1 <= len(kept) < REPLICATES
    resume_on_this_machine(out, reference, capsys, kept)


def copy_of_the_package(root, change: str):
    """A copy of ``model/`` under ``root`` whose version or one source file differs."""
    shutil.copytree(ROOT / "model", root / "model", ignore=shutil.ignore_patterns("__pycache__"))
    if change == "version":
        init = root / "model" / "__init__.py"
        init.write_text(init.read_text().replace('__version__ = "', '__version__ = "9.9.9+'))
    else:
        source = root / "model" / "engine" / "dynamics.py"
        source.write_text(source.read_text() + "\n# changed on this worker only\n")
    return root


@pytest.mark.parametrize("change", ["version", "source"])
def test_worker_with_another_model_is_refused_before_any_task(tmp_path, capsys, change):
    import model
    from model.experiments.execution import package_fingerprint

    other = copy_of_the_package(tmp_path / "other", change)
    cluster = LocalDaskCluster(tmp_path)
    try:
        cluster.add_worker(cwd=other, env={**os.environ, "PYTHONPATH": str(other)})
        cluster.wait_for_workers(1)
        (worker,) = cluster.workers
        version, digest = package_fingerprint()
        theirs = "9.9.9+" + version if change == "version" else version
        with pytest.raises(WorkerMismatch) as refused:
            Executor(scheduler=cluster.address).connect()
        message = str(refused.value)
        assert message.startswith(
            f"--scheduler {cluster.address}: worker {worker} runs model {theirs} (files "
        )
        assert message.endswith(
            f", this client {model.__version__} (files {digest}); install the same version on "
            "every worker"
        )
        out = tmp_path / "ens"
        assert main(ensemble_command(out, "--scheduler", cluster.address)) == EXIT_BAD_INPUT
        assert capsys.readouterr().err == f"error: {message}\n"
        assert not out.exists()
        with cluster.client() as observer:
            assert finished_tasks(observer, "run_replicate") == 0
            assert observer.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0
    finally:
        cluster.close()


def pool_workers(pid: int) -> list[int]:
    """Process ids of the local pool's workers among the children of ``pid`` (Linux /proc)."""
    try:
        children = (Path(f"/proc/{pid}/task/{pid}/children")).read_text().split()
    except OSError:
        return []
    workers = []
    for child in children:
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            workers.append(int(child))
    return workers


def ignores_sigint(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(line for line in status.splitlines() if line.startswith("SigIgn:"))
    return bool(int(mask.split()[1], 16) & (1 << (signal.SIGINT - 1)))


def ready_pool_workers(pid: int) -> list[int]:
    """The pool's two workers, once both have started (they ignore SIGINT from then on)."""
    workers = pool_workers(pid)
    return workers if len(workers) == 2 and all(map(ignores_sigint, workers)) else []


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_ctrl_c_on_the_local_pool_ends_its_workers_quietly(reference, tmp_path, capsys):
    # Ctrl-C reaches the whole process group: the pool's workers used to print a traceback each
    out = tmp_path / "ens"
    client = subprocess.Popen(
        [*CLI, *ensemble_command(out, "--workers", "2")],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        workers = wait_until(lambda: ready_pool_workers(client.pid), TIMEOUT, "two pool workers")
        os.killpg(client.pid, signal.SIGINT)
        _, stderr = client.communicate(timeout=TIMEOUT)
    finally:
        kill(client)
    assert client.returncode == 130, stderr
    assert stderr.strip() == (
        f"interrupted: the runs that finished are saved in {out}/runs; to continue, run the same "
        f"run command with --out {out} --resume"
    )
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]  # the workers ended
    kept = assert_only_whole_parts(out)
    resume_on_this_machine(out, reference, capsys, kept)


def test_a_scheduler_without_workers_is_refused_after_the_wait_not_waited_on_for_ever(tmp_path):
    cluster = LocalDaskCluster(tmp_path)
    try:
        executor = Executor(scheduler=cluster.address, worker_wait_seconds=1.0)
        with pytest.raises(OSError, match="has no worker, and none joined within 1 s"):
            executor.connect()
        assert executor._client is None
        # a worker still starting when the client connects is waited for
        cluster.add_worker()
        with Executor(scheduler=cluster.address, worker_wait_seconds=TIMEOUT) as ex:
            assert ex.map(abs, [-3, 4]) == [3, 4]
    finally:
        cluster.close()


def test_connecting_quiets_dasks_cancel_race(cluster):
    log = logging.getLogger(TORNADO_LOG)
    log.removeFilter(SYNC_CANCEL_RACE)  # as in a process that has not connected yet
    with Executor(scheduler=cluster.address) as ex:
        ex.connect()
        assert SYNC_CANCEL_RACE in log.filters
