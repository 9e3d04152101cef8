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
    F0 = E Phi(u) - q                        = (1 - q) - I0
    F1 = E[X Phi(u)] - m1                    = -I1 - m1
    F2 = E phi(u) - m2                       = I2 - m2
    F3 = (E[w Phi(u)] - 1/2) - F0            = (q - 1/2) - I3.
F3 is p(r) - 1/2 less F0 (the same solutions): written so, it holds no term of size 1/2 and
keeps its digits when q -> 1/2 and r -> 0, where p(r) - 1/2 is tiny (q - 1/2 and 1 - q are
exact in binary64 for q >= 1/2). The dual value built from them, and its error bounds, are in
``_dual``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._normal import INV_SQRT_2PI, expm1_pair, norm_mass, norm_sf_pdf, phi
from ._quadrature import (
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
    breakpoints_guided,
    max_panel_width,
    s_slope,
    s_value,
)

OK = 0
TOO_MANY_PANELS = 1
# integrals_on rules: 8- and 12-point Gauss-Legendre, and the witness's 17-point Gauss-Kronrod
# rule (which records its panels for the bound on its error, ``_quadrature_error``).
RULE_GL8 = 0
RULE_GL12 = 1
RULE_GK17 = 2
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


# Below this shift the closed-form pieces of I3 are formed from the masses P(x - r < Z < x) of
# their ends, each to relative precision (``_shift_mass``), instead of as a difference of two
# Phi-masses, which leaves an absolute error of about eps (the size of I3 at r -> 0).
NARROW_SHIFT = 0.1


@njit(cache=True, inline="always")
def _phi_split(x):
    """phi(x) to a few ulps for |x| < 2^26: x^2 split into an exact part (x's high 26 bits
    squared) and a small rest, so that the rounding of x^2 does not enter as x^2 eps / 2."""
    t = 134217729.0 * x  # (2^27 + 1) x: Dekker's split
    xh = t - (t - x)
    xl = x - xh
    return INV_SQRT_2PI * math.exp(-0.5 * xh * xh) * math.exp(-0.5 * xl * (xh + x))


@njit(cache=True)
def _shift_mass(x, r):
    """P(x - r < Z < x) for 0 <= r <= NARROW_SHIFT, to relative precision; 0 at x = +-inf.

    With c = x - r/2 and h = r/2, the mass is phi(c) int_{-h}^{h} e^{-ct - t^2/2} dt
    = 2 phi(c) sum_{n even} He_n(c) h^{n+1} / (n + 1)! (the generating function of the Hermite
    polynomials He_n). The terms fall like (|c| h)^n / n!. Against mpmath at 120 digits the
    result is within 4 eps of the mass for |x| <= 25 (tests/solver/test_integrals.py). Such
    shifts only occur at the finite ends of the closed-form pieces, inside [-9, 9.1].
    """
    if not math.isfinite(x) or r == 0.0:
        return 0.0
    h = 0.5 * r
    c = x - h
    # phi(c) = phi(x) e^{x h - h^2/2}: x is exact where c = x - h would be rounded, which
    # costs c^2 / 2 ulps in phi(c) (41 at |c| = 9.1).
    pc = _phi_split(x) * math.exp(h * (x - 0.5 * h))
    he_prev = 1.0  # He_0
    he = c  # He_1
    term = h  # h^(n+1) / (n+1)! at n = 0
    total = h  # He_0 h
    # A fixed number of terms (He_n(c) can vanish, so a small term does not end the sum): up to
    # n = 30 the omitted terms are below 1e-28 of the sum for |c| <= 25, h <= 0.05.
    n = 1
    for _ in range(15):
        # He_{n+1} = c He_n - n He_{n-1}; the even ones enter the sum.
        he_prev, he = he, c * he - n * he_prev
        n += 1
        term *= h * h / (n * (n + 1))
        total += he * term
        he_prev, he = he, c * he - n * he_prev  # (odd: not summed)
        n += 1
    return 2.0 * pc * total


@njit(cache=True)
def _closed_form_h1(a, b, r, out, bounds):
    """Add the pieces of I0, I1, I3, I4 (and, with ``bounds``, of A1, A3) over (a, b), h = 1.

    The piece of I3 is E[(w - 1) 1{a < X < b}] = P(a - r < Z < a) - P(b - r < Z < b), for
    r <= NARROW_SHIFT from two masses of relative precision (``_shift_mass``), else as
    P(a - r < Z < b - r) - P(a < Z < b); A3 receives the sizes of the two terms, which bound
    its rounding error (``_dual.dual_error_floor``).
    """
    m = norm_mass(a, b)
    out[0] += m
    pa = phi(a) if math.isfinite(a) else 0.0
    pb = phi(b) if math.isfinite(b) else 0.0
    out[1] += pa - pb
    if 0.0 <= r <= NARROW_SHIFT:
        na = _shift_mass(a, r)
        nb = _shift_mass(b, r)
        out[3] += na - nb
        size3 = na + nb
    else:
        shifted = norm_mass(a - r, b - r)
        out[3] += shifted - m
        size3 = shifted + m
    pa = phi(a - r) if math.isfinite(a) else 0.0
    pb = phi(b - r) if math.isfinite(b) else 0.0
    out[4] += pa - pb
    if not bounds:
        return
    out[5] += _abs_x_mass(a, b)
    out[6] += size3


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
    return integrals_on(br, nb, k0, k1, l2, r, rule, want_jac, out, jac, np.empty((0, 5)))


@njit(cache=True, fastmath={"contract"})
def integrals_on(br, nb, k0, k1, l2, r, rule, want_jac, out, jac, panel_rec):
    """``integrals`` on given panel breakpoints ``br[:nb]`` (from ``breakpoints``).

    ``rule`` 2 (RULE_GK17) is the witness's 17-point Gauss-Kronrod rule (no Jacobian, no I4:
    ``out[4]`` is NaN); it writes the panels it used, rows ``(c, hw)`` for
    ``[c - hw, c + hw]``, with u, w - 1 and phi at c, into ``panel_rec`` (shape
    ``(MAX_PANELS, 5)``), a NaN row after the last, for ``_quadrature_error``. Other rules
    leave ``panel_rec`` alone.
    """
    kronrod = rule == RULE_GK17
    n_rec = 0
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
    centre = nn // 2  # (the Kronrod rule's middle node is 0: x = c exactly)
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
            # The witness sums each panel first, then the panels: a chain of (nodes + panels)
            # additions, not of all the nodes (its rounding floor, _dual.dual_error_floor).
            # Newton's evaluations keep one running sum (their bits, which the warm-start
            # tables were built with).
            if kronrod:
                s0 = s1 = s2 = s3 = 0.0
            else:
                s0, s1, s2, s3 = i0, i1, i2, i3
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
                    if r * x - half_r2 > 700.0:
                        u = math.nan  # (_integrand's stand-in where w overflows: no model)
                if kronrod and j == centre:
                    # u, w - 1 and phi at the centre, for the error bound's model of the panel
                    panel_rec[n_rec, 0] = c
                    panel_rec[n_rec, 1] = hw
                    panel_rec[n_rec, 2] = u
                    panel_rec[n_rec, 3] = wm1
                    panel_rec[n_rec, 4] = p0
                    n_rec += 1
                px = wt * p0
                pw *= wt
                ph = px * h
                t3 = wt * pwm1 * h
                s0 += ph
                s1 += ph * x
                s3 += t3
                if bounds:
                    a1 += abs(ph * x)
                    a3 += abs(t3)
                pg = px * g
                s2 += pg
                if not kronrod:  # (the witness does not need I4)
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
                    # F3 = (q - 1/2) - E[(w - 1) h]: its row carries w - 1, not w, so that it
                    # keeps its digits when r -> 0 (no difference of the rows of F3 and F0).
                    pwg = wt * pwm1 * g
                    b30 += pwg
                    b31 += pwg * x
                    b32 -= pwg * u
                    b33 += pwg * d3
            if kronrod:
                i0 += s0
                i1 += s1
                i2 += s2
                i3 += s3
            else:
                i0, i1, i2, i3 = s0, s1, s2, s3
    if kronrod and n_rec < panel_rec.shape[0]:
        panel_rec[n_rec, 0] = math.nan
    out[0] += i0
    out[1] += i1
    out[2] += i2
    out[3] += i3
    out[4] = math.nan if kronrod else out[4] + i4
    out[5] += a1
    out[6] += a3
    if want_jac:
        # Rows: dF0 = E[g d], dF1 = E[x g d], dF2 = E[-u g d], dF3 = E[(w - 1) g d] - (0, 0, 0, I4).
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
    """F0..F3 from the integrals (see module docstring; F3 is p(r) - 1/2 less F0)."""
    out[0] = (1.0 - q) - integ[0]
    out[1] = -integ[1] - m1
    out[2] = integ[2] - m2
    out[3] = (q - 0.5) - integ[3]
