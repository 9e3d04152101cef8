"""Certified-accuracy curves, summary tables and the 2-D slice of the certified region."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hocert.plotting import (
    Run,
    certified_accuracy,
    default_radii,
    plot_certified_accuracy,
    plot_slice,
    slice_region,
    status_names,
    summary_tables,
    threat_models,
)
from hocert_solver import (
    CONVERGED,
    INCONSISTENT,
    cohen_radius,
    directional_radius,
    max_gradient_norm,
)


def frame(**extra: list[float]) -> pd.DataFrame:
    data = {
        "idx": [0, 1, 2, 3],
        "label": [1, 2, 3, 4],
        "predict": [1, 2, -1, 0],
        "p_a_lower": [0.9, 0.99, 0.4, 0.8],
        "radius_cohen": [0.3, 0.6, 0.0, 0.2],
        "radius_l2": [0.31, 0.62, 0.0, 0.2],
        "radius_l1": [0.3, 0.61, 0.0, 0.2],
        "radius_linf": [0.05, 0.09, 0.0, 0.03],
        **extra,
        "correct": [1, 1, 0, 0],
        "time": [0.1, 0.2, 0.1, 0.2],
    }
    return pd.DataFrame(data)


def test_certified_accuracy_counts_correct_inputs_at_or_above_radius():
    radii = [0.0, 0.5, 1.0, np.inf, 2.0]
    correct = [1, 1, 0, 1, 1]
    at = [0.0, 0.5, 0.51, 1.0, 2.0, 1e9]
    expected = np.array([4, 3, 2, 2, 2, 1]) / 5
    np.testing.assert_allclose(certified_accuracy(radii, correct, at), expected)
    assert certified_accuracy([], [], [0.0, 1.0]).tolist() == [0.0, 0.0]


def test_threat_models_and_cohen_translation():
    f = frame(radius_channel0=[0.3, 0.5, 0.0, 0.1])
    models = threat_models(list(f.columns))
    assert [m.name for m in models] == ["l2", "l1", "linf", "channel0"]
    linf = models[2]
    first, cohen = linf.radii(Run("r", f, sigma=0.25, d=64))
    np.testing.assert_allclose(cohen, f["radius_cohen"] / 8)
    np.testing.assert_allclose(first, f["radius_linf"])
    assert linf.radii(Run("r", f))[1] is None  # no dimension: no Cohen curve
    assert models[3].radii(Run("r", f))[1] is not None
    assert "subspace" in models[3].title()


def test_summary_tables_with_envelope():
    runs = [Run("a", frame(), sigma=0.25, d=64), Run("b", frame(), sigma=0.5, d=64)]
    runs[1].frame.loc[3, "correct"] = 1
    overview, per_model = summary_tables(runs, [0.0, 0.25, 0.5])
    assert overview.loc["a", "clean accuracy %"] == 50.0
    assert overview.loc["b", "clean accuracy %"] == 75.0
    assert overview.loc["a", "abstain %"] == 25.0
    l2 = per_model["l2"]
    assert l2.loc[("first-order", "a")].tolist() == [50.0, 50.0, 25.0]
    assert l2.loc[("first-order", "envelope")].tolist() == [75.0, 50.0, 25.0]
    assert list(per_model["linf"].columns) == ["0", "0.03125", "0.0625"]  # r / sqrt(64)
    assert default_radii(runs) == [k * 0.5 for k in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)]


def test_plot_certified_accuracy_notes_missing_dimension(tmp_path):
    notes = plot_certified_accuracy([Run("a", frame())], tmp_path / "f.svg", points=50)
    assert len(notes) == 1
    assert (tmp_path / "f.svg").stat().st_size > 0
    with pytest.raises(ValueError, match=r"png or \.svg"):
        plot_certified_accuracy([Run("a", frame())], tmp_path / "f.pdf")


def test_slice_region_matches_the_solver_and_is_symmetric():
    q = 0.9
    beta = 0.4 * float(max_gradient_norm(q))
    data = slice_region(q, beta, angles=24)
    t = data["t"]
    np.testing.assert_allclose(data["m1"], beta * np.cos(t))
    np.testing.assert_allclose(data["m2"], beta * np.abs(np.sin(t)))
    r = data["radius"]
    np.testing.assert_allclose(r[1:], r[1:][::-1], rtol=1e-10)  # symmetric about beta
    assert r.argmax() == 0  # along beta: largest
    assert r.argmin() == 12  # against beta: smallest, still above Cohen
    assert r.min() > float(cohen_radius(q))
    direct = directional_radius(q, beta * np.cos(t[6]), beta * abs(np.sin(t[6])))
    assert r[6] == float(direct.radius)


def test_slice_region_on_the_boundary_is_unbounded_towards_beta():
    q = 0.95
    data = slice_region(q, float(max_gradient_norm(q)), angles=16)
    towards = data["m1"] > 0
    assert np.isinf(data["radius"][towards]).all()
    away = data["m1"] < -1e-12  # orthogonal to beta (m2 = M) is on the boundary too
    assert np.isfinite(data["radius"][away]).all()
    assert (data["status"][towards] == CONVERGED).all()


def test_slice_region_refuses_a_gradient_norm_above_m():
    q = 0.95
    big_m = float(max_gradient_norm(q))
    data = slice_region(q, big_m * (1 + 1e-13), angles=16)  # rounding: on the boundary
    assert (data["status"] == CONVERGED).all()
    with pytest.raises(ValueError, match="exceeds M"):
        slice_region(q, big_m * (1 + 1e-10), angles=16)
    assert status_names(np.array([INCONSISTENT])) == ["inconsistent"]


@pytest.mark.parametrize("q", [0.5, 0.4, 1.0, float("nan")])
def test_slice_region_needs_q_between_one_half_and_one(q):
    with pytest.raises(ValueError, match=r"q must lie in \(1/2, 1\)"):
        slice_region(q, 0.0, angles=16)


def test_plot_slice_png(tmp_path):
    out = tmp_path / "s.png"
    data = plot_slice(0.9, 0.0, 0.5, out, angles=12)
    # beta = 0 exactly: every direction has m1 = m2 = 0, more than Cohen's no-information case
    np.testing.assert_allclose(data["radius"], float(directional_radius(0.9, 0.0, 0.0).radius))
    assert data["radius"][0] > float(cohen_radius(0.9))
    assert out.read_bytes().startswith(b"\x89PNG")
