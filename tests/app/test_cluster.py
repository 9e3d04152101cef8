"""Dask clusters as Executors (hocert/cluster.py), and table builds on them."""

from __future__ import annotations

import numpy as np
import pytest

from hocert.cluster import DaskRun, open_executor
from hocert_solver import RadiusTable
from tests.solver.table_helpers import TINY


def test_synchronous_needs_no_dask():
    with open_executor("synchronous") as run:
        assert run == DaskRun(None, "synchronous", None)
        tab = RadiusTable.build(**TINY, executor=run.executor)
    assert tab.metadata["build"]["scheduler"] == "in-process"


def test_bad_scheduler_and_worker_count():
    with pytest.raises(TypeError, match="scheduler must be None"), open_executor(42):
        pass  # pragma: no cover - not reached
    with pytest.raises(ValueError, match="n_workers must be >= 1"), open_executor(None, 0):
        pass  # pragma: no cover - not reached


def test_build_on_a_local_dask_cluster(tmp_path):
    # Two worker processes, a tiny grid; resumes from a partial checkpoint over Dask.
    ckpt = tmp_path / "ckpt"
    ref = RadiusTable.build(**TINY, chunk_size=4, checkpoint=ckpt)
    for c in (0, 2, 5):
        (ckpt / f"chunk_{c:06d}.npz").unlink()
    with open_executor(None, n_workers=2) as run:
        assert run.description == "LocalCluster(n_workers=2, threads_per_worker=1)"
        assert run.numba_threads == 1
        tab = RadiusTable.build(
            **TINY,
            chunk_size=4,
            checkpoint=ckpt,
            executor=run.executor,
            numba_threads=run.numba_threads,
        )
    assert tab.metadata["build"]["scheduler"] == "ClientExecutor"
    assert tab.metadata["build"]["computed_chunks"] == [0, 2, 5]
    np.testing.assert_array_equal(tab.values, ref.values)
    np.testing.assert_array_equal(tab.status, ref.status)


@pytest.mark.slow
def test_build_with_a_client_address():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        with open_executor(cluster.scheduler_address) as run:
            assert run.description.startswith("Client('tcp://")
            tab = RadiusTable.build(**TINY, executor=run.executor, chunk_size=6)
        with Client(cluster) as client:
            with open_executor(client) as run:
                tab2 = RadiusTable.build(**TINY, executor=run.executor, chunk_size=6)
            assert client.status == "running"  # a given client is not closed
            tab3 = RadiusTable.build(**TINY, executor=client.get_executor(), chunk_size=6)
            assert client.status == "running"
    ref = RadiusTable.build(**TINY)
    np.testing.assert_array_equal(tab.values, ref.values)
    np.testing.assert_array_equal(tab2.values, ref.values)
    np.testing.assert_array_equal(tab3.values, ref.values)
    assert tab3.metadata["build"]["scheduler"] == "ClientExecutor"
