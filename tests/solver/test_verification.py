"""verify_radius / prove_radius: rigorous ball-arithmetic proofs of the solver's radii.

A proof must hold wherever the solver's radius is right and fail wherever the claim is false:
above the independent reference, above a converged radius by 1e-6, with the wrong multipliers.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hocert_solver import (
    CONVERGED,
    LOWERED,
    cohen_radius,
    directional_radius,
    max_gradient_norm,
    prove_radius,
    verify_radius,
)
from hocert_solver import verification as v
from hocert_solver.directional import _directional
from tests.solver.domain import random_feasible_triples
from tests.solver.worked_values import WORKED

GRID = "tests/solver/data/reference_grid.npz"


def _worked() -> tuple[np.ndarray, ...]:
    q, a, b, r = (np.array(c, dtype=float) for c in zip(*WORKED))
    big_m = max_gradient_norm(q)
    return q, a * big_m, b * big_m, r


def test_worked_values_are_proved_and_nothing_above_them():
    q, m1, m2, ref = _worked()
    res = directional_radius(q, m1, m2)
    assert verify_radius(q, m1, m2, res.radius).all()
    # The worked values are exact to 1e-12: 1e-9 above them is false, and must not be proved.
    assert not verify_radius(q, m1, m2, ref * (1 + 1e-9)).any()


def test_random_triples_all_proved_and_raised_radii_refused():
    q, m1, m2 = random_feasible_triples(200, seed=11)
    res = directional_radius(q, m1, m2)
    finite = np.isfinite(res.radius)
    assert verify_radius(q, m1, m2, res.radius)[finite].all()
    converged = finite & (res.status == CONVERGED) & (res.radius > 0)
    raised = verify_radius(q, m1, m2, res.radius * (1 + 1e-6))
    assert not raised[converged].any()


@pytest.mark.slow
def test_reference_grid_and_10000_random_triples():
    data = np.load(GRID)
    q, m1, m2, ref = data["q"], data["m1"], data["m2"], data["radius"]
    res = directional_radius(q, m1, m2)
    finite = np.isfinite(res.radius)
    assert verify_radius(q, m1, m2, res.radius)[finite].all()
    above = np.where(np.isfinite(ref), ref * (1 + 1e-9) + 1e-12, np.nan)
    assert not verify_radius(q, m1, m2, above).any()
    q, m1, m2 = random_feasible_triples(10_000, seed=5)
    res = directional_radius(q, m1, m2)
    finite = np.isfinite(res.radius)
    assert verify_radius(q, m1, m2, res.radius)[finite].all()
    converged = finite & (res.status == CONVERGED) & (res.radius > 0)
    assert not verify_radius(q, m1, m2, res.radius * (1 + 1e-6))[converged].any()


def test_a_wrong_hint_can_only_make_a_proof_fail():
    q, m1, m2, _ = _worked()
    keep = m2 > 1e-3  # points whose radius needs a dual witness (above the strip radius)
    q, m1, m2 = q[keep], m1[keep], m2[keep]
    res, lam = _directional(q, m1, m2, "raise")
    assert verify_radius(q, m1, m2, res.radius, multipliers=lam).all()
    # Multipliers of another point, or scaled ones, prove nothing above the strip radius.
    assert not verify_radius(q, m1, m2, res.radius, multipliers=np.roll(lam, 1, axis=0)).any()
    assert not verify_radius(q, m1, m2, res.radius, multipliers=lam * 1.01).any()
    # A radius raised by 1e-6 is refused even with the right multipliers.
    assert not verify_radius(q, m1, m2, res.radius * (1 + 1e-6), multipliers=lam).any()


def test_cohen_radius_is_proved_and_an_ulp_above_the_quantile_is_not():
    rng = np.random.default_rng(3)
    q = np.concatenate([rng.uniform(0.5, 1, 100), 1 - 10 ** rng.uniform(-12, -1, 100)])
    r0 = cohen_radius(q)
    assert verify_radius(q, -np.inf, 0.0, r0).all()
    assert not verify_radius(q, -np.inf, 0.0, r0 * (1 + 1e-12)).any()


def test_trivial_infinite_and_invalid_claims():
    big_m = float(max_gradient_norm(0.9))
    # Nothing to prove for radius 0; q = 1 has an infinite radius.
    assert verify_radius(0.9, 0.0, 0.0, 0.0)
    assert verify_radius(1.0, 0.0, 0.0, np.inf)
    assert not verify_radius(1.0, 0.1, 0.0, np.inf)  # M(1) = 0: the gradient contradicts q
    # +inf on the boundary of the feasible disk (within the slack), not inside or far outside.
    assert verify_radius(0.9, 0.0, big_m * (1 + 1e-13), np.inf)
    assert not verify_radius(0.9, 0.0, big_m * (1 - 1e-9), np.inf)
    assert not verify_radius(0.9, 0.0, 2 * big_m, np.inf)
    # Invalid input and abstentions prove nothing positive.
    assert not verify_radius(np.nan, 0.0, 0.0, 1.0)
    assert not verify_radius(0.9, 0.0, 0.0, np.nan)
    assert not verify_radius(0.5, 0.0, 0.0, 0.1)
    assert not verify_radius(0.9, 0.0, -1.0, 0.1)


def test_shapes_broadcast_and_are_checked():
    out = verify_radius(np.array([[0.8], [0.9]]), 0.0, 0.0, np.array([0.1, 0.5, 5.0]))
    assert out.shape == (2, 3)
    assert out[:, :2].all()
    assert not out[:, 2].any()
    with pytest.raises(ValueError, match="broadcast"):
        verify_radius(np.ones(3) * 0.9, np.zeros(2), 0.0, 0.1)
    with pytest.raises(ValueError, match="multipliers"):
        verify_radius(0.9, 0.0, 0.0, 0.1, multipliers=np.ones(2))
    with pytest.raises(TypeError):
        verify_radius("0.9", 0.0, 0.0, 0.1)


def test_prove_radius_lowers_until_proved():
    q, m1, m2, _ = _worked()
    res = directional_radius(q, m1, m2)
    proof = prove_radius(q, m1, m2, res.radius * (1 + 1e-5))
    assert not proof.proved.any()
    assert (proof.radius < res.radius * (1 + 1e-5)).all()
    assert (proof.radius >= cohen_radius(q) * (1 - 1e-12)).all()
    assert verify_radius(q, m1, m2, proof.radius).all()
    assert set(np.unique(proof.how)) <= {v.BY_DUAL, v.BY_STRIP, v.BY_COHEN}


def test_directional_verify_keeps_proved_radii_and_flags_lowered_ones(monkeypatch):
    q, m1, m2, _ = _worked()
    plain = directional_radius(q, m1, m2)
    checked = directional_radius(q, m1, m2, verify=True)
    np.testing.assert_array_equal(checked.radius, plain.radius)
    np.testing.assert_array_equal(checked.status, plain.status)
    # A solver that overshoots by 1e-5 gets caught and lowered.
    from hocert_solver import directional as d

    real = d._directional

    def overshooting(*args):
        res, lam = real(*args)
        raised = d.RadiusResult(radius=res.radius * (1 + 1e-5), status=res.status, nit=res.nit)
        return raised, lam

    monkeypatch.setattr(d, "_directional", overshooting)
    lowered = d.directional_radius(q, m1, m2, verify=True)
    assert (lowered.status == LOWERED).all()
    assert (lowered.radius < plain.radius * (1 + 1e-5)).all()
    assert verify_radius(q, m1, m2, lowered.radius).all()
    with pytest.raises(TypeError, match="verify"):
        directional_radius(0.9, 0.0, 0.0, verify="yes")


def test_ball_module_shares_no_arithmetic_with_the_solver():
    # The proof must not rest on the kernels it checks, nor on SciPy's special functions.
    from pathlib import Path

    import hocert_solver._ball as ball

    source = Path(ball.__file__).read_text(encoding="utf-8")
    kernels = ("_integrals", "_quadrature", "_normal", "_solve", "_newton", "_witness", "_strip")
    for name in ("numba", "scipy", *kernels):
        assert name not in source.split('"""', 2)[2], name


def test_python_flint_is_imported_only_for_a_proof():
    # (about 50 ms of `import hocert_solver`, which most users never need)
    code = (
        "import sys, hocert_solver; assert 'flint' not in sys.modules; "
        "hocert_solver.verify_radius(0.8, 0.1, 0.1, 0.5); assert 'flint' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
