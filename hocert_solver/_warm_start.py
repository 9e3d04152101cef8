"""Newton warm starts from a precomputed table of solutions (docs/math.md 5, "Warm starts").

The strip start (the m2 = 0 solution) is a poor first guess where the solution is far from a
sharp step: q near 1 with a large m2, where the plateau of s leaks mass and Newton needs dozens of
damped steps. This table stores solved points on a grid over

    z = Phi^{-1}(q) in [Z_MIN, Z_MAX],  t = (a - a*) / (A_MAX - a*) in [0, 1],
    beta = b / sqrt(1 - max(a, 0)^2) in [0, BETA_MAX]   (a = m1 / M(q), b = m2 / M(q)),

uniform in z and t, and in v = beta - KAPPA log(1 - beta): nearly uniform in beta away from
the boundary of the feasible disk, logarithmic in 1 - beta near it, where the multipliers grow
like 1 / (1 - beta) and the solution changes fastest. a*(z, beta) < 0 is where the m1
constraint stops being slack: for a <= a* the solution is the l1 = 0 one (Theorem 3's c1 < 0
clause) and does not depend on a, so the solution has a kink at a* that no interpolation on a
fixed a-grid resolves; on the t-axis the kink sits at t = 0 and every a <= a* maps there,

in coordinates that stay bounded as b -> 0 (where l2 ~ b and k0 / l2, k1 / l2 ~ 1 / b):

    G = (b k0 / l2, b k1 / l2, log(l2 / b), r),

and a fifth coordinate a*(z, beta), the same at every t.

A query interpolates G (tricubic) and turns it back into theta = (k0, k1, l2, r). The table
only shortens the solve: every radius is still certified by its own dual witness, and a start
that does not converge falls back to the strip start. The table is built by the solver itself
(``python tools/make_warm_start.py``) and shipped as ``data/warm_start.npy``; without the file
the solver runs without warm starts.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
from numba import njit

Z_MIN = 0.1
Z_MAX = 5.4
NZ = 54
A_MAX = 0.9
NA = 39  # nodes on the t-axis
BETA_MAX = 0.995
KAPPA = 0.1
V_MAX = BETA_MAX - KAPPA * math.log1p(-BETA_MAX)
NB = 30
# The beta = 0 layer holds the limit b -> 0, solved at this beta.
BETA_ZERO_PROXY = 1e-4
N_COORDS = 5  # G0..G3, then a*
A_STAR = 4

TABLE_FILE = Path(__file__).parent / "data" / "warm_start.npy"


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


def grid_axes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (z, t, beta) node coordinates of the table."""
    return (
        np.linspace(Z_MIN, Z_MAX, NZ),
        np.linspace(0.0, 1.0, NA),
        _beta_of_v(np.linspace(0.0, V_MAX, NB)),
    )


def node_a(a_star: np.ndarray, t: np.ndarray) -> np.ndarray:
    """a = m1 / M(q) at t on the t-axis, given a*."""
    return a_star + t * (A_MAX - a_star)


@lru_cache(maxsize=1)
def load_table() -> np.ndarray:
    """The shipped table as float64 (NZ, NA, NB, 4); an empty table if the file is missing."""
    if not TABLE_FILE.exists():
        return np.full((0, 0, 0, N_COORDS), np.nan)
    table = np.load(TABLE_FILE).astype(np.float64)
    if table.shape != (NZ, NA, NB, N_COORDS):
        raise RuntimeError(
            f"{TABLE_FILE} has shape {table.shape}, expected {(NZ, NA, NB, N_COORDS)}: "
            "rebuild it with tools/make_warm_start.py"
        )
    return table


@njit(cache=True, inline="always")
def _cell(x: float, lo: float, hi: float, n: int) -> tuple[int, float]:
    """Cell index and weight of x on a uniform axis of n nodes; (-1, 0) outside."""
    t = (x - lo) / (hi - lo) * (n - 1)
    if not (t >= 0.0 and t <= n - 1):
        return -1, 0.0
    i = min(int(t), n - 2)
    return i, t - i


@njit(cache=True, inline="always")
def _weights(i: int, t: float, n: int, w: np.ndarray) -> None:
    """Catmull-Rom weights of nodes i-1..i+2 at t in [0, 1] (linear next to the ends)."""
    if i >= 1 and i + 2 <= n - 1:
        t2 = t * t
        t3 = t2 * t
        w[0] = 0.5 * (-t3 + 2.0 * t2 - t)
        w[1] = 0.5 * (3.0 * t3 - 5.0 * t2 + 2.0)
        w[2] = 0.5 * (-3.0 * t3 + 4.0 * t2 + t)
        w[3] = 0.5 * (t3 - t2)
    else:
        w[0] = 0.0
        w[1] = 1.0 - t
        w[2] = t
        w[3] = 0.0


@njit(cache=True)
def warm_start(table: np.ndarray, z: float, a: float, b: float, theta: np.ndarray) -> bool:
    """Fill theta = (k0, k1, l2, r) from the table; False outside it or next to a gap.

    Tricubic (Catmull-Rom) interpolation: the start is then about a hundred times closer than a
    trilinear one, which saves about one Newton step. For a <= a* the start has l1 = 0 exactly.
    """
    if table.shape[0] != NZ:
        return False
    big_b = math.sqrt(1.0 - max(a, 0.0) ** 2)
    if not (big_b > 0.0):
        return False
    beta = b / big_b
    if not (beta <= BETA_MAX) or not (a <= A_MAX):
        return False
    iz, tz = _cell(z, Z_MIN, Z_MAX, NZ)
    ib, tb = _cell(beta - KAPPA * math.log1p(-beta), 0.0, V_MAX, NB)
    if iz < 0 or ib < 0:
        return False
    wz = np.empty(4)
    wa = np.empty(4)
    wb = np.empty(4)
    _weights(iz, tz, NZ, wz)
    _weights(ib, tb, NB, wb)
    a_star = 0.0
    for dz in range(4):
        for db in range(4):
            w = wz[dz] * wb[db]
            if w != 0.0:
                a_star += w * table[iz + dz - 1, 0, ib + db - 1, A_STAR]
    if not math.isfinite(a_star):
        return False
    slack = a <= a_star
    t = 0.0 if slack else (a - a_star) / (A_MAX - a_star)
    ia, ta = _cell(t, 0.0, 1.0, NA)
    if ia < 0:
        return False
    _weights(ia, ta, NA, wa)
    g0 = g1 = g2 = g3 = 0.0
    for dz in range(4):
        if wz[dz] == 0.0:
            continue
        for da in range(4):
            if wa[da] == 0.0:
                continue
            wza = wz[dz] * wa[da]
            for db in range(4):
                if wb[db] == 0.0:
                    continue
                w = wza * wb[db]
                node = table[iz + dz - 1, ia + da - 1, ib + db - 1]
                if not math.isfinite(node[0]):
                    return False  # a node the solver could not solve: no start here
                g0 += w * node[0]
                g1 += w * node[1]
                g2 += w * node[2]
                g3 += w * node[3]
    l2_over_b = math.exp(g2)
    theta[0] = g0 * l2_over_b
    theta[1] = -g3 if slack else g1 * l2_over_b
    theta[2] = b * l2_over_b
    theta[3] = g3
    return g3 > 0.0


def build_table() -> np.ndarray:
    """Solve every node with the cold (strip-start) solver; unsolved nodes are NaN.

    First the l1 = 0 solutions at a = -1 (m1 = -M(q), always slack) give a*(z, beta) =
    E[X Phi(u)] / M(q) there; then every (z, t, beta) node is solved at a = node_a(a*, t).
    """
    from scipy import special

    from ._solve import slack_threshold, solve_thetas

    zs, ts, betas = grid_axes()
    zz, bb = np.meshgrid(zs, np.maximum(betas, BETA_ZERO_PROXY), indexing="ij")
    q2 = special.ndtr(zz.ravel())
    b2 = bb.ravel()
    theta2 = np.empty((q2.size, 4))
    ok2 = np.empty(q2.size, dtype=np.bool_)
    solve_thetas(q2, np.full(q2.size, -1.0), b2, theta2, ok2)
    a_star = np.full(q2.size, np.nan)
    slack_threshold(q2, theta2, ok2, a_star)
    a_star = a_star.reshape(NZ, NB)

    zz, tt, bb = np.meshgrid(zs, ts, np.maximum(betas, BETA_ZERO_PROXY), indexing="ij")
    a_node = node_a(a_star[:, None, :], tt)
    q = special.ndtr(zz.ravel())
    a = a_node.ravel()
    b = bb.ravel() * np.sqrt(1.0 - np.maximum(a, 0.0) ** 2)
    theta = np.empty((q.size, 4))
    ok = np.empty(q.size, dtype=np.bool_)
    good = np.isfinite(a)
    solve_thetas(q, np.where(good, a, 0.0), b, theta, ok)
    ok &= good
    k0, k1, l2, r = theta.T
    a_star_nodes = np.broadcast_to(a_star[:, None, :], zz.shape).ravel()
    g = np.stack([b * k0 / l2, b * k1 / l2, np.log(l2 / b), r, a_star_nodes], axis=1)
    g[~ok, :A_STAR] = np.nan
    return g.reshape(NZ, NA, NB, N_COORDS)
