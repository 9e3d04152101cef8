"""The quadrature rules: Gauss-Kronrod constants and the one-pass Kronrod/Gauss pair."""

import numpy as np
import pytest

from hocert_solver import _quadrature as quad
from hocert_solver._integrals import (
    N_INTEGRALS,
    OK,
    RULE_GK17,
    RULE_GL8,
    RULE_GL12,
    integrals_on,
)


def test_kronrod_rule_is_exact_to_degree_25_and_extends_gl8():
    for degree in range(26):
        exact = 2.0 / (degree + 1) if degree % 2 == 0 else 0.0
        assert np.dot(quad.GK17_W, quad.GK17_X**degree) == pytest.approx(exact, abs=2e-15)
    # Degree 26 is not integrated exactly (the rule is not a 17-point Gauss rule).
    assert abs(np.dot(quad.GK17_W, quad.GK17_X**26) - 2.0 / 27) > 1e-10
    np.testing.assert_allclose(quad.GK17_X[1::2], quad.GL8_X, atol=2e-16)
    assert np.all(quad.GK17_W > 0)


@pytest.mark.parametrize(
    "theta",
    [
        (0.3, -0.2, 0.05, 1.1),
        (2e4, 3.6e3, 9e3, 4.6),
        (1e-6, -2e-6, 3e-6, 3e-3),
        (3.0, 0.8, 1.5, 2.2),
    ],
)
def test_kronrod_rule_records_its_panels_and_beats_gl8(theta):
    k0, k1, l2, r = theta
    br = np.empty(quad.MAX_BREAKS)
    nb = quad.breakpoints(k0, k1, l2, r, br)
    jac = np.empty((4, 4))
    none = np.empty((0, 5))
    gl8, gl12, gk = (np.zeros(N_INTEGRALS) for _ in range(3))
    assert integrals_on(br, nb, k0, k1, l2, r, RULE_GL8, False, gl8, jac, none) == OK
    assert integrals_on(br, nb, k0, k1, l2, r, RULE_GL12, False, gl12, jac, none) == OK
    panels = np.full((quad.MAX_PANELS, 5), 7.0)
    assert integrals_on(br, nb, k0, k1, l2, r, RULE_GK17, False, gk, jac, panels) == OK
    assert np.isnan(gk[4])  # (the witness's pass skips I4)
    n = int(np.argmax(np.isnan(panels[:, 0])))
    assert n > 0
    assert np.all(panels[:n, 1] > 0)
    # the panels tile the transition bands: sorted, abutting within rounding, inside the ends
    lo, hi = panels[:n, 0] - panels[:n, 1], panels[:n, 0] + panels[:n, 1]
    assert br[0] - 1e-12 <= lo[0]
    assert hi[-1] <= br[nb - 1] + 1e-12
    assert np.all(lo[1:] >= hi[:-1] - 1e-12)
    # the record holds u, w - 1 and phi at each centre
    c = panels[:n, 0]
    np.testing.assert_allclose(panels[:n, 4], np.exp(-0.5 * c * c) / np.sqrt(2 * np.pi), rtol=1e-14)
    np.testing.assert_allclose(
        panels[:n, 3], np.expm1(r * c - 0.5 * r * r), rtol=1e-13, atol=1e-300
    )
    u = (k0 + k1 * c - (np.expm1(r * c - 0.5 * r * r) - (r * c - 0.5 * r * r))) / l2
    np.testing.assert_allclose(panels[:n, 2], u, rtol=1e-12, atol=1e-12 * np.abs(k0 / l2))
    scale = np.abs(gl12[:4]) + 1e-300
    # Kronrod is at least as close to GL12 as GL8 is (GL12 is far more accurate).
    assert np.all(np.abs(gk[:4] - gl12[:4]) <= np.abs(gl8[:4] - gl12[:4]) + 1e-15 * scale)
    np.testing.assert_allclose(gk[5:7], gl12[5:7], rtol=1e-3, atol=1e-300)


@pytest.mark.parametrize(
    "theta",
    [
        (0.3, -0.2, 0.05, 1.1),
        (2e4, 3.6e3, 9e3, 4.6),
        (1e-6, -2e-6, 3e-6, 3e-3),
        (3.0, 0.8, 1.5, 2.2),
    ],
)
@pytest.mark.parametrize("guide_kind", ["previous", "garbage", "nan"])
def test_guided_breakpoints_are_valid_whatever_the_guide(theta, guide_kind):
    """A guide only starts the crossing searches: every crossing still meets |u - L| <= U_TOL,
    and the panels are the unguided ones up to that tolerance."""
    k0, k1, l2, r = theta
    ref = np.empty(quad.MAX_BREAKS)
    n_ref = quad.breakpoints(k0, k1, l2, r, ref)
    rng = np.random.default_rng(1)
    guide = {
        # the crossings of a nearby theta, as Newton's next iterate or the witness would see them
        "previous": None,
        "garbage": rng.uniform(-12.0, r + 12.0, quad.N_GUIDE),
        "nan": np.full(quad.N_GUIDE, np.nan),
    }[guide_kind]
    if guide is None:
        guide = np.full(quad.N_GUIDE, np.nan)
        quad.breakpoints_guided(k0 * 1.001, k1 * 0.999, l2 * 1.002, r * 1.0005, ref.copy(), guide)
    out = np.empty(quad.MAX_BREAKS)
    n = quad.breakpoints_guided(k0, k1, l2, r, out, guide)
    assert n == n_ref
    assert np.all(np.diff(out[:n]) >= 0.0)
    assert out[0] == ref[0]
    assert out[n - 1] == ref[n_ref - 1]
    inner = out[1 : n - 1]
    u = np.array([quad.s_value(x, k0, k1, r) / l2 for x in inner])
    levels = np.array([min(quad.LEVELS, key=lambda lev, v=v: abs(v - lev)) for v in u])
    assert np.all(np.abs(u - levels) <= quad.U_TOL * (1 + 1e-9))
    # The guide now holds this call's crossings.
    assert np.all(np.isin(inner, guide))
