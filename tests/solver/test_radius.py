"""Accuracy and soundness of directional_radius against the independent high-precision reference.

``tests/reference.py`` solves the same problem with adaptive quadrature and bracketing root
finding; ``tests/solver/data/reference_grid.npz`` holds its values on a grid over the whole
domain of docs/math.md section 3 (q from 1/2 + 1e-6 to 1 - 1e-7, the whole feasible disk,
m2 = 0, tiny m2 and points near the boundary). Requirements:

* soundness: never above the reference (beyond its own ~1e-12 error);
* accuracy: within 1e-6 * max(1, R) wherever the solver reports full success.
"""

from pathlib import Path

import numpy as np
import pytest

from hocert_solver import CONVERGED, FALLBACK, directional_radius, max_gradient_norm
from tests.reference import reference_radius
from tests.solver.domain import random_feasible_triples

GRID = Path(__file__).parent / "data" / "reference_grid.npz"
ACCURACY = 1e-6
REFERENCE_ERROR = 1e-10


def _load_grid():
    if not GRID.exists():
        pytest.skip("reference grid not generated (python -m tests.make_reference_grid)")
    data = np.load(GRID)
    return data["q"], data["m1"], data["m2"], data["radius"]


def test_grid_soundness_and_accuracy():
    q, m1, m2, ref = _load_grid()
    res = directional_radius(q, m1, m2)
    ours = res.radius
    scale = np.maximum(1.0, np.where(np.isfinite(ref), ref, 1.0))
    finite = np.isfinite(ref)
    # Soundness: never above the true radius.
    above = finite & (ours > ref + REFERENCE_ERROR * scale)
    assert not above.any(), (
        f"{above.sum()} radii above the reference, e.g. q={q[above][:3]}, "
        f"m1={m1[above][:3]}, m2={m2[above][:3]}, ours={ours[above][:3]}, ref={ref[above][:3]}"
    )
    # Unbounded cases agree (the reference says +inf only on the boundary of the disk).
    assert np.all(np.isinf(ours[~finite]) | (res.status[~finite] == FALLBACK))
    # Accuracy wherever the solver claims success.
    ok = finite & (res.status == CONVERGED)
    err = np.abs(ours[ok] - ref[ok]) / scale[ok]
    assert err.max() <= ACCURACY, f"worst relative error {err.max():.3g}"
    # Fallbacks are rare and only sound lower bounds.
    assert np.mean(res.status == FALLBACK) < 0.02


def _random_feasible(n, seed):
    return random_feasible_triples(
        n,
        seed,
        edge_share=0.25,
        low_exponents=(-5.0, -1.0),
        high_exponents=(-6.0, -1.0),
        rho2_max=0.995,
    )


def _check_against_live_reference(n, seed):
    q, m1, m2 = _random_feasible(n, seed)
    res = directional_radius(q, m1, m2)
    for i in range(n):
        ref = reference_radius(float(q[i]), float(m1[i]), float(m2[i]))
        scale = max(1.0, ref)
        assert res.radius[i] <= ref + REFERENCE_ERROR * scale, (q[i], m1[i], m2[i])
        if res.status[i] == CONVERGED:
            assert abs(res.radius[i] - ref) <= ACCURACY * scale, (q[i], m1[i], m2[i])


def test_random_points_against_live_reference():
    _check_against_live_reference(8, seed=11)


@pytest.mark.slow
def test_many_random_points_against_live_reference():
    _check_against_live_reference(200, seed=12)


@pytest.mark.parametrize(
    ("q", "a", "b"),
    [
        (1 - 1e-7, 0.0, 0.999),  # q near 1: multipliers ~ exp(r^2 / 2) ~ 1e9
        (1 - 1e-7, -0.5, 0.999),  # the same with the m1 bound slack (l1 = 0)
        (1 - 1e-7, 0.5, 1e-5),  # tiny m2 near q = 1
        (0.5 + 1e-6, -0.9, 0.3),  # radius ~ 1e-6
    ],
)
def test_edges_against_live_reference(q, a, b):
    big_m = float(max_gradient_norm(q))
    res = directional_radius(q, a * big_m, b * big_m)
    ref = reference_radius(q, a * big_m, b * big_m)
    scale = max(1.0, ref)
    assert res.radius <= ref + REFERENCE_ERROR * scale
    assert abs(res.radius - ref) <= ACCURACY * scale
