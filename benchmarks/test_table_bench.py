"""RadiusTable benchmarks: lookup throughput, tightness on the default grid, build throughput.

Run with ``python -m pytest benchmarks/test_table_bench.py --benchmark-only``. The default
table is built once (on a local Dask cluster) into pytest's cache directory
(``.pytest_cache/d/hocert-table-default``; the build resumes from its checkpoint if
interrupted) and reused by later runs. A summary table is printed at the end of the module.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from scipy import special

from hocert_solver import __version__, max_gradient_norm
from hocert_solver.table import RadiusTable

RESULTS: list[tuple[str, str]] = []


@pytest.fixture(scope="module", autouse=True)
def _print_summary(request):
    yield
    if not RESULTS:
        return
    width = max(len(name) for name, _ in RESULTS)
    lines = ["", f"RadiusTable benchmarks ({os.cpu_count()} CPUs)"]
    lines += [f"  {name:<{width}}  {value}" for name, value in RESULTS]
    capman = request.config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled():
        print("\n".join(lines))


@pytest.fixture(scope="module")
def default_table(request) -> RadiusTable:
    cache = request.config.cache.mkdir("hocert-table-default")
    path = cache / "table.npz"
    grid = RadiusTable.default_grid()
    if path.exists():
        try:
            table = RadiusTable.load(path)
        except ValueError:  # e.g. a format-1 table without multipliers: rebuild it
            table = None
        if table is not None:
            same = all(np.array_equal(getattr(table, k), v) for k, v in grid.items())
            if same and table.metadata.get("solver_version") == __version__:
                return table
    t0 = time.perf_counter()
    table = RadiusTable.build(**grid, checkpoint=cache / "checkpoint")
    elapsed = time.perf_counter() - t0
    n_cells = int(np.count_nonzero(table.status >= 0))
    build = table.metadata["build"]
    RESULTS.append(
        (
            "default table build",
            f"{n_cells} cells in {elapsed:.1f} s ({n_cells / elapsed:,.0f} cells/s; "
            f"{build['scheduler']}, {build['n_chunks']} chunks)",
        )
    )
    table.save(path)
    return table


def random_queries(n: int, seed: int = 0, z_hi: float = 5.2):
    """z = Phi^{-1}(q) uniform in (0, z_hi), (a, b) uniform in the feasible half disk."""
    rng = np.random.default_rng(seed)
    q = special.ndtr(rng.uniform(1e-3, z_hi, n))
    a = rng.uniform(-1.0, 1.0, n)
    b = rng.uniform(0.0, 1.0, n) * np.sqrt(1.0 - np.maximum(a, 0.0) ** 2)
    big_m = max_gradient_norm(q)
    return q, a * big_m, b * big_m


@pytest.mark.parametrize("return_status", [False, True], ids=["radius", "radius+status"])
@pytest.mark.parametrize("n", [10**6, 10**7], ids=["1e6", "1e7"])
def test_lookup_throughput(benchmark, default_table, n, return_status):
    q, m1, m2 = random_queries(n)
    default_table.lookup(q[:100], m1[:100], m2[:100])  # compile / load the kernel
    rounds = 20 if n <= 10**6 else 5
    benchmark.pedantic(
        default_table.lookup,
        args=(q, m1, m2),
        kwargs={"return_status": return_status},
        rounds=rounds,
        iterations=1,
        warmup_rounds=1,
    )
    best = n / benchmark.stats.stats.min
    median = n / benchmark.stats.stats.median
    # CPU time per lookup (all threads): less sensitive than wall time to other load on the
    # machine; n_cpus / cpu_ns is the rate the kernel reaches on otherwise idle cores.
    cpu = []
    for _ in range(3):
        t0 = time.process_time()
        default_table.lookup(q, m1, m2, return_status=return_status)
        cpu.append(time.process_time() - t0)
    cpu_ns = min(cpu) / n * 1e9
    n_cpus = os.cpu_count() or 1
    benchmark.extra_info.update(
        n=n,
        lookups_per_s_best=best,
        lookups_per_s_median=median,
        cpu_ns_per_lookup=cpu_ns,
        threads=n_cpus,
    )
    label = "+status" if return_status else ""
    RESULTS.append(
        (
            f"lookup{label} n={n:.0e}",
            f"{median / 1e6:6.1f} M lookups/s median, {best / 1e6:6.1f} M/s best (wall); "
            f"{cpu_ns:5.1f} CPU-ns/lookup = {n_cpus / cpu_ns * 1e3:5.1f} M/s on {n_cpus} "
            "idle cores",
        )
    )


def test_tightness_default_grid(benchmark, default_table):
    q, m1, m2 = random_queries(20_000, seed=1)
    rep = benchmark.pedantic(default_table.tightness, args=(q, m1, m2), rounds=1, iterations=1)
    s = rep.summary()
    assert s["n_above_direct"] == 0
    benchmark.extra_info.update(s)
    RESULTS.append(
        (
            "tightness lookup/direct",
            f"median {s['median_ratio']:.4f}, mean {s['mean_ratio']:.4f}, "
            f"5% {s['p05_ratio']:.4f}, 1% {s['p01_ratio']:.4f}, min {s['min_ratio']:.4f} "
            f"(n={int(s['n'])}, lookups above direct: {int(s['n_above_direct'])})",
        )
    )
    z = special.ndtri(q)
    for lo, hi in [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 5.2)]:
        m = (z >= lo) & (z < hi)
        r = rep.ratio[m]
        RESULTS.append(
            (
                f"  z in [{lo:g}, {hi:g})",
                f"median {np.nanmedian(r):.4f}, 5% {np.nanquantile(r, 0.05):.4f}",
            )
        )


def test_verify_default_table(benchmark, default_table, tmp_path):
    """RadiusTable.verify (one witness evaluation per solved cell) and load with / without it."""
    default_table.verify()  # compile / load the kernel
    rep = benchmark.pedantic(default_table.verify, rounds=5, iterations=1, warmup_rounds=1)
    assert rep.ok
    path = tmp_path / "table.npz"
    default_table.save(path)
    loads = {}
    for verify in (True, False):
        t = []
        for _ in range(3):
            t0 = time.perf_counter()
            RadiusTable.load(path, verify=verify)
            t.append(time.perf_counter() - t0)
        loads[verify] = min(t)
    best, median = benchmark.stats.stats.min, benchmark.stats.stats.median
    benchmark.extra_info.update(
        cells=rep.n_checked, verify_s_best=best, load_s=loads[True], load_unverified_s=loads[False]
    )
    RESULTS.append(
        (
            "verify default table",
            f"{rep.n_checked} cells in {median:.2f} s median, {best:.2f} s best "
            f"({best / rep.n_checked * 1e6:.1f} us/cell); load {loads[True]:.2f} s verified, "
            f"{loads[False]:.3f} s with verify=False",
        )
    )


BUILD_GRID = {"z_max": 4.0, "dz": 0.1, "da": 0.2, "db": 0.2}


@pytest.fixture(scope="module")
def dask_client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=os.cpu_count() or 1, threads_per_worker=1, dashboard_address=None
    )
    client = Client(cluster)
    # Warm the workers (imports, Numba cache) outside the timing.
    RadiusTable.build(
        **RadiusTable.default_grid(z_max=1.0, dz=0.5, da=1.0, db=1.0),
        executor=client.get_executor(),
        numba_threads=1,
    )
    yield client
    client.close()
    cluster.close()


@pytest.mark.parametrize("where", ["dask-local", "in-process"])
def test_build_throughput(benchmark, where, request):
    grid = RadiusTable.default_grid(**BUILD_GRID)
    on_dask: dict = {}
    if where == "dask-local":
        on_dask = {"executor": request.getfixturevalue("dask_client").get_executor()}
        on_dask["numba_threads"] = 1  # one single-threaded worker process per core
    table = benchmark.pedantic(
        RadiusTable.build,
        kwargs={**grid, **on_dask, "chunk_size": 256},
        rounds=1,
        iterations=1,
    )
    n_cells = int(np.count_nonzero(table.status >= 0))
    rate = n_cells / benchmark.stats.stats.min
    benchmark.extra_info.update(cells=n_cells, cells_per_s=rate)
    RESULTS.append((f"build {where}", f"{n_cells} cells, {rate:,.0f} cells/s ({table.shape} grid)"))
