"""Building the warm-start tables (``python tools/make_warm_start.py``; docs/math.md §5).

Build-time only: the node coordinates, the cold solver run over the nodes, and a* (where the m1
constraint stops being slack). The run-time side (``_warm_start``: loading, interpolation) does
not import the solver; this module imports both.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from scipy import special

from ._continuation import _solve_cold
from ._integrals import N_INTEGRALS, OK, integrals
from ._newton import new_scratch
from ._normal import norm_isf, phi
from ._solve import B_TINY, _setup
from ._strip import certified_strip_radius
from ._warm_start import (
    A_MAX,
    A_STAR,
    KAPPA,
    LZ_MAX,
    LZ_MIN,
    N_COORDS,
    NA,
    NB,
    NZ,
    NZ_SMALL,
    V_MAX,
    Z_MAX,
    Z_MIN,
    sigma_of_t,
)

# The beta = 0 layer holds the limit b -> 0, solved at this beta.
BETA_ZERO_PROXY = 1e-4


def _beta_of_v(v: np.ndarray) -> np.ndarray:
    """Inverse of v = beta - KAPPA log(1 - beta) (increasing), by bisection to rounding."""
    lo = np.zeros_like(v)
    hi = np.ones_like(v)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = mid - KAPPA * np.log1p(-mid) < v
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def grid_axes(small_z: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (z, s, beta) node coordinates of the main or the small-z table."""
    zs = 10.0 ** np.linspace(LZ_MIN, LZ_MAX, NZ_SMALL) if small_z else np.linspace(Z_MIN, Z_MAX, NZ)
    return zs, np.linspace(0.0, 1.0, NA), _beta_of_v(np.linspace(0.0, V_MAX, NB))


@njit(cache=True)
def node_a(z: np.ndarray, a_star: np.ndarray, s: np.ndarray, out: np.ndarray) -> None:
    """a = m1 / M(q) at the s-coordinate s, given z and a* (bisection on sigma_of_t)."""
    for i in range(z.shape[0]):
        lo = 0.0
        hi = 1.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if sigma_of_t(mid, z[i], a_star[i]) < s[i]:
                lo = mid
            else:
                hi = mid
        out[i] = a_star[i] + 0.5 * (lo + hi) * (A_MAX - a_star[i])


@njit(cache=True, parallel=True)
def solve_thetas(
    q: np.ndarray, a: np.ndarray, b: np.ndarray, theta: np.ndarray, ok: np.ndarray
) -> None:
    """The cold solver's solution theta = (k0, k1, l2, r) per point (builds the warm starts).

    Points outside the Newton regime (b <= B_TINY, the boundary) or not converged get ok False.
    """
    for i in prange(q.shape[0]):
        scale = np.empty(4)
        _z, big_m, m1, m2 = _setup(q[i], a[i], b[i], math.inf, math.inf, scale)
        r_strip, w2, w1 = certified_strip_radius(q[i], m1)
        ok[i] = False
        theta[i, :] = math.nan
        if r_strip == math.inf or b[i] <= B_TINY or max(a[i], 0.0) ** 2 + b[i] ** 2 >= 1.0:
            continue
        t = np.empty(4)
        integ = new_scratch()
        good, _, _, _ = _solve_cold(
            t, q[i], m1, m2, a[i], b[i], big_m, scale, integ, w2, w1, r_strip
        )
        if good:
            ok[i] = True
            theta[i, :] = t


@njit(cache=True, parallel=True)
def slack_threshold(q: np.ndarray, theta: np.ndarray, ok: np.ndarray, a_star: np.ndarray) -> None:
    """a* = E[X Phi(u)] / M(q) at l1 = 0 solutions theta (builds the warm starts).

    For a = m1 / M(q) <= a* the m1 constraint is slack and the l1 = 0 solution is the answer;
    points with ok False are left alone.
    """
    for i in prange(q.shape[0]):
        if not ok[i]:
            continue
        integ = np.empty(N_INTEGRALS)
        jac = np.empty((4, 4))
        t = theta[i]
        if integrals(t[0], t[1], t[2], t[3], 0, False, integ, jac) == OK:
            a_star[i] = -integ[1] / phi(norm_isf(1.0 - q[i]))


def build_table(small_z: bool = False) -> np.ndarray:
    """Solve every node with the cold (strip-start) solver; unsolved nodes are NaN.

    First the l1 = 0 solutions at a = -1 (m1 = -M(q), always slack) give a*(z, beta) =
    E[X Phi(u)] / M(q) there; then every (z, s, beta) node is solved at its a.
    """
    zs, ss, betas = grid_axes(small_z)
    nz = zs.size
    zz, bb = np.meshgrid(zs, np.maximum(betas, BETA_ZERO_PROXY), indexing="ij")
    q2 = special.ndtr(zz.ravel())
    theta2 = np.empty((q2.size, 4))
    ok2 = np.empty(q2.size, dtype=np.bool_)
    solve_thetas(q2, np.full(q2.size, -1.0), bb.ravel(), theta2, ok2)
    a_star = np.full(q2.size, np.nan)
    slack_threshold(q2, theta2, ok2, a_star)
    a_star = a_star.reshape(nz, NB)

    zz, ss_, bb = np.meshgrid(zs, ss, np.maximum(betas, BETA_ZERO_PROXY), indexing="ij")
    a_star_nodes = np.ascontiguousarray(np.broadcast_to(a_star[:, None, :], zz.shape)).ravel()
    good = np.isfinite(a_star_nodes)
    a = np.zeros(zz.size)
    node_a(zz.ravel(), np.where(good, a_star_nodes, -0.5), ss_.ravel(), a)
    q = special.ndtr(zz.ravel())
    b = bb.ravel() * np.sqrt(1.0 - np.maximum(a, 0.0) ** 2)
    theta = np.empty((q.size, 4))
    ok = np.empty(q.size, dtype=np.bool_)
    solve_thetas(q, a, b, theta, ok)
    ok &= good
    k0, k1, l2, r = theta.T
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.stack([b * k0 / l2, b * k1 / l2, np.log(l2 / b), np.log(r), a_star_nodes], axis=1)
    g[~ok, :A_STAR] = np.nan
    return g.reshape(nz, NA, NB, N_COORDS)
