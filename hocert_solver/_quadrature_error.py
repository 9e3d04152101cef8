"""A rigorous bound on the witness's quadrature error (docs/math.md §4, "quadrature error").

On each panel ``[c - hw, c + hw]`` the witness applies the 17-point Gauss-Kronrod rule to the
integrand of the dual value, which combines (node by node, in exact arithmetic) into

    f(x) = -l2 psi(u(x)) phi(x),   psi(t) = phi(t) - t (1 - Phi(t)),   u = s / l2,

an entire function. With ``x = c + hw t``, if ``|f| <= M`` on the Bernstein ellipse ``E_rho``
(foci -1, 1, semi-axes ``alpha = (rho + 1/rho)/2``, ``beta = (rho - 1/rho)/2``) then f's Chebyshev
coefficients obey ``|a_k| <= 2 M rho^-k`` (Trefethen, *Approximation Theory and Approximation
Practice*, Thm 8.1). The rule has positive weights summing to 2, is exact to degree 25 and
symmetric (odd T_k integrate to 0 both ways), so its error on the panel is at most

    hw (4 + 4/675) M rho^-26 / (1 - rho^-2),

a bound, not an estimate. ``M`` is bounded from three facts, each an inequality:

* ``|phi(c + hw tau)| = phi(c) exp(-c hw Re tau - hw^2 Re(tau^2) / 2)``;
* ``s(c + zeta) = s(c) + s'(c) zeta - r^2 w(c) zeta^2 / 2 - w(c) E(r zeta)`` with
  ``|E(y)| = |e^y - 1 - y - y^2/2| <= E(|y|)`` (``w(c) = exp(r c - r^2/2)``);
* for complex t, ``|1 - Phi(t)| <= |e^{-t^2/2}| / 2`` if ``Re t >= 0`` (integrate erfc along
  the horizontal ray) and ``<= 1 + |e^{-t^2/2}| / 2`` otherwise, and
  ``|phi(t)| = |e^{-t^2/2}| / sqrt(2 pi)``.

The ellipse is covered by boxes, one per arc of its parametrisation ``tau = alpha cos(theta) +
i beta sin(theta)`` (arcs inside quadrants, so the boxes follow from the arc ends); on each box
the quadratic model of u is evaluated in interval arithmetic, so that the real and imaginary
parts of u keep their correlation (a single box around the ellipse put some bounds 1e5 too
high). ``rho`` is chosen per panel, in three tiers that cost more and bound tighter: one
ellipse (``rho = 3``, 4 quadrant boxes) for every panel; two (16 arcs) for the largest bounds
while their sum exceeds the slack the rest of the witness leaves; a search over ``rho`` (16 arcs,
about 17 ellipses) where the exact rule's part dominates; then, where that part still decides,
the panel is integrated again as two halves (``certified_quadrature``, at most LOCAL_SPLITS a
witness). Refining only makes the bound tighter where it decides the witness; whatever the
tier, it is a bound.

The arithmetic here is binary64: every bound is rounded up by a relative 1e-10, far more than
the few ulps of its operations, and the quadratic model's inputs carry an absolute slack for
their rounding. The rule as evaluated differs from the exact one by the rounding of its nodes
and weights and by the tiling of a band into panels; with Cauchy's estimate
``|f'| <= M / ((alpha - 1) hw)`` on the panel this adds at most
``M ((|c| + hw) (NODE_SLIP / (alpha - 1) + TILE_SLIP) + WEIGHT_SLIP hw)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._integrals import _integrand
from ._normal import INV_SQRT_2PI
from ._quadrature import GK17_W, GK17_X


def _arc_boxes(k: int) -> np.ndarray:
    """(k, 4): the ranges [cos_lo, cos_hi, sin_lo, sin_hi] of k arcs covering the circle.

    k is a multiple of 4 so that no arc crosses an axis (cos and sin are monotone on each);
    the ends are widened by 1e-15 for the rounding of cos and sin.
    """
    assert k % 4 == 0
    th = np.linspace(0.0, 2.0 * np.pi, k + 1)
    c0, c1, s0, s1 = np.cos(th[:-1]), np.cos(th[1:]), np.sin(th[:-1]), np.sin(th[1:])
    pad = 1e-15
    return np.stack(
        [
            np.maximum(np.minimum(c0, c1) - pad, -1.0),
            np.minimum(np.maximum(c0, c1) + pad, 1.0),
            np.maximum(np.minimum(s0, s1) - pad, -1.0),
            np.minimum(np.maximum(s0, s1) + pad, 1.0),
        ],
        axis=1,
    )


COARSE_ARCS = _arc_boxes(4)
FINE_ARCS = _arc_boxes(16)
COARSE_RHO = 3.0  # tier 1: one ellipse per panel
MEDIUM_RHO = (2.5, 4.0)  # tier 2: two ellipses, 16 arcs
# tier 3: a geometric grid on [FINE_LO, FINE_HI], then golden-section steps around its best
FINE_LO = 1.5
FINE_HI = 48.0
FINE_GRID = 5
FINE_GOLDEN = 6
# The rule's constant: (2 + 2/675) for the tail of even Chebyshev terms, times 2 from |a_k|.
RULE_CONSTANT = 4.0 + 4.0 / 675.0
# Nodes c + hw t are within 2 eps (|c| + hw) of the exact ones (x 2 weights' sum x |f'|); the
# 17 weights within 1 ulp, and hw times them within another; sub-panel ends within a few ulps.
NODE_SLIP = 1e-15
TILE_SLIP = 2e-15
WEIGHT_SLIP = 1e-15
ROUND_UP = 1.0 + 1e-10
# A witness re-integrates at most this many panels as two halves (``certified_quadrature``).
LOCAL_SPLITS = 4
# Tier 3 (about 4 us a panel) stops at panels whose bound is below this share of the excess
# over the target: past them the witness's step back is cheaper than the search.
TIER3_SHARE = 0.05


@njit(cache=True, inline="always")
def _cubic_remainder(y):
    """Upper bound on e^y - 1 - y - y^2/2 for y >= 0.

    Below 1/2 its series, term by term, is at most y^3 e^y / 6; above, the difference itself
    (whose rounding, a few ulps of e^y, is covered by the added 1e-15 e^y).
    """
    e = math.exp(y)
    if y < 0.5:
        return y * y * y * e / 6.0
    return (e - 1.0 - y - 0.5 * y * y) * (1.0 + 1e-12) + 1e-15 * e


@njit(cache=True)
def ellipse_table(rho, arcs):
    """(k, 8) per arc of E_rho: the ranges of X = Re tau, Y = Im tau, Re tau^2, Im tau^2 / 2.

    Rows ``[x_lo, x_hi, y_lo, y_hi, d_lo, d_hi, xy_lo, xy_hi]``; they depend on rho and the arcs
    only, so the fixed ellipses of tiers 1 and 2 are tabulated once.
    """
    alpha = 0.5 * (rho + 1.0 / rho)
    beta = 0.5 * (rho - 1.0 / rho)
    out = np.empty((arcs.shape[0], 8))
    for k in range(arcs.shape[0]):
        xlo = alpha * arcs[k, 0]
        xhi = alpha * arcs[k, 1]
        ylo = beta * arcs[k, 2]
        yhi = beta * arcs[k, 3]
        x2hi = max(xlo * xlo, xhi * xhi)
        x2lo = 0.0 if xlo <= 0.0 <= xhi else min(xlo * xlo, xhi * xhi)
        y2hi = max(ylo * ylo, yhi * yhi)
        y2lo = 0.0 if ylo <= 0.0 <= yhi else min(ylo * ylo, yhi * yhi)
        xy = (xlo * ylo, xlo * yhi, xhi * ylo, xhi * yhi)
        xylo = min(xy)
        xyhi = max(xy)
        out[k, 0] = xlo
        out[k, 1] = xhi
        out[k, 2] = ylo
        out[k, 3] = yhi
        out[k, 4] = x2lo - y2hi
        out[k, 5] = x2hi - y2lo
        out[k, 6] = xylo
        out[k, 7] = xyhi
    return out


@njit(cache=True)
def ellipse_bound(table, alpha, c, hw, uc, g, kap, w_l2, r, slop):
    """Bound on max |f| / (l2 phi(c)) over the Bernstein ellipse of the panel.

    ``table`` (``ellipse_table``) and ``alpha`` describe the ellipse; ``uc = u(c)``,
    ``g = u'(c) hw``, ``kap = u''(c) hw^2 / 2 <= 0`` (the quadratic model of u in the panel
    variable t), ``w_l2 = w(c) / l2`` (the cubic remainder's scale) and ``slop`` (an absolute
    ball added to the remainder's, for the rounding of uc, g and kap).
    """
    e3 = w_l2 * _cubic_remainder(abs(r) * hw * alpha) + slop * (1.0 + alpha + alpha * alpha)
    kap2 = 2.0 * kap  # <= 0: its products take their ranges' ends the other way round
    chw = c * hw
    h2 = 0.5 * hw * hw
    best_gauss = -math.inf  # max of log |e^{-u^2/2}| + log |phi(z) / phi(c)|
    best_phi = -math.inf  # max of log |phi(z) / phi(c)| where Re u may be negative
    t2_max = 0.0
    for k in range(table.shape[0]):
        xlo = table[k, 0]
        xhi = table[k, 1]
        gx0 = g * xlo
        gx1 = g * xhi
        gy0 = g * table[k, 2]
        gy1 = g * table[k, 3]
        re_lo = uc + min(gx0, gx1) + kap * table[k, 5] - e3
        re_hi = uc + max(gx0, gx1) + kap * table[k, 4] + e3
        im_a = min(gy0, gy1) + kap2 * table[k, 7] - e3
        im_b = max(gy0, gy1) + kap2 * table[k, 6] + e3
        im = max(abs(im_a), abs(im_b))
        if re_lo > 0.0:
            dmin = re_lo
        elif re_hi < 0.0:
            dmin = -re_hi
        else:
            dmin = 0.0
        re_abs = max(abs(re_lo), abs(re_hi))
        t2_max = max(t2_max, re_abs * re_abs + im * im)
        log_phi = max(-chw * xlo, -chw * xhi) - h2 * table[k, 4]
        best_gauss = max(best_gauss, 0.5 * (im - dmin) * (im + dmin) + log_phi)
        if re_lo < 0.0:
            best_phi = max(best_phi, log_phi)
    t_max = math.sqrt(t2_max)
    if max(best_gauss, best_phi) > 700.0:  # (beyond binary64: no bound from this ellipse)
        return math.inf
    bound = math.exp(best_gauss) * (INV_SQRT_2PI + 0.5 * t_max)
    if best_phi > -math.inf:
        bound += t_max * math.exp(best_phi)
    return bound


@njit(cache=True)
def _panel_model(c, hw, uc, em1, phi_c, k0, k1, l2, r):
    """(uc, g, kap, w_l2, slop, scale): the quadratic model of u on the panel, and l2 phi(c).

    From u(c), w(c) - 1 and phi(c) as the rule's middle node computed them. ``slop`` bounds
    their rounding and that of g and kap (absolute, in units of u) and is added to the cubic
    remainder's ball.
    """
    w = 1.0 + em1
    g = (k1 - r * em1) * hw / l2
    kap = -0.5 * r * r * w * hw * hw / l2
    # (the k-form's terms are what uc and g are rounded against: all O(r) when r -> 0)
    v = r * c - 0.5 * r * r
    terms = abs(k0) + abs(k1) * (abs(c) + hw) + abs(em1) + abs(v) + r * abs(em1) * hw
    slop = 1e-13 * (terms / l2 + abs(uc) + abs(g) + abs(kap))
    # (phi(c) below 1e-300 may be subnormal or 0: it is then bounded by 1e-300)
    return uc, g, kap, w / l2, slop, l2 * max(phi_c, 1e-300)


@njit(cache=True)
def _ellipse_constants(rho):
    """(alpha, the rule's factor, the nodes' slip factor) of E_rho (see _error_on)."""
    alpha = 0.5 * (rho + 1.0 / rho)
    rule = RULE_CONSTANT * rho**-26 / (1.0 - rho**-2)
    return alpha, rule, NODE_SLIP / (alpha - 1.0) + TILE_SLIP


@njit(cache=True)
def _error_on(consts, table, c, hw, r, uc, g, kap, w_l2, slop, scale):
    """(rule, slip): the panel's two error bounds from one ellipse (``_ellipse_constants``).

    ``rule`` bounds the exact rule's error and ``slip`` the binary64 rule's departure from it
    (see the module docstring). They bound different errors, so the smallest of each over any
    set of ellipses add up to a bound.
    """
    alpha, rule, slip = consts
    m = scale * ellipse_bound(table, alpha, c, hw, uc, g, kap, w_l2, r, slop)
    return m * rule * hw, m * (slip * (abs(c) + hw) + WEIGHT_SLIP * hw)


# Tabulated in Python at import (``py_func``), without compiling anything.
_table = getattr(ellipse_table, "py_func", ellipse_table)
_consts = getattr(_ellipse_constants, "py_func", _ellipse_constants)
_COARSE_TABLE = _table(COARSE_RHO, COARSE_ARCS)
_MEDIUM_TABLE_0 = _table(MEDIUM_RHO[0], FINE_ARCS)
_MEDIUM_TABLE_1 = _table(MEDIUM_RHO[1], FINE_ARCS)
_COARSE_CONSTS = _consts(COARSE_RHO)
_MEDIUM_CONSTS_0 = _consts(MEDIUM_RHO[0])
_MEDIUM_CONSTS_1 = _consts(MEDIUM_RHO[1])


@njit(cache=True, inline="always")
def _fine(rho, c, hw, r, uc, g, kap, w_l2, slop, scale):
    table = ellipse_table(rho, FINE_ARCS)
    return _error_on(_ellipse_constants(rho), table, c, hw, r, uc, g, kap, w_l2, slop, scale)


@njit(cache=True)
def panel_error_bound(row, k0, k1, l2, r, tier):
    """(rule, slip) bounds on the 17-point Kronrod rule's error on one panel.

    ``row``: the panel as ``integrals_on`` records it, (c, hw, u(c), w(c) - 1, phi(c)) for
    [c - hw, c + hw]. The error is that of the dual's integrand, and at most
    ``rule + slip``. ``tier`` 1, 2 or 3: one ellipse (4 boxes), two (16 arcs), or a search
    over rho for the rule part (16 arcs, about 15 ellipses); see the module docstring. +inf
    where the model overflows (only far outside the solver's domain). Both are rounded up.
    """
    c, hw = row[0], row[1]
    uc, g, kap, w_l2, slop, scale = _panel_model(c, hw, row[2], row[3], row[4], k0, k1, l2, r)
    if not (math.isfinite(uc) and math.isfinite(w_l2) and math.isfinite(kap)):
        return math.inf, math.inf
    if tier == 1:
        rule, slip = _error_on(
            _COARSE_CONSTS, _COARSE_TABLE, c, hw, r, uc, g, kap, w_l2, slop, scale
        )
    elif tier == 2:
        rule, slip = _error_on(
            _MEDIUM_CONSTS_0, _MEDIUM_TABLE_0, c, hw, r, uc, g, kap, w_l2, slop, scale
        )
        rule1, slip1 = _error_on(
            _MEDIUM_CONSTS_1, _MEDIUM_TABLE_1, c, hw, r, uc, g, kap, w_l2, slop, scale
        )
        rule, slip = min(rule, rule1), min(slip, slip1)
    else:
        lo = math.log(FINE_LO)
        step = (math.log(FINE_HI) - lo) / (FINE_GRID - 1)
        rule = slip = math.inf
        best_i = 0
        for i in range(FINE_GRID):
            b, sl = _fine(math.exp(lo + step * i), c, hw, r, uc, g, kap, w_l2, slop, scale)
            slip = min(slip, sl)
            if b < rule:
                rule = b
                best_i = i
        # Golden-section search on log(rho) for the rule part, in the two grid cells around
        # the best point (every point evaluated is a bound: the search only needs a good rho).
        a = lo + step * max(best_i - 1, 0)
        b_end = lo + step * min(best_i + 1, FINE_GRID - 1)
        inv_phi = 0.6180339887498949
        for _ in range(FINE_GOLDEN):
            x1 = b_end - inv_phi * (b_end - a)
            x2 = a + inv_phi * (b_end - a)
            v1, s1 = _fine(math.exp(x1), c, hw, r, uc, g, kap, w_l2, slop, scale)
            v2, s2 = _fine(math.exp(x2), c, hw, r, uc, g, kap, w_l2, slop, scale)
            rule = min(rule, v1, v2)
            slip = min(slip, s1, s2)
            if v1 < v2:
                b_end = x2
            else:
                a = x1
    if not (math.isfinite(rule) and math.isfinite(slip)):
        return math.inf, math.inf
    return rule * ROUND_UP, slip * ROUND_UP


@njit(cache=True)
def _refine(rows, rule, slip, n, k0, k1, l2, r, target, total):
    """Refine the bounds of ``rows[:n]`` (tiers 2 and 3) while their sum exceeds ``target``."""
    for tier in (2, 3):
        if total <= target:
            break
        for i in np.argsort(-(rule[:n] + slip[:n])):
            if tier == 3 and rule[i] < TIER3_SHARE * (total - target):
                # Small, or its bound is the slip (which no rho removes): not worth a search.
                continue
            finer_rule, finer_slip = panel_error_bound(rows[i], k0, k1, l2, r, tier)
            rule[i] = min(rule[i], finer_rule)
            slip[i] = min(slip[i], finer_slip)
            # (summed again, not updated: a bound replaced may be 1e20 times the rest)
            total = _total(rule, slip, n)
            if total <= target:
                break
    return total


@njit(cache=True, inline="always")
def _total(rule, slip, n):
    total = 0.0
    for i in range(n):
        total += rule[i] + slip[i]
    return total


@njit(cache=True)
def _kronrod_panel(c, hw, k0, k1, l2, r, row):
    """(Q, A): the Kronrod rule's sum of the dual's integrand on [c - hw, c + hw], as the
    witness's pass forms it (``integrals_on``), and the sum of its terms' magnitudes.

    ``row`` receives the panel's record (c, hw, u, w - 1, phi at c), as ``integrals_on``'s.
    """
    e0 = k0 - 0.5 * r * r
    l1 = k1 + r
    inv_l2 = 1.0 / l2
    half_r2 = 0.5 * r * r
    total = 0.0
    size = 0.0
    for j in range(GK17_X.shape[0]):
        x = c + hw * GK17_X[j]
        wt = hw * GK17_W[j]
        p0, _pw, pwm1, h, g, u, wm1 = _integrand(x, k0, k1, inv_l2, r, half_r2)
        if j == GK17_X.shape[0] // 2:
            row[0] = c
            row[1] = hw
            row[2] = math.nan if r * x - half_r2 > 700.0 else u
            row[3] = wm1
            row[4] = p0
        # -I3 + e0 I0 + l1 I1 - l2 I2: D - 1/2's integrand, term by term (_dual.dual_excess)
        t3 = wt * pwm1 * h
        ph = wt * p0 * h
        pg = wt * p0 * g
        total += -t3 + e0 * ph + l1 * ph * x - l2 * pg
        size += abs(t3) + abs(e0) * ph + l1 * ph * abs(x) + l2 * pg
    return total, size


@njit(cache=True)
def certified_quadrature(panels, k0, k1, l2, r, budget):
    """(correction, bound): the witness's quadrature, checked and where needed refined.

    ``panels`` are ``integrals_on``'s rows (a NaN row ends them). Tier-1 bounds for every
    panel; while their sum exceeds ``budget`` (the slack the rest of the witness leaves) the
    largest are refined (tiers 2 and 3); then, while the exact rule's part still decides, the
    panel with the largest such part is integrated again as two halves (up to LOCAL_SPLITS
    times; the halves may be split again). ``correction`` is what those re-integrations add to
    D (halves less the panel, with its rounding already subtracted: a few eps of the terms'
    magnitudes), and ``bound`` bounds the error of the final panels. With no slack
    (``budget <= 0``: the witness fails whatever the bound) the bound is refined only until
    it is a quarter of the deficit, which sizes the witness's next step back.
    """
    target = budget if budget > 0.0 else -0.25 * budget
    n = 0
    while n < panels.shape[0] and not math.isnan(panels[n, 0]):
        n += 1
    cap = n + 2 * LOCAL_SPLITS
    rows = np.empty((cap, 5))
    rows[:n] = panels[:n]
    rule = np.zeros(cap)
    slip = np.zeros(cap)
    for i in range(n):
        rule[i], slip[i] = panel_error_bound(rows[i], k0, k1, l2, r, 1)
    total = _refine(rows, rule, slip, n, k0, k1, l2, r, target, _total(rule, slip, n))
    correction = 0.0
    splits = 0
    while budget > 0.0 and total > target and splits < LOCAL_SPLITS:
        rule_total = 0.0
        for i in range(n):
            rule_total += rule[i]
        if not (rule_total > total - target):
            break  # the slip alone exceeds the budget: halves would not help
        i = int(np.argmax(rule[:n]))
        c, hw = rows[i, 0], rows[i, 1]
        whole, size = _kronrod_panel(c, hw, k0, k1, l2, r, rows[i])
        left, size_l = _kronrod_panel(c - 0.5 * hw, 0.5 * hw, k0, k1, l2, r, rows[n])
        right, size_r = _kronrod_panel(c + 0.5 * hw, 0.5 * hw, k0, k1, l2, r, rows[n + 1])
        # Three sums of up to 17 terms each, their difference, and D's rounding of it.
        correction += (left + right - whole) - 64.0 * 2.3e-16 * (size + size_l + size_r)
        rule[i] = slip[i] = 0.0  # (replaced by its halves)
        for k in (n, n + 1):
            rule[k], slip[k] = panel_error_bound(rows[k], k0, k1, l2, r, 1)
        n += 2
        total = _total(rule, slip, n)
        splits += 1
        total = _refine(rows, rule, slip, n, k0, k1, l2, r, target, total)
    total = _total(rule, slip, n)
    # 2n terms summed in binary64: within 2n eps of the exact sum.
    return correction, total * (1.0 + (2 * n + 2) * 2.3e-16) + 1e-300
