"""The dual witness cannot be fooled: whatever multipliers and radius it is handed (converged or
not), it either returns a radius below the true one or refuses (0.0)."""

import numpy as np
import pytest

from hocert_solver import _solve
from hocert_solver._integrals import N_INTEGRALS, integrals
from hocert_solver._interval import certified_strip_radius, strip_dual
from hocert_solver._normal import norm_isf, phi
from tests.solver.worked_values import WORKED

CASES = [row for row in WORKED if row[2] > 1e-6]


def _converged_theta(q, a, b):
    big_m = phi(norm_isf(1.0 - q))
    m1, m2 = a * big_m, b * big_m
    r_strip, w2, w1 = certified_strip_radius(q, m1)
    scale = np.array([1.0 - q, big_m, big_m, 1.0])
    theta = np.empty(4)
    _solve._strip_start(q, m1, m2, w2, w1, r_strip, theta)
    integ = np.empty(N_INTEGRALS + 1)  # the solver's scratch layout: integrals, then STALE
    ok, l1_zero, _ = _solve._solve_modes(theta, q, m1, m2, scale, integ, _solve.NEWTON_BUDGETS)
    assert ok
    return theta, m1, m2, l1_zero


def _certify(theta, q, m1, m2, l1_zero):
    """The witness on theta, handed the solve's own integrals at theta as in solve_one."""
    integ = np.zeros(N_INTEGRALS + 1)
    integrals(theta[0], theta[1], theta[2], theta[3], 0, False, integ, np.empty((4, 4)))
    return _solve._certify(theta, q, m1, m2, l1_zero, integ)


@pytest.mark.parametrize(("q", "a", "b", "true_r"), CASES)
@pytest.mark.parametrize("bump", [1e-9, 1e-6, 1e-3, 0.1, 1.0])
def test_witness_refuses_too_large_radii(q, a, b, true_r, bump):
    theta, m1, m2, l1_zero = _converged_theta(q, a, b)
    fooled = theta.copy()
    fooled[3] = true_r * (1 + bump) + 1e-6  # claim a radius above the true one
    r = _certify(fooled, q, m1, m2, l1_zero)
    assert r <= true_r + 1e-12


@pytest.mark.parametrize(("q", "a", "b", "true_r"), CASES)
def test_witness_with_perturbed_multipliers_stays_sound(q, a, b, true_r):
    theta, m1, m2, l1_zero = _converged_theta(q, a, b)
    rng = np.random.default_rng(0)
    for _ in range(20):
        bad = theta * (1 + 0.3 * rng.standard_normal(4))
        bad[2] = abs(bad[2])
        bad[3] = abs(bad[3])
        r = _certify(bad, q, m1, m2, l1_zero)
        assert r <= true_r + 1e-12


def test_strip_witness_refuses_beyond_the_strip_radius():
    q, m1 = 0.9, -0.05
    r, w2, w1 = certified_strip_radius(q, m1)
    assert strip_dual(q, m1, w2, w1, r) > 0.5
    assert strip_dual(q, m1, w2, w1, r * (1 + 1e-6)) < 0.5
