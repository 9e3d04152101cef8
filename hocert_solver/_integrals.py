"""The Gaussian integrals of Theorem 3, Eq. (4), (5a), (5b) and p(r), with analytic Jacobians.

Unknowns: theta = (k0, k1, l2, r), where (l0, l1, l2) are the dual multipliers of docs/math.md
section "dual" and k0 = l0 - 1 + r^2/2, k1 = l1 - r. Then
    s(x) = l0 + l1 x - w(x) = k0 + k1 x - (e^v - 1 - v),   v = r x - r^2/2,   u = s / l2,
and the Neyman-Pearson minimiser of Theorem 3 is f*(x, y) = 1{y >= -u(x)}, i.e.
c(x) = u(x) (c0 = l0/l2, c1 = l1/l2, c2 = -exp(-r^2/2)/l2). The k-form keeps its digits when the
radius is small (q near 1/2: l0 -> 1, l1 -> r).

With h = 1 - Phi(u) (used instead of Phi(u) so that 1 - q keeps its digits when q -> 1):
    I0 = E h,   I1 = E[X h],   I2 = E phi(u),   I3 = E[(w - 1) h],   I4 = E[(X - r) w h]
and the four residuals of the system (4), (5a), (5b), p(r) = 1/2 are
    F0 = E Phi(u) - q        = (1 - q) - I0
    F1 = E[X Phi(u)] - m1    = -I1 - m1
    F2 = E phi(u) - m2       = I2 - m2
    F3 = E[w Phi(u)] - 1/2   = (1/2 - I0) - I3.
The dual value (weak duality: D <= p(r) for every lam >= 0) is, identically in lam,
    D(lam; r) = E[w Phi(u)] - l0 F0 - l1 F1 - l2 F2.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy import special

from ._normal import expm1_pair, norm_mass, norm_sf_pdf, phi
from ._quadrature import (
    GK17_RATIO8,
    GK17_W,
    GK17_X,
    GL8_W,
    GL8_X,
    GL12_W,
    GL12_X,
    MAX_BREAKS,
    MAX_PANELS,
    N_GUIDE,
    U_CF,
    U_TOL,
    X_TAIL,
    breakpoints_guided,
    max_panel_width,
    s_slope,
    s_value,
)

OK = 0
TOO_MANY_PANELS = 1
# integrals_on rules: 8- and 12-point Gauss-Legendre, and the 17-point Gauss-Kronrod pair.
RULE_GL8 = 0
RULE_GL12 = 1
RULE_GK17_G8 = 2
# I0..I4, then A1 = E|X h| and A3 = E|(w - 1) h| (sums of absolute values, for rounding bounds),
# then B = a bound on E[phi(u)] over the closed-form pieces (the phi(u) mass they omit).
N_INTEGRALS = 8
EPS = 2.220446049250313e-16


@njit(cache=True)
def _abs_x_mass(a, b):
    """E[|X| 1{a < X < b}]."""
    pa = phi(a) if math.isfinite(a) else 0.0
    pb = phi(b) if math.isfinite(b) else 0.0
    if a >= 0.0:
        return pa - pb
    if b <= 0.0:
        return pb - pa
    return 2.0 * phi(0.0) - pa - pb


@njit(cache=True)
def _w_minus_1_mass(a, b, r):
    """E[(w(X) - 1) 1{a < X < b}] = P(a - r < Z < b - r) - P(a < Z < b)."""
    if b <= a:
        return 0.0
    return norm_mass(a - r, b - r) - norm_mass(a, b)


@njit(cache=True)
def _closed_form_h1(a, b, r, out, bounds):
    """Add the pieces of I0, I1, I3, I4 (and, with ``bounds``, of A1, A3) over (a, b), h = 1."""
    m = norm_mass(a, b)
    out[0] += m
    pa = phi(a) if math.isfinite(a) else 0.0
    pb = phi(b) if math.isfinite(b) else 0.0
    out[1] += pa - pb
    out[3] += norm_mass(a - r, b - r) - m
    pa = phi(a - r) if math.isfinite(a) else 0.0
    pb = phi(b - r) if math.isfinite(b) else 0.0
    out[4] += pa - pb
    if not bounds:
        return
    out[5] += _abs_x_mass(a, b)
    c = 0.5 * r  # w(c) = 1
    out[6] += abs(_w_minus_1_mass(a, min(b, c), r)) + abs(_w_minus_1_mass(max(a, c), b, r))


@njit(cache=True)
def _phi_max(a, b):
    """max of phi(x) over [a, b]."""
    if a > 0.0:
        return phi(a)
    if b < 0.0:
        return phi(b)
    return phi(0.0)


@njit(cache=True)
def _omitted_phi_tail(lo, hi, k0, k1, l2, r):
    """Bound on E[phi(u) 1{lo < X < hi}] for a piece with u <= -U_CF (an end of the line).

    u is concave, so it lies below its tangent at the finite end x_b: |u(x)| grows at least
    linearly, |u| >= c + |u'(x_b)| t with c = |u(x_b)|, t the distance to x_b; with
    phi(u) <= phi(c) exp(-c (|u| - c)) the integral is at most phi(c) max(phi) / (c |u'(x_b)|),
    and never more than phi(c) P(piece).
    """
    mass = norm_mass(lo, hi)
    if math.isfinite(lo) == math.isfinite(hi):  # the whole line (or an interior piece)
        return phi(U_CF - U_TOL) * mass
    xb = lo if math.isfinite(lo) else hi
    c = abs(s_value(xb, k0, k1, r) / l2)
    slope = abs(s_slope(xb, k1, r) / l2)
    cap = phi(c) * mass
    if not (slope > 0.0):
        return cap
    return min(cap, phi(c) * _phi_max(lo, hi) / (c * slope))


@njit(cache=True)
def _omitted_phi_top(a, b, k0, k1, l2, r):
    """Bound on E[phi(u) 1{a < X < b}] for the piece with u >= U_CF around the maximum of s.

    By concavity u lies above the chords from (a, u(a)) and (b, u(b)) to its maximum
    (xm, u_max), so with c = min(u(a), u(b)) and L = b - a the integral is at most
    phi(c) max(phi) L / (c (u_max - c)), and never more than phi(c) P(piece).
    """
    ua = s_value(a, k0, k1, r) / l2
    ub = s_value(b, k0, k1, r) / l2
    c = min(ua, ub)
    if k1 / r + 1.0 > 0.0:
        xm = min(max((math.log1p(k1 / r) + 0.5 * r * r) / r, a), b)
    else:
        xm = a
    u_max = max(s_value(xm, k0, k1, r) / l2, ua, ub)
    cap = phi(c) * norm_mass(a, b)
    if not (u_max > c):
        return cap
    return min(cap, phi(c) * _phi_max(a, b) * (b - a) / (c * (u_max - c)))


@njit(cache=True, inline="always")
def _integrand(x, k0, k1, inv_l2, r, half_r2):
    """At one node: (phi(x), phi(x) w, phi(x) (w - 1), h, g, u, w - 1), g = phi(u).

    Where w overflows (s -> -inf) h = 1 and g = 0; u and w - 1 are then returned as 0 (they only
    enter multiplied by g) and phi(x) w = phi(x - r).
    """
    v = r * x - half_r2
    p = phi(x)
    if v > 700.0:
        pw = phi(x - r)
        return p, pw, pw - p, 1.0, 0.0, 0.0, 0.0
    # (w is only read for |v| >= 1/2; below, the series gives e^v - 1 - v without cancellation.)
    return _integrand_from(x, p, math.exp(v) if abs(v) >= 0.5 else 1.0, k0, k1, inv_l2, r, half_r2)


@njit(cache=True, inline="always")
def _integrand_from(x, p, w, k0, k1, inv_l2, r, half_r2):
    """``_integrand`` given p = phi(x) and w = e^v (v = r x - r^2/2, at most 700)."""
    v = r * x - half_r2
    if abs(v) >= 0.5:
        wm1 = w - 1.0
        em = wm1 - v
    else:
        wm1, em = expm1_pair(v)  # (the series: e^v - 1 - v cancels here)
    u = (k0 + k1 * x - em) * inv_l2
    h, g = norm_sf_pdf(u)
    return p, p * (1.0 + wm1), p * wm1, h, g, u, wm1


@njit(cache=True, inline="always")
def _panel_phi_w(c, hw, r, half_r2, nn, dnode, qnode, gnode, pnode, wnode):
    """phi and w = e^v at the nodes c + d of one panel from 2 + nn/2 exps instead of 2 nn.

    The nodes are symmetric about c, so with band constants q = e^{-d^2/2} and g = e^{r d}:
    phi(c + d) = phi(c) q e^{-c d}, phi(c - d) = phi(c) q e^{+c d}, w(c + d) = w(c) g. Each
    factor is correctly rounded, so the products are within a few ulp. False (nothing done)
    where w would overflow or phi underflow: the caller then evaluates node by node.
    (Carrying e^{-c d} and w(c) from panel to panel of a band saved no measurable time.)
    """
    vc = r * c - half_r2
    if not (vc + r * hw < 600.0 and c + hw < 37.0 and c - hw > -37.0):
        return False
    pc = phi(c)
    wc = math.exp(vc)
    half = nn // 2
    for j in range(half):
        e = math.exp(-c * dnode[j])
        m = nn - 1 - j
        pnode[j] = pc * qnode[j] * e
        pnode[m] = pc * qnode[m] / e
        wnode[j] = wc * gnode[j]
        wnode[m] = wc * gnode[m]
    if nn % 2 == 1:
        pnode[half] = pc
        wnode[half] = wc
    return True


@njit(cache=True)
def integrals(k0, k1, l2, r, rule, want_jac, out, jac):
    """Evaluate I0..I4 (into ``out``) and, if ``want_jac``, dF/dtheta (into ``jac``, 4x4).

    ``rule`` selects the per-panel Gauss-Legendre order: 0 -> 8 nodes, 1 -> 12 nodes.
    Without ``want_jac`` also the bound sums A1, A3 and B (``out[5:8]``, used by the witness's
    error floor); Newton's evaluations skip them and leave them at 0.
    Returns OK or TOO_MANY_PANELS.
    """
    return integrals_guided(k0, k1, l2, r, rule, want_jac, out, jac, np.full(N_GUIDE, np.nan))


@njit(cache=True)
def integrals_guided(k0, k1, l2, r, rule, want_jac, out, jac, guide):
    """``integrals`` with the panel breakpoints found from (and stored into) ``guide``.

    See ``_quadrature.breakpoints_guided``: pass the same guide through a sequence of nearby
    evaluations (Newton's iterates, the witness).
    """
    br = np.empty(MAX_BREAKS)
    nb = breakpoints_guided(k0, k1, l2, r, br, guide)
    return integrals_on(br, nb, k0, k1, l2, r, rule, want_jac, out, jac, out)


@njit(cache=True, fastmath={"contract"})
def integrals_on(br, nb, k0, k1, l2, r, rule, want_jac, out, jac, out8):
    """``integrals`` on given panel breakpoints ``br[:nb]`` (from ``breakpoints``).

    ``rule`` 2 is the 17-point Gauss-Kronrod rule into ``out`` and, in the same pass, its
    embedded 8-point Gauss rule into ``out8`` (no Jacobian), for the witness: without I4
    (``out[4]`` is NaN) and with only I0..I3 in ``out8``; other rules leave ``out8`` alone.
    """
    pair = rule == RULE_GK17_G8
    ratio8 = GK17_RATIO8
    if rule == 0:
        tx = GL8_X
        tw = GL8_W
    elif rule == 1:
        tx = GL12_X
        tw = GL12_W
    else:
        tx = GK17_X
        tw = GK17_W
        want_jac = False
    bounds = not want_jac  # the witness's bound sums; Newton's evaluations skip them
    nn = tx.shape[0]
    for i in range(N_INTEGRALS):
        out[i] = 0.0
    width = max_panel_width(r)
    half_r2 = 0.5 * r * r
    inv_l2 = 1.0 / l2
    panels = 0
    dnode = np.empty(nn)
    qnode = np.empty(nn)
    gnode = np.empty(nn)
    pnode = np.empty(nn)
    wnode = np.empty(nn)
    # Scalar accumulators (not array slots) so the node loop stays in registers.
    i0 = i1 = i2 = i3 = i4 = a1 = a3 = 0.0
    j0 = j1 = j2 = j3 = 0.0  # the embedded Gauss rule (pair mode)
    a00 = a01 = a02 = a03 = a11 = a12 = a13 = a22 = a23 = a33 = 0.0
    b30 = b31 = b32 = b33 = 0.0
    for p in range(nb - 1):
        a = br[p]
        b = br[p + 1]
        if b <= a:
            continue
        xm = 0.5 * (a + b)
        um = s_value(xm, k0, k1, r) * inv_l2
        if um <= -U_CF:
            lo = -math.inf if p == 0 else a
            hi = math.inf if p == nb - 2 else b
            _closed_form_h1(lo, hi, r, out, bounds)
            if bounds:
                out[7] += _omitted_phi_tail(lo, hi, k0, k1, l2, r)
            continue
        if um >= U_CF:
            if bounds:
                out[7] += _omitted_phi_top(a, b, k0, k1, l2, r)
            continue
        nsub = math.ceil((b - a) / width)
        panels += nsub
        if panels > MAX_PANELS:
            return TOO_MANY_PANELS
        hw = 0.5 * (b - a) / nsub
        # Band constants for the factorised phi(x) and w(x) (see _panel_phi_w).
        for j in range(nn):
            d = hw * tx[j]
            dnode[j] = d
            qnode[j] = math.exp(-0.5 * d * d) if j <= nn // 2 else qnode[nn - 1 - j]
            gnode[j] = math.exp(r * d) if j <= nn // 2 else 1.0 / gnode[nn - 1 - j]
        for sub in range(nsub):
            c = a + (2 * sub + 1) * hw
            fast = _panel_phi_w(c, hw, r, half_r2, nn, dnode, qnode, gnode, pnode, wnode)
            for j in range(nn):
                wt = hw * tw[j]
                if fast:
                    x = c + dnode[j]
                    p0, pw, pwm1, h, g, u, wm1 = _integrand_from(
                        x, pnode[j], wnode[j], k0, k1, inv_l2, r, half_r2
                    )
                else:
                    x = c + hw * tx[j]
                    p0, pw, pwm1, h, g, u, wm1 = _integrand(x, k0, k1, inv_l2, r, half_r2)
                px = wt * p0
                pw *= wt
                ph = px * h
                t3 = wt * pwm1 * h
                i0 += ph
                i1 += ph * x
                i3 += t3
                if bounds:
                    a1 += abs(ph * x)
                    a3 += abs(t3)
                pg = px * g
                i2 += pg
                if pair:
                    # The witness needs neither I4 nor the embedded rule's bound sums.
                    f = ratio8[j]  # zero at the Kronrod-only nodes
                    j0 += f * ph
                    j1 += f * ph * x
                    j2 += f * pg
                    j3 += f * t3
                else:
                    i4 += pw * (x - r) * h
                if want_jac:
                    # d u / d theta = (1, x, -u, -(w - 1)(x - r)) / l2; the 1/l2 is applied below.
                    d3 = -wm1 * (x - r)
                    gx = pg * x
                    gu = pg * u
                    a00 += pg
                    a01 += gx
                    a02 -= gu
                    a03 += pg * d3
                    a11 += gx * x
                    a12 -= gx * u
                    a13 += gx * d3
                    a22 += gu * u
                    a23 -= gu * d3
                    a33 += pg * d3 * d3
                    pwg = pw * g
                    b30 += pwg
                    b31 += pwg * x
                    b32 -= pwg * u
                    b33 += pwg * d3
    if pair:
        # The closed-form pieces (already in out) are common to both rules.
        out8[0] = out[0] + j0
        out8[1] = out[1] + j1
        out8[2] = out[2] + j2
        out8[3] = out[3] + j3
        out8[4:] = math.nan  # (not computed: D needs I0..I3 only)
    out[0] += i0
    out[1] += i1
    out[2] += i2
    out[3] += i3
    out[4] = math.nan if pair else out[4] + i4
    out[5] += a1
    out[6] += a3
    if want_jac:
        # Rows: dF0 = E[g d], dF1 = E[x g d], dF2 = E[-u g d], dF3 = E[w g d] - (0, 0, 0, I4).
        jac[0, 0] = a00 * inv_l2
        jac[0, 1] = a01 * inv_l2
        jac[0, 2] = a02 * inv_l2
        jac[0, 3] = a03 * inv_l2
        jac[1, 0] = a01 * inv_l2
        jac[1, 1] = a11 * inv_l2
        jac[1, 2] = a12 * inv_l2
        jac[1, 3] = a13 * inv_l2
        jac[2, 0] = a02 * inv_l2
        jac[2, 1] = a12 * inv_l2
        jac[2, 2] = a22 * inv_l2
        jac[2, 3] = a23 * inv_l2
        jac[3, 0] = b30 * inv_l2
        jac[3, 1] = b31 * inv_l2
        jac[3, 2] = b32 * inv_l2
        jac[3, 3] = b33 * inv_l2
    if want_jac:
        jac[3, 3] -= out[4]
    return OK


@njit(cache=True)
def residuals(integ, q, m1, m2, out):
    """F0..F3 from the integrals (see module docstring)."""
    out[0] = (1.0 - q) - integ[0]
    out[1] = -integ[1] - m1
    out[2] = integ[2] - m2
    out[3] = (0.5 - integ[0]) - integ[3]


@njit(cache=True)
def dual_value(k0, k1, l2, r, q, m1, m2, rule, integ, res):
    """D(lam; r) for lam = (k0 + 1 - r^2/2, k1 + r, l2) with the given rule; NaN on failure.

    ``integ`` (length N_INTEGRALS) receives the integrals. With l1 = 0 the caller passes
    k1 = -r exactly.
    """
    st = integrals(k0, k1, l2, r, rule, False, integ, np.empty((4, 4)))
    if st != OK:
        return math.nan
    residuals(integ, q, m1, m2, res)
    l0 = k0 + 1.0 - 0.5 * r * r
    l1 = k1 + r
    return (res[3] + 0.5) - l0 * res[0] - l1 * res[1] - l2 * res[2]


# The left tail is cut at -X_TAIL - TAIL_STEP j, j = 0..TAIL_STEPS; per cut, Phi(x_j) rounded up,
# and E[(|X| - |x_J|)^+; X < x_J] at the last (X standard normal; SciPy, 1e-10 relative margin).
TAIL_STEP = 0.5
TAIL_STEPS = 22
_TAIL_X = -X_TAIL - TAIL_STEP * np.arange(TAIL_STEPS + 1)
_TAIL_MASS = special.ndtr(_TAIL_X) * (1.0 + 1e-10)
_TAIL_EXCESS = float(
    (
        _TAIL_X[-1] * special.ndtr(_TAIL_X[-1])
        + math.exp(-0.5 * _TAIL_X[-1] ** 2) / math.sqrt(2 * math.pi)
    )
    * (1.0 + 1e-10)
    + 1e-300
)
_TAIL_EXCESS_9 = 1.23e-20  # E[(|X| - 9)^+; X < -9] = phi(9) - 9 Phi(-9), rounded up
# Closed-form pieces have |u| >= U_CF - U_TOL, where psi(|u|) <= phi(u) / (U_CF - U_TOL)^2.
_CF_PSI_FACTOR = (1.0 + 1e-12) / (U_CF - U_TOL) ** 2


@njit(cache=True, inline="always")
def _psi_upper(t):
    """Upper bound on psi(t) = E[(Y - t)^+] = phi(t) - t (1 - Phi(t)) (Y standard normal).

    psi is decreasing; psi(t) <= phi(t) / t^2 for t > 0 (the Mills-ratio bound
    1 - Phi(t) >= phi(t) (1/t - 1/t^3)), psi(t) <= phi(0) for t >= 0 and psi(t) = -t + psi(-t)
    <= -t + phi(0) for t < 0. Rounded up by far more than the few ulps of ``phi``.
    """
    if t > 1.0:
        return phi(t) / (t * t) * (1.0 + 1e-12)
    if t >= 0.0:
        return 0.3989422804014328
    return -t + 0.3989422804014328


@njit(cache=True, inline="always")
def _u_line_down(l0, l1, l2, x):
    """(l0 - 1 + l1 x) / l2 rounded down by 1e-12 of its terms: a lower bound on u left of 0."""
    err = 1e-12 * (abs(l0) + 1.0 + abs(x) * l1) / l2 + 1e-300
    return (l0 - 1.0 + l1 * x) / l2 - err


@njit(cache=True)
def truncation_bound(l0, l1, l2, r):
    """Bound on the part of D omitted by truncating the integrals to [-9, max(r, 0) + 9].

    The integrands of D combine into -l2 psi(u(x)) (docs/math.md, "witness"), so the omitted
    part is -l2 times the integral of psi(u) phi over the tails: it only lowers D, and this
    bounds its size. For r >= 0, w = e^v <= 1 left of 0, so u >= u_lin(x) = (l0 - 1 + l1 x) / l2
    there, which decreases to the left (psi increases). Cutting the left tail at
    x_0 = -9 > x_1 > ... > x_J, psi(u) <= psi(u_lin(x_{j+1})) on [x_{j+1}, x_j] (mass at most
    Phi(x_j)), and beyond x_J psi(u_lin(x_J) - c d) <= psi(u_lin(x_J)) + c d (c = l1 / l2,
    d = x_J - x), which adds l1 E[(|X| - |x_J|)^+; X < x_J]. Right of r + 9,
    l2 psi(u) <= w + l2 phi(0), whose integral is Phi(-9) + 0.4 l2 Phi(-9 - r), and
    Phi(-9 - r) <= Phi(-9) e^{-9 r - r^2/2}. Without the sign of r this is
    (l0 + l1 (r + 20) + l2 + 2) Phi(-9) (used for r < 0).
    """
    if not (r >= 0.0):
        return 1.2e-19 * (2.0 + l0 + l1 * (r + 20.0) + l2)
    right = _TAIL_MASS[0] * (1.0 + 0.4 * l2 * math.exp(-r * (X_TAIL + 0.5 * r)))
    left = l2 * _psi_upper(_u_line_down(l0, l1, l2, -X_TAIL)) * _TAIL_MASS[0] + l1 * _TAIL_EXCESS_9
    if left > 1e-18:
        # Large multipliers (near the edge of the feasible disk): follow u_lin further out.
        # psi(u_lin(x_{j+1})) on [x_{j+1}, x_j], mass <= Phi(x_j); beyond x_J, mass Phi(x_J).
        refined = 0.0
        for j in range(TAIL_STEPS + 1):
            x = _TAIL_X[min(j + 1, TAIL_STEPS)]
            refined += _psi_upper(_u_line_down(l0, l1, l2, x)) * _TAIL_MASS[j]
        left = min(left, l2 * refined + l1 * _TAIL_EXCESS)
    return (left + right) * (1.0 + 1e-12)


@njit(cache=True)
def dual_error_floor(l0, l1, l2, r, q, m1, m2, integ):
    """Bound on the non-quadrature errors of dual_value (docs/math.md, "witness").

    Writing D = 1 - l0 (1 - q) + l1 m1 + l2 m2 - l2 E[psi(u)] with
    psi(u) = phi(u) - u (1 - Phi(u)), the closed-form pieces (h = 0 where u >= U_CF, h = 1 where
    u <= -U_CF, and no phi(u) term) raise the computed D by l2 psi(|u|) <= l2 phi(u) / u^2 there
    (the Mills-ratio bound), so the phi(u) mass they omit (``integ[7]``, bounded piece by piece
    from the concavity of u) counts divided by (U_CF - U_TOL)^2. The truncation of the
    quadrature to [-9, r + 9] is bounded by ``truncation_bound``. Rounding: a small multiple of
    eps times the sum of the magnitudes of all terms, taken from the absolute sums.
    """
    mags = (
        1.0
        + l0 * ((1.0 - q) + integ[0])
        + l1 * (abs(m1) + integ[5])
        + l2 * (m2 + integ[2])
        + integ[0]
        + integ[6]
    )
    # There |u| >= U_CF - U_TOL and the omitted part of D is l2 psi(|u|) <= l2 phi(u) / u^2.
    omitted_phi = l2 * integ[7] * _CF_PSI_FACTOR
    return 64.0 * EPS * mags + omitted_phi + truncation_bound(l0, l1, l2, r)


@njit(cache=True)
def certified_dual(k0, k1, l2, r, q, m1, m2):
    """Lower bound on p(r) from the multipliers: D - (error bound), or -inf if unusable.

    D is evaluated with the 17-point Gauss-Kronrod rule; its quadrature error is estimated by
    the difference to the embedded 8-point Gauss rule on the same panels (counted twice), and the
    closed-form, truncation and rounding floor is subtracted. Since D <= p(r) for every
    lam >= 0 (weak duality), a value above 1/2 certifies r.
    """
    return certified_dual_into(
        k0, k1, l2, r, q, m1, m2, np.empty(N_INTEGRALS), np.full(N_GUIDE, np.nan)
    )


@njit(cache=True)
def certified_dual_into(k0, k1, l2, r, q, m1, m2, integ, guide):
    """``certified_dual``, leaving the Kronrod-rule integrals at theta in ``integ``.

    From them the caller gets the residuals at (lam, r) for free, which is how a Newton step
    that was never evaluated is checked (``_witness._certify``). ``guide``: see
    ``integrals_guided`` (the panels only affect the quadrature error, which is estimated on
    whatever panels are used).
    """
    l0 = k0 + 1.0 - 0.5 * r * r
    l1 = k1 + r
    if not (l2 > 0.0) or l0 < 0.0 or l1 < 0.0:
        return -math.inf
    integ8 = np.empty(N_INTEGRALS)
    res = np.empty(4)
    br = np.empty(MAX_BREAKS)
    nb = breakpoints_guided(k0, k1, l2, r, br, guide)
    # One pass: the Kronrod rule and its embedded Gauss rule on the same panels, so that their
    # difference measures the rule, not the panels.
    jac = np.empty((4, 4))  # unused: the pair rule has no Jacobian
    if integrals_on(br, nb, k0, k1, l2, r, RULE_GK17_G8, False, integ, jac, integ8) != OK:
        return -math.inf
    residuals(integ8, q, m1, m2, res)
    d8 = (res[3] + 0.5) - l0 * res[0] - l1 * res[1] - l2 * res[2]
    residuals(integ, q, m1, m2, res)
    d17 = (res[3] + 0.5) - l0 * res[0] - l1 * res[1] - l2 * res[2]
    if not (math.isfinite(d17) and math.isfinite(d8)):
        return -math.inf
    return d17 - 2.0 * abs(d17 - d8) - dual_error_floor(l0, l1, l2, r, q, m1, m2, integ)
