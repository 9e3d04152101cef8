"""Building a ``RadiusTable``: the feasible cells of a grid, solved in chunks on an Executor.

The cells are ordered by ``(q, a, b)`` and chunked in that order; cells outside the feasible
disk are not solved. Each chunk is one task, :func:`_solve_chunk`, submitted to any
``concurrent.futures.Executor`` (threads, processes, ``distributed.Client.get_executor()``)
or run in this process. Every chunk, computed or resumed from a checkpoint, is verified
(``_table_verify``) before it is merged.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ._table_errors import TableBuildError
from ._table_grid import (
    SKIPPED,
    FloatArray,
    Int8Array,
    _edge_cells,
    _feasible_cells,
    _m_grids,
    _validate_grid,
)
from ._table_io import _grid_digest, _solver_version, new_metadata, open_checkpoint
from ._table_verify import (
    _CELL_OK,
    _describe_failures,
    _proof_bounds,
    _settle_cells,
    _verify_cells,
    proved_infinite_cells,
)
from .directional import (
    INVALID,
    _directional,
    _disk_rho,
    max_gradient_norm,
)

__all__ = ["TableBuild", "check_build_options", "describe_executor"]

ChunkResult = tuple[FloatArray, Int8Array, FloatArray, str]


def _disk_rho_of(q: FloatArray, m1: FloatArray, m2: FloatArray) -> FloatArray:
    """hypot(max(m1, 0), m2) / M(q) in floating point (as directional_radius computes it)."""
    big_m = max_gradient_norm(q)
    return _disk_rho(np.asarray(m1, np.float64) / big_m, np.asarray(m2, np.float64) / big_m)


def _solve_chunk(
    q: FloatArray, m1: FloatArray, m2: FloatArray, numba_threads: int | None
) -> ChunkResult:
    """One build task: the solver on a chunk of cells (runs on a worker).

    Returns the radii, statuses, witness multipliers (shape ``(n, 3)``, NaN where none) and
    the solver version. Each radius is settled (``_settle_cells``) so that the verifier's
    check proves it from the stored multipliers with ``_BUILD_MARGIN`` to spare.
    """
    if numba_threads is not None:
        import numba

        numba.set_num_threads(numba_threads)
    res, lam_out = _directional(q, m1, m2, "raise")
    radius = np.array(res.radius, dtype=np.float64).reshape(-1)
    status = np.array(res.status, dtype=np.int8).reshape(-1)
    lam = np.array(lam_out, dtype=np.float64).reshape(-1, 3)
    # Cells on the boundary of the disk get what directional_radius gives any caller: +inf
    # only where ball arithmetic proves the cell's (m1, m2) on or beyond the boundary; a cell
    # that binary64 puts there but lies a few ulps inside gets the radius of the point pulled
    # inward to edge_gap(q) (FALLBACK), which the verifier proves like any other cell.
    q, m1, m2 = (np.ascontiguousarray(x, dtype=np.float64) for x in (q, m1, m2))
    m_up, z_ok = _proof_bounds(q)
    _settle_cells(q, m1, m2, radius, status, lam, m_up, z_ok)
    return radius, status, lam, _solver_version()


def run_chunks(
    todo: list[int],
    inputs: Callable[[int], tuple[FloatArray, FloatArray, FloatArray]],
    finish: Callable[[int, FloatArray, Int8Array, FloatArray, str], None],
    executor: Executor | None,
    numba_threads: int | None,
) -> None:
    """Solve the chunks in ``todo`` and pass each result to ``finish`` (in this thread).

    ``executor=None`` solves them one after the other in this process. Otherwise every chunk
    is submitted and the results are taken as they complete; on the way out (an error, an
    exception from ``finish``) the chunks not yet started are cancelled.
    """
    if executor is None:
        for c in todo:
            finish(c, *_solve_chunk(*inputs(c), numba_threads))
        return
    futures: dict[Future[ChunkResult], int] = {}
    try:
        for c in todo:
            futures[executor.submit(_solve_chunk, *inputs(c), numba_threads)] = c
        for fut in as_completed(futures):
            finish(futures[fut], *fut.result())
    finally:
        for fut in futures:
            fut.cancel()


def describe_executor(executor: Executor | None) -> str:
    """Where a build ran, as it records it (``metadata["build"]["scheduler"]``)."""
    return "in-process" if executor is None else type(executor).__name__


# RadiusTable.build's arguments that moved to the application (hocert.cluster) in 0.2.
_REMOVED_OPTIONS = ("scheduler", "n_workers")


def check_build_options(executor: object, removed: dict[str, Any]) -> None:
    """Refuse a non-Executor ``executor`` and unknown keyword arguments of ``build``.

    ``scheduler=`` and ``n_workers=`` (Dask clusters, now in the application) get a message
    that says what to pass instead; any other name the usual "unexpected keyword" one.
    """
    old = [name for name in _REMOVED_OPTIONS if name in removed]
    if old:
        given = ", ".join(f"{name}={removed[name]!r}" for name in old)
        raise TypeError(
            f"RadiusTable.build() no longer takes {' or '.join(f'{n}=' for n in old)} "
            f"(got {given}): pass executor=, any concurrent.futures.Executor. For Dask: "
            "`with hocert.cluster.open_executor(scheduler, n_workers) as run: "
            "RadiusTable.build(..., executor=run.executor, numba_threads=run.numba_threads)`, "
            "or executor=client.get_executor() for a distributed.Client; without executor= the "
            "build runs in this process"
        )
    if removed:
        name = next(iter(removed))
        raise TypeError(f"RadiusTable.build() got an unexpected keyword argument {name!r}")
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(
            "executor must be a concurrent.futures.Executor (for a distributed.Client: "
            f"client.get_executor()), got {type(executor).__name__}"
        )


class TableBuild:
    """One build of the grid ``q x a x b``: its chunks, its checkpoint, its results.

    The constructor validates the arguments, opens the checkpoint and takes (and verifies)
    the chunks found there, all before any worker starts; :meth:`run` computes the others,
    :meth:`table_arguments` gives the ``RadiusTable`` constructor's arguments.
    """

    def __init__(
        self,
        q: npt.ArrayLike,
        a: npt.ArrayLike,
        b: npt.ArrayLike,
        *,
        chunk_size: int,
        checkpoint: str | os.PathLike[str] | None,
    ) -> None:
        self.q, self.a, self.b = qg, ag, bg = _validate_grid(q, a, b)
        try:
            chunk_size = operator.index(chunk_size)
        except TypeError:
            raise TypeError(f"chunk_size must be an integer, got {chunk_size!r}") from None
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size!r}")
        self.chunk_size = chunk_size
        self.shape = (qg.size, ag.size, bg.size)
        self.big_m = max_gradient_norm(qg)
        self.m1g, self.m2g = _m_grids(ag, bg, self.big_m)
        self.cells = np.flatnonzero(np.broadcast_to(_feasible_cells(ag, bg), self.shape))
        self.n_chunks = -(-self.cells.size // chunk_size)
        self.version = _solver_version()
        self.edge = _edge_cells(ag, bg)
        self.checkpoint = checkpoint
        self.ckpt = (
            None
            if checkpoint is None
            else open_checkpoint(Path(checkpoint), qg, ag, bg, chunk_size, self.n_chunks)
        )
        n = self.cells.size
        self.radius = np.full(n, np.nan)
        self.cstatus = np.full(n, INVALID, dtype=np.int8)
        self.clam = np.full((n, 3), np.nan)
        self.todo: list[int] = []
        for c in range(self.n_chunks):
            sl = self._slice(c)
            got = self.ckpt.load(c, sl.stop - sl.start) if self.ckpt is not None else None
            if got is None:
                self.todo.append(c)
            else:
                self._check(c, *got, "checkpoint")
                self.radius[sl], self.cstatus[sl], self.clam[sl] = got
        self.n_resumed = self.n_chunks - len(self.todo)
        self.computed: list[int] = []

    def _slice(self, c: int) -> slice:
        return slice(c * self.chunk_size, min((c + 1) * self.chunk_size, self.cells.size))

    def _indices(self, c: int) -> tuple[npt.NDArray[np.int64], ...]:
        i, rem = np.divmod(self.cells[self._slice(c)], self.shape[1] * self.shape[2])
        j, k = np.divmod(rem, self.shape[2])
        return i, j, k

    def _inputs(self, c: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        i, j, k = self._indices(c)
        return self.q[i], self.m1g[i, j], self.m2g[i, k]

    def _check(self, c: int, r: FloatArray, s: Int8Array, lam: FloatArray, source: str) -> None:
        """Verify a chunk before it is merged (``RadiusTable.verify``'s check)."""
        i, j, k = self._indices(c)
        q = self.q
        m1, m2 = self.m1g[i, j], self.m2g[i, k]
        inf_ok = proved_infinite_cells(q[i], m1, m2, r, self.edge[j, k])
        codes = _verify_cells(q[i], m1, m2, r, s, lam, inf_ok)
        if not (codes != _CELL_OK).any():
            return

        def where(p: int) -> str:
            return f"cell {(int(i[p]), int(j[p]), int(k[p]))} (q={q[i[p]]!r}, radius {r[p]!r})"

        text = _describe_failures(codes, where, r.size)[2]
        if source == "checkpoint":
            assert self.ckpt is not None
            raise TableBuildError(
                f"checkpoint chunk {self.ckpt.chunk_path(c)}: {text}. The file was altered or "
                "damaged after it was written; delete it (it is then recomputed) or the "
                "whole checkpoint directory."
            )
        raise TableBuildError(
            f"chunk {c} as computed: {text}. The solver that computed it does not "
            "produce what this process verifies: install the same hocert on the cluster."
        )

    def run(
        self,
        executor: Executor | None,
        numba_threads: int | None,
        on_chunk: Callable[[int, int], None] | None,
    ) -> None:
        """Compute the chunks not resumed (``executor=None``: in this process)."""

        def finish(
            c: int, r: FloatArray, s: Int8Array, lam: FloatArray, worker_version: str
        ) -> None:
            if worker_version != self.version:
                raise TableBuildError(
                    f"a worker runs hocert solver version {worker_version!r}, this process "
                    f"{self.version!r}: install the same version on the cluster"
                )
            self._check(c, r, s, lam, "worker")
            sl = self._slice(c)
            self.radius[sl], self.cstatus[sl], self.clam[sl] = r, s, lam
            if self.ckpt is not None:
                self.ckpt.save(c, r, s, lam)
            self.computed.append(c)
            if on_chunk is not None:
                on_chunk(self.n_resumed + len(self.computed), self.n_chunks)

        run_chunks(self.todo, self._inputs, finish, executor, numba_threads)

    def table_arguments(self, description: str) -> dict[str, Any]:
        """The ``RadiusTable`` constructor's arguments, with ``metadata["build"]``."""
        if (self.cstatus == INVALID).any():  # pragma: no cover - run() computes every chunk
            raise TableBuildError("some chunks were not computed")
        values = np.full(self.shape, np.nan)
        status = np.full(self.shape, SKIPPED, dtype=np.int8)
        lam = np.full((*self.shape, 3), np.nan)
        values.reshape(-1)[self.cells] = self.radius
        status.reshape(-1)[self.cells] = self.cstatus
        lam.reshape(-1, 3)[self.cells] = self.clam
        meta = new_metadata()
        meta["solver_version"] = self.version
        meta["build"] = {
            "scheduler": description,
            "chunk_size": self.chunk_size,
            "n_chunks": self.n_chunks,
            "chunks_from_checkpoint": self.n_resumed,
            "computed_chunks": sorted(self.computed),
            "checkpoint": None if self.checkpoint is None else str(self.checkpoint),
            "grid_sha256": _grid_digest(self.q, self.a, self.b),
        }
        return {
            "q": self.q,
            "a": self.a,
            "b": self.b,
            "values": values,
            "status": status,
            "big_m": self.big_m,
            "lam": lam,
            "metadata": meta,
        }
