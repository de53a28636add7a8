"""Faults of a calibration: the ``calibrate`` process killed at any point, a Dask worker lost.

- ``shaoguan-abm calibrate`` SIGKILLed several times at seeded random moments (also while
  pyabc writes a generation into ``history.db``): after every kill SQLite's integrity check
  says ok and no complete generation is lost; ``--resume`` to the end gives, bit for bit, the
  posterior of a calibration never interrupted (single-core sampler);
- a Dask worker SIGKILLed while pyabc's Dask sampler waits on it: the calibration finishes and
  its posterior is a valid one (the same number of particles, weights summing to 1, every value
  inside its prior range). Its draws depend on the order in which runs finish, so it is checked
  for validity, not equality.

The calibrations are small (population scale 0.01, three years, two parameters, four particles,
three generations).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from model.engine.scenario import load_scenario
from model.experiments.calibration import calibrate, fitted_parameters
from tests.conftest import BASELINE, ROOT
from tests.experiments.dask_cluster import LocalDaskCluster, kill, wait_until
from tests.experiments.test_calibration import SCALE, TRUTH, synthetic_observations

PARTICLES = 4
GENERATIONS = 3
SEED = 3
KILLS = 4
#: Generous bound on every wait (the machine may be busy); no test asserts a duration.
TIMEOUT = 240


@pytest.fixture(scope="module")
def short():
    return load_scenario(BASELINE, ["calendar.end_year=2018"])


def command(observed, out, *extra: str) -> list[str]:
    """``shaoguan-abm calibrate`` of the small calibration, as a process's argument list."""
    params = [arg for name in TRUTH for arg in ("--param", name)]
    return [
        sys.executable, "-m", "model", "calibrate", str(BASELINE),
        "--set", "calendar.end_year=2018", "--observed", str(observed), *params,
        "--population-scale", str(SCALE), "--particles", str(PARTICLES),
        "--generations", str(GENERATIONS), "--predictive-draws", "2", "--seed", str(SEED),
        "--out", str(out), *extra,
    ]  # fmt: skip


def start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        start_new_session=True,  # its own process group: kill() ends it and nothing else
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def integrity(db) -> str:
    """SQLite's integrity check of ``db`` (opening it rolls back what a kill left unfinished)."""
    with sqlite3.connect(db) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def complete_generations(db) -> list[int]:
    """The generations stored in ``db``, each checked to hold all its particles."""
    if not db.is_file():
        return []
    with sqlite3.connect(db) as connection:
        try:
            rows = connection.execute(
                "SELECT populations.t, COUNT(particles.id) FROM populations "
                "JOIN models ON models.population_id = populations.id "
                "JOIN particles ON particles.model_id = models.id "
                "WHERE populations.t >= 0 GROUP BY populations.t ORDER BY populations.t"
            ).fetchall()
        except sqlite3.OperationalError:  # killed before pyabc made its tables
            return []
    assert all(n == PARTICLES for _, n in rows), rows
    return [t for t, _ in rows]


@pytest.fixture(scope="module")
def straight(short, tmp_path_factory):
    """The observations, and the posterior of the calibration run without interruption."""
    folder = tmp_path_factory.mktemp("straight")
    observed = synthetic_observations(short, folder)
    result = calibrate(
        short,
        observed,
        folder / "cal",
        params=list(TRUTH),
        population_scale=SCALE,
        particles=PARTICLES,
        generations=GENERATIONS,
        predictive_draws=2,
        seed=SEED,
        figures=False,
    )
    return observed, result.posterior


@pytest.mark.slow
def test_a_calibration_killed_at_random_points_resumes_to_the_uninterrupted_posterior(
    straight, tmp_path
):
    observed, posterior = straight
    out = tmp_path / "killed"
    db = out / "history.db"
    rng = random.Random(20_161_231)
    kept: list[int] = []
    for attempt in range(KILLS):
        process = start(command(observed, out, *(["--resume"] if attempt else [])))
        try:
            wait_until(lambda p=process: db.is_file() or p.poll() is not None, TIMEOUT, "a db")
            time.sleep(rng.uniform(0.0, 3.0))
        finally:
            kill(process)
        assert process.returncode == -9, process.stderr.read()
        assert integrity(db) == "ok"
        now = complete_generations(db)
        assert now[: len(kept)] == kept  # a kill never loses a generation complete before it
        kept = now
    finished = subprocess.run(
        command(observed, out, "--resume"), cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert finished.returncode == 0, finished.stderr
    assert integrity(db) == "ok"
    assert complete_generations(db) == list(range(GENERATIONS))
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "posterior.parquet"), posterior, check_exact=True
    )


#: Runs ``shaoguan-abm`` and SIGKILLs itself inside the transaction that stores generation
#: ``KILL_AT_GENERATION``, once its rows are flushed. SQLite's page cache is one page, so the
#: flushed rows spill into ``history.db`` before the kill: the file is left half-written and only
#: the rollback journal beside it restores the last complete generation.
KILL_INSIDE_A_WRITE = """
import os, signal, sys
import sqlalchemy as sa
from sqlalchemy.engine import Engine

@sa.event.listens_for(Engine, "connect")
def _small_cache(dbapi_connection, record):
    dbapi_connection.execute("PRAGMA cache_size=1")

@sa.event.listens_for(Engine, "commit")
def _kill(connection):
    t = connection.exec_driver_sql("SELECT max(t) FROM populations").scalar()
    if t == int(os.environ["KILL_AT_GENERATION"]):
        os.kill(os.getpid(), signal.SIGKILL)

from model.commands.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_calibration_killed_while_writing_a_generation_resumes_to_the_same_posterior(
    straight, tmp_path
):
    observed, posterior = straight
    out = tmp_path / "killed"
    db = out / "history.db"
    args = command(observed, out)
    args[1:3] = ["-c", KILL_INSIDE_A_WRITE]  # instead of "-m model"
    env = {**os.environ, "KILL_AT_GENERATION": "1"}
    killed = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    journal = out / "history.db-journal"
    assert journal.is_file() and journal.stat().st_size > 0  # a hot journal: a write cut short
    assert integrity(db) == "ok"  # opening the database rolled the half-written generation back
    assert not journal.exists()
    assert complete_generations(db) == [0]
    finished = subprocess.run(
        command(observed, out, "--resume"), cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert finished.returncode == 0, finished.stderr
    assert "resuming after generation 1" in finished.stderr
    assert complete_generations(db) == list(range(GENERATIONS))
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "posterior.parquet"), posterior, check_exact=True
    )


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


@pytest.mark.slow
def test_a_worker_killed_mid_calibration_leaves_a_valid_posterior(short, cluster, tmp_path):
    from tests.experiments.test_dask_faults import in_thread

    observed = synthetic_observations(short, tmp_path)
    out = tmp_path / "cal"
    result = in_thread(
        lambda: calibrate(
            short,
            observed,
            out,
            params=list(TRUTH),
            population_scale=SCALE,
            particles=PARTICLES,
            generations=2,
            predictive_draws=2,
            seed=SEED,
            scheduler=cluster.address,
            figures=False,
        )
    )
    wait_until(lambda: (out / "history.db").is_file(), TIMEOUT, "the history database")
    with cluster.client() as observer:
        busy = wait_until(
            lambda: [w for w, tasks in observer.processing().items() if tasks],
            TIMEOUT,
            "a worker running a model",
            every=0.01,
        )
    kill(cluster.workers[busy[0]])
    calibration = result()
    assert cluster.workers[busy[0]].returncode == -9
    posterior = calibration.posterior
    assert len(posterior) == PARTICLES
    assert posterior["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (posterior["weight"] > 0).all()
    for name, info in fitted_parameters(short, list(TRUTH)).items():
        values = posterior[name].to_numpy()
        assert np.all((values >= info["low"]) & (values <= info["high"])), (name, values)
    assert list(calibration.generations["generation"]) == [0, 1]
    assert (calibration.generations["particles"] == PARTICLES).all()
    assert calibration.manifest["settings"]["reproducible"] is False
    assert integrity(out / "history.db") == "ok"


def test_a_calibration_killed_before_its_history_existed_resumes_from_the_start(short, tmp_path):
    # a kill after the settings were written and before pyabc made history.db leaves the
    # settings alone: --resume starts from the first generation (it used to be refused)
    observed = synthetic_observations(short, tmp_path)
    settings = dict(
        params=["dynamics.job_finding_rate"],
        population_scale=SCALE,
        particles=PARTICLES,
        generations=1,
        predictive_draws=2,
        seed=SEED,
        figures=False,
    )
    straight = calibrate(short, observed, tmp_path / "straight", **settings)
    killed = tmp_path / "killed"
    killed.mkdir()
    shutil.copy(tmp_path / "straight" / "calibration_settings.json", killed)
    resumed = calibrate(short, observed, killed, resume=True, **settings)
    pd.testing.assert_frame_equal(resumed.posterior, straight.posterior, check_exact=True)
    assert integrity(killed / "history.db") == "ok"
