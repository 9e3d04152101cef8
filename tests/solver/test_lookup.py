"""Lookups (hocert_solver._lookup): soundness, exactness at grid points, monotonicity, domain."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import special

from hocert_solver import (
    ABSTAIN,
    CONVERGED,
    INCONSISTENT,
    INVALID,
    PROJECTED,
    cohen_radius,
    directional_radius,
    max_gradient_norm,
)
from hocert_solver.table import OUTSIDE, SKIPPED, RadiusTable
from tests.solver.table_helpers import random_feasible, reference_corner, small_table
from tests.solver.worked_values import WORKED


@pytest.fixture(scope="module")
def table() -> RadiusTable:
    return small_table()


# ------------------------------------------------------------------------------ soundness


@pytest.mark.parametrize(("q", "a", "b", "expected"), WORKED)
def test_lookup_is_below_the_worked_values(table, q, a, b, expected):
    big_m = max_gradient_norm(q)
    r = table.lookup(q, a * big_m, b * big_m)
    assert 0.0 < r <= expected


def test_lookup_reads_the_floor_corner_exactly(table):
    # White-box: the kernel's O(1) indices equal a binary search against the exact solver
    # inputs, and every corner coordinate is <= the query (the soundness invariant).
    rng = np.random.default_rng(7)
    q, m1, m2 = random_feasible(rng, 4000, z_hi=4.4)
    # Queries exactly at, and one ulp around, grid values.
    i = rng.integers(1, table.q.size, 600)
    qq = np.concatenate([table.q[i], np.nextafter(table.q[i], 0.0), np.nextafter(table.q[i], 1)])
    ja = rng.integers(1, table.a.size, qq.size)
    kb = rng.integers(0, table.b.size, qq.size)
    mm = max_gradient_norm(qq)
    x1 = table.a[ja] * mm
    x2 = table.b[kb] * mm
    x1 = np.where(rng.random(qq.size) < 0.5, x1, np.nextafter(x1, -np.inf))
    x2 = np.where(rng.random(qq.size) < 0.5, x2, np.nextafter(x2, np.inf))
    q, m1, m2 = np.concatenate([q, qq]), np.concatenate([m1, x1]), np.concatenate([m2, x2])
    r, s = table.lookup(q, m1, m2, on_outside="nan", return_status=True)
    ii, jj, kk, c1, c2 = reference_corner(table, q, m1, m2)
    assert np.all(table.q[ii] <= q)
    assert np.all(c1 <= m1)
    assert np.all(c2 <= m2)
    # Grid points outside the disk at q get Cohen's radius instead of the corner's value.
    bad = s == INCONSISTENT
    assert 0 < bad.sum() < 600
    np.testing.assert_array_equal(r[~bad], table.lookup_values[ii, jj, kk][~bad])
    np.testing.assert_array_equal(r[bad], cohen_radius(q[bad]))


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    z=st.floats(1e-6, 6.0),
    a=st.floats(-1.5, 1.5),
    b=st.floats(0.0, 1.5),
)
def test_floor_corner_invariant_property(table, z, a, b):
    q = float(special.ndtr(z))
    if q <= 0.5:
        return
    big_m = float(max_gradient_norm(q))
    r, s = table.lookup(q, a * big_m, b * big_m, return_status=True)
    ii, jj, kk, c1, c2 = reference_corner(
        table, np.array([q]), np.array([a * big_m]), np.array([b * big_m])
    )
    assert c1[0] <= a * big_m
    assert c2[0] <= b * big_m
    assert table.q[ii[0]] <= q
    rho = float(np.hypot(max(a, 0.0), b))
    if abs(rho - 1.0) > 1e-10:  # clear of the boundary, where the slack decides
        assert (s == INCONSISTENT) == (rho > 1.0)
    if s == INCONSISTENT:
        assert r == cohen_radius(q)
        assert rho > 1.0 + 1e-13
    else:
        assert r == table.lookup_values[ii[0], jj[0], kk[0]]


def test_m1_below_minus_m_is_the_a_equals_minus_one_column(table):
    q = np.array([0.7, 0.9, 0.99])
    big_m = max_gradient_norm(q)
    m2 = 0.3 * big_m
    r_inf = table.lookup(q, -np.inf, m2)
    np.testing.assert_array_equal(r_inf, table.lookup(q, -5.0, m2))
    i = np.searchsorted(table.q, q, side="right") - 1
    np.testing.assert_array_equal(r_inf, table.lookup(q, -table.big_m[i], m2))
    # -M(q) > -M(q_i) can only do better.
    assert np.all(table.lookup(q, -big_m, m2) >= r_inf)


# ------------------------------------------------------------------------------ exactness


def test_exact_at_grid_points(table):
    nq, na, nb = table.shape
    i, j, k = np.meshgrid(np.arange(1, nq), np.arange(na), np.arange(nb), indexing="ij")
    i, j, k = i.ravel(), j.ravel(), k.ravel()
    solved = table.status[i, j, k] != SKIPPED
    i, j, k = i[solved], j[solved], k[solved]
    big_m = table.big_m[i]
    m1 = np.where(table.a[j] <= -1.0, -np.inf, table.a[j] * big_m)
    m2 = table.b[k] * big_m
    r = table.lookup(table.q[i], m1, m2)
    np.testing.assert_array_equal(r, table.lookup_values[i, j, k])
    # The stored values are the solver's, settled against the verifier's check (a few are
    # stepped back, by far less than the solver's accuracy: RadiusTable.build); lookups
    # return them, or the larger value of a dominated cell where the solver is not monotone.
    # For CONVERGED cells that is round-off (the solver's witness step-back); FALLBACK cells
    # can gain more.
    res = directional_radius(table.q[i], m1, m2)
    v = table.values[i, j, k]
    # Cells on the table's boundary get what directional_radius gives: +inf only where ball
    # arithmetic proves them on the boundary, else the radius of the point pulled inward.
    edge = np.hypot(np.maximum(table.a[j], 0.0), table.b[k]) >= 1.0
    np.testing.assert_array_equal(np.isinf(v), np.isinf(res.radius))
    assert not np.isinf(v[~edge]).any()
    fin = np.isfinite(v)
    assert np.all(v[fin] <= res.radius[fin])
    assert np.all(res.radius[fin] - v[fin] <= 1e-7 * np.maximum(1.0, v[fin]))
    assert np.all(r >= v)
    fin = (res.status == CONVERGED) & np.isfinite(r)
    gain = r[fin] - res.radius[fin]
    assert np.all(gain <= 1e-9 * np.maximum(1.0, r[fin]))


def test_first_row_is_q_one_half_and_abstains(table):
    assert table.q[0] == 0.5
    assert np.all(table.status[0][table.status[0] != SKIPPED] == ABSTAIN)
    q = np.nextafter(table.q[1], 0.0)  # just below the second row: floor to q = 1/2
    r, s = table.lookup(q, 0.0, 0.1, return_status=True)
    assert r == 0.0
    assert s == ABSTAIN


# ------------------------------------------------------------------------------ monotonicity


def test_monotone_in_m1_and_m2_at_fixed_q(table):
    rng = np.random.default_rng(3)
    for q in special.ndtr(rng.uniform(0.1, 4.3, 12)):
        big_m = max_gradient_norm(q)
        # Inside the feasible disk (outside it the bounds contradict q: Cohen's radius).
        a = np.linspace(-1.0, 1.0, 301)
        for b in (0.0, 0.2, 0.55):
            r, s = table.lookup(q, a * big_m, b * big_m, return_status=True)
            inside = np.hypot(np.maximum(a, 0.0), b) <= 1.0
            assert not np.any(s[inside] == INCONSISTENT)
            assert np.all(np.diff(r[inside]) >= 0.0)
        b = np.linspace(0.0, 1.0, 301)
        for a0 in (-1.0, -0.3, 0.0, 0.4):
            r, s = table.lookup(q, a0 * big_m, b * big_m, return_status=True)
            inside = np.hypot(max(a0, 0.0), b) <= 1.0
            assert not np.any(s[inside] == INCONSISTENT)
            assert np.all(np.diff(r[inside]) >= 0.0)


def test_lookup_values_are_prefix_maxima(table):
    eff = table.lookup_values
    np.testing.assert_array_equal(eff, np.maximum.accumulate(eff, axis=1))
    np.testing.assert_array_equal(eff, np.maximum.accumulate(eff, axis=2))
    solved = table.status != SKIPPED
    assert np.all(eff[solved] >= table.values[solved])


# ------------------------------------------------------------------------------ domain


def test_scalars_in_scalar_out_and_broadcasting(table):
    r = table.lookup(0.9, -0.05, 0.05)
    assert np.ndim(r) == 0
    big_m = max_gradient_norm(0.9)
    out = table.lookup(0.9, np.linspace(-1, 0, 4)[:, None] * big_m, np.array([0.0, 0.1]))
    assert out.shape == (4, 2)
    r2, s2 = table.lookup([[0.4, 0.95]], 0.0, 0.0, return_status=True)
    assert r2.shape == s2.shape == (1, 2)
    assert r2[0, 0] == 0.0
    assert s2[0, 0] == ABSTAIN


def test_q_above_the_last_grid_row_uses_it(table):
    big_m_last = table.big_m[-1]
    r_last = table.lookup(table.q[-1], -0.2 * big_m_last, 0.0)
    for q in (1.0 - 1e-9, 1.0):
        r, s = table.lookup(q, -0.2 * big_m_last, 0.0, return_status=True)
        assert r == r_last
        assert s != INCONSISTENT
    # m2 = 0.1 M(q_last) exceeds M(1 - 1e-9) and M(1) = 0: the bounds contradict q.
    r, s = table.lookup([1.0 - 1e-9, 1.0], -0.2 * big_m_last, 0.1 * big_m_last, return_status=True)
    np.testing.assert_array_equal(s, INCONSISTENT)
    np.testing.assert_array_equal(r, cohen_radius([1.0 - 1e-9, 1.0]))  # +inf at q = 1


@pytest.fixture(scope="module")
def narrow_table() -> RadiusTable:
    q = special.ndtr(np.array([0.5, 1.0, 2.0]))
    return RadiusTable.build(q, [-0.5, 0.0, 0.5], [0.1, 0.4])


def test_q_below_the_grid_is_refused(narrow_table):
    q0 = narrow_table.q[0]
    with pytest.raises(ValueError, match=r"below the table's smallest grid q"):
        narrow_table.lookup(0.6, 0.0, 0.2)
    r, s = narrow_table.lookup([0.6, q0, 0.3], 0.0, 0.2, on_outside="nan", return_status=True)
    assert np.isnan(r[0])
    assert s[0] == OUTSIDE
    assert r[1] >= 0.0
    assert s[1] == CONVERGED
    assert r[2] == 0.0
    assert s[2] == ABSTAIN


def test_m1_and_m2_below_the_grid_are_refused(narrow_table):
    q = 0.8
    big_m = max_gradient_norm(q)
    with pytest.raises(ValueError, match=r"m1=.* is below the smallest tabulated m1"):
        narrow_table.lookup(q, -0.9 * big_m, 0.2 * big_m)
    with pytest.raises(ValueError, match=r"m2=.* is below the smallest tabulated m2"):
        narrow_table.lookup(q, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"2 such element\(s\); first at index \(1,\)"):
        narrow_table.lookup(q, [0.0, -1.0, -1.0], 0.2 * big_m)
    r = narrow_table.lookup(q, [-0.9 * big_m, 0.0], [0.2 * big_m, 0.0], on_outside="nan")
    assert np.isnan(r).all()


@pytest.mark.parametrize(
    ("q", "m1", "m2", "match"),
    [
        (np.nan, 0.0, 0.0, "q must lie in"),
        (1.5, 0.0, 0.0, "q must lie in"),
        (-0.1, 0.0, 0.0, "q must lie in"),
        (0.9, np.nan, 0.0, "m1 must not be NaN"),
        (0.9, np.inf, 0.0, "m1 must not be NaN or \\+inf"),
        (0.9, 0.0, -1e-3, "m2 must be finite and >= 0"),
        (0.9, 0.0, np.inf, "m2 must be finite and >= 0"),
        (0.9, 0.0, np.nan, "m2 must be finite and >= 0"),
    ],
)
def test_invalid_inputs(table, q, m1, m2, match):
    with pytest.raises(ValueError, match=match):
        table.lookup(q, m1, m2)
    r, s = table.lookup(q, m1, m2, on_invalid="nan", return_status=True)
    assert np.isnan(r)
    assert s == INVALID


def test_argument_errors(table):
    with pytest.raises(TypeError, match="q must be a real number"):
        table.lookup("0.9", 0.0, 0.0)
    with pytest.raises(ValueError, match="on_outside must be"):
        table.lookup(0.9, 0.0, 0.0, on_outside="clip")
    with pytest.raises(ValueError, match="on_invalid must be"):
        table.lookup(0.9, 0.0, 0.0, on_invalid="ignore")
    with pytest.raises(ValueError, match="do not broadcast"):
        table.lookup(np.full(3, 0.9), np.zeros(2), 0.0)


def test_infeasible_queries_are_inconsistent_with_cohens_radius(table):
    q = np.array([0.6, 0.9, 0.999])
    big_m = max_gradient_norm(q)
    r, s = table.lookup(q, 0.9 * big_m, 0.9 * big_m, return_status=True)
    np.testing.assert_array_equal(s, INCONSISTENT)
    np.testing.assert_array_equal(r, cohen_radius(q))
    # Without return_status too, and the same as the direct solve.
    np.testing.assert_array_equal(table.lookup(q, 0.9 * big_m, 0.9 * big_m), cohen_radius(q))
    direct = directional_radius(q, 0.9 * big_m, 0.9 * big_m)
    np.testing.assert_array_equal(direct.status, INCONSISTENT)
    np.testing.assert_array_equal(r, direct.radius)
    _, s_ok = table.lookup(q, 0.6 * big_m, 0.79 * big_m, return_status=True)
    assert np.all(s_ok != INCONSISTENT)
    assert PROJECTED not in s_ok


def test_units_slip_is_inconsistent_in_lookups(table):
    # The help's example without --normalized: m2 = 0.7 is ten times M(0.97).
    r, s = table.lookup(0.97, -0.6, 0.7, return_status=True)
    assert s == INCONSISTENT
    assert r == cohen_radius(0.97)
    assert table.lookup(0.97, -0.6, 0.7) == cohen_radius(0.97)


@pytest.mark.parametrize("q", [0.6, 0.9, 0.999, 0.99999])
def test_lookup_feasibility_slack_matches_the_solver(table, q):
    big_m = float(max_gradient_norm(q))
    rel = np.array([-1e-6, 0.0, 1e-13, 5e-13, 1e-10, 1e-6])
    # (c, s): m1 = c M, m2 = s M on the edge of the disk (only max(m1, 0) counts).
    for c, s_ in [(0.0, 1.0), (0.6, 0.8), (1.0, 0.0), (-0.5, 1.0)]:
        m1 = np.full(rel.size, c * big_m) if c <= 0.0 else (1.0 + rel) * c * big_m
        m2 = (1.0 + rel) * s_ * big_m
        r, s = table.lookup(q, m1, m2, return_status=True)
        direct = directional_radius(q, m1, m2)
        out = rel > 1e-12
        np.testing.assert_array_equal(s == INCONSISTENT, out)
        np.testing.assert_array_equal(direct.status == INCONSISTENT, out)
        np.testing.assert_array_equal(r[out], cohen_radius(q))
        assert np.all(np.isfinite(r[out]))
        # Within the slack the table value, never above the solver's (+inf on the edge).
        assert np.all(r[~out] <= direct.radius[~out])


def test_mixed_lookups_never_give_inf_for_inconsistent_queries(table):
    rng = np.random.default_rng(5)
    n = 5000
    q = special.ndtr(rng.uniform(1e-3, 4.5, n))
    big_m = max_gradient_norm(q)
    ang = rng.uniform(0.0, np.pi, n)
    rho = np.sqrt(rng.uniform(0.0, 4.0, n))
    m1, m2 = rho * np.cos(ang) * big_m, rho * np.sin(ang) * big_m
    r, s = table.lookup(q, m1, m2, return_status=True)
    outside = np.hypot(np.maximum(m1, 0.0), m2) > big_m * (1.0 + 1e-12)
    np.testing.assert_array_equal(s == INCONSISTENT, outside)
    np.testing.assert_array_equal(r[outside], cohen_radius(q[outside]))
    assert np.all(np.isfinite(r[outside]))
    np.testing.assert_array_equal(table.lookup(q, m1, m2), r)


def test_cells_just_outside_the_disk_are_inconsistent_and_never_inf():
    # b = 0.8 + 1e-10 at a = 0.6: inside the grid's 1e-9 slack (solved), outside the
    # solver's 1e-12 one: the cell holds Cohen's radius with status INCONSISTENT.
    q = special.ndtr(np.array([0.0, 1.0, 2.0]))
    tab = RadiusTable.build(q, [0.0, 0.6], [0.0, 0.5, 0.8 + 1e-10])
    assert tab.status_counts()["inconsistent"] == 2  # q = 1/2 abstains
    np.testing.assert_array_equal(tab.status[1:, 1, 2], INCONSISTENT)
    np.testing.assert_array_equal(tab.values[1:, 1, 2], cohen_radius(q[1:]))
    big_m = max_gradient_norm(q[1:])
    r, s = tab.lookup(q[1:], 0.6 * big_m, (0.8 + 1e-10) * big_m, return_status=True)
    np.testing.assert_array_equal(s, INCONSISTENT)
    np.testing.assert_array_equal(r, cohen_radius(q[1:]))
    # A PROJECTED cell (+inf) of an older table is accepted, and never served as +inf.
    status = tab.status.copy()
    values = tab.values.copy()
    status[1:, 1, 2] = PROJECTED
    values[1:, 1, 2] = np.inf
    old = RadiusTable(tab.q, tab.a, tab.b, values, status)
    r, s = old.lookup(q[1:], 0.6 * big_m, (0.8 + 1e-10) * big_m, return_status=True)
    np.testing.assert_array_equal(s, INCONSISTENT)
    np.testing.assert_array_equal(r, cohen_radius(q[1:]))
    r_ok, s_ok = old.lookup(q[1:], 0.6 * big_m, 0.79 * big_m, return_status=True)
    assert np.all(np.isfinite(r_ok))
    assert np.all(s_ok == CONVERGED)


def test_uneven_user_grid_walks_to_the_right_row():
    # Very uneven q (the O(1) guess is rough) and uneven a, b: still the exact floor corner.
    q = np.array([0.6, 0.600001, 0.75, 0.999, 0.9999999])
    a = np.array([-1.0, -0.99, 0.3])
    b = np.array([0.0, 0.01, 0.02, 0.9])
    tab = RadiusTable.build(q, a, b, chunk_size=7)
    rng = np.random.default_rng(11)
    qs = np.concatenate([rng.uniform(0.6, 1.0, 3000), q, np.nextafter(q, 1.0)])
    big_m = max_gradient_norm(qs)
    aa = rng.uniform(-1, 1, qs.size)
    bb = rng.uniform(0, 1, qs.size) * np.sqrt(1 - np.maximum(aa, 0) ** 2)
    r = tab.lookup(qs, aa * big_m, bb * big_m)
    ii, jj, kk, _, _ = reference_corner(tab, qs, aa * big_m, bb * big_m)
    np.testing.assert_array_equal(r, tab.lookup_values[ii, jj, kk])
