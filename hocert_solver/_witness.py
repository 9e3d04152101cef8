"""The dual witness, the only code that turns multipliers into a radius (docs/math.md §4-5).

By weak duality D(lam; r) <= p(r) for every lam >= 0, so any lam >= 0 with D(lam; r_w) > 1/2
proves that r_w is certified, whether or not Newton converged. ``certify`` steps back from
Newton's r* to r_w < r* until D(lam; r_w) - 1/2, evaluated with the 17-point Gauss-Kronrod rule,
minus twice its difference to the embedded 8-point Gauss rule and a closed-form error floor
(``_dual.certified_excess_into``), is positive. The excess over 1/2 is computed as such, so
that it keeps its digits near q = 1/2. ``certify_strip`` is the entry to the closed form of the
m2 = 0 strip (``_strip.certified_strip_radius``).

Both entries take the caller's own bounds: q, the normalised a = m1 / M(q), b = m2 / M(q) and
the absolute m1, m2 behind them. They derive the bounds they certify themselves
(``effective_inputs``: rounded towards the caller's, never above), so no solver code can hand
the witness more favourable ones. The solver's scratch array (``_newton.new_scratch``) only
sets the step sizes and checks an unchecked Newton step: the witness evaluates its own
integrals.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._dual import certified_excess_into, dual_excess
from ._integrals import N_INTEGRALS, residuals
from ._newton import GUIDE, JAC_LAM, SKIPPED, STALE, UNCHECKED, _active_rows, _solve_linear
from ._normal import norm_isf, phi
from ._status import ACCURACY
from ._strip import certified_strip_radius

# An UNCHECKED first Newton step (_newton.FIRST_SKIP_TOL) is accepted when the witness integrals
# at (lam, r_w) put R at most VERIFY_R * max(1, r_w) above r_w, with the residuals (scaled) below
# VERIFY_F so that the quadratic model holds. Whenever the witness holds with a margin of more
# than VERIFY_R * max(1, r_w) (in r), r_w is moved up towards R_lam (where D(lam; .) = 1/2) with
# at most MAX_FORWARD more evaluations (_move_up).
VERIFY_F = 1e-5
VERIFY_R = 1e-8
MAX_FORWARD = 4
# The witness's first step back from r*, relative (see _certify).
STEP_BACK = 3e-9
# Moving r_w up, the quadrature's error bound is refined to this share of the slack the other
# bounds leave (the first witness refines it only until it certifies r_w: share 1).
TIGHT_SHARE = 0.1
# The largest move up (relative): _move_up corrects r_w by Newton's leftovers, 1e-5 near the
# edge of the disk; an aim beyond this comes from a slope or multipliers far off.
MOVE_UP_MAX = 0.01

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
def certify(q, a, b, m1_caller, m2_caller, theta, l1_zero, integ, scale, lam):
    """The witnessed radius r_w <= r* of Newton's theta = (k0, k1, l2, r*); returns (r_w, checked).

    ``q``, ``a``, ``b``, ``m1_caller``, ``m2_caller`` are the caller's inputs (see
    ``effective_inputs``); the witness certifies the bounds it derives from them. r_w is 0.0 if
    no witness is found; ``checked`` as in ``_certify``. ``lam`` (length 3) receives the
    multipliers (l0, l1, l2) of the witness. ``integ`` is the solve's scratch array and
    ``scale`` the residual scales (1 - q, M(q), M(q), 1): they only steer the step sizes and
    the check of an unchecked step.
    """
    _z, _big_m, m1, m2 = effective_inputs(q, a, b, m1_caller, m2_caller)
    rw, checked = _certify(theta, q, m1, m2, l1_zero, integ, scale)
    _set_lam(theta, l1_zero, lam)
    return rw, checked


@njit(cache=True)
def certify_strip(q, a, b, m1_caller, m2_caller):
    """(radius, w2, w1): the witnessed m2 = 0 radius for the caller's bounds (``_strip``).

    A certified lower bound for every m2 >= 0 (R is non-decreasing in m2); +inf when
    m1 >= M(q), 0.0 if no witness is found.
    """
    _z, _big_m, m1, _m2 = effective_inputs(q, a, b, m1_caller, m2_caller)
    return certified_strip_radius(q, m1)


@njit(cache=True, inline="always")
def _set_lam(theta, l1_zero, lam):
    """lam = (l0, l1, l2) of theta = (k0, k1, l2, r*): the witness's multipliers (_certify)."""
    rs = theta[3]
    lam[0] = theta[0] + 1.0 - 0.5 * rs * rs
    lam[1] = 0.0 if l1_zero else theta[1] + rs
    lam[2] = theta[2]


@njit(cache=True)
def _certify(theta, q, m1, m2, l1_zero, integ, scale):
    """Step back from r* until the dual witness holds; return (r_w, checked).

    r_w is 0.0 if no witness is found. ``integ`` holds the solve's own integrals at theta, or at
    the iterate before the final Newton step (``integ[STALE]``). They only set the step sizes:
    the witness evaluates its own. ``checked`` is False for an UNCHECKED step whose witness
    integrals show theta off the solution (or no witness), and for a SKIPPED last step whose
    witness integrals put R more than ACCURACY above r_w: r_w is then still certified, but may
    lie further below R than the accuracy goal allows.

    Where the witness holds by more than VERIFY_R (in r) at the first r_w, r_w is moved up
    towards R_lam, where D(lam; .) crosses 1/2 (``_move_up``): near the edge of the feasible
    disk the multipliers reach 1e7 and turn residuals that Newton counts as converged into a
    dual excess worth 1e-5 of r, so that r* (and an r_w stepped back from it) can lie that far
    below R_lam <= R. R_lam depends on lam only, not on how far Newton got, so two neighbouring
    inputs get radii within VERIFY_R of their R_lam (monotone to that, docs/math.md §5 step 4).
    """
    k0, k1, l2, rs = theta[0], theta[1], theta[2], theta[3]
    e0 = k0 - 0.5 * rs * rs  # l0 - 1, kept apart from the 1 (q -> 1/2: l0 -> 1)
    l1 = 0.0 if l1_zero else k1 + rs
    unchecked = integ[STALE] == UNCHECKED
    if e0 < -1.0 or l1 < 0.0 or not (l2 > 0.0):
        return 0.0, not unchecked
    res = np.empty(4)
    residuals(integ, q, m1, m2, res)
    slope = integ[4]  # -dD/dr at fixed lam (envelope theorem)
    if not (slope > 0.0):
        return 0.0, not unchecked
    # D(lam; r*) - 1/2 with the solve's own rule; its negative is what Newton left over. The
    # extra relative step of 3e-9 covers the quadrature error at the first try in 92% of cases
    # (2e-10: 79%; each retry costs two evaluations), and costs far less than the 1e-6 accuracy
    # budget. (Relative only: radii of 1e-15 and below are resolved near q = 1/2.)
    excess_star = dual_excess(res, e0, l1, l2)
    if integ[STALE] != 0.0:
        excess_star = 0.0  # the final step zeroed the linearised residuals
    delta = STEP_BACK * rs + 1e-300 + max(0.0, -excess_star) / slope
    wit = np.empty(N_INTEGRALS)
    for _ in range(8):
        rw = rs - delta
        if rw <= 0.0:
            break
        # Same multipliers lam = (l0, l1, l2) at r_w (k0 = e0 + r^2/2, k1 = l1 - r).
        kw0 = e0 + 0.5 * rw * rw
        kw1 = -rw if l1_zero else l1 - rw
        lower = certified_excess_into(kw0, kw1, l2, rw, q, m1, m2, wit, integ[GUIDE:], 1.0)
        if not math.isfinite(lower):
            break
        if lower > 0.0:
            tol = VERIFY_R * max(1.0, rw)
            # How far r_w could move up: ``margin`` certified, ``headroom`` before the error
            # bounds (R_lam - r_w to first order). The quadrature's bound is refined only until
            # it certifies r_w, so the margin can be far below the headroom; moving up is
            # decided on the headroom, and _move_up refines the bound where it steps.
            margin = lower / slope
            residuals(wit, q, m1, m2, res)
            headroom = dual_excess(res, e0, l1, l2) / slope
            if not unchecked:
                checked = True
                step, lam_gap = 0.0, 0.0
                if integ[STALE] == SKIPPED:
                    # Newton's last step was predicted, not evaluated: near-singular systems
                    # (the edge of the disk, multipliers ~1e7) can fake the quadratic rate, and
                    # r* then is no solution (seen: 1.3% low). Where the quadratic model of
                    # _gap_to_solution holds, it must put R within the accuracy goal of r_w;
                    # where it does not (residuals too large for it, as at tiny radii, whose
                    # multipliers are tiny too), the prediction stands, as it did before.
                    step, lam_gap = _gap_to_solution(
                        wit, q, m1, m2, e0, l1, l2, slope, l1_zero, scale, integ
                    )
                if headroom > tol:
                    r_up, margin = _move_up(
                        q, m1, m2, e0, l1, l2, l1_zero, rs, rw, lower, headroom, slope, wit, integ
                    )
                    step -= r_up - rw  # (R_lam - r_w, the first-order estimate)
                    rw = r_up
                if integ[STALE] == SKIPPED:
                    checked = not (
                        max(step, margin) + lam_gap > ACCURACY * max(1.0, rw) and step < math.inf
                    )
                return rw, checked
            step, lam_gap = _gap_to_solution(
                wit, q, m1, m2, e0, l1, l2, slope, l1_zero, scale, integ
            )
            # r_w must sit below R_lam by the witness's own error bound (D - lower) anyway;
            # beyond that it may lose VERIFY_R, as a converged solve's first step-back does.
            if lam_gap <= tol and step + lam_gap <= tol:
                return rw, True
            if not (lam_gap <= tol):
                return rw, False
            # lam is near its maximiser but r_w is short of R: move r_w up towards R_lam.
            r_up, margin = _move_up(
                q, m1, m2, e0, l1, l2, l1_zero, rs, rw, lower, step, slope, wit, integ
            )
            return r_up, margin <= VERIFY_R * max(1.0, r_up)
        grow = 2.0 * -lower / slope + delta
        if unchecked:
            # The unchecked step overshot R_lam. With lam near its maximiser, aim at R_lam less
            # 1.5 error bounds (D's is d - lower) and the usual margin, instead of doubling.
            step, lam_gap = _gap_to_solution(
                wit, q, m1, m2, e0, l1, l2, slope, l1_zero, scale, integ
            )
            if step < 0.0 and lam_gap <= VERIFY_R * max(1.0, rw):
                error = step * slope - lower  # D(lam; r_w) - 1/2 - lower
                grow = -step + 1.5 * error / slope + STEP_BACK * rs
        delta += grow
    return 0.0, not unchecked


@njit(cache=True)
def _move_up(q, m1, m2, e0, l1, l2, l1_zero, rs, rw, lower, headroom, slope, wit, integ):
    """(r, margin): the largest witnessed r >= r_w found towards R_lam, and its margin (in r).

    r_w is witnessed by lam with the certified excess ``lower`` > 0 (D(lam; r_w) - 1/2 less its
    error bounds, the quadrature's refined only until it is positive) and ``headroom`` (in r:
    D(lam; r_w) - 1/2 over the slope, before the bounds). Aim at r_w + headroom less STEP_BACK
    r*, then at the zero of the certified excess, which falls at D's own rate (the secant of D
    between the points evaluated), from the last witnessed r (or, while that one's bound is
    the lazy first one, from the first r not witnessed), halfway between the two if the aim
    falls outside; at most MAX_FORWARD evaluations, each with the quadrature's bound refined to
    TIGHT_SHARE of its slack; stop once the margin is below VERIFY_R. Every r returned is
    witnessed by the same lam (certified).
    """
    lo_r, lo_v = rw, lower  # witnessed (lo_v refined only until it held, until lo_tight)
    lo_d = headroom * slope  # D(lam; lo_r) - 1/2 before the bounds: the secant's measure
    lo_tight = False
    hi_r, hi_v = math.inf, 0.0  # not witnessed (hi_v <= 0), once found
    s = slope
    back = STEP_BACK * rs
    res = np.empty(4)
    n = 0
    while True:
        # Where the certified excess crosses 0, from the nearest point with a refined bound;
        # it falls at D's own rate s (the bounds change little). The first step, from a bound
        # refined only until it held, aims at D's zero instead.
        if n == 0:
            aim = lo_r + headroom
        elif lo_tight:
            aim = lo_r + lo_v / s
        else:
            aim = hi_r + hi_v / s  # (hi_v <= 0: the deficit where the first step failed)
        # (a move of more than 1% means a slope or multipliers far off: not a correction)
        gap = min(aim - lo_r, MOVE_UP_MAX * lo_r)
        aim = lo_r + gap
        if gap <= VERIFY_R * max(1.0, lo_r) or n == MAX_FORWARD:
            return lo_r, gap
        t = aim - back
        if not (lo_r < t < hi_r):
            if hi_r == math.inf:
                return lo_r, gap  # (the aim, less the step back, is not above lo_r)
            t = 0.5 * (lo_r + hi_r)
        if not (t > lo_r):
            return lo_r, gap
        kw0 = e0 + 0.5 * t * t
        kw1 = -t if l1_zero else l1 - t
        v = certified_excess_into(kw0, kw1, l2, t, q, m1, m2, wit, integ[GUIDE:], TIGHT_SHARE)
        if not math.isfinite(v):
            return lo_r, gap
        residuals(wit, q, m1, m2, res)
        d = dual_excess(res, e0, l1, l2)
        secant = (lo_d - d) / (t - lo_r)  # (D's own slope: the bounds change little)
        if secant > 0.0:
            s = secant
        if v > 0.0:
            lo_r, lo_v, lo_d, lo_tight = t, v, d, True
        else:
            hi_r, hi_v = t, v
        n += 1


@njit(cache=True)
def _gap_to_solution(wit, q, m1, m2, e0, l1, l2, slope, l1_zero, scale, integ):
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
    return dual_excess(res, e0, l1, l2) / slope, lam_gap / slope
