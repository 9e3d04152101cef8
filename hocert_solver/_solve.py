"""Per-triple solve of Theorem 3 with a dual witness, and the parallel driver (docs/math.md).

For one normalised triple the solver
1. starts Newton from the warm-start tables (``_warm_start``) where it covers the input, else
   (or if that start does not converge) from the m2 = 0 strip solution (Corollary 3.1,
   ``_interval``: its multipliers, plus l2 from the width of the transition bands), which is
   also a certified lower bound;
2. runs damped Newton on the 4 equations (4), (5a), (5b), p(r) = 1/2 in theta = (k0, k1, l2, r)
   (``_integrals``), and if the multiplier l1 comes out negative (the c1 < 0 clause of
   Theorem 3) fixes l1 = 0 and solves the 3 equations without (5b); if Newton does not converge,
   it follows a continuation path in m2 from the strip solution, or along the ray near the
   boundary of the feasible disk;
3. certifies: steps back to r_w < r* until the dual value D(lam; r_w), evaluated with the
   17-point Gauss-Kronrod rule, minus twice its difference to the embedded 8-point Gauss rule
   and a closed-form error floor, exceeds 1/2. Weak duality (D <= p for every lam >= 0) makes
   r_w a certified radius whether or not the iteration converged. Only such an r_w, or the
   strip radius, is ever returned.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._integrals import (
    N_INTEGRALS,
    OK,
    certified_dual_into,
    integrals,
    integrals_guided,
    residuals,
)
from ._interval import certified_strip_radius
from ._normal import expm1_minus_x, norm_isf, phi
from ._quadrature import N_GUIDE
from ._warm_start import warm_start

# Public status codes (documented in directional.py).
CONVERGED = 0
ABSTAIN = 1
PROJECTED = 2  # no longer produced (kept for saved tables and callers that name it)
FALLBACK = 3
INCONSISTENT = 4
LOWERED = 5  # verify=True: the radius was lowered until ball arithmetic proved it
INVALID = -1

# Below this m2 / M(q) the m2 = 0 radius is returned: R is non-decreasing in m2 (sound) and
# R(q, m1, m2) - R(q, m1, 0) = O(m2^2) (accurate; measured in tests/solver/test_radius.py).
B_TINY = 1e-6
# A converged solution within this relative distance of the strip radius counts as exact when
# the witness cannot beat the strip radius (m2 so small that the gain is below the step-back).
STRIP_EXACT = 1e-7
# From a warm start with m2 / (M(q) sqrt(1 - max(a, 0)^2)) >= STRIP_SKIP_BETA the strip radius is
# not computed (see solve_one).
STRIP_SKIP_BETA = 0.05
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
# step was not evaluated, and the witness's own integrals must confirm it (_certify).
SKIPPED = 1.0
UNCHECKED = 2.0
# The first step from a warm start is taken unevaluated when the scaled residual is below
# FIRST_SKIP_TOL and the step (relative in r, absolute in log l2) below FIRST_SKIP_STEP (its
# error, quadratic in the step, then stays near the witness's step back) ...
FIRST_SKIP_TOL = 1e-3
FIRST_SKIP_STEP = 1e-3
# ... and accepted when the witness integrals at (lam, r_w) put R at most VERIFY_R * max(1, r_w)
# above r_w, with the residuals (scaled) below VERIFY_F so that the quadratic model holds;
# r_w is moved up at most MAX_FORWARD times towards R.
VERIFY_F = 1e-5
VERIFY_R = 1e-8
MAX_FORWARD = 1
# The witness's first step back from r*, relative (see _certify).
STEP_BACK = 3e-9
# Residuals below this are accepted when rounding stops the line search (tiny radii).
NOISE_TOL = 1e-8
# Newton budgets: a short pass over both active sets, then a long one from where each stopped.
NEWTON_BUDGETS = (12, 60)
# From a table warm start (_warm_start.py) Newton either converges quickly or the strip start
# takes over.
WARM_BUDGETS = (8,)
MAX_CONTINUATION = 60
# A witnessed radius more than this (relative to max(1, r*)) below Newton's solution r* did not
# meet the 1e-6 accuracy goal (the witness's error bounds forced it down: multipliers of 1e14
# and more near the edge of the feasible disk): it is still certified, but reported FALLBACK.
ACCURACY = 5e-7
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


@njit(cache=True)
def _merit(theta, q, m1, m2, scale, l1_zero, integ, jac, res, want_jac):
    """Scaled squared residual norm at theta (inf if the integrals fail)."""
    if not (theta[2] > 0.0 and theta[3] > 0.0):
        return math.inf
    guide = integ[GUIDE : GUIDE + N_GUIDE]
    st = integrals_guided(theta[0], theta[1], theta[2], theta[3], 0, want_jac, integ, jac, guide)
    if st != OK:
        return math.inf
    residuals(integ, q, m1, m2, res)
    m = 0.0
    for i in range(4):
        if l1_zero and i == 1:
            continue
        t = res[i] / scale[i]
        m += t * t
    return m if math.isfinite(m) else math.inf


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
        # Converged on the residuals (never on the step size alone).
        worst = 0.0
        for i in range(4):
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
def _strip_start(q, m1, m2, w2, w1, r0, theta):
    """theta = (k0, k1, l2, r) from the strip solution, l2 from the transition-band widths."""
    v1 = r0 * w1 - 0.5 * r0 * r0
    e1 = expm1_minus_x(v1)
    if w2 == -math.inf:
        k1 = -r0
        k0 = e1 + r0 * w1
        l1 = 0.0
    else:
        v2 = r0 * w2 - 0.5 * r0 * r0
        k1 = (e1 - expm1_minus_x(v2)) / (w1 - w2)
        k0 = e1 - k1 * w1
        l1 = k1 + r0
    # E phi(u) ~ sum_i phi(w_i) l2 / |s'(w_i)| for small l2.
    dens = phi(w1) / max(abs(l1 - r0 * math.exp(v1)), 1e-300)
    if w2 != -math.inf:
        dens += phi(w2) / max(abs(l1 - r0 * math.exp(r0 * w2 - 0.5 * r0 * r0)), 1e-300)
    theta[0] = k0
    theta[1] = k1
    theta[2] = m2 / dens if dens > 0.0 else m2
    theta[3] = r0


@njit(cache=True)
def _m1_slack(integ, q, m1, m2, scale):
    """With l1 = 0 the m1 constraint must hold as an inequality: E[X Phi(u)] >= m1."""
    res = np.empty(4)
    residuals(integ, q, m1, m2, res)
    return res[1] >= -10.0 * NEWTON_TOL * scale[1]


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
    iterates[0, :] = theta
    iterates[1, :] = theta
    trial = np.empty(4)
    total = 0
    for budget in budgets:
        for attempt in range(2):
            l1_zero = zero_first if attempt == 0 else not zero_first
            trial[:] = iterates[attempt]
            ok, nit = _newton(trial, q, m1, m2, scale, l1_zero, budget, integ, first_skip)
            total += nit
            iterates[attempt, :] = trial
            if not ok:
                continue
            if l1_zero:
                if _m1_slack(integ, q, m1, m2, scale):
                    theta[:] = trial
                    return True, True, total
                continue
            if trial[1] + trial[3] >= 0.0:
                theta[:] = trial
                return True, False, total
            # Equality solution has c1 < 0: fix l1 = 0 from there.
            ok, nit = _newton(trial, q, m1, m2, scale, True, budget, integ, first_skip)
            total += nit
            if ok and _m1_slack(integ, q, m1, m2, scale):
                theta[:] = trial
                return True, True, total
    return False, False, total


@njit(cache=True)
def _continuation(theta, q, m1, m2, scale, w2, w1, r0, integ):
    """Follow m2' from ~0 to m2 from the strip solution; returns (converged, l1_zero, iters)."""
    t = 0.125
    t_ok = 0.0
    good = np.empty(4)
    have_good = False
    total = 0
    dt = 0.125
    l1_zero = False
    for _ in range(MAX_CONTINUATION):
        trial = np.empty(4)
        if have_good:
            for j in range(4):
                trial[j] = good[j]
            trial[2] = good[2] * (t / t_ok)
        else:
            _strip_start(q, m1, m2 * t, w2, w1, r0, trial)
        ok, lz, nit = _solve_modes(trial, q, m1, m2 * t, scale, integ, NEWTON_BUDGETS, False)
        total += nit
        if ok:
            for j in range(4):
                good[j] = trial[j]
            have_good = True
            l1_zero = lz
            t_ok = t
            if t >= 1.0:
                for j in range(4):
                    theta[j] = good[j]
                return True, l1_zero, total
            dt = min(2.0 * dt, 1.0)
            t = min(1.0, t_ok + dt)
        else:
            dt *= 0.25
            if dt < 1e-4:
                break
            t = t_ok + dt if have_good else dt
    return False, l1_zero, total


# Distance from the origin (normalised, rho = hypot(max(a, 0), b)) beyond which the cold solve
# follows the ray from rho = RAY_RHO instead of starting at the strip solution.
RAY_RHO = 0.99
# q - 1/2 below which the strip start is tried before the ray (z = Phi^{-1}(q) < 1e-8).
RAY_MIN_Q = 4e-9


@njit(cache=True)
def _ray_continuation(theta, q, a, b, big_m, scale, integ):
    """Approach a point near the feasible boundary along its ray; returns (ok, l1_zero, iters).

    Near the boundary (rho = hypot(max(a, 0), b) -> 1) the multipliers grow like 1 / (1 - rho)
    while c0 = l0 / l2 and c1 = l1 / l2 settle, so the path in m2 from the strip solution is
    long. Instead solve at rho = RAY_RHO and divide 1 - rho by 10 per step, scaling (k0, k1, l2)
    by the same factor as the predictor.
    """
    rho_t = math.hypot(max(a, 0.0), b)
    gap_t = 1.0 - rho_t
    gap = 1.0 - RAY_RHO
    total = 0
    ok = False
    l1_zero = False
    first = True
    while True:
        if gap <= gap_t:
            gap = gap_t
        f = (1.0 - gap) / rho_t
        ak = a * f if a > 0.0 else a
        m1 = ak * big_m if ak > -1.0 else -big_m
        m2 = b * f * big_m
        if first:
            r_strip, w2, w1 = certified_strip_radius(q, m1)
            r0 = max(r_strip, 1e-8)
            _strip_start(q, m1, m2, w2, w1, r0, theta)
            ok, l1_zero, nit = _solve_modes(theta, q, m1, m2, scale, integ, NEWTON_BUDGETS, False)
            total += nit
            if not ok:
                ok, l1_zero, nit = _continuation(theta, q, m1, m2, scale, w2, w1, r0, integ)
                total += nit
            first = False
        else:
            ok, l1_zero, nit = _solve_modes(theta, q, m1, m2, scale, integ, NEWTON_BUDGETS, False)
            total += nit
        if not ok or gap == gap_t:
            return ok, l1_zero, total
        new_gap = max(gap * 0.1, gap_t)
        grow = gap / new_gap
        theta[0] *= grow
        theta[2] *= grow
        if not l1_zero:
            theta[1] *= grow
        gap = new_gap


@njit(cache=True)
def _certify(theta, q, m1, m2, l1_zero, integ, scale):
    """Step back from r* until the dual witness holds; return (r_w, checked).

    r_w is 0.0 if no witness is found. ``integ`` holds the solve's own integrals at theta, or at
    the iterate before the final Newton step (``integ[STALE]``). They only set the step sizes:
    the witness evaluates its own. ``checked`` is False only for an UNCHECKED step whose
    witness integrals show theta off the solution (or no witness): r_w is then still certified,
    but may lie further below R than the accuracy goal allows.
    """
    k0, k1, l2, rs = theta[0], theta[1], theta[2], theta[3]
    l0 = k0 + 1.0 - 0.5 * rs * rs
    l1 = 0.0 if l1_zero else k1 + rs
    unchecked = integ[STALE] == UNCHECKED
    if l0 < 0.0 or l1 < 0.0 or not (l2 > 0.0):
        return 0.0, not unchecked
    res = np.empty(4)
    residuals(integ, q, m1, m2, res)
    slope = integ[4]  # -dD/dr at fixed lam (envelope theorem)
    if not (slope > 0.0):
        return 0.0, not unchecked
    # D(lam; r*) with the solve's own rule; 1/2 - D is what Newton left over. The extra relative
    # step of 3e-9 covers the quadrature error at the first try in 92% of cases (2e-10: 79%; each
    # retry costs two evaluations), and costs far less than the 1e-6 accuracy budget.
    d_star = (res[3] + 0.5) - l0 * res[0] - l1 * res[1] - l2 * res[2]
    if integ[STALE] != 0.0:
        d_star = 0.5  # the final step zeroed the linearised residuals
    delta = STEP_BACK * rs + 1e-15 + max(0.0, 0.5 - d_star) / slope
    wit = np.empty(N_INTEGRALS)
    best = 0.0
    forward = 0
    for _ in range(8):
        rw = rs - delta
        if rw <= 0.0:
            break
        # Same multipliers lam = (l0, l1, l2) at r_w.
        kw0 = l0 - 1.0 + 0.5 * rw * rw
        kw1 = l1 - rw
        lower = certified_dual_into(kw0, kw1, l2, rw, q, m1, m2, wit, integ[GUIDE:])
        if not math.isfinite(lower):
            break
        if lower > 0.5:
            if not unchecked:
                return rw, True
            best = max(best, rw)
            step, lam_gap = _gap_to_solution(
                wit, q, m1, m2, l0, l1, l2, slope, l1_zero, scale, integ
            )
            # r_w must sit below R_lam by the witness's own error bound (D - lower) anyway;
            # beyond that it may lose VERIFY_R, as a converged solve's first step-back does.
            tol = VERIFY_R * max(1.0, rw)
            margin = (lower - 0.5) / slope  # how far r_w could move up and still be witnessed
            if lam_gap <= tol and (step + lam_gap <= tol or margin <= tol):
                return rw, True
            if not (lam_gap <= tol) or forward == MAX_FORWARD:
                return best, False
            # lam is near its maximiser but r_w is short of R: D(lam; r) is linear in r to
            # well within the goal over such a step, so step forward to R less the margin.
            forward += 1
            delta -= margin - STEP_BACK * rs
            continue
        if forward > 0:
            return best, False
        grow = 2.0 * (0.5 - lower) / slope + delta
        if unchecked:
            # The unchecked step overshot R_lam. With lam near its maximiser, aim at R_lam less
            # 1.5 error bounds (D's is d - lower) and the usual margin, instead of doubling.
            step, lam_gap = _gap_to_solution(
                wit, q, m1, m2, l0, l1, l2, slope, l1_zero, scale, integ
            )
            if step < 0.0 and lam_gap <= VERIFY_R * max(1.0, rw):
                error = 0.5 + step * slope - lower  # D(lam; r_w) - lower
                grow = -step + 1.5 * error / slope + STEP_BACK * rs
        delta += grow
    return best, not unchecked


@njit(cache=True)
def _gap_to_solution(wit, q, m1, m2, l0, l1, l2, slope, l1_zero, scale, integ):
    """From the witness integrals at (lam, r_w): (R_lam - r_w, R - R_lam), or (inf, inf).

    R_lam, where D(lam; r) = 1/2, is r_w + (D(lam; r_w) - 1/2) / slope to first order. The
    residuals F of (4), (5a), (5b) at (lam, r_w) are minus the gradient of the concave D in lam,
    so lam falls short of the maximiser by about F^T J^-1 F / 2 in D (J = dF/dlam, stored by
    _newton), which moves R by that over the slope. (inf, inf) when the residuals are too large
    for this quadratic model or J is unusable.
    """
    res = np.empty(4)
    residuals(wit, q, m1, m2, res)
    for i in range(3):
        if l1_zero and i == 1:
            # (5b) is slack at the solution: E[X Phi(u)] >= m1, up to the tolerance.
            if res[1] < -VERIFY_F * scale[1]:
                return math.inf, math.inf
        elif not (abs(res[i]) <= VERIFY_F * scale[i]):
            return math.inf, math.inf
    idx = np.empty(3, dtype=np.int64)  # (4), (5b), (5a): the equations in lam
    n = _active_rows(l1_zero, idx)
    a = np.empty((4, 4))
    g = np.empty(4)
    for ii in range(n):
        g[ii] = res[idx[ii]]
        for jj in range(n):
            a[ii, jj] = integ[JAC_LAM + 3 * idx[ii] + idx[jj]]
    f = g.copy()
    if not _solve_linear(a, g, n):
        return math.inf, math.inf
    lam_gap = 0.0
    for ii in range(n):
        lam_gap += 0.5 * f[ii] * g[ii]
    if not (lam_gap >= 0.0):
        return math.inf, math.inf
    d = (res[3] + 0.5) - l0 * res[0] - l1 * res[1] - l2 * res[2]
    return (d - 0.5) / slope, lam_gap / slope


@njit(cache=True)
def _solve_cold(theta, q, m1, m2, a, b, big_m, scale, integ, w2, w1, r_strip):
    """Newton from the strip start and the continuation paths; returns (ok, l1_zero, nit).

    Near the boundary (rho = hypot(max(a, 0), b) > RAY_RHO) the ray continuation replaces the
    path in m2, and goes first where q - 1/2 is not tiny: the strip start is far from the
    solution there (near a = 1, b = 0.01 the m2 path spent 3,000+ Newton iterations and
    failed, the ray took 30). Within RAY_MIN_Q of q = 1/2 the strip start converges more often
    than the ray and at a third of its cost (measured on 932 adversarial points), so it goes
    first. The path in m2 has not been seen to succeed where the ray failed.
    """
    nit = 0
    near_edge = math.hypot(max(a, 0.0), b) > RAY_RHO
    ray_first = near_edge and q - 0.5 >= RAY_MIN_Q
    if ray_first:
        ok, l1_zero, nit = _ray_continuation(theta, q, a, b, big_m, scale, integ)
        if ok:
            return ok, l1_zero, nit
    r0 = max(r_strip, 1e-8)
    _strip_start(q, m1, m2, w2, w1, r0, theta)
    ok, l1_zero, n2 = _solve_modes(theta, q, m1, m2, scale, integ, NEWTON_BUDGETS, False)
    nit += n2
    if not ok and near_edge and not ray_first:
        ok, l1_zero, n2 = _ray_continuation(theta, q, a, b, big_m, scale, integ)
        nit += n2
    elif not ok and not near_edge:
        ok, l1_zero, n2 = _continuation(theta, q, m1, m2, scale, w2, w1, r0, integ)
        nit += n2
    return ok, l1_zero, nit


# Relative margin by which m1 = -M(q) is pushed below -M(q) when m1 is clipped there: the
# kernel's M(q) may be a few ulps off, and only a constraint at or below the true -M(q) is
# implied by E f >= q (docs/math.md §3), whatever the caller's m1 below it was.
CLIP_MARGIN = 1e-13


@njit(cache=True)
def effective_inputs(q, a, b, m1_caller, m2_caller):
    """(z, M(q), m1, m2): the bounds the witness certifies, never above the caller's.

    ``a``, ``b`` are the caller's bounds normalised by M(q) in Python (SciPy's M, which may
    differ from this kernel's by a few ulps); m1 = a M(q) could then land above the caller's m1.
    The radius grows with m1 and m2, so each is rounded towards the caller's own value (the
    minimum of both), and a clipped m1 is pushed below -M(q) by CLIP_MARGIN. ``q`` is used as
    given (1 - q is exact for q >= 1/2).
    """
    z = norm_isf(1.0 - q)
    big_m = phi(z)
    if a > -1.0:
        m1 = min(a * big_m, m1_caller)
    else:
        m1 = -big_m * (1.0 + CLIP_MARGIN)
    m2 = min(b * big_m, m2_caller)
    return z, big_m, m1, m2


@njit(cache=True)
def _setup(q, a, b, m1_caller, m2_caller, scale):
    """(z, M(q), m1, m2) for normalised input (see effective_inputs), and the residual scales."""
    z, big_m, m1, m2 = effective_inputs(q, a, b, m1_caller, m2_caller)
    scale[0] = 1.0 - q
    scale[1] = big_m
    scale[2] = big_m
    scale[3] = 1.0
    return z, big_m, m1, m2


@njit(cache=True, inline="always")
def _accuracy_status(r_star, r):
    """CONVERGED if the witnessed r is within ACCURACY of Newton's r_star, else FALLBACK."""
    return CONVERGED if r_star - r <= ACCURACY * max(1.0, r_star) else FALLBACK


@njit(cache=True, inline="always")
def _set_lam(theta, l1_zero, lam):
    """lam = (l0, l1, l2) of theta = (k0, k1, l2, r*): the witness's multipliers (_certify)."""
    rs = theta[3]
    lam[0] = theta[0] + 1.0 - 0.5 * rs * rs
    lam[1] = 0.0 if l1_zero else theta[1] + rs
    lam[2] = theta[2]


@njit(cache=True)
def solve_one(q, a, b, m1_caller, m2_caller, tables, lam):
    """Radius for q in (1/2, 1) and normalised a = m1/M(q) in [-1, 1], b = m2/M(q) >= 0.

    ``m1_caller``, ``m2_caller`` are the caller's own bounds: the witness certifies bounds no
    larger than them (``effective_inputs``).

    Input must already be validated and projected onto the feasible set
    max(a, 0)^2 + b^2 <= 1. ``tables`` are the warm-start tables (``_warm_start.load_tables``;
    empty ones disable warm starts). Returns (radius, status, iterations).

    ``lam`` (length 3) receives the multipliers (l0, l1, l2) whose dual witness certified the
    returned radius, or NaN where the radius is the strip radius (its closed-form witness has
    l2 = 0 and is rebuilt from ``_interval.strip``) or needs no witness. They let anyone
    re-check the radius (``hocert_solver.verify_radius``, ``RadiusTable.verify``).
    """
    lam[:] = math.nan
    scale = np.empty(4)
    z, big_m, m1, m2 = _setup(q, a, b, m1_caller, m2_caller, scale)
    if b <= B_TINY or a >= 1.0:
        r_strip, w2, w1 = certified_strip_radius(q, m1)
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
    unchecked_rw = 0.0  # certified, but not confirmed accurate (see _certify)
    lam_rw = np.full(3, math.nan)  # the multipliers of rw ...
    lam_unchecked = np.full(3, math.nan)  # ... and of unchecked_rw
    if warm_start(tables, z, a, b, theta):
        ok, l1_zero, nit = _solve_modes(theta, q, m1, m2, scale, integ, WARM_BUDGETS, True)
        if ok and integ[STALE] == UNCHECKED:
            rw, checked = _certify(theta, q, m1, m2, l1_zero, integ, scale)
            _set_lam(theta, l1_zero, lam_rw)
            if not checked:
                # Go on from the unchecked iterate, evaluating every step this time.
                unchecked_rw = rw
                lam_unchecked[:] = lam_rw
                rw = -1.0
                ok, l1_zero, n2 = _solve_modes(theta, q, m1, m2, scale, integ, WARM_BUDGETS, False)
                nit += n2
        if ok and b >= STRIP_SKIP_BETA * math.sqrt(1.0 - max(a, 0.0) ** 2):
            # Far enough from m2 = 0 that R exceeds the strip radius by far more than any
            # witness step-back (measured: >= 7e-5 relative over the whole table domain at
            # beta = 0.05, against <= 1e-7), so the strip radius need not be computed.
            if rw < 0.0:
                rw, _ = _certify(theta, q, m1, m2, l1_zero, integ, scale)
                _set_lam(theta, l1_zero, lam_rw)
            if rw > 0.0:
                lam[:] = lam_rw if rw >= unchecked_rw else lam_unchecked
                r_out = max(rw, unchecked_rw)
                return r_out, _accuracy_status(theta[3], r_out), nit
    r_strip, w2, w1 = certified_strip_radius(q, m1)
    if r_strip == math.inf:
        return math.inf, CONVERGED, nit
    if not ok:
        ok, l1_zero, n2 = _solve_cold(theta, q, m1, m2, a, b, big_m, scale, integ, w2, w1, r_strip)
        nit += n2
    if ok:
        if rw < 0.0:  # (a witness that already failed on this theta would fail again)
            rw, _ = _certify(theta, q, m1, m2, l1_zero, integ, scale)
            _set_lam(theta, l1_zero, lam_rw)
        if rw > r_strip:
            lam[:] = lam_rw if rw >= unchecked_rw else lam_unchecked
            r_out = max(rw, unchecked_rw)
            return r_out, _accuracy_status(theta[3], r_out), nit
        if theta[3] <= r_strip + STRIP_EXACT * max(1.0, r_strip):
            # The first-order gain is about the size of the witness step-back: the strip
            # radius is then within STRIP_EXACT of the solution, well inside the 1e-6 goal.
            if unchecked_rw > r_strip:
                lam[:] = lam_unchecked
            return max(r_strip, unchecked_rw), CONVERGED, nit
    # Every radius here is certified, so the larger one is too.
    if unchecked_rw > r_strip:
        lam[:] = lam_unchecked
    return max(r_strip, unchecked_rw, 0.0), FALLBACK, nit


@njit(cache=True, parallel=True)
def solve_thetas(q, a, b, theta, ok):
    """The cold solver's solution theta = (k0, k1, l2, r) per point (builds the warm starts).

    Points outside the Newton regime (b <= B_TINY, the boundary) or not converged get ok False.
    """
    for i in prange(q.shape[0]):
        scale = np.empty(4)
        _z, big_m, m1, m2 = _setup(q[i], a[i], b[i], math.inf, math.inf, scale)
        r_strip, w2, w1 = certified_strip_radius(q[i], m1)
        ok[i] = False
        theta[i, :] = math.nan
        if r_strip == math.inf or b[i] <= B_TINY or max(a[i], 0.0) ** 2 + b[i] ** 2 >= 1.0:
            continue
        t = np.empty(4)
        integ = new_scratch()
        good, _, _ = _solve_cold(t, q[i], m1, m2, a[i], b[i], big_m, scale, integ, w2, w1, r_strip)
        if good:
            ok[i] = True
            theta[i, :] = t


@njit(cache=True, parallel=True)
def slack_threshold(q, theta, ok, a_star):
    """a* = E[X Phi(u)] / M(q) at l1 = 0 solutions theta (builds the warm starts).

    For a = m1 / M(q) <= a* the m1 constraint is slack and the l1 = 0 solution is the answer;
    points with ok False are left alone.
    """
    for i in prange(q.shape[0]):
        if not ok[i]:
            continue
        integ = np.empty(N_INTEGRALS)
        jac = np.empty((4, 4))
        t = theta[i]
        if integrals(t[0], t[1], t[2], t[3], 0, False, integ, jac) == OK:
            a_star[i] = -integ[1] / phi(norm_isf(1.0 - q[i]))


@njit(cache=True, parallel=True)
def solve_many(q, a, b, m1, m2, tables, radius, status, nit, lam):
    """solve_one over flat arrays in parallel; every element gets its own status.

    ``m1``, ``m2`` are the caller's bounds behind ``a``, ``b`` (see effective_inputs).

    ``lam`` (shape (n, 3)) receives each radius's witness multipliers (see solve_one).
    """
    n = q.shape[0]
    for i in prange(n):
        r, st, it = solve_one(q[i], a[i], b[i], m1[i], m2[i], tables, lam[i])
        radius[i] = r
        status[i] = st
        nit[i] = it
