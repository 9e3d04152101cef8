"""Verification of a ``RadiusTable``: every stored radius re-proved from the table's own data.

The stored radius of a cell is re-proved from the stored multipliers (the solver's own witness
check, ``_dual.certified_excess``) or the closed-form strip witness
(``_strip.strip_dual``), or needs no proof (0, at most Cohen's radius, +inf on the boundary
of the feasible disk). ``RadiusTable.verify`` runs it on a whole table (with the table-level
checks of :func:`table_problems`), ``RadiusTable.load`` on a file, a build on each chunk before
merging it, and a build's tasks settle their radii (``_settle_cells``) so that it holds with a
margin on any machine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange
from scipy import special

from ._dual import certified_excess
from ._strip import strip, strip_dual
from ._table_grid import SKIPPED, BoolArray, FloatArray, Int8Array, _edge_cells
from .directional import (
    ABSTAIN,
    CONVERGED,
    FALLBACK,
    INCONSISTENT,
    PROJECTED,
    max_gradient_norm,
)

if TYPE_CHECKING:
    from ._lookup import LookupIndex

__all__ = ["TableVerification", "table_problems", "verify_table"]

# A radius r <= Phi^{-1}(q) needs no witness (Cohen's radius is the radius at m1 = -inf,
# m2 = 0, and R is non-decreasing in m1 and m2). SciPy's ndtri is within 4 ulps of Phi^{-1}
# (directional._cohen_floor), so the bound checked is ndtri(q) (1 - _COHEN_CHECK_DOWN); the
# solver's own Cohen radii are rounded down further.
_COHEN_CHECK_DOWN = 8.0 * np.finfo(np.float64).eps
# m1 = -inf ("no information", the a = -1 column) enters the witness as m1 = -M(q) rounded
# away from zero by this (relative): any m1 <= -M(q) states the same problem, and a smaller m1
# can only lower the dual value (its term is l1 * m1 with l1 >= 0).
_M_UP = 1e-12
# A build stores a radius only where the verifier's own check proves it with this much to
# spare (in p(r), absolute), stepping the radius back where the solver's witness (other
# quadrature panels, inputs a few ulps apart) holds with less: verification on another
# machine (another libm) then cannot fail an honest cell by rounding.
_BUILD_MARGIN = 1e-12
# Verification outcome per cell (_check_cells).
_CELL_OK = 0
_CELL_NOT_PROVED = 1
_CELL_INF_OFF_EDGE = 2
_CELL_ABSTAIN = 3
_CELL_STATUS = 4
_CELL_REASONS = {
    _CELL_NOT_PROVED: "radius not proved by its witness",
    _CELL_INF_OFF_EDGE: "+inf not proved on the boundary of the feasible disk",
    _CELL_ABSTAIN: "abstain row or status wrong (radius 0 exactly where q = 1/2)",
    _CELL_STATUS: "not a solver status code",
}


@njit(cache=True)
def _proof_margin(
    q: float, m1: float, m2: float, r: float, l0: float, l1: float, l2: float, m_up: float
) -> float:
    """A certified lower bound of ``p(r) - 1/2`` (``> 0``: ``r`` is proved), or -inf/NaN.

    From the multipliers ``(l0, l1, l2)`` (skipped if any is NaN) and, if they do not prove
    ``r``, from the strip witness of ``R(q, m1, 0) <= R(q, m1, m2)``. ``m1 = -inf`` enters as
    ``-m_up`` with ``m_up >= M(q)`` (the same problem; see ``_M_UP``).
    """
    x1 = m1 if m1 > -math.inf else -m_up
    best = -math.inf
    if l0 == l0 and l1 == l1 and l2 == l2:
        # k0, k1 as the solver's witness forms them (_witness._certify); l1 = 0 gives k1 = -r.
        d = certified_excess(l0 - 1.0 + 0.5 * r * r, l1 - r, l2, r, q, x1, m2)
        if d > best:
            best = d
    if not (best > 0.0):
        w2, w1 = strip(q, x1)
        d = strip_dual(q, x1, w2, w1, r) - 0.5
        if d > best:
            best = d
    # A cell on the disk's boundary that is not proved there holds the radius of its point
    # pulled inward (m1 times 1 - edge_gap(q), edge_gap in [1e-8, 0.5]): rebuild the strip
    # witness there. With l1 >= 0 the dual at the cell's own, larger m1 only grows, so the
    # cell's m1 enters the dual value.
    for pull in (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 0.5):
        if best > 0.0 or not (x1 > 0.0):
            break
        w2, w1 = strip(q, x1 * (1.0 - pull))
        d = strip_dual(q, x1, w2, w1, r) - 0.5
        if d > best:
            best = d
    return best


@njit(cache=True, parallel=True)
def _check_cells(
    q: FloatArray,
    m1: FloatArray,
    m2: FloatArray,
    r: FloatArray,
    status: Int8Array,
    lam: FloatArray,
    edge: BoolArray,
    m_up: FloatArray,
    z_ok: FloatArray,
    margin: float,
    out: Int8Array,
) -> None:
    """Verification code per solved cell (``_CELL_*``) into ``out``.

    ``edge``: the cell is proved on the boundary of the feasible disk (``+inf`` allowed);
    ``z_ok``: radii up to this need no witness (Cohen's radius, rounded down);
    ``margin``: the proof margin required (0 to verify, ``_BUILD_MARGIN`` in a build).
    """
    for p in prange(q.shape[0]):
        rr = r[p]
        code = _CELL_OK
        if q[p] <= 0.5:
            if not (rr == 0.0 and status[p] == ABSTAIN):
                code = _CELL_ABSTAIN
        elif status[p] == ABSTAIN:
            code = _CELL_ABSTAIN
        elif rr == math.inf:
            if not edge[p]:
                code = _CELL_INF_OFF_EDGE
        elif not (rr >= 0.0):
            code = _CELL_NOT_PROVED
        elif rr > z_ok[p]:
            lp = lam[p]
            if not (_proof_margin(q[p], m1[p], m2[p], rr, lp[0], lp[1], lp[2], m_up[p]) > margin):
                code = _CELL_NOT_PROVED
        out[p] = code


@njit(cache=True, parallel=True)
def _settle_cells(
    q: FloatArray,
    m1: FloatArray,
    m2: FloatArray,
    r: FloatArray,
    status: Int8Array,
    lam: FloatArray,
    m_up: FloatArray,
    z_ok: FloatArray,
) -> None:
    """Step radii back until ``_check_cells`` proves them with ``_BUILD_MARGIN`` to spare.

    For the few cells whose solver witness holds with less margin under the verifier's check
    (it evaluates the dual on its own quadrature panels, at the table's ``m1``, ``m2`` rather
    than the solver's, which differ by ulps). Lowering a certified radius keeps it certified;
    a cell lowered by more than the solver's accuracy (1e-6 relative) becomes FALLBACK, and
    one that no step proves gets Cohen's radius (``z_ok``, which needs no witness).
    """
    for p in prange(q.shape[0]):
        rr = r[p]
        if not (rr > z_ok[p]) or rr == math.inf or q[p] <= 0.5:
            continue
        lp = lam[p]
        if _proof_margin(q[p], m1[p], m2[p], rr, lp[0], lp[1], lp[2], m_up[p]) > _BUILD_MARGIN:
            continue
        new = z_ok[p]
        delta = 1e-12 * (1.0 + rr)
        for _ in range(50):
            rw = rr - delta
            if rw <= z_ok[p]:
                break
            if _proof_margin(q[p], m1[p], m2[p], rw, lp[0], lp[1], lp[2], m_up[p]) > _BUILD_MARGIN:
                new = rw
                break
            delta *= 4.0
        if new == z_ok[p]:
            lp[:] = math.nan
        if new < rr - 1e-6 * max(1.0, rr):
            status[p] = FALLBACK
        r[p] = new


def _verify_cells(
    q: FloatArray,
    m1: FloatArray,
    m2: FloatArray,
    radius: FloatArray,
    status: Int8Array,
    lam: FloatArray,
    edge: BoolArray,
    margin: float = 0.0,
) -> Int8Array:
    """``_check_cells`` on flat arrays of solved cells: one ``_CELL_*`` code per cell."""
    m_up, z_ok = _proof_bounds(q)
    out = np.empty(q.size, dtype=np.int8)
    _check_cells(
        np.ascontiguousarray(q, dtype=np.float64),
        np.ascontiguousarray(m1, dtype=np.float64),
        np.ascontiguousarray(m2, dtype=np.float64),
        np.ascontiguousarray(radius, dtype=np.float64),
        np.ascontiguousarray(status, dtype=np.int8),
        np.ascontiguousarray(lam, dtype=np.float64).reshape(q.size, 3),
        np.ascontiguousarray(edge, dtype=np.bool_),
        m_up,
        z_ok,
        margin,
        out,
    )
    solver_codes = np.array([CONVERGED, ABSTAIN, PROJECTED, FALLBACK, INCONSISTENT], np.int8)
    out[~np.isin(status, solver_codes)] = _CELL_STATUS
    return out


def _proof_bounds(q: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``(m_up, z_ok)`` per cell for ``_check_cells`` and ``_settle_cells``.

    ``m_up``: ``M(q)`` rounded up (stands for ``m1 = -inf``); ``z_ok``: the largest radius
    that needs no witness, ``Phi^{-1}(q)`` rounded down (0 at ``q = 1/2``).
    """
    m_up = max_gradient_norm(q) * (1.0 + _M_UP)
    with np.errstate(invalid="ignore"):
        z_ok = np.where(q > 0.5, special.ndtri(q) * (1.0 - _COHEN_CHECK_DOWN), 0.0)
    return np.ascontiguousarray(m_up), np.ascontiguousarray(z_ok)


def _describe_failures(
    codes: Int8Array, where: Callable[[int], str], n_cells: int
) -> tuple[int, dict[str, int], str]:
    """(number failed, count per reason, one-line description of the first few)."""
    bad = np.flatnonzero(codes != _CELL_OK)
    reasons: dict[str, int] = {}
    for code, name in _CELL_REASONS.items():
        n = int(np.count_nonzero(codes == code))
        if n:
            reasons[name] = n
    first = "; ".join(where(int(p)) for p in bad[:3])
    text = (
        f"{bad.size} of {n_cells} cells fail verification ("
        + ", ".join(f"{n} {name}" for name, n in reasons.items())
        + f"); first: {first}"
    )
    return int(bad.size), reasons, text


@dataclass(frozen=True)
class TableVerification:
    """Outcome of :meth:`RadiusTable.verify`: which stored radii the table's witnesses prove.

    Attributes
    ----------
    n_cells : int
        Cells of the grid (solved and SKIPPED).
    n_checked : int
        Solved cells, each re-checked at its stored radius.
    n_failed : int
        Cells that fail (solved cells not proved, SKIPPED cells holding a value).
    failed : tuple of (i, j, k)
        The first (at most 10) failing cells.
    reasons : dict
        Number of failing cells per reason.
    problems : tuple of str
        Failures of the table as a whole: ``big_m`` rows that do not match ``q``, lookup
        arrays that differ from those derived from ``values`` and ``status``.
    seconds : float
        Wall time of the verification.
    """

    n_cells: int
    n_checked: int
    n_failed: int
    failed: tuple[tuple[int, int, int], ...]
    reasons: dict[str, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every cell is proved and the table-level checks pass."""
        return self.n_failed == 0 and not self.problems

    def describe(self) -> str:
        """One line: what was checked and, if any, what failed."""
        head = f"{self.n_checked} of {self.n_cells} cells checked in {self.seconds:.2f} s"
        if self.ok:
            return f"{head}: all proved"
        parts = []
        if self.n_failed:
            why = ", ".join(f"{n} {name}" for name, n in self.reasons.items())
            cells = ", ".join(str(c) for c in self.failed[:3])
            fail = "1 cell fails" if self.n_failed == 1 else f"{self.n_failed} cells fail"
            parts.append(f"{fail} ({why}; first at (i, j, k) = {cells})")
        parts.extend(self.problems)
        return f"{head}: " + "; ".join(parts)


def proved_infinite_cells(
    q: FloatArray, m1: FloatArray, m2: FloatArray, r: FloatArray, on_edge: BoolArray
) -> BoolArray:
    """Where a ``+inf`` cell is allowed: ball arithmetic proves its ``(m1, m2)`` on or beyond
    the boundary of the feasible disk (within the slack), as ``directional_radius`` requires of
    its own ``+inf`` (``verification._infinite_is_proved``, about 15 us per cell)."""
    from .verification import _infinite_is_proved  # (ball arithmetic: imported when needed)

    proved = np.zeros(r.shape, dtype=np.bool_)
    for p in np.flatnonzero((r == np.inf) & on_edge):
        proved[p] = _infinite_is_proved(float(q[p]), float(m1[p]), float(m2[p]))
    return proved


def verify_table(
    q: FloatArray,
    a: FloatArray,
    b: FloatArray,
    m1g: FloatArray,
    m2g: FloatArray,
    values: FloatArray,
    status: Int8Array,
    lam: FloatArray | None,
    problems: Callable[[], tuple[str, ...]],
) -> TableVerification:
    """``RadiusTable.verify``: every solved cell at ``(q_i, m1g[i, j], m2g[i, k])``.

    ``problems`` gives the table-level failures (``TableVerification.problems``).
    """
    t0 = time.perf_counter()
    shape = values.shape
    solved = status != SKIPPED
    cells = np.flatnonzero(solved)
    i, rem = np.divmod(cells, shape[1] * shape[2])
    j, k = np.divmod(rem, shape[2])
    lam_cells = lam.reshape(-1, 3)[cells] if lam is not None else np.full((cells.size, 3), np.nan)
    values_cells = values.reshape(-1)[cells]
    proved_inf = proved_infinite_cells(
        q[i], m1g[i, j], m2g[i, k], values_cells, _edge_cells(a, b)[j, k]
    )
    codes = _verify_cells(
        q[i],
        m1g[i, j],
        m2g[i, k],
        values_cells,
        status.reshape(-1)[cells],
        lam_cells,
        proved_inf,
    )
    bad = cells[codes != _CELL_OK]
    reasons: dict[str, int] = {}
    for code, name in _CELL_REASONS.items():
        n = int(np.count_nonzero(codes == code))
        if n:
            if code == _CELL_NOT_PROVED and lam is None:
                name += " (the table holds no multipliers: format version 1)"
            reasons[name] = n
    # SKIPPED cells hold no value and no multipliers.
    skipped_bad = np.flatnonzero(~solved & ~np.isnan(values))
    if lam is not None:
        skipped_bad = np.union1d(skipped_bad, np.flatnonzero(~solved & ~np.isnan(lam).all(axis=-1)))
    if skipped_bad.size:
        reasons["SKIPPED cell holding a value"] = int(skipped_bad.size)
        bad = np.union1d(bad, skipped_bad)
    failed = tuple((int(x), int(y), int(z)) for x, y, z in zip(*np.unravel_index(bad[:10], shape)))
    return TableVerification(
        n_cells=int(values.size),
        n_checked=int(cells.size),
        n_failed=int(bad.size),
        failed=failed,
        reasons=reasons,
        problems=problems(),
        seconds=time.perf_counter() - t0,
    )


def table_problems(
    q: FloatArray, big_m: FloatArray, index: LookupIndex, derived: LookupIndex
) -> tuple[str, ...]:
    """Table-level checks of ``RadiusTable.verify``: ``big_m`` and the arrays lookups read.

    ``index`` is what the table's lookups read, ``derived`` the same derived afresh from the
    table's grid, ``big_m``, values and status.
    """
    problems = []
    m_expected = max_gradient_norm(q)
    off = ~(np.abs(big_m - m_expected) <= 1e-12 * m_expected)
    if off.any():
        problems.append(
            f"big_m differs from max_gradient_norm(q) by more than 1e-12 relative at "
            f"{int(off.sum())} q rows (first: i = {int(np.flatnonzero(off)[0])})"
        )
    for name in index.differences(derived):
        problems.append(f"the {name} read by lookups differs from the one derived")
    return tuple(problems)
