"""Tests of the estimator choice in SmoothedClassifier and of SmoothedClassifier.plan (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest

from hocert_sampling import SmoothedClassifier
from hocert_sampling.smoothing import Plan

from .helpers import LinearClassifier

D = 64


def _setup(seed=0, **kwargs):
    clf = LinearClassifier(np.ones(D), 0.0)
    x = np.full(D, 0.25 * 2.0 / np.sqrt(D), np.float32)  # p_A = Phi(2) ~ 0.977
    return SmoothedClassifier(clf, 2, 0.25, backend="numpy", seed=seed, **kwargs), x


def test_certify_estimators_share_p_a_and_mgf_is_tighter():
    certs = {}
    for est in ("paper", "mgf"):
        smoothed, x = _setup()
        certs[est] = smoothed.certify(x, 100, 20_000, 0.001, 5000, estimator=est)
    paper, ours = certs["paper"], certs["mgf"]
    assert paper.p_a_lower == ours.p_a_lower
    assert paper.radius_cohen == ours.radius_cohen
    assert ours.bounds["l1"]["grad_linf_upper"] < paper.bounds["l1"]["grad_linf_upper"]
    assert ours.bounds["l1"]["grad_l2_lower"] >= paper.bounds["l1"]["grad_l2_lower"]
    assert ours.bounds["linf"]["grad_l1_upper"] < paper.bounds["linf"]["grad_l1_upper"]
    assert ours.radius_l1 >= paper.radius_l1


def test_constructor_estimator_is_the_default_of_certify():
    a, x = _setup(estimator="paper")
    b, _ = _setup()
    assert a.estimator == "paper"
    assert b.estimator == "mgf"
    ca = a.certify(x, 100, 5000, 0.01, 5000)
    cb = b.certify(x, 100, 5000, 0.01, 5000, estimator="paper")
    assert ca.bounds["l1"].as_dict() == cb.bounds["l1"].as_dict()
    with pytest.raises(ValueError, match="unknown estimator"):
        _setup(estimator="tight")
    with pytest.raises(TypeError):
        b.certify(x, 100, 5000, 0.01, 5000, estimator=3)


def test_plan_predicts_radii_close_to_certify():
    smoothed, x = _setup(seed=1)
    plan = smoothed.plan(x, n0=20_000, n_candidates=(10_000, 100_000), alpha=0.001)
    assert isinstance(plan, Plan)
    assert [r.n for r in plan.rows] == [10_000, 100_000]
    assert plan.estimator == "mgf"
    assert plan.prediction == 1
    assert 0.95 < plan.p_a < 1.0
    small, large = plan.rows
    assert 0 < small.radius_cohen <= large.radius_cohen
    assert small.radius_l1 <= large.radius_l1
    cert = smoothed.certify(x, 100, 100_000, 0.001, 10_000)
    assert large.radius_cohen == pytest.approx(cert.radius_cohen, rel=0.05)
    assert large.radius_l1 == pytest.approx(cert.radius_l1, rel=0.15)
    assert "cohen" in plan.table()
    assert str(100_000) in plan.table()
    assert plan.smallest_n("radius_cohen", 0.0) == 10_000
    assert plan.smallest_n("radius_l1", 1e9) is None


def test_plan_checks_arguments():
    smoothed, x = _setup()
    with pytest.raises(ValueError):
        smoothed.plan(x, n0=1)
    with pytest.raises(ValueError):
        smoothed.plan(x, n0=100, n_candidates=(1,))
    with pytest.raises(ValueError):
        smoothed.plan(x, n0=100, estimator="fast")
