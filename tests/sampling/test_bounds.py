"""Tests of hocert_sampling.bounds: confidence bounds of paper Section 4 (Theorems 4-5, Table 1).

Coverage is checked by simulation on models where beta is known in closed form
(:mod:`tests.sampling.simulators`) and on a radial classifier ``f(x) = 1{||x|| <= r}`` (beta = 0),
sampled directly. The subspace bounds are tested in test_subspace.py, the alpha split in
test_alpha_budget.py, the "mgf" estimators in test_mgf.py.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from hocert_sampling import bounds
from hocert_sampling.bounds import (
    ESTIMATORS,
    SUBGAUSSIAN_K,
    HalfMeans,
    clopper_pearson_lower,
    l1_norm_upper,
    l2_norm_bounds,
    l2_norm_lower,
    l2_norm_upper,
    linf_norm_upper,
    pooled_mean,
)

from .simulators import K, ProjectionModel, gaussian_halves, halfspace, mc_slack


def l2_failures(x, y, n1, n2, alpha, beta_norm, *, dim=None, k=K, estimator=None):
    """Failure indicators (two-sided pair, one-sided upper, one-sided lower) per trial."""
    kw = {"dim": dim, "k": k, "estimator": estimator}
    both = np.empty(len(x), dtype=bool)
    up = np.empty(len(x), dtype=bool)
    lo = np.empty(len(x), dtype=bool)
    for i in range(len(x)):
        lower, upper = l2_norm_bounds(x[i], y[i], n1, n2, alpha, **kw)
        both[i] = not lower <= beta_norm <= upper
        up[i] = l2_norm_upper(x[i], y[i], n1, n2, alpha, **kw) < beta_norm
        lo[i] = l2_norm_lower(x[i], y[i], n1, n2, alpha, **kw) > beta_norm
    return both, up, lo


# --------------------------------------------------------------------------------------------
# Theorem 4: the variance proxy
# --------------------------------------------------------------------------------------------


def test_subgaussian_constant():
    assert math.isclose(SUBGAUSSIAN_K, 0.25 + 3 / math.sqrt(8 * math.pi * math.e), rel_tol=1e-15)
    assert math.isclose(SUBGAUSSIAN_K, 0.612956, abs_tol=1e-6)


def test_variance_proxy_dominates_worst_case_mgf():
    """Sanity check of Theorem 4 at sigma = 1.

    For ``lam = s u`` (unit u), ``<lam, z> = s G h`` with ``G = <u, eps>`` and ``h = +-1/2``. For
    fixed s the log-MGF of ``<lam, z - beta>`` is concave in ``a(g) = P(h = 1/2 | G = g)`` and its
    maximiser is ``a = 1{g > b or -b < g < 0}`` for some b >= 0. Over that family and a grid of s
    the log-MGF stays below ``k s^2 / 2`` (the worst ratio is about 0.402 < k), and above
    ``s^2 / 8``: 1/4 alone would not be a valid proxy.
    """
    s = np.concatenate([np.linspace(0.05, 10, 200), np.linspace(10, 60, 51)])[:, None]
    b = np.concatenate([np.linspace(0, 6, 301), [40.0]])[None, :]
    cdf, pdf = stats.norm.cdf, stats.norm.pdf

    def part(lo, hi, sign):  # E[exp(sign s G / 2) 1{lo < G < hi}]
        m = sign * s / 2
        return np.exp(s * s / 8) * (cdf(hi - m) - cdf(lo - m))

    plus, minus = [(b, np.inf), (-b, 0.0)], [(-np.inf, -b), (0.0, b)]
    mgf = sum(part(lo, hi, 1) for lo, hi in plus) + sum(part(lo, hi, -1) for lo, hi in minus)
    e_gh = 0.5 * sum(pdf(lo) - pdf(hi) for lo, hi in plus)
    e_gh = e_gh - 0.5 * sum(pdf(lo) - pdf(hi) for lo, hi in minus)
    ratio = 2 * (np.log(mgf) - s * e_gh) / s**2
    assert ratio.max() < SUBGAUSSIAN_K
    assert 0.40 < ratio.max() < 0.41
    assert ratio.max() > 0.25


# --------------------------------------------------------------------------------------------
# Clopper-Pearson
# --------------------------------------------------------------------------------------------


def test_clopper_pearson_hand_values():
    assert clopper_pearson_lower(0, 10, 0.05) == 0.0
    # k = n: P(all successes) = p^n = alpha  =>  lower = alpha^(1/n)
    assert math.isclose(clopper_pearson_lower(10, 10, 0.05), 0.05**0.1, rel_tol=1e-12)
    # k = 1, n = 1: Beta(1, 1) quantile
    assert math.isclose(clopper_pearson_lower(1, 1, 0.3), 0.3, rel_tol=1e-12)
    assert isinstance(clopper_pearson_lower(5, 10, 0.05), float)


@pytest.mark.parametrize("alpha", [0.001, 0.01, 0.05, 0.25])
def test_clopper_pearson_matches_statsmodels(alpha):
    n = np.array([1, 7, 50, 1000, 100_000])
    for nn in n:
        ks = np.unique(np.linspace(0, nn, 23).astype(int))
        ours = clopper_pearson_lower(ks, nn, alpha)
        ref = proportion_confint(ks, nn, alpha=2 * alpha, method="beta")[0]
        ref = np.where(ks == 0, 0.0, ref)
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-14)


def test_clopper_pearson_vectorised_broadcast():
    out = clopper_pearson_lower(np.array([[0], [3], [9]]), np.array([9, 20]), 0.1)
    assert out.shape == (3, 2)
    assert out[1, 0] == clopper_pearson_lower(3, 9, 0.1)
    assert out[2, 1] == clopper_pearson_lower(9, 20, 0.1)


@pytest.mark.parametrize("n", [10, 57, 400])
def test_clopper_pearson_exact_coverage(n):
    """Exact failure probability P_p(lower(K) > p) = sum of binomial masses <= alpha."""
    alpha = 0.05
    lower = clopper_pearson_lower(np.arange(n + 1), n, alpha)
    worst = 0.0
    for p in np.linspace(0.001, 0.999, 999):
        fail = lower > p
        worst = max(worst, float(stats.binom.pmf(np.arange(n + 1)[fail], n, p).sum()))
    assert worst <= alpha + 1e-12
    assert worst > 0.5 * alpha  # not vacuous: close to alpha at some p


def test_clopper_pearson_simulated_coverage():
    rng = np.random.default_rng(1)
    alpha, trials, n = 0.05, 20_000, 200
    for p in (0.5, 0.9, 0.99):
        k = rng.binomial(n, p, size=trials)
        rate = np.mean(clopper_pearson_lower(k, n, alpha) > p)
        assert rate <= alpha + mc_slack(alpha, trials)


@pytest.mark.parametrize(
    ("k", "n", "alpha"),
    [(-1, 10, 0.1), (11, 10, 0.1), (3, 0, 0.1), (3, -5, 0.1), (1.5, 10, 0.1), (3, 10, 0.0),
     (3, 10, 1.0), (3, 10, float("nan")), (float("nan"), 10, 0.1), (3, np.inf, 0.1)],
)  # fmt: skip
def test_clopper_pearson_validation(k, n, alpha):
    with pytest.raises(ValueError):
        clopper_pearson_lower(k, n, alpha)


# --------------------------------------------------------------------------------------------
# Formulas on hand-computed cases
# --------------------------------------------------------------------------------------------


def table1_l2(xy, n1, n2, d, ell, k):
    """Table 1 in the paper's epsilon form, with our t (extra kappa * ell term)."""
    kk = k * (n1 + n2) / (n1 * n2)
    t = k * math.sqrt(2 * d * ell / (n1 * n2)) + k / math.sqrt(n1 * n2) * ell
    eps_u = math.sqrt(kk * ell / (2 * (xy + t)))
    upper = math.sqrt(xy + t) / (math.sqrt(1 + eps_u**2) - eps_u)
    if xy - t <= 0:
        return 0.0, upper
    eps_l = math.sqrt(kk * ell / (2 * (xy - t)))
    return math.sqrt(xy - t) / (math.sqrt(1 + eps_l**2) + eps_l), upper


def test_l2_hand_computed():
    x = y = np.array([0.3, 0.4])  # X.Y = 0.25
    n1 = n2 = 100
    k, alpha = 0.5, 0.1
    # one-sided: ell = log(2/alpha) = log 20 = 2.995732, c = sqrt(2 (k/n1 + k/n2) ell) = 0.244775,
    # t = kappa (sqrt(2 d ell) + ell) = 0.005 (3.461636 + 2.995732) = 0.032287
    ell = math.log(20)
    c = math.sqrt(2 * 0.01 * ell)
    t = 0.005 * (math.sqrt(4 * ell) + ell)
    up = (c + math.sqrt(c * c + 4 * (0.25 + t))) / 2
    lo = (-c + math.sqrt(c * c + 4 * (0.25 - t))) / 2
    assert math.isclose(
        l2_norm_upper(x, y, n1, n2, alpha, k=k, estimator="paper"), up, rel_tol=1e-12
    )
    assert math.isclose(
        l2_norm_lower(x, y, n1, n2, alpha, k=k, estimator="paper"), lo, rel_tol=1e-12
    )
    assert math.isclose(up, 0.667608, rel_tol=1e-6)  # (0.244775 + sqrt(1.189062)) / 2
    assert math.isclose(lo, 0.359994, rel_tol=1e-6)  # (-0.244775 + sqrt(0.930767)) / 2
    # the same in the Table 1 epsilon form
    assert np.allclose(table1_l2(0.25, n1, n2, 2, ell, k), (lo, up), rtol=1e-12)
    # two-sided: ell = log(4/alpha)
    pair = l2_norm_bounds(x, y, n1, n2, alpha, k=k, estimator="paper")
    assert np.allclose(pair, table1_l2(0.25, n1, n2, 2, math.log(40), k), rtol=1e-12)


def test_l2_table1_form_random_cases():
    rng = np.random.default_rng(7)
    for _ in range(50):
        d = int(rng.integers(1, 500))
        n1, n2 = (int(v) for v in rng.integers(10, 10**6, size=2))
        x = rng.standard_normal(d) * rng.uniform(0.001, 0.1)
        y = x + rng.standard_normal(d) * 0.01
        alpha = float(rng.uniform(1e-6, 0.5))
        xy = float(x @ y)
        ref = table1_l2(xy, n1, n2, d, math.log(4 / alpha), K)
        assert np.allclose(
            l2_norm_bounds(x, y, n1, n2, alpha, estimator="paper"), ref, rtol=1e-10, atol=1e-15
        )


def test_l2_lower_is_zero_when_xy_below_t():
    x = np.array([0.01, 0.0, 0.0])
    y = np.array([-0.01, 0.0, 0.0])  # X.Y < 0
    lower, upper = l2_norm_bounds(x, y, 1000, 1000, 0.01)
    assert lower == 0.0
    assert upper > 0.0
    assert l2_norm_lower(x, y, 1000, 1000, 0.01) == 0.0


def test_l2_t_versus_paper():
    """Our t = paper t * (1 + sqrt(ell / (2 d))): never smaller, a few percent larger."""
    n1 = n2 = 100_000
    d, alpha = 3072, 1e-3
    ell = math.log(2 / alpha)
    paper_t = K * math.sqrt(2 * d * ell / (n1 * n2))
    ours_t = paper_t + K / math.sqrt(n1 * n2) * ell
    assert 1.0 < ours_t / paper_t < 1.04
    x = np.full(d, 0.3 / math.sqrt(d))
    # the implementation's upper bound is at least the one from the paper's t
    kk = K * (n1 + n2) / (n1 * n2)
    c = math.sqrt(2 * kk * ell)
    paper_up = (c + math.sqrt(c * c + 4 * (x @ x + paper_t))) / 2
    assert l2_norm_upper(x, x, n1, n2, alpha, estimator="paper") >= paper_up


def test_linf_l1_hand_computed():
    m = np.array([0.1, -0.3, 0.2, 0.0])
    n, alpha, k = 400, 0.05, 0.5
    linf = 0.3 + math.sqrt(2 * k * math.log(2 * 4 / alpha) / n)
    l1 = 0.6 + math.sqrt(2 * k * 4 * (4 * math.log(2) + math.log(1 / alpha)) / n)
    assert math.isclose(linf_norm_upper(m, n, alpha, k=k, estimator="paper"), linf, rel_tol=1e-14)
    assert math.isclose(l1_norm_upper(m, n, alpha, k=k, estimator="paper"), l1, rel_tol=1e-14)
    assert math.isclose(linf, 0.3 + 0.112641, rel_tol=1e-6)  # sqrt(log(160) / 400)


# Values of the "paper" estimators before the estimators were factored into one skeleton with
# per-estimator widths (issue 14); the refactor reproduced them bit for bit on 400 random inputs.
# Dyadic half means make X.Y and the pooled means exact; the tolerance allows one libm ulp.
_PAPER_GOLDEN = [
    # (n1, n2, alpha), (pair), upper, lower at dim = 20, linf, l1
    (
        (1000, 999, 1e-3),
        (0.5604919453397186, 0.7220784052329923),
        0.7181476915169112,
        0.5606589465377708,
        0.5145805620260876,
        1.8097372770755893,
    ),
    (
        (10**6, 10**6, 1e-7),
        (0.6340938124033625, 0.6406778991612623),
        0.640611562621102,
        0.6341548993930173,
        0.4409028164760926,
        1.5728067492851618,
    ),
    (
        (50, 70, 0.3),
        (0.29277127901374395, 0.7522615445408545),
        0.7108793898918835,
        0.2588394752987668,
        0.6020239104556978,
        1.1193047708813646,
    ),
]


@pytest.mark.parametrize("case", _PAPER_GOLDEN)
def test_paper_estimators_reproduce_earlier_values(case):
    (n1, n2, a), pair, upper, lower, linf, l1 = case
    x = np.array([0.25, -0.125, 0.5, 0.0625, 0.0, -0.375, 0.125, 0.25])
    y = np.array([0.125, -0.25, 0.375, 0.0, 0.0625, -0.25, 0.25, 0.125])
    if n1 == 50:
        x, y = x[:3], y[:3]
    got = [
        *l2_norm_bounds(x, y, n1, n2, a, estimator="paper"),
        l2_norm_upper(x, y, n1, n2, a, estimator="paper"),
        l2_norm_lower(x, y, n1, n2, a, estimator="paper", dim=20),
        linf_norm_upper(pooled_mean(x, y, n1, n2), n1 + n2, a, estimator="paper"),
        l1_norm_upper(pooled_mean(x, y, n1, n2), n1 + n2, a, estimator="paper"),
    ]
    want = [*pair, upper, lower, linf, l1]
    for g, w in zip(got, want):
        assert math.isclose(g, w, rel_tol=4e-16), (g, w)


def test_pooled_mean():
    x, y = np.array([1.0, 2.0]), np.array([4.0, 8.0])
    np.testing.assert_allclose(pooled_mean(x, y, 1, 3), [3.25, 6.5])


def test_zero_dimension():
    e = np.zeros(0)
    assert l2_norm_bounds(e, e, 10, 10, 0.1) == (0.0, 0.0)
    assert l2_norm_upper(e, e, 10, 10, 0.1) == 0.0
    assert linf_norm_upper(e, 10, 0.1) == 0.0


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    d=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(1e-6, 1.0),
    n1=st.integers(1, 10**7),
    n2=st.integers(1, 10**7),
    alpha=st.floats(1e-12, 0.99),
)
def test_l2_bound_properties(d, seed, scale, n1, n2, alpha):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(d) * scale, rng.standard_normal(d) * scale
    root_xy = math.sqrt(max(float(x @ y), 0.0))
    lo2, up2 = l2_norm_bounds(x, y, n1, n2, alpha)
    lo1, up1 = l2_norm_lower(x, y, n1, n2, alpha), l2_norm_upper(x, y, n1, n2, alpha)
    assert 0.0 <= lo2 <= lo1 <= root_xy * (1 + 1e-12) + 1e-300
    assert root_xy <= up1 * (1 + 1e-12) <= up2 * (1 + 1e-12)
    # smaller alpha: wider; more samples: tighter
    lo3, up3 = l2_norm_bounds(x, y, n1, n2, alpha / 10)
    assert lo3 <= lo2
    assert up3 >= up2
    lo4, up4 = l2_norm_bounds(x, y, 4 * n1, 4 * n2, alpha)
    assert lo4 >= lo2
    assert up4 <= up2


def test_bounds_tighten_with_n_for_fixed_means():
    x = np.full(100, 0.02)
    prev = (0.0, np.inf)
    for n in (10**3, 10**4, 10**5, 10**6):
        lo, up = l2_norm_bounds(x, x, n, n, 0.01)
        assert lo >= prev[0]
        assert up <= prev[1]
        prev = (lo, up)
    assert prev[1] - prev[0] < 0.01
    widths = [linf_norm_upper(x, n, 0.01, estimator="paper") - 0.02 for n in (10, 1000)]
    assert widths[1] == pytest.approx(widths[0] / 10)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------

GOOD = np.array([0.1, 0.2, 0.3])


@pytest.mark.parametrize(
    "call",
    [
        lambda: l2_norm_bounds(np.array([0.1, np.nan, 0.3]), GOOD, 10, 10, 0.1),
        lambda: l2_norm_bounds(GOOD, np.array([0.1, np.inf, 0.3]), 10, 10, 0.1),
        lambda: l2_norm_bounds(GOOD, GOOD[:2], 10, 10, 0.1),
        lambda: l2_norm_bounds(GOOD[None, :], GOOD[None, :], 10, 10, 0.1),
        lambda: l2_norm_bounds(GOOD, GOOD, 0, 10, 0.1),
        lambda: l2_norm_bounds(GOOD, GOOD, 10, -3, 0.1),
        lambda: l2_norm_bounds(GOOD, GOOD, 10.5, 10, 0.1),
        lambda: l2_norm_bounds(GOOD, GOOD, 10, 10, 0.0),
        lambda: l2_norm_bounds(GOOD, GOOD, 10, 10, 1.0),
        lambda: l2_norm_bounds(GOOD, GOOD, 10, 10, float("nan")),
        lambda: l2_norm_bounds(GOOD, GOOD, 10, 10, 0.1, k=0.0),
        lambda: l2_norm_bounds(GOOD, GOOD, 10, 10, 0.1, dim=-1),
        lambda: l2_norm_upper(GOOD, GOOD, 10, 10, 1.5),
        lambda: l2_norm_lower(GOOD, GOOD, float("inf"), 10, 0.1),
        lambda: linf_norm_upper(np.array([np.nan]), 10, 0.1),
        lambda: linf_norm_upper(GOOD, 0, 0.1),
        lambda: linf_norm_upper(GOOD, 10, -0.1),
        lambda: l1_norm_upper(GOOD, 10, 0.1, k=float("nan")),
        lambda: l1_norm_upper(np.ones((2, 2)), 10, 0.1),
        lambda: pooled_mean(GOOD, GOOD[:1], 1, 1),
    ],
)
def test_validation_errors(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: l2_norm_bounds(GOOD, GOOD, "10", 10, 0.1),
        lambda: l2_norm_bounds(GOOD, GOOD, 10, None, 0.1),
        lambda: l2_norm_bounds(GOOD, GOOD, 10, 10, "0.1"),
        lambda: l2_norm_bounds(GOOD, GOOD, 10, 10, 0.1, dim="x"),
        lambda: l2_norm_bounds(GOOD, GOOD, 10, 10, 0.1, dim=2.0),
        lambda: l2_norm_upper(np.array(["a", "b", "c"]), GOOD, 10, 10, 0.1),
        lambda: l2_norm_lower(GOOD, GOOD, True, 10, 0.1),
        lambda: linf_norm_upper(GOOD, 10, 0.1, k=None),
        lambda: l1_norm_upper(GOOD, 10, None),
        lambda: clopper_pearson_lower(3, 10, "0.1"),
        lambda: clopper_pearson_lower("3", 10, 0.1),
    ],
)
def test_wrong_types_raise_type_error(call):
    """A wrong type is a TypeError everywhere (a bad value of the right type: ValueError)."""
    with pytest.raises(TypeError):
        call()


# --------------------------------------------------------------------------------------------
# HalfMeans: the inputs of several bounds, checked once
# --------------------------------------------------------------------------------------------


def test_half_means_checked():
    m = HalfMeans.checked([0.3, 0.4], np.array([0.3, 0.4]), 100, 300)
    assert (m.n1, m.n2, m.dim, m.n) == (100.0, 300.0, 2, 400.0)
    assert m.xy == pytest.approx(0.25)
    np.testing.assert_array_equal(m.pooled, pooled_mean(m.x, m.y, 100, 300))
    assert HalfMeans.checked(GOOD, GOOD, 10, 10, dim=7).dim == 7
    with pytest.raises(ValueError, match="different shapes"):
        HalfMeans.checked(GOOD, GOOD[:2], 10, 10)
    with pytest.raises(ValueError, match="NaN"):
        HalfMeans.checked(GOOD, np.array([0.1, np.nan, 0.3]), 10, 10)


def test_half_means_compute_x_dot_y_once(monkeypatch):
    calls = []
    real = HalfMeans.__dict__["xy"].func

    def counted(self):
        calls.append(1)
        return real(self)

    prop = cached_property(counted)
    prop.__set_name__(HalfMeans, "xy")
    monkeypatch.setattr(HalfMeans, "xy", prop)
    m = HalfMeans.checked(GOOD, 2 * GOOD, 10, 20)
    a = 0.01
    pair = bounds._impl("paper", "l2_bounds")(m, a, K)
    upper = bounds._impl("paper", "l2_upper")(m, a, K)
    lower = bounds._impl("paper", "l2_lower")(m, a, K)
    assert len(calls) == 1
    assert pair == l2_norm_bounds(GOOD, 2 * GOOD, 10, 20, a, estimator="paper")
    assert lower == l2_norm_lower(GOOD, 2 * GOOD, 10, 20, a, estimator="paper")
    assert upper == l2_norm_upper(GOOD, 2 * GOOD, 10, 20, a, estimator="paper")


# --------------------------------------------------------------------------------------------
# Coverage by simulation
# --------------------------------------------------------------------------------------------


def test_projection_simulator_matches_direct_sampling():
    """The exact shortcut of ProjectionModel.sample has the law of the plain Monte-Carlo mean."""
    rng = np.random.default_rng(2)
    d, n, trials = 6, 40, 4000
    model = ProjectionModel(rng.standard_normal(d), [(-0.3, 1.2)])
    _, fast, _ = model.sample(rng, trials, n, 1)
    eps = rng.standard_normal((trials, n, d))
    g = eps @ model.w
    direct = np.mean(eps * model._h(g)[..., None], axis=1)
    se = 0.5 / math.sqrt(n * trials)
    np.testing.assert_allclose(fast.mean(axis=0), model.beta, atol=5 * se)
    np.testing.assert_allclose(direct.mean(axis=0), model.beta, atol=5 * se)
    np.testing.assert_allclose(np.cov(fast.T), np.cov(direct.T), atol=0.1 / n)


@pytest.mark.parametrize(
    ("intervals", "alpha"),
    [
        ([(-0.5, np.inf)], 0.1),  # half-space f = 1{<w, x> + 0.5 >= 0}: beta = phi(0.5) w
        ([(-1.5, 0.2)], 0.1),  # slab: beta = (phi(1.5) - phi(0.2)) w
        ([(-0.8, 0.8)], 0.1),  # symmetric slab: beta = 0
        ([(-3.0, np.inf)], 0.3),  # p_A ~ 0.999, small beta
    ],
)
def test_l2_coverage_projection_models(intervals, alpha):
    rng = np.random.default_rng(100)
    d, n1, n2, trials = 64, 1000, 1000, 1000
    model = ProjectionModel(rng.standard_normal(d), intervals)
    _, x, y = model.sample(rng, trials, n1, n2)
    norm = float(np.linalg.norm(model.beta))
    both, up, lo = l2_failures(x, y, n1, n2, alpha, norm)
    for fails in (both, up, lo):
        assert fails.mean() <= alpha + mc_slack(alpha, trials)


def test_l2_coverage_gaussian_proxy():
    rng = np.random.default_rng(101)
    alpha, trials = 0.2, 2000
    for d, n1, n2 in ((10, 50, 80), (500, 2000, 1000)):
        beta = rng.standard_normal(d)
        beta *= 0.2 / np.linalg.norm(beta)
        x, y = gaussian_halves(rng, beta, trials, n1, n2)
        both, up, lo = l2_failures(x, y, n1, n2, alpha, 0.2, estimator="paper")
        for fails in (both, up, lo):
            assert fails.mean() <= alpha + mc_slack(alpha, trials)


def test_l2_coverage_radial_classifier_direct_sampling():
    """f = 1{||x|| <= r}: beta = 0 by symmetry; the vote is correlated with ||eps||."""
    rng = np.random.default_rng(102)
    d, n1, n2, trials, alpha = 8, 150, 150, 1500, 0.2
    r = math.sqrt(stats.chi2.ppf(0.7, d))
    eps = rng.standard_normal((trials, n1 + n2, d))
    z = eps * (np.where(np.sum(eps**2, axis=2) <= r * r, 0.5, -0.5))[..., None]
    x, y = z[:, :n1].mean(axis=1), z[:, n1:].mean(axis=1)
    for estimator in ESTIMATORS:
        both, _, lo = l2_failures(x, y, n1, n2, alpha, 0.0, estimator=estimator)
        assert both.mean() <= alpha + mc_slack(alpha, trials)
        assert lo.mean() <= alpha + mc_slack(alpha, trials)
    _, _, lo = l2_failures(x, y, n1, n2, alpha, 0.0, estimator="paper")
    assert not lo.any()  # Table 1's lower bound is so wide that it is exactly 0 here


def test_linf_l1_coverage():
    rng = np.random.default_rng(103)
    alpha, trials = 0.2, 2000
    d, n1, n2 = 40, 1000, 1000
    # w = e_1 (||beta||_inf = ||beta||_2) and w spread out (||beta||_1 = sqrt(d) ||beta||_2)
    for w in (np.eye(d)[0], np.ones(d)):
        model = halfspace(d, 0.3, rng, w=w)
        _, x, y = model.sample(rng, trials, n1, n2)
        xbar = (n1 * x + n2 * y) / (n1 + n2)
        linf = np.array([linf_norm_upper(m, n1 + n2, alpha) for m in xbar])
        l1 = np.array([l1_norm_upper(m, n1 + n2, alpha) for m in xbar])
        assert np.mean(linf < np.max(np.abs(model.beta))) <= alpha + mc_slack(alpha, trials)
        assert np.mean(l1 < np.sum(np.abs(model.beta))) <= alpha + mc_slack(alpha, trials)
    beta = np.linspace(-0.05, 0.05, d)
    x, y = gaussian_halves(rng, beta, trials, n1, n2)
    xbar = (n1 * x + n2 * y) / (n1 + n2)
    linf = np.array([linf_norm_upper(m, n1 + n2, alpha) for m in xbar])
    assert np.mean(linf < 0.05) <= alpha + mc_slack(alpha, trials)


def test_coverage_test_has_power():
    """A bound made too narrow (k / 200) fails far more often than alpha: the checks can fail."""
    rng = np.random.default_rng(106)
    d, n1, n2, trials, alpha = 64, 1000, 1000, 500, 0.1
    model = halfspace(d, 0.5, rng)
    _, x, y = model.sample(rng, trials, n1, n2)
    both, _, _ = l2_failures(
        x, y, n1, n2, alpha, float(np.linalg.norm(model.beta)), k=K / 200, estimator="paper"
    )
    assert both.mean() > 2 * alpha


def test_widths_shrink_with_n_in_simulation():
    rng = np.random.default_rng(107)
    d, trials = 100, 200
    model = halfspace(d, 1.0, rng)
    widths = []
    for n in (500, 5000, 50_000):
        _, x, y = model.sample(rng, trials, n, n)
        pairs = [l2_norm_bounds(x[i], y[i], n, n, 0.01) for i in range(trials)]
        widths.append(np.median([up - lo for lo, up in pairs]))
    assert widths[0] > widths[1] > widths[2]


# --------------------------------------------------------------------------------------------
# Long simulations (--runslow): image-sized d and small alpha
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [0.01, 0.05])
def test_l2_coverage_cifar_sized(alpha):
    rng = np.random.default_rng(200)
    d, n1, n2, trials = 3072, 10_000, 10_000, 2000
    for intervals in ([(-0.5, np.inf)], [(-1.0, 0.5)]):
        model = ProjectionModel(rng.standard_normal(d), intervals)
        _, x, y = model.sample(rng, trials, n1, n2)
        both, up, lo = l2_failures(x, y, n1, n2, alpha, float(np.linalg.norm(model.beta)))
        for fails in (both, up, lo):
            assert fails.mean() <= alpha + mc_slack(alpha, trials)
    beta = np.full(d, 0.1 / math.sqrt(d))
    x, y = gaussian_halves(rng, beta, trials, n1, n2)
    both, up, lo = l2_failures(x, y, n1, n2, alpha, 0.1)
    for fails in (both, up, lo):
        assert fails.mean() <= alpha + mc_slack(alpha, trials)


@pytest.mark.slow
def test_clopper_pearson_simulated_coverage_many_p():
    rng = np.random.default_rng(201)
    alpha, trials = 0.01, 200_000
    for n in (100, 10_000):
        for p in (0.3, 0.5, 0.75, 0.95, 0.999):
            k = rng.binomial(n, p, size=trials)
            assert np.mean(clopper_pearson_lower(k, n, alpha) > p) <= alpha + mc_slack(
                alpha, trials
            )
