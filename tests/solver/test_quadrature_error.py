"""The rigorous bound on the witness's quadrature error (``hocert_solver._quadrature_error``)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy import special

from hocert_solver import _quadrature_error as qe
from hocert_solver._dual import certified_excess
from hocert_solver._integrals import N_INTEGRALS, OK, RULE_GK17, integrals_on
from hocert_solver._quadrature import GK17_W, GK17_X, MAX_BREAKS, MAX_PANELS, breakpoints
from hocert_solver.directional import _directional
from tests.solver.domain import adversarial_edge_triples, random_feasible_triples

INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
# A panel where the exact rule's bound decides (the top of s, curvature large: found on the
# benchmark's triples): (k0, k1, l2, r), with the slack its witness had.
TOP_OF_S = (1.693007347489449, -0.1135802032914921, 0.19090210594886667, 1.6241819643900226)
TOP_SLACK = 1.877e-9


def _witness_thetas(n: int) -> list[tuple[float, float, float, float, float, float, float]]:
    """(k0, k1, l2, r, q, m1, m2) of solved witnesses: benchmark and adversarial triples."""
    out = []
    for q, m1, m2 in (
        random_feasible_triples(n, seed=21),
        adversarial_edge_triples(n, np.random.default_rng(21)),
    ):
        res, lam = _directional(q, m1, m2, "nan")
        for i in np.flatnonzero(
            np.isfinite(res.radius) & (res.radius > 0) & np.all(np.isfinite(lam), axis=1)
        ):
            r = float(res.radius[i])
            l0, l1, l2 = (float(v) for v in lam[i])
            out.append((l0 - 1 + 0.5 * r * r, l1 - r, l2, r, float(q[i]), m1[i], m2[i]))
    return out


def _panels(k0: float, k1: float, l2: float, r: float) -> tuple[np.ndarray, np.ndarray]:
    br = np.empty(MAX_BREAKS)
    nb = breakpoints(k0, k1, l2, r, br)
    integ = np.empty(N_INTEGRALS)
    rows = np.full((MAX_PANELS, 5), np.nan)
    assert (
        integrals_on(br, nb, k0, k1, l2, r, RULE_GK17, False, integ, np.empty((4, 4)), rows) == OK
    )
    n = int(np.argmax(np.isnan(rows[:, 0])))
    return rows[:n], integ


def _f_over_scale(z: np.ndarray, c: float, k0: float, k1: float, l2: float, r: float) -> np.ndarray:
    """|f(z)| / (l2 phi(c)) for the dual's integrand f = -l2 psi(u) phi, exactly (complex)."""
    v = r * z - 0.5 * r * r
    u = (k0 + k1 * z - (np.exp(v) - 1.0 - v)) / l2
    psi = INV_SQRT_2PI * np.exp(-0.5 * u * u) - u * 0.5 * special.erfc(u / math.sqrt(2.0))
    return np.abs(psi * np.exp(-0.5 * (z * z - c * c)))


THETAS = _witness_thetas(60)


@pytest.mark.parametrize("rho", [1.5, 2.5, 3.0, 4.0, 8.0])
def test_ellipse_bound_is_above_the_integrand_on_the_ellipse(rho):
    """The bound on max |f| over E_rho holds against |f| evaluated at 720 points of the
    ellipse and 200 inside it (complex u, complex erfc), for the panels of real witnesses."""
    rng = np.random.default_rng(int(rho * 10))
    theta = np.linspace(0.0, 2.0 * np.pi, 720, endpoint=False)
    alpha, beta = 0.5 * (rho + 1 / rho), 0.5 * (rho - 1 / rho)
    tau = np.concatenate(
        [
            alpha * np.cos(theta) + 1j * beta * np.sin(theta),
            rng.uniform(0, 1, 200) * (alpha * np.cos(t := rng.uniform(0, 6.3, 200)))
            + 1j * rng.uniform(0, 1, 200) * beta * np.sin(t),
        ]
    )
    checked = 0
    for k0, k1, l2, r, *_ in THETAS[::3]:
        rows, _ = _panels(k0, k1, l2, r)
        for row in rows:
            c, hw = row[0], row[1]
            uc, g, kap, w_l2, slop, _scale = qe._panel_model(
                c, hw, row[2], row[3], row[4], k0, k1, l2, r
            )
            with np.errstate(over="ignore", invalid="ignore"):
                exact = _f_over_scale(c + hw * tau, c, k0, k1, l2, r)
            if not np.all(np.isfinite(exact)):
                continue  # (complex erfc overflows far out: nothing to compare)
            for arcs in (qe.COARSE_ARCS, qe.FINE_ARCS):
                table = qe._table(rho, arcs)
                bound = qe.ellipse_bound(table, alpha, c, hw, uc, g, kap, w_l2, r, slop)
                assert bound >= exact.max() * (1 - 1e-9), (row, rho, len(arcs))
            checked += 1
    assert checked > 200


@pytest.mark.parametrize("omega", [6.0, 10.0, 14.0, 18.0])
def test_rule_constant_bounds_the_kronrod_error_of_an_entire_function(omega):
    """For f(t) = e^{omega t} (|f| <= e^{omega alpha} on E_rho) the 17-point rule's error
    (computed at 40 digits from the binary64 nodes and weights) is below the bound."""
    mpmath.mp.dps = 40
    exact = (mpmath.exp(omega) - mpmath.exp(-omega)) / omega
    rule = mpmath.fsum(
        mpmath.mpf(float(w)) * mpmath.exp(omega * mpmath.mpf(float(x)))
        for x, w in zip(GK17_X, GK17_W)
    )
    error = float(abs(rule - exact))
    bounds = []
    for rho in np.geomspace(1.2, 60, 200):
        alpha = 0.5 * (rho + 1 / rho)
        rule_factor = qe._consts(rho)[1]
        bounds.append(rule_factor * math.exp(omega * alpha))
    best = min(bounds)
    # The bound holds (the binary64 nodes' own error is ~1e-16 of f, far below) and is tight
    # to a few orders of magnitude where the error is measurable.
    assert error <= best
    if error > 1e-12 * math.exp(omega):
        assert best <= 1e4 * error


def test_panel_bounds_cover_the_actual_panel_errors():
    """On the witnesses' panels, the Kronrod sum of the dual's integrand (as the witness forms
    it) differs from the exact panel integral (mpmath, 30 digits) by less than rule + slip."""
    mpmath.mp.dps = 30
    checked = 0
    for k0, k1, l2, r, *_ in THETAS[::7]:
        rows, _ = _panels(k0, k1, l2, r)
        e0, l1 = k0 - 0.5 * r * r, k1 + r

        def f(x, k0=k0, k1=k1, l2=l2, r=r, e0=e0, l1=l1):
            w = mpmath.exp(r * x - r * r / 2)
            u = (k0 + k1 * x - (w - 1 - (r * x - r * r / 2))) / l2
            h = mpmath.ncdf(-u)
            return (-(w - 1) * h + e0 * h + l1 * x * h - l2 * mpmath.npdf(u)) * mpmath.npdf(x)

        for row in rows[:: max(1, len(rows) // 4)]:
            c, hw = float(row[0]), float(row[1])
            exact = mpmath.quad(f, [c - hw, c, c + hw])
            computed, _size = qe._kronrod_panel(c, hw, k0, k1, l2, r, np.empty(5))
            rule, slip = qe.panel_error_bound(row, k0, k1, l2, r, 3)
            # (plus the rounding of the 17 terms, which the witness's floor counts)
            assert abs(computed - float(exact)) <= rule + slip + 64 * 2.3e-16 * _size
            checked += 1
    assert checked > 20


def test_tiers_only_tighten_and_budget_steers_the_refinement():
    k0, k1, l2, r = TOP_OF_S
    rows, _ = _panels(k0, k1, l2, r)
    tiers = np.array(
        [[sum(qe.panel_error_bound(row, k0, k1, l2, r, t)) for t in (1, 2, 3)] for row in rows]
    )
    assert np.all(np.isfinite(tiers))
    coarse = tiers[:, 0].sum()
    panels = np.vstack([rows, np.full((1, 5), np.nan)])
    corr, lazy = qe.certified_quadrature(panels, k0, k1, l2, r, np.inf)
    assert corr == 0.0  # nothing to refine
    assert lazy == pytest.approx(coarse, rel=1e-12)
    corr, tight = qe.certified_quadrature(panels, k0, k1, l2, r, TOP_SLACK)
    assert tight < TOP_SLACK < coarse  # refined, and (here) split, until it fits
    assert corr != 0.0


def test_certified_excess_with_local_splits_stays_below_the_ball_arithmetic_dual():
    """Where panels are split (``TOP_OF_S``) the corrected value is still a lower bound: the
    certified excess lies below D - 1/2 as Arb encloses it, and within the bounds of it."""
    from hocert_solver import _ball

    k0, k1, l2, r = TOP_OF_S
    q, m1, m2 = 0.7538124509759281, 0.16986790566161297, 0.04161210408868946
    l0, l1 = k0 + 1 - 0.5 * r * r, k1 + r
    for dr in (0.0, -3e-9 * r, -1e-6 * r):
        rr = r + dr
        kk0, kk1 = l0 - 1 + 0.5 * rr * rr, l1 - rr
        lower = certified_excess(kk0, kk1, l2, rr, q, m1, m2)
        excess = _ball.dual(q, m1, m2, rr, l0, l1, l2) - 0.5
        upper = float(excess.mid() + excess.rad())
        assert lower <= upper + 1e-25
        assert lower >= upper - 2e-7 * r  # the bounds cost little (here ~1e-8 of D's slope)


def test_the_witness_error_is_a_bound_not_an_estimate_across_witnesses():
    """certified_excess never exceeds D - 1/2 as Arb encloses it (all error terms are bounds),
    over witnesses of benchmark and adversarial triples, at their certified radius."""
    from hocert_solver import _ball

    for k0, k1, l2, r, q, m1, m2 in THETAS[::11]:
        l0, l1 = k0 + 1 - 0.5 * r * r, k1 + r
        lower = certified_excess(k0, k1, l2, r, q, m1, m2)
        excess = _ball.dual(q, m1, m2, r, l0, l1, l2) - 0.5
        if not excess.is_finite():
            continue
        upper = float(excess.mid() + excess.rad())
        assert lower <= upper + 1e-40 * (1.0 + l0 + l1 + l2)  # (Arb bounds its tails: 1e-40)


def test_every_solver_radius_is_certified_by_the_bounded_witness():
    """The solver's radii and multipliers pass the witness with the quadrature bound (no
    estimate left): the certified excess at the returned radius is positive."""
    for k0, k1, l2, r, q, m1, m2 in THETAS:
        assert certified_excess(k0, k1, l2, r, q, m1, m2) > 0.0, (k0, k1, l2, r, q, m1, m2)
