"""The one-dimensional case m2 = 0: Corollary 3.1, Eq. (6), (7a), (7b) (docs/math.md, "m2 = 0").

The worst-case classifier is the strip w2 <= x <= w1 with
    (7a) Phi(w1) - Phi(w2) = q,   (7b) phi(w2) - phi(w1) = m1,
    (6)  Phi(w1 - r) - Phi(w2 - r) = 1/2,
and R is the root of (6) to the right of the strip's centre. Its dual multipliers are explicit
(l2 = 0, s(x) = l0 + l1 x - w(x) vanishes at w2 and w1), so the witness
    D = l0 (q - P(w2 < X < w1)) + l1 (m1 - phi(w2) + phi(w1)) + P(w2 < X + r < w1)
is a closed form, exact up to rounding. Because R is non-decreasing in m2, R(q, m1, 0) is also a
sound lower bound for every m2 > 0; the solver uses it as a fallback and as a starting point.
"""

from __future__ import annotations

import math

from numba import njit

from ._normal import norm_isf, norm_mass, norm_sf, phi

EPS = 2.220446049250313e-16
# Cohen's radius from norm_isf is rounded down by this much (see certified_strip_radius).
COHEN_MARGIN_REL = 1024.0 * EPS
COHEN_MARGIN_ABS = 4e-15


@njit(cache=True)
def strip(q, m1):
    """(w2, w1) of the worst-case strip for -M(q) <= m1 <= M(q) (infinite at the ends)."""
    tail = 1.0 - q  # exact for q >= 1/2
    z = norm_isf(tail)
    big_m = phi(z)
    if m1 <= -big_m:
        return -math.inf, z
    if m1 >= big_m:
        return -z, math.inf
    # Unknown w2 in (-inf, -z): g(w2) = phi(w2) - phi(w1(w2)) - m1 is increasing, with
    # g' = phi(w2) (w1 - w2); w1 = isf(tail - Phi(w2)).
    lo = -40.0
    hi = -z
    w2 = max(-z - 1.0, -10.0)
    w1 = 0.0
    for _ in range(200):
        lower = norm_sf(-w2)
        w1 = norm_isf(tail - lower) if tail > lower else math.inf
        g = phi(w2) - phi(w1) - m1
        if g > 0.0:
            hi = w2
        else:
            lo = w2
        dg = phi(w2) * (w1 - w2)
        step = g / dg if dg > 0.0 and math.isfinite(dg) else math.inf
        wn = w2 - step
        if not (lo < wn < hi):
            wn = 0.5 * (lo + hi)
        if abs(wn - w2) <= 4.0 * EPS * (1.0 + abs(w2)) or hi - lo <= 4.0 * EPS * (1.0 + abs(w2)):
            w2 = wn
            break
        w2 = wn
    lower = norm_sf(-w2)
    w1 = norm_isf(tail - lower) if tail > lower else math.inf
    return w2, w1


@njit(cache=True)
def strip_prob(w2, w1, r):
    """p(r) = P(w2 < X + r < w1)."""
    return norm_mass(w2 - r, w1 - r)


@njit(cache=True)
def strip_radius(w2, w1):
    """Root of Eq. (6) to the right of max(0, centre); +inf if w1 = +inf."""
    if w1 == math.inf:
        return math.inf
    if w2 == -math.inf:
        return w1
    centre = 0.5 * (w1 + w2)
    lo = max(centre, 0.0)
    hi = w1  # p(w1) = 1/2 - Phi(w2 - w1) < 1/2
    r = hi
    for _ in range(200):
        g = strip_prob(w2, w1, r) - 0.5
        if g > 0.0:
            lo = r
        else:
            hi = r
        dg = phi(w2 - r) - phi(w1 - r)  # d/dr of (6), negative right of the centre
        rn = r - g / dg if dg < 0.0 else 0.5 * (lo + hi)
        if not (lo < rn < hi):
            rn = 0.5 * (lo + hi)
        if abs(rn - r) <= 4.0 * EPS * (1.0 + r) or hi - lo <= 4.0 * EPS * (1.0 + r):
            r = rn
            break
        r = rn
    return r


@njit(cache=True)
def strip_multipliers(w2, w1, r):
    """(l0, l1) with s(w2) = s(w1) = 0 at this r (l1 = 0 when w2 = -inf)."""
    half = 0.5 * r * r
    e1 = math.exp(r * w1 - half)
    if w2 == -math.inf:
        return e1, 0.0
    e2 = math.exp(r * w2 - half)
    l1 = (e1 - e2) / (w1 - w2)
    return e1 - l1 * w1, l1


@njit(cache=True)
def strip_dual(q, m1, w2, w1, r):
    """Certified lower bound on p(r): the closed-form dual at l2 = 0 minus a rounding bound.

    The q-term is formed from the tail masses, (P(X < w2) + P(X > w1)) - (1 - q), so that it
    keeps its digits when q -> 1, where l0 ~ exp(r^2 / 2) is large.
    """
    l0, l1 = strip_multipliers(w2, w1, r)
    if not (l0 >= 0.0 and l1 >= 0.0):
        # Weak duality needs lam >= 0 (always true here since w2 < -z < 0 < z < w1).
        return -math.inf
    pw2 = phi(w2) if math.isfinite(w2) else 0.0
    lower = norm_sf(-w2) if math.isfinite(w2) else 0.0
    upper = norm_sf(w1)
    tail = 1.0 - q  # exact for q >= 1/2
    d = l0 * ((lower + upper) - tail) + l1 * (m1 - pw2 + phi(w1)) + strip_prob(w2, w1, r)
    # Rounding: each product is a multiplier times a difference of quantities computed to a
    # few ulp; bound by the magnitudes involved.
    err = (
        16.0 * EPS * (1.0 + abs(l0) * (lower + upper + tail) + abs(l1) * (abs(m1) + pw2 + phi(w1)))
    )
    return d - err


@njit(cache=True)
def certified_strip_radius(q, m1):
    """R(q, m1, 0) stepped back until its closed-form dual certifies it.

    Returns (radius, w2, w1); radius is +inf when m1 >= M(q), and 0.0 if no witness is found
    (never happens for valid input; callers treat it as a failure).
    """
    w2, w1 = strip(q, m1)
    r = strip_radius(w2, w1)
    if r == math.inf:  # m1 >= M(q): unbounded
        return r, w2, w1
    if w2 == -math.inf:
        # m1 <= -M(q): Cohen's radius Phi^{-1}(q), the exact optimum of the q-constraint alone
        # (its Neyman-Pearson set is a half-space), rounded down past norm_isf's error
        # (measured against Arb: at most 268 ulps relative and 9e-16 absolute).
        return max(r - (COHEN_MARGIN_REL * r + COHEN_MARGIN_ABS), 0.0), w2, w1
    delta = 1e-13 * (1.0 + r)
    for _ in range(30):
        rw = r - delta
        if rw <= 0.0:
            break
        if strip_dual(q, m1, w2, w1, rw) > 0.5:
            return rw, w2, w1
        delta *= 4.0
    return 0.0, w2, w1
