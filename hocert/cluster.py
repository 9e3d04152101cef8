"""Dask clusters for the application: a scheduler spec as a ``concurrent.futures.Executor``.

``RadiusTable.build`` (the solver library) solves its chunks on any
``concurrent.futures.Executor`` and knows nothing of Dask; this module turns the Dask-flavoured
choices of ``hocert table build`` (a local cluster of ``n_workers`` processes, a scheduler
address, a ready ``distributed.Client``, or no Dask at all) into one, and owns what it starts:
the local cluster, a client connected to an address. ``distributed`` is imported only when a
cluster is used.

Examples
--------
>>> from hocert.cluster import open_executor
>>> from hocert_solver import RadiusTable
>>> grid = RadiusTable.default_grid(z_max=1.0, dz=0.5, da=1.0, db=1.0)
>>> with open_executor("synchronous") as run:  # or None (a local cluster), an address, a Client
...     table = RadiusTable.build(**grid, executor=run.executor, numba_threads=run.numba_threads)
>>> run.description, table.shape
('synchronous', (3, 3, 2))
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["DaskRun", "Scheduler", "open_executor"]

Scheduler = Any  # None, "synchronous", a "tcp://host:port" address or a distributed.Client


@dataclass(frozen=True)
class DaskRun:
    """What :func:`open_executor` gives a build.

    Attributes
    ----------
    executor : concurrent.futures.Executor or None
        Where to submit the chunks (``RadiusTable.build(executor=...)``); None for
        ``"synchronous"`` (in this process, no Dask).
    description : str
        The run in words, e.g. ``"LocalCluster(n_workers=4, threads_per_worker=1)"``; the
        ``hocert`` command records it as ``metadata["build"]["scheduler"]`` of the table.
    numba_threads : int or None
        Numba threads per task this run calls for (``RadiusTable.build(numba_threads=...)``):
        1 on the local cluster (one single-threaded worker process per core), None
        (unchanged) otherwise.
    """

    executor: Executor | None
    description: str
    numba_threads: int | None = None


@contextmanager
def open_executor(scheduler: Scheduler, n_workers: int | None = None) -> Iterator[DaskRun]:
    """An Executor for ``scheduler``, and afterwards the cluster and client closed.

    Parameters
    ----------
    scheduler : None, str or distributed.Client
        ``None``: a local ``distributed.LocalCluster`` with ``n_workers`` processes (default:
        the CPU count) of one thread each, closed afterwards. ``"tcp://host:port"``: connect
        to that scheduler (the client is closed afterwards). A ``distributed.Client``: use it
        (not closed). ``"synchronous"``: no Dask (``executor`` None).
    n_workers : int, optional
        Worker processes of the local cluster (``scheduler=None`` only).

    Yields
    ------
    DaskRun
        The executor (None for ``"synchronous"``), its description and the Numba threads per
        task. On the way out (an error, an interrupt) what is still pending is cancelled.

    Raises
    ------
    TypeError
        ``scheduler`` is none of these.
    ValueError
        ``n_workers < 1``.

    Notes
    -----
    The local cluster starts worker processes with ``spawn``: in a script, use it under
    ``if __name__ == "__main__":``.
    """
    if isinstance(scheduler, str) and scheduler == "synchronous":
        yield DaskRun(None, "synchronous")
        return
    from distributed import Client, LocalCluster

    with ExitStack() as stack:
        numba_threads = None
        if scheduler is None:
            workers = n_workers if n_workers is not None else (os.cpu_count() or 1)
            if workers < 1:
                raise ValueError(f"n_workers must be >= 1, got {workers}")
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=40,  # logging.ERROR
            )
            stack.callback(cluster.close)
            client = Client(cluster)
            stack.callback(client.close)
            numba_threads = 1
            description = f"LocalCluster(n_workers={workers}, threads_per_worker=1)"
        elif isinstance(scheduler, str):
            client = Client(scheduler)
            stack.callback(client.close)
            description = f"Client({scheduler!r})"
        elif isinstance(scheduler, Client):
            client = scheduler
            description = repr(client)
        else:
            raise TypeError(
                "scheduler must be None, 'synchronous', a scheduler address or a "
                f"distributed.Client, got {type(scheduler).__name__}"
            )
        executor = client.get_executor(pure=False)
        # Cancels what is still pending or running on the way out (an error, an interrupt).
        stack.callback(executor.shutdown, wait=False)
        yield DaskRun(executor, description, numba_threads)
