"""Threat-model radii: bounds that contradict q are INCONSISTENT, with Cohen's radius."""

import numpy as np
import pytest

from hocert_solver import (
    CONVERGED,
    INCONSISTENT,
    INVALID,
    cohen_radius,
    directional_radius,
    l1_radius,
    l2_radius,
    linf_radius,
    max_gradient_norm,
    subspace_radius,
    verify_radius,
)

Q = np.array([0.6, 0.9, 0.999])
BIG_M = max_gradient_norm(Q)


def test_l2_radius_has_no_lower_bound_to_contradict():
    res = l2_radius(Q, 100.0 * BIG_M)
    assert np.all(res.status == CONVERGED)
    np.testing.assert_allclose(res.radius, cohen_radius(Q), rtol=1e-12)


@pytest.mark.parametrize("factor", [1.0 + 1e-10, 1.5, 10.0])
def test_l1_with_a_norm_lower_bound_above_m_is_inconsistent(factor):
    b2 = factor * BIG_M
    # m2 = sqrt(b2^2 - binf^2) stays inside the disk: only the norm bound contradicts q.
    res = l1_radius(Q, b2, b2, b2)
    np.testing.assert_array_equal(res.status, INCONSISTENT)
    np.testing.assert_array_equal(res.radius, cohen_radius(Q))
    assert not res.success.any()
    # The directional vertex is outside the disk as well.
    res = l1_radius(Q, 0.1 * BIG_M, b2, b2)
    np.testing.assert_array_equal(res.status, INCONSISTENT)
    np.testing.assert_array_equal(res.radius, cohen_radius(Q))


def test_l1_within_the_slack_is_unchanged():
    b2 = (1.0 + 1e-13) * BIG_M
    res = l1_radius(Q, 0.5 * BIG_M, b2, b2)
    assert not np.any(res.status == INCONSISTENT)
    m2 = np.sqrt(np.maximum(0.0, b2 * b2 - (0.5 * BIG_M) ** 2))
    first = directional_radius(Q, -0.5 * BIG_M, m2)
    np.testing.assert_array_equal(res.radius, np.maximum(first.radius, l2_radius(Q, b2).radius))


def test_linf_inconsistent_is_cohen_over_sqrt_d():
    d = 16
    b2 = 2.0 * BIG_M
    res = linf_radius(Q, np.sqrt(d) * b2, b2, b2, d)
    np.testing.assert_array_equal(res.status, INCONSISTENT)
    # (the scaled radius is rounded down by a few ulps: never above the exact scaled value)
    np.testing.assert_allclose(res.radius, cohen_radius(Q) / np.sqrt(d), rtol=1e-15)
    assert np.all(res.radius <= cohen_radius(Q) / np.sqrt(d))
    ok = linf_radius(Q, 0.5 * BIG_M, 0.4 * BIG_M, BIG_M, d)
    assert not np.any(ok.status == INCONSISTENT)


def test_subspace_inconsistent_even_with_an_l2_fallback():
    # complement_l2_lower > M(q) contradicts q; an l2 upper bound below M(q) would give a
    # larger l2 radius, but it is not trusted either.
    res = subspace_radius(Q, 0.1 * BIG_M, 1.2 * BIG_M)
    np.testing.assert_array_equal(res.status, INCONSISTENT)
    np.testing.assert_array_equal(res.radius, cohen_radius(Q))
    res = subspace_radius(Q, 0.1 * BIG_M, 1.2 * BIG_M, 0.5 * BIG_M)
    np.testing.assert_array_equal(res.status, INCONSISTENT)
    np.testing.assert_array_equal(res.radius, cohen_radius(Q))


def test_mixed_arrays_and_q_one():
    b2 = np.array([0.5, 2.0, 0.5]) * BIG_M
    res = l1_radius(Q, 0.5 * BIG_M, b2, BIG_M * 2.0)
    np.testing.assert_array_equal(res.status == INCONSISTENT, [False, True, False])
    assert res.radius[1] == cohen_radius(Q[1])
    # M(1) = 0: any positive lower bound on the norm contradicts q = 1 (Cohen's radius +inf).
    res = l1_radius([1.0, 1.0], 0.0, [0.0, 0.1], 1.0)
    np.testing.assert_array_equal(res.status, [CONVERGED, INCONSISTENT])
    assert np.all(np.isinf(res.radius))
    np.testing.assert_array_equal(res.success, [True, False])
    # q <= 1/2 abstains, whatever the bounds.
    res = l1_radius(0.4, 0.0, 5.0, 5.0)
    assert res.radius == 0.0
    assert res.status != INCONSISTENT


def test_no_inf_with_success_outside_the_disk():
    rng = np.random.default_rng(4)
    n = 3000
    q = rng.uniform(0.51, 0.99999, n)
    big_m = max_gradient_norm(q)
    b2_lo = rng.uniform(0.0, 2.0, n) * big_m
    b2_hi = b2_lo * rng.uniform(1.0, 1.5, n)
    binf = b2_hi * rng.uniform(0.0, 1.0, n)
    for res in (
        l1_radius(q, binf, b2_lo, b2_hi),
        linf_radius(q, 3.0 * binf, b2_lo, b2_hi, 9),
        subspace_radius(q, binf, b2_lo, b2_hi),
    ):
        outside = b2_lo > big_m * (1.0 + 1e-12)
        np.testing.assert_array_equal(res.status == INCONSISTENT, outside)
        assert np.all(np.isfinite(res.radius[outside]))
        assert not np.any(np.isinf(res.radius) & res.success & outside)


@pytest.mark.parametrize(
    ("fn", "kwargs"),
    [
        (l2_radius, {"grad_l2_upper": [np.nan, 0.1]}),
        (
            l1_radius,
            {
                "grad_linf_upper": [0.01, np.nan],
                "grad_l2_lower": [0.01, 0.01],
                "grad_l2_upper": [0.2, 0.2],
            },
        ),
        (
            linf_radius,
            {
                "grad_l1_upper": [-1.0, 0.5],
                "grad_l2_lower": [0.01, 0.01],
                "grad_l2_upper": [0.2, 0.2],
                "dim": 10,
            },
        ),
    ],
)
def test_on_invalid_nan_marks_bad_gradient_bounds(fn, kwargs):
    # (issue #15: NaN or negative gradient bounds raised even with on_invalid="nan")
    res = fn([0.9, 0.9], **kwargs, on_invalid="nan")
    assert np.isnan(res.radius).sum() == 1
    assert (np.asarray(res.status) == INVALID).sum() == 1
    with pytest.raises(ValueError, match="must be"):
        fn([0.9, 0.9], **kwargs)


def test_inconsistent_radii_are_proved_under_verify():
    # verify=True proves every radius in ball arithmetic, the Cohen radius of contradicting
    # bounds too (before it is scaled for l_inf).
    b2 = 2.0 * BIG_M
    for res, scale in (
        (l1_radius(Q, b2, b2, b2, verify=True), 1.0),
        (linf_radius(Q, 4.0 * b2, b2, b2, 16, verify=True), 0.25),
        (subspace_radius(Q, 0.1 * BIG_M, 1.2 * BIG_M, 0.5 * BIG_M, verify=True), 1.0),
    ):
        np.testing.assert_array_equal(res.status, INCONSISTENT)
        unscaled = np.asarray(res.radius) / scale
        assert verify_radius(Q, -BIG_M, np.zeros(Q.size), unscaled * (1 - 1e-15)).all()
        np.testing.assert_allclose(res.radius, scale * cohen_radius(Q), rtol=1e-12)
