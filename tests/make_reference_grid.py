"""Compute the reference radius R(q, m1, m2) on a grid covering the whole domain.

Run from the repository root with ``python -m tests.make_reference_grid`` (about 20 minutes on
two cores).  The result, ``tests/solver/data/reference_grid.npz``, is what the fast solver of
``hocert_solver`` is checked against; it is produced by the independent slow solver in
``tests/reference.py`` (see that module and docs/math.md for the mathematics: Theorem 3 and
Corollary 3.1 of the paper).

Grid (in normalised coordinates a = m1 / M(q), b = m2 / M(q), M(q) = phi(Phi^{-1}(q))):

* q: 17 values from 1/2 + 1e-6 to 1 - 1e-7 (``Q_VALUES``).
* interior: a in ``A_VALUES`` (-1 ... 0.9) times b in {0, 1e-9, 1e-7, 1e-5} (m2 = 0 and tiny
  m2) and b = f * sqrt(1 - max(a, 0)^2) for f in ``B_FRACTIONS``.
* near the boundary of the feasible disk rho = sqrt(max(a, 0)^2 + b^2) = 1: rho in
  ``RHO_RING`` at the angles ``RING_ANGLES`` (a = rho sin(t), b = rho cos(t), from the b axis to
  the a axis), and b = rho for a in ``RING_NEGATIVE_A``.
* on the boundary (R = +inf): ``BOUNDARY_POINTS``.

Stored arrays (one entry per point): q, m1, m2, a, b, radius (float64; +inf on the boundary,
nan where the reference failed), radius_err (the reference's own, conservative error estimate),
dr_dq, dr_dm1, dr_dm2 (sensitivities of R to its inputs: near rho = 1 with q near 1, one ulp of
q moves R by up to ~1e-4, so a comparison there has to allow for the rounding of the inputs),
mode (face of the dual optimum), status ("ok" or the error), seconds (compute time), and
``metadata`` (a JSON string).  The inputs m1 = a * M and m2 = b * M are computed in double
precision with ``tests.reference.big_m``; compare against the stored m1, m2, not a and b.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import mpmath
import numpy as np
import scipy

from tests.reference import big_m, reference_radius_info

Q_VALUES = (
    0.5 + 1e-6,
    0.5 + 1e-4,
    0.51,
    0.55,
    0.6,
    0.7,
    0.75,
    0.8,
    0.9,
    0.95,
    0.97,
    0.99,
    0.999,
    0.9995,
    1.0 - 1e-5,
    1.0 - 1e-6,
    1.0 - 1e-7,
)
A_VALUES = (-1.0, -0.9, -0.7, -0.5, -0.3, -0.1, 0.0, 0.1, 0.3, 0.5, 0.7, 0.9)
B_TINY = (0.0, 1e-9, 1e-7, 1e-5)
B_FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)
RHO_RING = (0.99, 0.999, 0.9999, 1.0 - 1e-6)
RING_ANGLES = (0.0, 0.3, 0.7, 1.1, 1.4, 0.5 * math.pi)
RING_NEGATIVE_A = (-0.3, -0.7, -1.0)
BOUNDARY_POINTS = ((1.0, 0.0), (0.0, 1.0), (0.6, 0.8), (-0.5, 1.0))

OUTPUT = Path(__file__).resolve().parent / "solver" / "data" / "reference_grid.npz"
N_WORKERS = 2


def grid_points() -> list[tuple[float, float, float]]:
    """All (q, a, b) of the grid, in a fixed order."""
    ab: list[tuple[float, float]] = []
    for a in A_VALUES:
        b_max = math.sqrt(1.0 - max(a, 0.0) ** 2)
        ab += [(a, b) for b in B_TINY]
        ab += [(a, f * b_max) for f in B_FRACTIONS]
    for rho in RHO_RING:
        # cos(pi / 2) is 6e-17 in floating point: make that point exactly m2 = 0
        ab += [(rho * math.sin(t), rho * math.cos(t) if t < 1.5 else 0.0) for t in RING_ANGLES]
        ab += [(a, rho) for a in RING_NEGATIVE_A]
    ab += list(BOUNDARY_POINTS)
    return [(q, a, b) for q in Q_VALUES for a, b in ab]


def _solve_one(args: tuple[int, float, float, float]) -> tuple[int, dict[str, object]]:
    i, q, a, b = args
    mq = big_m(q)
    m1, m2 = a * mq, b * mq
    t0 = time.perf_counter()
    out: dict[str, object] = {"m1": m1, "m2": m2}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            info = reference_radius_info(q, m1, m2)
        out.update(
            radius=info.radius,
            radius_err=info.radius_err,
            dr_dq=info.dr_dq,
            dr_dm1=info.dr_dm1,
            dr_dm2=info.dr_dm2,
            mode=info.mode,
            status="ok",
        )
    except Exception as exc:  # recorded in the file, reported at the end
        out.update(
            radius=math.nan,
            radius_err=math.nan,
            dr_dq=math.nan,
            dr_dm1=math.nan,
            dr_dm2=math.nan,
            mode="",
            status=f"{type(exc).__name__}: {exc}"[:300],
        )
    out["seconds"] = time.perf_counter() - t0
    return i, out


def main(argv: list[str] | None = None) -> int:
    """Compute the grid and write ``OUTPUT``; ``--limit N`` computes only N points (a smoke
    test, written next to the real file with suffix ``.partial.npz``)."""
    argv = sys.argv[1:] if argv is None else argv
    limit = int(argv[argv.index("--limit") + 1]) if "--limit" in argv else None
    points = grid_points()
    order = np.random.default_rng(12345).permutation(len(points))  # balance the two workers
    if limit is not None:
        order = order[:limit]
    jobs = [(int(i), *points[i]) for i in order]
    n = len(points)
    results: dict[int, dict[str, object]] = {}
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(N_WORKERS) as pool:
        for k, (i, out) in enumerate(pool.imap_unordered(_solve_one, jobs, chunksize=1), 1):
            results[i] = out
            if k % 100 == 0 or k == len(jobs):
                print(f"{k}/{len(jobs)} points, {time.perf_counter() - t0:.0f} s", flush=True)
    wall = time.perf_counter() - t0

    idx = sorted(results)
    q = np.array([points[i][0] for i in idx])
    a = np.array([points[i][1] for i in idx])
    b = np.array([points[i][2] for i in idx])

    def col(key: str, dtype: type = float) -> np.ndarray:
        return np.array([results[i][key] for i in idx], dtype=dtype)

    status = col("status", str)
    failed = [(points[i], results[i]["status"]) for i in idx if results[i]["status"] != "ok"]
    metadata = {
        "description": (
            "Reference certified directional radius R(q, m1, m2) (units of sigma) of Theorem 3 "
            "with inequality constraints E f >= q, E[X f] >= m1, E[Y f] >= m2, computed by "
            "tests/reference.py (dual of the linear program, adaptive quadrature; m2 = 0 by "
            "Corollary 3.1 in 50-digit arithmetic). radius = inf on the boundary "
            "max(m1, 0)^2 + m2^2 = M(q)^2."
        ),
        "inputs": "m1 = a * M(q), m2 = b * M(q) in double precision, M = tests.reference.big_m",
        "accuracy": (
            "|error| <~ 1e-12 away from the boundary; radius_err is a conservative estimate "
            "(checked against mpmath: true errors are 10-100x smaller, <= ~3e-10 at rho = "
            "1 - 1e-6, q = 1 - 1e-7). dr_dq, dr_dm1, dr_dm2 give the sensitivity to input "
            "rounding."
        ),
        "q_values": list(Q_VALUES),
        "a_values": list(A_VALUES),
        "b_tiny": list(B_TINY),
        "b_fractions": list(B_FRACTIONS),
        "rho_ring": list(RHO_RING),
        "ring_angles": list(RING_ANGLES),
        "ring_negative_a": list(RING_NEGATIVE_A),
        "boundary_points": [list(p) for p in BOUNDARY_POINTS],
        "n_points": n,
        "n_computed": len(idx),
        "n_failed": len(failed),
        "wall_seconds": round(wall, 1),
        "workers": N_WORKERS,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "mpmath": mpmath.__version__,
        },
    }
    out_path = OUTPUT if limit is None else OUTPUT.with_suffix(".partial.npz")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out_path,
        q=q,
        m1=col("m1"),
        m2=col("m2"),
        a=a,
        b=b,
        radius=col("radius"),
        radius_err=col("radius_err"),
        dr_dq=col("dr_dq"),
        dr_dm1=col("dr_dm1"),
        dr_dm2=col("dr_dm2"),
        mode=col("mode", str),
        status=status,
        seconds=col("seconds"),
        metadata=np.array(json.dumps(metadata)),
    )
    secs = col("seconds")
    size = os.path.getsize(out_path)
    print(f"wrote {out_path} ({size} bytes): {len(idx)} points in {wall:.0f} s")
    print(f"per point: median {np.median(secs):.2f} s, max {secs.max():.1f} s")
    for p, msg in failed:
        print(f"FAILED q={p[0]!r} a={p[1]!r} b={p[2]!r}: {msg}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
