"""A real Dask cluster on 127.0.0.1 for tests: a scheduler and workers, each its own process.

Every process leads its own process group, so a test can kill one (SIGKILL) without touching the
others, and :meth:`LocalDaskCluster.close` ends whatever is left. Workers run without a nanny, so
a killed worker stays dead (the scheduler must give its tasks to the others).
"""

from __future__ import annotations

import os
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
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.workers: dict[str, subprocess.Popen] = {}
        self.scheduler = self._start(
            "scheduler",
            ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
             self.address.rsplit(":", 1)[1], "--no-dashboard"],
        )  # fmt: skip

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
        return address

    def client(self, timeout: str = "60s"):  # noqa: ANN201 - distributed.Client
        from distributed import Client

        return Client(self.address, timeout=timeout, set_as_default=False)

    def wait_for_workers(self, n: int, timeout: float = 120) -> None:
        with self.client() as client:
            client.wait_for_workers(n, timeout=timeout)

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
