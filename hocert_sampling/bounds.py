"""High-confidence bounds on p_A and on norms of the gradient statistic (paper Section 4).

Everything is sigma-normalised: ``beta = sigma * grad g_A(x) = E[z]`` with
``z = eps * (1{f(x + sigma eps) = A} - 1/2)``, ``eps ~ N(0, I_d)``; beta and all norm bounds are
dimensionless. The functions take host NumPy arrays (half means, pooled means) and counts, and
return floats. ``alpha`` is always the failure probability of the statement a function makes.
Projections onto subspaces are in :mod:`hocert_sampling.subspace`, the split of alpha over the
bounds of a radius in :mod:`hocert_sampling.alpha_budget`.

Theorem 4 (variance proxy)
    ``z - beta`` is sub-Gaussian: ``E exp(<lam, z - beta>) <= exp(k ||lam||^2 / 2)`` for every
    ``lam`` in R^d, with ``k = 1/4 + 3/sqrt(8 pi e)`` (paper Theorem 4 at sigma = 1). A mean of
    ``n`` independent copies is sub-Gaussian with proxy ``k / n``.

Theorem 5 / Table 1 (l2 norm from two independent halves), as implemented here
    Let ``X, Y`` be the means of the two halves (``n1``, ``n2`` samples), ``U = X - beta``,
    ``V = Y - beta``, ``k1 = k/n1``, ``k2 = k/n2``. Then
    ``X.Y = ||beta||^2 + L + C`` with ``L = <beta, U + V>`` and ``C = <U, V>``.

    - ``L`` is sub-Gaussian with proxy ``(k1 + k2) ||beta||^2``, so each tail
      ``P(+-L >= c ||beta||) <= exp(-ell)`` for ``c = sqrt(2 (k1 + k2) ell)``.
    - ``C``: conditioning on ``V`` and averaging over an auxiliary ``g ~ N(0, I_d)``
      (``exp(mu ||V||^2) = E_g exp(sqrt(2 mu) <g, V>)``) gives
      ``E exp(s C) <= (1 - k1 k2 s^2)^(-d/2)``, the moment generating function of a product of
      two Gaussian vectors. Since ``-log(1 - x^2) <= x^2 / (1 - x)`` on ``[0, 1)``, ``C / kappa``
      (``kappa = sqrt(k1 k2)``) is sub-gamma with variance factor ``d`` and scale 1, hence each
      tail ``P(+-C >= t) <= exp(-ell)`` for ``t = kappa (sqrt(2 d ell) + ell)``.

    On the event ``|L| < c ||beta||`` and ``|C| < t`` the norm ``b = ||beta||_2`` satisfies
    ``b^2 - c b <= X.Y + t`` and ``b^2 + c b >= X.Y - t``, i.e.
    ``(-c + sqrt(c^2 + 4 (X.Y - t))) / 2 <= b <= (c + sqrt(c^2 + 4 (X.Y + t))) / 2``; with
    ``eps = c / (2 sqrt(X.Y +- t))`` these are the Table 1 forms
    ``sqrt(X.Y - t) / (sqrt(1 + eps_l^2) + eps_l)`` and
    ``sqrt(X.Y + t) / (sqrt(1 + eps_u^2) - eps_u)``.
    A one-sided bound at level ``a`` uses two tails (``ell = log(2/a)``, which is the paper's
    ``log(2/alpha)``); the two-sided event that gives both bounds uses four (``ell = log(4/a)``).

    Difference from the paper's Table 1: our ``t`` has the extra ``kappa * ell`` term of the
    sub-gamma tail. It makes the bound valid for every ``alpha`` (the paper's formula needs
    ``alpha >= 2 exp(-d/16)``, so no such check is made here) at a cost of a relative
    ``sqrt(ell / (2 d))`` in ``t`` (about 4% for d = 3072, alpha = 1e-3).

Other norms (Table 1), from the pooled mean ``Xbar`` of ``n = n1 + n2`` samples
    - ``||beta||_inf <= ||Xbar||_inf + sqrt(2 k log(2 d / a) / n)`` (union over 2d tails).
    - ``||beta||_1 <= ||Xbar||_1 + sqrt(2 k d (d log 2 + log(1/a)) / n)`` (union over the 2^d
      sign vectors s, each ``<s, Xbar - beta>`` sub-Gaussian with proxy ``k d / n``).

Checked once
    Each public function checks its arguments (:mod:`hocert_sampling._validation`: ``TypeError``
    for a wrong type, ``ValueError`` for a bad value). :class:`HalfMeans`
    (:mod:`hocert_sampling._half_means`) holds two half means checked once, with ``X.Y`` and the
    pooled mean computed once, for callers that need several bounds of one input
    (:meth:`hocert_sampling.SmoothedClassifier.certify`).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from . import _mgf, _paper
from ._half_means import FloatArray, HalfMeans, check_vector
from ._validation import check_positive, check_probability, check_sample_count

__all__ = [
    "DEFAULT_ESTIMATOR",
    "ESTIMATORS",
    "SUBGAUSSIAN_K",
    "HalfMeans",
    "clopper_pearson_lower",
    "l1_norm_upper",
    "l2_norm_bounds",
    "l2_norm_lower",
    "l2_norm_upper",
    "linf_norm_upper",
    "pooled_mean",
    "projection_width",
]

#: Variance proxy of ``z - beta`` (paper Theorem 4, sigma-normalised): ``1/4 + 3/sqrt(8 pi e)``.
#: The 1/4 is the proxy of the bounded factor ``1{.} - 1/2``; the second term bounds the coupling
#: between that factor and the Gaussian noise. Dimensionless, about 0.612956.
SUBGAUSSIAN_K: float = 0.25 + 3.0 / math.sqrt(8.0 * math.pi * math.e)

#: The estimators of the gradient norms: ``"mgf"`` (Cramer-Chernoff bounds with the exact
#: second moment 1/4 of every projection of ``z``, docs/math.md section 7) and ``"paper"``
#: (Table 1 of the paper, sub-Gaussian proxy ``k``; reproduces the earlier numbers exactly).
ESTIMATORS: tuple[str, ...] = ("mgf", "paper")

#: The estimator used unless another is asked for (never looser than ``"paper"``, measured in
#: docs/benchmarks.md).
DEFAULT_ESTIMATOR: str = "mgf"

# --------------------------------------------------------------------------------------------
# p_A
# --------------------------------------------------------------------------------------------


def clopper_pearson_lower(successes: Any, n: Any, alpha: float) -> float | FloatArray:
    """One-sided Clopper-Pearson lower confidence bound on a binomial proportion.

    ``P(p >= lower) >= 1 - alpha`` for every true ``p``: the ``alpha`` quantile of
    ``Beta(k, n - k + 1)``, and 0 when ``k = 0``. It equals the lower end of the two-sided
    interval ``proportion_confint(k, n, alpha=2 * alpha, method="beta")`` of statsmodels.

    Parameters
    ----------
    successes : int or array_like of int
        Number of samples with ``f(x + sigma eps) = A``, ``0 <= successes <= n``.
    n : int or array_like of int
        Number of samples (> 0); broadcast against ``successes``.
    alpha : float
        Failure probability, in (0, 1).

    Returns
    -------
    float or ndarray
        Lower bound on p_A in [0, 1) (a float when both inputs are scalars).
    """
    a = check_probability(alpha)
    k = np.asarray(successes)
    nn = np.asarray(n)
    if k.dtype.kind not in "biuf" or nn.dtype.kind not in "biuf":
        raise TypeError(f"successes and n must be numbers, got {k.dtype} and {nn.dtype}")
    k, nn = k.astype(np.float64, copy=False), nn.astype(np.float64, copy=False)
    if not (np.all(np.isfinite(k)) and np.all(np.isfinite(nn))):
        raise ValueError("successes and n must be finite")
    if np.any(k != np.floor(k)) or np.any(nn != np.floor(nn)):
        raise ValueError("successes and n must be integers")
    if np.any(nn <= 0):
        raise ValueError("n must be > 0")
    k, nn = np.broadcast_arrays(k, nn)
    if np.any(k < 0) or np.any(k > nn):
        raise ValueError("successes must satisfy 0 <= successes <= n")
    safe_k = np.where(k > 0, k, 1.0)
    lower = np.where(k > 0, stats.beta.ppf(a, safe_k, nn - k + 1.0), 0.0)
    return float(lower) if lower.ndim == 0 else lower


def _clopper_pearson(successes: int, n: int, a: float) -> float:
    """:func:`clopper_pearson_lower` of checked scalars (``0 <= successes <= n``, ``n > 0``)."""
    if successes <= 0:
        return 0.0
    k = float(successes)
    return float(stats.beta.ppf(a, k, float(n) - k + 1.0))


# --------------------------------------------------------------------------------------------
# The estimators: one skeleton, two inequalities
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Widths:
    """The inequality of one estimator: the widths its bounds add to (or take from) the
    estimates. Everything else about a bound is the skeleton below, shared by the estimators.

    Attributes
    ----------
    projection : callable
        ``projection(n, ell, k) -> t`` with ``P(<u, mean of n z - beta> >= t) <= exp(-ell)`` for a
        unit ``u`` fixed (or independent of the mean).
    l1 : callable
        ``l1(d, n, ell, k)``: ``sqrt(d) projection(n, ell, k)``, the width of the union over
        the ``2^d`` sign vectors (each estimator rounds it its own way).
    l2 : callable
        ``l2(means, ell, k) -> (c, t)``: each of ``+-<linear term> >= c ||beta||`` and
        ``+-<cross term> >= t`` has probability at most ``exp(-ell)``.
    """

    projection: Callable[[float, float, float], float]
    l1: Callable[[int, float, float, float], float]
    l2: Callable[[HalfMeans, float, float], tuple[float, float]]


#: ``{estimator: its widths}``.
_WIDTHS: dict[str, _Widths] = {
    "paper": _Widths(_paper.projection_width, _paper.l1_width, _paper.l2_widths),
    "mgf": _Widths(_mgf.projection_width, _mgf.l1_width, _mgf.l2_widths),
}


def _upper_root(s: float, c: float) -> float:
    """Largest b >= 0 with ``b^2 - c b <= s`` (``c / 2`` if the event cannot hold)."""
    return 0.5 * (c + math.sqrt(max(c * c + 4.0 * s, 0.0)))


def _lower_root(s: float, c: float) -> float:
    """Smallest b >= 0 with ``b^2 + c b >= s`` (stable form of ``(-c + sqrt(c^2 + 4s)) / 2``)."""
    if s <= 0.0:
        return 0.0
    return 2.0 * s / (c + math.sqrt(c * c + 4.0 * s))


def _l2_bounds(w: _Widths, m: HalfMeans, a: float, k: float) -> tuple[float, float]:
    """:func:`l2_norm_bounds` of checked inputs: four tails at ``a / 4``."""
    if m.dim == 0:
        return 0.0, 0.0
    c, t = w.l2(m, math.log(4.0 / a), k)
    return _lower_root(m.xy - t, c), _upper_root(m.xy + t, c)


def _l2_upper(w: _Widths, m: HalfMeans, a: float, k: float) -> float:
    """:func:`l2_norm_upper` of checked inputs: two tails at ``a / 2``."""
    if m.dim == 0:
        return 0.0
    c, t = w.l2(m, math.log(2.0 / a), k)
    return _upper_root(m.xy + t, c)


def _l2_lower(w: _Widths, m: HalfMeans, a: float, k: float) -> float:
    """:func:`l2_norm_lower` of checked inputs: two tails at ``a / 2``."""
    if m.dim == 0:
        return 0.0
    c, t = w.l2(m, math.log(2.0 / a), k)
    return _lower_root(m.xy - t, c)


def _linf_upper(w: _Widths, mean: FloatArray, n: float, a: float, k: float) -> float:
    """:func:`linf_norm_upper` of checked inputs: a union over ``2 d`` coordinate tails."""
    if mean.size == 0:
        return 0.0
    return float(np.max(np.abs(mean))) + w.projection(n, math.log(2.0 * mean.size / a), k)


def _l1_upper(w: _Widths, mean: FloatArray, n: float, a: float, k: float) -> float:
    """:func:`l1_norm_upper` of checked inputs: a union over the ``2^d`` sign vectors."""
    d = mean.size
    if d == 0:
        return 0.0
    ell = d * math.log(2.0) + math.log(1.0 / a)
    return float(np.sum(np.abs(mean))) + w.l1(d, n, ell, k)


_HalfFn = Any  # Callable[[HalfMeans, float, float], ...] or Callable[[FloatArray, float, ...]]

#: ``{estimator: {bound: function of checked inputs}}``: the skeleton with each estimator's
#: widths.
_IMPL: dict[str, dict[str, _HalfFn]] = {
    est: {
        "l2_bounds": functools.partial(_l2_bounds, w),
        "l2_upper": functools.partial(_l2_upper, w),
        "l2_lower": functools.partial(_l2_lower, w),
        "linf_upper": functools.partial(_linf_upper, w),
        "l1_upper": functools.partial(_l1_upper, w),
    }
    for est, w in _WIDTHS.items()
}


def check_estimator(estimator: Any) -> str:
    """``estimator`` if it is one of :data:`ESTIMATORS` (``None``: :data:`DEFAULT_ESTIMATOR`)."""
    if estimator is None:
        return DEFAULT_ESTIMATOR
    if not isinstance(estimator, str):
        raise TypeError(f"estimator must be a string, got {type(estimator).__name__}")
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; known: {list(ESTIMATORS)}")
    return estimator


def _impl(estimator: str, bound: str) -> _HalfFn:
    return _IMPL[estimator][bound]


def projection_width(
    n: Any, ell: float, *, k: float = SUBGAUSSIAN_K, estimator: str | None = None
) -> float:
    """Width ``t`` with ``P(<u, Xbar - beta> >= t) <= exp(-ell)`` for a fixed unit vector ``u``.

    ``Xbar`` is the mean of ``n`` samples of ``z``. ``"paper"``: ``sqrt(2 k ell / n)``;
    ``"mgf"``: the Chernoff width of :func:`hocert_sampling._mgf._log_mgf_bound` (never larger).

    Parameters
    ----------
    n : int
        Number of samples (> 0).
    ell : float
        ``log(1 / failure probability)`` of the one-sided statement (> 0).
    k : float
        Variance proxy of one ``z``.
    estimator : {"mgf", "paper"}, optional
        Default :data:`DEFAULT_ESTIMATOR`.

    Returns
    -------
    float
        The width (dimensionless).
    """
    nf = check_sample_count(n, "n")
    e = check_positive(ell, "ell")
    kk = check_positive(k, "variance proxy k")
    return _WIDTHS[check_estimator(estimator)].projection(nf, e, kk)


# --------------------------------------------------------------------------------------------
# Norms of beta: public functions
# --------------------------------------------------------------------------------------------


def pooled_mean(mean_x: Any, mean_y: Any, n1: Any, n2: Any) -> FloatArray:
    """Mean of all ``n1 + n2`` samples from the two half means."""
    return HalfMeans.checked(mean_x, mean_y, n1, n2).pooled


def l2_norm_bounds(
    mean_x: Any,
    mean_y: Any,
    n1: Any,
    n2: Any,
    alpha: float,
    *,
    dim: int | None = None,
    k: float = SUBGAUSSIAN_K,
    estimator: str | None = None,
) -> tuple[float, float]:
    """Lower and upper bounds on ``||beta||_2`` holding together (Theorem 5, Table 1).

    One event of probability ``>= 1 - alpha`` gives both bounds (four tails at ``alpha / 4``;
    see the module docstring for the derivation and the difference from the paper's ``t``).

    Parameters
    ----------
    mean_x, mean_y : array_like, shape (d,)
        Means of ``z`` over two independent halves of ``n1`` and ``n2`` samples (dimensionless).
    n1, n2 : int
        Sample counts of the halves (> 0).
    alpha : float
        Failure probability of the pair, in (0, 1).
    dim : int, optional
        Dimension of the subspace the vectors live in (default: their length). Pass ``d_S`` or
        ``d - d_S`` for projected means given in ambient coordinates (see
        :func:`hocert_sampling.subspace.project`).
    k : float
        Variance proxy of one ``z`` (default :data:`SUBGAUSSIAN_K`).
    estimator : {"mgf", "paper"}, optional
        ``"paper"``: Table 1 with proxy ``k`` (the module docstring); ``"mgf"``
        (default, :data:`DEFAULT_ESTIMATOR`): conditional Chernoff bounds with the exact second
        moment of ``z`` (docs/math.md, section 7; ``dim`` only matters when it is 0).

    Returns
    -------
    (lower, upper) : tuple of float
        ``0 <= lower <= ||beta||_2 <= upper``; ``lower = 0`` when ``X.Y - t <= 0``.
    """
    a = check_probability(alpha)
    m = HalfMeans.checked(mean_x, mean_y, n1, n2, dim)
    impl = _impl(check_estimator(estimator), "l2_bounds")
    return impl(m, a, check_positive(k, "variance proxy k"))


def l2_norm_upper(
    mean_x: Any,
    mean_y: Any,
    n1: Any,
    n2: Any,
    alpha: float,
    *,
    dim: int | None = None,
    k: float = SUBGAUSSIAN_K,
    estimator: str | None = None,
) -> float:
    """One-sided upper bound on ``||beta||_2`` (Theorem 5, Table 1, ``B2_hi``).

    ``P(||beta||_2 <= upper) >= 1 - alpha`` (two tails at ``alpha / 2``: the paper's
    ``log(2/alpha)``). Parameters as in :func:`l2_norm_bounds`.

    Returns
    -------
    float
        Upper bound on ``||beta||_2`` (dimensionless).
    """
    a = check_probability(alpha)
    m = HalfMeans.checked(mean_x, mean_y, n1, n2, dim)
    impl = _impl(check_estimator(estimator), "l2_upper")
    return impl(m, a, check_positive(k, "variance proxy k"))


def l2_norm_lower(
    mean_x: Any,
    mean_y: Any,
    n1: Any,
    n2: Any,
    alpha: float,
    *,
    dim: int | None = None,
    k: float = SUBGAUSSIAN_K,
    estimator: str | None = None,
) -> float:
    """One-sided lower bound on ``||beta||_2`` (Theorem 5, Table 1, ``B2_lo``).

    ``P(||beta||_2 >= lower) >= 1 - alpha``; 0 when ``X.Y - t <= 0``. Parameters as in
    :func:`l2_norm_bounds`.

    Returns
    -------
    float
        Lower bound on ``||beta||_2`` (dimensionless, >= 0).
    """
    a = check_probability(alpha)
    m = HalfMeans.checked(mean_x, mean_y, n1, n2, dim)
    impl = _impl(check_estimator(estimator), "l2_lower")
    return impl(m, a, check_positive(k, "variance proxy k"))


def linf_norm_upper(
    mean: Any,
    n: Any,
    alpha: float,
    *,
    k: float = SUBGAUSSIAN_K,
    estimator: str | None = None,
) -> float:
    """Upper bound on ``||beta||_inf`` (Table 1): ``||Xbar||_inf + sqrt(2 k log(2d/alpha) / n)``.

    Parameters
    ----------
    mean : array_like, shape (d,)
        Pooled mean ``Xbar`` of ``z`` over ``n`` samples (see :func:`pooled_mean`).
    n : int
        Number of samples (> 0).
    alpha : float
        Failure probability, in (0, 1).
    k : float
        Variance proxy of one ``z``.
    estimator : {"mgf", "paper"}, optional
        ``"paper"``: the formula above; ``"mgf"`` (default): the same union bound with
        the width of :func:`projection_width` at ``ell = log(2d/alpha)`` (never larger).

    Returns
    -------
    float
        ``P(||beta||_inf <= upper) >= 1 - alpha``.
    """
    a = check_probability(alpha)
    x = check_vector(mean, "mean")
    nf = check_sample_count(n, "n")
    impl = _impl(check_estimator(estimator), "linf_upper")
    return impl(x, nf, a, check_positive(k, "variance proxy k"))


def l1_norm_upper(
    mean: Any,
    n: Any,
    alpha: float,
    *,
    k: float = SUBGAUSSIAN_K,
    estimator: str | None = None,
) -> float:
    """Upper bound on ``||beta||_1`` (Table 1).

    ``||Xbar||_1 + sqrt(2 k d (d log 2 + log(1/alpha)) / n)``: the width grows linearly in d.

    Parameters
    ----------
    mean : array_like, shape (d,)
        Pooled mean ``Xbar`` of ``z`` over ``n`` samples.
    n : int
        Number of samples (> 0).
    alpha : float
        Failure probability, in (0, 1).
    k : float
        Variance proxy of one ``z``.
    estimator : {"mgf", "paper"}, optional
        ``"paper"``: the formula above; ``"mgf"`` (default): the same union bound with
        width ``sqrt(d)`` times :func:`projection_width` at ``ell = d log 2 + log(1/alpha)``
        (never larger).

    Returns
    -------
    float
        ``P(||beta||_1 <= upper) >= 1 - alpha``.
    """
    a = check_probability(alpha)
    x = check_vector(mean, "mean")
    nf = check_sample_count(n, "n")
    impl = _impl(check_estimator(estimator), "l1_upper")
    return impl(x, nf, a, check_positive(k, "variance proxy k"))


# --------------------------------------------------------------------------------------------
# Names that moved (old import paths, kept for one release)
# --------------------------------------------------------------------------------------------

_MOVED = {
    "project": "subspace",
    "EVENT_BOUNDS": "alpha_budget",
    "RADIUS_EVENTS": "alpha_budget",
    "AlphaSplit": "alpha_budget",
    "Bound": "alpha_budget",
    "GradientBounds": "alpha_budget",
    "alpha_split": "alpha_budget",
    "radius_bounds": "alpha_budget",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib

        module = f"hocert_sampling.{_MOVED[name]}"
        warnings.warn(
            f"hocert_sampling.bounds.{name} moved to {module}.{name}; the old path will be "
            "removed in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
