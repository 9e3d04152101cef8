"""Per-triple solve of Theorem 3 with a dual witness, and the parallel driver (docs/math.md §5).

For one normalised triple the solver
1. starts Newton from the warm-start tables (``_warm_start``) where it covers the input, else
   (or if that start does not converge) from the m2 = 0 strip solution (Corollary 3.1,
   ``_strip``: its multipliers, plus l2 from the width of the transition bands), which is
   also a certified lower bound;
2. runs damped Newton on the 4 equations (4), (5a), (5b), p(r) = 1/2 in theta = (k0, k1, l2, r)
   (``_newton``), and if the multiplier l1 comes out negative (the c1 < 0 clause of
   Theorem 3) fixes l1 = 0 and solves the 3 equations without (5b); if Newton does not converge,
   it follows a continuation path in m2 from the strip solution, or along the ray near the
   boundary of the feasible disk (``_continuation``);
3. certifies (``_witness``): steps back to r_w < r* until the dual value D(lam; r_w), evaluated
   with the 17-point Gauss-Kronrod rule, minus twice its difference to the embedded 8-point
   Gauss rule and a closed-form error floor, exceeds 1/2. Weak duality (D <= p for every
   lam >= 0) makes r_w a certified radius whether or not the iteration converged. Only such an
   r_w, or the strip radius, is ever returned.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit

from . import _compile
from ._continuation import (
    RAY_MIN_Q,
    RAY_RHO,
    _ray_continuation,
    _small_radius_start,
    _small_z_start,
    _solve_cold,
)
from ._dual import truncation_bound
from ._integrals import EPS
from ._newton import (
    GUIDE,
    STALE,
    UNCHECKED,
    WARM_BUDGETS,
    _solve_modes,
    copy_into,
    lam_at_radius,
    new_scratch,
)
from ._status import CONVERGED, FALLBACK, _accuracy_status
from ._warm_start import warm_start
from ._witness import STEP_BACK, certify, certify_strip, effective_inputs

# Below this m2 / M(q) the m2 = 0 radius is returned: R is non-decreasing in m2 (sound) and
# R(q, m1, m2) - R(q, m1, 0) = O(m2^2) (accurate; measured in tests/solver/test_radius.py).
B_TINY = 1e-6
# A converged solution within this relative distance (relative to r, also below 1) of the strip
# radius counts as exact when the witness cannot beat the strip radius (m2 so small that the
# gain is below the step-back).
STRIP_EXACT = 1e-7
# A witnessed radius from the small-radius starts at most this far below r* (relative) is taken
# as final (FALLBACK, unless within the accuracy goal) without the cold solve: near q = 1/2 the
# witness's floor costs 2e-5 of R at q - 1/2 = 1e-14, 2e-3 at 1.1e-16 (one ulp), and the cold
# solve finds the same solution.
FLOOR_LOSS = 1e-2
# From a warm start with m2 / (M(q) sqrt(1 - max(a, 0)^2)) >= STRIP_SKIP_BETA the strip radius is
# not computed (see solve_one).
STRIP_SKIP_BETA = 0.05


@njit(cache=True)
def _setup(q, a, b, m1_caller, m2_caller, scale):
    """(z, M(q), m1, m2) for normalised input (see effective_inputs), and the residual scales."""
    z, big_m, m1, m2 = effective_inputs(q, a, b, m1_caller, m2_caller)
    scale[0] = 1.0 - q
    scale[1] = big_m
    scale[2] = big_m
    # The floor of F3's scale (_newton._f3_scale): F3 = p(r) - 1/2 - F0 can be as small as
    # q - 1/2 (2q - 1 is exact).
    scale[3] = 2.0 * q - 1.0
    return z, big_m, m1, m2


# The witness steps back from r* with lam fixed (_witness._certify). Where that step, STEP_BACK r*,
# moves u = s / l2 by much, lam is solved again at the radius to be witnessed
# (_certify_solution). The loss of D(lam; .) against p over that step, relative to the gain,
# is about kappa = STEP_BACK r* E[phi(u)] / (l2 |dp/dr|); the witness with lam fixed was seen to
# fail from kappa = 1.2 on (q - 1/2 = 3e-10, 1e-10, non-slack m1: kappa 1.2-27; at 1e-9 it is
# 0.5-2.7, at 1e-8 0.05-0.2); on the benchmark's triples (q - 1/2 >= 1e-6) it stays below 3e-3.
SHIFT_KAPPA = 0.1
# There r_w is aimed at SHIFT_MARGIN times the witness's error floor below R (in D), and at
# least STEP_BACK r* below r*; not more than SHIFT_MAX r* below.
SHIFT_MARGIN = 2.0
SHIFT_MAX = 0.1
SHIFT_TRIES = 2


@njit(cache=True)
def _certify_solution(q, a, b, m1_caller, m2_caller, m1, m2, theta, l1_zero, integ, scale, lam):
    """``certify`` of Newton's solution theta; with lam solved again at r_w where needed.

    Near q = 1/2 with the m1 constraint active the multipliers are tiny against r (l1 ~ r,
    l2 ~ r^2) and the witness's step back with lam fixed, 3e-9 r*, moves u = s / l2 by
    3e-9 r* x / l2: D(lam; r_w) then falls far below p(r_w) and no r_w < r* is witnessed (seen:
    q - 1/2 = 1e-10 and below, where the strip radius, 1.6e-4 lower, was returned instead).
    There lam is solved at r_w = r* (1 - eps) itself (``_newton.lam_at_radius``), eps chosen
    so that p(r_w) - 1/2 is SHIFT_MARGIN times the witness's floor (its truncation bound,
    about 1.1e-19, and rounding), and the witness is handed those multipliers at the r from
    which its own step back lands on r_w. theta is left unchanged (r* stays Newton's).
    """
    rs = theta[3]
    l2 = theta[2]
    slope = integ[4]
    if (
        integ[STALE] != UNCHECKED
        and slope > 0.0
        and STEP_BACK * rs * integ[2] > SHIFT_KAPPA * l2 * slope
    ):
        e0 = theta[0] - 0.5 * rs * rs
        l1 = 0.0 if l1_zero else theta[1] + rs
        # The witness's floor (_dual.dual_error_floor) without the sums of magnitudes that
        # Newton's evaluations skip: E|(w - 1) h| <= E|w - 1| ~ 0.8 r, E|X h| <= 0.8.
        mags = (
            (q - 0.5)
            + min(2.0, 0.8 * rs + rs * rs)
            + abs(e0) * (2.0 - q)
            + l1 * (abs(m1) + 0.8)
            + l2 * (m2 + integ[2])
        )
        floor = truncation_bound(1.0 + e0, l1, l2, rs) + 64.0 * EPS * mags
        eps_rel = max(STEP_BACK, SHIFT_MARGIN * floor / (slope * rs))
        tw = np.empty(4)
        tried = False
        for _ in range(SHIFT_TRIES):
            if not (eps_rel <= SHIFT_MAX):
                break
            r_w = rs * (1.0 - eps_rel)
            if not lam_at_radius(theta, r_w, q, m1, m2, scale, l1_zero, integ, tw):
                break
            tried = True
            # The witness steps back by STEP_BACK r_top from r_top (the residuals at r_w give
            # a positive excess there, so no more), keeping lam: hand it r_w's lam.
            r_top = r_w / (1.0 - STEP_BACK)
            e0w = tw[0] - 0.5 * r_w * r_w
            l1w = 0.0 if l1_zero else tw[1] + r_w
            tw[0] = e0w + 0.5 * r_top * r_top
            tw[1] = -r_top if l1_zero else l1w - r_top
            tw[3] = r_top
            rw, checked = certify(q, a, b, m1_caller, m2_caller, tw, l1_zero, integ, scale, lam)
            if rw > 0.0:
                return rw, checked
            eps_rel *= 4.0  # (the floor was underestimated)
        if tried:
            return 0.0, True
    return certify(q, a, b, m1_caller, m2_caller, theta, l1_zero, integ, scale, lam)


@njit(cache=True, inline="always")
def _certify_pulled(q, a, b, m1_caller, m2_caller, gap, theta, l1_zero, integ, scale, lam):
    """Witnessed radius of the point pulled inward along its ray to 1 - rho = gap.

    theta solves that point (_continuation._ray_continuation's gap_ok). Only max(a, 0) and b
    shrink, and R is non-decreasing in m1 and m2, so the radius is certified for the caller's
    bounds as well.
    """
    f = (1.0 - gap) / math.hypot(max(a, 0.0), b)
    integ[STALE] = 0.0
    r, _ = certify(
        q, a * f if a > 0.0 else a, b * f, m1_caller, m2_caller, theta, l1_zero, integ, scale, lam
    )
    return r


@njit(cache=True, inline="always")
def _status(r_star, r, checked):
    """CONVERGED if the witness confirmed its step (``certify``'s ``checked``) and r is within
    the accuracy goal of Newton's r_star, else FALLBACK."""
    return _accuracy_status(r_star, r) if checked else FALLBACK


# solve_one and _certify_pulled are inlined into _solve_range, their one caller: one driver to
# compile and link after the two halves of the call tree (_compile), not three.
@njit(cache=True, inline="always")
def solve_one(q, a, b, m1_caller, m2_caller, tables, lam):
    """Radius for q in (1/2, 1) and normalised a = m1/M(q) in [-1, 1], b = m2/M(q) >= 0.

    ``m1_caller``, ``m2_caller`` are the caller's own bounds: they go to the witness
    (``_witness.certify``, ``certify_strip``) as they are, and it certifies bounds no larger
    than them (``_witness.effective_inputs``). Newton solves at those same bounds (``_setup``).

    Input must already be validated and projected onto the feasible set
    max(a, 0)^2 + b^2 <= 1. ``tables`` are the warm-start tables (``_warm_start.load_tables``;
    empty ones disable warm starts). Returns (radius, status, iterations).

    ``lam`` (length 3) receives the multipliers (l0, l1, l2) whose dual witness certified the
    returned radius, or NaN where the radius is the strip radius (its closed-form witness has
    l2 = 0 and is rebuilt from ``_strip.strip``) or needs no witness. They let anyone
    re-check the radius (``hocert_solver.verify_radius``, ``RadiusTable.verify``).
    """
    lam[:] = math.nan
    scale = np.empty(4)
    z, big_m, m1, m2 = _setup(q, a, b, m1_caller, m2_caller, scale)
    if b <= B_TINY or a >= 1.0:
        r_strip, w2, w1 = certify_strip(q, a, b, m1_caller, m2_caller)
        if r_strip == math.inf or r_strip > 0.0:
            return r_strip, CONVERGED, 0
        return max(z - 1e-12 * (1.0 + z), 0.0), FALLBACK, 0
    # Near the boundary of the feasible disk R grows without bound.
    if max(a, 0.0) ** 2 + b * b >= 1.0:
        return math.inf, CONVERGED, 0
    theta = np.empty(4)
    integ = new_scratch()
    ok = False
    l1_zero = False
    nit = 0
    rw = -1.0  # witness not tried yet
    checked = True  # (certify's verdict on rw's accuracy)
    unchecked_rw = 0.0  # certified, but not confirmed accurate (see _witness._certify)
    lam_rw = np.full(3, math.nan)  # the multipliers of rw ...
    lam_unchecked = np.full(3, math.nan)  # ... and of unchecked_rw
    if _small_radius_start(q, a, b, z, big_m, theta) or _small_z_start(tables, q, z, a, b, theta):
        # q near 1/2: R is tiny, and the first-order solution (m1 slack) or the small-z
        # table's first node, carried down to q (m1 active), a close start.
        ok, l1_zero, nit = _solve_modes(theta, q, m1, m2, scale, integ, WARM_BUDGETS, False)
        if ok:
            rw, checked = _certify_solution(
                q, a, b, m1_caller, m2_caller, m1, m2, theta, l1_zero, integ, scale, lam_rw
            )
            if rw > 0.0 and _status(theta[3], rw, checked) == CONVERGED:
                copy_into(lam_rw, lam)
                return rw, CONVERGED, nit
            if rw > 0.0 and checked and rw >= theta[3] * (1.0 - FLOOR_LOSS):
                # Solved and witnessed, but the witness's floor (about 1e-19 in D, against an
                # excess of the size of (q - 1/2) times the step back) kept it further below
                # r* than the accuracy goal: the cold solve would find the same solution
                # (it spent 150-220 Newton steps there).
                r_strip, w2, w1 = certify_strip(q, a, b, m1_caller, m2_caller)
                if rw >= r_strip:
                    copy_into(lam_rw, lam)
                return max(rw, r_strip), FALLBACK, nit
            # Kept as a candidate for the FALLBACK below (certified, not accurate enough).
            unchecked_rw = max(rw, 0.0)
            copy_into(lam_rw, lam_unchecked)
        ok = False
        rw = -1.0
        integ[GUIDE:] = math.nan  # (the other starts begin a new path)
    if warm_start(tables, z, a, b, theta):
        ok, l1_zero, nit = _solve_modes(theta, q, m1, m2, scale, integ, WARM_BUDGETS, True)
        if ok and integ[STALE] != 0.0:
            first_step = integ[STALE] == UNCHECKED
            rw, checked = _certify_solution(
                q, a, b, m1_caller, m2_caller, m1, m2, theta, l1_zero, integ, scale, lam_rw
            )
            if not checked:
                unchecked_rw = rw
                copy_into(lam_rw, lam_unchecked)
                rw = -1.0
                if first_step:
                    # Go on from the unchecked iterate, evaluating every step this time.
                    ok, l1_zero, n2 = _solve_modes(
                        theta, q, m1, m2, scale, integ, WARM_BUDGETS, False
                    )
                    nit += n2
                else:
                    # A predicted last step that the witness does not confirm: the start led
                    # Newton to a near-singular point that faked the quadratic rate (seen near
                    # the edge of the disk, r* 1.3% low). The cold solve takes over.
                    ok = False
                    integ[GUIDE:] = math.nan
        if ok and b >= STRIP_SKIP_BETA * math.sqrt(1.0 - max(a, 0.0) ** 2):
            # Far enough from m2 = 0 that R exceeds the strip radius by far more than any
            # witness step-back (measured: >= 7e-5 relative over the whole table domain at
            # beta = 0.05, against <= 1e-7), so the strip radius need not be computed.
            if rw < 0.0:
                rw, checked = _certify_solution(
                    q, a, b, m1_caller, m2_caller, m1, m2, theta, l1_zero, integ, scale, lam_rw
                )
            if rw > 0.0:
                copy_into(lam_rw if rw >= unchecked_rw else lam_unchecked, lam)
                r_out = max(rw, unchecked_rw)
                return r_out, _status(theta[3], r_out, checked), nit
    r_strip, w2, w1 = certify_strip(q, a, b, m1_caller, m2_caller)
    if r_strip == math.inf:
        return math.inf, CONVERGED, nit
    r_pulled = 0.0
    lam_pulled = np.full(3, math.nan)
    if not ok:
        ok, l1_zero, n2, gap_ok = _solve_cold(
            theta, q, m1, m2, a, b, big_m, scale, integ, w2, w1, r_strip
        )
        nit += n2
        if not ok and gap_ok > 0.0:
            r_pulled = _certify_pulled(
                q, a, b, m1_caller, m2_caller, gap_ok, theta, l1_zero, integ, scale, lam_pulled
            )
    if ok:
        if rw < 0.0:  # (a witness that already failed on this theta would fail again)
            rw, checked = _certify_solution(
                q, a, b, m1_caller, m2_caller, m1, m2, theta, l1_zero, integ, scale, lam_rw
            )
        if rw > r_strip:
            copy_into(lam_rw if rw >= unchecked_rw else lam_unchecked, lam)
            r_out = max(rw, unchecked_rw)
            return r_out, _status(theta[3], r_out, checked), nit
        if theta[3] <= r_strip * (1.0 + STRIP_EXACT):
            # The first-order gain is about the size of the witness step-back: the strip
            # radius is then within STRIP_EXACT of the solution, well inside the 1e-6 goal.
            # (Relative to r, not max(1, r): near q = 1/2, where the strip's own witness loses
            # digits, a strip radius 1.6e-4 below a solution of 6e-10 was reported CONVERGED.)
            if unchecked_rw > r_strip:
                copy_into(lam_unchecked, lam)
            return max(r_strip, unchecked_rw), CONVERGED, nit
    if ok and q - 0.5 < RAY_MIN_Q and math.hypot(max(a, 0.0), b) > RAY_RHO:
        # Within RAY_MIN_Q of q = 1/2 Newton from the strip start can meet its tolerance at a
        # solution too inexact for the witness (measured: r* 7% off); the ray, not yet tried
        # then, may give one it accepts, or a certified point pulled in along the ray.
        ok, l1_zero, n2, gap_ok = _ray_continuation(theta, q, a, b, big_m, scale, integ)
        nit += n2
        if ok:
            rw, checked = _certify_solution(
                q, a, b, m1_caller, m2_caller, m1, m2, theta, l1_zero, integ, scale, lam_rw
            )
            if rw > max(r_strip, unchecked_rw):
                copy_into(lam_rw, lam)
                return rw, _status(theta[3], rw, checked), nit
        elif gap_ok > 0.0:
            r_pulled = _certify_pulled(
                q, a, b, m1_caller, m2_caller, gap_ok, theta, l1_zero, integ, scale, lam_pulled
            )
    # Every radius here is certified, so the largest one is too.
    if unchecked_rw > r_strip and unchecked_rw >= r_pulled:
        copy_into(lam_unchecked, lam)
    elif r_pulled > r_strip:
        copy_into(lam_pulled, lam)
    return max(r_strip, unchecked_rw, r_pulled, 0.0), FALLBACK, nit


@njit(cache=True, nogil=True)
def _solve_range(q, a, b, m1, m2, tables, radius, status, nit, lam, start, stop):
    """solve_one over the elements start..stop-1 (without the GIL: threads run it side by side)."""
    for i in range(start, stop):
        r, st, it = solve_one(q[i], a[i], b[i], m1[i], m2[i], tables, lam[i])
        radius[i] = r
        status[i] = st
        nit[i] = it


# solve_many hands out its elements in chunks, to the threads in turn, each chunk a share
# 1 / (2 threads) of what is left ("guided" scheduling): few chunks, yet all threads finish
# within MIN_CHUNK elements of each other (about 16 us each, one thread), however unevenly the
# slow elements (near the edges of the domain) are spread. Below 2 MIN_CHUNK elements one thread.
MIN_CHUNK = 16


def _float_input(x: np.ndarray) -> np.ndarray:
    """``x`` as the kernel's one input type: float64, C-contiguous, aligned, writable."""
    return np.require(x, dtype=np.float64, requirements=["C", "A", "W"])


def _output(x: np.ndarray, dtype: type, name: str) -> np.ndarray:
    flags = x.flags
    if x.dtype != dtype or not (flags.c_contiguous and flags.aligned and flags.writeable):
        raise TypeError(f"{name} must be a writable C-contiguous {np.dtype(dtype).name} array")
    return x


def solve_many(q, a, b, m1, m2, tables, radius, status, nit, lam) -> None:
    """solve_one over flat arrays, in parallel; every element gets its own status.

    ``m1``, ``m2`` are the caller's bounds behind ``a``, ``b`` (see effective_inputs).
    ``radius`` (float64), ``status`` (int8), ``nit`` (int32) and ``lam`` (float64, shape
    (n, 3): each radius's witness multipliers, see solve_one) receive the results.

    The inputs are normalised here (C-contiguous, writable float64) so that the kernel
    ``_solve_range`` has one signature: each new combination of argument types would cost a
    compilation of the whole solver. The work runs on ``numba.get_num_threads()`` threads, this
    one among them (the kernel releases the GIL). A Numba ``prange`` loop did the same, but its
    compilation took a quarter of the solver's (issue #13).
    """
    q, a, b, m1, m2 = (_float_input(x) for x in (q, a, b, m1, m2))
    args = (
        q,
        a,
        b,
        m1,
        m2,
        (_float_input(tables[0]), _float_input(tables[1])),
        _output(radius, np.float64, "radius"),
        _output(status, np.int8, "status"),
        _output(nit, np.int32, "nit"),
        _output(lam, np.float64, "lam"),
    )
    n = q.shape[0]
    _compile.ensure_compiled(_solve_range)
    threads = min(numba.get_num_threads(), n // MIN_CHUNK) if n >= 2 * MIN_CHUNK else 1
    if threads <= 1:
        _solve_range(*args, 0, n)
        return
    lock = threading.Lock()
    todo = [0]  # the first element not handed out yet

    def work() -> None:
        while True:
            with lock:
                start = todo[0]
                stop = min(n, start + max(MIN_CHUNK, (n - start) // (2 * threads)))
                todo[0] = stop
            if start >= n:
                return
            _solve_range(*args, start, stop)

    try:
        helpers = [_helper_pool(threads - 1).submit(work) for _ in range(threads - 1)]
    except RuntimeError:  # no new threads: the interpreter is shutting down
        helpers = []
    try:
        work()
    finally:
        with lock:
            todo[0] = n  # (after an error here: the helpers stop after their chunk)
        for future in helpers:
            if not future.cancel():  # a helper that has not started is not needed any more
                future.result()


# The helper threads of solve_many, kept between calls (starting threads for each call cost 4%
# at 1,000 elements); a forked child starts its own.
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _helper_pool(size: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < size:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(size, thread_name_prefix="hocert-solver")
            _pool_size = size
        return _pool


def _forget_pool() -> None:
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size, _pool_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
