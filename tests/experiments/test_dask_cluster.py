"""The test cluster itself: a worker that cannot bind its port is started again on another."""

from __future__ import annotations

import socket

from tests.experiments import dask_cluster
from tests.experiments.dask_cluster import LocalDaskCluster


def test_a_worker_whose_port_is_taken_is_started_again(tmp_path, monkeypatch):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    cluster = LocalDaskCluster(tmp_path)
    try:
        ports = iter([port])
        real = dask_cluster.free_port
        monkeypatch.setattr(dask_cluster, "free_port", lambda: next(ports, None) or real())
        first = cluster.add_worker()
        assert first == f"tcp://127.0.0.1:{port}"
        cluster.wait_for_workers(1)
        (joined,) = cluster.workers
        assert joined != first
        with cluster.client() as client:
            assert set(client.scheduler_info(n_workers=-1)["workers"]) == {joined}
        assert (tmp_path / f"worker-{port}.log").read_text()  # the failed start left its reason
    finally:
        cluster.close()
        taken.close()


def test_a_scheduler_whose_port_is_taken_is_started_again(tmp_path, monkeypatch):
    taken = socket.socket()  # a listener on the port: connecting to it succeeds
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    ports = iter([port])
    real = dask_cluster.free_port
    monkeypatch.setattr(dask_cluster, "free_port", lambda: next(ports, None) or real())
    cluster = LocalDaskCluster(tmp_path)
    try:
        assert cluster.address != f"tcp://127.0.0.1:{port}"
        assert cluster.scheduler.poll() is None
        cluster.add_worker()
        cluster.wait_for_workers(1)
    finally:
        cluster.close()
        taken.close()
