"""The dual witness cannot be fooled: whatever multipliers and radius it is handed (converged or
not), it either returns a radius below the true one or refuses (0.0)."""

import numpy as np
import pytest

from hocert_solver import _solve
from hocert_solver._integrals import integrals
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
    integ = _solve.new_scratch()
    ok, l1_zero, _ = _solve._solve_modes(
        theta, q, m1, m2, scale, integ, _solve.NEWTON_BUDGETS, False
    )
    assert ok
    return theta, m1, m2, l1_zero


def _scratch(theta, stale):
    """The solver's scratch array as _newton leaves it: integrals, STALE flag, lam-Jacobian."""
    integ = _solve.new_scratch()
    jac = np.empty((4, 4))
    integrals(theta[0], theta[1], theta[2], theta[3], 0, True, integ, jac)
    integ[_solve.STALE] = stale
    integ[_solve.JAC_LAM : _solve.JAC_LAM + 9] = jac[:3, :3].ravel()
    return integ


def _certify(theta, q, m1, m2, l1_zero, stale=0.0):
    """The witness on theta, handed the solve's own integrals at theta as in solve_one.

    ``stale=_solve.UNCHECKED`` runs it as after an unevaluated first Newton step: it then also
    checks theta against its own integrals and may step r_w forward.
    """
    integ = _scratch(theta, stale)
    big_m = phi(norm_isf(1.0 - q))
    scale = np.array([1.0 - q, big_m, big_m, 1.0])
    r, _checked = _solve._certify(theta, q, m1, m2, l1_zero, integ, scale)
    return r


STALE_FLAGS = [0.0, _solve.SKIPPED, _solve.UNCHECKED]


@pytest.mark.parametrize(("q", "a", "b", "true_r"), CASES)
@pytest.mark.parametrize("bump", [1e-9, 1e-6, 1e-3, 0.1, 1.0])
@pytest.mark.parametrize("stale", STALE_FLAGS)
def test_witness_refuses_too_large_radii(q, a, b, true_r, bump, stale):
    theta, m1, m2, l1_zero = _converged_theta(q, a, b)
    fooled = theta.copy()
    fooled[3] = true_r * (1 + bump) + 1e-6  # claim a radius above the true one
    r = _certify(fooled, q, m1, m2, l1_zero, stale)
    assert r <= true_r + 1e-12


@pytest.mark.parametrize(("q", "a", "b", "true_r"), CASES)
@pytest.mark.parametrize("stale", STALE_FLAGS)
def test_witness_with_perturbed_multipliers_stays_sound(q, a, b, true_r, stale):
    theta, m1, m2, l1_zero = _converged_theta(q, a, b)
    rng = np.random.default_rng(0)
    for _ in range(20):
        bad = theta * (1 + 0.3 * rng.standard_normal(4))
        bad[2] = abs(bad[2])
        bad[3] = abs(bad[3])
        r = _certify(bad, q, m1, m2, l1_zero, stale)
        assert r <= true_r + 1e-12


def test_strip_witness_refuses_beyond_the_strip_radius():
    q, m1 = 0.9, -0.05
    r, w2, w1 = certified_strip_radius(q, m1)
    assert strip_dual(q, m1, w2, w1, r) > 0.5
    assert strip_dual(q, m1, w2, w1, r * (1 + 1e-6)) < 0.5


@pytest.mark.parametrize(("q", "a", "b", "true_r"), CASES)
def test_unchecked_iterate_is_confirmed_only_near_the_solution(q, a, b, true_r):
    """An unevaluated Newton step is accepted only if the witness integrals put it close."""
    theta, m1, m2, l1_zero = _converged_theta(q, a, b)
    big_m = phi(norm_isf(1.0 - q))
    scale = np.array([1.0 - q, big_m, big_m, 1.0])

    def certify(t):
        integ = _scratch(t, _solve.UNCHECKED)
        return _solve._certify(t, q, m1, m2, l1_zero, integ, scale)

    r, checked = certify(theta)
    assert checked
    assert true_r * (1 - 5e-8) - 1e-12 <= r <= true_r + 1e-12
    # Multipliers 1% off: still a certified radius, but flagged as not confirmed accurate.
    off = theta.copy()
    off[2] *= 1.01
    r, checked = certify(off)
    assert not checked
    assert r <= true_r + 1e-12


def test_the_witness_never_certifies_inputs_above_the_callers():
    """The kernel's effective (m1, m2) never exceed the caller's, whatever M(q) rounds to.

    directional_radius normalises with SciPy's M(q) and the kernel de-normalises with its own;
    ``effective_inputs`` must round towards the caller's bounds (the radius grows with both).
    """
    from hocert_solver import max_gradient_norm
    from tests.solver.domain import random_feasible_triples

    q, m1, m2 = random_feasible_triples(20_000, seed=4)
    m1 = np.where(np.arange(q.size) % 7 == 0, -np.inf, m1)  # "no information" rows, clipped
    big_m = max_gradient_norm(q)
    a, b = np.maximum(m1 / big_m, -1.0), m2 / big_m  # as directional_radius normalises
    n_round_up = 0
    for i in range(q.size):
        _, kernel_m, m1_eff, m2_eff = _solve.effective_inputs(q[i], a[i], b[i], m1[i], m2[i])
        assert m1_eff <= m1[i] or (m1[i] < -big_m[i] and m1_eff < -kernel_m)
        assert m2_eff <= m2[i]
        n_round_up += a[i] * kernel_m > m1[i] or b[i] * kernel_m > m2[i]
    # The hazard is real: plain de-normalisation would round up on a share of the triples.
    assert n_round_up > 100
