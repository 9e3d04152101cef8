"""Panel quadrature of the Theorem 3 integrals against SciPy's adaptive quadrature."""

import itertools

import numpy as np
import pytest
from scipy import integrate, stats

from hocert_solver._integrals import NARROW_SHIFT, _shift_mass, integrals, residuals
from hocert_solver._normal import expm1_minus_x

THETAS = [
    (0.1, 0.2, 0.3, 1.0),  # moderate everything
    (0.5, 1.0, 1e-3, 2.0),  # sharp transitions (small l2)
    (2.0, -3.0, 5.0, 3.0),  # l1 = 0 (k1 = -r), wide transition
    (1e-4, 1e-3, 1e-5, 0.02),  # small radius: q near 1/2
    (3.0, 2.0, 0.05, 4.5),  # large radius
]


def _reference(k0, k1, l2, r):
    def u(x):
        v = r * x - r * r / 2
        return (k0 + k1 * x - (np.expm1(v) - v)) / l2

    fns = [
        lambda x: stats.norm.sf(u(x)),
        lambda x: x * stats.norm.sf(u(x)),
        lambda x: stats.norm.pdf(u(x)),
        lambda x: np.expm1(r * x - r * r / 2) * stats.norm.sf(u(x)),
        lambda x: (x - r) * np.exp(r * x - r * r / 2) * stats.norm.sf(u(x)),
    ]
    pts = np.linspace(-12, r + 12, 300)
    out = []
    for f in fns:
        total = 0.0
        for a, b in itertools.pairwise(pts):
            val, _ = integrate.quad(
                lambda x, f=f: f(x) * stats.norm.pdf(x), a, b, epsabs=1e-17, epsrel=1e-13
            )
            total += val
        out.append(total)
    return np.array(out)


@pytest.mark.parametrize("theta", THETAS)
def test_integrals_match_adaptive_quadrature(theta):
    ref = _reference(*theta)
    for rule, tol in [(0, 2e-9), (1, 1e-13)]:
        out = np.empty(8)
        integrals(*theta, rule, False, out, np.empty((4, 4)))
        np.testing.assert_allclose(out[:5], ref, rtol=0, atol=tol)


@pytest.mark.parametrize("theta", THETAS)
def test_jacobian_matches_finite_differences(theta):
    q, m1, m2 = 0.8, -0.1, 0.1

    def f(th):
        out = np.empty(8)
        integrals(*th, 0, False, out, np.empty((4, 4)))
        res = np.empty(4)
        residuals(out, q, m1, m2, res)
        return res

    th = np.array(theta)
    out = np.empty(8)
    jac = np.empty((4, 4))
    integrals(*th, 0, True, out, jac)
    fd = np.empty((4, 4))
    for k in range(4):
        e = np.zeros(4)
        e[k] = 1e-6 * max(1.0, abs(th[k]))
        if k == 2:
            e[k] = 1e-3 * th[2]
        fd[:, k] = (f(th + e) - f(th - e)) / (2 * e[k])
    np.testing.assert_allclose(jac, fd, rtol=2e-4, atol=1e-6 * np.abs(jac).max())


def test_expm1_form_keeps_small_radius_digits():
    # s(x) = l0 + l1 x - w(x) computed in the k-form must match the direct form to full relative
    # precision of the small quantities when r ~ 1e-4.
    r = 1e-4
    x = 0.7
    k0, k1 = 3e-9, -2e-9
    direct_small = k0 + k1 * x - (np.expm1(r * x - r * r / 2) - (r * x - r * r / 2))
    assert k0 + k1 * x - expm1_minus_x(r * x - r * r / 2) == pytest.approx(direct_small, rel=1e-9)


@pytest.mark.parametrize("nodes", ["gl8", "gl12", "gk17"])
def test_factorised_phi_and_w_match_direct_evaluation(nodes):
    """_panel_phi_w's products (2 + n/2 exps per panel) agree with phi(x) and e^v node by node."""
    from hocert_solver import _quadrature as quad
    from hocert_solver._integrals import _panel_phi_w

    tx = {"gl8": quad.GL8_X, "gl12": quad.GL12_X, "gk17": quad.GK17_X}[nodes]
    nn = tx.size
    rng = np.random.default_rng(7)
    worst = 0.0
    for _ in range(300):
        r = 10 ** rng.uniform(-6, 1.5)
        hw = 0.5 * min(1.0, 2.5 / r) * rng.uniform(0.05, 1.0)
        c = rng.uniform(-9.0, r + 9.0)
        d = hw * tx
        q = np.exp(-0.5 * d * d)
        g = np.exp(r * d)
        p, w = np.empty(nn), np.empty(nn)
        if not _panel_phi_w(c, hw, r, 0.5 * r * r, nn, d, q, g, p, w):
            assert r * (c + hw) - 0.5 * r * r >= 600.0 or abs(c) + hw >= 37.0
            continue
        x = c + d
        direct_p = np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)
        direct_w = np.exp(r * x - 0.5 * r * r)
        worst = max(worst, np.max(np.abs(p / direct_p - 1.0)), np.max(np.abs(w / direct_w - 1.0)))
    # A few ulp of each factor, plus the rounding of x = c + d inside the direct exps.
    assert worst < 2e-13


def test_shift_mass_has_relative_precision():
    # P(x - r < Z < x) for the closed-form pieces of I3 at small r: a difference of two
    # Phi-masses would leave an absolute error of about eps, i.e. all of it at r ~ 1e-15.
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 120
    worst = 0.0
    for x in np.linspace(-25.0, 25.0, 101):
        for r in (1e-15, 1e-12, 1e-6, 1e-3, 0.05, NARROW_SHIFT):
            hi = mpmath.mpf(float(x))
            lo = hi - mpmath.mpf(r)
            exact = (
                mpmath.ncdf(hi) - mpmath.ncdf(lo) if x <= 0 else mpmath.ncdf(-lo) - mpmath.ncdf(-hi)
            )
            worst = max(worst, float(abs(_shift_mass(float(x), r) / exact - 1)))
    assert worst <= 4 * np.finfo(float).eps
    assert _shift_mass(np.inf, 0.01) == 0.0
    assert _shift_mass(-np.inf, 0.01) == 0.0
