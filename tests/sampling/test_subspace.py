"""Tests of hocert_sampling.subspace: the three forms of a subspace, their checks (once per
certify), the projections and the complement's dimension (paper Corollary 3.4)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hocert_sampling.bounds import HalfMeans, l2_norm_lower, l2_norm_upper
from hocert_sampling.subspace import Subspace, project, resolve_subspaces

from .simulators import halfspace, mc_slack


def test_project_three_forms_agree():
    rng = np.random.default_rng(3)
    d = 12
    m = rng.standard_normal(d)
    idx = np.array([0, 3, 4, 9])
    mask = np.zeros(d, dtype=bool)
    mask[idx] = True
    basis = np.eye(d)[:, idx]
    proj = basis @ basis.T
    results = [project(m, s) for s in (idx, mask, basis, proj)]
    for inside, outside, d_s in results:
        assert d_s == 4
        assert math.isclose(np.linalg.norm(inside), np.linalg.norm(m[idx]), rel_tol=1e-12)
        assert math.isclose(np.linalg.norm(outside), np.linalg.norm(m[~mask]), rel_tol=1e-12)
    # a rotated (non-coordinate) basis: Pythagoras and d_S
    q, _ = np.linalg.qr(rng.standard_normal((d, 5)))
    inside, outside, d_s = project(m, q)
    assert d_s == 5
    assert inside.shape == (5,)
    assert math.isclose(inside @ inside + outside @ outside, m @ m, rel_tol=1e-12)
    assert abs(float(outside @ q @ inside)) < 1e-12


@pytest.mark.parametrize(
    "subspace",
    [
        np.array([0, 0, 1]),  # repeated index
        np.array([0, 12]),  # out of range
        np.array([-1]),
        np.ones(5, dtype=bool),  # mask of wrong length
        np.ones((12, 2)),  # columns not orthonormal
        np.ones((5, 2)),  # wrong number of rows
        np.full((12, 1), np.nan),
    ],
)
def test_project_validation(subspace):
    with pytest.raises(ValueError):
        project(np.ones(12), subspace)


@pytest.mark.parametrize(
    "subspace",
    [
        np.array([0.5, 1.0]),  # float indices
        np.array([[1, 0], [0, 1]], dtype=object).astype(str),  # a matrix of strings
    ],
)
def test_project_wrong_types(subspace):
    with pytest.raises(TypeError):
        project(np.ones(2), subspace)


def test_subspace_l2_uses_complement_dimension():
    """dim = d - d_S for the complement: wider than the unsound dim = d_S when d_S < d / 2."""
    rng = np.random.default_rng(5)
    d = 300
    x = rng.standard_normal(d) * 0.05
    _, outside, d_s = project(x, np.arange(100))
    # (the paper's estimator: the mgf one does not use the dimension, docs/math.md 7)
    lo_right = l2_norm_lower(outside, outside, 1000, 1000, 0.01, dim=d - d_s, estimator="paper")
    lo_wrong = l2_norm_lower(outside, outside, 1000, 1000, 0.01, dim=d_s, estimator="paper")
    assert lo_right < lo_wrong
    # compact coordinates (dim defaults to the length) = ambient coordinates with explicit dim
    basis = np.eye(d)[:, :100]
    _, outside_amb, _ = project(x, basis)
    lo_amb = l2_norm_lower(
        outside_amb, outside_amb, 1000, 1000, 0.01, dim=d - 100, estimator="paper"
    )
    assert lo_amb == pytest.approx(lo_right, rel=1e-12)


def test_subspace_coverage():
    rng = np.random.default_rng(104)
    d, d_s, n1, n2, trials, alpha = 60, 20, 2000, 2000, 1000, 0.2
    w = rng.standard_normal(d)
    model = halfspace(d, 0.0, rng, w=w)
    _, x, y = model.sample(rng, trials, n1, n2)
    sub = rng.permutation(d)[:d_s]
    in_norm = float(np.linalg.norm(model.beta[sub]))
    mask = np.zeros(d, dtype=bool)
    mask[sub] = True
    out_norm = float(np.linalg.norm(model.beta[~mask]))
    up_fail = lo_fail = 0
    for i in range(trials):
        xi, xo, ds = project(x[i], sub)
        yi, yo, _ = project(y[i], sub)
        up_fail += l2_norm_upper(xi, yi, n1, n2, alpha, dim=ds) < in_norm
        lo_fail += l2_norm_lower(xo, yo, n1, n2, alpha, dim=d - ds) > out_norm
    assert up_fail / trials <= alpha + mc_slack(alpha, trials)
    assert lo_fail / trials <= alpha + mc_slack(alpha, trials)


# --------------------------------------------------------------------------------------------
# Subspace: checked once, then splits without checks
# --------------------------------------------------------------------------------------------


def test_checked_kinds_and_dimensions():
    d = 6
    idx = np.array([4, 1])
    basis = np.eye(d)[:, [1, 4]]
    cases = {
        "coordinates": [idx, np.isin(np.arange(d), idx)],
        "basis": [basis],
        "projector": [basis @ basis.T],
    }
    for kind, specs in cases.items():
        for spec in specs:
            space = Subspace.checked(spec, d)
            assert (space.kind, space.d, space.dim) == (kind, d, 2)
    np.testing.assert_array_equal(Subspace.checked(idx, d).indices, [1, 4])
    with pytest.raises(ValueError, match="no coordinate indices"):
        _ = Subspace.checked(basis, d).indices
    space = Subspace.checked(idx, d)
    assert Subspace.checked(space, d) is space  # a checked subspace is not checked again
    with pytest.raises(ValueError, match="dimension"):
        Subspace.checked(space, d + 1)


def test_split_means_uses_the_dimensions_of_s_and_its_complement():
    rng = np.random.default_rng(8)
    d = 10
    x, y = rng.standard_normal(d), rng.standard_normal(d)
    means = HalfMeans.checked(x, y, 50, 40)
    q, _ = np.linalg.qr(rng.standard_normal((d, 3)))
    for spec in (np.arange(3), q, q @ q.T):
        inside, outside = Subspace.checked(spec, d).split_means(means)
        assert (inside.dim, outside.dim) == (3, 7)
        assert (inside.n1, inside.n2, outside.n1, outside.n2) == (50, 40, 50, 40)
        x_in, x_out, _ = project(x, spec)
        np.testing.assert_array_equal(inside.x, x_in)
        np.testing.assert_array_equal(outside.x, x_out)


def test_a_projector_is_checked_once_per_certify(monkeypatch):
    """The O(d^3) projector check runs once per subspace and call, not once per half mean."""
    from hocert_sampling import SmoothedClassifier

    calls = []
    real = Subspace.checked.__func__

    def counted(cls, spec, d, **kwargs):
        calls.append(type(spec).__name__)
        return real(cls, spec, d, **kwargs)

    monkeypatch.setattr(Subspace, "checked", classmethod(counted))
    d = 8
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((d, 2)))
    smoothed = SmoothedClassifier(
        lambda b: (b.reshape(len(b), -1).sum(axis=1) > -1).astype(int), 2, 0.5, backend="numpy"
    )
    cert = smoothed.certify(np.zeros(d, np.float32), 10, 200, 0.01, 100, subspaces={"p": q @ q.T})
    assert not cert.abstained
    assert calls == ["ndarray"]


# --------------------------------------------------------------------------------------------
# resolve_subspaces
# --------------------------------------------------------------------------------------------


def test_resolve_channels() -> None:
    spaces = resolve_subspaces("channels", (3, 2, 2))
    assert list(spaces) == ["channel0", "channel1", "channel2"]
    np.testing.assert_array_equal(spaces["channel1"].indices, [4, 5, 6, 7])
    assert all(s.kind == "coordinates" and s.dim == 4 for s in spaces.values())
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        resolve_subspaces("channels", (12,))


def test_resolve_lists_dicts_and_errors() -> None:
    assert resolve_subspaces(None, (4,)) == {}
    assert list(resolve_subspaces([np.array([0]), np.eye(4)], (4,))) == ["subspace0", "subspace1"]
    assert list(resolve_subspaces(np.array([1, 2]), (4,))) == ["subspace0"]
    assert list(resolve_subspaces({"a": np.array([True, False, True, False])}, (4,))) == ["a"]
    with pytest.raises(ValueError, match="subspace 'bad'"):
        resolve_subspaces({"bad": np.array([0, 9])}, (4,))
    with pytest.raises(ValueError, match="subspace 'skew'"):
        resolve_subspaces({"skew": np.ones((4, 2))}, (4,))
    with pytest.raises(TypeError, match="subspace 'floats'"):
        resolve_subspaces({"floats": np.array([0.0, 1.0])}, (4,))
    with pytest.raises(ValueError, match="unknown subspaces"):
        resolve_subspaces("rows", (4,))
    with pytest.raises(TypeError):
        resolve_subspaces(3, (4,))
