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

from ._jit import one_specialisation
from ._normal import expm1_minus_x, expm1_pair

# u-levels where panels are split; |u| >= U_CF is integrated in closed form.
LEVELS = np.array([-8.5, -4.5, -1.5, 1.5, 4.5, 8.5])
U_CF = 8.5
# The integrals are truncated to [-X_TAIL, max(r, 0) + X_TAIL]; mass outside is < 2e-19.
X_TAIL = 9.0
MAX_BREAKS = 2 * len(LEVELS) + 2
MAX_PANELS = 160

GL8_X, GL8_W = np.polynomial.legendre.leggauss(8)
GL12_X, GL12_W = np.polynomial.legendre.leggauss(12)

# 17-point Gauss-Kronrod rule extending GL8 (tools/gauss_kronrod.py: 50-digit computation, exact
# to degree 25, positive weights; its odd-numbered nodes are the GL8 nodes). The witness's rule:
# its error is bounded from these three properties (``_quadrature_error``).
GK17_X = np.array(
    [
        -0.9933798758817162,
        -0.9602898564975363,
        -0.8941209068474564,
        -0.7966664774136267,
        -0.6723540709451586,
        -0.525532409916329,
        -0.36070109792813193,
        -0.1834346424956498,
        0.0,
        0.1834346424956498,
        0.36070109792813193,
        0.525532409916329,
        0.6723540709451586,
        0.7966664774136267,
        0.8941209068474564,
        0.9602898564975363,
        0.9933798758817162,
    ]
)
GK17_W = np.array(
    [
        0.017822383320710355,
        0.04943939500213931,
        0.08248229893135833,
        0.11164637082683962,
        0.1362631092551722,
        0.1566526061681884,
        0.1720706085552113,
        0.18140002506803465,
        0.18444640574469165,
        0.18140002506803465,
        0.1720706085552113,
        0.1566526061681884,
        0.1362631092551722,
        0.11164637082683962,
        0.08248229893135833,
        0.04943939500213931,
        0.017822383320710355,
    ]
)


@njit(cache=True, inline="always")
def s_value(x, k0, k1, r):
    """s(x) = l0 + l1 x - w(x) written as k0 + k1 x - (e^v - 1 - v), v = r x - r^2/2."""
    return k0 + k1 * x - expm1_minus_x(r * x - 0.5 * r * r)


@njit(cache=True, inline="always")
def s_slope(x, k1, r):
    return k1 - r * expm1_pair(r * x - 0.5 * r * r)[0]


# Level crossings are located to |u - L| <= U_TOL: they only delimit panels. The closed-form
# pieces then still have |u| >= U_CF - U_TOL (see dual_error_floor in _dual.py).
U_TOL = 0.02


@one_specialisation
@njit(cache=True)
def _crossing(c, x0, lo, hi, k0, k1, r, tol, increasing):
    """x in [lo, hi] with |s(x) - c| <= tol, by Newton from x0 with a bisection safeguard.

    s is concave and monotone on [lo, hi] (``increasing`` on the left branch, decreasing on the
    right) with s - c changing sign there, so Newton from inside the superlevel set overshoots
    once and then converges monotonically from outside.
    """
    half_r2 = 0.5 * r * r
    x = x0
    for _ in range(60):
        v = r * x - half_r2
        em1, emv = expm1_pair(v)
        f = k0 + k1 * x - emv - c
        if abs(f) <= tol:
            return x
        inside = f > 0.0
        if inside == increasing:
            hi = x
        else:
            lo = x
        d = k1 - r * em1
        xn = x - f / d if d != 0.0 else 0.5 * (lo + hi)
        if not (lo < xn < hi) or not math.isfinite(xn):
            xn = 0.5 * (lo + hi)
        if hi - lo <= 1e-14 * (1.0 + abs(x)):
            return xn
        x = xn
    return x


N_GUIDE = 2 * len(LEVELS)


@njit(cache=True)
def breakpoints(k0, k1, l2, r, out):
    """Fill ``out`` with the sorted panel breakpoints; return their number.

    ``out[0]`` is -X_TAIL and the last one max(r, 0) + X_TAIL; in between, the crossings of
    the u-levels on the increasing (left) and decreasing (right) branch of s, found from the
    top level down so that each search starts next to its answer.
    """
    return breakpoints_guided(k0, k1, l2, r, out, np.full(N_GUIDE, np.nan))


@njit(cache=True)
def breakpoints_guided(k0, k1, l2, r, out, guide):
    """``breakpoints``, starting each crossing search from ``guide`` where it can.

    ``guide[i]`` and ``guide[len(LEVELS) + i]`` hold the left and right crossings of level i
    from an earlier call (NaN: none) and are updated. Newton's iterates and the witness move
    theta so little that an old crossing usually still meets the tolerance: one evaluation of
    s instead of a search. A guide outside the bracket of its branch is ignored, so any guide
    gives valid breakpoints.
    """
    x_lo = -X_TAIL
    x_hi = max(r, 0.0) + X_TAIL
    if k1 / r + 1.0 > 0.0:  # l1 > 0: s has an interior maximum
        xm = (math.log1p(k1 / r) + 0.5 * r * r) / r
        xm = min(max(xm, x_lo), x_hi)
    else:
        xm = x_lo
    s_max = s_value(xm, k0, k1, r)
    s_lo = s_value(x_lo, k0, k1, r)
    s_hi = s_value(x_hi, k0, k1, r)
    tol = U_TOL * l2
    nlev = LEVELS.shape[0]
    top = nlev - 1
    while top >= 0 and LEVELS[top] * l2 >= s_max:
        top -= 1
    # Left branch, from the top level down (x decreasing); stored in reverse afterwards.
    left = np.empty(nlev)
    nleft = 0
    x = xm
    for i in range(top, -1, -1):
        c = LEVELS[i] * l2
        if s_lo >= c:
            break
        if nleft == 0:
            # First guess: drop along the linear part, s ~ s_max + l1 (x - xm).
            l1 = k1 + r
            x = xm - (s_max - c) / l1 if l1 > 0.0 else x_lo
            x = max(x, x_lo)
        if x_lo < guide[i] < xm:
            x = guide[i]
        x = _crossing(c, x, x_lo, xm, k0, k1, r, tol, True)
        guide[i] = x
        left[nleft] = x
        nleft += 1
    n = 0
    out[n] = x_lo
    n += 1
    for i in range(nleft - 1, -1, -1):
        out[n] = left[i]
        n += 1
    # Right branch, from the top level down (x increasing).
    x = xm
    first = True
    for i in range(top, -1, -1):
        c = LEVELS[i] * l2
        if s_hi >= c:
            break
        if first:
            # First guess: the exponential part dominates, w(x) ~ l0 + l1 xm - c.
            arg = s_max - c + math.exp(r * xm - 0.5 * r * r)
            x = (math.log(arg) + 0.5 * r * r) / r if arg > 0.0 else x_hi
            x = min(max(x, xm), x_hi)
            first = False
        if xm < guide[nlev + i] < x_hi:
            x = guide[nlev + i]
        x = _crossing(c, x, xm, x_hi, k0, k1, r, tol, False)
        guide[nlev + i] = x
        out[n] = x
        n += 1
    out[n] = x_hi
    n += 1
    for i in range(1, n):
        if out[i] < out[i - 1]:
            out[i] = out[i - 1]
    return n


@njit(cache=True)
def max_panel_width(r):
    """Widest Gauss-Legendre panel: the weights vary on the scale 1 (phi) and 1/r (w).

    2.5 / r rather than 2 / r: 7% faster, the same worst error on the reference grid (-2.95e-7),
    52 instead of 39 of its 2,514 points above 1e-8; 3 / r and 4 / r lost accuracy (worst 3.1e-7
    and 4.6e-7, 115 and 201 points above 1e-8).
    """
    return min(1.0, 2.5 / max(r, 1e-300))
