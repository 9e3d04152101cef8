"""Noise sampling: counts, split-half sums, memory, seeds."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from hocert_sampling.backend import get_backend
from hocert_sampling.models import CallableModel
from hocert_sampling.sampler import NoiseStatistics, sample_statistics

from .helpers import FixedNoise, LinearClassifier

NP = get_backend("numpy")
SIGMA = 0.5


def linear_model(d: int, seed: int = 0, backend=NP) -> tuple[CallableModel, np.ndarray]:
    rng = np.random.default_rng(seed)
    clf = LinearClassifier(rng.standard_normal(d), 0.1)
    return CallableModel(clf, 2, backend), rng.standard_normal(d).astype(np.float32) * 0.1


def direct_statistics(model, x, n, batch_size, seed, target):
    """The same run computed naively: the full n x d matrix of z_i, then the two halves."""
    rng = NP.rng(seed)
    eps, labels = [], []
    for start in range(0, n, batch_size):
        e = rng.standard_normal((min(batch_size, n - start), *x.shape), dtype=np.float32)
        labels.append(model(x + np.float32(SIGMA) * e))
        eps.append(e.reshape(len(e), -1).astype(np.float64))
    eps, labels = np.concatenate(eps), np.concatenate(labels)
    z = eps * ((labels == target) - 0.5)[:, None]
    return np.bincount(labels, minlength=model.num_classes), z[0::2].sum(0), z[1::2].sum(0)


@pytest.mark.parametrize(("n", "batch_size"), [(37, 10), (40, 7), (2, 100), (101, 1)])
def test_sums_match_direct_computation(n: int, batch_size: int) -> None:
    model, x = linear_model(6)
    stats = sample_statistics(model, x, SIGMA, n, batch_size, NP.rng(3), target=1)
    counts, sum_x, sum_y = direct_statistics(model, x, n, batch_size, 3, 1)
    np.testing.assert_array_equal(stats.counts, counts)
    np.testing.assert_allclose(stats.sum_x, sum_x, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(stats.sum_y, sum_y, rtol=1e-5, atol=1e-5)
    assert (stats.n1, stats.n2) == ((n + 1) // 2, n // 2)
    assert stats.n == n
    assert stats.target == 1
    np.testing.assert_allclose(stats.mean, (sum_x + sum_y) / n, atol=1e-6)
    np.testing.assert_allclose(stats.mean_x, sum_x / stats.n1, atol=1e-6)


def test_prefetch_thread_path_matches_direct_computation() -> None:
    # d * batch >= 32768 and several batches: the noise is drawn one batch ahead on a helper
    # thread; the statistics must be those of the plain sequential draw.
    model, x = linear_model(4096)
    n, batch_size = 50, 16
    stats = sample_statistics(model, x, SIGMA, n, batch_size, NP.rng(5), target=1)
    counts, sum_x, sum_y = direct_statistics(model, x, n, batch_size, 5, 1)
    np.testing.assert_array_equal(stats.counts, counts)
    np.testing.assert_allclose(stats.sum_x, sum_x, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(stats.sum_y, sum_y, rtol=1e-5, atol=1e-4)


def test_image_shaped_input() -> None:
    model, _ = linear_model(12)
    x = np.zeros((3, 2, 2), dtype=np.float32)
    shapes = []

    def spy(batch):
        shapes.append((batch.shape, batch.dtype))
        return model.fn(batch)

    stats = sample_statistics(CallableModel(spy, 2, NP), x, SIGMA, 25, 10, NP.rng(0), target=0)
    assert shapes == [((10, 3, 2, 2), np.float32)] * 2 + [((5, 3, 2, 2), np.float32)]
    assert stats.sum_x.shape == (12,)
    assert stats.sum_x.dtype == np.float64


def test_counts_only() -> None:
    model, x = linear_model(4)
    stats = sample_statistics(model, x, SIGMA, 1000, 300, NP.rng(0))
    assert isinstance(stats, NoiseStatistics)
    assert stats.counts.dtype == np.int64
    assert stats.counts.sum() == 1000
    assert stats.sum_x is None
    assert stats.target is None
    with pytest.raises(ValueError, match="counts only"):
        _ = stats.mean


def test_seed_reproducibility() -> None:
    model, x = linear_model(5)
    a = sample_statistics(model, x, SIGMA, 500, 64, NP.rng(11), target=1)
    b = sample_statistics(model, x, SIGMA, 500, 64, NP.rng(11), target=1)
    c = sample_statistics(model, x, SIGMA, 500, 64, NP.rng(12), target=1)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.sum_x, b.sum_x)
    np.testing.assert_array_equal(a.sum_y, b.sum_y)
    assert not np.array_equal(a.sum_x, c.sum_x)


def test_mean_estimates_beta_of_a_half_space() -> None:
    clf = LinearClassifier(np.array([1.0, -2.0, 0.5, 0.0]), 0.3)
    x = np.array([0.2, 0.1, -0.1, 0.4], dtype=np.float32)
    n = 40_000
    stats = sample_statistics(CallableModel(clf, 2, NP), x, SIGMA, n, 4096, NP.rng(1), target=1)
    # Each coordinate of z has standard deviation <= 1/2.
    np.testing.assert_allclose(stats.mean, clf.beta(x, SIGMA), atol=5 * 0.5 / np.sqrt(n))
    assert abs(stats.counts[1] / n - clf.p_a(x, SIGMA)) < 5 * 0.5 / np.sqrt(n)


def test_halves_are_independent() -> None:
    """For a constant classifier beta = 0: X.Y is centred (independent halves), X.X is not."""
    d, n, reps = 40, 100, 300
    model = CallableModel(lambda b: np.zeros(len(b), dtype=np.int64), 2, NP)
    rng = NP.rng(0)
    x = np.zeros(d, dtype=np.float32)
    cross, self_dot = [], []
    for _ in range(reps):
        s = sample_statistics(model, x, SIGMA, n, 64, rng, target=0)
        cross.append(s.mean_x @ s.mean_y)
        self_dot.append(s.mean_x @ s.mean_x)
    # z = -eps/2: E[X.Y] = 0 with sd sqrt(d) / (4 sqrt(n1 n2)); E[X.X] = d / (4 n1).
    sd = np.sqrt(d) / (4 * np.sqrt(50 * 50)) / np.sqrt(reps)
    assert abs(np.mean(cross)) < 4 * sd
    assert np.mean(self_dot) == pytest.approx(d / (4 * 50), rel=0.1)


def test_memory_is_order_batch_times_d() -> None:
    """Peak memory stays near a few batches even though n * d floats would be 80 MB."""
    d, n, batch_size = 2000, 10_000, 250
    model, x = linear_model(d)
    sample_statistics(model, x, SIGMA, 20, batch_size, NP.rng(0), target=1)  # warm-up
    tracemalloc.start()
    try:
        stats = sample_statistics(model, x, SIGMA, n, batch_size, NP.rng(0), target=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stats.n == n
    batch_bytes = batch_size * d * 4
    assert peak < 8 * batch_bytes, f"peak {peak} bytes vs batch {batch_bytes}"
    assert peak < n * d * 4 / 10


@pytest.mark.gpu
def test_cupy_matches_numpy_on_the_same_noise() -> None:
    import cupy

    d = 30
    clf = LinearClassifier(np.random.default_rng(0).standard_normal(d), 0.2)
    x = np.full(d, 0.05, dtype=np.float32)
    results = []
    for backend, xp in ((get_backend("numpy"), np), (get_backend("cupy"), cupy)):
        model = CallableModel(clf, 2, backend)
        results.append(sample_statistics(model, x, SIGMA, 5000, 512, FixedNoise(7, xp), target=1))
    cpu, gpu = results
    assert isinstance(gpu.sum_x, np.ndarray)  # only host statistics come back
    # Same noise, same votes (a float32 margin within rounding of 0 is unlikely at this seed).
    np.testing.assert_array_equal(gpu.counts, cpu.counts)
    np.testing.assert_allclose(gpu.sum_x, cpu.sum_x, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(gpu.sum_y, cpu.sum_y, rtol=1e-5, atol=1e-3)


@pytest.mark.gpu
def test_cupy_seed_reproducibility() -> None:
    model, x = linear_model(8, backend=get_backend("cupy"))
    cp = get_backend("cupy")
    a = sample_statistics(model, x, SIGMA, 3000, 256, cp.rng(4), target=1)
    b = sample_statistics(model, x, SIGMA, 3000, 256, cp.rng(4), target=1)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.sum_x, b.sum_x)
