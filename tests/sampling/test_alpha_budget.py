"""Tests of hocert_sampling.alpha_budget: the split of alpha over the events of each radius
(union bound), the bounds bought with it, and their joint coverage."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest

from hocert_sampling.alpha_budget import (
    EVENT_BOUNDS,
    EVENTS,
    RADIUS_EVENTS,
    AlphaSplit,
    Evidence,
    GradientBounds,
    alpha_split,
    radius_bounds,
    spend,
)
from hocert_sampling.bounds import (
    HalfMeans,
    clopper_pearson_lower,
    l2_norm_bounds,
    l2_norm_lower,
    l2_norm_upper,
    linf_norm_upper,
    pooled_mean,
)
from hocert_sampling.subspace import Subspace

from .simulators import halfspace, mc_slack


@pytest.mark.parametrize("alpha", [1e-3, 0.01, 0.1, 1 / 3, 0.999])
@pytest.mark.parametrize("radius", sorted(RADIUS_EVENTS))
def test_alpha_split_sums(radius, alpha):
    split = alpha_split(radius, alpha)
    assert isinstance(split, AlphaSplit)
    assert split.events == RADIUS_EVENTS[radius]
    assert sum(a for _, a in split.shares) <= alpha  # plain float sum, too
    assert split.spent <= alpha
    assert split.spent == pytest.approx(alpha, rel=1e-12)  # nothing wasted
    assert split.spent < 1.25 * alpha  # the paper authors' code: 1.25 alpha (l1, l_inf), 1.5 alpha
    assert all(a > 0 for _, a in split.shares)


def test_alpha_split_table():
    assert alpha_split("cohen", 0.001).alpha_of("p_A") == 0.001  # Cohen et al. baseline
    assert alpha_split("l2", 0.001).alpha_of("l2_upper") == pytest.approx(0.0005)
    l1 = alpha_split("l1", 0.003)
    assert set(l1.events) == {"p_A", "linf_upper", "l2_two_sided"}
    assert l1.alpha_of("l2_two_sided") == pytest.approx(0.001)
    assert set(alpha_split("linf", 0.1).events) == {"p_A", "l1_upper", "l2_two_sided"}
    sub = alpha_split("subspace_l2", 0.1)
    assert set(sub.events) == {"p_A", "proj_l2_upper", "complement_l2_lower"}
    with pytest.raises(KeyError):
        sub.alpha_of("l1_upper")


@pytest.mark.parametrize(
    ("radius", "alpha", "events"),
    [
        ("l3", 0.1, None),
        ("l2", 0.0, None),
        ("custom", 0.1, ["p_A", "p_A"]),
        ("custom", 0.1, ["p_A", "nope"]),
        ("custom", 0.1, []),
        ("custom", 0.1, ["l2_upper", "l2_two_sided"]),  # grad_l2_upper twice
    ],
)
def test_alpha_split_validation(radius, alpha, events):
    with pytest.raises(ValueError):
        alpha_split(radius, alpha, events)


def test_radius_bounds_values_and_alphas():
    rng = np.random.default_rng(11)
    d, n1, n2 = 48, 5000, 5000
    model = halfspace(d, 1.0, rng)
    counts, x, y = model.sample(rng, 1, n1, n2)
    x, y, s = x[0], y[0], int(counts[0])
    sub = np.arange(16)
    for radius in RADIUS_EVENTS:
        gb = radius_bounds(
            radius, 0.01, successes=s, trials=n1 + n2, mean_x=x, mean_y=y, n1=n1, n2=n2,
            subspace=sub,
        )  # fmt: skip
        assert isinstance(gb, GradientBounds)
        names = [b.name for ev in RADIUS_EVENTS[radius] for b in gb.bounds if b.event == ev]
        assert names == [nm for ev in RADIUS_EVENTS[radius] for nm in EVENT_BOUNDS[ev]]
        for b in gb.bounds:
            assert b.alpha == gb.split.alpha_of(b.event)
        a = gb.split.shares[0][1]
        assert gb["p_A_lower"] == clopper_pearson_lower(s, n1 + n2, a)
        assert "p_A_lower" not in gb.solver_kwargs()
    gb = radius_bounds("l1", 0.01, successes=s, trials=n1 + n2, mean_x=x, mean_y=y, n1=n1, n2=n2)
    a = gb.split.alpha_of("l2_two_sided")
    assert (gb["grad_l2_lower"], gb["grad_l2_upper"]) == l2_norm_bounds(x, y, n1, n2, a)
    assert gb["grad_linf_upper"] == linf_norm_upper(pooled_mean(x, y, n1, n2), n1 + n2, a)
    gb = radius_bounds(
        "subspace_l2", 0.01, successes=s, trials=n1 + n2, mean_x=x, mean_y=y, n1=n1, n2=n2,
        subspace=sub,
    )  # fmt: skip
    a = gb.split.alpha_of("complement_l2_lower")
    assert gb["complement_l2_lower"] == l2_norm_lower(x[16:], y[16:], n1, n2, a)
    assert gb["proj_l2_upper"] == l2_norm_upper(x[:16], y[:16], n1, n2, a)
    assert radius_bounds("cohen", 0.01, successes=s, trials=n1 + n2).as_dict() == {
        "p_A_lower": clopper_pearson_lower(s, n1 + n2, 0.01)
    }
    with pytest.raises(ValueError, match="needs mean_x"):
        radius_bounds("l2", 0.01, successes=s, trials=n1 + n2)
    with pytest.raises(ValueError, match="needs a subspace"):
        radius_bounds(
            "subspace_l2", 0.01, successes=s, trials=n1 + n2, mean_x=x, mean_y=y, n1=n1, n2=n2
        )


def test_radius_events_joint_coverage():
    """Each radius's bound set holds jointly with probability >= 1 - alpha."""
    rng = np.random.default_rng(105)
    d, n1, n2, trials, alpha = 30, 500, 500, 600, 0.3
    model = halfspace(d, 0.4, rng)
    counts, x, y = model.sample(rng, trials, n1, n2)
    sub = np.arange(10)
    truth = {
        "p_A_lower": (model.p_a, "lower"),
        "grad_l2_upper": (np.linalg.norm(model.beta), "upper"),
        "grad_l2_lower": (np.linalg.norm(model.beta), "lower"),
        "grad_linf_upper": (np.max(np.abs(model.beta)), "upper"),
        "grad_l1_upper": (np.sum(np.abs(model.beta)), "upper"),
        "proj_l2_upper": (np.linalg.norm(model.beta[:10]), "upper"),
        "complement_l2_lower": (np.linalg.norm(model.beta[10:]), "lower"),
    }
    for radius in RADIUS_EVENTS:
        fails = 0
        for i in range(trials):
            gb = radius_bounds(
                radius, alpha, successes=int(counts[i]), trials=n1 + n2, mean_x=x[i],
                mean_y=y[i], n1=n1, n2=n2, subspace=sub,
            )  # fmt: skip
            ok = all(
                (b.value <= truth[b.name][0]) == (truth[b.name][1] == "lower") for b in gb.bounds
            )
            fails += not ok
        assert fails / trials <= alpha + mc_slack(alpha, trials), radius


def test_event_table_is_consistent():
    assert set(EVENT_BOUNDS) == set(EVENTS)
    for events in RADIUS_EVENTS.values():
        assert alpha_split("custom", 0.1, events).events == events  # valid event sets
    assert {ev.needs for ev in EVENTS.values()} == {"counts", "means", "subspace"}


def test_spend_equals_radius_bounds_and_splits_the_subspace_once():
    rng = np.random.default_rng(12)
    d, n1, n2 = 20, 300, 200
    x, y = rng.standard_normal(d) * 0.1, rng.standard_normal(d) * 0.1
    space = Subspace.checked(np.arange(5), d)
    calls = []
    real = Subspace.split_means

    def counted(self, means):
        calls.append(1)
        return real(self, means)

    evidence = Evidence(400, 500, HalfMeans.checked(x, y, n1, n2), space)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Subspace, "split_means", counted)
        got = spend(alpha_split("subspace_l2_with_fallback", 0.01), evidence)
    assert len(calls) == 1
    want = radius_bounds(
        "subspace_l2_with_fallback", 0.01, successes=400, trials=500, mean_x=x, mean_y=y,
        n1=n1, n2=n2, subspace=np.arange(5),
    )  # fmt: skip
    assert got == want


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"successes": 501}, ValueError),
        ({"successes": -1}, ValueError),
        ({"successes": 2.5}, ValueError),
        ({"successes": "400"}, TypeError),
        ({"trials": 0}, ValueError),
        ({"trials": None}, TypeError),
        ({"n1": "300"}, TypeError),
        ({"mean_x": np.full(4, np.nan)}, ValueError),
        ({"k": 0.0}, ValueError),
        ({"alpha": "0.01"}, TypeError),
    ],
)
def test_radius_bounds_validation(kwargs, error):
    args = {
        "successes": 400, "trials": 500, "mean_x": np.full(4, 0.1), "mean_y": np.full(4, 0.1),
        "n1": 300, "n2": 200, "alpha": 0.01,
    } | kwargs  # fmt: skip
    alpha = args.pop("alpha")
    with pytest.raises(error):
        radius_bounds("l1", alpha, **args)


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("project", "subspace"),
        ("alpha_split", "alpha_budget"),
        ("AlphaSplit", "alpha_budget"),
        ("Bound", "alpha_budget"),
        ("GradientBounds", "alpha_budget"),
        ("EVENT_BOUNDS", "alpha_budget"),
        ("RADIUS_EVENTS", "alpha_budget"),
        ("radius_bounds", "alpha_budget"),
    ],
)
def test_old_import_paths_warn_and_work(name, module):
    bounds = importlib.import_module("hocert_sampling.bounds")
    with pytest.warns(DeprecationWarning, match=f"hocert_sampling.{module}.{name}"):
        old = getattr(bounds, name)
    assert old is getattr(importlib.import_module(f"hocert_sampling.{module}"), name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError):
            _ = bounds.no_such_name
