"""Rigorous (ball-arithmetic) checks of certified radii with python-flint's Arb (docs/math.md §10).

Nothing here uses the Numba kernels or SciPy: every number that decides a proof is an Arb ball
(a midpoint and a radius that provably contains the exact value), and a check passes only when
the whole ball lies on the right side. The inputs ``q, m1, m2, r`` and the multipliers are
binary64 numbers, which Arb represents exactly.

Three certificates, each a lower bound on the worst-case probability ``p(r)`` of Theorem 3:

* **Cohen** (``cohen_holds``): ``p(r) >= Phi(Phi^{-1}(q) - r) >= 1/2`` iff ``Phi(r) <= q``.
* **Strip** (``strip_dual``): the closed-form dual of Corollary 3.1 at ``l2 = 0``, with
  ``(l0, l1)`` chosen so that ``s(x) = l0 + l1 x - w(x)`` vanishes at the strip ends
  ``w2 < w1`` (any binary64 numbers; a poor choice only lowers the bound).
* **Dual** (``dual``): weak duality, ``D(lam; r) <= p(r)`` for every ``lam >= 0``, with
  ``D(lam; r) = 1 - l0 (1 - q) + l1 m1 + l2 m2 - E[l2 psi(u(X))]``,
  ``u = s / l2`` and ``psi(t) = phi(t) - t (1 - Phi(t))``. The integrand is entire in ``x``,
  so Arb's adaptive Gauss-Legendre integration (``acb.integral``, error bounds from the
  integrand's maximum on ellipses in the complex plane) gives a rigorous enclosure on a finite
  interval; the two tails are bounded in closed form from ``psi(t) <= max(0, -t) + phi(t)``.
"""

from __future__ import annotations

import itertools
import math
from contextlib import contextmanager
from typing import Any

from flint import acb, arb, ctx

# Working precision (bits) of the first attempt, and of the retry when a check is undecided
# (the ball straddles 1/2). Most checks need one attempt; precision is cheap next to the
# number of integrand evaluations.
PREC = 128
PREC_RETRY = 256
# The finite integration interval is [-TAIL, r + TAIL]; the tails beyond are bounded in closed
# form and are below 1e-40 relative to the multipliers.
TAIL = 14.0
# Where |u| >= U_SPLIT the integrand is replaced by its closed form (u <= -U_SPLIT: l2 psi(u) =
# -s + l2 psi(-u), the last term in [0, l2 phi(U_SPLIT)]) or by [0, l2 phi(U_SPLIT)]
# (u >= U_SPLIT): far from the transitions u is huge (tiny l2), and its complex extension
# there defeats the integrator.
U_SPLIT = 30.0
# Integration limits per dual evaluation (Arb's defaults are sized for far smoother
# integrands): evaluations of the integrand and the degree of the Gauss-Legendre rule.
EVAL_LIMIT = 200_000
DEG_LIMIT = 96


@contextmanager
def _precision(bits: int) -> Any:
    saved = ctx.prec
    ctx.prec = bits
    try:
        yield
    finally:
        ctx.prec = saved


def _norm_sf(x: arb) -> arb:
    """1 - Phi(x), accurate in the upper tail."""
    return (x / arb(2).sqrt()).erfc() / 2


def _phi(x: arb) -> arb:
    return (-x * x / 2).exp() / (2 * arb.pi()).sqrt()


def exceeds_half(value: arb) -> bool | None:
    """True if the ball lies above 1/2, False if at or below, None if it straddles 1/2."""
    half = arb(0.5)
    if value > half:
        return True
    if value <= half:
        return False
    return None


def cohen_holds(q: float, r: float) -> bool:
    """Proves ``r <= Phi^{-1}(q)`` (Cohen's radius, valid whenever ``q <= p_A``)."""
    if r <= 0.0:
        return True
    with _precision(PREC):
        # Phi(r) <= q  <=>  1 - Phi(r) >= 1 - q (1 - q is exact in binary64 for q >= 1/2).
        return bool(_norm_sf(arb(r)) >= 1 - arb(q))


def max_gradient_norm(q: float, prec: int = PREC) -> arb:
    """M(q) = phi(Phi^{-1}(q)) as a ball, with Phi^{-1}(q) = sqrt(2) erfcinv(2 (1 - q))."""
    with _precision(prec):
        z = arb(2).sqrt() * (2 * (1 - arb(q))).erfcinv()
        return _phi(z)


def strip_dual(q: float, m1: float, r: float, w2: float, w1: float, prec: int = PREC) -> arb:
    """Lower-bound ball for ``p(r)`` from the strip ``[w2, w1]`` (``l2 = 0``), or NaN ball.

    ``l1 = (w(w1) - w(w2)) / (w1 - w2)`` and ``l0 = w(w1) - l1 w1`` make ``s`` vanish at both
    ends; ``s`` is concave, so it is positive exactly on ``(w2, w1)`` and
    ``E[max(0, s(X))] = l0 P(w2 < X < w1) - l1 (phi(w2) - phi(w1)) - P(w2 < X + r < w1)``.
    Finite ``w2 < w1`` only (the Cohen case ``w2 = -inf`` is ``cohen_holds``).
    """
    if not (math.isfinite(w2) and math.isfinite(w1) and w2 < w1):
        return arb("nan")
    with _precision(prec):
        R, W1, W2 = arb(r), arb(w1), arb(w2)
        half = R * R / 2
        e1, e2 = (R * W1 - half).exp(), (R * W2 - half).exp()
        l1 = (e1 - e2) / (W1 - W2)
        l0 = e1 - l1 * W1
        if not (l0 >= 0 and l1 >= 0):
            return arb("nan")
        # q - P(w2 < X < w1) from the tails, so that it keeps its digits as q -> 1.
        outside = _norm_sf(-W2) + _norm_sf(W1)
        slack_q = outside - (1 - arb(q))
        slack_m1 = arb(m1) - _phi(W2) + _phi(W1)
        moved = _norm_sf(W2 - R) - _norm_sf(W1 - R)
        return l0 * slack_q + l1 * slack_m1 + moved


def dual(
    q: float,
    m1: float,
    m2: float,
    r: float,
    l0: float,
    l1: float,
    l2: float,
    prec: int = PREC,
) -> arb:
    """Lower-bound ball for ``p(r)``: weak duality at ``lam = (l0, l1, l2)``, ``l2 > 0``.

    Returns a ball containing a number ``<= p(r)`` (or a NaN ball if ``lam`` is not usable or
    the integration gave up). See the module docstring for the formula.
    """
    if not (l0 >= 0.0 and l1 >= 0.0 and l2 > 0.0 and r > 0.0) or not all(
        math.isfinite(v) for v in (l0, l1, l2, r)
    ):
        return arb("nan")
    with _precision(prec):
        R, L0, L1, L2 = arb(r), arb(l0), arb(l1), arb(l2)
        half_r2 = R * R / 2
        inv_sqrt2 = 1 / arb(2).sqrt()
        inv_sqrt2pi = 1 / (2 * arb.pi()).sqrt()
        c_l0, c_l1, c_l2, c_r, c_half = acb(L0), acb(L1), acb(L2), acb(R), acb(half_r2)
        c_inv_l2, c_is2, c_isp = acb(1 / L2), acb(inv_sqrt2), acb(inv_sqrt2pi)

        def s_of(x: acb) -> acb:
            return c_l0 + c_l1 * x - (c_r * x - c_half).exp()

        def integrand(x: acb, analytic: bool) -> acb:
            # l2 psi(u) phi(x) with u = (l0 + l1 x - e^{r x - r^2/2}) / l2; entire in x, so
            # nothing needs checking when Arb asks for holomorphy (``analytic``).
            # s in centred (mean-value) form, s(m) + s'(x) (x - m) with s' over the whole ball
            # (exact: the mean of s' over the segment [m, x] lies in the convex ball s'(x)).
            # Evaluated directly, the two nearly cancelling slopes l1 and r w each widen s, and
            # 1 / l2 (up to 1e11 at small radii) blows that width up beyond any use.
            m = x.mid()
            s = s_of(m) + (c_l1 - c_r * (c_r * x - c_half).exp()) * (x - m)
            u = s * c_inv_l2
            upper_tail = (u * c_is2).erfc() / 2  # 1 - Phi(u)
            psi = (-u * u / 2).exp() * c_isp - u * upper_tail
            return c_l2 * psi * (-x * x / 2).exp() * c_isp

        lo, hi = -TAIL, r + TAIL
        tol = arb(2) ** (-(prec - 28))

        def integrate(a: float, b: float) -> arb:
            total = acb.integral(
                integrand,
                a,
                b,
                rel_tol=tol,
                abs_tol=tol,
                eval_limit=EVAL_LIMIT,
                deg_limit=DEG_LIMIT,
            )
            return total.real

        inside = _split_integral(l0, l1, l2, r, lo, hi, R, L0, L1, L2, integrate)
        if inside is None:  # the split could not be proved: integrate in one piece
            inside = integrate(lo, hi)
        # Tails: l2 psi(u) <= max(0, -s) + l2 phi(u) <= max(0, -s) + l2 / sqrt(2 pi), and
        # -s = w - l0 - l1 x <= w + l1 |x| on the left, <= w on the right (x >= 0).
        lo_a, hi_a = arb(lo), arb(hi)
        left = _norm_sf(R - lo_a) + L1 * _phi(lo_a) + L2 * inv_sqrt2pi * _norm_sf(-lo_a)
        right = _norm_sf(hi_a - R) + L2 * inv_sqrt2pi * _norm_sf(hi_a)
        tails = left + right
        # The tails are non-negative: subtract [0, tails].
        upper_part = inside + arb(0).union(tails)
        return 1 - L0 * (1 - arb(q)) + L1 * arb(m1) + L2 * arb(m2) - upper_part


def _s_float(l0: float, l1: float, r: float, x: float) -> float:
    """s(x) = l0 + l1 x - w(x) in binary64, in the form that keeps its digits for small r."""
    v = r * x - 0.5 * r * r
    return (l0 - 1.0 + 0.5 * r * r) + (l1 - r) * x - (math.expm1(v) - v)


def _crossing(l0: float, l1: float, r: float, level: float, a: float, b: float) -> float:
    """A point in [a, b] where s crosses ``level`` (s - level changes sign on [a, b])."""
    fa = _s_float(l0, l1, r, a) - level
    for _ in range(200):
        m = 0.5 * (a + b)
        if m in (a, b):
            break
        fm = _s_float(l0, l1, r, m) - level
        if (fm > 0.0) == (fa > 0.0):
            a, fa = m, fm
        else:
            b = m
    return 0.5 * (a + b)


def _split_integral(
    l0: float,
    l1: float,
    l2: float,
    r: float,
    lo: float,
    hi: float,
    R: arb,
    L0: arb,
    L1: arb,
    L2: arb,
    integrate: Any,
) -> arb | None:
    """E[l2 psi(u) 1{lo < X < hi}] with the pieces where |u| >= U_SPLIT in closed form.

    ``s`` is concave, so ``u`` rises to its maximum at ``x* = (log(l1 / r) + r^2 / 2) / r``
    (``-inf`` when ``l1 = 0``) and falls after it. The crossings of ``u = -U, +U`` on either
    side are found in binary64 (a hint); each closed-form piece is then *proved* in Arb: a left
    piece ``[lo, c]`` needs ``s'(c) >= 0`` and ``u(c) <= -U`` (u rises up to c), a right piece
    ``[c, hi]`` needs ``s'(c) <= 0`` and ``u(c) <= -U``, the plateau ``[c, c']`` needs
    ``u >= U`` at both ends (concavity). Returns None if a proof fails.
    """
    # The binary64 crossings are placed one unit of u beyond the levels that Arb then checks,
    # so that rounding in the hint cannot put a checked endpoint on the wrong side.
    level = (U_SPLIT + 1.0) * l2
    x_star = (math.log(l1 / r) + 0.5 * r * r) / r if l1 > 0.0 else -math.inf
    x_star = min(max(x_star, lo), hi)

    def up(x: float) -> bool:
        return _s_float(l0, l1, r, x) >= level

    def down(x: float) -> bool:
        return _s_float(l0, l1, r, x) <= -level

    # Breakpoints: [lo, c1] u <= -U, [c1, c2] transition, [c2, c3] u >= U, [c3, c4]
    # transition, [c4, hi] u <= -U; u rises on [lo, x*] and falls on [x*, hi].
    if down(x_star):
        c1 = c2 = c3 = c4 = x_star
    else:
        c1 = _crossing(l0, l1, r, -level, lo, x_star) if down(lo) else lo
        c4 = _crossing(l0, l1, r, -level, x_star, hi) if down(hi) else hi
        if up(x_star):
            c2 = c1 if up(c1) else _crossing(l0, l1, r, level, c1, x_star)
            c3 = c4 if up(c4) else _crossing(l0, l1, r, level, x_star, c4)
        else:
            c2 = c3 = x_star
    pts = [lo, c1, c2, c3, c4, hi]
    if any(b < a for a, b in itertools.pairwise(pts)):
        return None

    U = arb(U_SPLIT)

    def s_at(x: float) -> arb:
        X = arb(x)
        return L0 + L1 * X - (R * X - R * R / 2).exp()

    def ds_at(x: float) -> arb:
        X = arb(x)
        return L1 - R * (R * X - R * R / 2).exp()

    def Phi(x: float) -> arb:
        return 1 - _norm_sf(arb(x))

    phi_u = L2 * _phi(U)  # l2 phi(U) bounds l2 psi(u) for u >= U, and l2 psi(-u) for u <= -U

    def negative_piece(a: float, b: float) -> arb:
        # l2 psi(u) = -s + l2 psi(-u): the first part exactly, the second in [0, l2 phi(U)].
        A, B = arb(a), arb(b)
        minus_s = (
            (_norm_sf(A - R) - _norm_sf(B - R))
            - L0 * (_norm_sf(A) - _norm_sf(B))
            - L1 * (_phi(A) - _phi(B))
        )
        return minus_s + arb(0).union(phi_u * (Phi(b) - Phi(a)))

    total = arb(0)
    if c1 > lo:
        if not (ds_at(c1) >= 0 and s_at(c1) <= -U * L2):
            return None
        total += negative_piece(lo, c1)
    if c2 > c1:
        total += integrate(c1, c2)
    if c3 > c2:
        if not (s_at(c2) >= U * L2 and s_at(c3) >= U * L2):
            return None
        total += arb(0).union(phi_u * (Phi(c3) - Phi(c2)))
    if c4 > c3:
        total += integrate(c3, c4)
    if hi > c4:
        if not (ds_at(c4) <= 0 and s_at(c4) <= -U * L2):
            return None
        total += negative_piece(c4, hi)
    return total
