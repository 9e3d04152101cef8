"""The conservative lookup of a ``RadiusTable``: the Numba kernel and the arrays it reads.

A lookup floors a query ``(q, m1, m2)`` to the grid corner at or below it in every coordinate
and returns the prefix maximum of the solved values that corner dominates
(``hocert_solver.table``, module docstring, for the proof that this is a certified lower
bound). It is O(1) per query: a bucket index gives a first guess of each floor index and a
short walk with exact float comparisons corrects it, so the guess may be arbitrarily rough
without affecting soundness.
"""

from __future__ import annotations

import math
from typing import NoReturn

import numpy as np
import numpy.typing as npt
from numba import njit, prange
from scipy import special

from ._normal import norm_isf, phi
from ._table_grid import SKIPPED, BoolArray, FloatArray, Int8Array, _as_float_array, _m_grids
from .directional import (
    ABSTAIN,
    CONVERGED,
    FALLBACK,
    FEASIBILITY_SLACK,
    INCONSISTENT,
    INVALID,
    PROJECTED,
    cohen_radius,
)

__all__ = ["OUTSIDE", "LookupIndex"]

#: Lookup status: the query lies outside the table's domain (radius NaN with
#: ``on_outside="nan"``).
OUTSIDE = -2

# q-axis accelerator: buckets of 1/_Q_SUB octave in t = 1 - q.
_Q_SUB = 32
IndexArray = npt.NDArray[np.int64]


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


def _floor_index(grid: FloatArray, x: npt.ArrayLike) -> IndexArray:
    return np.clip(np.searchsorted(grid, x, side="right") - 1, 0, grid.size - 1).astype(np.int64)


def _axis_buckets(grid: FloatArray) -> tuple[IndexArray, float, float]:
    """Uniform buckets over [grid[0], grid[-1]] with the floor index at each bucket start."""
    n_buckets = max(16, 4 * grid.size)
    lo, hi = float(grid[0]), float(grid[-1])
    width = (hi - lo) / n_buckets if hi > lo else 1.0
    starts = lo + width * np.arange(n_buckets)
    return _floor_index(grid, starts), lo, 1.0 / width


def _q_buckets(qg: FloatArray) -> tuple[IndexArray, int]:
    """Buckets of t = 1 - q by octave (1/_Q_SUB octave each), mirroring the kernel's key."""
    t_last = 1.0 - float(qg[-1])
    n_oct = max(1, min(1074, math.ceil(-math.log2(t_last)) + 1))
    keys = np.arange(n_oct * _Q_SUB + 1)
    octv, sub = keys // _Q_SUB, keys % _Q_SUB
    t_rep = (0.5 + (sub + 0.5) / (2.0 * _Q_SUB)) * np.exp2(-(octv + 1.0))
    t_rep[-1] = 0.0
    return _floor_index(qg, 1.0 - t_rep), n_oct


def _effective(values: FloatArray, status: Int8Array) -> tuple[FloatArray, Int8Array, BoolArray]:
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


class LookupIndex:
    """What lookups read, derived from a table's grid, ``big_m``, values and status.

    The grids ``m1g = A``, ``m2g = B`` (the solver's inputs per cell), the prefix maxima
    ``values`` / ``status`` (shape of the grid, what a lookup returns), and the kernel's
    arrays: every axis with a +inf sentinel at the end (``q_nq = 1``, ``M(1) = 0`` for the
    chord of the last interval), the chord slopes of ``M``, ``Phi^{-1}(q_i)`` and the buckets.
    """

    def __init__(
        self,
        q: FloatArray,
        a: FloatArray,
        b: FloatArray,
        big_m: FloatArray,
        values: FloatArray,
        status: Int8Array,
    ) -> None:
        self.q, self.a, self.b, self.big_m = q, a, b, big_m
        self.m1g, self.m2g = _m_grids(a, b, big_m)
        inf_col = np.full((q.size, 1), np.inf)
        self.k_q = np.append(q, np.inf)
        self.k_m = np.append(big_m, 0.0)
        self.k_inv_m = 1.0 / big_m
        q_next = np.append(q[1:], 1.0)
        self.k_slope = (self.k_m[1:] - big_m) / (q_next - q)
        self.k_z = special.ndtri(q)
        self.k_m1g = np.ascontiguousarray(np.hstack([self.m1g, inf_col]))
        self.k_m2g = np.ascontiguousarray(np.hstack([self.m2g, inf_col]))
        eff, est, raised = _effective(values, status)
        self.values, self.status = eff, est
        self.n_raised = int(np.count_nonzero(raised))
        self.values_flat = eff.ravel()
        self.status_flat = est.ravel()
        self.qbucket, self.n_oct = _q_buckets(q)
        self.abucket, self.a_lo, self.a_scale = _axis_buckets(a)
        self.bbucket, self.b_lo, self.b_scale = _axis_buckets(b)

    def differences(self, derived: LookupIndex) -> list[str]:
        """Names of the arrays lookups read that differ from those of ``derived``."""
        pairs = {
            "q grid": (self.k_q, derived.k_q),
            "M grid": (self.k_m, derived.k_m),
            "chord slopes of M": (self.k_slope, derived.k_slope),
            "Phi^-1(q) grid": (self.k_z, derived.k_z),
            "m1 grid": (self.k_m1g, derived.k_m1g),
            "m2 grid": (self.k_m2g, derived.k_m2g),
            "lookup values": (self.values_flat, derived.values_flat),
            "lookup status": (self.status_flat, derived.status_flat),
        }
        return [
            name for name, (used, expected) in pairs.items() if not np.array_equal(used, expected)
        ]

    def lookup(
        self,
        q: npt.ArrayLike,
        m1: npt.ArrayLike,
        m2: npt.ArrayLike,
        on_invalid: str,
        on_outside: str,
        return_status: bool,
    ) -> FloatArray | tuple[FloatArray, Int8Array]:
        """``RadiusTable.lookup`` (same arguments and results)."""
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
            self.k_q,
            self.k_m,
            self.k_inv_m,
            self.k_slope,
            self.k_z,
            self.qbucket,
            self.n_oct,
            self.k_m1g,
            self.abucket,
            self.a_lo,
            self.a_scale,
            self.k_m2g,
            self.bbucket,
            self.b_lo,
            self.b_scale,
            self.values_flat,
            self.status_flat,
            return_status,
            out,
            status,
        )
        if (on_invalid == "raise" or on_outside == "raise") and status.min(initial=0) < 0:
            n_invalid = int(np.count_nonzero(status == INVALID))
            n_outside = int(np.count_nonzero(status == OUTSIDE))
            if n_invalid and on_invalid == "raise":
                self._raise_first(INVALID, fq, f1, f2, status, shape, n_invalid)
            if n_outside and on_outside == "raise":
                self._raise_first(OUTSIDE, fq, f1, f2, status, shape, n_outside)
        if status.max(initial=CONVERGED) >= INCONSISTENT:
            # The bounds contradict q: only q is trusted.
            bad = np.flatnonzero(status == INCONSISTENT)
            out[bad] = cohen_radius(fq[bad])
        radius = out.reshape(shape)[()]
        if return_status:
            return radius, status.reshape(shape)[()]
        return radius

    def _raise_first(
        self,
        code: int,
        q: FloatArray,
        m1: FloatArray,
        m2: FloatArray,
        status: Int8Array,
        shape: tuple[int, ...],
        count: int,
    ) -> NoReturn:
        """Raise the ``ValueError`` of the ``count`` queries of status ``code`` (``INVALID`` or
        ``OUTSIDE``): why the first of them has it, how many there are, the first's index."""
        p = int(np.flatnonzero(status == code)[0])
        where = tuple(int(i) for i in np.unravel_index(p, shape)) if shape else ()
        if code == INVALID:
            why = self._why_invalid(q[p], m1[p], m2[p])
            raise ValueError(f"{why} ({count} invalid element(s); first at index {where})")
        qq, x1, x2 = float(q[p]), float(m1[p]), float(m2[p])
        raise ValueError(
            f"query (q={qq!r}, m1={x1!r}, m2={x2!r}) lies outside the table: "
            f"{self._why_outside(qq, x1, x2)} ({count} such element(s); first at index {where}); "
            "pass on_outside='nan' to get NaN instead, or build a table that covers it"
        )

    @staticmethod
    def _why_invalid(q: float, m1: float, m2: float) -> str:
        if not (0.0 <= q <= 1.0):
            return f"q must lie in [0, 1] and not be NaN, got q={q!r}"
        if math.isnan(m1) or m1 == math.inf:
            return f"m1 must not be NaN or +inf, got m1={m1!r}"
        return f"m2 must be finite and >= 0, got m2={m2!r}"

    def _why_outside(self, q: float, m1: float, m2: float) -> str:
        if q < self.q[0]:
            return (
                f"q={q!r} is below the table's smallest grid q={self.q[0]!r} (and above 1/2, "
                "so it does not abstain)"
            )
        i = int(np.searchsorted(self.q, q, side="right") - 1)
        qi, mi = float(self.q[i]), float(self.big_m[i])
        if m1 < self.m1g[i, 0]:
            return (
                f"m1={m1!r} is below the smallest tabulated m1 at the grid row q_i={qi!r}: "
                f"a[0] * M(q_i) = {self.a[0]!r} * {mi!r} = {self.m1g[i, 0]!r}"
            )
        return (
            f"m2={m2!r} is below the smallest tabulated m2 at the grid row q_i={qi!r}: "
            f"b[0] * M(q_i) = {self.b[0]!r} * {mi!r} = {self.m2g[i, 0]!r}"
        )
