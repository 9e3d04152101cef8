"""Newton warm starts from a precomputed table of solutions (docs/math.md, "warm start").

The strip start (the m2 = 0 solution) is a poor first guess where the solution is far from a
sharp step: q near 1 with a large m2, where the plateau of s leaks mass and Newton needs dozens of
damped steps. This table stores solved points on a grid over

    z = Phi^{-1}(q) in [Z_MIN, Z_MAX],  a = m1 / M(q) in [A_MIN, A_MAX],
    beta = b / sqrt(1 - max(a, 0)^2) in [0, BETA_MAX]   (b = m2 / M(q)),

uniform in z and a, and in v = -log(1 - beta) (the multipliers grow like 1 / (1 - beta) near
the boundary of the feasible disk, where the solution changes fastest),

in coordinates that stay bounded as b -> 0 (where l2 ~ b and k0 / l2, k1 / l2 ~ 1 / b):

    G = (b k0 / l2, b k1 / l2, log(l2 / b), r).

A query interpolates G trilinearly and turns it back into theta = (k0, k1, l2, r). The table
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
A_MIN = -1.0
A_MAX = 0.9
NA = 39
BETA_MAX = 0.995
V_MAX = -math.log1p(-BETA_MAX)
NB = 24
# The beta = 0 layer holds the limit b -> 0, solved at this beta.
BETA_ZERO_PROXY = 1e-4
N_COORDS = 4

TABLE_FILE = Path(__file__).parent / "data" / "warm_start.npy"


def grid_axes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (z, a, beta) node coordinates of the table."""
    return (
        np.linspace(Z_MIN, Z_MAX, NZ),
        np.linspace(A_MIN, A_MAX, NA),
        -np.expm1(-np.linspace(0.0, V_MAX, NB)),
    )


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


@njit(cache=True)
def warm_start(table: np.ndarray, z: float, a: float, b: float, theta: np.ndarray) -> bool:
    """Fill theta = (k0, k1, l2, r) from the table; False outside it or next to a gap."""
    if table.shape[0] != NZ:
        return False
    big_b = math.sqrt(1.0 - max(a, 0.0) ** 2)
    if not (big_b > 0.0):
        return False
    iz, tz = _cell(z, Z_MIN, Z_MAX, NZ)
    ia, ta = _cell(a, A_MIN, A_MAX, NA)
    beta = b / big_b
    if not (beta <= BETA_MAX):
        return False
    ib, tb = _cell(-math.log1p(-beta), 0.0, V_MAX, NB)
    if iz < 0 or ia < 0 or ib < 0:
        return False
    g0 = g1 = g2 = g3 = 0.0
    for dz in range(2):
        wz = tz if dz else 1.0 - tz
        for da in range(2):
            wa = ta if da else 1.0 - ta
            for db in range(2):
                w = wz * wa * (tb if db else 1.0 - tb)
                node = table[iz + dz, ia + da, ib + db]
                if not math.isfinite(node[0]):
                    return False  # a node the solver could not solve: no start here
                g0 += w * node[0]
                g1 += w * node[1]
                g2 += w * node[2]
                g3 += w * node[3]
    l2_over_b = math.exp(g2)
    theta[0] = g0 * l2_over_b
    theta[1] = g1 * l2_over_b
    theta[2] = b * l2_over_b
    theta[3] = g3
    return g3 > 0.0


def build_table() -> np.ndarray:
    """Solve every node with the cold (strip-start) solver; unsolved nodes are NaN."""
    from scipy import special

    from ._solve import solve_thetas

    zs, as_, betas = grid_axes()
    zz, aa, bb = np.meshgrid(zs, as_, np.maximum(betas, BETA_ZERO_PROXY), indexing="ij")
    q = special.ndtr(zz.ravel())
    a = aa.ravel()
    b = bb.ravel() * np.sqrt(1.0 - np.maximum(a, 0.0) ** 2)
    theta = np.empty((q.size, 4))
    ok = np.empty(q.size, dtype=np.bool_)
    solve_thetas(q, a, b, theta, ok)
    k0, k1, l2, r = theta.T
    g = np.stack([b * k0 / l2, b * k1 / l2, np.log(l2 / b), r], axis=1)
    g[~ok] = np.nan
    return g.reshape(NZ, NA, NB, N_COORDS)
