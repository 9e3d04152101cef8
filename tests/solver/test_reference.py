"""Checks of the independent reference solver ``tests/reference.py``.

The reference is what the fast solver is tested against, so it is itself checked here against
closed forms (Corollary 3.1 and the zeroth-order radius), the worked values of docs/math.md
(section 10), structural properties of the certificate (monotonicity, continuity in m2, weak
duality) and an mpmath evaluation of the dual.  Radii are in units of sigma.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, special

from tests.reference import (
    _mp_dual,
    big_m,
    reference_interval,
    reference_p,
    reference_radius,
    reference_radius_info,
)
from tests.solver.worked_values import WORKED

GRID_FILE = Path(__file__).resolve().parent / "data" / "reference_grid.npz"


def _z(q: float) -> float:
    """Phi^{-1}(q) from the upper tail (1 - q is exact for q >= 1/2)."""
    return -float(special.ndtri(1.0 - q))


def _inputs(q: float, a: float, b: float) -> tuple[float, float]:
    m = big_m(q)
    return a * m, b * m


# --------------------------------------------------------------------------------------------
# worked values
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("q", "a", "b", "expected"), WORKED)
def test_worked_values(q, a, b, expected):
    # the table is rounded to 12 decimals: agreement to 5e-13 plus the reference's own error
    assert reference_radius(q, *_inputs(q, a, b)) == pytest.approx(expected, abs=1e-11)


def test_big_m_matches_definition():
    for q in (0.5 + 1e-6, 0.75, 0.97, 1.0 - 1e-7):
        z = float(special.ndtri(q))
        assert big_m(q) == pytest.approx(math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi), rel=1e-8)


def test_inequality_not_equality_semantics():
    """Row (0.97, -0.6, 0.7): l1 = 0 is active (the c1 < 0 clause); the equality-constrained
    problem gives a larger, unsound radius."""
    m1, m2 = _inputs(0.97, -0.6, 0.7)
    info = reference_radius_info(0.97, m1, m2)
    assert info.mode == "A"
    assert info.lam[1] == 0.0
    assert info.radius == pytest.approx(2.232838824713, abs=1e-11)
    eq = reference_radius_info(0.97, m1, m2, equality=True)
    assert eq.lam[1] < 0.0  # the equality solution has c1 < 0
    assert eq.radius == pytest.approx(2.239197656917, abs=1e-11)
    assert eq.radius > info.radius + 6e-3


# --------------------------------------------------------------------------------------------
# m2 = 0: Corollary 3.1 and the zeroth-order radius
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("q", [0.5 + 1e-6, 0.5 + 1e-4, 0.6, 0.9, 0.999, 1.0 - 1e-7])
def test_cohen_corner(q):
    m = big_m(q)
    z = _z(q)
    for m1 in (-m, -1.5 * m, -10.0):
        assert reference_radius(q, m1, 0.0) == pytest.approx(z, rel=1e-14, abs=1e-15)


@pytest.mark.parametrize("q", [0.5 + 1e-4, 0.55, 0.75, 0.9, 0.99, 1.0 - 1e-6])
def test_interval_symmetric_closed_form(q):
    """m1 = 0: the worst case is [-w, w] with 2 Phi(w) - 1 = q; R solves
    Phi(w - r) - Phi(-w - r) = 1/2 (equation (6)), here by an independent scipy root."""
    w = -float(special.ndtri(0.5 * (1.0 - q)))

    def f(r):
        return special.ndtr(w - r) - special.ndtr(-w - r) - 0.5

    expected = optimize.brentq(f, 0.0, w + 10.0, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    assert reference_radius(q, 0.0, 0.0) == pytest.approx(expected, abs=1e-13)


@pytest.mark.parametrize("q", [0.5 + 1e-6, 0.51, 0.7, 0.95, 0.9995, 1.0 - 1e-7])
@pytest.mark.parametrize("a", [-0.999, -0.7, -0.2, 0.0, 0.4, 0.9, 0.999])
def test_interval_equations(q, a):
    """The m2 = 0 solution satisfies (7a), (7b) and (6)."""
    m = big_m(q)
    m1 = a * m
    sol = reference_interval(q, m1)
    w1, w2, r = sol.w1, sol.w2, sol.radius
    assert w2 < w1
    # (7a) written on the upper tail so that 1 - q keeps its digits
    mass_out = special.ndtr(-w1) + special.ndtr(w2)
    assert mass_out == pytest.approx(1.0 - q, rel=1e-12, abs=1e-300)
    # (7b)
    phi_w2 = math.exp(-0.5 * w2 * w2) / math.sqrt(2 * math.pi)
    phi_w1 = math.exp(-0.5 * w1 * w1) / math.sqrt(2 * math.pi)
    assert phi_w2 - phi_w1 == pytest.approx(m1, abs=1e-13 * m)
    # (6)
    assert special.ndtr(w1 - r) - special.ndtr(w2 - r) == pytest.approx(0.5, abs=1e-15)
    assert r >= _z(q) - 1e-15  # first-order information never hurts
    assert reference_radius(q, m1, 0.0) == r


def test_interval_radius_increases_with_m1():
    q = 0.9
    m = big_m(q)
    radii = [reference_radius(q, a * m, 0.0) for a in np.linspace(-1.0, 0.999, 9)]
    assert np.all(np.diff(radii) > 0.0)


# --------------------------------------------------------------------------------------------
# domain, boundary, equivalences
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("q", [0.5 + 1e-6, 0.8, 1.0 - 1e-7])
def test_boundary_of_feasible_disk_is_infinite(q):
    m = big_m(q)
    for m1, m2 in ((m, 0.0), (0.0, m), (0.6 * m, 0.8 * m), (-0.5 * m, m)):
        assert reference_radius(q, m1, m2) == math.inf
    # there the only feasible f is a half-space: p(r) = Phi(z + r max(a, 0))
    z = _z(q)
    assert reference_p(q, 0.6 * m, 0.8 * m, 3.0) == pytest.approx(special.ndtr(z + 1.8))
    assert reference_p(q, -0.5 * m, m, 3.0) == pytest.approx(q)


@pytest.mark.parametrize(
    ("q", "m1", "m2"),
    [
        (0.5, 0.0, 0.1),
        (1.0, 0.0, 0.0),
        (0.3, 0.0, 0.0),
        (math.nan, 0.0, 0.0),
        (0.9, 0.0, -1e-3),
        (0.9, math.nan, 0.0),
        (0.9, 0.8 * big_m(0.9), 0.7 * big_m(0.9)),
        (0.9, 0.0, 1.001 * big_m(0.9)),
        (0.9, 1.001 * big_m(0.9), 0.0),
    ],
)
def test_invalid_inputs_raise(q, m1, m2):
    with pytest.raises(ValueError):
        reference_radius(q, m1, m2)


def test_m1_below_minus_m_acts_as_minus_m():
    q = 0.95
    m = big_m(q)
    for b in (0.2, 0.8):
        r_edge = reference_radius(q, -m, b * m)
        assert reference_radius(q, -1.7 * m, b * m) == pytest.approx(r_edge, abs=1e-14)


@pytest.mark.parametrize(("q", "a"), [(0.8, 0.0), (0.97, -1.0), (0.51, 0.5), (0.9995, -0.6)])
def test_tiny_m2_is_continuous(q, a):
    """R(q, m1, m2) -> R(q, m1, 0) as m2 -> 0 (the difference is O(m2^2))."""
    m = big_m(q)
    r0 = reference_radius(q, a * m, 0.0)
    assert reference_radius(q, a * m, 1e-7 * m) == pytest.approx(r0, abs=1e-12)
    assert reference_radius(q, a * m, 1e-9 * m) == pytest.approx(r0, abs=1e-12)


def test_monotone_in_each_input():
    """With inequality semantics R is non-decreasing in q, m1 and m2 (docs/math.md section 3)."""
    q, m1, m2 = 0.9, -0.4 * big_m(0.9), 0.3 * big_m(0.9)
    r = reference_radius(q, m1, m2)
    assert reference_radius(q + 1e-3, m1, m2) > r
    assert reference_radius(q, m1 + 1e-3, m2) > r
    assert reference_radius(q, m1, m2 + 1e-3) > r
    # in the l1 = 0 regime R does not depend on m1 (the constraint E[X f] >= m1 is slack)
    m = big_m(0.97)
    r_a = reference_radius(0.97, -0.6 * m, 0.7 * m)
    assert reference_radius(0.97, -0.65 * m, 0.7 * m) == pytest.approx(r_a, abs=1e-12)


@pytest.mark.slow
def test_sensitivities_match_finite_differences():
    q, m1, m2 = 0.9, -0.5 * big_m(0.9), 0.3 * big_m(0.9)
    info = reference_radius_info(q, m1, m2)
    h = 1e-6

    def d(f):
        return (f(h) - f(-h)) / (2 * h)

    assert d(lambda e: reference_radius(q + e, m1, m2)) == pytest.approx(info.dr_dq, rel=1e-6)
    assert d(lambda e: reference_radius(q, m1 + e, m2)) == pytest.approx(info.dr_dm1, rel=1e-6)
    assert d(lambda e: reference_radius(q, m1, m2 + e)) == pytest.approx(info.dr_dm2, rel=1e-6)
    # Cohen corner: dR/dq = 1 / M(q)
    cohen = reference_radius_info(q, -big_m(q), 0.0)
    assert cohen.dr_dq == pytest.approx(1.0 / big_m(q), rel=1e-12)


# --------------------------------------------------------------------------------------------
# p(r)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("q", "a", "b"), [(0.75, -0.5, 0.3), (0.97, 0.2, 0.5), (0.97, -0.6, 0.7)])
def test_p_at_zero_and_at_the_radius(q, a, b):
    m1, m2 = _inputs(q, a, b)
    r = reference_radius(q, m1, m2)
    assert reference_p(q, m1, m2, 0.0) == q
    assert reference_p(q, m1, m2, r) == pytest.approx(0.5, abs=1e-13)
    assert reference_p(q, m1, m2, r - 0.05) > 0.5 > reference_p(q, m1, m2, r + 0.05)


def test_p_small_r_matches_first_order_expansion():
    """p(r) = q + r min E[X f] + O(r^2), and min E[X f] = max(m1, -sqrt(M^2 - m2^2))."""
    q = 0.8
    m = big_m(q)
    for a, b in ((-0.9, 0.3), (-0.2, 0.5)):
        m1, m2 = a * m, b * m
        slope = max(m1, -math.sqrt(m * m - m2 * m2))
        r = 1e-4
        assert (reference_p(q, m1, m2, r) - q) / r == pytest.approx(slope, abs=1e-3)


def test_p_equals_interval_formula_for_m2_zero():
    q, m1 = 0.9, -0.3 * big_m(0.9)
    sol = reference_interval(q, m1)
    for r in (0.5, 1.0, 2.0):
        expected = special.ndtr(sol.w1 - r) - special.ndtr(sol.w2 - r)
        assert reference_p(q, m1, 0.0, r) == pytest.approx(expected, abs=1e-15)


def _roots_of_s(lam, r):
    """Roots of s(x) = l0 + l1 x - exp(r x - r^2 / 2) (where the NP boundary sits)."""
    xs = np.linspace(-40.0, 40.0 + r, 20001)
    s = lam[0] + lam[1] * xs - np.exp(np.minimum(r * xs - 0.5 * r * r, 700.0))
    idx = np.nonzero(np.diff(np.sign(s)))[0]
    f = lambda x: lam[0] + lam[1] * x - math.exp(r * x - 0.5 * r * r)
    return [optimize.brentq(f, xs[i], xs[i + 1], xtol=1e-15) for i in idx]


@pytest.mark.parametrize(
    ("q", "a", "b"),
    [
        (0.75, -0.5, 0.3),
        (0.97, -0.6, 0.7),
        pytest.param(0.9995, -0.3, 0.2, marks=pytest.mark.slow),
        pytest.param(0.999, 0.0, 1.0 - 1e-6, marks=pytest.mark.slow),
    ],
)
def test_dual_value_agrees_with_mpmath(q, a, b):
    """At R, the dual value D(lam*; R) recomputed in 40-digit arithmetic from its definition is
    1/2, and (weak duality) D(lam*; r) <= p(r) at another r."""
    m1, m2 = _inputs(q, a, b)
    info = reference_radius_info(q, m1, m2)
    r = info.radius
    d = float(_mp_dual(q, m1, m2, r, info.lam, breaks=_roots_of_s(info.lam, r)))
    assert d == pytest.approx(0.5, abs=max(1e-13, abs(info.dp_dr) * info.radius_err))
    r2 = r + 0.3
    d2 = float(_mp_dual(q, m1, m2, r2, info.lam, breaks=_roots_of_s(info.lam, r2)))
    assert d2 <= reference_p(q, m1, m2, r2) + 1e-15


# --------------------------------------------------------------------------------------------
# q -> 1/2: p(r) - 1/2 without terms of size 1/2
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("delta", [1e-8, 1e-10, 1e-12, 1e-14])
@pytest.mark.parametrize("b", [0.3, 0.9])
def test_tiny_margin_matches_first_order_radius(delta, b):
    """q = 1/2 + delta, m1 = -M, m2 = b M: R = delta / (M sqrt(1 - b^2)) (1 + O(R)).

    p(r) - 1/2 ~ delta is far below the eps of 1/2 here; the reference forms it as
    F3 + (l0 - 1, l1, l2) . grad D with F3 = (q - 1/2) - E[(w - 1) h] and keeps its relative
    precision (a difference of terms of size 1/2 left it ~1e-16 absolute: 1% of R at
    delta = 1e-14)."""
    q = 0.5 + delta
    m = big_m(q)
    info = reference_radius_info(q, -m, b * m)
    first_order = (q - 0.5) / (m * math.sqrt(1.0 - b * b))
    assert info.radius == pytest.approx(first_order, rel=1e-6)
    assert info.radius_err <= 1e-9 * info.radius  # the error estimate is relative too
    # p(r) - 1/2 changes sign at R (p is returned in double: 1/2 + O(delta) still resolves it)
    assert reference_p(q, -m, b * m, 0.5 * info.radius) > 0.5
    assert reference_p(q, -m, b * m, 2.0 * info.radius) <= 0.5


@pytest.mark.parametrize(("delta", "a", "b"), [(1e-12, -1.0, 0.9), (1e-13, -0.4, 0.5)])
def test_tiny_margin_dual_agrees_with_mpmath(delta, a, b):
    """At R (~1e-12), D(lam*; R) - 1/2 recomputed in 40-digit arithmetic from its definition is
    0 to 1e-9 of q - 1/2: the reference's dual value resolves p - 1/2 far below the eps of 1/2.
    On the face l1 = 0 (a = -1), lam* stays near-optimal slightly below R, and weak duality
    then certifies R >= R_ref (1 - 1e-6) in mpmath alone."""
    import mpmath

    q = 0.5 + delta
    m1, m2 = _inputs(q, a, b)
    info = reference_radius_info(q, m1, m2)
    r = info.radius
    with mpmath.workdps(40):
        d = _mp_dual(q, m1, m2, r, info.lam) - mpmath.mpf(0.5)
        assert abs(float(d)) <= 1e-9 * (q - 0.5)
        if info.mode == "A":
            d_below = _mp_dual(q, m1, m2, r * (1.0 - 1e-6), info.lam) - mpmath.mpf(0.5)
            # p - 1/2 ~ |dp/dr| 1e-6 R there
            assert float(d_below) >= 0.5e-6 * abs(info.dp_dr) * r


# --------------------------------------------------------------------------------------------
# the stored grid (tests/make_reference_grid.py)
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def grid():
    if not GRID_FILE.exists():
        pytest.skip("reference grid not generated (python -m tests.make_reference_grid)")
    with np.load(GRID_FILE) as data:
        return {k: data[k] for k in data.files}


def test_grid_file_is_complete_and_consistent(grid):
    meta = json.loads(str(grid["metadata"]))
    n = meta["n_points"]
    for key in ("q", "m1", "m2", "a", "b", "radius", "radius_err", "dr_dq", "status"):
        assert grid[key].shape == (n,)
    assert np.all(grid["status"] == "ok")
    q, m1, m2, radius = grid["q"], grid["m1"], grid["m2"], grid["radius"]
    mq = np.array([big_m(float(x)) for x in q])
    assert np.array_equal(m1, grid["a"] * mq)
    assert np.array_equal(m2, grid["b"] * mq)
    rho2 = (np.maximum(m1, 0.0) ** 2 + m2**2) / mq**2
    boundary = rho2 >= 1.0 - 8 * np.finfo(float).eps
    assert np.all(np.isinf(radius[boundary]))
    assert np.all(np.isfinite(radius[~boundary]))
    # first-order information never lowers the zeroth-order radius Phi^{-1}(q)
    z = -special.ndtri(1.0 - q)
    assert np.all(radius[~boundary] >= z[~boundary] - 1e-12)
    assert GRID_FILE.stat().st_size < 1_000_000


def test_grid_is_monotone_and_continuous(grid):
    """Along a grid line of fixed (q, a) the radius is non-decreasing in m2; b = 1e-9 agrees
    with b = 0 (Corollary 3.1)."""
    q, a, b, radius = grid["q"], grid["a"], grid["b"], grid["radius"]
    err = np.maximum(grid["radius_err"], 1e-12)
    for qv in np.unique(q):
        for av in np.unique(a[q == qv]):
            sel = np.nonzero((q == qv) & (a == av) & np.isfinite(radius))[0]
            sel = sel[np.argsort(b[sel])]
            if sel.size < 2:
                continue
            drop = radius[sel[:-1]] - radius[sel[1:]]
            assert np.all(drop <= 2 * (err[sel[:-1]] + err[sel[1:]])), (qv, av)
            zero = sel[b[sel] == 0.0]
            tiny = sel[b[sel] == 1e-9]
            if zero.size and tiny.size:
                assert abs(radius[zero[0]] - radius[tiny[0]]) < 1e-11, (qv, av)


@pytest.mark.slow
def test_grid_sample_against_mpmath_dual(grid):
    """Independent check of the stored radii: at a random sample of grid points (boundary
    neighbourhood included), the dual value at the reference's multipliers, recomputed in
    40-digit arithmetic, is 1/2 within the stored error estimate."""
    rng = np.random.default_rng(7)
    candidates = np.nonzero(np.isfinite(grid["radius"]) & (grid["m2"] > 0.0))[0]
    for i in rng.choice(candidates, size=12, replace=False):
        q, m1, m2 = float(grid["q"][i]), float(grid["m1"][i]), float(grid["m2"][i])
        info = reference_radius_info(q, m1, m2)
        r = info.radius
        assert r == pytest.approx(grid["radius"][i], abs=max(1e-12, 2 * info.radius_err))
        d = float(_mp_dual(q, m1, m2, r, info.lam, breaks=_roots_of_s(info.lam, r)))
        assert abs(d - 0.5) <= max(1e-13, abs(info.dp_dr) * info.radius_err), (q, m1, m2)
