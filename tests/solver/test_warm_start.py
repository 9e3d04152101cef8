"""The warm-start table (``_warm_start``, built by ``_warm_start_build``): shipped, current, and
unable to change any radius beyond the tolerance.

The table only chooses Newton's first guess. Whatever it holds, every radius is certified by its
own dual witness, and a start that does not converge falls back to the strip start.
"""

import numpy as np
import pytest
from scipy import special

from hocert_solver import (
    CONVERGED,
    _solve,
    _warm_start,
    _warm_start_build,
    directional_radius,
    max_gradient_norm,
)
from tests.solver.domain import random_feasible_triples

EMPTY = np.full((0, 0, 0, _warm_start.N_COORDS), np.nan)
NO_TABLES = (EMPTY, EMPTY)
TABLES = [pytest.param(False, id="main"), pytest.param(True, id="small_z")]


def _table(small_z):
    return _warm_start.load_tables()[1 if small_z else 0]


def _solve_flat(q, m1, m2, tables):
    big_m = max_gradient_norm(q)
    a, b = np.maximum(m1 / big_m, -1.0), m2 / big_m
    r = np.empty(q.size)
    st = np.empty(q.size, dtype=np.int8)
    it = np.empty(q.size, dtype=np.int32)
    _solve.solve_many(q, a, b, m1, m2, tables, r, st, it, np.empty((q.size, 3)))
    return r, st, it


def _node_a(zs, table, iz, ia, ib):
    ss = _warm_start_build.grid_axes()[1]
    a = np.empty(np.size(iz))
    _warm_start_build.node_a(
        np.atleast_1d(zs[iz]).astype(float),
        np.atleast_1d(table[iz, 0, ib, _warm_start.A_STAR]).astype(float),
        np.atleast_1d(ss[ia]).astype(float),
        a,
    )
    return a


@pytest.mark.parametrize("small_z", TABLES)
def test_shipped_table_has_the_grid_shape_and_few_gaps(small_z):
    table = _table(small_z)
    nz = _warm_start.NZ_SMALL if small_z else _warm_start.NZ
    assert table.shape == (nz, _warm_start.NA, _warm_start.NB, _warm_start.N_COORDS)
    # Nodes the cold solver cannot solve are NaN (no warm start next to them, a cold solve
    # instead). They are where 1 - q or q - 1/2 leaves Newton few bits: z > 6.6 (1 - q < 2e-11)
    # and, for the small-z table, the edge of the disk at tiny z. Elsewhere there are none.
    solved = np.isfinite(table[..., : _warm_start.A_STAR]).all(axis=-1)
    zs, _, betas = _warm_start_build.grid_axes(small_z)
    if small_z:
        assert solved[:, :, betas <= 0.995].all()
        assert solved.mean() > 0.99
    else:
        assert solved[zs < 6.65].all()
        assert solved.mean() > 0.95
    # a* is stored at every s and is where the m1 constraint stops being slack: -1 at beta = 0
    # (the Cohen corner), in (-1, 0) elsewhere.
    a_star = table[..., _warm_start.A_STAR]
    known = np.isfinite(a_star[:, 0, :])
    assert known[zs < 6.65].all()
    assert np.all((a_star == a_star[:, :1, :]) | ~np.isfinite(a_star))
    np.testing.assert_allclose(a_star[:, 0, 0], -1.0, atol=1e-6)
    inner = a_star[:, 0, 1:][known[:, 1:]]
    assert np.all((inner > -1.0) & (inner < 0.0))


def test_the_two_tables_meet_at_z_min():
    zs_main = _warm_start_build.grid_axes(small_z=False)[0]
    zs_small = _warm_start_build.grid_axes(small_z=True)[0]
    assert zs_small[-1] == pytest.approx(zs_main[0], rel=1e-14)
    np.testing.assert_allclose(_table(True)[-1], _table(False)[0], rtol=1e-5, atol=1e-5)


def test_sigma_axis_is_increasing_and_spans_zero_to_one():
    t = np.linspace(0.0, 1.0, 2001)
    for z in (1e-6, 1e-3, 0.1, 5.0):
        for a_star in (-1.0, -0.6, -0.05):
            s = np.array([_warm_start.sigma_of_t(x, z, a_star) for x in t])
            assert s[0] == pytest.approx(0.0, abs=1e-15)
            assert s[-1] == pytest.approx(1.0, rel=1e-14)
            assert np.all(np.diff(s) > 0.0)
            a = np.empty(t.size)
            _warm_start_build.node_a(np.full(t.size, z), np.full(t.size, a_star), s, a)
            np.testing.assert_allclose(a, a_star + t * (_warm_start.A_MAX - a_star), atol=1e-12)


@pytest.mark.parametrize("small_z", TABLES)
def test_shipped_table_matches_the_current_solver(small_z):
    """A stale table (equations or variables changed without a rebuild) fails here."""
    table = _table(small_z)
    zs, ss, betas = _warm_start_build.grid_axes(small_z)
    rng = np.random.default_rng(3)
    iz = rng.integers(0, zs.size, 40)
    ia = rng.integers(0, ss.size, 40)
    ib = rng.integers(1, betas.size, 40)
    q = special.ndtr(zs[iz])
    # a* afresh as build_table finds it (the l1 = 0 solution at a = -1), not from the float32
    # table: near q = 1/2 some nodes are ill-conditioned in (k0, l2) (not in r), and a float32
    # a* would move them.
    theta = np.empty((q.size, 4))
    ok = np.empty(q.size, dtype=np.bool_)
    _warm_start_build.solve_thetas(q, np.full(q.size, -1.0), betas[ib], theta, ok)
    assert ok.all()
    a_star = np.full(q.size, np.nan)
    _warm_start_build.slack_threshold(q, theta, ok, a_star)
    np.testing.assert_allclose(table[iz, 0, ib, _warm_start.A_STAR], a_star, atol=1e-6)
    a = np.empty(q.size)
    _warm_start_build.node_a(zs[iz], a_star, ss[ia], a)
    b = betas[ib] * np.sqrt(1.0 - np.maximum(a, 0.0) ** 2)
    _warm_start_build.solve_thetas(q, a, b, theta, ok)
    assert ok.all()
    k0, k1, l2, r = theta.T
    fresh = np.stack([b * k0 / l2, b * k1 / l2, np.log(l2 / b), np.log(r)], axis=1)
    stored = table[iz, ia, ib, : _warm_start.A_STAR]
    # float32 storage; G2 and G3 are logarithms (absolute tolerance). Near q = 1/2, (G0, G2)
    # of some nodes move by ~1e-4 with the last bits of the quadrature (FMA or not on another
    # CPU), while the radius does not: those two get a looser tolerance.
    np.testing.assert_allclose(stored[:, [1, 3]], fresh[:, [1, 3]], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(stored[:, [0, 2]], fresh[:, [0, 2]], rtol=1e-3, atol=1e-3)


def test_warm_start_is_refused_outside_the_grid():
    tables = _warm_start.load_tables()
    theta = np.empty(4)
    w = _warm_start
    assert not w.warm_start(tables, 0.5 * 10**w.LZ_MIN, 0.0, 0.5, theta)  # z below the grids
    assert not w.warm_start(tables, w.Z_MAX + 0.05, 0.0, 0.5, theta)  # z above
    assert not w.warm_start(tables, 2.0, 0.95, 0.1, theta)  # a above
    beta_above = 1.0 - 0.5 * (1.0 - w.BETA_MAX)
    assert not w.warm_start(tables, 2.0, -0.5, beta_above, theta)  # beta above
    assert not _warm_start.warm_start(NO_TABLES, 2.0, 0.0, 0.5, theta)  # no tables
    unsolved = (tables[0] * np.nan, tables[1] * np.nan)
    assert not _warm_start.warm_start(unsolved, 2.0, -0.5, 0.3, theta)
    assert not _warm_start.warm_start(unsolved, 1e-3, -0.5, 0.3, theta)
    for z in (2.0, 1e-3):
        assert _warm_start.warm_start(tables, z, 0.0, 0.5, theta)
        assert theta[2] > 0
        assert theta[3] > 0


@pytest.mark.parametrize("small_z", TABLES)
@pytest.mark.parametrize("ia", [0, 10, 30, 58])
def test_warm_start_at_a_node_reproduces_the_stored_solution(small_z, ia):
    table = _table(small_z)
    zs, _, betas = _warm_start_build.grid_axes(small_z)
    iz, ib = 20, 8
    theta = np.empty(4)
    a = _node_a(zs, table, iz, ia, ib)[0]
    b = betas[ib] * np.sqrt(1.0 - max(a, 0.0) ** 2)
    assert _warm_start.warm_start(_warm_start.load_tables(), zs[iz], a, b, theta)
    g = table[iz, ia, ib]
    r = np.exp(g[3])
    # (At s = 0, a = a*, the start takes l1 = 0 exactly: k1 = -r, to float32 rounding.)
    np.testing.assert_allclose(
        theta, [g[0] * np.exp(g[2]), g[1] * np.exp(g[2]), b * np.exp(g[2]), r], rtol=1e-6
    )


@pytest.mark.parametrize("small_z", TABLES)
@pytest.mark.parametrize("below", [1.0, 0.5, 1e-3])
def test_warm_start_below_the_slack_threshold_has_l1_zero(small_z, below):
    # Below a* the m1 constraint is slack: the start is the s = 0 node's (independent of a),
    # with l1 = k1 + r = 0 exactly.
    tables = _warm_start.load_tables()
    table = _table(small_z)
    zs, _, betas = _warm_start_build.grid_axes(small_z)
    a_star = float(table[20, 0, 9, _warm_start.A_STAR])
    assert -1.0 < a_star < -0.5
    a = a_star - below * (1.0 + a_star)
    theta = np.empty(4)
    ref = np.empty(4)
    assert _warm_start.warm_start(tables, zs[20], a, betas[9], theta)
    assert _warm_start.warm_start(tables, zs[20], -1.0, betas[9], ref)
    assert theta[1] + theta[3] == 0.0
    np.testing.assert_array_equal(theta, ref)


def test_warm_and_cold_solves_agree():
    q, m1, m2 = random_feasible_triples(400, seed=21)
    warm, st_w, it_w = _solve_flat(q, m1, m2, _warm_start.load_tables())
    cold, st_c, it_c = _solve_flat(q, m1, m2, NO_TABLES)
    both = (st_w == CONVERGED) & (st_c == CONVERGED)
    assert both.mean() > 0.99
    scale = np.maximum(1.0, np.where(np.isfinite(cold), cold, 1.0))
    fin = both & np.isfinite(cold)
    assert np.max(np.abs(warm[fin] - cold[fin]) / scale[fin]) < 1e-6
    # The point of the tables: fewer Newton iterations (measured: 1.5 against 6.7 on average).
    assert it_w.mean() < 0.6 * it_c.mean()


@pytest.mark.parametrize("seed", [0, 1])
def test_a_garbage_table_cannot_raise_a_radius(seed):
    rng = np.random.default_rng(seed)
    garbage = tuple(t * np.exp(rng.normal(0.0, 1.0, t.shape)) for t in _warm_start.load_tables())
    q, m1, m2 = random_feasible_triples(150, seed=seed + 40)
    fooled, st_f, _ = _solve_flat(q, m1, m2, garbage)
    honest = directional_radius(q, m1, m2)
    scale = np.maximum(1.0, np.where(np.isfinite(honest.radius), honest.radius, 1.0))
    fin = np.isfinite(honest.radius)
    # Never above the honest solve beyond its tolerance, and still accurate where converged.
    assert np.all(fooled[fin] <= honest.radius[fin] + 1e-6 * scale[fin])
    ok = fin & (st_f == CONVERGED) & (honest.status == CONVERGED)
    assert np.max(np.abs(fooled[ok] - honest.radius[ok]) / scale[ok]) < 1e-6
