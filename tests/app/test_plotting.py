"""Certified-accuracy curves, summary tables and the 2-D slice of the certified region."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hocert.plotting import (
    Run,
    certified_accuracy,
    default_radii,
    panels,
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
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        plot_certified_accuracy([Run("a", frame())], tmp_path / "f.gif")


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


def test_every_registered_threat_model_has_a_panel_and_a_table():
    """Panels, titles, Cohen translations and table labels come from the registry."""
    from hocert_sampling.threat_models import THREAT_MODELS

    f = frame(radius_channel0=[0.3, 0.5, 0.0, 0.1])
    panels = threat_models(list(f.columns))
    assert [p.model for p in panels] == list(THREAT_MODELS)
    _, per_model = summary_tables([Run("a", f, sigma=0.25, d=64)], [0.0, 0.25])
    for panel in panels:
        assert panel.title() == panel.model.plot_title(
            panel.name if panel.model.per_subspace else None
        )
        assert panel.cohen_scale == panel.model.cohen_scale
        assert per_model[panel.name].attrs["quantity"] == panel.model.quantity
    assert per_model["channel0"].attrs["quantity"] == "l2 radius inside the subspace"
    assert per_model["l1"].attrs["quantity"] == "radius"


def test_old_panel_name_warns():
    import hocert.plotting as plotting

    with pytest.warns(DeprecationWarning, match="Panel"):
        assert plotting.ThreatModel is plotting.Panel


def cohen_frame() -> pd.DataFrame:
    """A file of Cohen et al.'s certify.py, in hocert's columns (``hocert.foreign``)."""
    return pd.DataFrame(
        {
            "idx": [0, 1, 2],
            "label": [1, 2, 3],
            "predict": [1, -1, 3],
            "radius_cohen": [0.4, 0.0, 0.1],
            "correct": [1, 0, 1],
            "time": [2.0, 2.1, np.nan],
        }
    )


def test_panels_of_mixed_files():
    hocert, cohen = Run("a", frame(), d=64), Run("c", cohen_frame(), source="cohen")
    assert [p.name for p in panels([cohen, hocert])] == ["l2", "l1", "linf"]
    assert [p.name for p in panels([cohen])] == ["l2"]  # Cohen's radius is an l2 radius
    first, baseline = panels([cohen])[0].radii(cohen)
    assert first is None
    np.testing.assert_array_equal(baseline, [0.4, 0.0, 0.1])
    sub = Run("s", frame(radius_channel0=[0.1, 0.2, 0.0, 0.0]))
    assert [p.name for p in panels([hocert, sub])][-1] == "channel0"


def test_summary_tables_of_a_hocert_and_a_cohen_file():
    runs = [
        Run("a", frame(), sigma=0.25, d=64),
        Run("c", cohen_frame(), sigma=0.25, source="cohen"),
    ]
    overview, per_model = summary_tables(runs, [0.0, 0.2, 0.5])
    assert overview["format"].tolist() == ["hocert", "cohen"]
    assert overview.loc["c", "clean accuracy %"] == pytest.approx(200 / 3)
    l2 = per_model["l2"]
    assert list(l2.index) == [
        ("first-order", "a"),
        ("Cohen", "a"),
        ("Cohen", "c"),
        ("Cohen", "envelope"),
    ]  # one first-order curve: no first-order envelope
    assert l2.loc[("Cohen", "c")].tolist() == pytest.approx([200 / 3, 100 / 3, 0.0])
    linf = per_model["linf"]
    assert linf.attrs["radii"] == "r / sqrt(d)"  # the one known d
    assert ("Cohen", "c") not in linf.index  # no d for the Cohen file: no l_inf baseline
    assert l2.attrs["title"] == "$\\ell_2$"


@pytest.mark.parametrize("ext", ["pdf", "png", "svg"])
def test_plot_mixed_files_in_every_format(tmp_path, ext):
    out = tmp_path / f"f.{ext}"
    runs = [Run("a", frame(), d=64), Run("cohen file", cohen_frame(), source="cohen")]
    notes = plot_certified_accuracy(runs, out, points=50)
    assert notes == [
        "cohen file: input dimension d unknown (no sidecar records it), so its l_inf Cohen curve "
        "is omitted"
    ]
    data = out.read_bytes()
    assert data.startswith({"pdf": b"%PDF", "png": b"\x89PNG", "svg": b"<?xml"}[ext])
    if ext == "svg":
        assert b"Cohen, cohen file" in data
    only_cohen = tmp_path / f"g.{ext}"
    assert plot_certified_accuracy([runs[1]], only_cohen, points=20) == []
