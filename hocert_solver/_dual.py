"""The dual value D(lam; r) and its certified lower bound: the witness's arithmetic (math.md §4-5).

From the integrals and residuals of ``_integrals`` (F0..F3, with F3 = p(r) - 1/2 - F0), the dual
value is, identically in lam, with e0 = l0 - 1 = k0 - r^2/2,
    D(lam; r) - 1/2 = F3 - e0 F0 - l1 F1 - l2 F2,
evaluated as such (``dual_excess``): the excess over 1/2 that certifies r, to relative
precision even where it is far below 1e-16 (q -> 1/2). Weak duality gives D <= p(r) for every
lam >= 0. ``certified_excess`` subtracts bounds on every error (the Kronrod rule's, from
``_quadrature_error``; closed-form pieces, truncation, rounding): a positive value certifies r.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy import special

from ._integrals import (
    EPS,
    N_INTEGRALS,
    OK,
    RULE_GK17,
    integrals,
    integrals_on,
    residuals,
)
from ._normal import phi
from ._quadrature import (
    GK17_X,
    MAX_BREAKS,
    MAX_PANELS,
    N_GUIDE,
    U_CF,
    U_TOL,
    X_TAIL,
    breakpoints_guided,
)
from ._quadrature_error import certified_quadrature


@njit(cache=True, inline="always")
def dual_excess(res, e0, l1, l2):
    """D(lam; r) - 1/2 from the residuals at (lam, r), with e0 = l0 - 1 (module docstring)."""
    return res[3] - e0 * res[0] - l1 * res[1] - l2 * res[2]


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
    return 0.5 + dual_excess(res, k0 - 0.5 * r * r, k1 + r, l2)


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
# Relative rounding error of one term of the witness's sums, in eps: a node's integrand is a
# product of a few correctly rounded factors (exp within 1 ulp, the Mills-ratio polynomial
# within 3e-16 = 1.4 eps, tools/fit_mills_ratio.py), its weight and node, and the final
# combination of four terms (dual_excess); 32 covers them several times over.
ROUNDING_PER_TERM = 32.0


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
def dual_error_floor(e0, l1, l2, r, q, m1, m2, integ, n_terms):
    """Bound on the non-quadrature errors of ``dual_excess`` (docs/math.md, "witness").

    ``e0`` = l0 - 1.

    Writing D = 1 - l0 (1 - q) + l1 m1 + l2 m2 - l2 E[psi(u)] with
    psi(u) = phi(u) - u (1 - Phi(u)), the closed-form pieces (h = 0 where u >= U_CF, h = 1 where
    u <= -U_CF, and no phi(u) term) raise the computed D by l2 psi(|u|) <= l2 phi(u) / u^2 there
    (the Mills-ratio bound), so the phi(u) mass they omit (``integ[7]``, bounded piece by piece
    from the concavity of u) counts divided by (U_CF - U_TOL)^2. The truncation of the
    quadrature to [-9, r + 9] is bounded by ``truncation_bound``. Rounding: a chain of
    ``n_terms`` additions errs by at most (n_terms - 1) eps / 2 times the sum of the magnitudes
    of what it adds (Higham, *Accuracy and Stability of Numerical Algorithms*, section 4.2;
    the witness adds each panel's nodes, then the panels' sums, so its longest chain is that of
    one panel's nodes plus the panels and closed-form pieces), and each term carries at most
    ROUNDING_PER_TERM eps of its own; the magnitudes are taken from the absolute sums (rounded
    up by 1e-12 of them: they are sums too).
    """
    # The terms of dual_excess: F3 = (q - 1/2) - I3 (q - 1/2 exact), e0 F0, l1 F1, l2 F2.
    mags = (
        (q - 0.5)
        + integ[6]
        + abs(e0) * ((1.0 - q) + integ[0])
        + l1 * (abs(m1) + integ[5])
        + l2 * (m2 + integ[2])
    )
    # There |u| >= U_CF - U_TOL and the omitted part of D is l2 psi(|u|) <= l2 phi(u) / u^2.
    omitted_phi = l2 * integ[7] * _CF_PSI_FACTOR
    rounding = (ROUNDING_PER_TERM + 0.5 * n_terms) * EPS * mags * (1.0 + 1e-12)
    return rounding + omitted_phi + truncation_bound(1.0 + e0, l1, l2, r)


@njit(cache=True)
def certified_excess(k0, k1, l2, r, q, m1, m2):
    """Lower bound on p(r) - 1/2 from the multipliers: D - 1/2 - (error bound), or -inf.

    D is evaluated with the 17-point Gauss-Kronrod rule; the bound on its quadrature error
    (``_quadrature_error``: analyticity on Bernstein ellipses, panel by panel) and the
    closed-form, truncation and rounding floor are subtracted. Since D <= p(r) for every
    lam >= 0 (weak duality), a value above 0 certifies r. The excess is returned rather than D
    so that it keeps its digits when it is far below 1e-16 (q -> 1/2, r -> 0).
    """
    return certified_excess_into(
        k0, k1, l2, r, q, m1, m2, np.empty(N_INTEGRALS), np.full(N_GUIDE, np.nan), 1.0
    )


@njit(cache=True)
def certified_excess_into(k0, k1, l2, r, q, m1, m2, integ, guide, share):
    """``certified_excess``, leaving the Kronrod-rule integrals at theta in ``integ``.

    The quadrature's error bound is refined (``_quadrature_error``) until it is at most
    ``share`` of the slack the other bounds leave (1: only as far as it decides whether r is
    certified; a caller that steps r forward by the result asks for a tight one, e.g. 0.1).
    The result is a lower bound on p(r) - 1/2 whatever the share.

    From them the caller gets the residuals at (lam, r) for free, which is how a Newton step
    that was never evaluated is checked (``_witness._certify``). ``guide``: see
    ``integrals_guided`` (the panels only affect the quadrature error, which is bounded on
    whatever panels are used).
    """
    e0 = k0 - 0.5 * r * r  # l0 - 1
    l1 = k1 + r
    if not (l2 > 0.0) or e0 < -1.0 or l1 < 0.0:
        return -math.inf
    res = np.empty(4)
    br = np.empty(MAX_BREAKS)
    nb = breakpoints_guided(k0, k1, l2, r, br, guide)
    panels = np.empty((MAX_PANELS, 5))
    jac = np.empty((4, 4))  # unused: the witness's rule has no Jacobian
    if integrals_on(br, nb, k0, k1, l2, r, RULE_GK17, False, integ, jac, panels) != OK:
        return -math.inf
    residuals(integ, q, m1, m2, res)
    d17 = dual_excess(res, e0, l1, l2)
    if not math.isfinite(d17):
        return -math.inf
    n_panels = 0
    while n_panels < MAX_PANELS and not math.isnan(panels[n_panels, 0]):
        n_panels += 1
    # Each integral adds the rule's nodes panel by panel, then the panels' sums, to the sum
    # of the closed-form pieces (at most one per breakpoint, a few terms each): the terms of
    # its longest chain of additions.
    n_terms = GK17_X.shape[0] + n_panels + 4 * MAX_BREAKS
    slack = d17 - dual_error_floor(e0, l1, l2, r, q, m1, m2, integ, n_terms)
    budget = share * slack if slack > 0 else slack
    correction, bound = certified_quadrature(panels, k0, k1, l2, r, budget)
    return slack + correction - bound
