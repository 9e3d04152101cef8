"""Tightness of the gradient-norm estimators on linear classifiers (issue 14).

Run with ``python -m pytest benchmarks/test_estimators_bench.py --benchmark-only -s``.

For ``f(x) = 1{<w, x> + b >= 0}`` with ``w = (1, ..., 1)`` in d dimensions, at a point where
``p_A = Phi(m / (sigma ||w||_2))`` is in ``P_AS`` (sigma = 0.25, alpha = 0.001), the exact radii
are known: ``m / ||w||_inf`` (l1) and ``m / ||w||_1`` (l_inf). For each d in {64, 784, 3072}, n in
{1e4, 1e5, 1e6} and estimator (``"paper"``, ``"mgf"``) it reports the median over
``TRIALS`` simulated inputs of the first-order l1 and l_inf radius (the bounds and solver calls of
``SmoothedClassifier.certify``) over Cohen's (l2 radius, over ``sqrt(d)`` for l_inf) and over
the exact radius, and the samples each estimator needs for a median l1 radius of 1.2x Cohen's.
:func:`test_sparse_linf` does the same for l_inf with a sparse ``w`` (``SPARSE_K = 10`` ones,
d in {784, 3072}), where the exact l_inf radius is ``sqrt(d / k)`` times Cohen's over ``sqrt(d)``
and a first-order radius can beat that fallback.

**Exact simulation of the sufficient statistics.** ``certify`` only uses the vote count and the
two half means of ``z = eps (1{f(x + sigma eps) = A} - 1/2)``. For a linear classifier the vote
depends on ``eps`` only through ``G = <w, eps> / ||w||``: with ``h_i = +1/2`` if
``G_i >= -m / (sigma ||w||)`` and ``-1/2`` otherwise, the half sum is
``sum_i G_i h_i w / ||w|| + sum_i h_i P eps_i``, with ``P`` the projector orthogonal to ``w``.
``P eps_i`` is independent of ``G_i`` and ``h_i^2 = 1/4``, so the second sum is exactly
``N(0, (n_i / 4) P)``: one d-dimensional Gaussian per half, and ``n`` scalar draws of ``G``
(:class:`tests.sampling.simulators.ProjectionModel` does the same). That is 1e6 scalars instead
of 1e6 x 3072 Gaussians through a model, with the same law.

**Samples to 1.2x Cohen** are found on the expected statistics (those of
``SmoothedClassifier.plan`` with the true ``p_A`` and ``beta``: ``round(p_A n)`` votes,
``X.Y = ||beta||^2``, half norms ``sqrt(||beta||^2 + d / (4 n_i))``), by bisection in
``log n`` over [1e3, 1e9], so they are deterministic; the medians of the simulated inputs are
reported next to them as a check.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from scipy import stats

from hocert_sampling.alpha_budget import Evidence
from hocert_sampling.bounds import HalfMeans, _clopper_pearson
from hocert_sampling.smoothing import _plugin_means
from hocert_sampling.threat_models import L1, LINF
from hocert_solver import cohen_radius

SIGMA = 0.25
ALPHA = 0.001
P_AS = (0.9, 0.99)
TRIALS = 15
DIMS = (64, 784, 3072)
NS = (10_000, 100_000, 1_000_000)
ESTIMATORS = ("paper", "mgf")
SPARSE_K = 10  # nonzero entries of the sparse w of the l_inf rows
SPARSE_DIMS = (784, 3072)
SEED = 14


def _radii(successes: int, n: int, means: HalfMeans, estimator: str) -> tuple[float, ...]:
    """(cohen, l1, linf) in units of sigma, as ``certify`` computes them."""
    q = _clopper_pearson(successes, n, ALPHA)
    if q <= 0.5:
        return 0.0, 0.0, 0.0
    ev = Evidence(successes, n, means, estimator=estimator)
    d = means.dim
    r1 = float(L1.solve(L1.bounds(ALPHA, ev), d).radius)
    rinf = float(LINF.solve(LINF.bounds(ALPHA, ev), d).radius)
    return float(cohen_radius(q)), r1, rinf


def _simulate(
    rng: np.random.Generator, d: int, n: int, p_a: float, nonzero: int | None = None
) -> tuple[int, HalfMeans]:
    """Vote count and half means of ``n`` samples around the point (exact law, see above);
    ``w`` is all ones, or ones on the first ``nonzero`` coordinates and zero elsewhere."""
    thresh = -stats.norm.ppf(p_a)  # vote for A iff G >= thresh
    k = d if nonzero is None else nonzero
    w = np.zeros(d)
    w[:k] = 1.0 / math.sqrt(k)
    count, halves = 0, []
    for ni in ((n + 1) // 2, n // 2):
        along = 0.0
        for lo in range(0, ni, 500_000):
            g = rng.standard_normal(min(500_000, ni - lo))
            up = g >= thresh
            count += int(up.sum())
            along += 0.5 * (float(g[up].sum()) - float(g[~up].sum()))
        perp = rng.standard_normal(d) * (0.5 * math.sqrt(ni))
        perp -= (perp @ w) * w
        halves.append((along * w + perp) / ni)
    return count, HalfMeans(halves[0], halves[1], float((n + 1) // 2), float(n // 2), d)


def _expected_l1_ratio(d: int, n: int, estimator: str, p_a: float) -> float:
    """l1 / Cohen on the expected statistics (true p_A and beta)."""
    b2 = float(stats.norm.pdf(stats.norm.ppf(p_a)))
    means = _plugin_means(n, d, b2, b2 / math.sqrt(d), b2 * math.sqrt(d))
    cohen, r1, _ = _radii(round(p_a * n), n, means, estimator)
    return r1 / cohen if cohen > 0 else 0.0


def samples_to_reach(d: int, estimator: str, p_a: float, target: float = 1.2) -> float:
    """Smallest n (bisection in log n, to 2 %) with expected l1 / Cohen >= target; inf if
    not reached by 1e9."""
    lo, hi = math.log(1e3), math.log(1e9)
    if _expected_l1_ratio(d, round(math.exp(hi)), estimator, p_a) < target:
        return math.inf
    while hi - lo > 0.02:
        mid = 0.5 * (lo + hi)
        if _expected_l1_ratio(d, round(math.exp(mid)), estimator, p_a) >= target:
            hi = mid
        else:
            lo = mid
    return round(math.exp(hi), -2)


def _radii_per_estimator(
    rng: np.random.Generator, d: int, n: int, p_a: float, trials: int, **simulate: Any
) -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(estimator, Cohen, l1, l_inf radii over ``trials`` inputs) per estimator; both
    estimators see the same simulated inputs (``_simulate``'s keywords pass through)."""
    sims = [_simulate(rng, d, n, p_a, **simulate) for _ in range(trials)]
    for est in ESTIMATORS:
        r = np.array([_radii(c, n, m, est) for c, m in sims])
        yield est, r[:, 0], r[:, 1], r[:, 2]


def estimator_table(p_a: float, trials: int = TRIALS) -> list[dict[str, Any]]:
    """One row per (d, n, estimator): medians of l1 and l_inf radius over Cohen and exact."""
    rows = []
    z = stats.norm.ppf(p_a)
    for d in DIMS:
        exact_l1, exact_linf = z * math.sqrt(d), z / math.sqrt(d)  # units of sigma
        for n in NS:
            rng = np.random.default_rng(SEED + d + n)
            for est, cohen, l1, linf in _radii_per_estimator(rng, d, n, p_a, trials):
                rows.append(
                    {
                        "d": d,
                        "n": n,
                        "estimator": est,
                        "l1_over_cohen": float(np.median(l1 / cohen)),
                        "l1_over_exact": float(np.median(l1 / exact_l1)),
                        "linf_over_cohen": float(np.median(linf / (cohen / math.sqrt(d)))),
                        "linf_over_exact": float(np.median(linf / exact_linf)),
                    }
                )
    return rows


def _markdown(columns: list[tuple[str, str, str]], rows: list[dict[str, Any]]) -> str:
    """A markdown table: ``columns`` are (title, row key, format spec)."""
    lines = [
        "| " + " | ".join(title for title, _, _ in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for r in rows:
        lines.append("| " + " | ".join(format(r[key], spec) for _, key, spec in columns) + " |")
    return "\n".join(lines)


_ROW_KEYS = [("d", "d", ""), ("n", "n", ".0e"), ("estimator", "estimator", "")]


def format_table(rows: list[dict[str, Any]]) -> str:
    return _markdown(
        [
            *_ROW_KEYS,
            ("l1 / Cohen", "l1_over_cohen", ".3f"),
            ("l1 / exact", "l1_over_exact", ".4f"),
            ("linf / Cohen", "linf_over_cohen", ".4f"),
            ("linf / exact", "linf_over_exact", ".4f"),
        ],
        rows,
    )


def sparse_linf_table(p_a: float, trials: int = TRIALS) -> list[dict[str, Any]]:
    """l_inf (and l1) radii for a sparse ``w``: ones on ``SPARSE_K`` coordinates.

    Exact radii (units of sigma): ``z ||w||_2 / ||w||_1 = z / sqrt(k)`` for l_inf, ``z sqrt(k)``
    for l1 (``z = Phi^{-1}(p_A)``), so the exact l_inf radius is ``sqrt(d / k)`` times Cohen's
    over ``sqrt(d)``: this is where a first-order l_inf radius can beat the l2 fallback.
    """
    rows = []
    z = stats.norm.ppf(p_a)
    k = SPARSE_K
    for d in SPARSE_DIMS:
        for n in NS:
            rng = np.random.default_rng(SEED + 7 * d + n)
            for est, cohen, l1, linf in _radii_per_estimator(rng, d, n, p_a, trials, nonzero=k):
                rows.append(
                    {
                        "d": d,
                        "n": n,
                        "estimator": est,
                        "linf_over_cohen": float(np.median(linf / (cohen / math.sqrt(d)))),
                        "linf_over_exact": float(np.median(linf / (z / math.sqrt(k)))),
                        "l1_over_cohen": float(np.median(l1 / cohen)),
                    }
                )
    return rows


def format_sparse_table(rows: list[dict[str, Any]]) -> str:
    return _markdown(
        [
            *_ROW_KEYS,
            ("linf / (Cohen / sqrt d)", "linf_over_cohen", ".3f"),
            ("linf / exact", "linf_over_exact", ".4f"),
            ("l1 / Cohen", "l1_over_cohen", ".3f"),
        ],
        rows,
    )


@pytest.mark.benchmark(group="estimators")
@pytest.mark.parametrize("p_a", P_AS)
def test_estimator_tightness(benchmark, p_a):
    rows = benchmark.pedantic(estimator_table, args=(p_a,), rounds=1, iterations=1)
    needed = {f"{d}:{e}": samples_to_reach(d, e, p_a) for d in DIMS for e in ESTIMATORS}
    print("\n" + format_table(rows))
    print("samples to a median l1 radius of 1.2x Cohen:", needed)
    benchmark.extra_info.update(rows=rows, samples_to_1_2x=needed)
    by = {(r["d"], r["n"], r["estimator"]): r for r in rows}
    for d in DIMS:
        for n in NS:
            assert by[d, n, "mgf"]["l1_over_cohen"] >= by[d, n, "paper"]["l1_over_cohen"]
    for d in (784, 3072) if p_a >= 0.99 else ():
        # issue 14: at least 5 % larger median l1 radius at n = 1e6 (at p_A = 0.9 both are
        # within a few percent of the limit of n -> inf, and the gain is 2-3 %)
        gain = by[d, 10**6, "mgf"]["l1_over_cohen"] / by[d, 10**6, "paper"]["l1_over_cohen"]
        assert gain >= 1.05


@pytest.mark.benchmark(group="estimators")
@pytest.mark.parametrize("p_a", P_AS)
def test_sparse_linf(benchmark, p_a):
    """l_inf for a sparse w (k = 10 nonzero entries): the first-order radius beats Cohen's over
    sqrt(d) once the ||beta||_1 bound is informative, and mgf is never below paper."""
    rows = benchmark.pedantic(sparse_linf_table, args=(p_a,), rounds=1, iterations=1)
    print(f"\nsparse w (k = {SPARSE_K}), p_A = {p_a}\n" + format_sparse_table(rows))
    benchmark.extra_info.update(rows=rows)
    by = {(r["d"], r["n"], r["estimator"]): r for r in rows}
    for d in SPARSE_DIMS:
        for n in NS:
            assert by[d, n, "mgf"]["linf_over_cohen"] >= by[d, n, "paper"]["linf_over_cohen"]
            assert by[d, n, "mgf"]["linf_over_exact"] <= 1.0
