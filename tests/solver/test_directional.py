"""directional_radius / cohen_radius: worked values, edge cases, validation, broadcasting."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from hocert_solver import (
    ABSTAIN,
    CONVERGED,
    FALLBACK,
    INCONSISTENT,
    INVALID,
    PROJECTED,
    STATUS_NAMES,
    RadiusResult,
    cohen_radius,
    directional_radius,
    max_gradient_norm,
    verify_radius,
)
from hocert_solver.directional import FEASIBILITY_SLACK, edge_gap
from hocert_solver.verification import _infinite_is_proved
from tests.solver.worked_values import WORKED


@pytest.mark.parametrize(("q", "a", "b", "expected"), WORKED)
def test_worked_values(q, a, b, expected):
    big_m = max_gradient_norm(q)
    res = directional_radius(q, a * big_m, b * big_m)
    assert res.status == CONVERGED
    assert res.success
    # Sound (never above) and accurate to far better than the 1e-6 requirement: the witness steps
    # back 3e-9 plus twice its quadrature-error estimate (up to a few 1e-8 at large r).
    assert res.radius <= expected + 1e-12
    assert res.radius == pytest.approx(expected, rel=5e-8)


def test_inequality_semantics_not_equality():
    # With equality constraints the (0.97, -0.6, 0.7) case would give 2.239197656917.
    big_m = max_gradient_norm(0.97)
    assert directional_radius(0.97, -0.6 * big_m, 0.7 * big_m).radius < 2.2329


def test_vectorised_matches_scalar_calls():
    q = np.array([0.6, 0.75, 0.97, 0.9995])
    big_m = max_gradient_norm(q)
    a = np.array([0.3, -0.5, -0.6, -0.3])
    b = np.array([0.5, 0.3, 0.7, 0.2])
    vec = directional_radius(q, a * big_m, b * big_m)
    for i in range(q.size):
        one = directional_radius(q[i], a[i] * big_m[i], b[i] * big_m[i])
        assert np.ndim(one.radius) == 0
        assert float(one.radius) == vec.radius[i]
        assert int(one.status) == vec.status[i]


def test_broadcasting_shapes():
    res = directional_radius(np.array([[0.7], [0.9]]), np.array([-0.1, 0.0, 0.05]), 0.0)
    assert res.radius.shape == (2, 3)
    assert res.status.shape == (2, 3)
    assert res.success.shape == (2, 3)
    assert res.radius.dtype == np.float64


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="do not broadcast"):
        directional_radius(np.ones(3) * 0.9, np.zeros(2), 0.0)


@pytest.mark.parametrize(
    ("q", "m1", "m2", "match"),
    [
        (np.nan, 0.0, 0.0, "q must lie"),
        (1.2, 0.0, 0.0, "q must lie"),
        (-0.1, 0.0, 0.0, "q must lie"),
        (0.9, np.nan, 0.0, "m1"),
        (0.9, np.inf, 0.0, "m1"),
        (0.9, 0.0, -0.01, "m2"),
        (0.9, 0.0, np.inf, "m2"),
    ],
)
def test_bad_input_raises(q, m1, m2, match):
    with pytest.raises(ValueError, match=match):
        directional_radius(q, m1, m2)


def test_bad_input_as_status():
    res = directional_radius(
        [np.nan, 0.9, 0.9], [0.0, 0.0, 0.0], [0.0, -1.0, 0.0], on_invalid="nan"
    )
    assert np.isnan(res.radius[0])
    assert np.isnan(res.radius[1])
    assert list(res.status) == [INVALID, INVALID, CONVERGED]
    assert list(res.success) == [False, False, True]


def test_wrong_dtypes_are_rejected():
    with pytest.raises(TypeError):
        directional_radius("0.9", 0.0, 0.0)
    with pytest.raises(TypeError):
        directional_radius(np.array([0.9 + 0j]), 0.0, 0.0)
    with pytest.raises(ValueError, match="on_invalid"):
        directional_radius(0.9, 0.0, 0.0, on_invalid="ignore")


def test_integer_and_float32_inputs_are_accepted():
    r32 = directional_radius(np.float32(0.75), np.float32(0.0), np.float32(0.0)).radius
    assert r32 == pytest.approx(directional_radius(float(np.float32(0.75)), 0.0, 0.0).radius)
    assert directional_radius(1, 0, 0).radius == np.inf


def test_abstain_and_certain():
    res = directional_radius([0.3, 0.5, 1.0], 0.0, 0.0)
    assert list(res.radius[:2]) == [0.0, 0.0]
    assert list(res.status[:2]) == [ABSTAIN, ABSTAIN]
    assert res.radius[2] == np.inf


def test_cohen_corner_is_exact():
    for q in [0.51, 0.75, 0.97, 0.999999, 1 - 1e-7]:
        big_m = max_gradient_norm(q)
        res = directional_radius(q, -big_m, 0.0)
        assert res.radius == pytest.approx(stats.norm.ppf(q), rel=1e-12)
        assert res.radius <= stats.norm.ppf(q)
        # Lower bounds below -M(q) carry no information: same radius.
        assert directional_radius(q, -5 * big_m, 0.0).radius == res.radius


def test_unbounded_cases():
    q = 0.8
    big_m = max_gradient_norm(q) * (1 + 1e-13)  # on or beyond the boundary, within the slack
    assert directional_radius(q, big_m, 0.0).radius == np.inf  # m1 = M: half-space along v
    res = directional_radius(q, 0.0, big_m)  # m2 = M: half-space across v, p(r) = q forever
    assert res.radius == np.inf
    assert res.status == CONVERGED


@pytest.mark.parametrize("q", [0.51, 0.8, 0.999999, 1 - 1e-12])
def test_points_a_few_ulps_inside_the_disk_are_pulled_inward_not_infinite(q):
    # The true R is finite (about 8 sigma) one ulp inside the disk; double precision cannot
    # resolve it, so the point is solved at the gap edge_gap(q): a finite radius, proved, and
    # flagged FALLBACK. +inf only where ball arithmetic proves the point on the boundary.
    big_m = float(max_gradient_norm(q))
    gap = float(edge_gap(q))
    rho = 1.0 - np.array([1e-13, 1e-11, 0.5 * gap])  # inside by more than M's rounding
    for m1, m2 in [(0.0 * rho, rho * big_m), (0.6 * rho * big_m, 0.8 * rho * big_m)]:
        res = directional_radius(q, m1, m2)
        assert np.all(np.isfinite(res.radius))
        np.testing.assert_array_equal(res.status, FALLBACK)
        # all at the pulled-in point: the same radius, no larger than just outside the band
        np.testing.assert_allclose(res.radius, res.radius[0], rtol=1e-7)
        inner = directional_radius(q, m1[0] * (1 - 2 * gap), m2[0] * (1 - 2 * gap))
        assert inner.radius <= res.radius[0] * (1 + 1e-6)
        assert np.all(verify_radius(q, m1, m2, res.radius))
    # One ulp from the float boundary: +inf exactly where ball arithmetic puts the point on or
    # beyond the exact boundary, else the pulled-in radius.
    for m2 in big_m * (1.0 + np.arange(-4, 5) * 1.1e-16):
        res = directional_radius(q, 0.0, m2)
        if _infinite_is_proved(q, 0.0, m2):
            assert res.radius == np.inf
            assert res.status == CONVERGED
        else:
            assert np.isfinite(res.radius)
            assert res.status == FALLBACK


def test_infeasible_input_is_inconsistent_with_cohens_radius():
    q = 0.9
    big_m = max_gradient_norm(q)
    for m1, m2 in [(0.8 * big_m, 0.8 * big_m), (-0.5 * big_m, 1.5 * big_m), (2 * big_m, 0.0)]:
        res = directional_radius(q, m1, m2)
        assert res.status == INCONSISTENT
        assert not res.success
        assert res.radius == cohen_radius(q)
        assert res.nit == 0


def test_units_slip_of_the_help_example_is_inconsistent():
    # `hocert radius 0.97 -0.6 0.7` without --normalized: m2 = 0.7 is ten times M(0.97).
    res = directional_radius(0.97, -0.6, 0.7)
    assert res.status == INCONSISTENT
    assert not res.success
    assert res.radius == cohen_radius(0.97)
    assert np.isfinite(res.radius)
    assert STATUS_NAMES[INCONSISTENT] == "inconsistent"
    assert INCONSISTENT not in (CONVERGED, ABSTAIN, PROJECTED, FALLBACK, INVALID)


@pytest.mark.parametrize("q", [0.51, 0.8, 0.97, 0.999999])
@pytest.mark.parametrize("ang", [0.0, 0.3, np.pi / 2, 2.5])
def test_feasibility_slack_is_the_boundary_between_inf_and_inconsistent(q, ang):
    big_m = float(max_gradient_norm(q))
    c, s = np.cos(ang), np.sin(ang)
    rel = np.array([1e-13, 5e-13, 1e-10, 1e-6])  # relative distance outside the disk
    rho = 1.0 + rel
    if c <= 0.0:  # only max(m1, 0) counts: an adverse m1 never leaves the disk
        m1 = c * big_m * np.ones(4)
        m2 = rho * big_m
    else:
        m1, m2 = rho * c * big_m, rho * s * big_m
    res = directional_radius(q, m1, m2)
    within = rel < FEASIBILITY_SLACK
    np.testing.assert_array_equal(res.status[within], CONVERGED)
    assert np.all(res.radius[within] == np.inf)
    np.testing.assert_array_equal(res.status[~within], INCONSISTENT)
    np.testing.assert_array_equal(res.radius[~within], cohen_radius(q))
    np.testing.assert_array_equal(res.success, within)


def test_q_one_outside_the_point_disk_is_inconsistent():
    # M(1) = 0: only max(m1, 0) = m2 = 0 is consistent; Cohen's radius at q = 1 is +inf.
    res = directional_radius(1.0, [0.0, -3.0, 1e-300, 0.0], [0.0, 0.0, 0.0, 1e-300])
    np.testing.assert_array_equal(res.status, [CONVERGED, CONVERGED, INCONSISTENT, INCONSISTENT])
    np.testing.assert_array_equal(res.success, [True, True, False, False])
    assert np.all(res.radius == np.inf)


def test_mixed_arrays_flag_only_the_inconsistent_elements():
    rng = np.random.default_rng(11)
    n = 2000
    q = rng.uniform(0.51, 0.9999, n)
    big_m = max_gradient_norm(q)
    ang = rng.uniform(0.0, np.pi, n)
    rho = np.sqrt(rng.uniform(0.0, 4.0, n))  # about half outside the disk
    m1, m2 = rho * np.cos(ang) * big_m, rho * np.sin(ang) * big_m
    res = directional_radius(q, m1, m2)
    outside = np.hypot(np.maximum(m1, 0.0), m2) > big_m * (1.0 + FEASIBILITY_SLACK)
    assert 0.2 * n < outside.sum() < 0.8 * n
    np.testing.assert_array_equal(res.status == INCONSISTENT, outside)
    np.testing.assert_array_equal(res.radius[outside], cohen_radius(q[outside]))
    assert not res.success[outside].any()
    inside = directional_radius(q[~outside], m1[~outside], m2[~outside])
    np.testing.assert_array_equal(res.radius[~outside], inside.radius)
    np.testing.assert_array_equal(res.status[~outside], inside.status)
    # No +inf with success outside the disk.
    assert not np.any(np.isinf(res.radius) & res.success & outside)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    ("q", "m1", "m2"), [(1 - 1e-10, 1e300, 1e300), (0.9, 0.0, 1e308), (0.99, 1e308, 0.0)]
)
def test_huge_bounds_are_inconsistent_without_overflow(q, m1, m2):
    res = directional_radius(q, m1, m2)
    assert res.radius == cohen_radius(q)
    assert res.status == INCONSISTENT
    assert res.nit == 0


@pytest.mark.filterwarnings("error")
def test_subnormal_bounds_are_not_inconsistent():
    res = directional_radius(0.9, 0.0, 1e-310)
    assert res.status == CONVERGED
    assert res.radius == directional_radius(0.9, 0.0, 0.0).radius


def test_never_below_cohen_and_status_codes_documented():
    rng = np.random.default_rng(1)
    q = rng.uniform(0.51, 0.9999, 300)
    big_m = max_gradient_norm(q)
    ang = rng.uniform(0, np.pi, 300)
    rho = np.sqrt(rng.uniform(0, 0.98, 300))
    res = directional_radius(q, rho * np.cos(ang) * big_m, rho * np.sin(ang) * big_m)
    assert np.all(res.radius >= cohen_radius(q) - 1e-12)
    assert set(np.unique(res.status)) <= {CONVERGED, FALLBACK}
    assert isinstance(res, RadiusResult)
    assert "RadiusResult(" in repr(res)


def test_cohen_radius():
    np.testing.assert_allclose(
        cohen_radius([0.2, 0.5, 0.75, 0.97]), [0, 0, 0.6744897501960817, 1.8807936081512509]
    )
    assert cohen_radius(1.0) == np.inf
    with pytest.raises(ValueError, match="q must lie"):
        cohen_radius([0.9, np.nan])
    assert np.isnan(cohen_radius([0.9, 2.0], on_invalid="nan")[1])


def test_continuity_as_m2_goes_to_zero():
    for q, a in [(0.8, 0.0), (0.97, -0.5), (0.6, 0.4), (0.9995, -0.9)]:
        big_m = max_gradient_norm(q)
        r0 = directional_radius(q, a * big_m, 0.0).radius
        for b in [1e-9, 1e-6, 1e-5, 1e-4]:
            rb = directional_radius(q, a * big_m, b * big_m).radius
            assert r0 <= rb <= r0 + 1e-6 * max(1.0, r0) + 10 * b


def _feasible(q, a, b):
    return max(a, 0.0) ** 2 + b * b <= 0.97


PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
qs = st.floats(0.5 + 1e-4, 1 - 1e-6)
ab = st.floats(-1.0, 0.95)
bs = st.floats(0.0, 0.95)
steps = st.floats(1e-3, 0.05)


@PROPERTY_SETTINGS
@given(qs, ab, bs, steps)
def test_monotone_in_m1(q, a, b, step):
    if not (_feasible(q, a, b) and _feasible(q, a + step, b)):
        return
    big_m = max_gradient_norm(q)
    r_lo = directional_radius(q, a * big_m, b * big_m).radius
    r_hi = directional_radius(q, (a + step) * big_m, b * big_m).radius
    assert r_hi >= r_lo - 1e-7 * max(1.0, r_lo)


@PROPERTY_SETTINGS
@given(qs, ab, bs, steps)
def test_monotone_in_m2(q, a, b, step):
    if not (_feasible(q, a, b) and _feasible(q, a, b + step)):
        return
    big_m = max_gradient_norm(q)
    r_lo = directional_radius(q, a * big_m, b * big_m).radius
    r_hi = directional_radius(q, a * big_m, (b + step) * big_m).radius
    assert r_hi >= r_lo - 1e-7 * max(1.0, r_lo)


@PROPERTY_SETTINGS
@given(qs, ab, bs, st.floats(1e-6, 1e-3))
def test_monotone_in_q_at_fixed_gradient_bounds(q, a, b, dq):
    q2 = min(q + dq, 1 - 1e-7)
    big_m = max_gradient_norm(q)
    m1, m2 = a * big_m, b * big_m
    big_m2 = max_gradient_norm(q2)
    if not (_feasible(q, a, b) and _feasible(q2, m1 / big_m2, m2 / big_m2)):
        return
    r_lo = directional_radius(q, m1, m2).radius
    r_hi = directional_radius(q2, m1, m2).radius
    assert r_hi >= r_lo - 1e-7 * max(1.0, r_lo)


@pytest.mark.parametrize("q", [0.6, 0.9, 0.999])
@pytest.mark.parametrize("a", [-1.0, -0.5, -0.1])
def test_slack_m1_with_large_m2_converges(q, a):
    # With m2 near its maximum the m1 bound is slack for a <= -0.5 (l1 = 0, the c1 < 0 clause)
    # and the radius does not depend on it.
    big_m = max_gradient_norm(q)
    res = directional_radius(q, a * big_m, 0.99 * big_m)
    ref = directional_radius(q, -big_m, 0.99 * big_m)
    assert res.status == CONVERGED
    if a <= -0.5:
        assert res.radius == pytest.approx(ref.radius, rel=1e-7)
    else:  # here the m1 bound is active and adds a little
        assert res.radius >= ref.radius * (1 - 1e-9)


@pytest.mark.parametrize("which", ["m1", "m2", "q"])
def test_monotone_on_many_random_pairs(which):
    """The property tests above, vectorised over 20,000 pairs that cross the warm-start table's
    edges (q near 1/2 and 1, a up to 0.95) and mix warm and strip starts."""
    rng = np.random.default_rng({"m1": 1, "m2": 2, "q": 3}[which])
    n = 20_000
    u = rng.random(n)
    q = np.where(
        u < 0.3,
        0.5 + 10 ** rng.uniform(-4, -1, n),
        np.where(u < 0.6, 1 - 10 ** rng.uniform(-6, -1, n), rng.uniform(0.5001, 0.9999, n)),
    )
    a = rng.uniform(-1.0, 0.95, n)
    b = rng.uniform(0.0, 0.95, n)
    step = rng.uniform(1e-4, 0.05, n)
    big_m = max_gradient_norm(q)
    q2, big_m2 = q, big_m
    if which == "m1":
        a2, b2 = a + step, b
    elif which == "m2":
        a2, b2 = a, b + step
    else:
        q2 = np.minimum(q + 10 ** rng.uniform(-6, -3, n), 1 - 1e-7)
        big_m2 = max_gradient_norm(q2)
        a2, b2 = a * big_m / big_m2, b * big_m / big_m2
    ok = np.array([_feasible(*t) for t in zip(q, a, b, strict=True)])
    ok &= np.array([_feasible(*t) for t in zip(q2, a2, b2, strict=True)])
    r_lo = directional_radius(q[ok], a[ok] * big_m[ok], b[ok] * big_m[ok]).radius
    r_hi = directional_radius(q2[ok], a2[ok] * big_m2[ok], b2[ok] * big_m2[ok]).radius
    assert ok.sum() > 15_000
    assert np.all(r_hi >= r_lo - 1e-7 * np.maximum(1.0, r_lo))


def test_chunked_solve_equals_one_pass(monkeypatch):
    """Issue 15: large calls are solved in chunks of SOLVE_CHUNK elements, with results (and
    errors) identical to one pass."""
    from hocert_solver import directional

    rng = np.random.default_rng(5)
    q = rng.uniform(0.3, 1.0, size=(7, 9))
    q[0, 0], q[1, 1] = 1.0, 0.5
    big_m = directional.max_gradient_norm(q)
    m1 = rng.uniform(-1.2, 1.2, size=(7, 9)) * big_m
    m2 = rng.uniform(0.0, 1.2, size=(1, 9)) * big_m.max()  # broadcast along the first axis
    one, lam_one = directional._directional(q, m1, m2, "nan")
    monkeypatch.setattr(directional, "SOLVE_CHUNK", 5)
    chunked, lam_chunked = directional._directional(q, m1, m2, "nan")
    for name in ("radius", "status", "nit"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(one, name))
    np.testing.assert_array_equal(lam_chunked, lam_one)
    public = directional.directional_radius(q, m1, m2, on_invalid="nan")
    np.testing.assert_array_equal(public.radius, one.radius)
    bad = q.copy()
    bad[3, 4] = bad[6, 8] = np.nan
    monkeypatch.setattr(directional, "SOLVE_CHUNK", 10**9)
    with pytest.raises(ValueError) as whole:
        directional.directional_radius(bad, m1, m2)
    monkeypatch.setattr(directional, "SOLVE_CHUNK", 4)
    with pytest.raises(ValueError) as parts:
        directional.directional_radius(bad, m1, m2)
    assert str(parts.value) == str(whole.value)
    assert "(2 element(s); first at index (3, 4))" in str(whole.value)


def test_large_call_memory_is_bounded(monkeypatch):
    """The temporaries of one call are bounded by the chunk, not the broadcast size."""
    import tracemalloc

    from hocert_solver import directional

    monkeypatch.setattr(directional, "SOLVE_CHUNK", 10_000)
    q = np.full(100_000, 0.9)
    m = 0.1 * float(directional.max_gradient_norm(0.9))
    tracemalloc.start()
    try:
        directional.directional_radius(q, m, m)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the outputs and multipliers take 37 bytes per element; one pass took about 390
    assert peak < 100 * q.size
