"""The warm-start table: shipped, current, and unable to change any radius beyond the tolerance.

The table only chooses Newton's first guess. Whatever it holds, every radius is certified by its
own dual witness, and a start that does not converge falls back to the strip start.
"""

import numpy as np
import pytest
from scipy import special

from hocert_solver import CONVERGED, _solve, _warm_start, directional_radius, max_gradient_norm
from tests.solver.domain import random_feasible_triples

EMPTY = np.full((0, 0, 0, _warm_start.N_COORDS), np.nan)


def _solve_flat(q, m1, m2, table):
    big_m = max_gradient_norm(q)
    a, b = np.maximum(m1 / big_m, -1.0), m2 / big_m
    r = np.empty(q.size)
    st = np.empty(q.size, dtype=np.int8)
    it = np.empty(q.size, dtype=np.int32)
    _solve.solve_many(q, a, b, table, r, st, it)
    return r, st, it


def test_shipped_table_has_the_grid_shape_and_no_gaps():
    table = _warm_start.load_table()
    assert table.shape == (_warm_start.NZ, _warm_start.NA, _warm_start.NB, _warm_start.N_COORDS)
    assert np.isfinite(table).all()
    # a* is stored at every t and is where the m1 constraint stops being slack: -1 at beta = 0
    # (the Cohen corner), in (-1, 0) elsewhere.
    a_star = table[..., _warm_start.A_STAR]
    assert np.all(a_star == a_star[:, :1, :])
    np.testing.assert_allclose(a_star[:, 0, 0], -1.0, atol=1e-6)
    assert np.all((a_star[:, 0, 1:] > -1.0) & (a_star[:, 0, 1:] < 0.0))


def test_shipped_table_matches_the_current_solver():
    """A stale table (equations or variables changed without a rebuild) fails here."""
    table = _warm_start.load_table()
    zs, ts, betas = _warm_start.grid_axes()
    rng = np.random.default_rng(3)
    iz = rng.integers(0, zs.size, 40)
    ia = rng.integers(0, ts.size, 40)
    ib = rng.integers(1, betas.size, 40)
    q = special.ndtr(zs[iz])
    a = _warm_start.node_a(table[iz, 0, ib, _warm_start.A_STAR].astype(float), ts[ia])
    b = betas[ib] * np.sqrt(1.0 - np.maximum(a, 0.0) ** 2)
    theta = np.empty((q.size, 4))
    ok = np.empty(q.size, dtype=np.bool_)
    _solve.solve_thetas(q, a, b, theta, ok)
    assert ok.all()
    k0, k1, l2, r = theta.T
    fresh = np.stack([b * k0 / l2, b * k1 / l2, np.log(l2 / b), r], axis=1)
    stored = table[iz, ia, ib, : _warm_start.A_STAR]
    # float32 storage; G2 is a logarithm (absolute tolerance).
    np.testing.assert_allclose(stored, fresh, rtol=1e-5, atol=1e-5)


def test_warm_start_is_refused_outside_the_grid():
    table = _warm_start.load_table()
    theta = np.empty(4)
    assert not _warm_start.warm_start(table, 0.05, 0.0, 0.5, theta)  # z below the grid
    assert not _warm_start.warm_start(table, 6.0, 0.0, 0.5, theta)  # z above
    assert not _warm_start.warm_start(table, 2.0, 0.95, 0.1, theta)  # a above
    assert not _warm_start.warm_start(table * np.nan, 2.0, -0.5, 0.3, theta)  # unsolved nodes
    assert not _warm_start.warm_start(table, 2.0, -0.5, 0.997, theta)  # beta above
    assert not _warm_start.warm_start(EMPTY, 2.0, 0.0, 0.5, theta)  # no table
    assert _warm_start.warm_start(table, 2.0, 0.0, 0.5, theta)
    assert theta[2] > 0
    assert theta[3] > 0


@pytest.mark.parametrize("ia", [0, 10, 30])
def test_warm_start_at_a_node_reproduces_the_stored_solution(ia):
    table = _warm_start.load_table()
    zs, ts, betas = _warm_start.grid_axes()
    iz, ib = 20, 8
    theta = np.empty(4)
    a = _warm_start.node_a(float(table[iz, 0, ib, _warm_start.A_STAR]), ts[ia])
    b = betas[ib] * np.sqrt(1.0 - max(a, 0.0) ** 2)
    assert _warm_start.warm_start(table, zs[iz], a, b, theta)
    g = table[iz, ia, ib]
    # (At t = 0, a = a*, the start takes l1 = 0 exactly: k1 = -r, to float32 rounding.)
    np.testing.assert_allclose(
        theta, [g[0] * np.exp(g[2]), g[1] * np.exp(g[2]), b * np.exp(g[2]), g[3]], rtol=1e-6
    )


@pytest.mark.parametrize("below", [1.0, 0.5, 1e-3])
def test_warm_start_below_the_slack_threshold_has_l1_zero(below):
    # Below a* the m1 constraint is slack: the start is the t = 0 node's (independent of a),
    # with l1 = k1 + r = 0 exactly.
    table = _warm_start.load_table()
    zs, _, betas = _warm_start.grid_axes()
    a_star = float(table[20, 0, 9, _warm_start.A_STAR])
    assert -1.0 < a_star < -0.5
    a = a_star - below * (1.0 + a_star)
    theta = np.empty(4)
    ref = np.empty(4)
    assert _warm_start.warm_start(table, zs[20], a, betas[9], theta)
    assert _warm_start.warm_start(table, zs[20], -1.0, betas[9], ref)
    assert theta[1] + theta[3] == 0.0
    np.testing.assert_array_equal(theta, ref)


def test_warm_and_cold_solves_agree():
    q, m1, m2 = random_feasible_triples(400, seed=21)
    warm, st_w, it_w = _solve_flat(q, m1, m2, _warm_start.load_table())
    cold, st_c, it_c = _solve_flat(q, m1, m2, EMPTY)
    both = (st_w == CONVERGED) & (st_c == CONVERGED)
    assert both.mean() > 0.99
    scale = np.maximum(1.0, np.where(np.isfinite(cold), cold, 1.0))
    fin = both & np.isfinite(cold)
    assert np.max(np.abs(warm[fin] - cold[fin]) / scale[fin]) < 1e-6
    # The point of the table: fewer Newton iterations (measured: 2.8 against 6.5 on average).
    assert it_w.mean() < 0.6 * it_c.mean()


@pytest.mark.parametrize("seed", [0, 1])
def test_a_garbage_table_cannot_raise_a_radius(seed):
    rng = np.random.default_rng(seed)
    good = _warm_start.load_table()
    garbage = good * np.exp(rng.normal(0.0, 1.0, good.shape))
    q, m1, m2 = random_feasible_triples(150, seed=seed + 40)
    fooled, st_f, _ = _solve_flat(q, m1, m2, garbage)
    honest = directional_radius(q, m1, m2)
    scale = np.maximum(1.0, np.where(np.isfinite(honest.radius), honest.radius, 1.0))
    fin = np.isfinite(honest.radius)
    # Never above the honest solve beyond its tolerance, and still accurate where converged.
    assert np.all(fooled[fin] <= honest.radius[fin] + 1e-6 * scale[fin])
    ok = fin & (st_f == CONVERGED) & (honest.status == CONVERGED)
    assert np.max(np.abs(fooled[ok] - honest.radius[ok]) / scale[ok]) < 1e-6
