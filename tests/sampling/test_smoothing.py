"""SmoothedClassifier.predict / certify: the bundled example and classifiers with known radii."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from hocert.examples import EXAMPLE_NUM_CLASSES, EXAMPLE_SIGMA, load_example
from hocert_sampling.alpha_budget import GradientBounds
from hocert_sampling.bounds import clopper_pearson_lower
from hocert_sampling.models import ModelOutputError
from hocert_sampling.smoothing import Certificate, SmoothedClassifier
from hocert_solver import cohen_radius

from .helpers import LinearClassifier, fail_lower_norm_bounds

ABSTAIN = SmoothedClassifier.ABSTAIN


@pytest.fixture(scope="module")
def example():
    return load_example()


@pytest.fixture(scope="module")
def digits(example) -> SmoothedClassifier:
    return SmoothedClassifier(
        example[0], EXAMPLE_NUM_CLASSES, EXAMPLE_SIGMA, backend="numpy", seed=0
    )


def half_space(d: int, p_a: float, sigma: float) -> tuple[LinearClassifier, np.ndarray]:
    """f = 1{sum(x) >= 0} (w = ones: the l1 radius exceeds the l2 radius by sqrt(d)) and a point
    x with g_1(x) = p_a."""
    clf = LinearClassifier(np.ones(d), 0.0)
    margin = sigma * math.sqrt(d) * norm.ppf(p_a)
    return clf, np.full(d, margin / d, dtype=np.float32)


# ----- predict ----------------------------------------------------------------------------------


def test_predict_on_the_example(digits, example) -> None:
    _, x, y = example
    predictions = [digits.predict(x[i], n=200, alpha=0.001, batch_size=100) for i in range(20)]
    correct = sum(p == label for p, label in zip(predictions, y[:20]))
    assert correct >= 17
    assert all(p == ABSTAIN or 0 <= p < 10 for p in predictions)


def test_predict_abstains_on_a_coin_flip() -> None:
    clf = LinearClassifier(np.array([1.0, 0.0]), 0.0)  # p = 1/2 for both classes at x = 0
    smoothed = SmoothedClassifier(clf, 2, 1.0, backend="numpy", seed=0)
    x = np.zeros(2, dtype=np.float32)
    results = [smoothed.predict(x, 1000, 0.01, 500) for _ in range(20)]
    assert results.count(ABSTAIN) >= 17


def test_predict_returns_a_constant_class() -> None:
    smoothed = SmoothedClassifier(lambda b: np.full(len(b), 3), 5, 0.5, backend="numpy", seed=1)
    assert smoothed.predict(np.zeros((2, 2), dtype=np.float32), 50, 0.001, 16) == 3


def test_predict_is_reproducible(example) -> None:
    """Same seed, same sequence of calls: the same answers (noisy regime: sigma = 1, n = 60)."""
    path, x, _ = example

    def run(seed: int) -> list[int]:
        smoothed = SmoothedClassifier(path, 10, 1.0, backend="numpy", seed=seed)
        return [smoothed.predict(x[i], 60, 0.05, 32) for i in range(10)]

    assert run(7) == run(7)


# ----- certify: plumbing ------------------------------------------------------------------------


def test_certify_the_example(digits, example) -> None:
    _, x, y = example
    cert = digits.certify(x[0], n0=100, n=4000, alpha=0.001, batch_size=1000, subspaces="channels")
    assert isinstance(cert, Certificate)
    assert cert.prediction == y[0]
    assert not cert.abstained
    assert 0.5 < cert.p_a_lower < 1
    assert cert.radius_cohen == pytest.approx(EXAMPLE_SIGMA * norm.ppf(cert.p_a_lower))
    for r in (cert.radius_l2, cert.radius_l1, cert.radius_linf, cert.radius_subspace["channel0"]):
        assert 0 < r < 10 * EXAMPLE_SIGMA
    assert cert.radius_linf <= cert.radius_l2  # the l_inf ball of radius r holds the l2 ball of r
    assert set(cert.bounds) == {"cohen", "l2", "l1", "linf", "subspace:channel0"}
    for _name, b in cert.bounds.items():
        assert isinstance(b, GradientBounds)
        assert b.split.spent <= 0.001  # each radius spends at most alpha in total
    assert set(cert.solver_status) == {"l2", "l1", "linf", "subspace:channel0"}


def test_certify_records_inconsistent_bounds(monkeypatch) -> None:
    """A failed lower bound on ||beta||_2 (above M(p_A_lower)): status inconsistent and the
    zeroth-order radius of that radius's own p_A bound, never +inf; l2 needs no lower bound."""
    fail_lower_norm_bounds(monkeypatch)
    sigma, d = 0.5, 4
    clf, x = half_space(d, 0.9, sigma)
    smoothed = SmoothedClassifier(clf, 2, sigma, backend="numpy", seed=3)
    cert = smoothed.certify(x, 50, 2000, 0.01, 1000, subspaces=[np.arange(2)])
    assert cert.prediction == 1
    assert cert.solver_status == {
        "l2": "converged",
        "l1": "inconsistent",
        "linf": "inconsistent",
        "subspace:subspace0": "inconsistent",
    }
    q1 = cert.bounds["l1"]["p_A_lower"]
    qinf = cert.bounds["linf"]["p_A_lower"]
    qs = cert.bounds["subspace:subspace0"]["p_A_lower"]
    assert cert.radius_l1 == sigma * float(cohen_radius(q1))
    # (scaled by 1 / sqrt(d) and rounded down by a few ulps: never above the exact value)
    expected = sigma * float(cohen_radius(qinf)) / math.sqrt(d)
    assert cert.radius_linf == pytest.approx(expected, rel=1e-15)
    assert cert.radius_linf <= expected
    assert cert.radius_subspace["subspace0"] == sigma * float(cohen_radius(qs))
    assert all(math.isfinite(r) for r in (cert.radius_l1, cert.radius_linf))


def test_certify_custom_subspaces(digits, example) -> None:
    """Image 12 (a 7, p_A about 0.92) with 20000 samples: enough to bound the gradient."""
    _, x, y = example
    d = 64
    top_rows = np.arange(32)
    basis = np.zeros((d, 2))  # an orthonormal basis of two pixels
    basis[10, 0] = basis[20, 1] = 1.0
    cert = digits.certify(
        x[12], 100, 20_000, 0.001, 5000, subspaces={"top": top_rows, "two_pixels": basis}
    )
    assert cert.prediction == y[12]
    assert set(cert.radius_subspace) == {"top", "two_pixels"}
    # Moving only some pixels is certified farther than moving all 64 of them, and l1 balls
    # farther than l2 balls.
    assert cert.radius_subspace["top"] > cert.radius_l2
    assert cert.radius_subspace["two_pixels"] > 1.1 * cert.radius_l2
    assert cert.radius_l1 > 1.1 * cert.radius_l2


def test_estimation_uses_only_the_n_estimation_samples() -> None:
    """A constant classifier: all n estimation votes go to A, so p_A_lower = alpha^(1/n)."""
    smoothed = SmoothedClassifier(
        lambda b: np.ones(len(b), dtype=np.int64), 2, 0.5, backend="numpy", seed=0
    )
    n, alpha = 300, 0.01
    cert = smoothed.certify(np.zeros(3, dtype=np.float32), 40, n, alpha, 64)
    assert cert.prediction == 1
    assert cert.p_a_lower == pytest.approx(alpha ** (1 / n), rel=1e-12)
    assert cert.p_a_lower == pytest.approx(clopper_pearson_lower(n, n, alpha))


def test_class_is_chosen_on_the_selection_samples_only() -> None:
    """A model that votes 2 on the first n0 samples and 1 afterwards: A = 2 fails to certify."""
    n0 = 30
    seen = [0]

    def shifty(batch):
        labels = np.where(np.arange(seen[0], seen[0] + len(batch)) < n0, 2, 1)
        seen[0] += len(batch)
        return labels

    smoothed = SmoothedClassifier(shifty, 3, 0.5, backend="numpy", seed=0)
    cert = smoothed.certify(np.zeros(4, dtype=np.float32), n0, 500, 0.001, 10)
    assert seen[0] == n0 + 500
    assert cert.abstained
    assert cert.prediction == ABSTAIN
    assert cert.p_a_lower == 0.0


def test_abstain_gives_zero_radii() -> None:
    clf = LinearClassifier(np.array([1.0, 0.0, 0.0]), 0.0)
    smoothed = SmoothedClassifier(clf, 2, 1.0, backend="numpy", seed=3)
    cert = smoothed.certify(
        np.zeros(3, dtype=np.float32), 100, 2000, 0.001, 500, subspaces=[np.array([0])]
    )
    assert cert.abstained
    assert cert.prediction == ABSTAIN
    assert cert.p_a_lower <= 0.5
    assert (cert.radius_cohen, cert.radius_l2, cert.radius_l1, cert.radius_linf) == (0, 0, 0, 0)
    assert cert.radius_subspace == {"subspace0": 0.0}
    assert set(cert.bounds) == {"cohen"}


def test_certify_is_reproducible(example) -> None:
    path, x, _ = example
    certs = [
        SmoothedClassifier(path, 10, 0.25, backend="numpy", seed=42).certify(
            x[3], 50, 1000, 0.01, 256
        )
        for _ in range(2)
    ]
    assert certs[0] == certs[1]


def test_model_errors_propagate() -> None:
    smoothed = SmoothedClassifier(lambda b: np.full(len(b), 7), 5, 0.5, backend="numpy")
    with pytest.raises(ModelOutputError, match="outside"):
        smoothed.certify(np.zeros(2, dtype=np.float32), 10, 100, 0.01, 50)


# ----- certify: soundness and gain on a half-space ----------------------------------------------


@pytest.mark.parametrize("d", [4, 16])
def test_half_space_radii_do_not_exceed_the_exact_radii(d: int) -> None:
    sigma = 0.5
    clf, x = half_space(d, 0.9, sigma)
    smoothed = SmoothedClassifier(clf, 2, sigma, backend="numpy", seed=d)
    cert = smoothed.certify(x, 100, 100_000, 0.001, 20_000, subspaces=[np.arange(d // 2)])
    exact = clf.exact_radii(x)
    assert cert.prediction == 1
    assert 0.97 * exact["l2"] < cert.radius_cohen <= exact["l2"]
    assert cert.radius_l2 <= exact["l2"]
    assert cert.radius_l1 <= exact["l1"]
    assert cert.radius_linf <= exact["linf"]
    # Inside the subspace of the first d/2 coordinates the worst move is along w restricted
    # there: exact radius m / ||w_S||_2 = sqrt(2) * m / ||w||_2.
    assert cert.radius_subspace["subspace0"] <= math.sqrt(2) * exact["l2"]


def test_first_order_l1_radius_beats_cohen_on_a_half_space() -> None:
    """For w = ones(d) the exact l1 radius is sqrt(d) times the l2 (Cohen) one.

    Cohen's l1 radius is the l2 radius (the l2 ball holds the l1 ball). The first-order certificate
    sees that beta is spread evenly (||beta||_inf small, ||beta||_2 near its maximum M(p_A)) and
    certifies the l1 vertices much farther. A w with one dominant coordinate would show no gain:
    then the l1 worst case is the gradient direction, and l1 and l2 radii coincide. The gain is
    largest at moderate p_A, where ||beta||_2 = M(p_A) is large next to the confidence widths.
    """
    sigma, d = 0.5, 16
    clf, x = half_space(d, 0.7, sigma)
    cert = SmoothedClassifier(clf, 2, sigma, backend="numpy", seed=1).certify(
        x, 100, 200_000, 0.001, 50_000
    )
    exact = clf.exact_radii(x)
    assert cert.radius_l1 > 1.8 * cert.radius_cohen  # exact ratio: sqrt(16) = 4
    assert cert.radius_l1 <= exact["l1"]
    assert cert.radius_cohen <= exact["l2"]
    assert cert.radius_linf <= exact["linf"]


def test_half_space_certificates_hold_across_seeds() -> None:
    """Soundness by repetition: no certified radius may exceed the exact one (alpha = 0.01)."""
    sigma, d, reps = 1.0, 8, 100
    clf, x = half_space(d, 0.95, sigma)
    exact = clf.exact_radii(x)
    smoothed = SmoothedClassifier(clf, 2, sigma, backend="numpy", seed=0)
    failures = 0
    for _ in range(reps):
        cert = smoothed.certify(x, 50, 5000, 0.01, 5000)
        failures += (
            cert.radius_cohen > exact["l2"]
            or cert.radius_l2 > exact["l2"]
            or cert.radius_l1 > exact["l1"]
            or cert.radius_linf > exact["linf"]
        )
    assert failures <= 5


@pytest.mark.slow
def test_l1_gain_grows_with_samples() -> None:
    """d = 64, w = ones: the exact l1 / l2 ratio is 8; the certified one grows with n."""
    sigma, d = 0.5, 64
    clf, x = half_space(d, 0.7, sigma)
    ratios = []
    for n in (20_000, 2_000_000):
        cert = SmoothedClassifier(clf, 2, sigma, backend="numpy", seed=2).certify(
            x, 100, n, 0.001, 100_000
        )
        assert cert.radius_l1 <= clf.exact_radii(x)["l1"]
        ratios.append(cert.radius_l1 / cert.radius_cohen)
    assert ratios[0] > 1.8
    assert ratios[1] > 2.8


# ----- GPU --------------------------------------------------------------------------------------


@pytest.mark.gpu
def test_certify_on_cupy_agrees_with_numpy(example) -> None:
    path, x, y = example
    certs = {
        name: SmoothedClassifier(path, 10, EXAMPLE_SIGMA, backend=name, seed=0).certify(
            x[0], 100, 20_000, 0.001, 5000, subspaces="channels"
        )
        for name in ("numpy", "cupy")
    }
    cpu, gpu = certs["numpy"], certs["cupy"]
    assert gpu.prediction == cpu.prediction == y[0]
    # Different generators: the two agree in distribution, within sampling error.
    assert gpu.p_a_lower == pytest.approx(cpu.p_a_lower, abs=0.02)
    for field in ("radius_cohen", "radius_l2", "radius_l1", "radius_linf"):
        assert getattr(gpu, field) == pytest.approx(getattr(cpu, field), rel=0.15)


@pytest.mark.gpu
def test_certify_half_space_on_cupy() -> None:
    sigma, d = 0.5, 16
    clf, x = half_space(d, 0.9, sigma)
    cert = SmoothedClassifier(clf, 2, sigma, backend="cupy", seed=1).certify(
        x, 100, 200_000, 0.001, 50_000
    )
    exact = clf.exact_radii(x)
    assert cert.radius_l1 <= exact["l1"]
    assert cert.radius_l2 <= exact["l2"]
    assert cert.radius_l1 > 1.3 * cert.radius_cohen
