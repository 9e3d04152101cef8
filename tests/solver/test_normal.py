"""The Numba normal-distribution primitives agree with SciPy to a few ulp."""

import numpy as np
import pytest
from scipy import special, stats

from hocert_solver import _normal


def test_ppf_matches_scipy_over_the_whole_range():
    ps = np.concatenate(
        [np.logspace(-300, -1, 600), np.linspace(0.01, 0.99, 501), 1 - np.logspace(-16, -1, 100)]
    )
    ours = np.array([_normal.norm_ppf(p) for p in ps])
    ref = special.ndtri(ps)
    assert np.max(np.abs(ours - ref) / np.maximum(1.0, np.abs(ref))) < 4e-15


def test_isf_keeps_tiny_tails():
    for p in [1e-300, 1e-100, 1e-20, 1e-7, 0.3]:
        assert _normal.norm_isf(p) == pytest.approx(stats.norm.isf(p), rel=1e-14)


def test_ppf_edges():
    assert _normal.norm_ppf(0.0) == -np.inf
    assert _normal.norm_ppf(1.0) == np.inf
    assert np.isnan(_normal.norm_ppf(1.5))


@pytest.mark.parametrize(("a", "b"), [(-1.0, 2.0), (5.0, 6.0), (-40.0, -8.0), (8.0, np.inf)])
def test_mass_is_accurate_in_both_tails(a, b):
    ref = stats.norm.cdf(b) - stats.norm.cdf(a) if a <= 0 else stats.norm.sf(a) - stats.norm.sf(b)
    assert _normal.norm_mass(a, b) == pytest.approx(ref, rel=1e-13)


def test_expm1_minus_x_small_and_large():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    for v in [1e-9, -3e-4, 5e-3, -0.009, 0.02, 1.5, -4.0]:
        exact = float(mpmath.expm1(mpmath.mpf(v)) - mpmath.mpf(v))
        assert _normal.expm1_minus_x(v) == pytest.approx(exact, rel=1e-13)


def test_sf_pdf_pair_matches_scipy_in_both_tails():
    x = np.concatenate([np.linspace(-12.0, 12.0, 24001), [-0.0, 0.0, 9.999999, 10.0, 40.0, -40.0]])
    pairs = np.array([_normal.norm_sf_pdf(v) for v in x])
    sf = special.ndtr(-x)
    pdf = stats.norm.pdf(x)
    # The relative error grows like eps * x^2 / 2 through exp(-x^2 / 2) (4e-15 at x = 9.5).
    tol = 4e-16 * (4.0 + x * x)
    nonzero = sf > 0
    assert np.all(np.abs(pairs[nonzero, 0] / sf[nonzero] - 1.0) <= tol[nonzero])
    assert np.all(np.abs(pairs[:, 1] - pdf) <= tol * pdf)
    # Below the axis the tail is 1 - (upper tail): absolute error near eps.
    assert np.max(np.abs(pairs[x < 0, 0] - sf[x < 0])) < 4e-16


def test_mills_polynomials_are_continuous_at_the_interval_joins():
    for k in range(1, 10):
        left = _normal.norm_sf_pdf(k - 1e-13)[0]
        right = _normal.norm_sf_pdf(float(k))[0]
        assert right == pytest.approx(left, rel=1e-11)


def test_expm1_pair_is_accurate_on_both_sides_of_its_branches():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    vs = [-30.0, -2.0, -0.5, -0.4999999, -0.2, -0.01, -0.00999, -1e-7, 0.0, 3e-9, 0.00999, 0.01]
    vs += [0.3, 0.4999999, 0.5, 0.7, 3.0, 40.0, 700.0]
    for v in vs:
        e, em = _normal.expm1_pair(v)
        exact_e = mpmath.expm1(mpmath.mpf(v))
        exact_em = exact_e - mpmath.mpf(v)
        assert abs(e - float(exact_e)) <= 4e-16 * abs(float(exact_e))
        assert abs(em - float(exact_em)) <= 2e-15 * abs(float(exact_em))
