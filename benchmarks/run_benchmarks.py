"""`make bench`: time the reference workloads and write benchmarks/results.json.

Workloads (issue 7):

- ``W1``: ``scenarios/baseline.toml`` at population scale 1, 60 months, one process;
- ``W1 scale 0.1``: the same at scale 0.1 (cost per household-month should not depend on size);
  ``W1 scale 0.1 compiled kernels`` the same with the compiled kernels loaded first, as every
  run of a many-run job has them (W4): fitted with W1, the fixed cost of such a run's month;
  ``W1 feedback scale 0.1 compiled kernels`` likewise with every mechanism on, fitted with
  ``W1 feedback``; ``W1 scale 0.005 compiled kernels`` and ``W1 feedback scale 0.005 compiled
  kernels`` (about 590 households, a month almost all fixed cost) join each fit;
- ``W2``: replicates of W1 with 1 and with 2 worker processes (speed-up from 1 to 2 workers);
- ``W3``: ``scenarios/guangdong_scale.toml`` at scale 1 (province-sized scale test);
- ``W1 feedback`` and ``W1 feedback scale 0.1``: ``scenarios/feedback.toml`` (W1 with the
  feedback mechanisms on) at scales 1 and 0.1, and ``W1 feedback closed register`` (the same
  with ``living_register.entry_detection=0``: no household enters the register, so the
  mechanisms' own cost shows apart from that of serving a larger register); their cost per
  household-month over W1's is
  printed as the mechanisms' cost ratio (at most 1.2 is the aim), and they are left out of the
  cost fit and the spread, which describe the baseline;
- ``W4``: ``BENCH_W4_RUNS`` runs (default 2,000) of the baseline at scale 0.05 through the sweep
  evaluator (:class:`model.experiments.sweep.ModelEvaluator`, one replicate seed each) on
  ``BENCH_W4_WORKERS`` (default 2) worker processes: wall time, the workers' CPU seconds, and a
  check that the first ``BENCH_W4_CHECK`` runs (default 20) are identical when run one by one in
  the driver process;
- ``W4 dask``: ``BENCH_W4_DASK_RUNS`` of the same runs (default 400) through a Dask cluster
  started on this machine (a scheduler and ``BENCH_W4_WORKERS`` single-threaded workers on
  127.0.0.1): what a cluster adds per run, the base for extrapolating to a cluster of N machines;
- ``naive Mesa``: ``benchmarks/naive_mesa.py``, the engine's income, job and exit rules with one
  ``mesa.Agent`` per household, at W1's population for ``BENCH_NAIVE_MONTHS`` months (default
  12); W1's cost per household-month is reported against it as a ratio;
- ``import model`` and ``shaoguan-abm check scenarios/baseline.toml`` (wall time of a fresh
  interpreter);
- ``W5``: a calibration (``model.calibrate``, pyabc ABC-SMC) of 10 uncertainties of
  ``scenarios/guangdong.toml`` to the provincial observations of ``data/observed/`` with 200
  particles over 6 generations, on runs of about 8,000 households (population scale 0.0055),
  with ``BENCH_W5_WORKERS`` local workers (default 2): model runs, seconds and the acceptance
  rate of each generation. ``BENCH_W5_PARTICLES``, ``BENCH_W5_GENERATIONS`` and
  ``BENCH_W5_SCALE`` shrink it (``--quick``: 10 particles, 2 generations, scale 0.002); it is
  skipped with ``BENCH_SKIP=W5``.

Every workload runs in a fresh subprocess, so its peak RSS is its own. Timings on a shared
machine are noisy, and the noise only ever adds time (on the reference 2-core machine the same
run varied by up to 70% between repeats): each single-process workload is repeated
``BENCH_REPEATS`` times (default 5; W3 ``BENCH_W3_REPEATS``, default 2) and the fastest repeat is
reported, with every repeat's figure in ``results.json``; W1 and its two feedback variants (and
the two runs at scale 0.1) take their repeats in turn, so that a slow spell falls on each of them
and their ratios stay fair. W2 runs ``BENCH_W2_REPLICATES``
replicates (default 200, the reference workload; about 11 minutes on 2 cores) once with each
worker count and reports the speed-up and the seconds per replicate. The cost of the
monthly step is ``seconds_simulation / (households x months)`` (wall clock, as the manifest
records it), with the process's CPU time per household-month beside it (steadier when other
work shares the machine); population building is timed apart. A cProfile of one W1 run lists
where the monthly step's time goes.

The cost of a month is close to affine in the number of households: a fixed part (nine
measures, the ledger, the checks and the record each make a few hundred small numpy calls
whatever the size) plus a part per household. The table's last lines fit ``seconds per month =
fixed + marginal x households`` by least squares over the single-run workloads, so the cost of
any size can be predicted, and show what share of each workload's cost is the fixed part.

Environment variables: ``BENCH_REPEATS``, ``BENCH_W3_REPEATS``, ``BENCH_W2_REPLICATES``,
``BENCH_W2_WORKERS`` (default 2), ``BENCH_W4_RUNS``, ``BENCH_W4_WORKERS``, ``BENCH_W4_CHECK``,
``BENCH_W4_DASK_RUNS``,
``BENCH_NAIVE_MONTHS``, ``BENCH_SKIP`` (comma-separated workload names to skip, e.g.
``W2,W3``), ``BENCH_PROFILE_TOP`` (default 20). Options: ``--only W1,W4`` runs only the named
workloads (names as in ``BENCH_SKIP``: ``W1 scale 0.1``, ``W1 scale 0.1 compiled kernels``,
``W1``, ``W3``, ``W1 feedback scale
0.1``, ``W1 feedback``, ``W1 feedback closed register``, ``W2``, ``W4``, ``W4 dask``, ``W5``,
``naive``, ``import``, ``check``, ``profile``);
``--quick`` is a short check of everything but W2 and W3 (2 repeats, W4 with 100 runs, the
naive version for 3 months).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
BASELINE = ROOT / "scenarios" / "baseline.toml"
GUANGDONG = ROOT / "scenarios" / "guangdong_scale.toml"
GUANGDONG_PROGRAMME = ROOT / "scenarios" / "guangdong.toml"
OBSERVED = ROOT / "data" / "observed" / "observed_calibration.csv"
#: The ten uncertainties W5 calibrates.
W5_PARAMETERS = (
    "assessment.provincial_income_growth",
    "population.poor_income_mean_share",
    "population.employed_share_poor",
    "population.wage_share_poor",
    "dynamics.wage_growth",
    "dynamics.job_finding_rate",
    "dynamics.job_loss_rate",
    "dynamics.new_job_wage_2015",
    "employment.placement_rate",
    "industry.project_return",
)
FEEDBACK = ROOT / "scenarios" / "feedback.toml"
#: Suffix of the workloads that run ``FEEDBACK`` instead of the baseline.
FEEDBACK_TAG = "feedback"
#: ``W1 feedback closed register``: the four mechanisms on, but no household enters the register
#: (it only loses the wrongly registered), so the cost of the mechanisms is measured apart from
#: the cost of serving a larger register.
CLOSED_TAG = "closed register"
CLOSED_REGISTER = "living_register.entry_detection=0"
#: W1 with the numpy kernels at every size (``SHAOGUAN_ABM_KERNELS=numpy``): the engine that
#: a lone small run uses, and so the one the first cost model is fitted to, with W1 scale 0.1
NUMPY_KERNELS_TAG = "numpy kernels"
#: W1 scale 0.1 with the compiled kernels loaded first: the engine of every run of a many-run
#: job (sweeps, calibrations: W4), fitted with W1 for the cost model of those runs
COMPILED_TAG = "compiled kernels"
#: The smallest scale at which every county has households (about 590 of them): its month is
#: almost all fixed cost, which it pins down in the compiled-kernel fits
TINY_SCALE = 0.005
W2_REFERENCE_REPLICATES = 200
W4_REFERENCE_RUNS = 2000
W4_SCALE = 0.05


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _rss_mb() -> float:
    """Current resident set size of this process (MB)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


# -- inside the workload subprocess ---------------------------------------------------------


def _single(
    scenario_path: Path, scale: float, seed: int, overrides: list[str] = (), preload: bool = False
) -> dict:
    import model

    scenario = model.load_scenario(scenario_path, list(overrides))
    import pandas  # noqa: F401 - imported by the results, counted with the imports

    from model.engine import kernels
    from model.results.recording import RecordedModel

    t0 = time.perf_counter()
    if preload:  # the compiled kernels cost once per process, like the imports
        kernels.load()
    load_s = time.perf_counter() - t0
    rss_imports = _rss_mb()
    t0 = time.perf_counter()
    m = RecordedModel(scenario, seed=seed, population_scale=scale)
    cpu0 = time.process_time()
    m.run_model()
    cpu_step = time.process_time() - cpu0
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    manifest = m.result().manifest
    households, months = manifest["households_simulated"], manifest["months"]
    # the kernel updates its high-water mark lazily, so a resident size read from /proc can
    # pass it by a page or two: the peak is at least every size measured
    peak = max(_peak_rss_mb(), _rss_mb(), rss_imports)
    return {
        "households": households,
        "months": months,
        "population_s": manifest["seconds_population"],
        "simulation_s": manifest["seconds_simulation"],
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "kernels": manifest["kernels"],
        "kernels_load_s": load_s if preload else None,
        "ns_per_household_month": 1e9 * manifest["seconds_simulation"] / (households * months),
        "cpu_ns_per_household_month": 1e9 * cpu_step / (households * months),
        "cpu_simulation_s": cpu_step,
        "peak_rss_mb": peak,
        "rss_after_imports_mb": rss_imports,
        "bytes_per_household": (peak - rss_imports) * 2**20 / households,
    }


def _ensemble(replicates: int, workers: int, seed: int) -> dict:
    import model
    from model.experiments.ensemble import run_ensemble

    runner = "model.experiments.ensemble.run_ensemble"
    scenario = model.load_scenario(BASELINE)
    t0 = time.perf_counter()
    run_ensemble(scenario, replicates=replicates, seed=seed, workers=workers, population_scale=1.0)
    wall = time.perf_counter() - t0
    cpu = sum(
        getattr(resource.getrusage(who), f)
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for f in ("ru_utime", "ru_stime")
    )
    return {
        "runner": runner,
        "replicates": replicates,
        "workers": workers,
        "wall_s": wall,
        "s_per_replicate": wall / replicates,
        "cpu_s": cpu,
        "peak_rss_mb": max(_peak_rss_mb(), _peak_rss_mb(resource.RUSAGE_CHILDREN)),
    }


def _w4_task(payload: tuple) -> tuple[dict, int, float]:
    """One W4 run in a worker: its outcomes, the worker's pid and its CPU seconds so far."""
    evaluate, replicate = payload
    outcomes = evaluate({}, replicate)
    return outcomes, os.getpid(), time.process_time()


def _local_dask_cluster(workers: int) -> tuple[str, list[subprocess.Popen]]:
    """A Dask scheduler and ``workers`` single-threaded workers on 127.0.0.1 (processes)."""
    import socket

    def free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": ROOT}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],
            **quiet,
        )  # fmt: skip
    ]
    for _ in range(workers):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    address,
                    "--host",
                    "127.0.0.1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                ],
                **quiet,
            )  # fmt: skip
        )
    return address, procs


def _w4(runs: int, workers: int, scale: float, seed: int, check: int, dask: bool = False) -> dict:
    import model
    from model.engine.kernels import MANY_RUNS
    from model.experiments.execution import Executor
    from model.experiments.sweep import ModelEvaluator

    scenario = model.load_scenario(BASELINE)
    # as run_sweep does: a job of many runs loads the compiled kernels in every worker
    evaluate = ModelEvaluator(
        json.dumps(scenario.model_dump(mode="json")), scale, seed, load_kernels=runs >= MANY_RUNS
    )
    payloads = [(evaluate, r) for r in range(runs)]
    procs: list[subprocess.Popen] = []
    try:
        if dask:  # the same runs through a Dask cluster of `workers` single-threaded workers
            from distributed import Client

            address, procs = _local_dask_cluster(workers)
            with Client(address, timeout="60s", set_as_default=False) as client:
                client.wait_for_workers(workers, timeout=120)
            executor = Executor(scheduler=address)
        else:
            executor = Executor(workers=workers)
        t0 = time.perf_counter()
        with executor as ex:
            done = ex.map(_w4_task, payloads)
        wall = time.perf_counter() - t0
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=30)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_cpu: dict[int, float] = {}
    for _, pid, cpu in done:  # a worker's last report is its CPU time at its last run
        worker_cpu[pid] = max(worker_cpu.get(pid, 0.0), cpu)
    # the same runs one by one in this process: identical outcomes expected
    checked = min(check, runs)
    sequential = [evaluate({}, r) for r in range(checked)]
    identical = sequential == [outcomes for outcomes, _, _ in done[:checked]]
    return {
        "runs": runs,
        "workers": workers,
        "engine": "dask" if dask else "local pool",
        "population_scale": scale,
        "wall_s": wall,
        "s_per_run": wall / runs,
        "worker_cpu_s": sorted(worker_cpu.values(), reverse=True),
        "children_cpu_s": children.ru_utime + children.ru_stime,
        "cores_used": sum(worker_cpu.values()) / wall,
        "checked_runs": checked,
        "identical_to_one_by_one": identical,
        "projected_s_2000_runs": wall / runs * W4_REFERENCE_RUNS,
    }


def _naive(months: int, scale: float) -> dict:
    sys.path.insert(0, str(BENCH))
    from naive_mesa import measure

    return measure(scale, months)


def _kernels_same_process(repeats: int) -> dict:
    """W1 and W1 feedback with numpy and with compiled kernels, alternated in one process.

    Between fresh processes the repeats of one workload scatter as much as the kernels change
    it; alternating the two in one process puts them under the same conditions. Best CPU time
    of the months after the first, in ns per household-month.
    """
    import model
    from model.engine import kernels
    from model.results.recording import RecordedModel

    if kernels.load() is None:
        return {"error": f"compiled kernels unavailable: {kernels.unavailable}"}
    best: dict[str, float] = {}
    for _ in range(repeats):
        for path in (BASELINE, FEEDBACK):
            scenario = model.load_scenario(path)
            for choice in ("numpy", "compiled"):
                os.environ[kernels.KERNELS_ENV] = choice  # read when the model is built
                m = RecordedModel(scenario, seed=1, population_scale=1.0)
                m.step()  # the first month outside the count, as in month_instructions.py
                cpu0 = time.process_time()
                m.run_model()
                cpu = time.process_time() - cpu0
                ns = 1e9 * cpu / (m.households.n * (m.month_index - 1))
                key = f"{path.stem} {choice}"
                best[key] = min(best.get(key, float("inf")), ns)
                m.release()
    return {"repeats": repeats, "cpu_ns_per_household_month": best}


def _profile(top: int) -> dict:
    import cProfile
    import pstats

    import model
    from model.results.recording import RecordedModel

    m = RecordedModel(model.load_scenario(BASELINE), seed=1, population_scale=1.0)
    profiler = cProfile.Profile()
    profiler.enable()
    m.run_model()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    rows = []
    for (path, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():
        rows.append(
            {
                "function": f"{Path(path).name}:{line}({func})" if line else func,
                "calls": ncalls,
                "tottime_s": tottime,
                "cumtime_s": cumtime,
                "share": tottime / total,
            }
        )
    rows.sort(key=lambda r: -r["tottime_s"])
    return {"total_s": total, "top": rows[:top]}


def _calibration(particles: int, generations: int, scale: float, workers: int, seed: int) -> dict:
    import tempfile

    import model
    from model.results.recording import run

    scenario = model.load_scenario(GUANGDONG_PROGRAMME)
    households = run(scenario, seed=seed, population_scale=scale).manifest["households_simulated"]
    with tempfile.TemporaryDirectory(prefix="bench-calibration-") as tmp:
        t0 = time.perf_counter()
        result = model.calibrate(
            scenario,
            OBSERVED,
            Path(tmp) / "cal",
            params=list(W5_PARAMETERS),
            skip_unknown=True,
            population_scale=scale,
            particles=particles,
            generations=generations,
            predictive_draws=min(50, particles),
            seed=seed,
            workers=workers,
            figures=False,
        )
        wall = time.perf_counter() - t0
    return {
        "parameters": len(W5_PARAMETERS),
        "particles": particles,
        "generations": generations,
        "population_scale": scale,
        "households": households,
        "workers": workers,
        "runs": result.manifest["runs"],
        "runs_predictive": result.manifest["runs_predictive"],
        "wall_s": wall,
        "s_per_run": wall / (result.manifest["runs"] + result.manifest["runs_predictive"]),
        "acceptance_rate": [round(float(v), 3) for v in result.generations["acceptance_rate"]],
        "seconds_per_generation": [float(v) for v in result.generations["seconds"]],
    }


def child_main(argv: list[str]) -> None:
    """Run one workload in this (fresh) process and print its measurements as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "kind",
        choices=["single", "ensemble", "profile", "w4", "naive", "calibration", "kernels"],
    )
    parser.add_argument("--particles", type=int, default=200)
    parser.add_argument("--generations", type=int, default=6)
    parser.add_argument("--scenario", type=Path, default=BASELINE)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--runs", type=int, default=W4_REFERENCE_RUNS)
    parser.add_argument("--check", type=int, default=20)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dask", action="store_true")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--kernels", choices=["auto", "numpy", "compiled"])
    parser.add_argument("--preload-kernels", action="store_true")
    a = parser.parse_args(argv)
    if a.kernels:  # read when the first model is built
        os.environ["SHAOGUAN_ABM_KERNELS"] = a.kernels
    if a.kind == "single":
        out = _single(a.scenario, a.scale, a.seed, a.set, a.preload_kernels)
    elif a.kind == "ensemble":
        out = _ensemble(a.replicates, a.workers, a.seed)
    elif a.kind == "w4":
        out = _w4(a.runs, a.workers, a.scale, a.seed, a.check, a.dask)
    elif a.kind == "kernels":
        out = _kernels_same_process(a.repeats)
    elif a.kind == "naive":
        out = _naive(a.months, a.scale)
    elif a.kind == "calibration":
        out = _calibration(a.particles, a.generations, a.scale, a.workers, a.seed)
    else:
        out = _profile(a.top)
    print("BENCH-RESULT " + json.dumps(out))


# -- the driver -------------------------------------------------------------------------------


def _run_child(*args: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("BENCH-RESULT "))
    return json.loads(line.removeprefix("BENCH-RESULT "))


def _best_row(name: str, runs: list[dict]) -> dict:
    """The fastest repeat's figures (all from that one run), and every repeat's cost."""
    best = min(runs, key=lambda r: r["ns_per_household_month"])
    row = {"workload": name, "repeats": len(runs), **best}
    row["ns_per_household_month_all"] = [round(r["ns_per_household_month"], 1) for r in runs]
    row["ns_per_household_month_median"] = statistics.median(
        r["ns_per_household_month"] for r in runs
    )
    if all("cpu_simulation_s" in r for r in runs):  # the least CPU of any repeat
        row["cpu_simulation_s"] = min(r["cpu_simulation_s"] for r in runs)
        row["cpu_ns_per_household_month"] = min(r["cpu_ns_per_household_month"] for r in runs)
    return row


def _wall(cmd: list[str], repeats: int) -> dict:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, cwd=ROOT, check=True)
        times.append(time.perf_counter() - t0)
    return {"wall_s": min(times), "wall_s_all": [round(t, 3) for t in times]}


def _heavy_modules_after_import() -> list[str]:
    code = (
        "import sys, model; print(' '.join(m for m in ('numpy', 'pandas', 'mesa', 'scipy', "
        "'matplotlib', 'pyarrow', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    return out.stdout.split()


def _fmt(value, digits: int = 1) -> str:  # noqa: ANN001
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def affine_cost(rows: list[dict], seconds: str = "simulation_s") -> dict:
    """Least-squares fit of ``seconds per month = fixed + marginal x households``.

    Each workload is weighted by 1 / its seconds per month, so the small run's fixed part is
    not drowned by the large runs' absolute errors (a relative least squares).

    Args:
        rows: Workloads with ``households``, ``months`` and the ``seconds`` column.
        seconds: ``simulation_s`` (wall clock) or ``cpu_simulation_s`` (this process's CPU
            time, steadier on a shared machine).
    """
    import numpy as np

    n = np.array([r["households"] for r in rows], dtype=float)
    per_month = np.array([r[seconds] / r["months"] for r in rows])
    w = 1 / per_month
    design = np.column_stack([np.ones_like(n), n]) * w[:, None]
    (fixed, marginal), *_ = np.linalg.lstsq(design, per_month * w, rcond=None)
    return {
        "fixed_ms_per_month": 1e3 * fixed,
        "marginal_ns_per_household_month": 1e9 * marginal,
        "fixed_share": {r["workload"]: fixed / pm for r, pm in zip(rows, per_month, strict=True)},
    }


def mechanism_cost_ratio(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Cost per household-month with the feedback mechanisms on over the cost with them off.

    Pairs ``W1`` with ``W1 feedback`` and ``W1 scale 0.1`` with ``W1 feedback scale 0.1``, and
    ``W1`` with ``W1 feedback closed register`` (keyed ``W1 closed register``); gives the ratio
    of the best wall-clock figures and of the CPU figures of those runs.
    """
    by_name = {r["workload"]: r for r in rows if "ns_per_household_month" in r}
    out = {}
    pairs = [(off, off.replace("W1", f"W1 {FEEDBACK_TAG}", 1)) for off in ("W1", "W1 scale 0.1")]
    pairs.append(("W1", f"W1 {FEEDBACK_TAG} {CLOSED_TAG}"))
    for off_name, on_name in pairs:
        if off_name in by_name and on_name in by_name:
            off, on = by_name[off_name], by_name[on_name]
            key = off_name if CLOSED_TAG not in on_name else f"{off_name} {CLOSED_TAG}"
            out[key] = {
                "wall": on["ns_per_household_month"] / off["ns_per_household_month"],
                "cpu": on["cpu_ns_per_household_month"] / off["cpu_ns_per_household_month"],
            }
    return out


def print_table(rows: list[dict]) -> None:
    cols = [
        ("workload", "workload", 0),
        ("households", "households", 0),
        ("months", "months", 0),
        ("population_s", "population s", 3),
        ("simulation_s", "simulation s", 2),
        ("ns_per_household_month", "ns/household-month (best)", 1),
        ("cpu_ns_per_household_month", "CPU ns/h-m", 1),
        ("peak_rss_mb", "peak RSS MB", 0),
        ("bytes_per_household", "bytes/household", 0),
        ("wall_s", "wall s", 2),
        ("speedup", "speed-up 1->2 workers", 2),
    ]
    cells = [[h for _, h, _ in cols]]
    for r in rows:
        cells.append([_fmt(r.get(k), d) for k, _, d in cols])
    widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    for j, line in enumerate(cells):
        print(
            " | ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if j == 0:
            print("-+-".join("-" * w for w in widths))


WORKLOADS = (
    "W1 scale 0.1",
    f"W1 scale 0.1 {COMPILED_TAG}",
    f"W1 scale {TINY_SCALE} {COMPILED_TAG}",
    "W1",
    f"W1 {NUMPY_KERNELS_TAG}",
    "W3",
    "W1 feedback scale 0.1",
    f"W1 feedback scale 0.1 {COMPILED_TAG}",
    f"W1 feedback scale {TINY_SCALE} {COMPILED_TAG}",
    "W1 feedback",
    "W1 feedback closed register",
    "W2",
    "W4",
    "W4 dask",
    "W5",
    "kernels",
    "naive",
    "import",
    "check",
    "profile",
)


def main(argv: list[str] | None = None) -> None:
    """Run the workloads (all, or those of ``--only``) and write ``benchmarks/results.json``."""
    parser = argparse.ArgumentParser(description="time the reference workloads")
    parser.add_argument("--only", help=f"comma-separated workloads among {', '.join(WORKLOADS)}")
    parser.add_argument(
        "--quick", action="store_true", help="short check: no W2 or W3, 2 repeats, W4 of 100 runs"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="where to write the results (default benchmarks/results.json for a full run, "
        "benchmarks/results-partial.json with --only or --quick)",
    )
    opts = parser.parse_args(argv)
    quick = opts.quick
    out = opts.out or BENCH / ("results-partial.json" if (opts.only or quick) else "results.json")
    repeats = _env_int("BENCH_REPEATS", 2 if quick else 5)
    w3_repeats = _env_int("BENCH_W3_REPEATS", 2)
    w2_replicates = _env_int("BENCH_W2_REPLICATES", W2_REFERENCE_REPLICATES)
    w2_workers = _env_int("BENCH_W2_WORKERS", 2)
    w4_runs = _env_int("BENCH_W4_RUNS", 100 if quick else W4_REFERENCE_RUNS)
    w4_workers = _env_int("BENCH_W4_WORKERS", 2)
    w4_check = _env_int("BENCH_W4_CHECK", 20)
    w4_dask_runs = _env_int("BENCH_W4_DASK_RUNS", 50 if quick else 400)
    naive_months = _env_int("BENCH_NAIVE_MONTHS", 3 if quick else 12)
    top = _env_int("BENCH_PROFILE_TOP", 20)
    skip = {s.strip() for s in os.environ.get("BENCH_SKIP", "").split(",") if s.strip()}
    if quick:
        skip |= {"W2", "W3"}
    if opts.only:
        only = {s.strip() for s in opts.only.split(",") if s.strip()}
        unknown = sorted(only - set(WORKLOADS))
        if unknown:
            parser.error(f"--only: unknown workloads {unknown}; expected among {list(WORKLOADS)}")
        skip |= set(WORKLOADS) - only
    rows: list[dict] = []
    results: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_at_start": list(os.getloadavg()),
        }
    }

    def singles(workloads: list[tuple], n: int) -> None:
        """Repeat single-run workloads ``n`` times, taking them in turn (repeat 1 of each,
        then repeat 2 of each...), so that a slow spell of the machine falls on all of them
        and their ratios stay fair."""
        chosen = [w for w in workloads if w[0] not in skip]
        runs: dict[str, list[dict]] = {w[0]: [] for w in chosen}
        for _ in range(n):
            for name, scenario, scale, *overrides in chosen:
                sets = [arg for o in overrides for arg in ("--set", o)]
                if NUMPY_KERNELS_TAG in name:
                    sets += ["--kernels", "numpy"]
                elif scale >= 1.0 or COMPILED_TAG in name:  # W1, W3, their variants run them
                    sets += ["--preload-kernels"]
                runs[name].append(
                    _run_child("single", "--scenario", str(scenario), "--scale", str(scale), *sets)
                )
        for name in runs:
            rows.append(_best_row(name, runs[name]))
            print(f"  {name}: {rows[-1]['ns_per_household_month_all']} ns/household-month")

    print("running workloads (each in a fresh process) ...", flush=True)
    singles(
        [
            ("W1 scale 0.1", BASELINE, 0.1),
            (f"W1 scale 0.1 {COMPILED_TAG}", BASELINE, 0.1),
            (f"W1 {FEEDBACK_TAG} scale 0.1", FEEDBACK, 0.1),
            (f"W1 {FEEDBACK_TAG} scale 0.1 {COMPILED_TAG}", FEEDBACK, 0.1),
            (f"W1 scale {TINY_SCALE} {COMPILED_TAG}", BASELINE, TINY_SCALE),
            (f"W1 {FEEDBACK_TAG} scale {TINY_SCALE} {COMPILED_TAG}", FEEDBACK, TINY_SCALE),
        ],
        repeats,
    )
    singles(
        [
            ("W1", BASELINE, 1.0),
            (f"W1 {NUMPY_KERNELS_TAG}", BASELINE, 1.0),
            (f"W1 {FEEDBACK_TAG}", FEEDBACK, 1.0),
            (f"W1 {FEEDBACK_TAG} {CLOSED_TAG}", FEEDBACK, 1.0, CLOSED_REGISTER),
        ],
        repeats,
    )
    singles([("W3", GUANGDONG, 1.0)], w3_repeats)
    if "W2" not in skip:
        one = _run_child("ensemble", "--replicates", str(w2_replicates), "--workers", "1")
        two = _run_child(
            "ensemble", "--replicates", str(w2_replicates), "--workers", str(w2_workers)
        )
        rows.append(
            {
                "workload": f"W2 {w2_replicates} replicates, {w2_workers} workers",
                "households": rows[[r["workload"] for r in rows].index("W1")]["households"]
                if any(r["workload"] == "W1" for r in rows)
                else None,
                "months": 60,
                "wall_s": two["wall_s"],
                "peak_rss_mb": two["peak_rss_mb"],
                "speedup": one["wall_s"] / two["wall_s"],
                "runner": two["runner"],
                "replicates": w2_replicates,
                "workers": w2_workers,
                "s_per_replicate": two["s_per_replicate"],
                "s_per_replicate_1_worker": one["s_per_replicate"],
                "wall_s_1_worker": one["wall_s"],
                "cpu_s": two["cpu_s"],
                "cpu_s_1_worker": one["cpu_s"],
                # processes' CPU seconds per wall second: about 2 when both workers had a core
                "cores_used": two["cpu_s"] / two["wall_s"],
                "projected_s_200_replicates": two["s_per_replicate"] * W2_REFERENCE_REPLICATES,
            }
        )
    for name, key, runs, check, label in (
        ("W4", "w4", w4_runs, w4_check, f"W4 {w4_runs} runs at scale {W4_SCALE}, {w4_workers} "
         "workers"),
        ("W4 dask", "w4_dask", w4_dask_runs, min(w4_check, 5), f"W4 dask {w4_dask_runs} runs, "
         f"{w4_workers} Dask workers"),
    ):  # fmt: skip
        if name in skip:
            continue
        dask = ["--dask"] if name == "W4 dask" else []
        results[key] = w4 = _run_child(
            "w4", "--runs", str(runs), "--workers", str(w4_workers), "--scale", str(W4_SCALE),
            "--check", str(check), *dask,
        )  # fmt: skip
        rows.append({"workload": label, "months": 60, "wall_s": w4["wall_s"]})
        print(f"  {name}: {w4['wall_s']:.1f} s wall for {runs} runs", flush=True)
    if "kernels" not in skip:
        ab_repeats = _env_int("BENCH_KERNELS_REPEATS", 2 if quick else 5)
        ab = _run_child("kernels", "--repeats", str(ab_repeats))
        results["kernels_same_process"] = ab
        if "error" in ab:
            print(f"  kernels: {ab['error']}", flush=True)
        else:
            ns = ab["cpu_ns_per_household_month"]
            print(
                f"  kernels, one process, alternated {ab['repeats']} times (best CPU ns per "
                "household-month): "
                + "; ".join(
                    f"{name} numpy {ns[f'{name} numpy']:.1f}, compiled {ns[f'{name} compiled']:.1f}"
                    f" ({ns[f'{name} compiled'] / ns[f'{name} numpy']:.2f})"
                    for name in (BASELINE.stem, FEEDBACK.stem)
                ),
                flush=True,
            )
    if "naive" not in skip:
        naive = _run_child("naive", "--months", str(naive_months), "--scale", "1.0")
        results["naive_mesa"] = naive
        rows.append({"workload": f"naive Mesa ({naive_months} months)", **naive})
        print(f"  naive Mesa: {naive['cpu_ns_per_household_month']:,.0f} CPU ns/h-m", flush=True)
    if "W5" not in skip:
        cal = _run_child(
            "calibration",
            "--particles",
            str(_env_int("BENCH_W5_PARTICLES", 10 if quick else 200)),
            "--generations",
            str(_env_int("BENCH_W5_GENERATIONS", 2 if quick else 6)),
            "--scale",
            os.environ.get("BENCH_W5_SCALE", "0.002" if quick else "0.0055"),
            "--workers",
            str(_env_int("BENCH_W5_WORKERS", 2)),
        )
        rows.append({"workload": "W5 calibration", "months": 60, **cal})
        print(
            f"  W5: {cal['parameters']} parameters, {cal['particles']} particles x "
            f"{cal['generations']} generations on runs of {cal['households']:,} households: "
            f"{cal['runs']} runs (+{cal['runs_predictive']} predictive) in {cal['wall_s']:.0f} s; "
            f"acceptance rates {cal['acceptance_rate']}",
            flush=True,
        )
    if "import" not in skip:
        rows.append(
            {"workload": "import model", **_wall([sys.executable, "-c", "import model"], repeats)}
        )
        rows[-1]["heavy_modules_imported"] = _heavy_modules_after_import()
    if "check" not in skip:
        cli = str(Path(sys.executable).parent / "shaoguan-abm")
        cmd = (
            [cli, "check", str(BASELINE)]
            if Path(cli).exists()
            else [sys.executable, "-m", "model", "check", str(BASELINE)]
        )
        rows.append({"workload": "shaoguan-abm check", **_wall(cmd, repeats)})

    print()
    print_table(rows)
    # the cost model describes the numpy kernels, which every run under
    # model.engine.kernels.COMPILED_FROM households uses (W1 and W3 themselves run compiled)
    baseline_rows = [
        r
        for r in rows
        if "ns_per_household_month" in r
        and FEEDBACK_TAG not in r["workload"]
        and r.get("kernels") != "compiled"
        and not r["workload"].startswith("naive")
    ]
    per_hm = {r["workload"]: r["ns_per_household_month"] for r in baseline_rows}
    if len(per_hm) > 1:
        spread = max(per_hm.values()) / min(per_hm.values())
        results["cost_spread_max_over_min"] = spread
        print(f"\ncost per household-month, max/min over {', '.join(per_hm)}: {spread:.2f}")
        fit = affine_cost(baseline_rows)
        results["cost_model"] = fit
        print(
            f"cost of a month = {fit['fixed_ms_per_month']:.2f} ms fixed + "
            f"{fit['marginal_ns_per_household_month']:.1f} ns per household (least squares); "
            "fixed share of the cost: "
            + ", ".join(f"{k} {100 * v:.0f}%" for k, v in fit["fixed_share"].items())
        )
        cpu_fit = affine_cost(baseline_rows, "cpu_simulation_s")
        results["cost_model_cpu"] = cpu_fit
        print(
            f"in CPU time: {cpu_fit['fixed_ms_per_month']:.2f} ms fixed + "
            f"{cpu_fit['marginal_ns_per_household_month']:.1f} ns per household"
        )
    # the same fit for the compiled kernels, which every run of a many-run job uses (W4): for
    # the baseline, and with every mechanism on (the feedback scenario, the aim's own setting)
    for key, label, feedback in (
        (
            "cost_model_compiled_cpu",
            "with the compiled kernels (every run of a many-run job)",
            False,
        ),
        (
            "cost_model_feedback_compiled_cpu",
            "with every mechanism on too (scenarios/feedback.toml), compiled kernels",
            True,
        ),
    ):
        fitted = [
            r
            for r in rows
            if "ns_per_household_month" in r
            and r.get("kernels") == "compiled"
            and (FEEDBACK_TAG in r["workload"]) == feedback
            and CLOSED_TAG not in r["workload"]
        ]
        if len(fitted) > 1:
            fit = affine_cost(fitted, "cpu_simulation_s")
            results[key] = fit
            print(
                f"{label}, in CPU time: cost of a month = {fit['fixed_ms_per_month']:.2f} ms "
                f"fixed + {fit['marginal_ns_per_household_month']:.1f} ns per household (least "
                "squares over " + ", ".join(r["workload"] for r in fitted) + ")"
            )
    w1 = next((r for r in rows if r["workload"] == "W1"), None)
    w1_numpy = next((r for r in rows if r["workload"] == f"W1 {NUMPY_KERNELS_TAG}"), None)
    if w1 is not None and w1_numpy is not None:
        results["w1_compiled_over_numpy_cpu"] = (
            w1["cpu_ns_per_household_month"] / w1_numpy["cpu_ns_per_household_month"]
        )
        print(
            f"W1 with the compiled kernels ({w1['kernels']}): "
            f"{w1['cpu_ns_per_household_month']:.1f} CPU ns per household-month, against "
            f"{w1_numpy['cpu_ns_per_household_month']:.1f} with numpy's "
            f"({results['w1_compiled_over_numpy_cpu']:.2f}); loading them took "
            f"{w1['kernels_load_s']:.2f} s and "
            f"{w1['rss_after_imports_mb'] - w1_numpy['rss_after_imports_mb']:.0f} MB "
            "(once per process)"
        )
    naive_row = results.get("naive_mesa")
    if w1 is not None and naive_row is not None:
        ratio = naive_row["cpu_ns_per_household_month"] / w1["cpu_ns_per_household_month"]
        results["naive_mesa_over_w1_cpu"] = ratio
        print(
            f"naive Mesa (one Agent per household, AgentSet.do, {naive_row['months']} months): "
            f"{naive_row['cpu_ns_per_household_month']:,.0f} CPU ns per household-month, "
            f"{ratio:.1f} times W1's {w1['cpu_ns_per_household_month']:,.0f} (W1 also runs the "
            "nine measures, the ledger, the checks and the record)"
        )
    for key in ("w4", "w4_dask"):
        if key not in results:
            continue
        w4 = results[key]
        where = (
            f"{w4['workers']} workers): {w4['wall_s']:.1f} s wall ({w4['s_per_run']:.3f} s a run; "
            f"{w4['projected_s_2000_runs']:.0f} s for {W4_REFERENCE_RUNS})"
            if key == "w4"
            else f"a Dask cluster of {w4['workers']} single-threaded workers on this machine): "
            f"{w4['wall_s']:.1f} s wall ({w4['s_per_run']:.3f} s a run)"
        )
        print(
            f"{'W4' if key == 'w4' else 'W4 dask'} ({w4['runs']} runs of the baseline at scale "
            f"{w4['population_scale']}, {where}; workers' CPU "
            + " + ".join(f"{c:.1f}" for c in w4["worker_cpu_s"])
            + f" s, {w4['cores_used']:.2f} cores on average; first {w4['checked_runs']} runs "
            + ("identical" if w4["identical_to_one_by_one"] else "NOT identical")
            + " to running them one by one"
        )
    ratios = mechanism_cost_ratio(rows)
    if ratios:
        results["mechanism_cost_ratio"] = ratios
        print(
            "feedback mechanisms on / off, cost per household-month: "
            + ", ".join(f"{k} {v['wall']:.2f} (CPU {v['cpu']:.2f})" for k, v in ratios.items())
        )
    for r in rows:
        if r["workload"].startswith("W2"):
            print(
                f"W2 ({r['runner']}): {r['s_per_replicate']:.2f} s per replicate with "
                f"{r['workers']} workers ({r['s_per_replicate_1_worker']:.2f} s with 1); "
                f"{W2_REFERENCE_REPLICATES} replicates at that rate: "
                f"{r['projected_s_200_replicates']:.0f} s; the workers used "
                f"{r['cores_used']:.2f} cores on average"
            )
        if r["workload"] == "import model":
            print(
                f"modules loaded by `import model`: {r['heavy_modules_imported'] or 'none heavy'}"
            )
    results["workloads"] = rows
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    print(
        "load average (1, 5, 15 min) at start "
        + ", ".join(f"{x:.1f}" for x in results["machine"]["load_average_at_start"])
        + f" on {os.cpu_count()} cores"
    )

    if "profile" not in skip:
        prof = _run_child("profile", "--top", str(top))
        results["w1_profile"] = prof
        print(f"\nW1 profile (cProfile, {prof['total_s']:.2f} s profiled), top {top} by own time:")
        print(f"{'own s':>7} {'share':>6} {'cum s':>7} {'calls':>7}  function")
        for r in prof["top"]:
            print(
                f"{r['tottime_s']:7.3f} {100 * r['share']:5.1f}% {r['cumtime_s']:7.3f} "
                f"{r['calls']:7d}  {r['function']}"
            )
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
    else:
        main()
