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
value ``a_j = -1`` is stored as ``A[i, j] = -inf`` ("no information on m1", which is the same
problem: ``E[X f] >= -M(q)`` holds for every feasible ``f``, so ``m1 <= -M(q)`` adds nothing).
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

import hashlib
import json
import math
import operator
import os
import tempfile
import time
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
import numpy.typing as npt
from numba import njit, prange
from scipy import special

from . import _solve
from ._integrals import certified_dual
from ._interval import strip, strip_dual
from ._normal import norm_isf, phi
from .directional import (
    ABSTAIN,
    CONVERGED,
    FALLBACK,
    FEASIBILITY_SLACK,
    INCONSISTENT,
    INVALID,
    PROJECTED,
    STATUS_NAMES,
    _directional,
    _disk_rho,
    cohen_radius,
    directional_radius,
    max_gradient_norm,
)

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = [
    "OUTSIDE",
    "SKIPPED",
    "TABLE_FORMAT_VERSION",
    "RadiusTable",
    "TableBuildError",
    "TableVerification",
    "TableVerificationError",
    "TightnessReport",
]

#: Lookup status: the query lies outside the table's domain (radius NaN with
#: ``on_outside="nan"``).
OUTSIDE = -2
#: Grid status: the cell lies outside the feasible disk ``max(a, 0)^2 + b^2 <= 1`` and was not
#: solved.
SKIPPED = -3

#: Version of the on-disk format written by :meth:`RadiusTable.save` (2: with the witness
#: multipliers ``lam`` of every cell). :meth:`RadiusTable.load` reads versions 1 and 2 and
#: refuses others; a version-1 file has no multipliers, so it fails verification (rebuild it,
#: or load it with ``verify=False``).
TABLE_FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)
_FORMAT_NAME = "hocert.RadiusTable"
_CHECKPOINT_NAME = "hocert.RadiusTable.checkpoint"

# A grid cell counts as feasible (and is solved) when max(a, 0)^2 + b^2 <= 1 + _GRID_SLACK, so
# that cells on the circle (e.g. a = 0.6, b = 0.8) are solved despite rounding. The solver
# shrinks any input slightly outside the disk, which can only lower the value (sound).
_GRID_SLACK = 1e-9
# q-axis accelerator: buckets of 1/_Q_SUB octave in t = 1 - q.
_Q_SUB = 32
# Verification (RadiusTable.verify): a radius r <= Phi^{-1}(q) needs no witness (Cohen's
# radius is the radius at m1 = -inf, m2 = 0, and R is non-decreasing in m1 and m2). SciPy's
# ndtri is within 4 ulps of Phi^{-1} (directional._cohen_floor), so the bound checked is
# ndtri(q) (1 - _COHEN_CHECK_DOWN); the solver's own Cohen radii are rounded down further.
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
    _CELL_INF_OFF_EDGE: "+inf off the boundary of the feasible disk",
    _CELL_ABSTAIN: "abstain row or status wrong (radius 0 exactly where q = 1/2)",
    _CELL_STATUS: "not a solver status code",
}

_LOOKUP_STATUS_NAMES = {**STATUS_NAMES, OUTSIDE: "outside", SKIPPED: "skipped"}

OnBad = Literal["raise", "nan"]
FloatArray = npt.NDArray[np.float64]
Int8Array = npt.NDArray[np.int8]
Scheduler = Any  # None, "synchronous", a "tcp://host:port" address or a distributed.Client

_COORDINATES = (
    "cell (i, j, k) = directional_radius(q[i], A[i, j], B[i, k]) with M[i] = "
    "max_gradient_norm(q[i]) (stored as big_m), A[i, j] = a[j] * M[i] (a[j] = -1 stored as "
    "-inf: no information on m1), B[i, k] = b[k] * M[i]; radii in units of sigma; cells with "
    "max(a, 0)^2 + b^2 > 1 + 1e-9 are not solved (status -3, SKIPPED); lookup floors q to "
    "q[i] <= q and compares m1, m2 with A[i, :], B[i, :] exactly"
)
_TOLERANCE = (
    "every value is a certified lower bound of R at its cell (dual witness, weak duality); "
    "status 0 (CONVERGED) values are within 1e-6 * max(1, R) of R (solver accuracy "
    f"requirement; Newton tolerance {_solve.NEWTON_TOL:g}); status 3 (FALLBACK) values are "
    "the smaller m2 = 0 radius R(q, m1, 0)"
)


class TableBuildError(RuntimeError):
    """A table build could not proceed (checkpoint mismatch or a checkpoint chunk that fails
    verification, worker version mismatch)."""


class TableVerificationError(ValueError):
    """A table's contents are not proved by its own witnesses (:meth:`RadiusTable.verify`).

    Raised by :meth:`RadiusTable.load` for a file altered or damaged after it was built (or a
    version-1 file, which holds no witness multipliers), and by the constructor for a
    ``big_m`` that does not match ``q``.
    """


# --------------------------------------------------------------------------------------------
# Numba kernels. The lookup is O(1) per query: a bucket index gives a first guess of each floor
# index and a short walk with exact float comparisons corrects it, so the guess may be
# arbitrarily rough without affecting soundness.
# --------------------------------------------------------------------------------------------
@njit(cache=True, parallel=True)
def _lookup_kernel(
    q: FloatArray,
    m1: FloatArray,
    m2: FloatArray,
    qg: FloatArray,
    big_m: FloatArray,
    inv_m: FloatArray,
    slope: FloatArray,
    zg: FloatArray,
    qbucket: npt.NDArray[np.int64],
    n_oct: int,
    m1g: FloatArray,
    abucket: npt.NDArray[np.int64],
    a_lo: float,
    a_scale: float,
    m2g: FloatArray,
    bbucket: npt.NDArray[np.int64],
    b_lo: float,
    b_scale: float,
    values: FloatArray,
    est: Int8Array,
    want_status: bool,
    out: FloatArray,
    status: Int8Array,
) -> None:
    """Floor-corner lookups; ``qg``, ``m1g``, ``m2g`` end with a +inf sentinel (padding).

    Queries outside the feasible disk at ``q`` get status INCONSISTENT (also without
    ``want_status``; the caller replaces their radius by ``Phi^{-1}(q)``). ``qg`` has nq + 1
    entries, ``m1g`` is (nq, na + 1), ``m2g`` is (nq, nb + 1); ``big_m`` has
    nq + 1 entries (M(1) = 0 last), ``slope[i] = (M_{i+1} - M_i) / (q_{i+1} - q_i)`` and
    ``zg[i] = Phi^{-1}(q_i)`` (the slope of the tangent is ``-zg[i]``).
    """
    n = q.shape[0]
    nb = m2g.shape[1] - 1
    nab = (m1g.shape[1] - 1) * nb
    nba = abucket.shape[0]
    nbb = bbucket.shape[0]
    q0 = qg[0]
    last_key = n_oct * _Q_SUB
    for p in prange(n):
        qq = q[p]
        x1 = m1[p]
        x2 = m2[p]
        # Valid inputs (NaN fails every comparison) and q inside the table: one test, taken
        # nearly always, for the common case.
        ok = (x1 < math.inf) & (x2 >= 0.0) & (x2 < math.inf) & (qq <= 1.0)
        if not (ok & (qq > 0.5) & (qq >= q0)):
            if not (ok & (qq >= 0.0)):
                out[p] = math.nan
                status[p] = INVALID
            elif qq <= 0.5:
                out[p] = 0.0
                status[p] = ABSTAIN
            else:
                out[p] = math.nan
                status[p] = OUTSIDE
        else:
            # q: bucket of t = 1 - q (exact for q >= 1/2) by octave and 1/_Q_SUB octave; the
            # guess is then corrected with exact comparisons (the sentinel stops the walk).
            t = 1.0 - qq
            key = last_key
            if t > 0.0:
                mant, ex = math.frexp(t)
                octv = -ex - 1
                if octv < n_oct:
                    key = max(octv, 0) * _Q_SUB + int((mant - 0.5) * (2.0 * _Q_SUB))
            # Each guess is at most one step low for grids no coarser than the buckets: take
            # that step without a branch, then walk (rarely) until the comparisons hold.
            i = qbucket[key]
            i += qg[i + 1] <= qq
            while i > 0 and qg[i] > qq:
                i -= 1
            while qg[i + 1] <= qq:
                i += 1
            # m1: guess from a' = m1 / M_i, then exact comparisons with A[i, :].
            inv = inv_m[i]
            xa = min(max((x1 * inv - a_lo) * a_scale, 0.0), nba - 0.5)
            j = abucket[int(xa)]
            j += m1g[i, j + 1] <= x1
            while j > 0 and m1g[i, j] > x1:
                j -= 1
            while m1g[i, j + 1] <= x1:
                j += 1
            # m2: the same with B[i, :].
            xb = min(max((x2 * inv - b_lo) * b_scale, 0.0), nbb - 0.5)
            k = bbucket[int(xb)]
            k += m2g[i, k + 1] <= x2
            while k > 0 and m2g[i, k] > x2:
                k -= 1
            while m2g[i, k + 1] <= x2:
                k += 1
            if (m1g[i, j] > x1) | (m2g[i, k] > x2):
                out[p] = math.nan
                status[p] = OUTSIDE
            else:
                cell = i * nab + j * nb + k
                out[p] = values[cell]
                st = est[cell] if want_status else CONVERGED
                # Flag inputs outside the feasible disk at q by more than the solver's
                # relative slack (docs/math.md, "Inputs, domain"). M is concave in q
                # (M'(q) = -Phi^{-1}(q), M'' = -1/M < 0), so on [q_i, q_{i+1}] it lies
                # above the chord and below the tangent at q_i: M(q) itself is needed
                # only between the two.
                pos = x1 if x1 > 0.0 else 0.0
                rho = math.sqrt(pos * pos + x2 * x2)
                dq = qq - qg[i]
                if rho > (big_m[i] + slope[i] * dq) * (1.0 + FEASIBILITY_SLACK):
                    # Above the tangent: surely outside; in between: compute M(q).
                    above = rho > (big_m[i] - zg[i] * dq) * (1.0 + 1e-9)
                    if above or rho > phi(norm_isf(t)) * (1.0 + FEASIBILITY_SLACK):
                        st = INCONSISTENT
                status[p] = st


# --------------------------------------------------------------------------------------------
# Verification kernels: the stored radius of a cell is re-proved from the stored multipliers
# (the solver's own witness check, _integrals.certified_dual) or the closed-form strip witness
# (_interval.strip_dual), or needs no proof (0, at most Cohen's radius, +inf on the boundary).
# --------------------------------------------------------------------------------------------
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
        # k0, k1 as the solver's witness forms them (_solve._certify); l1 = 0 gives k1 = -r.
        d = certified_dual(l0 - 1.0 + 0.5 * r * r, l1 - r, l2, r, q, x1, m2) - 0.5
        if d > best:
            best = d
    if not (best > 0.0):
        w2, w1 = strip(q, x1)
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
    edge: npt.NDArray[np.bool_],
    m_up: FloatArray,
    z_ok: FloatArray,
    margin: float,
    out: Int8Array,
) -> None:
    """Verification code per solved cell (``_CELL_*``) into ``out``.

    ``edge``: the cell lies on the boundary of the feasible disk (``+inf`` allowed);
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


# --------------------------------------------------------------------------------------------
# Helpers (plain NumPy)
# --------------------------------------------------------------------------------------------
def _as_float_array(x: npt.ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(x)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(
            f"{name} must be a real number or array of real numbers, got dtype {arr.dtype}"
        )
    return arr.astype(np.float64, copy=False)


def _grid_axis(x: npt.ArrayLike, name: str, lo: float, hi: float, hi_open: bool) -> FloatArray:
    arr = _as_float_array(x, name)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"grid {name} must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"grid {name} must be finite")
    if arr.size > 1 and not np.all(np.diff(arr) > 0.0):
        raise ValueError(f"grid {name} must be strictly increasing")
    upper_bad = arr[-1] >= hi if hi_open else arr[-1] > hi
    if arr[0] < lo or upper_bad:
        bracket = ")" if hi_open else "]"
        raise ValueError(
            f"grid {name} must lie in [{lo:g}, {hi:g}{bracket}, got values from {arr[0]!r} "
            f"to {arr[-1]!r}"
        )
    return np.ascontiguousarray(arr)


def _validate_grid(
    q: npt.ArrayLike, a: npt.ArrayLike, b: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    qa = _grid_axis(q, "q", 0.5, 1.0, hi_open=True)
    aa = _grid_axis(a, "a", -1.0, 1.0, hi_open=False)
    ba = _grid_axis(b, "b", 0.0, 1.0, hi_open=False)
    if qa.size * aa.size * ba.size >= 2**31:
        raise ValueError("grid too large: at most 2**31 - 1 cells")
    return qa, aa, ba


def _m_grids(a: FloatArray, b: FloatArray, big_m: FloatArray) -> tuple[FloatArray, FloatArray]:
    """A[i, j] = a_j * M_i (a_j = -1 as -inf) and B[i, k] = b_k * M_i: the solver's inputs."""
    m1g = big_m[:, None] * a[None, :]
    m1g[:, a <= -1.0] = -np.inf
    m2g = big_m[:, None] * b[None, :]
    return np.ascontiguousarray(m1g), np.ascontiguousarray(m2g)


def _feasible_cells(a: FloatArray, b: FloatArray) -> npt.NDArray[np.bool_]:
    """(na, nb) mask of cells inside the feasible disk max(a, 0)^2 + b^2 <= 1 (with slack)."""
    pa = np.maximum(a, 0.0)
    return pa[:, None] ** 2 + b[None, :] ** 2 <= 1.0 + _GRID_SLACK


def _edge_cells(a: FloatArray, b: FloatArray) -> npt.NDArray[np.bool_]:
    """(na, nb) mask of cells on the boundary of the feasible disk, where R = +inf.

    On it up to the solver's relative slack ``FEASIBILITY_SLACK`` (rounding), or outside it
    (cells within ``_GRID_SLACK`` outside are solved; older versions gave them +inf).
    """
    return np.hypot(np.maximum(a, 0.0)[:, None], b[None, :]) >= 1.0 - FEASIBILITY_SLACK


def _verify_cells(
    q: FloatArray,
    m1: FloatArray,
    m2: FloatArray,
    radius: FloatArray,
    status: Int8Array,
    lam: FloatArray,
    edge: npt.NDArray[np.bool_],
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


def _floor_index(grid: FloatArray, x: npt.ArrayLike) -> npt.NDArray[np.int64]:
    return np.clip(np.searchsorted(grid, x, side="right") - 1, 0, grid.size - 1).astype(np.int64)


def _axis_buckets(grid: FloatArray) -> tuple[npt.NDArray[np.int64], float, float]:
    """Uniform buckets over [grid[0], grid[-1]] with the floor index at each bucket start."""
    n_buckets = max(16, 4 * grid.size)
    lo, hi = float(grid[0]), float(grid[-1])
    width = (hi - lo) / n_buckets if hi > lo else 1.0
    starts = lo + width * np.arange(n_buckets)
    return _floor_index(grid, starts), lo, 1.0 / width


def _q_buckets(qg: FloatArray) -> tuple[npt.NDArray[np.int64], int]:
    """Buckets of t = 1 - q by octave (1/_Q_SUB octave each), mirroring the kernel's key."""
    t_last = 1.0 - float(qg[-1])
    n_oct = max(1, min(1074, math.ceil(-math.log2(t_last)) + 1))
    keys = np.arange(n_oct * _Q_SUB + 1)
    octv, sub = keys // _Q_SUB, keys % _Q_SUB
    t_rep = (0.5 + (sub + 0.5) / (2.0 * _Q_SUB)) * np.exp2(-(octv + 1.0))
    t_rep[-1] = 0.0
    return _floor_index(qg, 1.0 - t_rep), n_oct


def _effective(
    values: FloatArray, status: Int8Array
) -> tuple[FloatArray, Int8Array, npt.NDArray[np.bool_]]:
    """Prefix maximum over (j' <= j, k' <= k) of the solved values, with its source status.

    Every solved value is a certified lower bound of R at its cell and R is non-decreasing in
    m1 and m2 at fixed q_i, so the maximum over the cells a cell dominates is a lower bound at
    that cell too. Status: CONVERGED if a full-accuracy cell attains the maximum, else FALLBACK,
    ABSTAIN for the q = 1/2 row (value 0). Cells that dominate no solved cell (only possible
    when b[0] > 0) get 0 with status FALLBACK. Also returns where the value was raised.
    INCONSISTENT cells (solved cells just outside the disk, beyond the solver's slack; their
    value is Phi^{-1}(q_i), a lower bound too) count as FALLBACK; PROJECTED cells (+inf, from
    tables built before INCONSISTENT existed) as full accuracy. Every query that dominates
    either kind lies outside the disk itself, so lookups report it INCONSISTENT anyway.
    """

    def prefix_max(x: FloatArray) -> FloatArray:
        return np.maximum.accumulate(np.maximum.accumulate(x, axis=1), axis=2)

    full = (status == CONVERGED) | (status == PROJECTED)
    fall = (status == FALLBACK) | (status == INCONSISTENT)
    v_full = prefix_max(np.where(full, values, -np.inf))
    v_fall = prefix_max(np.where(fall, values, -np.inf))
    v_abst = prefix_max(np.where(status == ABSTAIN, values, -np.inf))
    eff = np.maximum(np.maximum(v_full, v_fall), v_abst)
    est = np.full(values.shape, FALLBACK, dtype=np.int8)
    est[(v_abst == eff) & (eff > -np.inf)] = ABSTAIN
    est[(v_fall == eff) & (eff > -np.inf)] = FALLBACK
    est[(v_full == eff) & (eff > -np.inf)] = CONVERGED
    eff = np.where(eff == -np.inf, 0.0, eff)
    solved = status != SKIPPED
    with np.errstate(invalid="ignore"):
        raised = solved & (eff > values)
    return np.ascontiguousarray(eff), np.ascontiguousarray(est), raised


def _grid_digest(q: FloatArray, a: FloatArray, b: FloatArray) -> str:
    h = hashlib.sha256()
    for arr in (q, a, b):
        h.update(np.asarray(arr, dtype="<f8").tobytes())
        h.update(b"|")
    return h.hexdigest()


def _solver_version() -> str:
    from . import __version__

    return str(__version__)


def _disk_rho_of(q: FloatArray, m1: FloatArray, m2: FloatArray) -> FloatArray:
    """hypot(max(m1, 0), m2) / M(q) in floating point (as directional_radius computes it)."""
    big_m = max_gradient_norm(q)
    return _disk_rho(np.asarray(m1, np.float64) / big_m, np.asarray(m2, np.float64) / big_m)


def _solve_chunk(
    q: FloatArray, m1: FloatArray, m2: FloatArray, numba_threads: int | None
) -> tuple[FloatArray, Int8Array, FloatArray, str]:
    """One build task: the solver on a chunk of cells (runs on a Dask worker).

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
    # Cells on the boundary of the disk in the table's normalised grid keep R = +inf (allowed
    # by the verifier on edge cells); directional_radius pulls such float points inward unless
    # ball arithmetic proves them on the boundary. Aligning the two is open work (issue #11).
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rho = _disk_rho_of(np.asarray(q, np.float64), np.asarray(m1, np.float64), m2)
    qa = np.asarray(q, np.float64)
    on_edge = (qa > 0.5) & (qa < 1.0) & (rho >= 1.0) & (rho <= 1.0 + FEASIBILITY_SLACK)
    radius[on_edge] = np.inf
    status[on_edge] = CONVERGED
    lam[on_edge] = np.nan
    q, m1, m2 = (np.ascontiguousarray(x, dtype=np.float64) for x in (q, m1, m2))
    m_up, z_ok = _proof_bounds(q)
    _settle_cells(q, m1, m2, radius, status, lam, m_up, z_ok)
    return radius, status, lam, _solver_version()


def _atomic_write_npz(path: Path, **arrays: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            umask = os.umask(0o077)  # read the umask (the strictest one in the meantime)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 -> the mode open() would give
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------------------------
# Checkpoints: a directory with manifest.json and one chunk_NNNNNN.npz per finished chunk.
# --------------------------------------------------------------------------------------------
class _Checkpoint:
    def __init__(
        self, path: Path, manifest: dict[str, Any], fingerprint: str, n_chunks: int
    ) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.n_chunks = n_chunks
        path.mkdir(parents=True, exist_ok=True)
        mpath = path / "manifest.json"
        if mpath.exists():
            try:
                old = json.loads(mpath.read_text())
            except (OSError, ValueError) as exc:
                raise TableBuildError(
                    f"checkpoint {path}: manifest.json is unreadable ({exc}); delete the "
                    "directory or use another one"
                ) from exc
            self._check_manifest(old, manifest)
        else:
            if any(path.glob("chunk_*.npz")):
                raise TableBuildError(
                    f"checkpoint {path} holds chunk files but no manifest.json; delete them or "
                    "use another directory"
                )
            mpath.write_text(json.dumps(manifest, indent=1))

    def _check_manifest(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        if old.get("format") != _CHECKPOINT_NAME:
            raise TableBuildError(f"{self.path} is not a RadiusTable checkpoint directory")
        if old.get("format_version") != new["format_version"]:
            raise TableBuildError(
                f"checkpoint {self.path} has format version {old.get('format_version')!r}, "
                f"this hocert writes version {new['format_version']}; delete it or use "
                "another directory"
            )
        reasons = []
        if (
            old.get("grid_sha256") != new["grid_sha256"]
            or old.get("grid_shape") != new["grid_shape"]
        ):
            reasons.append(
                f"a different grid (shape {old.get('grid_shape')} vs {new['grid_shape']})"
            )
        if old.get("solver_version") != new["solver_version"]:
            reasons.append(
                f"solver version {old.get('solver_version')!r} (installed: "
                f"{new['solver_version']!r})"
            )
        if old.get("chunk_size") != new["chunk_size"]:
            reasons.append(f"chunk_size={old.get('chunk_size')} (requested: {new['chunk_size']})")
        if reasons or old.get("fingerprint") != new["fingerprint"]:
            why = "; ".join(reasons) or "different build parameters"
            raise TableBuildError(
                f"checkpoint {self.path} was made for {why}; it cannot be resumed by this "
                "build. Delete the directory or pass another checkpoint path."
            )

    def chunk_path(self, c: int) -> Path:
        return self.path / f"chunk_{c:06d}.npz"

    def load(self, c: int, size: int) -> tuple[FloatArray, Int8Array, FloatArray] | None:
        """The chunk's (radius, status, lam), or None (with a warning) to recompute it.

        Only reading is checked here; ``build`` verifies the contents before merging them.
        """
        p = self.chunk_path(c)
        if not p.exists():
            return None
        try:
            with np.load(p, allow_pickle=False) as f:
                ok = str(f["fingerprint"]) == self.fingerprint and int(f["chunk"]) == c
                radius = np.array(f["radius"], dtype=np.float64)
                status = np.array(f["status"], dtype=np.int8)
                lam = np.array(f["lam"], dtype=np.float64)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            warnings.warn(
                f"checkpoint chunk {p} is unreadable ({exc}); recomputing it", stacklevel=3
            )
            return None
        if not ok or radius.shape != (size,) or status.shape != (size,) or lam.shape != (size, 3):
            warnings.warn(
                f"checkpoint chunk {p} does not match this build; recomputing it", stacklevel=3
            )
            return None
        return radius, status, lam

    def save(self, c: int, radius: FloatArray, status: Int8Array, lam: FloatArray) -> None:
        _atomic_write_npz(
            self.chunk_path(c),
            radius=radius,
            status=status,
            lam=lam,
            fingerprint=np.array(self.fingerprint),
            chunk=np.array(c),
        )


# --------------------------------------------------------------------------------------------
# Tightness report
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TightnessReport:
    """Table lookups next to direct solver radii for the same queries.

    Attributes
    ----------
    lookup, direct : ndarray of float64
        ``RadiusTable.lookup`` and ``directional_radius`` radii (units of sigma).
    lookup_status, direct_status : ndarray of int8
        Their status codes.
    """

    lookup: FloatArray
    direct: FloatArray
    lookup_status: Int8Array
    direct_status: Int8Array

    @property
    def ratio(self) -> FloatArray:
        """``lookup / direct`` where ``direct`` is finite and positive, else NaN."""
        d = self.direct
        good = np.isfinite(d) & (d > 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(good, self.lookup / np.where(good, d, 1.0), np.nan)

    @property
    def gap(self) -> FloatArray:
        """``direct - lookup`` (units of sigma; ``inf`` where only ``direct`` is infinite)."""
        with np.errstate(invalid="ignore"):
            return self.direct - self.lookup

    def n_above_direct(self, rtol: float = 1e-6) -> int:
        """Lookups above the CONVERGED direct radius by more than ``rtol * max(1, direct)``.

        Both radii are certified lower bounds of the same R, and the direct one is within
        the solver accuracy (1e-6 relative) of R, so this is 0 for a sound table.
        """
        good = self.direct_status == CONVERGED
        tol = rtol * np.maximum(1.0, np.where(np.isfinite(self.direct), self.direct, 1.0))
        with np.errstate(invalid="ignore"):
            above = good & (self.lookup > self.direct + tol)
        return int(np.count_nonzero(above))

    def summary(self) -> dict[str, float]:
        """Median, 5 % and 1 % quantiles and minimum of the ratio, and soundness counts."""
        r = self.ratio.ravel()
        r = r[np.isfinite(r)]
        stats: dict[str, float] = {
            "n": float(self.lookup.size),
            "n_ratio": float(r.size),
            "n_direct_inf": float(np.count_nonzero(np.isinf(self.direct))),
            "n_above_direct": float(self.n_above_direct()),
        }
        if r.size:
            stats.update(
                median_ratio=float(np.median(r)),
                p05_ratio=float(np.quantile(r, 0.05)),
                p01_ratio=float(np.quantile(r, 0.01)),
                min_ratio=float(r.min()),
                mean_ratio=float(r.mean()),
            )
        return stats


# --------------------------------------------------------------------------------------------
# Verification report
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------
class RadiusTable:
    """A precomputed grid of certified radii with sound (lower-bound) lookups.

    Normally made by :meth:`build` (Dask) or :meth:`load`. See the module docstring for the
    grid convention and the proof that :meth:`lookup` returns a lower bound of the radius of
    Theorem 3 (docs/math.md, "Lookup tables").

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
        qg, ag, bg = _validate_grid(q, a, b)
        shape = (qg.size, ag.size, bg.size)
        vals = np.array(_as_float_array(values, "values"), dtype=np.float64)
        st = np.asarray(status)
        if vals.shape != shape or st.shape != shape:
            raise ValueError(
                f"values and status must have the grid shape {shape}, got {vals.shape} and "
                f"{st.shape}"
            )
        if not np.issubdtype(st.dtype, np.integer):
            raise TypeError(f"status must be an integer array, got dtype {st.dtype}")
        st = st.astype(np.int8)
        allowed = np.array(
            [CONVERGED, ABSTAIN, PROJECTED, FALLBACK, INCONSISTENT, SKIPPED], dtype=np.int8
        )
        if not np.isin(st, allowed).all():
            raise ValueError(f"status holds codes outside {allowed.tolist()}")
        feasible = np.broadcast_to(_feasible_cells(ag, bg), shape)
        if not np.array_equal(st == SKIPPED, ~feasible):
            raise ValueError(
                "status SKIPPED must mark exactly the cells outside the feasible disk "
                "max(a, 0)^2 + b^2 <= 1"
            )
        solved_vals = vals[feasible]
        if np.isnan(solved_vals).any() or (solved_vals < 0.0).any():
            raise ValueError("values of solved cells must be >= 0 and not NaN")
        m_expected = max_gradient_norm(qg)
        if big_m is None:
            mg = m_expected
        else:
            mg = np.array(_as_float_array(big_m, "big_m"), dtype=np.float64)
            if mg.shape != qg.shape or not np.allclose(mg, m_expected, rtol=1e-12, atol=0.0):
                raise TableVerificationError(
                    "big_m must equal max_gradient_norm(q) (to 1e-12 relative)"
                )
        vals[~feasible] = np.nan
        lam_arr: FloatArray | None = None
        if lam is not None:
            lam_arr = np.array(_as_float_array(lam, "lam"), dtype=np.float64)
            if lam_arr.shape != (*shape, 3):
                raise ValueError(
                    f"lam must have the shape {(*shape, 3)} (grid shape, 3), got {lam_arr.shape}"
                )
            lam_arr[~feasible] = np.nan
            lam_arr.flags.writeable = False
        self._lam = lam_arr

        self._q, self._a, self._b = qg, ag, bg
        self._values, self._status, self._big_m = vals, st, np.ascontiguousarray(mg)
        for arr in (self._q, self._a, self._b, self._values, self._status, self._big_m):
            arr.flags.writeable = False
        self.metadata: dict[str, Any] = dict(metadata or {})
        # Lookup structures (derived, not saved).
        self._m1g, self._m2g = _m_grids(ag, bg, self._big_m)
        # Kernel arrays with a +inf sentinel at the end of every axis (q_nq = 1, M(1) = 0 for
        # the chord of the last interval).
        inf_col = np.full((qg.size, 1), np.inf)
        self._k_q = np.append(qg, np.inf)
        self._k_m = np.append(self._big_m, 0.0)
        self._k_inv_m = 1.0 / self._big_m
        q_next = np.append(qg[1:], 1.0)
        self._k_slope = (self._k_m[1:] - self._big_m) / (q_next - qg)
        self._k_z = special.ndtri(qg)
        self._k_m1g = np.ascontiguousarray(np.hstack([self._m1g, inf_col]))
        self._k_m2g = np.ascontiguousarray(np.hstack([self._m2g, inf_col]))
        eff, est, raised = _effective(vals, st)
        self._eff, self._est = eff, est
        self._n_raised = int(np.count_nonzero(raised))
        self._eff_flat = eff.ravel()
        self._est_flat = est.ravel()
        self._qbucket, self._n_oct = _q_buckets(qg)
        self._abucket, self._a_lo, self._a_scale = _axis_buckets(ag)
        self._bbucket, self._b_lo, self._b_scale = _axis_buckets(bg)

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
        return self._eff

    @property
    def n_raised(self) -> int:
        """Solved cells whose lookup value exceeds their own solver value (prefix maximum).

        The solver is monotone only up to its accuracy, so a dominated cell can hold a
        slightly larger certified value (round-off, or a FALLBACK cell next to a converged
        one); lookups use the larger one, which is still a lower bound at the cell.
        """
        return self._n_raised

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
        if not (0.0 < z_max < 8.0):
            raise ValueError(f"z_max must lie in (0, 8), got {z_max!r}")
        for name, step in (("dz", dz), ("da", da), ("db", db)):
            if not (0.0 < step <= 1.0):
                raise ValueError(f"{name} must lie in (0, 1], got {step!r}")
        nz = round(z_max / dz)
        z = z_max * np.arange(nz + 1) / nz
        q = special.ndtr(z)
        q = q[q < 1.0]
        na = round(2.0 / da)
        a = -1.0 + 2.0 * np.arange(na + 1) / na
        nb = round(1.0 / db)
        b = np.arange(nb + 1) / nb
        return {"q": np.unique(q), "a": a, "b": b}

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
        for name, val in (("on_invalid", on_invalid), ("on_outside", on_outside)):
            if val not in ("raise", "nan"):
                raise ValueError(f"{name} must be 'raise' or 'nan', got {val!r}")
        arrays = [_as_float_array(x, n) for x, n in ((q, "q"), (m1, "m1"), (m2, "m2"))]
        try:
            bq, b1, b2 = np.broadcast_arrays(*arrays)
        except ValueError:
            shapes = ", ".join(f"{n}{x.shape}" for n, x in zip(("q", "m1", "m2"), arrays))
            raise ValueError(f"input shapes do not broadcast: {shapes}") from None
        shape = bq.shape
        fq, f1, f2 = (np.ascontiguousarray(x).ravel() for x in (bq, b1, b2))
        out = np.empty(fq.size, dtype=np.float64)
        status = np.empty(fq.size, dtype=np.int8)
        _lookup_kernel(
            fq,
            f1,
            f2,
            self._k_q,
            self._k_m,
            self._k_inv_m,
            self._k_slope,
            self._k_z,
            self._qbucket,
            self._n_oct,
            self._k_m1g,
            self._abucket,
            self._a_lo,
            self._a_scale,
            self._k_m2g,
            self._bbucket,
            self._b_lo,
            self._b_scale,
            self._eff_flat,
            self._est_flat,
            return_status,
            out,
            status,
        )
        if (on_invalid == "raise" or on_outside == "raise") and status.min(initial=0) < 0:
            n_invalid = int(np.count_nonzero(status == INVALID))
            n_outside = int(np.count_nonzero(status == OUTSIDE))
            if n_invalid and on_invalid == "raise":
                self._raise_invalid(fq, f1, f2, status, shape, n_invalid)
            if n_outside and on_outside == "raise":
                self._raise_outside(fq, f1, f2, status, shape, n_outside)
        if status.max(initial=CONVERGED) >= INCONSISTENT:
            # The bounds contradict q: only q is trusted.
            bad = np.flatnonzero(status == INCONSISTENT)
            out[bad] = cohen_radius(fq[bad])
        radius = out.reshape(shape)[()]
        if return_status:
            return radius, status.reshape(shape)[()]
        return radius

    @staticmethod
    def _first(status: Int8Array, code: int, shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        flat = int(np.flatnonzero(status == code)[0])
        where = tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()
        return flat, where

    def _raise_invalid(
        self,
        q: FloatArray,
        m1: FloatArray,
        m2: FloatArray,
        status: Int8Array,
        shape: tuple[int, ...],
        count: int,
    ) -> None:
        p, where = self._first(status, INVALID, shape)
        if not (0.0 <= q[p] <= 1.0):
            why = f"q must lie in [0, 1] and not be NaN, got q={q[p]!r}"
        elif math.isnan(m1[p]) or m1[p] == math.inf:
            why = f"m1 must not be NaN or +inf, got m1={m1[p]!r}"
        else:
            why = f"m2 must be finite and >= 0, got m2={m2[p]!r}"
        raise ValueError(f"{why} ({count} invalid element(s); first at index {where})")

    def _raise_outside(
        self,
        q: FloatArray,
        m1: FloatArray,
        m2: FloatArray,
        status: Int8Array,
        shape: tuple[int, ...],
        count: int,
    ) -> None:
        p, where = self._first(status, OUTSIDE, shape)
        qq, x1, x2 = float(q[p]), float(m1[p]), float(m2[p])
        if qq < self._q[0]:
            why = (
                f"q={qq!r} is below the table's smallest grid q={self._q[0]!r} (and above 1/2, "
                "so it does not abstain)"
            )
        else:
            i = int(np.searchsorted(self._q, qq, side="right") - 1)
            qi, mi = float(self._q[i]), float(self._big_m[i])
            if x1 < self._m1g[i, 0]:
                why = (
                    f"m1={x1!r} is below the smallest tabulated m1 at the grid row q_i={qi!r}: "
                    f"a[0] * M(q_i) = {self._a[0]!r} * {mi!r} = {self._m1g[i, 0]!r}"
                )
            else:
                why = (
                    f"m2={x2!r} is below the smallest tabulated m2 at the grid row q_i={qi!r}: "
                    f"b[0] * M(q_i) = {self._b[0]!r} * {mi!r} = {self._m2g[i, 0]!r}"
                )
        raise ValueError(
            f"query (q={qq!r}, m1={x1!r}, m2={x2!r}) lies outside the table: {why} "
            f"({count} such element(s); first at index {where}); pass on_outside='nan' to get "
            "NaN instead, or build a table that covers it"
        )

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
        lk, lst = self.lookup(q, m1, m2, return_status=True)
        res = directional_radius(q, m1, m2)
        return TightnessReport(
            lookup=np.asarray(lk),
            direct=np.asarray(res.radius),
            lookup_status=np.asarray(lst),
            direct_status=np.asarray(res.status),
        )

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
          ``D(lam; r) > 1/2`` after its error bound (``_integrals.certified_dual``, the check
          the solver uses), or the closed-form witness of the strip radius ``R(q_i, m1, 0)``
          does (``_interval.strip_dual``). By weak duality either proves ``r <= R``.

        Table-level checks: ``big_m`` equals ``max_gradient_norm(q)`` (1e-12 relative; the
        constructor refuses more), the lookup grids ``A``, ``B`` are ``a_j M_i``, ``b_k M_i``,
        and the arrays the lookups read (:attr:`lookup_values` and its status) equal the
        prefix maxima recomputed from :attr:`values` and :attr:`status`. So every lookup
        reads a value that is proved at a corner the query dominates (module docstring).

        What is not re-proved: that CONVERGED radii are within the solver accuracy of ``R``
        (statuses other than ABSTAIN are not checked; a lowered value is still sound), and
        the quadrature error of the witness, which is estimated as in the solver
        (docs/math.md). A table without multipliers (format version 1) fails every cell whose
        radius needs a first-order witness.

        Cost: one witness evaluation per cell (about 7 us), in parallel (Numba): about 0.3 s
        for the 42,600 solved cells of :meth:`default_grid` (2-core machine;
        docs/benchmarks.md), a twentieth of the time to build it.

        Returns
        -------
        TableVerification
            Counts of checked and failed cells, the first failing cells, the reasons, and
            ``ok``; :meth:`load` raises :class:`TableVerificationError` unless ``ok``.
        """
        t0 = time.perf_counter()
        shape = self.shape
        solved = self._status != SKIPPED
        cells = np.flatnonzero(solved)
        i, rem = np.divmod(cells, shape[1] * shape[2])
        j, k = np.divmod(rem, shape[2])
        lam = (
            self._lam.reshape(-1, 3)[cells]
            if self._lam is not None
            else np.full((cells.size, 3), np.nan)
        )
        edge = _edge_cells(self._a, self._b)
        codes = _verify_cells(
            self._q[i],
            self._m1g[i, j],
            self._m2g[i, k],
            self._values.reshape(-1)[cells],
            self._status.reshape(-1)[cells],
            lam,
            edge[j, k],
        )
        bad = cells[codes != _CELL_OK]
        reasons: dict[str, int] = {}
        for code, name in _CELL_REASONS.items():
            n = int(np.count_nonzero(codes == code))
            if n:
                if code == _CELL_NOT_PROVED and self._lam is None:
                    name += " (the table holds no multipliers: format version 1)"
                reasons[name] = n
        # SKIPPED cells hold no value and no multipliers.
        skipped_bad = np.flatnonzero(~solved & ~np.isnan(self._values))
        if self._lam is not None:
            skipped_bad = np.union1d(
                skipped_bad, np.flatnonzero(~solved & ~np.isnan(self._lam).all(axis=-1))
            )
        if skipped_bad.size:
            reasons["SKIPPED cell holding a value"] = int(skipped_bad.size)
            bad = np.union1d(bad, skipped_bad)
        failed = tuple(
            (int(a), int(b), int(c)) for a, b, c in zip(*np.unravel_index(bad[:10], shape))
        )
        return TableVerification(
            n_cells=int(self._values.size),
            n_checked=int(cells.size),
            n_failed=int(bad.size),
            failed=failed,
            reasons=reasons,
            problems=self._derived_problems(),
            seconds=time.perf_counter() - t0,
        )

    def _derived_problems(self) -> tuple[str, ...]:
        """Table-level checks of :meth:`verify`: ``big_m`` and the arrays lookups read."""
        problems = []
        m_expected = max_gradient_norm(self._q)
        off = ~(np.abs(self._big_m - m_expected) <= 1e-12 * m_expected)
        if off.any():
            problems.append(
                f"big_m differs from max_gradient_norm(q) by more than 1e-12 relative at "
                f"{int(off.sum())} q rows (first: i = {int(np.flatnonzero(off)[0])})"
            )
        m1g, m2g = _m_grids(self._a, self._b, self._big_m)
        eff, est, _ = _effective(self._values, self._status)
        q_next = np.append(self._q[1:], 1.0)
        derived = {
            "q grid": (self._k_q[:-1], self._q),
            "M grid": (self._k_m[:-1], self._big_m),
            "chord slopes of M": (
                self._k_slope,
                (self._k_m[1:] - self._big_m) / (q_next - self._q),
            ),
            "Phi^-1(q) grid": (self._k_z, special.ndtri(self._q)),
            "m1 grid": (self._k_m1g[:, :-1], m1g),
            "m2 grid": (self._k_m2g[:, :-1], m2g),
            "lookup values": (self._eff_flat, eff.ravel()),
            "lookup status": (self._est_flat, est.ravel()),
        }
        for name, (used, expected) in derived.items():
            if not np.array_equal(used, expected):
                problems.append(f"the {name} read by lookups differs from the one derived")
        return tuple(problems)

    # ---------------------------------------------------------------- save / load
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the table to an ``.npz`` file (atomically; the exact path is used).

        The file holds the grid (``q``, ``a``, ``b``, ``big_m``), ``values``, ``status``, the
        witness multipliers ``lam`` (format version 2; a table without them is written as
        version 1) and a JSON ``metadata`` string with the format version, solver version,
        solver tolerance, grid convention and creation time.
        """
        meta = dict(self.metadata)
        meta.update(
            format=_FORMAT_NAME,
            format_version=TABLE_FORMAT_VERSION if self._lam is not None else 1,
            coordinates=_COORDINATES,
            status_counts=self.status_counts(),
        )
        meta.setdefault("solver_version", _solver_version())
        meta.setdefault("solver_tolerance", _TOLERANCE)
        meta.setdefault("created", _utc_now())
        arrays: dict[str, Any] = {
            "q": self._q,
            "a": self._a,
            "b": self._b,
            "big_m": self._big_m,
            "values": self._values,
            "status": self._status,
            "metadata": np.array(json.dumps(meta, sort_keys=True)),
        }
        if self._lam is not None:
            arrays["lam"] = self._lam
        _atomic_write_npz(Path(path), **arrays)

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
        re-proved from the file's own grid and witness multipliers (:meth:`verify`) and a
        table with any failing cell is refused. That costs one witness evaluation per cell:
        about 0.3 s for the default table (42,600 solved cells, 2 cores; docs/benchmarks.md).

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
        ValueError
            Not a RadiusTable file (or unreadable: truncated, corrupted), another format
            version.
        """
        p = Path(path)
        required = {"q", "a", "b", "big_m", "values", "status", "metadata"}
        errors = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error)
        try:
            f = np.load(p, allow_pickle=False)
        except errors as exc:
            raise ValueError(f"cannot read RadiusTable file {p}: {exc}") from exc
        if not isinstance(f, np.lib.npyio.NpzFile):
            raise ValueError(f"{p} is not a hocert RadiusTable file (not an .npz archive)")
        with f:
            missing = required - set(f.files)
            if missing:
                raise ValueError(
                    f"{p} is not a hocert RadiusTable file (missing {sorted(missing)})"
                )
            try:
                data = {k: np.array(f[k]) for k in required | ({"lam"} & set(f.files))}
            except errors as exc:
                raise ValueError(f"cannot read RadiusTable file {p}: {exc}") from exc
        try:
            meta = json.loads(str(data["metadata"]))
        except ValueError as exc:
            raise ValueError(f"{p}: metadata is not valid JSON ({exc})") from exc
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT_NAME:
            raise ValueError(f"{p} is not a hocert RadiusTable file")
        version = meta.get("format_version")
        if version not in _READABLE_VERSIONS:
            raise ValueError(
                f"{p} has RadiusTable format version {version!r}; this hocert reads versions "
                f"{', '.join(map(str, _READABLE_VERSIONS))}. Rebuild the table with "
                "RadiusTable.build."
            )
        installed = _solver_version()
        if strict_solver_version and meta.get("solver_version") != installed:
            raise ValueError(
                f"{p} was built by solver version {meta.get('solver_version')!r}, the installed "
                f"version is {installed!r} (strict_solver_version=True)"
            )
        try:
            table = cls(
                data["q"],
                data["a"],
                data["b"],
                data["values"],
                data["status"],
                big_m=data["big_m"],
                lam=data.get("lam"),
                metadata=meta,
            )
        except (ValueError, TypeError) as exc:
            raise TableVerificationError(f"{p}: inconsistent RadiusTable contents: {exc}") from exc
        if verify:
            report = table.verify()
            if not report.ok:
                if table.lam is None:
                    older = ", written by an older hocert" if version == 1 else ""
                    raise TableVerificationError(
                        f"{p} holds no witness multipliers (format version {version}{older}), "
                        f"so its radii cannot be verified ({report.describe()}). Rebuild it "
                        "(RadiusTable.build, 'hocert table build'), or load it unverified with "
                        "verify=False (--no-verify)."
                    )
                raise TableVerificationError(
                    f"{p} fails verification: {report.describe()}. The file was altered or "
                    "damaged after it was built: do not use it. Rebuild it (RadiusTable.build, "
                    "'hocert table build'), or load it unverified with verify=False "
                    "(--no-verify)."
                )
        return table

    # ---------------------------------------------------------------- build
    @classmethod
    def build(
        cls,
        q: npt.ArrayLike,
        a: npt.ArrayLike,
        b: npt.ArrayLike,
        *,
        scheduler: Scheduler = None,
        chunk_size: int = 2048,
        checkpoint: str | os.PathLike[str] | None = None,
        n_workers: int | None = None,
        numba_threads: int | None = None,
        on_chunk: Callable[[int, int], None] | None = None,
    ) -> RadiusTable:
        """Solve every feasible cell of the grid ``q x a x b`` with Dask.

        Parameters
        ----------
        q, a, b : array_like
            Strictly increasing 1-D grids (see the class docstring; e.g.
            ``**RadiusTable.default_grid()``).
        scheduler : None, str or distributed.Client
            ``None``: a local ``distributed.LocalCluster`` with ``n_workers`` processes (default:
            the CPU count) of one thread each, closed afterwards. ``"tcp://host:port"``: connect
            to that scheduler. A ``distributed.Client``: use it (not closed).
            ``"synchronous"``: no Dask, solve the chunks one after the other in this process.
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
        n_workers : int, optional
            Worker processes of the local cluster (``scheduler=None`` only).
        numba_threads : int, optional
            Numba threads per task (default: 1 on the local cluster, which has one worker
            process per core; unchanged otherwise).
        on_chunk : callable, optional
            Called as ``on_chunk(done, total)`` after each finished (and saved) chunk.

        Returns
        -------
        RadiusTable
            With ``metadata["build"]`` recording chunk counts, the chunks computed in this
            call and the scheduler used.

        Raises
        ------
        TableBuildError
            The checkpoint belongs to another grid, chunk size or solver version, a checkpoint
            chunk fails verification, or a Dask worker runs another solver version than this
            process (or returns radii that fail verification).

        Notes
        -----
        The local cluster starts worker processes with ``spawn``: in a script, call ``build``
        under ``if __name__ == "__main__":``. Interrupting a build (Ctrl-C, an exception from
        ``on_chunk``, a killed process) loses only the chunks in flight when a checkpoint is
        given. Cells are ordered by ``(q, a, b)`` and chunked in that order; cells outside the
        feasible disk are not sent to the workers.

        Each task stores, with every radius, the multipliers of the witness that proves it,
        and settles the radius against the verifier's own check (:meth:`verify`): radii whose
        witness holds with less than ``1e-12`` to spare under that check are stepped back
        until it holds (in the default table the 4,028 strip radii of the ``b = 0`` column,
        by about 1e-12 relative, and 3 others, by at most 3e-8: far inside the solver's 1e-6
        accuracy). So a table verifies on any machine, and each chunk is verified before it
        is merged.

        Examples
        --------
        >>> from hocert_solver.table import RadiusTable
        >>> grid = RadiusTable.default_grid(z_max=2.0, dz=0.5, da=0.5, db=0.5)
        >>> table = RadiusTable.build(**grid, scheduler="synchronous")
        >>> table.shape
        (5, 5, 3)
        >>> big_m = float(table.big_m[2])  # M(q) at q = Phi(1.0)
        >>> bool(table.lookup(0.9, -0.5 * big_m, 0.5 * big_m) <= 2.0)
        True
        """
        qg, ag, bg = _validate_grid(q, a, b)
        try:
            chunk_size = operator.index(chunk_size)
        except TypeError:
            raise TypeError(f"chunk_size must be an integer, got {chunk_size!r}") from None
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size!r}")
        shape = (qg.size, ag.size, bg.size)
        big_m = max_gradient_norm(qg)
        m1g, m2g = _m_grids(ag, bg, big_m)
        feasible = np.broadcast_to(_feasible_cells(ag, bg), shape)
        cells = np.flatnonzero(feasible)
        n_chunks = -(-cells.size // chunk_size)
        version = _solver_version()
        grid_sha = _grid_digest(qg, ag, bg)
        fingerprint = hashlib.sha256(
            f"{TABLE_FORMAT_VERSION}|{version}|{grid_sha}|{chunk_size}".encode()
        ).hexdigest()

        ckpt: _Checkpoint | None = None
        if checkpoint is not None:
            manifest = {
                "format": _CHECKPOINT_NAME,
                "format_version": TABLE_FORMAT_VERSION,
                "fingerprint": fingerprint,
                "grid_sha256": grid_sha,
                "grid_shape": list(shape),
                "solver_version": version,
                "chunk_size": chunk_size,
                "n_chunks": n_chunks,
                "created": _utc_now(),
            }
            ckpt = _Checkpoint(Path(checkpoint), manifest, fingerprint, n_chunks)

        edge = _edge_cells(ag, bg)

        def indices(c: int) -> tuple[npt.NDArray[np.int64], ...]:
            idx = cells[c * chunk_size : (c + 1) * chunk_size]
            i, rem = np.divmod(idx, shape[1] * shape[2])
            j, k = np.divmod(rem, shape[2])
            return i, j, k

        def inputs(c: int) -> tuple[FloatArray, FloatArray, FloatArray]:
            i, j, k = indices(c)
            return qg[i], m1g[i, j], m2g[i, k]

        def check(c: int, r: FloatArray, s: Int8Array, lam: FloatArray, source: str) -> None:
            # Every chunk is verified before it is merged (RadiusTable.verify's check).
            i, j, k = indices(c)
            codes = _verify_cells(qg[i], m1g[i, j], m2g[i, k], r, s, lam, edge[j, k])
            if not (codes != _CELL_OK).any():
                return

            def where(p: int) -> str:
                return f"cell {(int(i[p]), int(j[p]), int(k[p]))} (q={qg[i[p]]!r}, radius {r[p]!r})"

            text = _describe_failures(codes, where, r.size)[2]
            if source == "checkpoint":
                assert ckpt is not None
                raise TableBuildError(
                    f"checkpoint chunk {ckpt.chunk_path(c)}: {text}. The file was altered or "
                    "damaged after it was written; delete it (it is then recomputed) or the "
                    "whole checkpoint directory."
                )
            raise TableBuildError(
                f"chunk {c} as computed: {text}. The solver that computed it does not "
                "produce what this process verifies: install the same hocert on the cluster."
            )

        radius = np.full(cells.size, np.nan)
        cstatus = np.full(cells.size, INVALID, dtype=np.int8)
        clam = np.full((cells.size, 3), np.nan)
        todo: list[int] = []
        for c in range(n_chunks):
            sl = slice(c * chunk_size, min((c + 1) * chunk_size, cells.size))
            got = ckpt.load(c, sl.stop - sl.start) if ckpt is not None else None
            if got is None:
                todo.append(c)
            else:
                check(c, *got, "checkpoint")
                radius[sl], cstatus[sl], clam[sl] = got
        n_resumed = n_chunks - len(todo)

        done = n_resumed
        computed: list[int] = []

        def finish(
            c: int, r: FloatArray, s: Int8Array, lam: FloatArray, worker_version: str
        ) -> None:
            nonlocal done
            if worker_version != version:
                raise TableBuildError(
                    f"a worker runs hocert solver version {worker_version!r}, this process "
                    f"{version!r}: install the same version on the cluster"
                )
            check(c, r, s, lam, "worker")
            sl = slice(c * chunk_size, c * chunk_size + r.size)
            radius[sl], cstatus[sl], clam[sl] = r, s, lam
            if ckpt is not None:
                ckpt.save(c, r, s, lam)
            computed.append(c)
            done += 1
            if on_chunk is not None:
                on_chunk(done, n_chunks)

        scheduler_desc = cls._run_chunks(todo, inputs, finish, scheduler, n_workers, numba_threads)

        if (cstatus == INVALID).any():  # pragma: no cover - every chunk is computed above
            raise TableBuildError("some chunks were not computed")
        values = np.full(shape, np.nan)
        status = np.full(shape, SKIPPED, dtype=np.int8)
        lam_all = np.full((*shape, 3), np.nan)
        values.reshape(-1)[cells] = radius
        status.reshape(-1)[cells] = cstatus
        lam_all.reshape(-1, 3)[cells] = clam
        meta: dict[str, Any] = {
            "format": _FORMAT_NAME,
            "format_version": TABLE_FORMAT_VERSION,
            "solver_version": version,
            "solver_tolerance": _TOLERANCE,
            "coordinates": _COORDINATES,
            "created": _utc_now(),
            "build": {
                "scheduler": scheduler_desc,
                "chunk_size": chunk_size,
                "n_chunks": n_chunks,
                "chunks_from_checkpoint": n_resumed,
                "computed_chunks": sorted(computed),
                "checkpoint": None if checkpoint is None else str(checkpoint),
                "grid_sha256": grid_sha,
            },
        }
        table = cls(qg, ag, bg, values, status, big_m=big_m, lam=lam_all, metadata=meta)
        table.metadata["status_counts"] = table.status_counts()
        return table

    @staticmethod
    def _run_chunks(
        todo: list[int],
        inputs: Callable[[int], tuple[FloatArray, FloatArray, FloatArray]],
        finish: Callable[[int, FloatArray, Int8Array, FloatArray, str], None],
        scheduler: Scheduler,
        n_workers: int | None,
        numba_threads: int | None,
    ) -> str:
        """Run the chunks in ``todo`` and pass each result to ``finish``; describe the run."""
        if isinstance(scheduler, str) and scheduler == "synchronous":
            for c in todo:
                finish(c, *_solve_chunk(*inputs(c), numba_threads))
            return "synchronous"
        from distributed import Client, LocalCluster, as_completed

        cluster = None
        client: Client
        own_client = True
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
            client = Client(cluster)
            if numba_threads is None:
                numba_threads = 1
            desc = f"LocalCluster(n_workers={workers}, threads_per_worker=1)"
        elif isinstance(scheduler, str):
            client = Client(scheduler)
            desc = f"Client({scheduler!r})"
        elif isinstance(scheduler, Client):
            client = scheduler
            own_client = False
            desc = repr(client)
        else:
            raise TypeError(
                "scheduler must be None, 'synchronous', a scheduler address or a "
                f"distributed.Client, got {type(scheduler).__name__}"
            )
        futures = []
        try:
            futures = [
                client.submit(_solve_chunk, *inputs(c), numba_threads, pure=False) for c in todo
            ]
            index = {f.key: c for f, c in zip(futures, todo)}
            for fut, res in as_completed(futures, loop=client.loop, with_results=True):
                r, s, lam, v = res
                finish(index[fut.key], r, s, lam, v)
        finally:
            if futures:
                client.cancel(futures)
            if own_client:
                client.close()
            if cluster is not None:
                cluster.close()
        return desc
