"""Run many independent model runs on a local process pool or a Dask cluster, streaming to disk.

Ensembles and sweeps both reduce to *tasks*: a key (an integer, unique within the job) and a
payload that a top-level function turns into result rows. :class:`Executor` runs the tasks

- in this process when ``workers == 1`` (no pool to start);
- on a local pool of ``workers`` spawned processes (the default: one per core);
- on a Dask distributed cluster when given ``scheduler="tcp://HOST:PORT"`` (start it with
  ``dask scheduler`` and ``dask worker tcp://HOST:PORT`` on each machine; both commands come with
  the install).

and :class:`RunStore` writes the rows of finished tasks to Parquet *parts* as they arrive, a few
tasks at a time, so memory stays flat and an interrupted job (Ctrl-C, a killed process, a lost
worker) can be resumed: tasks whose rows are on disk are never run again. A task's rows depend on
its payload only, and tables are read back sorted by key, so results are identical whatever the
number of workers or their order of completion.

On a Dask cluster, a worker lost in the middle of a job is the scheduler's business: it runs the
worker's tasks again elsewhere, and the store keeps one copy of each task's rows. A lost
scheduler ends the job with :class:`ClusterLost` (the finished tasks are saved first, so
``resume`` continues). Connecting checks that every worker runs this version of the model
(:func:`package_fingerprint`) and refuses with :class:`WorkerMismatch` otherwise.

Short jobs whose results fit in memory (the budget tools' replicates) use :meth:`Executor.map`
instead: results in payload order, nothing on disk, the same pool reused from call to call.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

#: What a task function returns: table name -> rows (one dict per row).
TaskRows = dict[str, list[dict[str, Any]]]

#: Name of the key column every stored table carries.
KEY = "task"

T = TypeVar("T")


class JobMismatch(ValueError):
    """``--resume`` pointed at a folder that holds the runs of a different job."""


class ClusterLost(RuntimeError):
    """The Dask scheduler, or the connection to it, was lost in the middle of the work."""


class WorkerMismatch(RuntimeError):
    """A worker of the Dask cluster runs another version of the model than this process."""


@functools.lru_cache(maxsize=1)
def package_fingerprint() -> tuple[str, str]:
    """``model.__version__`` and the SHA-256 (first 12 hex digits) of the package's files.

    Every file under the package folder counts (path and bytes), but compiled ``__pycache__``
    files, so two installs agree exactly when they would run the same code.
    """
    import model

    root = Path(model.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return str(model.__version__), digest.hexdigest()[:12]


def default_workers() -> int:
    """Number of local worker processes by default: the number of cores."""
    return os.cpu_count() or 1


def check_scheduler_address(address: str) -> str:
    """A Dask scheduler address ``tcp://HOST:PORT``, or raise ``ValueError`` saying why not."""
    prefix = "tcp://"
    host, _, port = address[len(prefix) :].rpartition(":")
    if not address.startswith(prefix) or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--scheduler: expected tcp://HOST:PORT, found {address!r}")
    return address


# ---------------------------------------------------------------------------------------------
# the store


class RunStore:
    """Finished tasks as Parquet parts in ``folder``: the checkpoint that resuming reads.

    ``folder/job.json`` describes the job (scenario, seed, sizes...). Each batch of finished tasks
    is one folder ``part-NNNNNN/`` holding one Parquet file per table, written under a temporary
    name and renamed when complete, so a killed process leaves only whole parts.

    Args:
        folder: Where the parts live (created if needed).
        job: JSON-serialisable description of the job; resuming requires the same description.
        resume: Keep the parts of an earlier, interrupted run of the same job. Otherwise any
            earlier parts are removed.
        done_table: The table every task writes at least one row to; its keys are the
            finished tasks.

    Raises:
        JobMismatch: ``resume`` and the folder holds a different job.
    """

    def __init__(
        self, folder: str | Path, job: Mapping[str, Any], resume: bool, done_table: str
    ) -> None:
        self.folder = Path(folder)
        # Key order is kept and compared: the model depends on the order of some tables.
        self.job_text = json.dumps(job, indent=2, default=str)
        self.job = json.loads(self.job_text)
        self.done_table = done_table
        self._saved: set[int] = set()
        job_file = self.folder / "job.json"
        if resume and job_file.is_file():
            earlier_text = job_file.read_text()
            if earlier_text != self.job_text:
                earlier = json.loads(earlier_text)
                diff = sorted(
                    k
                    for k in set(earlier) | set(self.job)
                    if json.dumps(earlier.get(k)) != json.dumps(self.job.get(k))
                )
                raise JobMismatch(
                    f"--resume: {self.folder} holds the runs of a different job (differing: "
                    f"{', '.join(diff)}); use the same options as the interrupted run, or another "
                    "--out"
                )
        elif self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        if not job_file.is_file():
            _atomic_write_text(job_file, self.job_text)

    def _parts(self) -> list[Path]:
        return sorted(p for p in self.folder.glob("part-*") if p.is_dir())

    def done_keys(self) -> set[int]:
        """Keys of the tasks whose rows are on disk."""
        keys: set[int] = set()
        for part in self._parts():
            table = pd.read_parquet(part / f"{self.done_table}.parquet", columns=[KEY])
            keys.update(int(k) for k in table[KEY])
        return keys

    def save(self, finished: list[tuple[int, TaskRows]]) -> None:
        """Write a batch of finished tasks as one new part (tasks it saved before are skipped)."""
        finished = [(key, rows) for key, rows in finished if key not in self._saved]
        if not finished:
            return
        parts = self._parts()
        number = int(parts[-1].name.split("-")[1]) + 1 if parts else 0
        tmp = self.folder / f".tmp-part-{number:06d}-{os.getpid()}"
        tmp.mkdir()
        try:
            names = sorted({name for _, rows in finished for name in rows})
            for name in names:
                records = [
                    {KEY: key, **row} for key, rows in finished for row in rows.get(name, [])
                ]
                pd.DataFrame.from_records(records).to_parquet(tmp / f"{name}.parquet", index=False)
            tmp.rename(self.folder / f"part-{number:06d}")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._saved.update(key for key, _ in finished)

    def table(self, name: str) -> pd.DataFrame:
        """Every stored row of table ``name``, sorted by task key (stable).

        A task whose rows are in several parts (saved again after an interruption that struck
        between writing a part and noting it) counts once: its rows of the first part.
        """
        frames = []
        seen: set[int] = set()
        for part in self._parts():
            if (part / f"{name}.parquet").is_file():
                frame = pd.read_parquet(part / f"{name}.parquet")
                frames.append(frame[~frame[KEY].isin(seen)])
                seen.update(int(k) for k in frame[KEY])
        if not frames:
            return pd.DataFrame(columns=[KEY])
        table = pd.concat(frames, ignore_index=True)
        return table.sort_values(KEY, kind="stable").reset_index(drop=True)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def atomic_to_parquet(table: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as Parquet under a temporary name, then rename it into place."""
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    table.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def atomic_to_csv(table: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as CSV under a temporary name, then rename it into place."""
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    table.to_csv(tmp, index=False)
    os.replace(tmp, path)


def atomic_write_json(data: Any, path: Path) -> None:
    """Write JSON under a temporary name, then rename it into place."""
    _atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str))


def atomic_savefig(fig: Any, path: Path) -> None:
    """Save a matplotlib figure as PNG under a temporary name, rename it, close the figure."""
    import matplotlib.pyplot as plt

    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)


# ---------------------------------------------------------------------------------------------
# the executor


@contextlib.contextmanager
def runs_folder(out: str | Path | None, prefix: str) -> Iterator[Path]:
    """``out/runs``, or a temporary folder removed on exit when there is no ``out``."""
    if out is not None:
        yield Path(out) / "runs"
        return
    tmp_root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield tmp_root / "runs"
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)


@dataclass
class RunStats:
    """What one :meth:`Executor.run` did: tasks computed now and tasks found already on disk."""

    computed: int
    skipped: int
    seconds: float


class _SyncCancelRace(logging.Filter):
    """Drops the traceback Dask's ``sync`` logs when Ctrl-C comes before its call has started.

    ``distributed.utils.sync`` answers a KeyboardInterrupt by scheduling ``cancel`` on the event
    loop; when the interrupt arrives before the call has begun, ``cancel`` reads a variable not
    yet assigned, and tornado logs the NameError with its traceback. The call then runs to its
    end unwatched; here it is a short request to the scheduler (the executor then cancels its
    tasks and closes the client itself), and the command's own message says what was kept, so
    the record is noise on the user's screen. Any other record passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: D102 - see the class
        if record.exc_info is None or not isinstance(record.exc_info[1], NameError):
            return True
        tb = record.exc_info[2]
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        code = None if tb is None else tb.tb_frame.f_code
        return not (
            code is not None
            and code.co_name == "cancel"
            and Path(code.co_filename).parts[-2:] == ("distributed", "utils.py")
        )


#: Installed on tornado's logger by :func:`connect_client` (see :class:`_SyncCancelRace`).
SYNC_CANCEL_RACE = _SyncCancelRace()
TORNADO_LOG = "tornado.application"


def connect_client(scheduler: str, worker_wait_seconds: float = 30.0) -> Any:
    """A Dask client of the scheduler at ``scheduler``, which has at least one worker.

    A scheduler without workers is given ``worker_wait_seconds`` to get one: without a worker,
    tasks would wait for ever.

    Raises:
        OSError: The scheduler cannot be reached within 10 seconds, or no worker joined it.
    """
    from distributed import Client

    logging.getLogger(TORNADO_LOG).addFilter(SYNC_CANCEL_RACE)  # once: a logger keeps no twins
    try:
        client = Client(scheduler, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise OSError(
            f"--scheduler: could not connect to a Dask scheduler at {scheduler} ({err})"
        ) from None
    if not client.scheduler_info().get("workers"):
        try:
            client.wait_for_workers(1, timeout=worker_wait_seconds)
        except TimeoutError:
            client.close()
            raise OSError(
                f"--scheduler {scheduler}: the scheduler has no worker, and none joined within "
                f"{worker_wait_seconds:g} s; start one with 'dask worker {scheduler}'"
            ) from None
    return client


class Executor:
    """Where tasks run: in this process, on a local process pool, or on a Dask cluster.

    Use as a context manager so that the pool or the cluster connection is closed::

        with Executor(workers=2) as ex:
            ex.run(run_replicate, tasks, store)      # streamed to disk, resumable
            outcomes = ex.map(run_one, payloads)     # in memory, in payload order

    Args:
        workers: Local worker processes (default: the number of cores); 1 runs in this process.
            Ignored when ``scheduler`` is given (the cluster's workers do the work).
        scheduler: Address ``tcp://HOST:PORT`` of a running Dask scheduler.
        flush_seconds: Write finished tasks to disk at least this often (a killed process
            loses at most this much work).
        max_buffer: Also write as soon as this many finished tasks wait (memory stays flat).
        worker_wait_seconds: How long a scheduler without workers is given to get one.

    Raises:
        ValueError: A bad ``workers`` or ``scheduler``.
        OSError: The scheduler cannot be reached.
    """

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        flush_seconds: float = 10.0,
        max_buffer: int = 1000,
        worker_wait_seconds: float = 30.0,
    ) -> None:
        self.workers = default_workers() if workers is None else int(workers)
        if self.workers < 1:
            raise ValueError(f"workers: expected a positive integer, found {workers}")
        self.scheduler = None if scheduler is None else check_scheduler_address(scheduler)
        self.flush_seconds = flush_seconds
        self.max_buffer = max_buffer
        self.worker_wait_seconds = worker_wait_seconds
        self._pool: Any = None
        self._client: Any = None

    # -- lifetime -------------------------------------------------------------------------------

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _stop_pool(self) -> None:
        """End the local pool's processes now, abandoning the tasks they run (on Ctrl-C)."""
        if self._pool is None:
            return
        processes = list((self._pool._processes or {}).values())  # no public accessor
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(10)

    def close(self) -> None:
        """Shut the pool down (cancelling queued work) or disconnect from the cluster."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._client is not None:
            client, self._client = self._client, None
            if client.status == "running":
                client.close()
            else:  # the scheduler is gone: closing stops Dask's reconnection, which logs errors
                logs = [logging.getLogger(n) for n in ("distributed", "distributed.client")]
                levels = [log.level for log in logs]
                for log in logs:
                    log.setLevel(logging.CRITICAL)
                try:
                    client.close()
                finally:
                    for log, level in zip(logs, levels, strict=True):
                        log.setLevel(level)

    def connect(self) -> None:
        """Start the local pool or connect to the scheduler now (otherwise on first use).

        Raises:
            OSError: The scheduler cannot be reached within 10 seconds, or has no worker and
                none joins within :attr:`worker_wait_seconds`.
            WorkerMismatch: A worker of the cluster runs another version of the model (checked
                before any task is sent).
        """
        if self.scheduler is not None and self._client is None:
            client = connect_client(self.scheduler, self.worker_wait_seconds)
            try:
                self._check_workers(client)
            except BaseException:
                client.close()
                raise
            self._client = client
        elif self.scheduler is None and self.workers > 1 and self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_ignore_interrupts,
            )

    def _check_workers(self, client: Any) -> None:
        """Refuse a cluster with a worker whose model differs from this process's."""
        mine = package_fingerprint()
        found = client.run(package_fingerprint, on_error="return")
        for address, theirs in sorted(found.items()):
            if isinstance(theirs, BaseException):
                raise WorkerMismatch(
                    f"--scheduler {self.scheduler}: worker {address} cannot run model "
                    f"{_version_text(mine)} ({_short(theirs)}); install the same version on "
                    "every worker"
                )
            if tuple(theirs) != mine:
                raise WorkerMismatch(
                    f"--scheduler {self.scheduler}: worker {address} runs model "
                    f"{_version_text(theirs)}, this client {_version_text(mine)}; install the "
                    "same version on every worker"
                )

    @property
    def description(self) -> str:
        """Where the work runs, for manifests and messages."""
        if self.scheduler is not None:
            return f"dask cluster at {self.scheduler}"
        if self.workers == 1:
            return "1 process"
        return f"local pool of {self.workers} processes"

    # -- running --------------------------------------------------------------------------------

    def run(
        self,
        func: Callable[[Any], TaskRows],
        keys: range,
        payload: Callable[[int], Any],
        store: RunStore,
        progress: bool = False,
        desc: str = "runs",
    ) -> RunStats:
        """Run every task whose rows are not yet in ``store``; write rows as tasks finish.

        Args:
            func: Importable top-level function ``payload -> {table: [row, ...]}``.
            keys: The tasks' keys. Payloads are built lazily, in key order, so a job of
                millions of tasks needs no list of them.
            payload: ``key -> payload`` given to ``func``.
            store: Where finished rows go (and which tasks are already done).
            progress: Show a progress bar with ETA on stderr.
            desc: Label of the progress bar.

        Returns:
            How many tasks ran now and how many were already done.

        Raises:
            Exception: The first exception a task raised (finished tasks are saved first).
            ClusterLost: The Dask scheduler was lost (finished tasks are saved first).
        """
        from tqdm import tqdm

        t0 = time.perf_counter()
        done = {k for k in store.done_keys() if k in keys}
        todo = ((k, payload(k)) for k in keys if k not in done)
        bar = tqdm(
            total=len(keys),
            initial=len(done),
            desc=desc,
            unit="run",
            disable=not progress,
            dynamic_ncols=True,
            smoothing=0.05,
        )
        buffer: list[tuple[int, TaskRows]] = []
        computed = 0
        last_flush = time.monotonic()

        def finish(key: int | None, rows: TaskRows | None) -> None:
            # key None: nothing finished, but the buffer may be due for writing
            nonlocal computed, last_flush
            if key is not None and rows is not None:
                buffer.append((key, rows))
                computed += 1
                bar.update(1)
            if len(buffer) >= self.max_buffer or time.monotonic() - last_flush > self.flush_seconds:
                store.save(buffer)
                buffer.clear()
                last_flush = time.monotonic()

        try:
            if self.scheduler is None and self.workers == 1:
                for key, item in todo:
                    finish(key, func(item))
            else:
                self.connect()
                self._run_futures(func, todo, finish)
        finally:
            store.save(buffer)
            bar.close()
        return RunStats(computed, len(done), time.perf_counter() - t0)

    def map(self, func: Callable[[Any], T], payloads: Iterable[Any]) -> list[T]:
        """``[func(p) for p in payloads]``, computed where this executor runs its tasks.

        For short jobs whose results fit in memory (the budget tools' replicates): nothing is
        written to disk and nothing can be resumed, unlike :meth:`run`. The pool is started (or
        the cluster connected) on first use and kept for the next call, so many small calls pay
        the start-up once. Results come back in payload order whatever the order of
        completion, so they are identical whatever the number of workers.

        Args:
            func: Importable top-level function of one payload (payloads and results travel
                to and from the workers pickled).
            payloads: The arguments, one call each.

        Returns:
            ``func``'s results, in payload order.

        Raises:
            Exception: The exception of the first payload (in payload order) whose call
                failed; calls not yet started are cancelled.
            ClusterLost: The Dask scheduler was lost.
        """
        items = list(payloads)
        if self.scheduler is None and self.workers == 1:
            return [func(item) for item in items]
        self.connect()
        futures = [self._submit(func, item) for item in items]
        try:
            return [self._result(future) for future in futures]
        except BaseException as err:
            if not isinstance(err, Exception):  # Ctrl-C, SIGTERM: see _run_futures
                self._stop_pool()
            raise
        finally:
            self._cancel([future for future in futures if not future.done()])

    def _lost(self, err: BaseException) -> ClusterLost:
        from distributed import KilledWorker

        if isinstance(err, KilledWorker):
            return ClusterLost(
                f"--scheduler {self.scheduler}: the workers running a task died too often for "
                f"the scheduler to try again ({_short(err)})"
            )
        return ClusterLost(
            f"--scheduler {self.scheduler}: lost the connection to the Dask scheduler in the "
            "middle of the work"
        )

    def _submit(self, func: Callable[[Any], Any], payload: Any) -> Any:
        if self._client is not None:
            try:
                return self._client.submit(func, payload, pure=False)
            except Exception as err:
                raise self._lost(err) from err
        return self._pool.submit(func, payload)

    def _cancel(self, futures: list[Any]) -> None:
        """Cancel queued work (not waiting for a cluster that is gone)."""
        if self._client is None:
            for future in futures:
                future.cancel()
        elif futures and self._client.status == "running":
            with contextlib.suppress(Exception):
                self._client.cancel(futures)

    def _result(self, future: Any) -> Any:
        """A finished future's result; on a cluster, a failure of the cluster is ClusterLost.

        A task's own exception is raised as it is, except ``KilledWorker`` (the task's
        workers died under it, too often for the scheduler to try again).
        """
        if self._client is None:
            return future.result()
        from distributed import KilledWorker

        if future.status == "error":
            try:
                return future.result()
            except KilledWorker as err:
                raise self._lost(err) from err
        try:
            return future.result()
        except Exception as err:
            raise self._lost(err) from err

    def _wait(self, futures: set[Any]) -> set[Any]:
        """Futures that finished within ``flush_seconds`` (possibly none)."""
        if self._client is not None:
            from distributed import wait

            try:
                with self._client.as_current():
                    ready = wait(futures, timeout=self.flush_seconds, return_when="FIRST_COMPLETED")
                return set(ready.done)
            except TimeoutError:
                return set()
            except Exception as err:
                raise self._lost(err) from err
        from concurrent.futures import FIRST_COMPLETED, wait

        return set(wait(futures, timeout=self.flush_seconds, return_when=FIRST_COMPLETED).done)

    def _slots(self) -> int:
        if self._client is not None:
            try:
                threads = sum(self._client.nthreads().values())
            except Exception as err:
                raise self._lost(err) from err
            return 2 * max(threads, 1)
        return 2 * self.workers

    def _run_futures(
        self,
        func: Callable[[Any], TaskRows],
        todo: Iterable[tuple[int, Any]],
        finish: Callable[[int | None, TaskRows | None], None],
    ) -> None:
        # A bounded number of tasks in flight: memory stays flat however many tasks there are.
        in_flight: dict[Any, int] = {}
        todo = iter(todo)
        exhausted = False
        try:
            while True:
                while not exhausted and len(in_flight) < self._slots():
                    item = next(todo, None)
                    if item is None:
                        exhausted = True
                        break
                    in_flight[self._submit(func, item[1])] = item[0]
                if not in_flight:
                    return
                error: BaseException | None = None
                for future in self._wait(set(in_flight)):
                    key = in_flight.pop(future)
                    try:
                        rows = self._result(future)
                    except ClusterLost:
                        raise
                    except BaseException as err:  # noqa: BLE001 - re-raised below
                        error = error or err
                        continue
                    finish(key, rows)
                finish(None, None)
                if error is not None:
                    raise error
        except BaseException as err:
            # Ctrl-C or SIGTERM: the pool's processes ignore SIGINT, so end them here
            if not isinstance(err, Exception):
                self._stop_pool()
            raise
        finally:
            self._cancel(list(in_flight))


def _ignore_interrupts() -> None:
    """Pool processes leave Ctrl-C to the parent, which saves finished tasks and ends them."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _version_text(fingerprint: Any) -> str:
    version, digest = fingerprint
    return f"{version} (files {digest})"


def _short(err: BaseException) -> str:
    """``Type: first line of the message``, at most 200 characters."""
    text = str(err).strip().splitlines()
    line = f"{type(err).__name__}: {text[0]}" if text else type(err).__name__
    return line if len(line) <= 200 else line[:197] + "..."


@contextlib.contextmanager
def given_or_own_executor(
    executor: Executor | None, workers: int | None = None, scheduler: str | None = None
) -> Iterator[Executor]:
    """``executor`` itself (left open), or a new one, closed on exit.

    The new one has ``workers`` local processes, or runs on the Dask cluster of ``scheduler``.
    """
    if executor is not None:
        yield executor
        return
    with Executor(workers=workers, scheduler=scheduler) as own:
        yield own
