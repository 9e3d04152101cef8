"""The threat-model registry (hocert_sampling.threat_models) and what it drives in ``certify``.

The result columns and the figures built from the registry are tested in tests/app
(test_row.py, test_plotting.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from hocert_sampling import SmoothedClassifier
from hocert_sampling.alpha_budget import EVENTS, RADIUS_EVENTS, Evidence
from hocert_sampling.bounds import HalfMeans
from hocert_sampling.subspace import Subspace
from hocert_sampling.threat_models import (
    COHEN_COLUMN,
    L2,
    LINF,
    SUBSPACE,
    THREAT_MODELS,
    certificate_radii,
    radius_columns,
    threat_model,
)
from hocert_solver import STATUS_NAMES, l1_radius, l2_radius, linf_radius, subspace_radius

from .helpers import LinearClassifier


@pytest.fixture(scope="module")
def certificate():
    """A half-space in d = 8 at p_A = 0.9, with two subspaces."""
    d, sigma = 8, 0.5
    clf = LinearClassifier(np.ones(d), 0.0)
    x = np.full(d, sigma * math.sqrt(d) * norm.ppf(0.9) / d, dtype=np.float32)
    smoothed = SmoothedClassifier(clf, 2, sigma, backend="numpy", seed=4)
    spaces = {"head": np.arange(3), "basis": np.eye(d)[:, [5, 6]]}
    return smoothed.certify(x, 50, 4000, 0.01, 2000, subspaces=spaces)


def test_names_and_columns_are_unique():
    names = [m.name for m in THREAT_MODELS]
    assert len(set(names)) == len(names)
    assert [m.name for m in THREAT_MODELS] == ["l2", "l1", "linf", "subspace"]
    assert radius_columns() == ["radius_l2", "radius_l1", "radius_linf"]
    assert radius_columns(["a", "b"]) == [*radius_columns(), "radius_a", "radius_b"]
    assert sum(m.per_subspace for m in THREAT_MODELS) == 1
    assert threat_model("linf") is LINF
    with pytest.raises(KeyError, match="no threat model"):
        threat_model("l3")


@pytest.mark.parametrize("name", ["l2", "linf", "cohen"])
def test_a_subspace_cannot_take_a_column_of_another_radius(name):
    with pytest.raises(ValueError, match="share the result column"):
        radius_columns([name])


@pytest.mark.parametrize("model", THREAT_MODELS, ids=lambda m: m.name)
def test_solver_bounds_come_from_the_budget(model):
    """Every bound the solver is given is bought by an event of the model's alpha budget."""
    bought = {b for event in RADIUS_EVENTS[model.budget] for b in EVENTS[event].bounds}
    assert "p_A_lower" in bought
    assert set(model.solver_bounds) <= bought
    assert model.cohen_scale in ("l2", "linf")
    assert model.plot_title("S")
    assert model.quantity


def test_registry_entries_call_their_corollaries():
    assert [m.solver for m in THREAT_MODELS] == [l2_radius, l1_radius, linf_radius, subspace_radius]
    rng = np.random.default_rng(3)
    d = 12
    x = 0.05 + 0.01 * rng.standard_normal(d)
    evidence = Evidence(900, 1000, HalfMeans.checked(x, x, 500, 500))
    b = L2.bounds(0.01, evidence)
    assert L2.solve(b, d) == l2_radius(b["p_A_lower"], b["grad_l2_upper"])
    b = LINF.bounds(0.01, evidence)
    want = linf_radius(
        b["p_A_lower"], b["grad_l1_upper"], b["grad_l2_lower"], b["grad_l2_upper"], d
    )
    assert LINF.solve(b, d) == want
    b = SUBSPACE.bounds(0.01, evidence.with_subspace(Subspace.checked(np.arange(4), d)))
    assert b.split.events == RADIUS_EVENTS["subspace_l2"]
    want = subspace_radius(b["p_A_lower"], b["proj_l2_upper"], b["complement_l2_lower"])
    assert SUBSPACE.solve(b, d) == want


@pytest.mark.parametrize("model", THREAT_MODELS, ids=lambda m: m.name)
def test_every_threat_model_is_in_the_certificate(model, certificate):
    """certify computes each registered radius: its field, bounds, status and column."""
    cert = certificate
    assert not cert.abstained
    subspaces = list(cert.radius_subspace) if model.per_subspace else [None]
    assert subspaces == (["head", "basis"] if model.per_subspace else [None])
    value = getattr(cert, model.certificate_field)
    for sub in subspaces:
        radius = value[sub] if model.per_subspace else value
        assert 0 < radius < math.inf
        key = model.key(sub)
        assert cert.bounds[key].split.events == RADIUS_EVENTS[model.budget]
        assert cert.solver_status[key] in STATUS_NAMES.values()
        assert certificate_radii(cert)[model.column(sub)] == radius


def test_certificate_radii_follow_the_result_columns(certificate):
    radii = certificate_radii(certificate)
    assert list(radii) == radius_columns(list(certificate.radius_subspace))
    assert COHEN_COLUMN not in radii
    assert list(certificate.bounds) == ["cohen", *(k for k in certificate.solver_status)]
