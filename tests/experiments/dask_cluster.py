"""A real Dask cluster on 127.0.0.1 for tests: a scheduler and workers, each its own process.

Every process leads its own process group, so a test can kill one (SIGKILL) without touching the
others, and :meth:`LocalDaskCluster.close` ends whatever is left. Workers run without a nanny, so
a killed worker stays dead (the scheduler must give its tasks to the others).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """End a process we started, and its children (it leads its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL a process we started (and its group), and reap it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=20)


class LocalDaskCluster:
    """A scheduler on a free loopback port, and single-threaded workers added on demand.

    Args:
        logs: Folder for the processes' standard error.
    """

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.workers: dict[str, subprocess.Popen] = {}
        self._launches: dict[str, tuple[Path, dict[str, str] | None]] = {}
        for _attempt in range(3):
            self.address = f"tcp://127.0.0.1:{free_port()}"
            self.scheduler = self._start(
                "scheduler",
                ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                 self.address.rsplit(":", 1)[1], "--no-dashboard"],
            )  # fmt: skip
            if self._listening(self.scheduler, self.address):
                return
        raise AssertionError(
            "the scheduler exited three times before it listened; its log ends:\n"
            + (self.logs / "scheduler.log").read_text(errors="replace")[-2000:]
        )

    def _listening(self, process: subprocess.Popen, address: str, timeout: float = 120) -> bool:
        """Whether the scheduler ``process`` listens on ``address`` (False once it has exited).

        Read from its log ("Scheduler at: <address>"): a connection to the port could reach
        another process that took it first.
        """
        log = self.logs / "scheduler.log"
        said = re.compile(rf"Scheduler at:\s+{re.escape(address)}\s")
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            if log.is_file() and said.search(log.read_text(errors="replace")):
                return True
            time.sleep(0.05)
        if process.poll() is None:
            stop(process)
            raise AssertionError(f"{address} did not listen within {timeout} s")
        return False

    def _start(self, name: str, args: list[str], cwd: Path = ROOT, env=None) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", *args],
                cwd=cwd,
                env=env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def add_worker(self, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
        """Start a worker (importing ``model`` from ``cwd`` first); its address."""
        port = free_port()
        address = f"tcp://127.0.0.1:{port}"
        self.workers[address] = self._start(
            f"worker-{port}",
            ["distributed.cli.dask_worker", self.address, "--host", "127.0.0.1", "--worker-port",
             str(port), "--nthreads", "1", "--no-nanny", "--no-dashboard"],
            cwd=cwd,
            env=env,
        )  # fmt: skip
        self._launches[address] = (cwd, env)
        return address

    def client(self, timeout: str = "60s"):  # noqa: ANN201 - distributed.Client
        from distributed import Client

        return Client(self.address, timeout=timeout, set_as_default=False)

    def wait_for_workers(self, n: int, timeout: float = 120, restarts: int = 3) -> None:
        """Wait until ``n`` workers run on the scheduler.

        A worker that exits before it joins (its port taken by another process between
        :func:`free_port` and its bind, say) is started again on a new port, at most ``restarts``
        times; read the workers' addresses from :attr:`workers` after the wait. A timeout names
        each worker's state and the end of its log.
        """
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while True:
                joined = {
                    address
                    for address, worker in client.scheduler_info(n_workers=-1)["workers"].items()
                    if worker.get("status") == "running"
                }
                if len(joined) >= n:
                    return
                for address, process in list(self.workers.items()):
                    if address not in joined and process.poll() is not None and restarts > 0:
                        restarts -= 1
                        del self.workers[address]
                        self.add_worker(*self._launches.pop(address))
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"only {len(joined)}/{n} workers joined within {timeout} s\n"
                        + "\n".join(self._describe(a, p) for a, p in self.workers.items())
                    )
                time.sleep(0.1)

    def _describe(self, address: str, process: subprocess.Popen) -> str:
        state = "running" if process.poll() is None else f"exited {process.returncode}"
        log = self.logs / f"worker-{address.rsplit(':', 1)[1]}.log"
        tail = log.read_text(errors="replace")[-2000:] if log.is_file() else "(no log)"
        return f"worker {address} ({state}); its log ends:\n{tail}"

    def close(self) -> None:
        for process in [*self.workers.values(), self.scheduler]:
            stop(process)


def wait_until(condition, timeout: float, what: str, every: float = 0.05):  # noqa: ANN001, ANN201
    """Poll ``condition()`` until it returns something true (at most ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
