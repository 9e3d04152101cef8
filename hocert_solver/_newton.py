"""Damped Newton on the optimality system of Theorem 3, and the solver's scratch array.

One solve's steps share a scratch array (``new_scratch``, layout below): the integrals of the
last evaluation, whether the last step was evaluated (``STALE``), the Jacobian in the
multipliers that lets the witness check an unchecked step (``JAC_LAM``), and the panel
breakpoints that start the next evaluation's search (``GUIDE``). ``_newton`` solves the 4
equations (4), (5a), (5b), p(r) = 1/2 in theta = (k0, k1, l2, r), or the 3 without (5b) when
l1 = 0 (the c1 < 0 clause); ``_solve_modes`` tries both active sets (docs/math.md §5, step 2).
Nothing here certifies a radius: that is ``_witness``'s alone.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._integrals import N_INTEGRALS, OK, integrals_guided, residuals
from ._jit import one_specialisation
from ._quadrature import N_GUIDE

NEWTON_TOL = 1e-11
# The last Newton step is taken without evaluating the integrals at its end point (the witness
# evaluates that point anyway) when the scaled residual is below SKIP_TOL and the observed
# quadratic rate, C = worst / prev^2, predicts C worst^2 <= NEWTON_TOL. The integrals then
# belong to the previous iterate, flagged in integ[STALE].
SKIP_TOL = 1e-7
# The solver's scratch array ``integ`` (``new_scratch``): the integrals, then the STALE flag, then
# (after an UNCHECKED step) the 3x3 Jacobian of (F0, F1, F2) in lam = (l0, l1, l2) at the last
# evaluation, then the guide of the panel breakpoints.
STALE = N_INTEGRALS
JAC_LAM = N_INTEGRALS + 1
GUIDE = JAC_LAM + 9  # the level crossings of the last evaluation (_quadrature.breakpoints_guided)
SCRATCH_SIZE = GUIDE + N_GUIDE
# integ[STALE] values: 0 the integrals are at theta; SKIPPED the last step was not evaluated
# (its convergence predicted from the observed quadratic rate); UNCHECKED the first and only
# step was not evaluated, and the witness's own integrals must confirm it (_witness).
SKIPPED = 1.0
UNCHECKED = 2.0
# The first step from a warm start is taken unevaluated when the scaled residual is below
# FIRST_SKIP_TOL and the step (relative in r, absolute in log l2) below FIRST_SKIP_STEP (its
# error, quadratic in the step, then stays near the witness's step back) ...
FIRST_SKIP_TOL = 1e-3
FIRST_SKIP_STEP = 1e-3
# Residuals below this are accepted when rounding stops the line search (tiny radii).
NOISE_TOL = 1e-8
# F3's tolerance is NEWTON_TOL F3_R_SCALE r |dp/dr|: r to 1e-9 relative (_f3_scale).
F3_R_SCALE = 100.0


def _budgets(*budgets: int) -> np.ndarray:
    # Read-only int64 arrays, not tuples: both budgets (and a caller in Python) then give
    # _solve_modes the same argument type, so it is compiled once (tuples of different lengths
    # were two specialisations).
    out = np.array(budgets, dtype=np.int64)
    out.setflags(write=False)
    return out


# Newton budgets: a short pass over both active sets, then a long one from where each stopped.
NEWTON_BUDGETS = _budgets(12, 60)
# From a table warm start (_warm_start.py) Newton either converges quickly or the strip start
# takes over.
WARM_BUDGETS = _budgets(8)
# Newton gives up after CRAWL_LIMIT consecutive steps shorter than CRAWL_STEP (a start too far
# away for the local model); the continuation paths then take over.
CRAWL_STEP = 1e-3
CRAWL_LIMIT = 3


@njit(cache=True)
def new_scratch():
    """The solver's per-point scratch array (layout above), with an empty breakpoint guide."""
    integ = np.empty(SCRATCH_SIZE)
    integ[STALE] = 0.0
    integ[GUIDE:] = np.nan
    return integ


@one_specialisation
@njit(cache=True)
def _solve_linear(a, b, n):
    """Solve a[:n, :n] x = b[:n] in place (partial pivoting); False if singular."""
    for c in range(n):
        p = c
        for i in range(c + 1, n):
            if abs(a[i, c]) > abs(a[p, c]):
                p = i
        if not (abs(a[p, c]) > 0.0) or not math.isfinite(a[p, c]):
            return False
        if p != c:
            for j in range(n):
                a[c, j], a[p, j] = a[p, j], a[c, j]
            b[c], b[p] = b[p], b[c]
        for i in range(c + 1, n):
            f = a[i, c] / a[c, c]
            for j in range(c, n):
                a[i, j] -= f * a[c, j]
            b[i] -= f * b[c]
    for c in range(n - 1, -1, -1):
        s = b[c]
        for j in range(c + 1, n):
            s -= a[c, j] * b[j]
        b[c] = s / a[c, c]
        if not math.isfinite(b[c]):
            return False
    return True


@njit(cache=True, inline="always")
def _active_rows(l1_zero, idx):
    """Indices of the equations in play (all four, or without (5b) when l1 = 0); their count."""
    n = 0
    for i in range(idx.shape[0]):
        if not (l1_zero and i == 1):
            idx[n] = i
            n += 1
    return n


@njit(cache=True, inline="always")
def _f3_scale(theta, jac, scale, l1_zero):
    """The scale of F3 = p(r) - 1/2 - F0 in the convergence tests: F3_R_SCALE r |dF3/dr|,
    within [scale[3], 1].

    A tolerance on F3 moves r by the tolerance over |dp/dr|, so this one holds r to
    NEWTON_TOL F3_R_SCALE = 1e-9 relative (a third of the witness's first step back), whether
    F3's size is set by q - 1/2 (tiny radii, where r |dp/dr| ~ q - 1/2 and a fixed scale would
    leave r unresolved) or by p's fall from a peak (q -> 1/2 with a large radius, where F3 is
    known only to eps times the terms of E[(w - 1) h], far above eps (q - 1/2)). The floor
    scale[3] is 2q - 1. ``_newton`` takes it at each iterate for its convergence test.
    """
    slope = jac[3, 3] - jac[3, 1] if l1_zero else jac[3, 3]  # (k1 = -r moves with r)
    return min(1.0, max(scale[3], F3_R_SCALE * theta[3] * abs(slope)))


@njit(cache=True, inline="always")
def _scaled_norm(res, scale, l1_zero):
    """Scaled squared residual norm, the line search's merit function.

    The line search's measure of p(r) = 1/2 is p(r) - 1/2 = F3 + F0 itself (the residual it
    was tuned on: F3 alone, F3 = p(r) - 1/2 - F0, changed the damped path enough that starts
    far from the solution near q = 1/2 crawled and failed); the convergence test takes F3.
    """
    m = 0.0
    for i in range(4):
        if l1_zero and i == 1:
            continue
        t = res[3] + res[0] if i == 3 else res[i] / scale[i]
        m += t * t
    return m if math.isfinite(m) else math.inf


@njit(cache=True)
def _merit(theta, q, m1, m2, scale, l1_zero, integ, jac, res, want_jac):
    """Scaled squared residual norm at theta (inf if the integrals fail; ``_scaled_norm``)."""
    if not (theta[2] > 0.0 and theta[3] > 0.0):
        return math.inf
    guide = integ[GUIDE : GUIDE + N_GUIDE]
    st = integrals_guided(theta[0], theta[1], theta[2], theta[3], 0, want_jac, integ, jac, guide)
    if st != OK:
        return math.inf
    residuals(integ, q, m1, m2, res)
    return _scaled_norm(res, scale, l1_zero)


@one_specialisation
@njit(cache=True)
def _newton(theta, q, m1, m2, scale, l1_zero, max_iter, integ, first_skip):
    """Damped Newton on F(theta) = 0; returns (converged, iterations). theta updated in place.

    With ``l1_zero`` the multiplier l1 = k1 + r is held at 0 (k1 = -r) and (5b) is dropped.
    On return ``integ`` holds the integrals (8-point rule) at the returned theta, or, with
    ``integ[STALE]`` set, at the iterate before a final step taken without evaluation.
    """
    jac = np.empty((4, 4))
    res = np.empty(4)
    a = np.empty((4, 4))
    b = np.empty(4)
    trial = np.empty(4)
    idx = np.empty(4, dtype=np.int64)
    integ[STALE] = 0.0
    if l1_zero:
        theta[1] = -theta[3]
    merit = _merit(theta, q, m1, m2, scale, l1_zero, integ, jac, res, True)
    if merit == math.inf:
        return False, 0
    crawl = 0
    prev = math.inf
    for it in range(max_iter):
        # Converged on the residuals (never on the step size alone); F3 on its scale at this
        # iterate (_f3_scale), the line search on p(r) - 1/2 (_scaled_norm).
        worst = abs(res[3]) / _f3_scale(theta, jac, scale, l1_zero)
        for i in range(3):
            if l1_zero and i == 1:
                continue
            worst = max(worst, abs(res[i]) / scale[i])
        if worst <= NEWTON_TOL:
            return True, it
        # Assemble the (reduced) system. With l1 = 0, k1 = -r moves with r.
        n = _active_rows(l1_zero, idx)
        # Newton runs in (k0 / l2, k1 / l2, log l2, r): near the boundary of the feasible disk the
        # multipliers grow by orders of magnitude while the coefficients c0 = l0 / l2 and
        # c1 = l1 / l2 stay bounded, and steps in log l2 cover that growth geometrically.
        k0, k1, l2 = theta[0], theta[1], theta[2]
        for ii in range(n):
            i = idx[ii]
            b[ii] = -res[i]
            if l1_zero:
                a[ii, 0] = l2 * jac[i, 0]
                a[ii, 1] = k0 * jac[i, 0] + l2 * jac[i, 2]
                a[ii, 2] = jac[i, 3] - jac[i, 1]
            else:
                a[ii, 0] = l2 * jac[i, 0]
                a[ii, 1] = l2 * jac[i, 1]
                a[ii, 2] = k0 * jac[i, 0] + k1 * jac[i, 1] + l2 * jac[i, 2]
                a[ii, 3] = jac[i, 3]
        if not _solve_linear(a, b, n):
            return False, it
        if l1_zero:
            d_k0, d_k1, d_log_l2, d_r = b[0], 0.0, b[1], b[2]
        else:
            d_k0, d_k1, d_log_l2, d_r = b[0], b[1], b[2], b[3]
        # At most a factor e^2 change of l2 and a factor 5 decrease of r per step.
        alpha = 1.0
        if abs(d_log_l2) > 2.0:
            alpha = 2.0 / abs(d_log_l2)
        if d_r < 0.0:
            alpha = min(alpha, 0.8 * theta[3] / -d_r)
        # (prev is +inf before the first step: no observed rate; such a skip must be checked.)
        predicted = worst <= SKIP_TOL and worst**3 <= NEWTON_TOL * prev * prev < math.inf
        unchecked = (
            first_skip
            and it == 0
            and worst <= FIRST_SKIP_TOL
            and max(abs(d_r) / theta[3], abs(d_log_l2)) <= FIRST_SKIP_STEP
        )
        if alpha == 1.0 and (predicted or unchecked):
            l2_t = l2 * math.exp(d_log_l2)
            theta[0] = l2_t * (k0 / l2 + d_k0)
            theta[3] = theta[3] + d_r
            theta[1] = -theta[3] if l1_zero else l2_t * (k1 / l2 + d_k1)
            theta[2] = l2_t
            integ[STALE] = SKIPPED if predicted else UNCHECKED
            for i in range(3):
                for j in range(3):
                    integ[JAC_LAM + 3 * i + j] = jac[i, j]
            return True, it + 1
        accepted = False
        for _ in range(30):
            l2_t = l2 * math.exp(alpha * d_log_l2)
            trial[0] = l2_t * (k0 / l2 + alpha * d_k0)
            trial[3] = theta[3] + alpha * d_r
            trial[1] = -trial[3] if l1_zero else l2_t * (k1 / l2 + alpha * d_k1)
            trial[2] = l2_t
            m_new = _merit(trial, q, m1, m2, scale, l1_zero, integ, jac, res, True)
            if m_new <= (1.0 - 1e-4 * alpha) * merit:
                accepted = True
                break
            alpha *= 0.5
        if not accepted:
            # No descent left: either rounding noise at a converged point (accept if the
            # residuals are within NOISE_TOL; the witness still checks the radius) or failure.
            _merit(theta, q, m1, m2, scale, l1_zero, integ, jac, res, True)
            return worst <= NOISE_TOL, it + 1
        for j in range(4):
            theta[j] = trial[j]
        merit = m_new
        prev = worst
        crawl = crawl + 1 if alpha < CRAWL_STEP else 0
        if crawl >= CRAWL_LIMIT:
            return False, it + 1
    return False, max_iter


@njit(cache=True)
def copy_into(src, dst):
    """dst[:] = src for 1-D arrays of the same length, without a slice assignment.

    A slice assignment between arrays compiles Numba's shape-mismatch error with its message
    formatting, about 2 s of the solver's first compilation.
    """
    for j in range(src.shape[0]):
        dst[j] = src[j]


@njit(cache=True)
def _m1_slack(integ, q, m1, m2, scale):
    """With l1 = 0 the m1 constraint must hold as an inequality: E[X Phi(u)] >= m1."""
    res = np.empty(4)
    residuals(integ, q, m1, m2, res)
    return res[1] >= -10.0 * NEWTON_TOL * scale[1]


@one_specialisation
@njit(cache=True)
def _solve_modes(theta, q, m1, m2, scale, integ, budgets, first_skip):
    """Newton with the c1 < 0 clause of Theorem 3; returns (converged, l1_zero, iterations).

    Both active sets are tried, the more likely one first (l1 = 0 when the start has l1 = 0):
    the full system (4), (5a), (5b) with l1 >= 0 at the solution, or l1 = 0 without (5b) and
    E[X Phi(u)] >= m1 at the solution (the m1 constraint slack). On success ``integ`` holds
    the integrals at the solution, or at the iterate before an unevaluated last Newton step
    (``integ[STALE]``, residuals below SKIP_TOL): the slack check then uses those. It only
    chooses the active set; any lam >= 0 keeps the witness sound.
    """
    iterates = np.empty((2, 4))
    zero_first = theta[1] + theta[3] <= 0.0
    copy_into(theta, iterates[0])
    copy_into(theta, iterates[1])
    trial = np.empty(4)
    total = 0
    for budget in budgets:
        for attempt in range(2):
            l1_zero = zero_first if attempt == 0 else not zero_first
            copy_into(iterates[attempt], trial)
            ok, nit = _newton(trial, q, m1, m2, scale, l1_zero, budget, integ, first_skip)
            total += nit
            copy_into(trial, iterates[attempt])
            if not ok:
                continue
            if l1_zero:
                if _m1_slack(integ, q, m1, m2, scale):
                    copy_into(trial, theta)
                    return True, True, total
                continue
            if trial[1] + trial[3] >= 0.0:
                copy_into(trial, theta)
                return True, False, total
            # Equality solution has c1 < 0: fix l1 = 0 from there.
            ok, nit = _newton(trial, q, m1, m2, scale, True, budget, integ, first_skip)
            total += nit
            if ok and _m1_slack(integ, q, m1, m2, scale):
                copy_into(trial, theta)
                return True, True, total
    return False, False, total


# lam_at_radius: at most this many Newton steps in lam at fixed r, and the scaled residual it
# accepts (the witness only needs lam near its maximiser: there D(lam; r) falls short of p(r)
# by about F^T J^-1 F / 2, and at tiny radii J^-1 ~ l2 is tiny as well).
FIXED_R_STEPS = 4
FIXED_R_TOL = NOISE_TOL


@one_specialisation
@njit(cache=True)
def lam_at_radius(theta, r, q, m1, m2, scale, l1_zero, integ, out):
    """The multipliers that maximise D(.; r) at a radius r near the solution theta's r*.

    Newton on (4), (5b), (5a) (without (5b) when ``l1_zero``) in (k0 / l2, k1 / l2, log l2) at
    fixed r, from theta's multipliers. ``out`` receives (k0, k1, l2, r) and ``integ`` (the
    solver's scratch array) the integrals at ``out`` (``STALE`` = 0), evaluated: True when the
    scaled residuals there are below FIXED_R_TOL. On failure ``integ`` is left as it was.

    The witness keeps lam fixed while it steps back from r* (``_witness._certify``). Where the
    multipliers are tiny against r (q near 1/2 with the m1 constraint active: l1 ~ r, l2 ~ r^2)
    a step back of 3e-9 r moves u = s / l2 by 3e-9 r x / l2, far off the maximiser, and
    D(lam; r*) falls below 1/2 at every r_w < r*; the multipliers of r_w itself do not.
    """
    jac = np.empty((4, 4))
    res = np.empty(4)
    a = np.empty((4, 4))
    b = np.empty(4)
    idx = np.empty(4, dtype=np.int64)
    work = integ.copy()
    # Start from theta's (k0, k1, l2), not its lam: at tiny radii the solution scales like
    # (k0, k1, l2) ~ r^2, so u moves by O((r* - r) / r*) only.
    copy_into(theta, out)
    out[3] = r
    if l1_zero:
        out[1] = -r
    work[STALE] = 0.0
    n = _active_rows(l1_zero, idx) - 1  # (4), (5b), (5a): F3 is not solved at fixed r
    guide = work[GUIDE : GUIDE + N_GUIDE]
    for it in range(FIXED_R_STEPS + 1):
        if not (out[2] > 0.0):
            return False
        st = integrals_guided(out[0], out[1], out[2], r, 0, True, work, jac, guide)
        if st != OK:
            return False
        residuals(work, q, m1, m2, res)
        worst = 0.0
        for ii in range(n):
            worst = max(worst, abs(res[idx[ii]]) / scale[idx[ii]])
        if not math.isfinite(worst):
            return False
        if worst <= NEWTON_TOL or (it == FIXED_R_STEPS and worst <= FIXED_R_TOL):
            copy_into(work, integ)
            return True
        if it == FIXED_R_STEPS:
            return False
        k0, k1, l2 = out[0], out[1], out[2]
        for ii in range(n):
            i = idx[ii]
            b[ii] = -res[i]
            a[ii, 0] = l2 * jac[i, 0]
            if l1_zero:
                a[ii, 1] = k0 * jac[i, 0] + l2 * jac[i, 2]
            else:
                a[ii, 1] = l2 * jac[i, 1]
                a[ii, 2] = k0 * jac[i, 0] + k1 * jac[i, 1] + l2 * jac[i, 2]
        if not _solve_linear(a, b, n):
            return False
        d_log_l2 = b[1] if l1_zero else b[2]
        if not (abs(d_log_l2) <= 1.0):
            return False
        l2_t = l2 * math.exp(d_log_l2)
        out[0] = l2_t * (k0 / l2 + b[0])
        if not l1_zero:
            out[1] = l2_t * (k1 / l2 + b[1])
        out[2] = l2_t
    return False
