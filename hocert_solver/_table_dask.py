"""Dask for table builds: the ``scheduler=`` / ``n_workers=`` arguments as an Executor.

``RadiusTable.build`` solves its chunks on any ``concurrent.futures.Executor``; this module
turns the Dask-flavoured arguments into one (``distributed.Client.get_executor()``) and owns
what it starts: a local cluster, a client connected to a scheduler address. Self-contained
(the standard library and ``distributed``, imported only when a cluster is used), so that it
can move to the application as it is.
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
        Where to submit the chunks; None for ``"synchronous"`` (in this process, no Dask).
    description : str
        The run as a build records it (``metadata["build"]["scheduler"]``).
    numba_threads : int or None
        Numba threads per task this run calls for: 1 on the local cluster (one
        single-threaded worker process per core), None (unchanged) otherwise.
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

    Raises
    ------
    TypeError
        ``scheduler`` is none of these.
    ValueError
        ``n_workers < 1``.
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
