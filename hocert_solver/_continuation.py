"""The cold solve: Newton from the strip start, then continuation paths (docs/math.md §5).

Where the warm-start tables give no start, or theirs does not converge, ``_solve_cold`` starts
Newton from the m2 = 0 strip solution (``_strip_start``); if that does not converge it follows
a path in m2 from the strip solution (``_continuation``) or, near the boundary of the feasible
disk, along the ray rho -> 1 (``_ray_continuation``). These only find the solution; the radius
is certified by ``_witness``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy import special

from ._integrals import N_INTEGRALS, OK, integrals
from ._newton import GUIDE, NEWTON_BUDGETS, _solve_modes, copy_into
from ._normal import expm1_minus_x, phi
from ._strip import certified_strip_radius
from ._warm_start import LZ_MIN, Z_MAX, warm_start

# Steps of the continuation in m2 before it gives up.
MAX_CONTINUATION = 60
# Beyond the warm-start tables' z (1 - q below this, 12 binary64 values of q) the continuation
# in m2 is not tried: there it spent 4-11 ms per point (a third of the adversarial mix's time),
# failed on half of them, and where it converged it was a point pulled far inward (edge_gap
# 0.25-0.5) whose radius gains at most 2% over the strip radius, FALLBACK either way.
TAIL_BEYOND_TABLES = float(special.ndtr(-Z_MAX))


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


# The small-radius start is tried where its first-order radius is below this: the start's
# error is second order in r.
SMALL_R = 1e-3


@njit(cache=True)
def _small_radius_start(q, a, b, z, big_m, theta):
    """theta for a radius that q near 1/2 makes tiny, where m1 is slack; False if not such a case.

    For r -> 0, p(r) = E[f (1 + r X)] + O(r^2), so the worst-case classifier minimises E[X f]
    over E f = q, E[Y f] >= m2, E[X f] >= m1: the half-space y >= -(z - a' x) / b with
    a' = sqrt(1 - b^2), whose E[X f] = -M(q) a', when m1 <= -M(q) a' (a <= -a': m1 slack, l1 = 0).
    Then R = (q - 1/2) / (M(q) a') to first order, and the multipliers of that half-space are
    k1 = -r (l1 = 0), l2 = r b / a', k0 = r z / a' (u = (k0 + k1 x) / l2 + O(r)). Newton from
    there converges in 0-2 steps, where the strip start (far from this near-half-space) took
    hundreds of iterations and often failed.
    """
    ap = math.sqrt(max(1.0 - b * b, 0.0))
    if not (ap > 0.0 and b > 0.0 and a <= -ap):
        return False
    r0 = (q - 0.5) / (big_m * ap)
    if not (0.0 < r0 <= SMALL_R):
        return False
    theta[0] = r0 * z / ap
    theta[1] = -r0
    theta[2] = r0 * b / ap
    theta[3] = r0
    return True


# Below the small-z warm-start table (z < Z_NODE_SMALL) its first z-node is carried down
# (_small_z_start).
Z_NODE_SMALL = 10.0**LZ_MIN


@njit(cache=True)
def _small_z_start(tables, q, z, a, b, theta):
    """theta below the small-z table (z < Z_NODE_SMALL), where the m1 constraint is active.

    For r -> 0 the solution has (k0, k1, l2) ~ r^2: u = (k0 + k1 x - r^2 x^2 / 2) / l2 to
    leading order, the same curve at every small r (the limit problem, q = 1/2, depends on a
    and b only). And F3 = (q - 1/2) - E[(w - 1) h] = 0 reads
    (q - 1/2) + r m1 - K r^2 = 0 with K = E[(X^2 - 1) h] / 2 (E[X h] = -m1): linear in r for
    a < 0 away from 0, quadratic across the layer |a| ~ sqrt(z). So the table's solution at
    its first node (z = Z_NODE_SMALL, radius r_n) carries down: K from the integrals there,
    (I3 - r_n I1) / r_n^2 (E[(w - 1) h] = r E[X h] + K r^2 + O(r^3)), r from the quadratic at
    q, and (k0, k1, l2) scaled by (r / r_n)^2. (K from r_n alone, through F3 = 0 at the node,
    cancels: r_n m1 ~ -(q_n - 1/2), and came out 22% off at a = -2e-3, b = 1.6e-5.)

    False for a > 0 (R ~ 1 there), outside the table, or where the node has l1 = 0
    (m1 slack: ``_small_radius_start`` applies).
    """
    if not (0.0 < z < Z_NODE_SMALL) or not (a <= 0.0):
        return False
    if not warm_start(tables, Z_NODE_SMALL, a, b, theta):
        return False
    r_n = theta[3]
    if not (theta[1] + r_n > 0.0):
        return False
    out = np.empty(N_INTEGRALS)
    # (with the Jacobian, unused: Newton's own specialisation of integrals_on, not a second one
    # to compile, tests/solver/test_compile.py)
    if integrals(theta[0], theta[1], theta[2], r_n, 0, True, out, np.empty((4, 4))) != OK:
        return False
    k = max((out[3] - r_n * out[1]) / (r_n * r_n), 0.0)
    d = q - 0.5
    m1 = a * phi(z)
    den = -m1 + math.sqrt(m1 * m1 + 4.0 * k * d)
    if not (den > 0.0 and d > 0.0):
        return False
    r = 2.0 * d / den
    f = (r / r_n) ** 2
    theta[0] *= f
    theta[1] *= f
    theta[2] *= f
    theta[3] = r
    return r > 0.0 and theta[2] > 0.0


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
    """Approach a point near the feasible boundary along its ray.

    Returns (ok, l1_zero, iters, gap_ok). Near the boundary (rho = hypot(max(a, 0), b) -> 1)
    the multipliers grow like 1 / (1 - rho) while c0 = l0 / l2 and c1 = l1 / l2 settle, so the
    path in m2 from the strip solution is long. Instead solve at rho = RAY_RHO and divide
    1 - rho by 10 per step, scaling (k0, k1, l2) by the same factor as the predictor.

    When a step fails after an earlier one converged, theta is left at the last converged
    solution, which solves the point pulled inward along the ray to the gap 1 - rho = gap_ok
    (and l1_zero is its active set): its witness is certified for the caller's bounds too,
    since only max(a, 0) and b shrink along the ray. gap_ok is -1 when nothing converged.
    """
    rho_t = math.hypot(max(a, 0.0), b)
    gap_t = 1.0 - rho_t
    gap = 1.0 - RAY_RHO
    total = 0
    ok = False
    l1_zero = False
    first = True
    good = np.empty(4)
    gap_ok = -1.0
    lz_ok = False
    while True:
        if gap <= gap_t:
            gap = gap_t
        f = (1.0 - gap) / rho_t
        ak = a * f if a > 0.0 else a
        m1 = ak * big_m if ak > -1.0 else -big_m
        m2 = b * f * big_m
        if first:
            # A new path: the breakpoint guide of another point's evaluation can mislead the
            # level-crossing search here (seen: the first step failed with a stale guide and
            # converged with none).
            integ[GUIDE:] = math.nan
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
        if ok and gap == gap_t:
            return True, l1_zero, total, gap
        if not ok:
            if gap_ok > 0.0:
                copy_into(good, theta)
            return False, lz_ok, total, gap_ok
        copy_into(theta, good)
        gap_ok = gap
        lz_ok = l1_zero
        new_gap = max(gap * 0.1, gap_t)
        grow = gap / new_gap
        theta[0] *= grow
        theta[2] *= grow
        if not l1_zero:
            theta[1] *= grow
        gap = new_gap


@njit(cache=True)
def _solve_cold(theta, q, m1, m2, a, b, big_m, scale, integ, w2, w1, r_strip):
    """Newton from the strip start and the continuation paths; returns (ok, l1_zero, nit, gap_ok).

    Near the boundary (rho = hypot(max(a, 0), b) > RAY_RHO) the ray continuation replaces the
    path in m2, and goes first where q - 1/2 is not tiny: the strip start is far from the
    solution there (near a = 1, b = 0.01 the m2 path spent 3,000+ Newton iterations and
    failed, the ray took 30). Within RAY_MIN_Q of q = 1/2 the strip start converges more often
    than the ray and at a third of its cost (measured on 932 adversarial points), so it goes
    first; where both fail there, the ray stopping short of the point (gap_ok > 1e-7), the path
    in m2 is tried last.

    gap_ok > 0 (with ok False) means theta solves the point pulled inward along the ray to the
    gap gap_ok (see _ray_continuation); the caller may certify that point instead. Beyond the
    warm-start tables (1 - q < TAIL_BEYOND_TABLES) the path in m2 is not followed.
    """
    nit = 0
    gap_ok = -1.0
    near_edge = math.hypot(max(a, 0.0), b) > RAY_RHO
    ray_first = near_edge and q - 0.5 >= RAY_MIN_Q
    if ray_first:
        ok, l1_zero, nit, gap_ok = _ray_continuation(theta, q, a, b, big_m, scale, integ)
        if ok:
            return ok, l1_zero, nit, -1.0
    partial = np.empty(4)
    copy_into(theta, partial)
    lz_partial = l1_zero if ray_first else False
    r0 = max(r_strip, 1e-8)
    _strip_start(q, m1, m2, w2, w1, r0, theta)
    ok, l1_zero, n2 = _solve_modes(theta, q, m1, m2, scale, integ, NEWTON_BUDGETS, False)
    nit += n2
    if not ok and near_edge and not ray_first:
        ok, l1_zero, n2, gap_ok = _ray_continuation(theta, q, a, b, big_m, scale, integ)
        nit += n2
        if ok or 0.0 < gap_ok <= 1e-7:
            return ok, l1_zero, nit, -1.0 if ok else gap_ok
        # Within RAY_MIN_Q of 1/2, where the strip start and the ray both fail (the ray stopping
        # far from the point), the path in m2 was seen to succeed (q - 1/2 = 1e-12, a = 0.026,
        # 1 - rho = 3.4e-8: R = 3.85 where the ray's pulled point gave 2.40).
        copy_into(theta, partial)
        lz_partial = l1_zero
        ok, l1_zero, n2 = _continuation(theta, q, m1, m2, scale, w2, w1, r0, integ)
        nit += n2
    elif not ok and not near_edge and 1.0 - q >= TAIL_BEYOND_TABLES:
        ok, l1_zero, n2 = _continuation(theta, q, m1, m2, scale, w2, w1, r0, integ)
        nit += n2
    if not ok and gap_ok > 0.0:
        copy_into(partial, theta)
        return False, lz_partial, nit, gap_ok
    return ok, l1_zero, nit, -1.0
