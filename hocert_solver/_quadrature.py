"""Panel quadrature for the Gaussian integrals of Theorem 3 (docs/math.md, "numerics").

Every integral the solver needs has the form E[k(X) G(u(X))] with X ~ N(0, 1),
u(x) = s(x) / l2, s(x) = l0 + l1 x - w(x), w(x) = exp(r x - r^2 / 2), and G one of
h = 1 - Phi(u) or phi(u). Because s is concave, {u >= L} is an interval for every level L, so

* where u <= -U_CF the integrand is k(x) (h = 1, phi(u) = 0) to within Phi(-U_CF) ~ 1e-17 and
  is integrated in closed form;
* where u >= U_CF it vanishes to the same accuracy;
* the transition bands -U_CF < u < U_CF (at most two, one around each root of s, of width
  ~ l2 / |s'|) are split where u crosses fixed levels and into panels of bounded width, and each
  panel gets an n-point Gauss-Legendre rule.

A global Gauss-Hermite rule would need thousands of nodes when l2 is small (the integrand is
then nearly a step); these panels follow the steps. The breakpoints need not be exact: they only
delimit panels, and the closed-form pieces are checked against u at the panel midpoint.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._normal import expm1_minus_x

# u-levels where panels are split; |u| >= U_CF is integrated in closed form.
LEVELS = np.array([-8.5, -4.5, -1.5, 1.5, 4.5, 8.5])
U_CF = 8.5
# The integrals are truncated to [-X_TAIL, max(r, 0) + X_TAIL]; mass outside is < 2e-19.
X_TAIL = 9.0
# Upper bound on the error of the closed-form pieces and of the truncation, per unit of the
# multipliers (see dual_error_floor in _integrals.py): Phi(-8.5) < 1e-17, phi(8.5) < 6e-17.
CLOSED_FORM_ERROR = 2e-16
MAX_BREAKS = 2 * len(LEVELS) + 2
MAX_PANELS = 160

GL8_X, GL8_W = np.polynomial.legendre.leggauss(8)
GL12_X, GL12_W = np.polynomial.legendre.leggauss(12)


@njit(cache=True, inline="always")
def s_value(x, k0, k1, r):
    """s(x) = l0 + l1 x - w(x) written as k0 + k1 x - (e^v - 1 - v), v = r x - r^2/2."""
    return k0 + k1 * x - expm1_minus_x(r * x - 0.5 * r * r)


@njit(cache=True, inline="always")
def s_slope(x, k1, r):
    return k1 - r * math.expm1(r * x - 0.5 * r * r)


@njit(cache=True)
def _level_crossing(c, a, b, k0, k1, r, increasing):
    """x in [a, b] with s(x) = c, s monotone there (safeguarded Newton, tolerance ~1e-10)."""
    lo = a
    hi = b
    x = 0.5 * (a + b)
    for _ in range(60):
        f = s_value(x, k0, k1, r) - c
        if not increasing:
            f = -f
        if f > 0.0:
            hi = x
        else:
            lo = x
        if hi - lo < 1e-10 * (1.0 + abs(x)):
            break
        d = s_slope(x, k1, r)
        if not increasing:
            d = -d
        xn = x - f / d if d > 0.0 else 0.5 * (lo + hi)
        if not (lo < xn < hi) or not math.isfinite(xn):
            xn = 0.5 * (lo + hi)
        if abs(xn - x) < 1e-11 * (1.0 + abs(x)):
            x = xn
            break
        x = xn
    return x


@njit(cache=True)
def breakpoints(k0, k1, l2, r, out):
    """Fill ``out`` with the sorted panel breakpoints; return their number.

    ``out[0]`` is -X_TAIL and the last one max(r, 0) + X_TAIL; in between, the crossings of
    the u-levels on the increasing (left) and decreasing (right) branch of s.
    """
    x_lo = -X_TAIL
    x_hi = max(r, 0.0) + X_TAIL
    l1_over_r = k1 / r + 1.0  # l1 / r
    if l1_over_r > 0.0:
        xm = (math.log1p(k1 / r) + 0.5 * r * r) / r
        xm = min(max(xm, x_lo), x_hi)
    else:
        xm = x_lo
    s_max = s_value(xm, k0, k1, r)
    s_lo = s_value(x_lo, k0, k1, r)
    s_hi = s_value(x_hi, k0, k1, r)
    n = 0
    out[n] = x_lo
    n += 1
    nlev = LEVELS.shape[0]
    for i in range(nlev):
        c = LEVELS[i] * l2
        if s_max <= c:
            break
        if s_lo >= c:
            continue
        out[n] = _level_crossing(c, x_lo, xm, k0, k1, r, True)
        n += 1
    for i in range(nlev - 1, -1, -1):
        c = LEVELS[i] * l2
        if s_max <= c or s_hi >= c:
            continue
        out[n] = _level_crossing(c, xm, x_hi, k0, k1, r, False)
        n += 1
    out[n] = x_hi
    n += 1
    # Newton tolerances can leave neighbours a hair out of order; panels must not overlap.
    for i in range(1, n):
        if out[i] < out[i - 1]:
            out[i] = out[i - 1]
    return n


@njit(cache=True)
def max_panel_width(r):
    """Widest Gauss-Legendre panel: the weights vary on the scale 1 (phi) and 1/r (w)."""
    return min(1.0, 2.0 / max(r, 1e-300))
