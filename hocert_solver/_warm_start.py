"""Newton warm starts from precomputed tables of solutions (docs/math.md 5, "Warm starts").

The strip start (the m2 = 0 solution) is a poor first guess where the solution is far from a
sharp step: q near 1 with a large m2, where the plateau of s leaks mass and Newton needs dozens of
damped steps. Two tables store solved points, one for z = Phi^{-1}(q) in [Z_MIN, Z_MAX] (uniform
in z) and one for z in [10^LZ_MIN, Z_MIN] (uniform in log10 z, where q is within 0.04 of 1/2),
on the same axes otherwise:

    s = sigma(t) in [0, 1],  t = (a - a*) / (A_MAX - a*),  a = m1 / M(q),
    v = beta - KAPPA log(1 - beta) in [0, V_MAX],  beta = b / sqrt(1 - max(a, 0)^2),  b = m2 / M(q).

The beta-axis is nearly uniform in beta away from the boundary of the feasible disk and
logarithmic in 1 - beta near it, where the multipliers grow like 1 / (1 - beta).

a*(z, beta) < 0 is where the m1 constraint stops being slack: for a <= a* the solution is the
l1 = 0 one (Theorem 3's c1 < 0 clause) and does not depend on a. On the t-axis that kink is the
edge t = 0, and every a <= a* maps there. Near q = 1/2 the solution has two more layers of width
about sqrt(z) in a: at a* and at a = 0, where its scaling in z changes (r ~ z for a < 0,
r ~ sqrt(z) at a = 0, r ~ 1 for a > 0). sigma(t) is the mean of t and two terms that are
steep across those layers, so that uniform nodes in sigma resolve them at every z.

Each node stores, in coordinates that stay bounded as b -> 0 (where l2 ~ b and k0 / l2,
k1 / l2 ~ 1 / b),

    G = (b k0 / l2, b k1 / l2, log(l2 / b), log r)   and a*(z, beta) (the same at every s).

A query interpolates a* (bicubic), then G (tricubic) and turns G back into theta = (k0, k1, l2,
r). The tables only shorten the solve: every radius is still certified by its own dual witness,
and a start that does not converge falls back to the strip start. They are built by the solver
itself (``_warm_start_build``, run by ``python tools/make_warm_start.py``) and shipped as
``data/warm_start.npz``; without the file the solver runs without warm starts. This module is
the run-time side only and imports nothing of the solver.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

Z_MIN = 0.1
Z_MAX = 7.9  # beyond, 1 - q < 1.4e-15 holds too few bits for Newton to converge
NZ = 79
LZ_MIN = -8.0  # the small-z table covers log10 z in [LZ_MIN, log10(Z_MIN)]
LZ_MAX = math.log10(Z_MIN)
NZ_SMALL = 36
A_MAX = 0.9
NA = 59  # nodes on the s-axis
BETA_MAX = 1.0 - 1e-8  # down to the gap where points near the edge are solved
KAPPA = 0.1
V_MAX = BETA_MAX - KAPPA * math.log1p(-BETA_MAX)
NB = 55
N_COORDS = 5  # G0..G3, then a*
A_STAR = 4

TABLE_FILE = Path(__file__).parent / "data" / "warm_start.npz"


@njit(cache=True)
def sigma_of_t(t: float, z: float, a_star: float) -> float:
    """The s-coordinate of t = (a - a*) / (A_MAX - a*): increasing, 0 at t = 0, 1 at t = 1.

    The mean of t, a tanh-like step of width ~sqrt(z) at a = 0 and one at a = a*.
    """
    span = A_MAX - a_star
    t0 = -a_star / span  # a = 0
    w2 = z / (span * span)
    at_zero = (t - t0) / math.sqrt((t - t0) ** 2 + w2)
    lo = -t0 / math.sqrt(t0 * t0 + w2)
    hi = (1.0 - t0) / math.sqrt((1.0 - t0) ** 2 + w2)
    edge = t / math.sqrt(t * t + w2) * math.sqrt(1.0 + w2)
    return (t + (at_zero - lo) / (hi - lo) + edge) / 3.0


def _empty() -> np.ndarray:
    return np.full((0, 0, 0, N_COORDS), np.nan)


def _with_a_star(g: np.ndarray, a_star: np.ndarray) -> np.ndarray:
    """The (nz, NA, nb, N_COORDS) float64 table from the stored G (nz, NA, nb, 4) and a* (nz, nb).

    a* does not depend on s, so the file stores it once per (z, beta) (``save_tables``).
    """
    out = np.empty((*g.shape[:3], N_COORDS))
    out[..., :A_STAR] = g
    out[..., A_STAR] = a_star[:, None, :]
    return out


def save_tables(path: Path, main: np.ndarray, small_z: np.ndarray) -> None:
    """Write the tables compressed, float32, a* once per (z, beta) (read by load_tables)."""
    arrays: dict[str, Any] = {}
    for name, table in (("main", main), ("small_z", small_z)):
        arrays[name] = table[..., :A_STAR].astype(np.float32)
        arrays[f"{name}_a_star"] = table[:, 0, :, A_STAR].astype(np.float32)
    np.savez_compressed(path, **arrays)


@lru_cache(maxsize=1)
def load_tables() -> tuple[np.ndarray, np.ndarray]:
    """The shipped (main, small-z) tables as float64; empty ones if the file is missing."""
    if not TABLE_FILE.exists():
        return _empty(), _empty()
    with np.load(TABLE_FILE) as data:
        main = _with_a_star(data["main"], data["main_a_star"])
        small = _with_a_star(data["small_z"], data["small_z_a_star"])
    for name, table, shape in (
        ("main", main, (NZ, NA, NB, N_COORDS)),
        ("small_z", small, (NZ_SMALL, NA, NB, N_COORDS)),
    ):
        if table.shape != shape:
            raise RuntimeError(
                f"{TABLE_FILE}[{name}] has shape {table.shape}, expected {shape}: "
                "rebuild it with tools/make_warm_start.py"
            )
    return main, small


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
def warm_start(
    tables: tuple[np.ndarray, np.ndarray], z: float, a: float, b: float, theta: np.ndarray
) -> bool:
    """Fill theta = (k0, k1, l2, r) from the tables; False outside them or next to a gap.

    Tricubic (Catmull-Rom) interpolation: the start is then about a hundred times closer than a
    trilinear one, which saves about one Newton step. For a <= a* the start has l1 = 0 exactly.
    """
    if z >= Z_MIN:
        table = tables[0]
        iz, tz = _cell(z, Z_MIN, Z_MAX, NZ)
        nz = NZ
    else:
        table = tables[1]
        iz, tz = _cell(math.log10(z), LZ_MIN, LZ_MAX, NZ_SMALL) if z > 0.0 else (-1, 0.0)
        nz = NZ_SMALL
    if table.shape[0] != nz or iz < 0:
        return False
    big_b = math.sqrt(1.0 - max(a, 0.0) ** 2)
    if not (big_b > 0.0):
        return False
    beta = b / big_b
    if BETA_MAX < beta <= BETA_MAX + 1e-14:
        # Points pulled inward to the gap 1e-8 (directional.edge_gap) land on the axis' last
        # node up to rounding.
        beta = BETA_MAX
    if not (beta <= BETA_MAX) or not (a <= A_MAX):
        return False
    ib, tb = _cell(beta - KAPPA * math.log1p(-beta), 0.0, V_MAX, NB)
    if ib < 0:
        return False
    wz = np.empty(4)
    wa = np.empty(4)
    wb = np.empty(4)
    _weights(iz, tz, nz, wz)
    _weights(ib, tb, NB, wb)
    a_star = 0.0
    for dz in range(4):
        for db in range(4):
            w = wz[dz] * wb[db]
            if w != 0.0:
                a_star += w * table[iz + dz - 1, 0, ib + db - 1, A_STAR]
    if not (-1.0 - 1e-6 <= a_star < 0.0):  # (-1 at beta = 0, to float32 rounding)
        return False
    slack = a <= a_star
    s = 0.0 if slack else sigma_of_t((a - a_star) / (A_MAX - a_star), z, a_star)
    ia, ta = _cell(s, 0.0, 1.0, NA)
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
    r = math.exp(g3)
    theta[0] = g0 * l2_over_b
    theta[1] = -r if slack else g1 * l2_over_b
    theta[2] = b * l2_over_b
    theta[3] = r
    return True
