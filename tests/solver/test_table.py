"""RadiusTable: soundness of lookups, exactness at grid points, domain, save/load, builds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import special

from hocert_solver import (
    ABSTAIN,
    CONVERGED,
    FALLBACK,
    INCONSISTENT,
    INVALID,
    PROJECTED,
    cohen_radius,
    directional_radius,
    max_gradient_norm,
)
from hocert_solver.table import (
    OUTSIDE,
    SKIPPED,
    TABLE_FORMAT_VERSION,
    RadiusTable,
    TableBuildError,
    TableVerification,
    TableVerificationError,
    TightnessReport,
)
from tests.solver.worked_values import WORKED

SMALL_GRID = {"z_max": 4.0, "dz": 0.25, "da": 0.125, "db": 0.125}


@pytest.fixture(scope="module")
def table() -> RadiusTable:
    return RadiusTable.build(**RadiusTable.default_grid(**SMALL_GRID), scheduler="synchronous")


def random_feasible(rng: np.random.Generator, n: int, z_hi: float = 4.5):
    """Queries with z = Phi^{-1}(q) uniform in (0, z_hi] and (a, b) uniform in the disk."""
    z = rng.uniform(1e-3, z_hi, n)
    q = special.ndtr(z)
    a = rng.uniform(-1.0, 1.0, n)
    b = rng.uniform(0.0, 1.0, n) * np.sqrt(1.0 - np.maximum(a, 0.0) ** 2)
    big_m = max_gradient_norm(q)
    return q, a * big_m, b * big_m


def reference_corner(tab: RadiusTable, q, m1, m2):
    """Floor indices by binary search against the solver inputs A = a M_i, B = b M_i."""
    i = np.searchsorted(tab.q, q, side="right") - 1
    m1g = tab.big_m[i, None] * tab.a[None, :]
    m1g[:, tab.a <= -1.0] = -np.inf
    m2g = tab.big_m[i, None] * tab.b[None, :]
    j = np.array([np.searchsorted(row, x, side="right") - 1 for row, x in zip(m1g, m1)])
    k = np.array([np.searchsorted(row, x, side="right") - 1 for row, x in zip(m2g, m2)])
    return i, j, k, m1g[np.arange(i.size), j], m2g[np.arange(i.size), k]


# ------------------------------------------------------------------------------ grids


def test_default_grid_is_uniform_in_z_and_covers_the_domain():
    g = RadiusTable.default_grid()
    z = special.ndtri(g["q"])
    assert g["q"][0] == 0.5
    assert np.allclose(np.diff(z), 0.025, atol=1e-9)
    assert z[-1] == pytest.approx(5.3)
    assert g["a"][0] == -1.0
    assert g["a"][-1] == 1.0
    assert g["b"][0] == 0.0
    assert g["b"][-1] == 1.0
    assert np.allclose(np.diff(g["a"]), 0.1)
    assert np.allclose(np.diff(g["b"]), 0.1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"z_max": 0.0}, "z_max"),
        ({"z_max": 9.0}, "z_max"),
        ({"dz": 0.0}, "dz"),
        ({"da": 2.0}, "da"),
        ({"db": -0.1}, "db"),
    ],
)
def test_default_grid_rejects_bad_steps(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RadiusTable.default_grid(**kwargs)


# ------------------------------------------------------------------------------ soundness


def test_lookup_is_below_direct_radius_on_random_feasible_queries(table):
    rng = np.random.default_rng(20240601)
    q, m1, m2 = random_feasible(rng, 2000)
    rep = table.tightness(q, m1, m2)
    assert isinstance(rep, TightnessReport)
    assert rep.n_above_direct() == 0
    conv = rep.direct_status == CONVERGED
    assert conv.mean() > 0.95
    tol = 1e-6 * np.maximum(1.0, np.where(np.isfinite(rep.direct), rep.direct, 1.0))
    assert np.all(rep.lookup[conv] <= rep.direct[conv] + tol[conv])
    # Feasible queries are never flagged, never outside, never NaN.
    assert np.all(np.isin(rep.lookup_status, [CONVERGED, FALLBACK, ABSTAIN]))
    assert np.all(np.isfinite(rep.lookup) | np.isinf(rep.direct))
    s = rep.summary()
    assert s["n"] == 2000
    assert s["n_above_direct"] == 0
    assert 0.5 < s["median_ratio"] <= 1.0 + 1e-6


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
    # Cells on the table's boundary keep +inf; directional_radius pulls float points there
    # inward unless ball arithmetic proves them on the boundary (status FALLBACK).
    edge = np.hypot(np.maximum(table.a[j], 0.0), table.b[k]) >= 1.0
    np.testing.assert_array_equal(np.isinf(v), edge)
    np.testing.assert_array_equal(np.isinf(res.radius) | (res.status == FALLBACK), edge)
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
    return RadiusTable.build(q, [-0.5, 0.0, 0.5], [0.1, 0.4], scheduler="synchronous")


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
    tab = RadiusTable.build(q, [0.0, 0.6], [0.0, 0.5, 0.8 + 1e-10], scheduler="synchronous")
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
    tab = RadiusTable.build(q, a, b, scheduler="synchronous", chunk_size=7)
    rng = np.random.default_rng(11)
    qs = np.concatenate([rng.uniform(0.6, 1.0, 3000), q, np.nextafter(q, 1.0)])
    big_m = max_gradient_norm(qs)
    aa = rng.uniform(-1, 1, qs.size)
    bb = rng.uniform(0, 1, qs.size) * np.sqrt(1 - np.maximum(aa, 0) ** 2)
    r = tab.lookup(qs, aa * big_m, bb * big_m)
    ii, jj, kk, _, _ = reference_corner(tab, qs, aa * big_m, bb * big_m)
    np.testing.assert_array_equal(r, tab.lookup_values[ii, jj, kk])


# ------------------------------------------------------------------------------ constructor


def test_constructor_validation(table):
    args = (table.q, table.a, table.b, table.values, table.status)
    with pytest.raises(ValueError, match="strictly increasing"):
        RadiusTable(table.q[::-1], *args[1:])
    with pytest.raises(ValueError, match=r"grid q must lie in \[0.5, 1\)"):
        RadiusTable(np.array([0.4, 0.6]), table.a, table.b, table.values[:2], table.status[:2])
    with pytest.raises(ValueError, match=r"grid a must lie in \[-1, 1\]"):
        RadiusTable(table.q, table.a * 2, table.b, table.values, table.status)
    with pytest.raises(ValueError, match="grid shape"):
        RadiusTable(table.q, table.a, table.b, table.values[:, :, :-1], table.status)
    bad = table.status.copy()
    bad[1, -1, -1] = CONVERGED  # (a, b) = (1, 1) is outside the disk
    with pytest.raises(ValueError, match="SKIPPED must mark exactly"):
        RadiusTable(table.q, table.a, table.b, table.values, bad)
    vals = table.values.copy()
    vals[2, 0, 0] = np.nan
    with pytest.raises(ValueError, match="must be >= 0 and not NaN"):
        RadiusTable(table.q, table.a, table.b, vals, table.status)
    with pytest.raises(ValueError, match="big_m must equal"):
        RadiusTable(*args, big_m=table.big_m * 1.001)
    with pytest.raises(ValueError, match="holds codes outside"):
        RadiusTable(table.q, table.a, table.b, table.values, np.full(table.shape, 7, np.int8))


def test_arrays_are_read_only(table):
    with pytest.raises(ValueError, match="read-only"):
        table.values[1, 0, 0] = 100.0


# ------------------------------------------------------------------------------ save / load


def test_save_load_round_trip(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    back = RadiusTable.load(path)
    for name in ("q", "a", "b", "big_m", "values", "status", "lookup_values"):
        np.testing.assert_array_equal(getattr(back, name), getattr(table, name))
    meta = back.metadata
    assert meta["format_version"] == TABLE_FORMAT_VERSION
    for key in ("solver_version", "solver_tolerance", "coordinates", "created", "build"):
        assert key in meta
    rng = np.random.default_rng(5)
    q, m1, m2 = random_feasible(rng, 500)
    np.testing.assert_array_equal(back.lookup(q, m1, m2), table.lookup(q, m1, m2))
    assert "RadiusTable(q: 17" in repr(back)
    assert RadiusTable.load(path, strict_solver_version=True).shape == table.shape


def _rewrite(path: Path, out: Path, **changes) -> None:
    with np.load(path) as f:
        data = {k: f[k] for k in f.files}
    meta = json.loads(str(data["metadata"]))
    meta.update(changes.pop("meta", {}))
    data["metadata"] = np.array(json.dumps(meta))
    data.update(changes)
    np.savez(out, **data)


def test_load_refuses_other_formats(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    _rewrite(path, tmp_path / "v3.npz", meta={"format_version": TABLE_FORMAT_VERSION + 1})
    with pytest.raises(ValueError, match="format version 3; this hocert reads versions 1, 2"):
        RadiusTable.load(tmp_path / "v3.npz")
    _rewrite(path, tmp_path / "other.npz", meta={"format": "something else"})
    with pytest.raises(ValueError, match="not a hocert RadiusTable file"):
        RadiusTable.load(tmp_path / "other.npz")
    np.savez(tmp_path / "plain.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match=r"not a hocert RadiusTable file \(missing"):
        RadiusTable.load(tmp_path / "plain.npz")
    _rewrite(path, tmp_path / "old.npz", meta={"solver_version": "0.0.0"})
    assert RadiusTable.load(tmp_path / "old.npz").metadata["solver_version"] == "0.0.0"
    with pytest.raises(ValueError, match=r"built by solver version '0\.0\.0'"):
        RadiusTable.load(tmp_path / "old.npz", strict_solver_version=True)
    vals = table.values.copy()
    vals[3, 1, 1] = -1.0
    _rewrite(path, tmp_path / "bad.npz", values=vals)
    with pytest.raises(ValueError, match="must be >= 0"):
        RadiusTable.load(tmp_path / "bad.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match=r"cannot read RadiusTable file"):
        RadiusTable.load(tmp_path / "junk.npz")


# ------------------------------------------------------------------------------ verification
# A table is shared and downloaded: load() re-proves every stored radius from the file's own
# grid and multipliers, and refuses one kind of damage after another (issue 11, part 2).


def test_an_honest_table_verifies(table, tmp_path):
    rep = table.verify()
    assert isinstance(rep, TableVerification)
    assert rep.ok
    assert rep.n_failed == 0
    assert rep.failed == ()
    assert rep.problems == ()
    assert rep.n_cells == table.values.size
    assert rep.n_checked == int(np.count_nonzero(table.status != SKIPPED))
    assert rep.seconds >= 0.0
    assert "all proved" in rep.describe()
    # Every first-order cell carries its witness multipliers; the others need none.
    lam = table.lam
    assert lam is not None
    assert lam.shape == (*table.shape, 3)
    assert np.isnan(lam[table.status == SKIPPED]).all()
    assert np.isnan(lam[0]).all()  # q = 1/2: abstain
    first_order = np.isfinite(table.values) & (table.values > table.z[:, None, None])
    assert (np.isfinite(lam[..., 2]) | (table.b[None, None, :] == 0.0))[first_order].all()
    with pytest.raises(ValueError, match="read-only"):
        lam[1, 0, 0, 0] = 1.0
    path = tmp_path / "t.npz"
    table.save(path)
    back = RadiusTable.load(path)
    np.testing.assert_array_equal(back.lam, lam)
    assert back.verify().ok
    import hocert_solver

    assert hocert_solver.TableVerificationError is TableVerificationError
    assert issubclass(TableVerificationError, ValueError)


def _refused(path: Path, match: str) -> RadiusTable:
    """load() refuses the file; verify=False loads it (the opt-out); return that table."""
    with pytest.raises(TableVerificationError, match=match):
        RadiusTable.load(path)
    return RadiusTable.load(path, verify=False)


def test_values_raised_by_ten_percent_are_refused(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    _rewrite(path, tmp_path / "raised.npz", values=table.values * 1.1)
    raised = _refused(tmp_path / "raised.npz", r"fails verification: .* radius not proved")
    rep = raised.verify()
    finite = np.isfinite(table.values) & (table.values > 0.0)  # Cohen's radii too
    assert rep.n_failed == int(np.count_nonzero(finite))
    assert len(rep.failed) == 10
    i, j, k = rep.failed[0]
    assert finite[i, j, k]
    # The opt-out serves what the file says: the raised radii.
    q, m1, m2 = table.q[5], -0.5 * table.big_m[5], 0.5 * table.big_m[5]
    assert raised.lookup(q, m1, m2) == pytest.approx(1.1 * table.lookup(q, m1, m2))
    # One cell raised by 1e-6 relative is enough.
    vals = table.values.copy()
    vals[6, 4, 3] *= 1.0 + 1e-6
    _rewrite(path, tmp_path / "one.npz", values=vals)
    one = _refused(tmp_path / "one.npz", r"cells checked .*: 1 cell fails \(1 radius not")
    assert one.verify().failed == ((6, 4, 3),)


def test_relabelled_q_grid_is_refused(table, tmp_path):
    # Radii computed for the q grid, labelled with smaller q (and a big_m that matches the
    # labels): lookups would be up to 2x too high.
    path = tmp_path / "t.npz"
    table.save(path)
    q = special.ndtr(0.8 * special.ndtri(table.q))
    _rewrite(path, tmp_path / "relabelled.npz", q=q, big_m=max_gradient_norm(q))
    bad = _refused(tmp_path / "relabelled.npz", "fails verification")
    assert bad.verify().n_failed > 0.9 * np.count_nonzero(table.values > table.z[:, None, None])


def test_big_m_that_does_not_match_q_is_refused(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    _rewrite(path, tmp_path / "big_m.npz", big_m=table.big_m * (1.0 + 1e-9))
    # A structural check: the opt-out does not skip it.
    for verify in (True, False):
        with pytest.raises(TableVerificationError, match="big_m must equal max_gradient_norm"):
            RadiusTable.load(tmp_path / "big_m.npz", verify=verify)
    # Within 1e-12 relative it is rounding: accepted, and the lookups use the stored one.
    _rewrite(path, tmp_path / "close.npz", big_m=table.big_m * (1.0 + 1e-13))
    assert RadiusTable.load(tmp_path / "close.npz").verify().ok


def test_tampered_multipliers_are_refused(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    lam = np.array(table.lam)
    # (a) multipliers off their maximiser: the witness no longer reaches 1/2 at the radius.
    bad = lam.copy()
    bad[..., 2] *= 2.0
    _rewrite(path, tmp_path / "lam.npz", lam=bad)
    _refused(tmp_path / "lam.npz", "radius not proved")
    # (b) raised values that come with genuine multipliers of the larger radius of a
    # neighbouring cell (b one step up): a witness for other inputs proves nothing here.
    vals = table.values.copy()
    fake = lam.copy()
    vals[:, :, :-1] = np.fmax(table.values[:, :, :-1], table.values[:, :, 1:])
    fake[:, :, :-1] = table.lam[:, :, 1:]
    fake[np.isnan(vals)] = np.nan
    _rewrite(path, tmp_path / "fake.npz", values=vals, lam=fake)
    rep = _refused(tmp_path / "fake.npz", "radius not proved").verify()
    assert rep.n_failed > 0.5 * np.count_nonzero(vals > table.values)
    # (c) a multiplier that is negative (weak duality needs lam >= 0).
    neg = lam.copy()
    neg[7, 3, 4, 1] = -neg[7, 3, 4, 1] - 1.0
    _rewrite(path, tmp_path / "neg.npz", lam=neg)
    assert _refused(tmp_path / "neg.npz", "radius not proved").verify().failed == ((7, 3, 4),)


def test_infinite_radius_off_the_boundary_and_abstain_row_are_refused(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    vals = table.values.copy()
    vals[4, 2, 2] = np.inf  # (a, b) = (-0.75, 0.25): deep inside the disk
    _rewrite(path, tmp_path / "inf.npz", values=vals)
    rep = _refused(tmp_path / "inf.npz", r"\+inf off the boundary").verify()
    assert rep.failed == ((4, 2, 2),)
    vals = table.values.copy()
    vals[0, 3, 3] = 0.1  # q = 1/2 abstains: radius 0
    _rewrite(path, tmp_path / "abstain.npz", values=vals)
    _refused(tmp_path / "abstain.npz", "abstain")
    status = table.status.copy()
    status[3, 3, 3] = ABSTAIN
    _rewrite(path, tmp_path / "status.npz", status=status)
    _refused(tmp_path / "status.npz", "abstain")
    # +inf on the boundary, radius 0 and Cohen's radius need no witness.
    vals = table.values.copy()
    vals[5, 2, 3] = 0.0
    vals[5, 2, 4] = float(cohen_radius(table.q[5]))
    _rewrite(path, tmp_path / "lower.npz", values=vals)
    assert RadiusTable.load(tmp_path / "lower.npz").verify().ok


def test_lookup_arrays_are_checked_against_the_values(table):
    tab = RadiusTable(table.q, table.a, table.b, table.values, table.status, lam=table.lam)
    assert tab.verify().ok
    tab._eff_flat[100] += 1.0  # what the lookup kernel reads
    rep = tab.verify()
    assert not rep.ok
    assert rep.n_failed == 0
    assert rep.problems == ("the lookup values read by lookups differs from the one derived",)


def test_truncated_or_corrupted_file_is_a_clear_value_error(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cannot read RadiusTable file"):
        RadiusTable.load(tmp_path / "cut.npz")
    # One byte flipped inside the stored values (the archive's CRC catches it).
    offset = data.index(table.values.tobytes()[:64]) + 8
    flipped = bytearray(data)
    flipped[offset] ^= 0x40
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=r"cannot read RadiusTable file .*CRC"):
        RadiusTable.load(tmp_path / "flipped.npz", verify=False)


def test_format_version_1_without_multipliers(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    with np.load(path) as f:
        data = {k: f[k] for k in f.files if k != "lam"}
    meta = json.loads(str(data["metadata"]))
    meta["format_version"] = 1
    data["metadata"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "v1.npz", **data)
    old = _refused(tmp_path / "v1.npz", r"holds no witness multipliers .*verify=False")
    assert old.lam is None
    rep = old.verify()
    assert rep.n_failed > 0
    assert all("no multipliers" in reason for reason in rep.reasons)
    np.testing.assert_array_equal(old.lookup_values, table.lookup_values)
    # Saved again it stays version 1 (no multipliers to write).
    old.save(tmp_path / "again.npz")
    with np.load(tmp_path / "again.npz") as f:
        assert "lam" not in f.files
        assert json.loads(str(f["metadata"]))["format_version"] == 1


# ------------------------------------------------------------------------------ builds

TINY = {"q": special.ndtr([0.5, 1.5, 2.5, 3.5]), "a": [-1.0, -0.5, 0.0, 0.5], "b": [0, 0.5, 1]}


def test_build_metadata_and_statuses():
    tab = RadiusTable.build(**TINY, scheduler="synchronous", chunk_size=5)
    meta = tab.metadata["build"]
    n_solved = int(np.count_nonzero(tab.status != SKIPPED))
    assert meta["n_chunks"] == -(-n_solved // 5) == len(meta["computed_chunks"])
    assert meta["chunks_from_checkpoint"] == 0
    assert meta["scheduler"] == "synchronous"
    counts = tab.status_counts()
    assert counts["skipped"] == 4 * 1  # (0.5, 1) outside the disk in every row
    assert sum(counts.values()) == 4 * 4 * 3
    assert tab.metadata["status_counts"] == counts


def test_build_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        RadiusTable.build(**TINY, scheduler="synchronous", chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size must be an integer"):
        RadiusTable.build(**TINY, scheduler="synchronous", chunk_size=2.5)
    with pytest.raises(TypeError, match="scheduler must be None"):
        RadiusTable.build(**TINY, scheduler=42)
    with pytest.raises(ValueError, match="grid b must lie in"):
        RadiusTable.build(TINY["q"], TINY["a"], [-0.1, 0.5], scheduler="synchronous")
    with pytest.raises(ValueError, match="grid q must be a non-empty 1-D array"):
        RadiusTable.build([], TINY["a"], TINY["b"], scheduler="synchronous")


def test_checkpoint_resume_recomputes_only_missing_chunks(tmp_path):
    ckpt = tmp_path / "ckpt"
    first = RadiusTable.build(**TINY, scheduler="synchronous", chunk_size=4, checkpoint=ckpt)
    files = sorted(ckpt.glob("chunk_*.npz"))
    n = first.metadata["build"]["n_chunks"]
    assert len(files) == n
    assert (ckpt / "manifest.json").exists()
    kept_mtime = {p.name: p.stat().st_mtime_ns for p in files}
    for c in (1, n - 1):
        (ckpt / f"chunk_{c:06d}.npz").unlink()
    again = RadiusTable.build(**TINY, scheduler="synchronous", chunk_size=4, checkpoint=ckpt)
    assert again.metadata["build"]["computed_chunks"] == [1, n - 1]
    assert again.metadata["build"]["chunks_from_checkpoint"] == n - 2
    np.testing.assert_array_equal(again.values, first.values)
    np.testing.assert_array_equal(again.status, first.status)
    for p in sorted(ckpt.glob("chunk_*.npz")):
        if p.name not in ("chunk_000001.npz", f"chunk_{n - 1:06d}.npz"):
            assert p.stat().st_mtime_ns == kept_mtime[p.name]
    # A complete checkpoint: nothing to compute.
    third = RadiusTable.build(**TINY, scheduler="synchronous", chunk_size=4, checkpoint=ckpt)
    assert third.metadata["build"]["computed_chunks"] == []


def test_interrupted_build_resumes(tmp_path):
    ckpt = tmp_path / "ckpt"

    class Stop(Exception):
        pass

    def stop_after_three(done: int, total: int) -> None:
        if done == 3:
            raise Stop

    with pytest.raises(Stop):
        RadiusTable.build(
            **TINY,
            scheduler="synchronous",
            chunk_size=3,
            checkpoint=ckpt,
            on_chunk=stop_after_three,
        )
    assert len(list(ckpt.glob("chunk_*.npz"))) == 3
    progress = []
    tab = RadiusTable.build(
        **TINY,
        scheduler="synchronous",
        chunk_size=3,
        checkpoint=ckpt,
        on_chunk=lambda d, t: progress.append((d, t)),
    )
    n = tab.metadata["build"]["n_chunks"]
    assert tab.metadata["build"]["computed_chunks"] == list(range(3, n))
    assert progress == [(d, n) for d in range(4, n + 1)]
    ref = RadiusTable.build(**TINY, scheduler="synchronous")
    np.testing.assert_array_equal(tab.values, ref.values)


def test_checkpoint_for_another_build_is_refused(tmp_path):
    ckpt = tmp_path / "ckpt"
    RadiusTable.build(**TINY, scheduler="synchronous", chunk_size=4, checkpoint=ckpt)
    other = dict(TINY, b=[0.0, 0.25, 1.0])
    with pytest.raises(TableBuildError, match=r"made for a different grid"):
        RadiusTable.build(**other, scheduler="synchronous", chunk_size=4, checkpoint=ckpt)
    with pytest.raises(TableBuildError, match=r"chunk_size=4 \(requested: 5\)"):
        RadiusTable.build(**TINY, scheduler="synchronous", chunk_size=5, checkpoint=ckpt)
    manifest = json.loads((ckpt / "manifest.json").read_text())
    manifest["solver_version"] = "0.0.0"
    (ckpt / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TableBuildError, match=r"solver version '0.0.0' \(installed:"):
        RadiusTable.build(**TINY, scheduler="synchronous", chunk_size=4, checkpoint=ckpt)
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "chunk_000000.npz").write_bytes(b"")
    with pytest.raises(TableBuildError, match=r"no manifest\.json"):
        RadiusTable.build(**TINY, scheduler="synchronous", checkpoint=stray)


def test_corrupt_chunk_is_recomputed_with_a_warning(tmp_path):
    ckpt = tmp_path / "ckpt"
    RadiusTable.build(**TINY, scheduler="synchronous", chunk_size=4, checkpoint=ckpt)
    (ckpt / "chunk_000002.npz").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable"):
        tab = RadiusTable.build(**TINY, scheduler="synchronous", chunk_size=4, checkpoint=ckpt)
    assert tab.metadata["build"]["computed_chunks"] == [2]


def test_tampered_checkpoint_chunk_is_refused(tmp_path):
    ckpt = tmp_path / "ckpt"
    ref = RadiusTable.build(**TINY, scheduler="synchronous", chunk_size=4, checkpoint=ckpt)
    assert ref.verify().ok
    chunk = ckpt / "chunk_000003.npz"
    with np.load(chunk) as f:
        data = {k: f[k] for k in f.files}
    np.savez(chunk, **dict(data, radius=data["radius"] * 1.25))
    with pytest.raises(TableBuildError, match=r"chunk_000003\.npz: \d+ of 4 cells fail verif"):
        RadiusTable.build(**TINY, scheduler="synchronous", chunk_size=4, checkpoint=ckpt)
    # Deleting the file, as the message says, recomputes it.
    chunk.unlink()
    tab = RadiusTable.build(**TINY, scheduler="synchronous", chunk_size=4, checkpoint=ckpt)
    assert tab.metadata["build"]["computed_chunks"] == [3]
    np.testing.assert_array_equal(tab.values, ref.values)
    np.testing.assert_array_equal(tab.lam, ref.lam)


def test_build_on_a_local_dask_cluster(tmp_path):
    # Two worker processes, a tiny grid; resumes from a partial checkpoint over Dask.
    ckpt = tmp_path / "ckpt"
    ref = RadiusTable.build(**TINY, scheduler="synchronous", chunk_size=4, checkpoint=ckpt)
    for c in (0, 2, 5):
        (ckpt / f"chunk_{c:06d}.npz").unlink()
    tab = RadiusTable.build(**TINY, chunk_size=4, checkpoint=ckpt, n_workers=2)
    assert tab.metadata["build"]["scheduler"].startswith("LocalCluster(n_workers=2")
    assert tab.metadata["build"]["computed_chunks"] == [0, 2, 5]
    np.testing.assert_array_equal(tab.values, ref.values)
    np.testing.assert_array_equal(tab.status, ref.status)


@pytest.mark.slow
def test_build_with_a_client_address(tmp_path):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        tab = RadiusTable.build(**TINY, scheduler=cluster.scheduler_address, chunk_size=6)
        with Client(cluster) as client:
            tab2 = RadiusTable.build(**TINY, scheduler=client, chunk_size=6)
            assert client.status == "running"  # a given client is not closed
    ref = RadiusTable.build(**TINY, scheduler="synchronous")
    np.testing.assert_array_equal(tab.values, ref.values)
    np.testing.assert_array_equal(tab2.values, ref.values)
    assert tab.metadata["build"]["scheduler"].startswith("Client('tcp://")


def test_table_module_has_no_import_time_dask_dependency():
    # Importing the table must not start or import Dask (only build() does).
    code = "import sys, hocert_solver.table; print('distributed' in sys.modules)"
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
