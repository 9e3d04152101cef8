"""The dual value and its certified lower bound (``hocert_solver._dual``)."""

import numpy as np
import pytest
from scipy import integrate, stats

from hocert_solver._dual import certified_excess, dual_value


def test_dual_value_is_the_lagrangian_and_below_p():
    # For any lam >= 0, D(lam; r) <= p(r); at lam = 0, D = 0 (trivially). Direct evaluation of
    # D = l0 q + l1 m1 + l2 m2 - E[l2 psi(t / l2)] by quad agrees with the identity we use.
    k0, k1, l2, r = 0.3, 0.4, 0.2, 1.2
    q, m1, m2 = 0.8, -0.05, 0.12
    l0, l1 = k0 + 1 - r * r / 2, k1 + r
    tmp = np.empty(8)
    res = np.empty(4)
    ours = dual_value(k0, k1, l2, r, q, m1, m2, 1, tmp, res)

    def integrand(x):
        t = np.exp(r * x - r * r / 2) - l0 - l1 * x
        s = t / l2
        psi = stats.norm.pdf(s) - s * stats.norm.sf(s)
        return l2 * psi * stats.norm.pdf(x)

    expect, _ = integrate.quad(integrand, -12, r + 12, limit=400, epsabs=1e-15)
    direct = l0 * q + l1 * m1 + l2 * m2 - expect
    assert ours == pytest.approx(direct, abs=1e-12)
    assert certified_excess(k0, k1, l2, r, q, m1, m2) <= ours - 0.5


def test_certified_excess_rejects_negative_multipliers():
    # l1 = k1 + r < 0 is not a valid dual point: no certificate.
    assert certified_excess(0.1, -2.0, 0.3, 1.0, 0.8, -0.1, 0.1) == -np.inf
    assert certified_excess(0.1, 0.2, 0.0, 1.0, 0.8, -0.1, 0.1) == -np.inf
