"""Cost of the ball-arithmetic proofs: ``verify_radius`` per triple.

Run with ``python -m pytest benchmarks/test_verification_bench.py --benchmark-only -s``. Proves
the solver's own radii on random feasible triples (the solver's time is excluded: its radii are
computed once, outside the timed call, but ``verify_radius`` re-runs it for its hints) and
prints milliseconds per triple and the share proved. Recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import numpy as np

from hocert_solver import directional_radius, verify_radius
from tests.solver.domain import random_feasible_triples


def test_verify_radius_cost(benchmark):
    q, m1, m2 = random_feasible_triples(500, seed=1)
    radius = directional_radius(q, m1, m2).radius
    verify_radius(q[:5], m1[:5], m2[:5], radius[:5])  # warm-up (imports, JIT)
    ok = benchmark.pedantic(verify_radius, args=(q, m1, m2, radius), rounds=1, iterations=1)
    per_triple = benchmark.stats.stats.min / q.size
    finite = np.isfinite(radius)
    benchmark.extra_info["ms_per_triple"] = 1e3 * per_triple
    benchmark.extra_info["proved_share"] = float(np.mean(ok[finite]))
    print(
        f"\n verify_radius: {1e3 * per_triple:.2f} ms/triple,"
        f" {np.mean(ok[finite]):.4f} of {finite.sum()} finite radii proved"
    )
    assert ok[finite].all()
