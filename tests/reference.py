"""Independent, slow, high-precision reference for the directional radius R(q, m1, m2).

Used only by the test-suite, to check the fast solver in ``hocert_solver``.  It shares no code
with that solver (NumPy, SciPy and mpmath only) and takes a different numerical route (the dual
of the linear program, maximised with an error-controlled adaptive quadrature), so that an
error in one is unlikely to be repeated in the other.

Problem (Theorem 3 of the paper; conventions of docs/math.md)
-------------------------------------------------------------
X, Y are independent N(0, 1) and sigma = 1, so radii are in units of sigma.  For a move of length
r along a unit direction v the worst-case probability of the top class is the linear program

    p(r) = min_{f: R^2 -> [0, 1]} E[f(X + r, Y)]
           s.t.  E f >= q,   E[X f] >= m1,   E[Y f] >= m2,

where q is a lower bound on p_A, m1 a lower bound on <beta, v> (negative: the gradient points
against the move, adverse) and m2 >= 0 a lower bound on the norm of the part of beta orthogonal
to v.  The constraints are inequalities, which gives the paper's "if c1 < 0, set c1 = 0"
clause.  The certified radius along v is R = sup{r >= 0 : p(r) > 1/2}; the certified set along
a ray is the interval [0, R) (Proposition 1).  M(q) = phi(Phi^{-1}(q)) bounds |E[X f]| and
|E[Y f]| jointly: the inputs must satisfy max(m1, 0)^2 + m2^2 <= M(q)^2, and m1 < -M(q) acts
as m1 = -M(q).

Method
------
* m2 = 0 (Corollary 3.1, equations (6), (7a), (7b)): the worst case is an interval [w2, w1] in
  x, independent of r; solved in mpmath with 50 significant digits.
* m2 > 0: for fixed r, p(r) is the maximum over lam = (l0, l1, l2) >= 0 of the concave dual
  (docs/math.md section 4)

      D(lam; r) = l0 q + l1 m1 + l2 m2 - E[l2 psi(t(X) / l2)],   t = w - l0 - l1 X,
      w(x) = exp(r x - r^2 / 2),  psi(s) = phi(s) - s (1 - Phi(s)).

  With u(x) = (l0 + l1 x - w(x)) / l2 (the Neyman-Pearson c(x) of Theorem 3) and
  h = 1 - Phi(u), the gradient of D is (E h - (1 - q), m1 + E[X h], m2 - E phi(u)) (the
  residuals of (4), (5b), (5a)) and D = 1 - E[w h] + lam . grad D.  D - 1/2 is formed without
  any term of size 1/2, as F3 + (l0 - 1, l1, l2) . grad D with F3 = (q - 1/2) - E[(w - 1) h]
  (``_evaluate``), so that p(r) - 1/2 keeps its relative precision when q - 1/2 is far below
  eps and r ~ q - 1/2 (the form of the solver's F3, docs/math.md section 5, computed here by
  this module's own quadrature).  D is maximised by a damped Newton method with the analytic
  Jacobian, on the face l1 > 0 or on the face l1 = 0 (the c1 < 0 clause), each in
  coordinates that keep u well conditioned (see the note above ``_MODE_ROWS``); the face is
  certified by the KKT sign of the dropped component.  All
  integrals are one-dimensional Gaussian integrals, computed by a vectorised adaptive
  Gauss-Legendre rule (15 against 30 nodes per panel) on panels split where u crosses fixed
  levels, at the maximum of u, at 0 and at r, with a per-panel error estimate and a bound on the
  rounding error of u.  Integrals use h = Phi(-u), so 1 - q keeps its digits as q -> 1.
* Starting points: exact limits (the half-space as r -> 0, the interval of Corollary 3.1 or the
  smoothed Cohen half-line as m2 -> 0), then continuation in r, reusing solved neighbours.
* R: p(0) = q > 1/2 and R >= Phi^{-1}(q) (monotonicity in m1, m2: the zeroth-order radius is a
  lower bound).  A safeguarded Newton iteration on p(r) - 1/2, using dp/dr = dD/dr at the
  optimum (envelope theorem), keeps a bracket [lo, hi] with p(lo) > 1/2 >= p(hi); since the
  certified set along the ray is an interval, every evaluated point lies on the correct side.
* R = +inf exactly on the boundary of the feasible disk, rho = sqrt(max(m1, 0)^2 + m2^2) / M(q)
  = 1 (for m2 = 0: m1 >= M(q)).  There the only feasible f with E f = q is the half-space
  {a x + b y + z >= 0} (a = m1 / M, b = m2 / M, z = Phi^{-1}(q)), or {y >= -z} when m1 <= 0, and
  p(r) = Phi(z + r max(a, 0)) > 1/2 for all r.  Strictly inside the disk R is finite: a
  half-space with slack in both moments, cut off at |x| <= K for K large, stays feasible and
  its shifted mass tends to 0, so p(r) -> 0 as r -> infinity.  The search therefore never
  declares +inf by itself; it raises if no r with p(r) < 1/2 is found below ``_R_MAX``.

Accuracy
--------
About 1e-13 for most inputs (checked against mpmath evaluations of D).  Near the boundary of the
disk the multipliers grow like 1 / (1 - rho) and beyond (up to 1e11 at rho = 1 - 1e-6,
q = 1 - 1e-7): D - 1/2 = F3 + (l0 - 1, l1, l2) . grad D then inherits lam times the rounding
error of the integrals, and the error of R reaches ~1e-10.  Near q = 1/2 the error is relative:
about 1e-15 of R down to q - 1/2 = 1e-14 (R ~ 1e-14), against the first-order radius
(q - 1/2) / (M sqrt(1 - b^2)).  ``RadiusInfo.radius_err`` is a conservative
estimate of it.  The same multipliers are the sensitivities of p to the inputs (dp/dq = l0,
...), so there R is ill-conditioned: one ulp of q can move it by 1e-4
(``RadiusInfo.dr_dq``, ...).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np
from scipy import special

__all__ = [
    "IntervalSolution",
    "RadiusInfo",
    "ReferenceSolverError",
    "big_m",
    "reference_interval",
    "reference_p",
    "reference_radius",
    "reference_radius_info",
]

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_EPS = float(np.finfo(float).eps)

# --- feasibility ------------------------------------------------------------------------------
#: rho^2 above 1 + this is rejected as infeasible; rho^2 >= 1 - _BOUNDARY_TOL is "on the boundary"
#: (radius +inf).  The band absorbs the rounding of m1 = a M, m2 = b M with a^2 + b^2 = 1.
_INFEASIBLE_TOL = 1e-12
_BOUNDARY_TOL = 8.0 * _EPS

# --- quadrature ------------------------------------------------------------------------------
_GL_LO = np.polynomial.legendre.leggauss(15)
_GL_HI = np.polynomial.legendre.leggauss(30)
#: levels of u at which panels are split (where h = Phi(-u) and phi(u) change shape)
_U_LEVELS = np.array([-12.0, -7.0, -3.5, -1.5, 0.0, 1.5, 3.5, 7.0, 12.0])
#: integration over x in [-_PAD, r + _PAD]; Phi(-13) < 1e-38, far below every tolerance
_PAD = 13.0
_GRID_STEP = 2.0
_QUAD_RTOL = 1e-16  # absolute tolerance per integral, in units of its natural scale
_QUAD_NOISE = 50.0 * _EPS  # panel differences below this times int |f| are rounding, not error
_QUAD_MAX_ROUNDS = 40
_QUAD_MAX_PANELS = 5_000

# --- dual Newton ------------------------------------------------------------------------------
_NEWTON_MAX_IT = 100
_RES_TOL = 1e-13  # max |residual| / scale for convergence
_RES_STALL_TOL = 1e-10  # accepted when the line search stalls at rounding level
_DECREMENT_TOL = 1e-22  # Newton decrement G . dlam (about 2 (p - D)) for convergence
_KKT_TOL = 1e-11  # sign checks of dropped multipliers / gradient components, scaled

# --- radius search ----------------------------------------------------------------------------
_R_MAX = 200.0
_R_COLD = 0.1  # cold starts are exact as r -> 0; continuation from here
_R_STEP = 0.5
_WALK_MAX_STEPS = 400
_R_MAX_EVALS = 200
_MP_DPS = 50


# ==============================================================================================
# Normal distribution helpers
# ==============================================================================================
def _phi(x: np.ndarray | float) -> np.ndarray | float:
    return np.exp(-0.5 * np.square(x)) / _SQRT_2PI


def big_m(q: float) -> float:
    """Largest possible ``||beta||_2`` when ``p_A = q``: ``M(q) = phi(Phi^{-1}(q))``.

    Parameters
    ----------
    q : float
        Probability in ``[1/2, 1)``.

    Returns
    -------
    float
        ``M(q)`` in double precision (dimensionless).  ``1 - q`` is exact in floating point for
        ``q >= 1/2``, so it is computed from the upper tail.
    """
    z = -float(special.ndtri(1.0 - q))
    return math.exp(-0.5 * z * z) / _SQRT_2PI


def _mp_ninv(p: mpmath.mpf) -> mpmath.mpf:
    """Phi^{-1}(p) to the working precision (Newton on mpmath's ncdf, from a double start)."""
    if p <= 0:
        return mpmath.mpf("-inf")
    if p >= 1:
        return mpmath.mpf("inf")
    if p > mpmath.mpf(0.5):
        return -_mp_ninv(1 - p)
    pf = float(p)
    if pf > 1e-300:
        x = mpmath.mpf(float(special.ndtri(pf)))
    else:  # far tail start
        x = -mpmath.sqrt(2 * mpmath.log(1 / p))
    tol = mpmath.mpf(10) ** (-(mpmath.mp.dps - 5))
    for _ in range(200):
        dx = (mpmath.ncdf(x) - p) / mpmath.npdf(x)
        x -= dx
        if abs(dx) <= tol * (1 + abs(x)):
            break
    return x


def _mp_bisect(fun: Callable[[Any], Any], lo: Any, hi: Any, increasing: bool, n: int = 70) -> Any:
    """Plain bisection on a monotone mpmath function (robust bracket shrink)."""
    for _ in range(n):
        mid = (lo + hi) / 2
        if (fun(mid) < 0) == increasing:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


# ==============================================================================================
# m2 = 0: Corollary 3.1, equations (6), (7a), (7b)
# ==============================================================================================
@dataclass(frozen=True)
class IntervalSolution:
    """Worst case of the one-dimensional problem (m2 = 0): f = 1{w2 <= x <= w1}.

    Attributes
    ----------
    w1, w2 : float
        Interval end points (``w2 = -inf`` in the Cohen case ``m1 <= -M(q)``; ``w1 = +inf`` when
        ``m1 >= M(q)``).
    radius : float
        Certified radius R (units of sigma), the root of (6); ``inf`` when ``w1 = +inf``.
    """

    w1: float
    w2: float
    radius: float
    _w1_mp: mpmath.mpf = field(repr=False)
    _w2_mp: mpmath.mpf = field(repr=False)

    def p(self, r: float) -> float:
        """Worst-case probability ``Phi(w1 - r) - Phi(w2 - r)`` after a move of length ``r``."""
        with mpmath.workdps(_MP_DPS):
            rr = mpmath.mpf(r)
            return float(mpmath.ncdf(self._w1_mp - rr) - mpmath.ncdf(self._w2_mp - rr))

    def sensitivities(self) -> tuple[float, float]:
        """(dR/dq, dR/dm1) at R: the multipliers (l0, l1) of the one-dimensional problem over
        |dp/dr|.  The worst case {w(x) < l0 + l1 x}, w(x) = exp(r x - r^2/2), has the end
        points w2, w1, so l0 + l1 x = w(x) there (l1 = 0 in the Cohen case)."""
        if not math.isfinite(self.radius):
            return math.nan, math.nan
        with mpmath.workdps(_MP_DPS):
            rr = mpmath.mpf(self.radius)
            w1, w2 = self._w1_mp, self._w2_mp

            def w(x: Any) -> Any:
                return mpmath.exp(rr * x - rr * rr / 2)

            if mpmath.isinf(w2):
                l1, l0 = mpmath.mpf(0), w(w1)
                slope = mpmath.npdf(w1 - rr)
            else:
                l1 = (w(w1) - w(w2)) / (w1 - w2)
                l0 = w(w2) - l1 * w2
                slope = mpmath.npdf(w1 - rr) - mpmath.npdf(w2 - rr)
            return float(l0 / slope), float(l1 / slope)


def reference_interval(q: float, m1: float) -> IntervalSolution:
    """Solve Corollary 3.1 (the case m2 = 0) in 50-digit arithmetic.

    Parameters
    ----------
    q : float
        Lower bound on p_A, in (1/2, 1).
    m1 : float
        Lower bound on <beta, v> (any real; values below -M(q) act as -M(q)).

    Returns
    -------
    IntervalSolution
        End points of the worst-case interval and the radius R(q, m1, 0).
    """
    _check_q(q)
    with mpmath.workdps(_MP_DPS):
        t = 1 - mpmath.mpf(q)  # exact
        z = -_mp_ninv(t)
        m = mpmath.npdf(z)
        m1m = mpmath.mpf(m1)
        inf = mpmath.mpf("inf")
        if m1m <= -m:  # Cohen: half-line x <= z, R = Phi^{-1}(q)
            return IntervalSolution(float(z), -math.inf, float(z), z, -inf)
        if m1m >= m:  # half-line x >= -z: p(r) = Phi(z + r) increases, R = +inf
            return IntervalSolution(math.inf, float(-z), math.inf, inf, -z)

        def w1_of(w2: Any) -> Any:
            tail = t - mpmath.ncdf(w2)  # 1 - Phi(w1), equation (7a)
            return inf if tail <= 0 else -_mp_ninv(tail)

        def f_7b(w2: Any) -> Any:  # equation (7b), increasing in w2 on (-inf, -z)
            w1 = w1_of(w2)
            return mpmath.npdf(w2) - (0 if w1 == inf else mpmath.npdf(w1)) - m1m

        lo = mpmath.mpf(-45)
        if f_7b(lo) >= 0:  # m1 within phi(45) of -M: indistinguishable from the Cohen case
            return IntervalSolution(float(z), -math.inf, float(z), z, -inf)
        w2 = _mp_bisect(f_7b, lo, -z, increasing=True)
        for _ in range(20):  # Newton polish: d(7b)/dw2 = phi(w2) (w1 - w2)
            w1 = w1_of(w2)
            step = f_7b(w2) / (mpmath.npdf(w2) * (w1 - w2))
            w2 -= step
            if abs(step) < mpmath.mpf(10) ** (-(_MP_DPS - 8)) * (1 + abs(w2)):
                break
        w1 = w1_of(w2)

        def f_6(r: Any) -> Any:  # equation (6): decreasing in r beyond the mode (w1 + w2) / 2
            return mpmath.ncdf(w1 - r) - mpmath.ncdf(w2 - r) - mpmath.mpf(0.5)

        r_lo = max(mpmath.mpf(0), (w1 + w2) / 2)
        r = _mp_bisect(f_6, r_lo, w1 + 15, increasing=False)
        for _ in range(20):
            d = -mpmath.npdf(w1 - r) + mpmath.npdf(w2 - r)
            step = f_6(r) / d
            r -= step
            if abs(step) < mpmath.mpf(10) ** (-(_MP_DPS - 8)) * (1 + abs(r)):
                break
        return IntervalSolution(float(w1), float(w2), float(r), w1, w2)


# ==============================================================================================
# m2 > 0: the dual of Theorem 3's linear program
# ==============================================================================================
#
# The optimum lies on one of two faces of lam >= 0 (v = r x - r^2/2, w = e^v):
#   "B" (l0, l1 > 0):    theta = (d0, d1, tau),  u = d0 + d1 x - e^-tau (expm1(v) - v),
#                        l2 = e^tau, l0 = 1 - r^2/2 + d0 l2,  l1 = r + d1 l2;
#                        equations (4), (5b), (5a)
#   "A" (l1 = 0):        theta = (x0, log k),    u = -(k / r) expm1(r (x - x0)),
#                        (root x0, slope -k there), l0 = w(x0), l2 = (r / k) w(x0);
#                        equations (4), (5a)   [the c1 < 0 clause]
# B keeps small r accurate (the O(1) and O(r) parts of w are absorbed into d0, d1); the root
# form of A stays well conditioned for tiny m2 (slope ~ 1/b) and tiny r alike.
# The face l0 = 0 (slack q) never holds the optimum when q > 1/2: there u <= l1 x / l2 =: c x,
# so E f* = E Phi(u) < E Phi(c X) = 1/2 < q and f* would be infeasible.
_MODE_ROWS = {"B": (0, 1, 2), "A": (0, 2)}


@dataclass
class _Problem:
    q: float
    m1: float
    m2: float
    one_minus_q: float
    mq: float
    scale: np.ndarray  # natural scale of the three residuals
    atol: np.ndarray  # absolute quadrature tolerances of E h, E[X h], E phi(u), E[(w - 1) h]
    q_half: float  # q - 1/2, exact in binary64 for q in [1/2, 1]


@dataclass
class _Eval:
    r: float
    mode: str
    theta: np.ndarray
    lam: np.ndarray
    grad: np.ndarray  # dD/dlam = residuals of (4), (5b), (5a)
    jac: np.ndarray  # d grad[rows] / d theta
    dlam: np.ndarray  # d lam / d theta
    dual: float  # D(lam; r), a lower bound on p(r) (1/2 + dual_m_half, rounded)
    dual_m_half: float  # D(lam; r) - 1/2, formed without terms of size 1/2 (see _evaluate)
    primal: float  # E[w Phi(u)]
    dd_dr: float  # dD/dr at fixed lam (envelope theorem: dp/dr at the optimum)
    quad_err: np.ndarray  # estimated absolute errors (incl. rounding) of the 4 controlled integrals
    quad_ok: bool
    scaled_res: np.ndarray  # |residuals of this face's equations| / natural scale
    loose: float  # quadrature tolerance factor used
    noise_res: np.ndarray  # quadrature error of the residuals / natural scale
    lam_shift: np.ndarray  # (l0 - 1, l1, l2), l0 - 1 formed without the 1
    dual_round: float  # bound on the rounding of the sum that forms dual_m_half

    @property
    def dual_noise(self) -> float:
        """Error bound of ``dual_m_half``: |l0 - 1| err(E h) + |l1| err(E[X h]) +
        l2 err(E phi(u)) + err(E[(w - 1) h]) from the quadrature, plus the rounding of the sum.
        Every term is relative to the size of D - 1/2 (no absolute eps of 1/2)."""
        return float(
            np.abs(self.lam_shift) @ self.quad_err[:3] + self.quad_err[3] + self.dual_round
        )


def _make_problem(q: float, m1: float, m2: float) -> _Problem:
    mq = big_m(q)
    omq = 1.0 - q
    scale = np.array([omq, mq, mq])
    atol = _QUAD_RTOL * np.array([omq, mq, mq, 1.0])
    return _Problem(q, max(m1, -mq), m2, omq, mq, scale, atol, q - 0.5)


def _i3_scale(r: float) -> float:
    """Natural scale of E[(w - 1) h]: E|w - 1| = 2 (2 Phi(r/2) - 1) ~ r sqrt(2/pi) as r -> 0."""
    return min(1.0, r)


def _lam(mode: str, theta: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Multipliers lam, their Jacobian d lam / d theta, and l0 - 1 formed without the 1 (it is
    O(r) as r -> 0, and multiplies a residual of size eps in D - 1/2; see :func:`_evaluate`)."""
    l2 = math.exp(theta[-1])
    if mode == "B":
        d0, d1 = theta[0], theta[1]
        l0m1 = d0 * l2 - 0.5 * r * r
        lam = np.array([1.0 - 0.5 * r * r + d0 * l2, r + d1 * l2, l2])
        dlam = np.array([[l2, 0.0, d0 * l2], [0.0, l2, d1 * l2], [0.0, 0.0, l2]])
    else:  # "A"
        x0, kappa = theta[0], math.exp(theta[1])
        v0 = r * x0 - 0.5 * r * r
        l0 = math.exp(v0)
        l0m1 = math.expm1(v0)
        l2 = r / kappa * l0
        lam = np.array([l0, 0.0, l2])
        dlam = np.array([[r * l0, 0.0], [0.0, 0.0], [r * l2, -l2]])
    return lam, dlam, l0m1


def _convert(mode_from: str, theta: np.ndarray, mode_to: str, r: float) -> np.ndarray:
    """Map theta between the faces through lam (dropping l1 when going to face A)."""
    if mode_from == mode_to:
        return theta.copy()
    if mode_from == "A":  # to B: same lam, with l1 = 0
        x0, kappa = theta[0], math.exp(theta[1])
        v0 = r * x0 - 0.5 * r * r
        e = kappa / r * math.exp(-v0)  # e^-tau = 1 / l2
        return np.array([e * (math.expm1(v0) + 0.5 * r * r), -r * e, -math.log(e)])
    # B to A: u = (l0 - w) / l2 has its root where w(x0) = l0, slope k = r l0 / l2 there
    d0, _, tau = theta
    c0 = max(d0 + (1.0 - 0.5 * r * r) * math.exp(-tau), 1e-300)  # l0 / l2
    arg = d0 * math.exp(tau) - 0.5 * r * r  # l0 - 1
    v0 = math.log1p(arg) if arg > -1.0 else math.log(c0) + tau
    return np.array([(v0 + 0.5 * r * r) / r, math.log(r * c0)])


def _expm1_minus_id(v: np.ndarray) -> np.ndarray:
    """expm1(v) - v without cancellation for small |v| (Taylor series below |v| = 0.1)."""
    small = np.abs(v) < 0.1
    vs = np.where(small, v, 0.0)
    series = np.zeros_like(vs)
    for k in range(12, 1, -1):  # Horner: sum_{k=2}^{12} v^k / k!
        series = (series + 1.0 / math.factorial(k)) * vs
    series *= vs
    return np.where(small, series, np.expm1(np.where(small, 0.0, v)) - v)


def _exp_part(v: np.ndarray, tau: float) -> np.ndarray:
    """e^-tau (expm1(v) - v), the exponential part of u on face B, overflow-guarded."""
    big = v > 30.0
    vs = np.where(big, 0.0, v)
    et = math.exp(min(-tau, 700.0))
    small = et * _expm1_minus_id(vs)
    large = np.exp(np.minimum(v - tau, 700.0)) - et * (1.0 + v)
    return np.where(big, large, small)


def _u_parts(
    mode: str, theta: np.ndarray, r: float, x: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, ...], np.ndarray]:
    """u(x), its derivatives du/dtheta, and a bound on the rounding error of u."""
    if mode == "A":
        x0, kappa = theta[0], math.exp(theta[1])
        t = np.minimum(r * (x - x0), 300.0)
        u = -(kappa / r) * np.expm1(t)
        slope = kappa * np.exp(t)  # -du/dx = du/dx0
        noise = 4.0 * _EPS * (np.abs(u) + slope * (np.abs(x) + abs(x0)))
        return u, (slope, u), noise
    ep = _exp_part(r * x - 0.5 * r * r, theta[-1])
    u = theta[0] + theta[1] * x - ep
    size = abs(theta[0]) + np.abs(theta[1] * x) + np.abs(ep) + np.abs(u)
    return u, (np.ones_like(x), x, ep), 4.0 * _EPS * size


def _u(mode: str, theta: np.ndarray, r: float, x: np.ndarray) -> np.ndarray:
    return _u_parts(mode, theta, r, x)[0]


def _u_argmax(mode: str, theta: np.ndarray, r: float) -> float:
    """x maximising the concave u, or -inf when u is decreasing (face A, or l1 <= 0)."""
    if mode == "A":
        return -math.inf
    arg = theta[1] * math.exp(theta[-1]) / r  # u'(x*) = 0: expm1(v*) = (l1 - r) / r
    if arg <= -1.0:
        return -math.inf
    return (math.log1p(arg) + 0.5 * r * r) / r


def _level_crossings(
    mode: str,
    theta: np.ndarray,
    r: float,
    xa: float,
    xb: float,
    levels: np.ndarray = _U_LEVELS,
    with_max: bool = True,
) -> tuple[list, list]:
    """Points in (xa, xb) where the concave u crosses ``levels`` (vectorised bisection on each
    monotone side of its maximum), and the level crossed at each.  With ``with_max`` the
    maximiser of u is included (with level nan) when it lies inside."""
    xstar = _u_argmax(mode, theta, r)
    segs = []
    if xstar <= xa:
        segs.append((xa, xb, False))
    elif xstar >= xb:
        segs.append((xa, xb, True))
    else:
        segs += [(xa, xstar, True), (xstar, xb, False)]
    pts, lev = ([xstar], [math.nan]) if (with_max and xa < xstar < xb) else ([], [])
    for lo, hi, increasing in segs:
        ulo, uhi = (_u(mode, theta, r, np.array([lo, hi]))).tolist()
        if increasing:
            sel = levels[(levels > ulo) & (levels < uhi)]
        else:
            sel = levels[(levels < ulo) & (levels > uhi)]
        if sel.size == 0:
            continue
        a = np.full(sel.size, lo)
        b = np.full(sel.size, hi)
        for _ in range(64):
            mid = 0.5 * (a + b)
            below = _u(mode, theta, r, mid) < sel
            go_right = below if increasing else ~below
            a = np.where(go_right, mid, a)
            b = np.where(go_right, b, mid)
        pts += (0.5 * (a + b)).tolist()
        lev += sel.tolist()
    return pts, lev


def _transfer(mode: str, theta: np.ndarray, r_old: float, r_new: float) -> np.ndarray:
    """Warm start at r_new that keeps the shape of u from r_old.

    Face A keeps the root and the plateau k / r of u (near the half-space limit the plateau
    must stay at z / b to many digits).  On face B, u is linear in (d0, d1, e^-tau) for fixed r,
    so these
    at r_new are fitted by least squares to the points where u(r_old) crosses the levels
    -3, -1.5, 0, 1.5, 3 (the transition zone, which decides the integrals).  Falls back to the
    unchanged theta when the fit is not possible.
    """
    if mode == "A":  # keep the root x0 and the plateau u(-inf) = k / r
        return np.array([theta[0], theta[1] + math.log(r_new / r_old)])
    levels = np.array([-3.0, -1.5, 0.0, 1.5, 3.0])
    pts, lev = _level_crossings(mode, theta, r_old, -_PAD, r_old + _PAD, levels, with_max=False)
    x = np.array(pts)
    n_par = theta.size
    if x.size < n_par:
        return theta.copy()
    v = r_new * x - 0.5 * r_new * r_new
    if np.any(v > 600.0):
        return theta.copy()
    basis = np.stack([np.ones_like(x), x, -_expm1_minus_id(v)], axis=1)
    scale = np.abs(basis).max(axis=0)
    if np.any(scale == 0.0):
        return theta.copy()
    coef = np.linalg.lstsq(basis / scale, np.array(lev), rcond=None)[0] / scale
    if not (np.all(np.isfinite(coef)) and coef[-1] > 0.0):
        return theta.copy()
    return np.append(coef[:-1], -math.log(coef[-1]))


def _evaluate(prob: _Problem, r: float, mode: str, theta: np.ndarray, loose: float = 1.0) -> _Eval:
    """All integrals at (r, theta): residuals, Jacobian, dual value and dD/dr.

    ``loose`` multiplies the quadrature tolerances (used far from the optimum, where the Newton
    direction does not need 16 digits).

    The dual value is formed as D - 1/2 without any term of size 1/2, so that it keeps its
    relative precision when q -> 1/2 and r -> 0 (where D - 1/2 ~ q - 1/2 is far below eps).
    With the residuals F0 = E Phi(u) - q = (1 - q) - E h, F1 = E[X Phi(u)] - m1 = -E[X h] - m1,
    F2 = E phi(u) - m2 (F = -grad) and

        F3 = E[w Phi(u)] - 1/2 - F0 = (q - 1/2) - E[(w - 1) h]

    (E w = 1, E Phi(u) = 1 - E h), the dual D = E[w Phi(u)] - l0 F0 - l1 F1 - l2 F2 is

        D - 1/2 = F3 - (l0 - 1) F0 - l1 F1 - l2 F2.

    q - 1/2 is exact; E[(w - 1) h] is integrated as such, with phi(x) (w - 1) = phi(x) expm1(v)
    for |v| <= 1 (relative precision as r -> 0) and phi(x - r) - phi(x) beyond (|w - 1| >=
    1 - 1/e: no cancellation), under a tolerance relative to its size ~ min(1, r); l0 - 1, l1 and
    l2 are O(r) as r -> 0, so the absolute rounding of E h ~ 1/2 enters only as (l0 - 1) eps."""
    rows = _MODE_ROWS[mode]
    xa, xb = -_PAD, r + _PAD
    pts = {xa, xb}
    pts.update(x for x in (0.0, r) if xa < x < xb)
    pts.update(np.arange(xa, xb, _GRID_STEP).tolist())
    pts.update(_level_crossings(mode, theta, r, xa, xb)[0])
    edges = np.array(sorted(pts))
    edges = edges[np.concatenate(([True], np.diff(edges) > 0))]

    def integrand(x: np.ndarray) -> np.ndarray:
        u, dud, du = _u_parts(mode, theta, r, x)
        u = np.clip(u, -1e5, 1e5)
        h = special.ndtr(-u)
        pu = _phi(u)
        wx = _phi(x)
        wr = _phi(x - r)
        v = r * x - 0.5 * r * r
        near = np.abs(v) <= 1.0
        wm1 = np.where(near, wx * np.expm1(np.where(near, v, 0.0)), wr - wx)  # phi(x) (w - 1)
        pw = wx * pu
        live = pw > 0.0
        du = np.where(live | (wr * pu > 0.0), du, 0.0)
        dud_live = [np.where(live, d, 0.0) for d in dud]
        rv = (np.ones_like(x), x, -u)
        # controlled: E h, E[X h], E phi(u), E[(w - 1) h]
        comps = [wx * h, wx * x * h, pw, wm1 * h]
        comps += [pw * du, np.abs(x) * pw * du, np.abs(u) * pw * du, np.abs(wm1) * pu * du]
        comps.append(wr * (x - r) * h)  # -dD/dr
        comps += [pw * rv[i] * dj for i in rows for dj in dud_live]  # Jacobian
        return np.array(comps)

    atol = prob.atol * loose
    atol[3] *= _i3_scale(r)
    vals, errs, ok = _adaptive_gl(integrand, edges, atol)
    i_h, i_xh, i_phi, i_w1h = vals[:4]
    i_dwh = vals[8]
    n = len(rows)
    jac = -vals[9:].reshape(n, n)
    grad = np.array([i_h - prob.one_minus_q, prob.m1 + i_xh, prob.m2 - i_phi])
    lam, dlam, l0m1 = _lam(mode, theta, r)
    lam_shift = np.array([l0m1, lam[1], lam[2]])
    f3 = prob.q_half - i_w1h
    terms = lam_shift * grad  # = -(l0 - 1) F0, -l1 F1, -l2 F2
    dual_m_half = f3 + float(terms.sum())
    dual_round = 4.0 * _EPS * (prob.q_half + abs(i_w1h) + float(np.abs(terms).sum()))
    primal = 0.5 + (f3 - grad[0])  # E[w Phi(u)] = 1/2 + F3 + F0
    res = np.abs(grad[list(rows)]) / prob.scale[list(rows)]
    noise = errs[list(rows)] / prob.scale[list(rows)]
    return _Eval(
        r,
        mode,
        theta,
        lam,
        grad,
        jac,
        dlam,
        0.5 + dual_m_half,
        dual_m_half,
        primal,
        -i_dwh,
        errs,
        ok,
        res,
        loose,
        noise,
        lam_shift,
        dual_round,
    )


def _adaptive_gl(
    fun: Callable[[np.ndarray], np.ndarray], edges: np.ndarray, atol: np.ndarray
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Vectorised adaptive Gauss-Legendre quadrature over consecutive panels.

    ``fun(x)`` returns an array of shape (ncomp, x.size) whose first ``k = atol.size`` rows are
    the integrands under error control and whose next ``k`` rows bound their rounding error
    (|d integrand / du| times the rounding error of u).  Each panel is integrated with 15 and 30
    nodes; the difference, less the rounding allowance (50 eps of int |f| plus 10 times the
    integrated rounding bound), is its error estimate.  Panels whose estimate exceeds their
    share (by width) of ``atol`` are bisected.

    Returns
    -------
    total : ndarray
        30-node sums of all components.
    err : ndarray
        Estimated absolute error of the ``k`` controlled integrals (truncation estimate plus the
        integrated rounding bound).
    ok : bool
        Whether every panel met its tolerance.
    """
    (xl, wl), (xh, wh) = _GL_LO, _GL_HI
    nlo = xl.size
    nodes = np.concatenate((xl, xh))
    k = atol.size
    a = edges[:-1].copy()
    b = edges[1:].copy()
    total = None
    err_total = np.zeros(k)
    width_total = float(edges[-1] - edges[0])
    ok = True
    for _ in range(_QUAD_MAX_ROUNDS):
        c = 0.5 * (a + b)
        hw = 0.5 * (b - a)
        x = c[:, None] + hw[:, None] * nodes[None, :]
        f = fun(x.ravel()).reshape(-1, a.size, nodes.size)
        i_lo = (f[:k, :, :nlo] @ wl) * hw
        i_hi = (f[:, :, nlo:] @ wh) * hw
        i_abs = (np.abs(f[:k, :, nlo:]) @ wh) * hw
        noise = i_hi[k : 2 * k]
        err = np.maximum(np.abs(i_hi[:k] - i_lo) - _QUAD_NOISE * i_abs - 10.0 * noise, 0.0)
        share = atol[:, None] * (2.0 * hw[None, :] / width_total)
        bad = np.any(err > share, axis=0)
        if total is None:
            total = np.zeros(f.shape[0])
        if a.size > _QUAD_MAX_PANELS:
            bad[:] = False
            ok = False
        good = ~bad
        total += i_hi[:, good].sum(axis=1)
        err_total += (err + noise + 2.0 * _EPS * i_abs)[:, good].sum(axis=1)
        if not bad.any():
            break
        ab, bb = a[bad], b[bad]
        mid = 0.5 * (ab + bb)
        a = np.concatenate((ab, mid))
        b = np.concatenate((mid, bb))
    else:
        total += i_hi[:, bad].sum(axis=1)
        err_total += (err + noise + 2.0 * _EPS * i_abs)[:, bad].sum(axis=1)
        ok = False
    return total, err_total, ok


class ReferenceSolverError(RuntimeError):
    """The reference solver could not certify its own convergence."""


def _looseness(res: float) -> float:
    """Quadrature tolerance factor for an iterate with scaled residual ``res``."""
    return max(1.0, min(1e12, 1e-3 * res / _QUAD_RTOL))


def _newton(
    prob: _Problem, r: float, mode: str, theta0: np.ndarray, max_it: int = _NEWTON_MAX_IT
) -> _Eval:
    """Damped Newton ascent of D on one face; stops on the residuals and the decrement.

    Far from the optimum the integrals are computed with looser tolerances (see
    :func:`_looseness`); convergence is only declared on a full-accuracy evaluation.
    """
    rows = list(_MODE_ROWS[mode])
    ev = _evaluate(prob, r, mode, np.asarray(theta0, dtype=float), _looseness(1.0))
    polished = False
    for _ in range(max_it):
        res = ev.scaled_res
        g = ev.grad[rows]
        try:
            step = np.linalg.solve(ev.jac, -g)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(ev.jac, -g, rcond=None)[0]
        if not np.all(np.isfinite(step)):
            raise ReferenceSolverError(f"singular Jacobian: r={r}, mode={mode}, theta={ev.theta}")
        decrement = float(ev.grad @ (ev.dlam @ step))  # about 2 (p(r) - D)
        at_noise = bool(np.all(res <= np.maximum(_RES_TOL, 4.0 * ev.noise_res)))
        if at_noise or (0.0 <= decrement <= _DECREMENT_TOL and res.max() < 1e-9):
            if ev.loose != 1.0:
                ev = _evaluate(prob, r, mode, ev.theta, 1.0)
                continue
            if not at_noise and not polished:  # one more full step sharpens the residuals
                polished = True
                trial = _evaluate(prob, r, mode, ev.theta + step, 1.0)
                if trial.scaled_res.max() < res.max():
                    ev = trial
                    continue
            if not ev.quad_ok:
                raise ReferenceSolverError(f"quadrature did not converge: r={r}, mode={mode}")
            return ev
        loose = min(ev.loose, _looseness(res.max()))
        if abs(step[-1]) > 1.5:
            step *= 1.5 / abs(step[-1])
        slope = float(ev.grad @ (ev.dlam @ step))
        alpha = 1.0
        accepted = None
        for _ls in range(30):
            trial = _evaluate(prob, r, mode, ev.theta + alpha * step, loose)
            tol_d = 1e-15 + 2.0 * (ev.dual_noise + trial.dual_noise)
            d_new, d_old = trial.dual_m_half, ev.dual_m_half  # D - 1/2: no rounding of 1/2
            if np.isfinite(d_new) and (
                d_new >= d_old + 1e-4 * alpha * max(slope, 0.0)
                or (d_new >= d_old - tol_d and trial.scaled_res.max() < res.max())
            ):
                accepted = trial
                break
            alpha *= 0.5
        if accepted is None:
            if (
                ev.loose == 1.0
                and ev.quad_ok
                and np.all(res <= np.maximum(_RES_STALL_TOL, 100 * ev.noise_res))
            ):
                return ev
            raise ReferenceSolverError(
                f"line search failed: r={r}, mode={mode}, theta={ev.theta}, res={res}"
            )
        ev = accepted
    raise ReferenceSolverError(f"Newton did not converge: r={r}, mode={mode}, res={ev.scaled_res}")


def _cold_start(prob: _Problem, r: float, form: str) -> np.ndarray:
    """Face-A starting point (root x0 and slope k of u).

    ``form="halfspace"`` is exact as r -> 0: the objective is then E f + r E[X f] + O(r^2),
    minimised on the face l1 = 0 by the half-space {-cos(t) x + sin(t) y + z >= 0}, sin(t) = b
    = m2 / M, i.e. u(x) = (z - cos(t) x) / b; value and slope are matched at x = 0.
    ``form="cohen"`` is exact as m2 -> 0 when m1 <= -M(q): the half-line x <= z smoothed over
    a width b, i.e. root z and slope cos(t) / b.
    """
    b = min(prob.m2 / prob.mq, 1.0 - 1e-12)
    z = -float(special.ndtri(prob.one_minus_q))
    cos_t = math.sqrt(max(1.0 - b * b, 1e-24))
    if form == "cohen":
        return np.array([z, math.log(cos_t / b)])
    # u(0) = (k / r)(1 - e^{-r x0}) = z / b,  u'(0) = -k e^{-r x0} = -cos(t) / b
    kappa = (r * z + cos_t) / b
    x0 = math.log1p(r * z / cos_t) / r
    return np.array([x0, math.log(kappa)])


def _interval_start(prob: _Problem, r: float) -> tuple[str, np.ndarray] | None:
    """Face-B start from the m2 = 0 solution (Corollary 3.1), exact as m2 -> 0.

    The interval [w2, w1] gives the roots of s(x) = l0 + l1 x - w(x), hence l0 and l1 (written
    as l0 - 1 + r^2/2 and l1 - r to keep small r accurate); l2 follows from
    E phi(u) ~ l2 sum_i phi(w_i) / |s'(w_i)| = m2.  ``None`` in the Cohen case (no interval).
    """
    if prob.m1 <= -prob.mq:
        return None
    sol = reference_interval(prob.q, prob.m1)
    w = np.array([sol.w1, sol.w2])
    if not np.all(np.isfinite(w)):
        return None
    v = r * w - 0.5 * r * r
    g = _expm1_minus_id(v)
    a1 = (g[0] - g[1]) / (w[0] - w[1])
    a0 = g[1] - a1 * w[1]
    slope = np.abs(a1 - r * np.expm1(v))
    l2 = prob.m2 / float(np.sum(_phi(w) / slope))
    if not (0.0 < l2 < math.inf):  # m2 so small (subnormal) that l2 underflows: no start
        return None
    return "B", np.array([a0 / l2, a1 / l2, math.log(l2)])


def _solve_dual(
    prob: _Problem,
    r: float,
    start: tuple[str, np.ndarray],
    equality: bool,
    max_it: int = _NEWTON_MAX_IT,
) -> _Eval:
    """Maximise D(.; r) over lam >= 0 (or over l2 > 0 only, for equality semantics).

    Starting from the face of ``start``, the face maximum is computed and the KKT sign of the
    dropped component checked: on face A (l1 = 0) the gradient m1 - E[X Phi(u)] must be <= 0,
    on face B the multiplier l1 must be >= 0.  By concavity of D this certifies the optimum;
    otherwise the other face is solved, starting from the same lam.
    """
    mode, theta = start
    if equality and mode != "B":
        theta, mode = _convert(mode, theta, "B", r), "B"
    seen: list[str] = []
    for _ in range(4):
        ev = _newton(prob, r, mode, theta, max_it)
        if equality:
            return ev
        seen.append(mode)
        l0, l1, l2 = ev.lam
        if l0 < 0.0:  # impossible at the optimum for q > 1/2 (see the note on the faces)
            raise ReferenceSolverError(f"l0 < 0 at r={r} on face {mode}")
        if mode == "A":
            tol = max(_KKT_TOL * prob.mq, 10.0 * ev.quad_err[1])
            if ev.grad[1] <= tol:  # E[X f*] >= m1: the m1 constraint is slack, l1 = 0 optimal
                return ev
        elif l1 >= -_KKT_TOL * max(1.0, l2):
            return ev
        nxt = "B" if mode == "A" else "A"
        if seen.count(nxt) >= 2:
            break
        theta, mode = _convert(mode, ev.theta, nxt, r), nxt
    raise ReferenceSolverError(f"active-set cycling at r={r}: {seen}")


def _neighbour_starts(ev: _Eval, r: float) -> list[tuple[str, np.ndarray]]:
    """Warm starts at r from the solution ``ev``: its theta unchanged, and the shape-
    preserving transfer (tried first on face B when r changes by more than a factor 1.5, as
    near r = 0; on face A the unchanged root form already keeps the shape there)."""
    raw = (ev.mode, ev.theta)
    moved = (ev.mode, _transfer(ev.mode, ev.theta, ev.r, r))
    ratio = max(r / ev.r, ev.r / r)
    return [moved, raw] if (ratio > 1.5 and ev.mode != "A") else [raw, moved]


class _DualPath:
    """Dual optima along the ray, reused as warm starts (continuation in r).

    See :meth:`_cold` for the first solve.  Later solves start from a linear prediction through
    the two nearest solutions on the same face, the m2 -> 0 interval (small b), a shape-
    preserving transfer of the nearest solution, the nearest solution itself, and finally walk
    from it in small steps of r.
    """

    def __init__(self, prob: _Problem, equality: bool) -> None:
        self.prob = prob
        self.equality = equality
        self.solved: list[_Eval] = []
        self.n_walk = 0

    def solve(self, r: float) -> _Eval:
        if not self.solved:
            return self._cold(r)
        near = sorted(self.solved, key=lambda e: abs(e.r - r))
        close = abs(near[0].r - r) <= _R_STEP
        starts = []
        same = [e for e in near if e.mode == near[0].mode]
        if close and len(same) >= 2 and same[0].r != same[1].r:
            e0, e1 = same[0], same[1]
            t = (r - e0.r) / (e1.r - e0.r)
            if -2.0 <= t <= 3.0:
                starts.append((e0.mode, e0.theta + t * (e1.theta - e0.theta)))
        b = self.prob.m2 / self.prob.mq
        if b < 0.2:
            start = _interval_start(self.prob, r)
            if start is not None:
                starts.insert(0 if b < 1e-3 else len(starts), start)
        if close:
            starts += _neighbour_starts(near[0], r)
        for st in starts:
            try:
                ev = _solve_dual(self.prob, r, st, self.equality, max_it=30)
            except ReferenceSolverError:
                continue
            self.solved.append(ev)
            return ev
        return self._walk(near[0], r)

    def _cold(self, r: float) -> _Eval:
        """First solve.  Starts tried in turn: for small b the m2 -> 0 limits (the interval of
        Corollary 3.1, or the smoothed Cohen half-line when m1 <= -M), which are accurate at
        any r; then continuation in r from the small-r half-space, exact as r -> 0."""
        prob = self.prob
        b = prob.m2 / prob.mq
        how_list = ["interval", "cohen", "walk"] if b < 0.2 else ["walk", "interval"]
        errors = []
        for how in how_list:
            try:
                if how == "interval":
                    start = _interval_start(prob, r)
                    if start is None:
                        continue
                elif how == "cohen":
                    if prob.m1 > -prob.mq:
                        continue
                    start = ("A", _cold_start(prob, r, "cohen"))
                else:
                    r0 = min(r, _R_COLD)
                    start = ("A", _cold_start(prob, r0, "halfspace"))
                    ev = _solve_dual(prob, r0, start, self.equality)
                    self.solved.append(ev)
                    return ev if r0 == r else self._walk(ev, r)
                ev = _solve_dual(prob, r, start, self.equality)
                self.solved.append(ev)
                return ev
            except ReferenceSolverError as exc:
                errors.append(f"{how}: {exc}")
        raise ReferenceSolverError("all cold starts failed: " + " | ".join(errors))

    def _walk(self, ev: _Eval, r: float) -> _Eval:
        """Continuation from the solution ``ev`` to r: steps of at most _R_STEP and at most
        3 times the current r (geometric near 0), halved on failure, each started from the
        previous solution (see :func:`_neighbour_starts`)."""
        self.n_walk += 1
        shrink = 1.0
        for _ in range(_WALK_MAX_STEPS):
            if ev.r == r:
                return ev
            step = shrink * min(_R_STEP, max(3.0 * ev.r, 1e-6))
            r_next = r if abs(r - ev.r) <= step else ev.r + math.copysign(step, r - ev.r)
            nxt = None
            for start in _neighbour_starts(ev, r_next):
                try:
                    nxt = _solve_dual(self.prob, r_next, start, self.equality, 40)
                    break
                except ReferenceSolverError:
                    continue
            if nxt is None:
                shrink *= 0.5
                if shrink < 1e-3:
                    raise ReferenceSolverError(f"continuation in r stalled at r={ev.r}")
                continue
            self.solved.append(nxt)
            ev = nxt
            shrink = min(1.0, 2.0 * shrink)
        raise ReferenceSolverError(f"continuation in r took too many steps (at r={ev.r})")


# ==============================================================================================
# Public API
# ==============================================================================================
def _check_q(q: float) -> None:
    if not (0.5 < q < 1.0):  # also rejects nan
        raise ValueError(f"q must be a float in (1/2, 1), got {q!r}")


def _rho2(q: float, m1: float, m2: float) -> tuple[float, float]:
    _check_q(q)
    if not (math.isfinite(m1) and math.isfinite(m2)) or m2 < 0.0:
        raise ValueError(f"need finite m1 and m2 >= 0, got m1={m1!r}, m2={m2!r}")
    mq = big_m(q)
    rho2 = (max(m1, 0.0) ** 2 + m2 * m2) / (mq * mq)
    if rho2 > 1.0 + _INFEASIBLE_TOL:
        raise ValueError(
            f"infeasible statistics: max(m1, 0)^2 + m2^2 > M(q)^2 (rho^2 = {rho2!r}, q={q!r})"
        )
    return rho2, mq


def _boundary_p(q: float, m1: float, mq: float, r: float) -> float:
    """p(r) on the boundary of the feasible disk: the unique half-space (see module doc)."""
    z = -float(special.ndtri(1.0 - q))
    return float(special.ndtr(z + r * max(m1 / mq, 0.0)))


def reference_p(q: float, m1: float, m2: float, r: float, *, equality: bool = False) -> float:
    """Worst-case probability p(r) of Theorem 3 (value of the linear program).

    Parameters
    ----------
    q : float
        Lower bound on p_A, in (1/2, 1).
    m1 : float
        Lower bound on <beta, v>; negative is adverse.  Values below -M(q) act as -M(q).
    m2 : float
        Lower bound on the norm of the part of beta orthogonal to v, ``>= 0``.
    r : float
        Length of the move along v, in units of sigma, ``>= 0``.
    equality : bool, optional
        Solve the paper's equality-constrained variant instead (no ``c1 < 0`` clause).  Only
        for tests showing why inequality semantics matter; not a valid certificate.

    Returns
    -------
    float
        p(r).  For ``m2 > 0`` this is the dual value D(lam*; r) at the maximiser, a lower bound
        on p(r) up to quadrature error, and equal to it up to about 1e-15.

    Raises
    ------
    ValueError
        If the inputs are outside the domain (see :func:`reference_radius`).
    """
    rho2, mq = _rho2(q, m1, m2)
    if not (math.isfinite(r) and r >= 0.0):
        raise ValueError(f"r must be finite and >= 0, got {r!r}")
    if r == 0.0:
        return float(q)
    if rho2 >= 1.0 - _BOUNDARY_TOL:
        return _boundary_p(q, m1, mq, r)
    if m2 == 0.0:
        return reference_interval(q, m1).p(r)
    prob = _make_problem(q, m1, m2)
    return _DualPath(prob, equality).solve(float(r)).dual


@dataclass
class RadiusInfo:
    """Diagnostics of one :func:`reference_radius` solve (for grid reports).

    Attributes
    ----------
    radius : float
        R(q, m1, m2) in units of sigma.
    n_evals : int
        Number of p(r) evaluations.
    mode : str
        Face of the dual optimum at R: ``"interval"`` (m2 = 0), ``"boundary"``, ``"B"`` (both
        moment constraints active), ``"A"`` (l1 = 0: the c1 < 0 clause).
    max_scaled_residual : float
        Largest |residual of (4), (5a), (5b)| / scale at the final point.
    quad_err : float
        Largest estimated quadrature error of the controlled integrals E h, E[X h], E phi(u),
        E[(w - 1) h] at the final point, each divided by its natural scale (1 - q, M, M,
        min(1, r)).
    bracket : float
        Width of the final bracket of R.
    radius_err : float
        Conservative error estimate of R: twice the sum of the last Newton step (or half the
        bracket) and the error bound of p(R) - 1/2 over |dp/dr|.  That bound is
        |l0 - 1| err(E h) + l1 err(E[X h]) + l2 err(E phi(u)) + err(E[(w - 1) h]) plus the
        rounding of the sum D - 1/2 = F3 - (l0 - 1) F0 - l1 F1 - l2 F2 (see ``_evaluate``); all
        its terms are relative to the size of p - 1/2, so radius_err is relative to R also when
        q -> 1/2 and R -> 0.
    dp_dr : float
        dp/dr at R (envelope theorem).
    lam : tuple
        Dual multipliers (l0, l1, l2) at R (empty for m2 = 0 and on the boundary).
    dr_dq, dr_dm1, dr_dm2 : float
        Sensitivities of R to its inputs, (l0, l1, l2) / |dp/dr| (LP sensitivity: dp/dq = l0,
        dp/dm1 = l1, dp/dm2 = l2).  Near the boundary of the feasible disk with q near 1 they
        reach 1e12: one ulp of q then moves R by ~1e-4, so comparisons there must allow for
        the rounding of the inputs.  dr_dm2 = 0 for m2 = 0 (R - R(m2 = 0) = O(m2^2)); nan on
        the boundary.
    """

    radius: float
    n_evals: int = 0
    mode: str = ""
    max_scaled_residual: float = 0.0
    quad_err: float = 0.0
    bracket: float = 0.0
    radius_err: float = 0.0
    dp_dr: float = math.nan
    lam: tuple = ()
    dr_dq: float = math.nan
    dr_dm1: float = math.nan
    dr_dm2: float = math.nan


def reference_radius_info(
    q: float, m1: float, m2: float, *, tol: float = 1e-12, equality: bool = False
) -> RadiusInfo:
    """Like :func:`reference_radius`, with solver diagnostics.

    ``equality=True`` solves the paper's equality-constrained variant instead (no ``c1 < 0``
    clause): only for tests showing why inequality semantics matter.
    """
    rho2, _ = _rho2(q, m1, m2)
    if rho2 >= 1.0 - _BOUNDARY_TOL:
        return RadiusInfo(math.inf, mode="boundary")
    if m2 == 0.0:
        sol = reference_interval(q, m1)
        dq, dm1 = sol.sensitivities()
        return RadiusInfo(sol.radius, mode="interval", dr_dq=dq, dr_dm1=dm1, dr_dm2=0.0)
    prob = _make_problem(q, m1, m2)
    z = -float(special.ndtri(prob.one_minus_q))

    path = _DualPath(prob, equality)

    # R >= z (zeroth-order radius) and p(z) > 1/2 strictly when m2 > 0; start there.  Every
    # evaluated r is classified exactly (p > 1/2 below R, <= 1/2 from R on), so [lo, hi]
    # always brackets R; Newton steps use dp/dr from the envelope theorem.  p(r) - 1/2 is the
    # dual value's D - 1/2, formed without terms of size 1/2 (see _evaluate), so that it keeps
    # its relative precision as q -> 1/2, where R ~ (q - 1/2) / (M sqrt(1 - b^2)) -> 0; the
    # tolerance on R is therefore relative below R = 1 too.
    lo, hi = 0.0, math.inf
    r = z
    n = 0
    while True:
        ev = path.solve(r)
        n += 1
        if n > _R_MAX_EVALS:
            raise ReferenceSolverError(f"radius search did not converge (q={q}, m1={m1}, m2={m2})")
        f = ev.dual_m_half
        if f > 0.0:
            lo = r
        else:
            hi = r
        cand = r - f / ev.dd_dr if ev.dd_dr < 0.0 else math.nan
        # error estimate: step or bracket, and the error bound of D - 1/2 (quadrature and the
        # rounding of its relative-precision sum) over |dp/dr|
        floor_r = noise_r = ev.dual_noise / abs(ev.dd_dr) if ev.dd_dr != 0.0 else math.inf
        if math.isfinite(cand) and abs(cand - r) <= max(tol * r, noise_r):
            radius = min(max(cand, lo), hi)
            err = 2.0 * (abs(cand - r) + floor_r)
            break
        if hi - lo <= max(tol * lo, noise_r):
            radius = 0.5 * (lo + hi)
            err = 2.0 * (0.5 * (hi - lo) + floor_r)
            break
        if not math.isfinite(hi):
            if not (math.isfinite(cand) and cand > lo):
                cand = lo + max(0.5, lo)
            cand = min(cand, 2.0 * lo + 0.5, lo + 1.5)
            if cand > _R_MAX:
                raise ReferenceSolverError(
                    f"no r <= {_R_MAX} with p(r) < 1/2 (q={q}, m1={m1}, m2={m2})"
                )
        elif not (lo < cand < hi):
            cand = 0.5 * (lo + hi)
        r = cand
    slope = abs(ev.dd_dr)
    return RadiusInfo(
        radius=float(radius),
        n_evals=n,
        mode=ev.mode,
        max_scaled_residual=float(ev.scaled_res.max()),
        quad_err=float((ev.quad_err / np.append(prob.scale, _i3_scale(ev.r))).max()),
        bracket=float(hi - lo),
        radius_err=float(err),
        dp_dr=float(ev.dd_dr),
        lam=tuple(ev.lam.tolist()),
        dr_dq=float(ev.lam[0] / slope),
        dr_dm1=float(ev.lam[1] / slope) if prob.m1 == m1 else 0.0,
        dr_dm2=float(ev.lam[2] / slope),
    )


def reference_radius(q: float, m1: float, m2: float, *, tol: float = 1e-12) -> float:
    """Certified directional radius R(q, m1, m2) of Theorem 3, with inequality semantics.

    Parameters
    ----------
    q : float
        Lower bound on p_A, in (1/2, 1).
    m1 : float
        Lower bound on <beta, v> (dimensionless, sigma-normalised); negative is adverse.  Values
        below -M(q) are equivalent to -M(q), since |E[X f]| <= M(E f) <= M(q).
    m2 : float
        Lower bound on the norm of the part of beta orthogonal to v, ``>= 0``.
    tol : float, optional
        Target relative accuracy of R (R > 0 always; p(r) - 1/2 keeps its relative precision
        as q -> 1/2 and R -> 0).

    Returns
    -------
    float
        R = sup{r >= 0 : p(r) > 1/2} in units of sigma; ``inf`` on the boundary of the feasible
        disk (``max(m1, 0)^2 + m2^2 = M(q)^2`` up to rounding, which includes m2 = 0 with
        m1 >= M(q)).

    Raises
    ------
    ValueError
        If q is not in (1/2, 1), m2 < 0, m1 or m2 is not finite, or
        ``max(m1, 0)^2 + m2^2 > M(q)^2 (1 + 1e-12)``.
    """
    return reference_radius_info(q, m1, m2, tol=tol).radius


def _mp_dual(
    q: float,
    m1: float,
    m2: float,
    r: float,
    lam: Sequence[float],
    breaks: Sequence[float] = (),
    dps: int = 40,
) -> Any:
    """D(lam; r) of section 4 of docs/math.md straight from its definition, in mpmath.

    An independent check of the double-precision quadrature (weak duality makes D(lam; r) a
    lower bound on p(r) for any lam >= 0).  ``breaks`` are extra split points for mpmath.quad
    (e.g. where t(x) changes sign).  Slow (seconds).
    """
    with mpmath.workdps(dps):
        l0, l1, l2 = (mpmath.mpf(float(v)) for v in lam)
        rr = mpmath.mpf(r)

        def integrand(x: Any) -> Any:
            w = mpmath.exp(rr * x - rr * rr / 2)
            s = (w - l0 - l1 * x) / l2
            psi = mpmath.npdf(s) - s * mpmath.ncdf(-s)
            return mpmath.npdf(x) * l2 * psi

        pts = sorted({-40.0, 0.0, float(r), 40.0 + float(r), *map(float, breaks)})
        val = mpmath.quad(integrand, [mpmath.mpf(p) for p in pts])
        return l0 * mpmath.mpf(q) + l1 * mpmath.mpf(m1) + l2 * mpmath.mpf(m2) - val
