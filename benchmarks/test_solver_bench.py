"""Throughput of ``directional_radius`` against a scalar SciPy implementation.

Run with ``python -m pytest benchmarks/test_solver_bench.py --benchmark-only -s``. Prints
triples per second for 10^3 .. 10^6 random feasible triples (after JIT warm-up), the scalar
SciPy baseline (adaptive quadrature + bracketing root finding, ``tests/reference.py``) on a
sample of the same triples, their ratio, and the first-call compile and cached-import times.
Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

from hocert_solver import directional_radius
from tests.solver.domain import random_feasible_triples


@pytest.fixture(scope="module")
def warm() -> None:
    directional_radius(0.9, -0.01, 0.01)


@pytest.mark.parametrize("n", [10**3, 10**4, 10**5, 10**6])
def test_directional_radius_throughput(benchmark, warm, n):
    q, m1, m2 = random_feasible_triples(n)
    # Best of several rounds: the small sizes take milliseconds, where one round is mostly noise.
    rounds = {10**3: 20, 10**4: 5}.get(n, 1)
    res = benchmark.pedantic(directional_radius, args=(q, m1, m2), rounds=rounds, iterations=1)
    per_second = n / benchmark.stats.stats.min
    benchmark.extra_info["triples_per_second"] = per_second
    benchmark.extra_info["fallback_share"] = float(np.mean(res.status == 3))
    benchmark.extra_info["mean_newton_iterations"] = float(np.mean(res.nit))
    print(
        f"\n directional_radius n={n:>8d}: {per_second:12.0f} triples/s,"
        f" mean nit {np.mean(res.nit):.1f}"
    )


def test_throughput_without_warm_start_table(benchmark, warm, monkeypatch):
    """The same solve from strip starts only: what the warm-start tables buy."""
    from hocert_solver import _warm_start

    empty = np.full((0, 0, 0, _warm_start.N_COORDS), np.nan)
    monkeypatch.setattr(_warm_start, "load_tables", lambda: (empty, empty))
    n = 10**5
    q, m1, m2 = random_feasible_triples(n)
    res = benchmark.pedantic(directional_radius, args=(q, m1, m2), rounds=1, iterations=1)
    per_second = n / benchmark.stats.stats.min
    benchmark.extra_info["triples_per_second"] = per_second
    benchmark.extra_info["mean_newton_iterations"] = float(np.mean(res.nit))
    print(
        f"\n directional_radius n={n:>8d} without warm starts: {per_second:12.0f} triples/s,"
        f" mean nit {np.mean(res.nit):.1f}"
    )


def test_scipy_baseline_and_ratio(benchmark, warm):
    reference = pytest.importorskip("tests.reference")
    q, m1, m2 = random_feasible_triples(20, seed=1)

    def scalar_loop():
        return [
            reference.reference_radius(float(a), float(b), float(c))
            for a, b, c in zip(q, m1, m2, strict=True)
        ]

    benchmark.pedantic(scalar_loop, rounds=1, iterations=1)
    scipy_per_second = q.size / benchmark.stats.stats.min
    qq, mm1, mm2 = random_feasible_triples(10**4)
    t0 = time.perf_counter()
    directional_radius(qq, mm1, mm2)
    ours = qq.size / (time.perf_counter() - t0)
    benchmark.extra_info["scipy_triples_per_second"] = scipy_per_second
    benchmark.extra_info["hocert_triples_per_second"] = ours
    benchmark.extra_info["speedup"] = ours / scipy_per_second
    print(
        f"\n SciPy scalar baseline: {scipy_per_second:.2f} triples/s;"
        f" hocert {ours:.0f} triples/s; ratio {ours / scipy_per_second:.0f}x"
    )


def _timed_first_call(cache_dir: str, processes: str = "") -> float:
    code = (
        "import time; t = time.perf_counter(); "
        "from hocert_solver import directional_radius; "
        "directional_radius(0.9, -0.01, 0.01); print(time.perf_counter() - t)"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, HOCERT_COMPILE_PROCESSES=processes)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def test_compile_and_cached_import_time(benchmark):
    """Import + first call: cold cache (compiled in two processes when two cores are idle, and
    in one), and from the cache (docs/benchmarks.md, "First call")."""
    with tempfile.TemporaryDirectory() as one:
        serial = _timed_first_call(one, "1")
    with tempfile.TemporaryDirectory() as cache_dir:
        cold = _timed_first_call(cache_dir)
        cached = benchmark.pedantic(_timed_first_call, args=(cache_dir,), rounds=1, iterations=1)
    benchmark.extra_info["first_call_compile_seconds"] = cold
    benchmark.extra_info["first_call_compile_one_process_seconds"] = serial
    benchmark.extra_info["cached_import_and_first_call_seconds"] = cached
    print(
        f"\n first call with compilation: {cold:.1f} s ({serial:.1f} s in one process);"
        f" import + first call from the cache: {cached:.2f} s"
    )
