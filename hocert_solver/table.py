"""Lookup tables of certified radii: ``RadiusTable`` (docs/math.md, section "Lookup tables").

A table stores the first-order radius ``R(q, m1, m2)`` of Theorem 3 on a grid and answers a
query with the value at the grid corner at or below it in every coordinate. ``R`` is
non-decreasing in ``q``, ``m1`` and ``m2`` (Theorem 3 with inequality constraints;
docs/math.md, "First-order radius along a direction"), so that corner value is a certified
LOWER bound of the radius of the query. Radii are in units of sigma.

Grid coordinates
----------------
The grid is a product ``q_i x a_j x b_k`` of three increasing 1-D arrays. ``q`` is the
probability bound itself (``1/2 <= q_i < 1``; the default grid is uniform in
``z = Phi^{-1}(q)``, where ``R`` is close to linear in ``z``), ``a = m1 / M(q)`` and
``b = m2 / M(q)`` are the gradient bounds normalised by ``M(q) = phi(Phi^{-1}(q))``, the
largest possible gradient norm (``-1 <= a <= 1``, ``0 <= b <= 1``). The cell ``(i, j, k)``
holds ``directional_radius(q_i, A[i, j], B[i, k])`` with the float products
``A[i, j] = a_j * M_i`` and ``B[i, k] = b_k * M_i``, ``M_i = max_gradient_norm(q_i)``; the
value ``a_j = -1`` is stored as ``A[i, j] = -inf`` ("no information on m1": ``E[X f] >= -M(q)``
holds for every feasible ``f``, so every ``m1 <= -M(q)`` states the same problem).
Cells outside the feasible disk ``max(a, 0)^2 + b^2 <= 1`` are not solved (status SKIPPED).

Soundness of a lookup
---------------------
For a query ``(q, m1, m2)`` with ``q_0 <= q`` the lookup takes

* ``i``: the largest ``i`` with ``q_i <= q`` (exact float comparison);
* ``j``: the largest ``j`` with ``A[i, j] <= m1``; ``k``: the largest ``k`` with
  ``B[i, k] <= m2`` (exact float comparisons against the very numbers the solver was given,
  so no rounding of ``m1 / M_i`` can move a query to a larger corner);

and returns ``V[i, j, k] = max{ value(i, j', k') : j' <= j, k' <= k, cell solved }``. Each
solved value is a certified lower bound of ``R(q_i, A[i, j'], B[i, k'])`` (dual witness, see
``directional_radius``), and with ``A[i, j'] <= A[i, j] <= m1``, ``B[i, k'] <= m2`` and
``q_i <= q``, monotonicity gives

    value(i, j', k') <= R(q_i, A[i, j'], B[i, k']) <= R(q_i, m1, m2) <= R(q, m1, m2).

Translating ``(m1, m2)`` to normalised coordinates at ``q_i`` rather than at ``q`` is what
makes the first step right: the cell stores a radius for the absolute bounds
``(a_j M_i, b_k M_i)``, and ``M_i >= M(q)`` for ``1/2 <= q_i <= q``. (Flooring ``a = m1 / M(q)``
instead would compare ``m1`` with ``a_j M(q)`` and could pick a corner with
``a_j M_i > m1`` when ``a_j > 0``.)

Feasible queries never land on an unsolved cell. If ``(m1, m2)`` is feasible at ``q``
(``max(m1, 0)^2 + m2^2 <= M(q)^2``) it is feasible at ``q_i`` because ``M(q) <= M_i``; with
``a' = m1 / M_i``, ``b' = m2 / M_i`` we have ``max(a', 0)^2 + b'^2 <= 1``. The floor corner
has ``a_j <= a'`` and ``0 <= b_k <= b'``, so ``0 <= max(a_j, 0) <= max(a', 0)`` (``max(., 0)``
is non-decreasing) and ``b_k^2 <= b'^2``, hence
``max(a_j, 0)^2 + b_k^2 <= max(a', 0)^2 + b'^2 <= 1``: the corner is feasible. Only rounding
at the very boundary, or an infeasible query (noisy bounds whose confidence statements
failed), can reach a SKIPPED cell, and the prefix maximum above then gives a value of a solved
cell that the query dominates. A query outside the feasible disk at ``q`` itself by more than
``FEASIBILITY_SLACK`` (relative) gets status INCONSISTENT and the zeroth-order radius
``Phi^{-1}(q)`` instead of a table value, as in ``directional_radius``: its bounds contradict
``q``, so only ``q`` is trusted.

Queries above the last grid value of ``q``, ``a`` or ``b`` floor to the last one (sound by
monotonicity). Queries below the first grid value (``1/2 < q < q_0``, or ``m1`` / ``m2``
below the first column) are outside the table: an error, or NaN with ``on_outside="nan"``.
``q <= 1/2`` abstains (radius 0), as in ``directional_radius``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt
from scipy import special

from . import _table_io
from ._lookup import OUTSIDE, LookupIndex
from ._table_build import TableBuild, check_build_options, describe_executor
from ._table_errors import TableBuildError, TableFormatError, TableVerificationError
from ._table_grid import SKIPPED, FloatArray, Int8Array, default_grid, validate_contents
from ._table_io import TABLE_FORMAT_VERSION
from ._table_tightness import TightnessReport, tightness_report
from ._table_verify import TableVerification, table_problems, verify_table
from .directional import STATUS_NAMES

# The class is a facade over one private module per concept (docs/architecture.md: _table_grid,
# _lookup, _table_verify, _table_io, _table_build, _table_tightness, _table_errors); the public
# names are re-exported here. Dask clusters are the application's (hocert.cluster).
__all__ = [
    "OUTSIDE",
    "SKIPPED",
    "TABLE_FORMAT_VERSION",
    "RadiusTable",
    "TableBuildError",
    "TableFormatError",
    "TableVerification",
    "TableVerificationError",
    "TightnessReport",
]

_LOOKUP_STATUS_NAMES = {**STATUS_NAMES, OUTSIDE: "outside", SKIPPED: "skipped"}

OnBad = Literal["raise", "nan"]


class RadiusTable:
    """A precomputed grid of certified radii with sound (lower-bound) lookups.

    Normally made by :meth:`build` (in this process or on any Executor) or :meth:`load`. See
    the module docstring for the grid convention and the proof that :meth:`lookup` returns a
    lower bound of the radius of Theorem 3 (docs/math.md, "Lookup tables").

    Parameters
    ----------
    q, a, b : array_like
        Strictly increasing 1-D grids: ``q`` in ``[1/2, 1)``, ``a = m1 / M(q)`` in
        ``[-1, 1]``, ``b = m2 / M(q)`` in ``[0, 1]``.
    values : array_like, shape (len(q), len(a), len(b))
        ``directional_radius`` radii at the cells (units of sigma); NaN at SKIPPED cells.
    status : array_like of int8, same shape
        Solver status per cell (CONVERGED, ABSTAIN, FALLBACK, INCONSISTENT; PROJECTED in
        tables built by older versions) or SKIPPED for cells outside the feasible disk.
    big_m : array_like, optional
        ``M(q_i)`` as used for the build (defaults to ``max_gradient_norm(q)``); one that
        differs from it by more than 1e-12 relative raises :class:`TableVerificationError`.
    lam : array_like, shape (len(q), len(a), len(b), 3), optional
        The multipliers ``(l0, l1, l2)`` of the dual witness of each cell's radius (NaN where
        the radius needs none, or has the closed-form strip witness), as :meth:`build` stores
        them; :meth:`verify` re-checks the radii with them. Without them only the radii that
        need no first-order witness can be verified.
    metadata : dict, optional
        Free-form metadata (JSON-serialisable), kept by :meth:`save`.
    """

    def __init__(
        self,
        q: npt.ArrayLike,
        a: npt.ArrayLike,
        b: npt.ArrayLike,
        values: npt.ArrayLike,
        status: npt.ArrayLike,
        *,
        big_m: npt.ArrayLike | None = None,
        lam: npt.ArrayLike | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        c = validate_contents(q, a, b, values, status, big_m, lam)
        self._q, self._a, self._b, self._big_m = c["q"], c["a"], c["b"], c["big_m"]
        self._values, self._status, self._lam = c["values"], c["status"], c["lam"]
        self.metadata: dict[str, Any] = dict(metadata or {})
        # What lookups read (derived, not saved).
        self._index = self._derive_index()

    def _derive_index(self) -> LookupIndex:
        return LookupIndex(self._q, self._a, self._b, self._big_m, self._values, self._status)

    # ---------------------------------------------------------------- properties
    @property
    def q(self) -> FloatArray:
        """Grid of probability lower bounds ``q_i`` (read-only)."""
        return self._q

    @property
    def z(self) -> FloatArray:
        """``Phi^{-1}(q_i)``: the Cohen radius at each grid ``q`` (units of sigma)."""
        return special.ndtri(self._q)

    @property
    def a(self) -> FloatArray:
        """Grid of normalised gradient bounds ``a_j = m1 / M(q_i)`` (read-only)."""
        return self._a

    @property
    def b(self) -> FloatArray:
        """Grid of normalised gradient bounds ``b_k = m2 / M(q_i)`` (read-only)."""
        return self._b

    @property
    def big_m(self) -> FloatArray:
        """``M(q_i) = phi(Phi^{-1}(q_i))`` as used for the build (read-only)."""
        return self._big_m

    @property
    def values(self) -> FloatArray:
        """Solver radii per cell, shape ``(nq, na, nb)``, NaN at SKIPPED cells (read-only)."""
        return self._values

    @property
    def status(self) -> Int8Array:
        """Solver status per cell (read-only); SKIPPED (-3) outside the feasible disk."""
        return self._status

    @property
    def lam(self) -> FloatArray | None:
        """Witness multipliers ``(l0, l1, l2)`` per cell, shape ``(nq, na, nb, 3)``, or None.

        NaN where the radius needs no first-order witness (0, Cohen's radius, ``+inf``, the
        strip radius of ``m2 = 0``) and at SKIPPED cells; None for tables without them
        (format version 1). Read-only.
        """
        return self._lam

    @property
    def lookup_values(self) -> FloatArray:
        """The values lookups return: per-row prefix maxima over dominated solved cells."""
        return self._index.values

    @property
    def n_raised(self) -> int:
        """Solved cells whose lookup value exceeds their own solver value (prefix maximum).

        The solver is monotone only up to its accuracy, so a dominated cell can hold a
        slightly larger certified value (round-off, or a FALLBACK cell next to a converged
        one); lookups use the larger one, which is still a lower bound at the cell.
        """
        return self._index.n_raised

    @property
    def shape(self) -> tuple[int, int, int]:
        """Grid shape ``(len(q), len(a), len(b))``."""
        return (self._q.size, self._a.size, self._b.size)

    def status_counts(self) -> dict[str, int]:
        """Number of cells per status name (``converged``, ``fallback``, ``skipped``, ...)."""
        codes, counts = np.unique(self._status, return_counts=True)
        return {_LOOKUP_STATUS_NAMES[int(c)]: int(n) for c, n in zip(codes, counts)}

    def __repr__(self) -> str:
        nq, na, nb = self.shape
        return (
            f"RadiusTable(q: {nq} from {self._q[0]:.6g} to {self._q[-1]:.10g}, a: {na} from "
            f"{self._a[0]:g} to {self._a[-1]:g}, b: {nb} from {self._b[0]:g} to "
            f"{self._b[-1]:g}; {self.status_counts()})"
        )

    # ---------------------------------------------------------------- grids
    @staticmethod
    def default_grid(
        z_max: float = 5.3, dz: float = 0.025, da: float = 0.1, db: float = 0.1
    ) -> dict[str, FloatArray]:
        """A grid uniform in ``z = Phi^{-1}(q)``, ``a`` and ``b``.

        The defaults (213 x 21 x 11 cells, 44k of them feasible) balance build time and
        tightness: flooring ``q`` costs more than flooring ``a`` or ``b`` (``R`` grows about
        linearly in ``z`` and the normalisation ``m / M(q_i)`` moves with ``q_i``), so ``z`` is
        finer. On random queries (``z`` uniform in (0, 5.2), ``(a, b)`` uniform in the disk)
        the median of lookup / direct radius is about 0.975.

        Parameters
        ----------
        z_max : float
            Largest ``z`` (5.3: ``q = 1 - 5.8e-8``; larger ``q`` floor to it, which is sound).
        dz, da, db : float
            Steps in ``z`` (from 0, i.e. ``q = 1/2``, so every ``q > 1/2`` is inside the
            table), in ``a`` (from -1 to 1) and in ``b`` (from 0 to 1).

        Returns
        -------
        dict
            ``{"q": ..., "a": ..., "b": ...}``, to be passed as ``RadiusTable.build(**grid)``.
        """
        return default_grid(z_max, dz, da, db)

    # ---------------------------------------------------------------- lookup
    @overload
    def lookup(
        self,
        q: npt.ArrayLike,
        m1: npt.ArrayLike,
        m2: npt.ArrayLike,
        *,
        on_invalid: OnBad = ...,
        on_outside: OnBad = ...,
        return_status: Literal[False] = ...,
    ) -> FloatArray: ...

    @overload
    def lookup(
        self,
        q: npt.ArrayLike,
        m1: npt.ArrayLike,
        m2: npt.ArrayLike,
        *,
        on_invalid: OnBad = ...,
        on_outside: OnBad = ...,
        return_status: Literal[True],
    ) -> tuple[FloatArray, Int8Array]: ...

    def lookup(
        self,
        q: npt.ArrayLike,
        m1: npt.ArrayLike,
        m2: npt.ArrayLike,
        *,
        on_invalid: OnBad = "raise",
        on_outside: OnBad = "raise",
        return_status: bool = False,
    ) -> FloatArray | tuple[FloatArray, Int8Array]:
        """Certified lower bound of the directional radius ``R(q, m1, m2)`` from the table.

        Same inputs and conventions as :func:`directional_radius`; arguments broadcast and the
        lookup runs in parallel (Numba), O(1) per query.

        Parameters
        ----------
        q : array_like
            Lower bound on ``p_A``, in [0, 1]; ``q <= 1/2`` abstains (radius 0). ``q`` above the
            last grid ``q`` uses the last grid row (a smaller, still certified radius).
        m1 : array_like
            Lower bound on ``<beta, v>`` (``-inf`` allowed).
        m2 : array_like
            Lower bound (>= 0, finite) on the orthogonal gradient norm.
        on_invalid : {"raise", "nan"}
            NaN, ``q`` outside [0, 1], ``m1 = +inf``, ``m2`` negative or non-finite: raise
            ``ValueError`` (default) or return NaN with status INVALID (-1).
        on_outside : {"raise", "nan"}
            Queries below the table's domain (``1/2 < q < q[0]``, or ``m1 < a[0] * M(q_i)``,
            ``m2 < b[0] * M(q_i)`` at the floor row ``q_i``): raise ``ValueError`` (default) or
            return NaN with status OUTSIDE (-2).
        return_status : bool
            Also return the status per query.

        Returns
        -------
        radius : ndarray of float64
            Radius in units of sigma, never above ``R(q, m1, m2)`` (module docstring);
            ``+inf`` where the grid corner's radius is unbounded. For queries outside the
            feasible disk (INCONSISTENT below) ``cohen_radius(q)`` instead, with or without
            ``return_status``. Scalars in, scalar out.
        status : ndarray of int8, only with ``return_status=True``
            CONVERGED (0): value of a full-accuracy cell; FALLBACK (3): the value comes from a
            solver FALLBACK cell (still certified, less tight); ABSTAIN (1): ``q <= 1/2`` or
            the ``q = 1/2`` grid row (radius 0); INCONSISTENT (4): ``(m1, m2)`` lies outside
            the feasible disk ``max(m1, 0)^2 + m2^2 <= M(q)^2`` at ``q`` by more than
            ``FEASIBILITY_SLACK`` (relative): the bounds contradict ``q`` (wrong units or a
            failed confidence bound), and the radius is the zeroth-order ``cohen_radius(q)``
            (as in ``directional_radius``); INVALID (-1); OUTSIDE (-2).
        """
        return self._index.lookup(q, m1, m2, on_invalid, on_outside, return_status)

    def tightness(self, q: npt.ArrayLike, m1: npt.ArrayLike, m2: npt.ArrayLike) -> TightnessReport:
        """Compare lookups with direct :func:`directional_radius` solves for the same queries.

        Parameters
        ----------
        q, m1, m2 : array_like
            Queries, as for :meth:`lookup` (errors for invalid or outside queries).

        Returns
        -------
        TightnessReport
            Both radii (units of sigma) and statuses; ``.ratio``, ``.gap`` and ``.summary()``.
        """
        return tightness_report(self.lookup, q, m1, m2)

    # ---------------------------------------------------------------- verification
    def verify(self) -> TableVerification:
        """Re-prove every stored radius from the table's own grid and multipliers.

        Each solved cell ``(i, j, k)`` is checked at its stored radius ``r`` with the inputs
        the lookups use: ``q_i`` from the table, ``m1 = A[i, j] = a_j M_i`` (``-inf`` for
        ``a_j = -1``) and ``m2 = B[i, k] = b_k M_i``. ``r`` passes if

        * ``q_i = 1/2``: ``r = 0`` with status ABSTAIN (and ABSTAIN nowhere else);
        * ``r = +inf``: the cell lies on the boundary of the feasible disk,
          ``hypot(max(a_j, 0), b_k) >= 1 - FEASIBILITY_SLACK`` (or outside it);
        * ``0 <= r <= Phi^{-1}(q_i)`` (rounded down by 8 ulps): Cohen's radius, which is the
          radius at ``m1 = -inf, m2 = 0``, needs no witness (R is non-decreasing);
        * otherwise the dual witness with the stored multipliers ``lam[i, j, k]`` gives
          ``D(lam; r) > 1/2`` after its error bound (``_dual.certified_excess``, the check
          the solver uses), or the closed-form witness of the strip radius ``R(q_i, m1, 0)``
          does (``_strip.strip_dual``). By weak duality either proves ``r <= R``.

        Table-level checks: ``big_m`` equals ``max_gradient_norm(q)`` (1e-12 relative), and the
        arrays lookups read (the grids ``A``, ``B``, :attr:`lookup_values` and its status) equal
        those derived afresh from the grid, :attr:`values` and :attr:`status`; so every lookup
        reads a value proved at a corner the query dominates (module docstring). Not re-proved:
        that CONVERGED radii are within the solver accuracy of ``R`` (a lowered value is still
        sound); a table without multipliers (format version 1) fails every cell that needs a
        first-order witness (docs/math.md, section 8). Cost: about 32 us per cell on one core, in
        parallel (1.4 s for :meth:`default_grid` on one core; docs/benchmarks.md).

        Returns
        -------
        TableVerification
            Counts of checked and failed cells, the first failing cells, the reasons, and
            ``ok``; :meth:`load` raises :class:`TableVerificationError` unless ``ok``.
        """
        index = self._index
        return verify_table(
            self._q,
            self._a,
            self._b,
            index.m1g,
            index.m2g,
            self._values,
            self._status,
            self._lam,
            lambda: table_problems(self._q, self._big_m, index, self._derive_index()),
        )

    # ---------------------------------------------------------------- save / load
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the table to an ``.npz`` file (atomically; the exact path is used).

        The file holds the grid (``q``, ``a``, ``b``, ``big_m``), ``values``, ``status``, the
        witness multipliers ``lam`` (format version 2; a table without them is written as
        version 1) and a JSON ``metadata`` string with the format version, solver version,
        solver tolerance, grid convention and creation time.
        """
        names = ("q", "a", "b", "big_m", "values", "status", "lam")
        arrays = {name: getattr(self, f"_{name}") for name in names}
        _table_io.write_table(Path(path), arrays, self.metadata, self.status_counts())

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        verify: bool = True,
        strict_solver_version: bool = False,
    ) -> RadiusTable:
        """Read a table written by :meth:`save`, validating its format and contents.

        A table is something people share and download, so by default every stored radius is
        re-proved from the file's own grid and witness multipliers (:meth:`verify`; about 1 s for
        the default table) and a table with any failing cell is refused.

        Parameters
        ----------
        path : path-like
            The ``.npz`` file.
        verify : bool
            Verify the table (default). ``verify=False`` skips it, for huge tables whose
            provenance you trust (e.g. built and verified on this machine before); the
            structural checks (format, shapes, SKIPPED cells, ``big_m``) still apply.
        strict_solver_version : bool
            Refuse a table built by another solver version than the installed one. (Its values
            stay certified lower bounds either way: verification re-proves them.)

        Raises
        ------
        TableVerificationError
            (A ``ValueError``.) The contents are inconsistent or a radius is not proved by its
            witness: the file was altered or damaged after it was built. Also a format
            version 1 file (no multipliers) with ``verify=True``: rebuild it, or pass
            ``verify=False``.
        TableFormatError
            (A ``ValueError``.) Not a RadiusTable file (or unreadable: truncated, corrupted,
            not an ``.npz`` archive), another format version.
        """
        p = Path(path)
        arrays, meta = _table_io.read_table(p, strict_solver_version=strict_solver_version)
        try:
            table = cls(**arrays, metadata=meta)
        except (ValueError, TypeError) as exc:
            raise TableVerificationError(f"{p}: inconsistent RadiusTable contents: {exc}") from exc
        if verify:
            has_lam = table.lam is not None
            _table_io.refuse_unproved(p, table.verify(), has_lam, meta.get("format_version"))
        return table

    # ---------------------------------------------------------------- build
    @classmethod
    def build(
        cls,
        q: npt.ArrayLike,
        a: npt.ArrayLike,
        b: npt.ArrayLike,
        *,
        executor: Executor | None = None,
        chunk_size: int = 2048,
        checkpoint: str | os.PathLike[str] | None = None,
        numba_threads: int | None = None,
        on_chunk: Callable[[int, int], None] | None = None,
        **removed: Any,
    ) -> RadiusTable:
        """Solve every feasible cell of the grid ``q x a x b``, in chunks, here or on an Executor.

        Parameters
        ----------
        q, a, b : array_like
            Strictly increasing 1-D grids (see the class docstring; e.g.
            ``**RadiusTable.default_grid()``).
        executor : concurrent.futures.Executor, optional
            Where to solve the chunks: any ``concurrent.futures.Executor`` (one task per chunk,
            submitted up front; results taken as they complete). A ``ProcessPoolExecutor``, or
            a Dask cluster through ``distributed.Client(...).get_executor()`` (the application's
            ``hocert.cluster.open_executor`` starts or connects to one); threads of this process
            (``ThreadPoolExecutor``) need a thread-safe Numba threading layer (``omp`` or
            ``tbb``, not ``workqueue``). Not closed. ``None`` (default): the chunks are solved
            one after the other in this process, each with Numba's own parallel loop.
        chunk_size : int
            Cells per task.
        checkpoint : path-like, optional
            Directory for resumable builds: each finished chunk is saved as
            ``chunk_NNNNNN.npz`` next to a ``manifest.json`` describing the build, and a
            rebuild with the same grid, chunk size and solver version skips the chunks already
            there. A directory made for another build is refused (``TableBuildError``). A
            chunk read back is verified like a loaded table (:meth:`verify`) before it is
            merged; one that fails (altered or damaged after it was written) is refused with
            ``TableBuildError`` naming the file, not recomputed silently. An unreadable chunk
            (e.g. a truncated file) is recomputed with a warning.
        numba_threads : int, optional
            Numba threads per task (default: unchanged; 1 suits one single-threaded worker
            process per core).
        on_chunk : callable, optional
            Called as ``on_chunk(done, total)`` after each finished (and saved) chunk.

        Returns
        -------
        RadiusTable
            With ``metadata["build"]`` recording chunk counts, the chunks computed in this
            call and where they ran (``"scheduler"``: ``"in-process"``, or the executor's class
            name).

        Raises
        ------
        TableBuildError
            The checkpoint belongs to another grid, chunk size or solver version, a checkpoint
            chunk fails verification, or a worker runs another solver version than this
            process (or returns radii that fail verification).
        TypeError
            ``executor`` is not a ``concurrent.futures.Executor``, or the removed
            ``scheduler=`` / ``n_workers=`` are given (the message says what to pass instead).

        Notes
        -----
        Interrupting a build (Ctrl-C, an exception from ``on_chunk``, a killed process) loses
        only the chunks in flight when a checkpoint is given. Cells are ordered by
        ``(q, a, b)`` and chunked in that order; cells outside the feasible disk are not
        solved.

        Each task stores, with every radius, the multipliers of the witness that proves it,
        and settles the radius against the verifier's own check (:meth:`verify`) with ``1e-12``
        to spare, stepping back the few that hold with less (by at most 3e-8 relative, far
        inside the solver's 1e-6 accuracy; docs/math.md, section 8). So a table verifies on
        any machine, and each chunk is verified before it is merged.

        Examples
        --------
        >>> from hocert_solver.table import RadiusTable
        >>> grid = RadiusTable.default_grid(z_max=2.0, dz=0.5, da=0.5, db=0.5)
        >>> table = RadiusTable.build(**grid)
        >>> table.shape
        (5, 5, 3)
        >>> big_m = float(table.big_m[2])  # M(q) at q = Phi(1.0)
        >>> bool(table.lookup(0.9, -0.5 * big_m, 0.5 * big_m) <= 2.0)
        True
        """
        check_build_options(executor, removed)
        plan = TableBuild(q, a, b, chunk_size=chunk_size, checkpoint=checkpoint)
        plan.run(executor, numba_threads, on_chunk)
        description = describe_executor(executor)
        table = cls(**plan.table_arguments(description))
        table.metadata["status_counts"] = table.status_counts()
        return table
