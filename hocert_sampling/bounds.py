"""High-confidence bounds on p_A and on norms of the gradient statistic (paper Section 4).

Everything is sigma-normalised: ``beta = sigma * grad g_A(x) = E[z]`` with
``z = eps * (1{f(x + sigma eps) = A} - 1/2)``, ``eps ~ N(0, I_d)``; beta and all norm bounds are
dimensionless. The functions take host NumPy arrays (half means, pooled means) and counts, and
return floats. ``alpha`` is always the failure probability of the statement a function makes.

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

Subspaces (Corollary 3.4)
    For an orthogonal projector ``P_S`` of rank ``d_S``, ``P_S (X - beta)`` is sub-Gaussian with
    the same proxy and its cross term involves ``d_S`` dimensions: the l2 estimator applies with
    ``d = d_S`` to ``P_S X, P_S Y`` and with ``d = d - d_S`` to ``(I - P_S) X, (I - P_S) Y``
    (the complement has dimension ``d - d_S``; the paper authors' code used ``d_S`` there).

Alpha split (union bound, see :func:`alpha_split`)
    Each reported radius uses a fixed set of *events* (one per bound, one for the two-sided
    l2 pair) and spends ``alpha / m`` on each of its ``m`` events, so the radius holds with
    probability ``>= 1 - alpha`` on its own. The p_A bound of the Cohen radius gets all of alpha
    (the Cohen et al. baseline); other radii recompute p_A at their own share. The paper
    authors' code spent 1.25 alpha on the l1 and l_inf radii and 1.5 alpha on subspace radii.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "EVENT_BOUNDS",
    "RADIUS_EVENTS",
    "SUBGAUSSIAN_K",
    "AlphaSplit",
    "Bound",
    "GradientBounds",
    "alpha_split",
    "clopper_pearson_lower",
    "l1_norm_upper",
    "l2_norm_bounds",
    "l2_norm_lower",
    "l2_norm_upper",
    "linf_norm_upper",
    "pooled_mean",
    "project",
    "radius_bounds",
]

#: Variance proxy of ``z - beta`` (paper Theorem 4, sigma-normalised): ``1/4 + 3/sqrt(8 pi e)``.
#: The 1/4 is the proxy of the bounded factor ``1{.} - 1/2``; the second term bounds the coupling
#: between that factor and the Gaussian noise. Dimensionless, about 0.612956.
SUBGAUSSIAN_K: float = 0.25 + 3.0 / math.sqrt(8.0 * math.pi * math.e)

FloatArray = npt.NDArray[np.float64]

# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------


def _check_alpha(alpha: float, name: str = "alpha") -> float:
    a = float(alpha)
    if not 0.0 < a < 1.0:  # also rejects NaN
        raise ValueError(f"{name} must lie in (0, 1), got {alpha!r}")
    return a


def _check_count(n: Any, name: str) -> float:
    """A positive, finite sample count (integer-valued)."""
    try:
        v = float(n)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive integer, got {n!r}") from None
    if not (math.isfinite(v) and v > 0 and v == math.floor(v)):
        raise ValueError(f"{name} must be a positive integer, got {n!r}")
    return v


def _check_k(k: float) -> float:
    kf = float(k)
    if not (math.isfinite(kf) and kf > 0):
        raise ValueError(f"variance proxy k must be finite and > 0, got {k!r}")
    return kf


def _check_vector(v: Any, name: str) -> FloatArray:
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _check_pair(x: Any, y: Any) -> tuple[FloatArray, FloatArray]:
    xa = _check_vector(x, "mean_x")
    ya = _check_vector(y, "mean_y")
    if xa.shape != ya.shape:
        raise ValueError(f"mean_x and mean_y have different shapes: {xa.shape} vs {ya.shape}")
    return xa, ya


def _check_dim(dim: Any, length: int) -> int:
    if dim is None:
        return length
    try:
        d = operator.index(dim)
    except TypeError:
        raise ValueError(f"dim must be a non-negative integer, got {dim!r}") from None
    if d < 0:
        raise ValueError(f"dim must be a non-negative integer, got {dim!r}")
    return d


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
    a = _check_alpha(alpha)
    k = np.asarray(successes, dtype=np.float64)
    nn = np.asarray(n, dtype=np.float64)
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


# --------------------------------------------------------------------------------------------
# Norms of beta
# --------------------------------------------------------------------------------------------


def pooled_mean(mean_x: Any, mean_y: Any, n1: Any, n2: Any) -> FloatArray:
    """Mean of all ``n1 + n2`` samples from the two half means."""
    x, y = _check_pair(mean_x, mean_y)
    w1, w2 = _check_count(n1, "n1"), _check_count(n2, "n2")
    return (w1 * x + w2 * y) / (w1 + w2)


def _l2_terms(
    mean_x: Any, mean_y: Any, n1: Any, n2: Any, ell: float, dim: Any, k: float
) -> tuple[float, float, float, int]:
    """Return ``(X.Y, c, t, d)`` of the l2 estimator for a per-tail level ``exp(-ell)``."""
    x, y = _check_pair(mean_x, mean_y)
    w1, w2 = _check_count(n1, "n1"), _check_count(n2, "n2")
    kf = _check_k(k)
    d = _check_dim(dim, x.size)
    xy = float(np.dot(x, y))
    k1, k2 = kf / w1, kf / w2
    c = math.sqrt(2.0 * (k1 + k2) * ell)
    t = math.sqrt(k1 * k2) * (math.sqrt(2.0 * d * ell) + ell)
    return xy, c, t, d


def _upper_root(s: float, c: float) -> float:
    """Largest b >= 0 with ``b^2 - c b <= s`` (``c / 2`` if the event cannot hold)."""
    return 0.5 * (c + math.sqrt(max(c * c + 4.0 * s, 0.0)))


def _lower_root(s: float, c: float) -> float:
    """Smallest b >= 0 with ``b^2 + c b >= s`` (stable form of ``(-c + sqrt(c^2 + 4s)) / 2``)."""
    if s <= 0.0:
        return 0.0
    return 2.0 * s / (c + math.sqrt(c * c + 4.0 * s))


def l2_norm_bounds(
    mean_x: Any,
    mean_y: Any,
    n1: Any,
    n2: Any,
    alpha: float,
    *,
    dim: int | None = None,
    k: float = SUBGAUSSIAN_K,
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
        ``d - d_S`` for projected means given in ambient coordinates (see :func:`project`).
    k : float
        Variance proxy of one ``z`` (default :data:`SUBGAUSSIAN_K`).

    Returns
    -------
    (lower, upper) : tuple of float
        ``0 <= lower <= ||beta||_2 <= upper``; ``lower = 0`` when ``X.Y - t <= 0``.
    """
    a = _check_alpha(alpha)
    xy, c, t, d = _l2_terms(mean_x, mean_y, n1, n2, math.log(4.0 / a), dim, k)
    if d == 0:
        return 0.0, 0.0
    return _lower_root(xy - t, c), _upper_root(xy + t, c)


def l2_norm_upper(
    mean_x: Any,
    mean_y: Any,
    n1: Any,
    n2: Any,
    alpha: float,
    *,
    dim: int | None = None,
    k: float = SUBGAUSSIAN_K,
) -> float:
    """One-sided upper bound on ``||beta||_2`` (Theorem 5, Table 1, ``B2_hi``).

    ``P(||beta||_2 <= upper) >= 1 - alpha`` (two tails at ``alpha / 2``: the paper's
    ``log(2/alpha)``). Parameters as in :func:`l2_norm_bounds`.

    Returns
    -------
    float
        Upper bound on ``||beta||_2`` (dimensionless).
    """
    a = _check_alpha(alpha)
    xy, c, t, d = _l2_terms(mean_x, mean_y, n1, n2, math.log(2.0 / a), dim, k)
    return 0.0 if d == 0 else _upper_root(xy + t, c)


def l2_norm_lower(
    mean_x: Any,
    mean_y: Any,
    n1: Any,
    n2: Any,
    alpha: float,
    *,
    dim: int | None = None,
    k: float = SUBGAUSSIAN_K,
) -> float:
    """One-sided lower bound on ``||beta||_2`` (Theorem 5, Table 1, ``B2_lo``).

    ``P(||beta||_2 >= lower) >= 1 - alpha``; 0 when ``X.Y - t <= 0``. Parameters as in
    :func:`l2_norm_bounds`.

    Returns
    -------
    float
        Lower bound on ``||beta||_2`` (dimensionless, >= 0).
    """
    a = _check_alpha(alpha)
    xy, c, t, d = _l2_terms(mean_x, mean_y, n1, n2, math.log(2.0 / a), dim, k)
    return 0.0 if d == 0 else _lower_root(xy - t, c)


def linf_norm_upper(mean: Any, n: Any, alpha: float, *, k: float = SUBGAUSSIAN_K) -> float:
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

    Returns
    -------
    float
        ``P(||beta||_inf <= upper) >= 1 - alpha``.
    """
    a = _check_alpha(alpha)
    x = _check_vector(mean, "mean")
    nf = _check_count(n, "n")
    kf = _check_k(k)
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x))) + math.sqrt(2.0 * kf * math.log(2.0 * x.size / a) / nf)


def l1_norm_upper(mean: Any, n: Any, alpha: float, *, k: float = SUBGAUSSIAN_K) -> float:
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

    Returns
    -------
    float
        ``P(||beta||_1 <= upper) >= 1 - alpha``.
    """
    a = _check_alpha(alpha)
    x = _check_vector(mean, "mean")
    nf = _check_count(n, "n")
    kf = _check_k(k)
    d = x.size
    width = math.sqrt(2.0 * kf * d * (d * math.log(2.0) + math.log(1.0 / a)) / nf)
    return float(np.sum(np.abs(x))) + width


# --------------------------------------------------------------------------------------------
# Subspaces
# --------------------------------------------------------------------------------------------


def project(mean: Any, subspace: Any, *, atol: float = 1e-8) -> tuple[FloatArray, FloatArray, int]:
    """Split a mean vector into its parts inside a subspace S and in its complement.

    Parameters
    ----------
    mean : array_like, shape (d,)
        A mean of ``z`` (one half, or pooled).
    subspace : array_like
        One of
        - a 1-D integer array of distinct coordinate indices, or a boolean mask of length d
          (a coordinate subspace, e.g. one colour channel of a flattened image);
        - a ``(d, d_S)`` matrix with orthonormal columns (a basis of S);
        - a ``(d, d)`` orthogonal projector ``P_S`` (symmetric, idempotent).
    atol : float
        Tolerance of the orthonormality / projector checks.

    Returns
    -------
    inside : ndarray
        ``P_S mean`` in coordinates of S: ``mean[idx]`` (length d_S), ``Q.T @ mean`` (length
        d_S), or ``P_S @ mean`` (length d) for the three forms.
    outside : ndarray
        ``(I - P_S) mean``: the remaining coordinates (length ``d - d_S``) for a coordinate
        subspace, else in ambient coordinates (length d).
    d_S : int
        Dimension of S. Bound the complement with ``dim = d - d_S`` (not ``d_S``), and ``inside``
        with ``dim = d_S`` (see :func:`l2_norm_upper`).

    Notes
    -----
    Inner products and l2 norms of ``inside`` / ``outside`` equal those of ``P_S mean`` /
    ``(I - P_S) mean``, which is all the l2 estimator uses. For l_inf / l1 bounds inside a
    subspace use a coordinate subspace, whose ``inside`` are the actual coordinates.
    """
    x = _check_vector(mean, "mean")
    d = x.size
    s = np.asarray(subspace)
    if s.ndim == 1:
        if s.dtype == np.bool_:
            if s.shape != (d,):
                raise ValueError(f"boolean subspace mask must have length {d}, got {s.shape}")
            mask = s
        else:
            if s.size and not np.issubdtype(s.dtype, np.integer):
                raise ValueError("a 1-D subspace must be integer indices or a boolean mask")
            idx = s.astype(np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= d):
                raise ValueError(f"subspace indices must lie in [0, {d})")
            if np.unique(idx).size != idx.size:
                raise ValueError("subspace indices must be distinct")
            mask = np.zeros(d, dtype=bool)
            mask[idx] = True
        return x[mask], x[~mask], int(mask.sum())
    if s.ndim != 2 or s.shape[0] != d:
        raise ValueError(f"subspace matrix must have {d} rows, got shape {s.shape}")
    m = np.asarray(s, dtype=np.float64)
    if not np.all(np.isfinite(m)):
        raise ValueError("subspace matrix contains NaN or inf")
    if m.shape == (d, d) and np.allclose(m, m.T, atol=atol) and np.allclose(m @ m, m, atol=atol):
        d_s = round(float(np.trace(m)))
        inside = m @ x
        return inside, x - inside, d_s
    if not np.allclose(m.T @ m, np.eye(m.shape[1]), atol=atol):
        raise ValueError(
            "subspace matrix is neither an orthogonal projector nor a basis with orthonormal "
            "columns"
        )
    coords = m.T @ x
    return coords, x - m @ coords, m.shape[1]


# --------------------------------------------------------------------------------------------
# Alpha split and the bounds a radius uses
# --------------------------------------------------------------------------------------------

#: Events (independent statements, each charged its own alpha) and the bounds each one gives.
#: Bound names match the keyword arguments of ``hocert_solver``'s threat-model radii.
EVENT_BOUNDS: dict[str, tuple[str, ...]] = {
    "p_A": ("p_A_lower",),
    "l2_upper": ("grad_l2_upper",),
    "l2_two_sided": ("grad_l2_lower", "grad_l2_upper"),
    "linf_upper": ("grad_linf_upper",),
    "l1_upper": ("grad_l1_upper",),
    "proj_l2_upper": ("proj_l2_upper",),
    "complement_l2_lower": ("complement_l2_lower",),
}

#: Events each reported radius needs (SPEC-style table: docs/math.md, Corollaries 3.1-3.4).
RADIUS_EVENTS: dict[str, tuple[str, ...]] = {
    "cohen": ("p_A",),
    "l2": ("p_A", "l2_upper"),
    # l1 and l_inf need B2_lo and, for the fallback max(., R_2), B2_hi: one two-sided event.
    "l1": ("p_A", "linf_upper", "l2_two_sided"),
    "linf": ("p_A", "l1_upper", "l2_two_sided"),
    "subspace_l2": ("p_A", "proj_l2_upper", "complement_l2_lower"),
    # The same with the full-space l2 fallback of ``subspace_radius(..., grad_l2_upper)``.
    "subspace_l2_with_fallback": ("p_A", "proj_l2_upper", "complement_l2_lower", "l2_upper"),
}


@dataclass(frozen=True)
class AlphaSplit:
    """How one radius spends its failure probability (union bound over its events).

    Attributes
    ----------
    radius : str
        Name of the radius (a key of :data:`RADIUS_EVENTS`, or a custom name).
    alpha : float
        Total failure probability allowed for this radius.
    shares : tuple of (event, alpha) pairs
        The failure probability charged to each event; they sum to at most ``alpha``.
    """

    radius: str
    alpha: float
    shares: tuple[tuple[str, float], ...]

    @property
    def events(self) -> tuple[str, ...]:
        """Names of the events, in order."""
        return tuple(e for e, _ in self.shares)

    @property
    def spent(self) -> float:
        """Sum of the shares (``<= alpha``)."""
        return math.fsum(a for _, a in self.shares)

    def alpha_of(self, event: str) -> float:
        """Failure probability charged to ``event``."""
        for e, a in self.shares:
            if e == event:
                return a
        raise KeyError(f"radius {self.radius!r} uses no event {event!r} (has {self.events})")


def alpha_split(radius: str, alpha: float, events: Sequence[str] | None = None) -> AlphaSplit:
    """Split ``alpha`` equally over the events a radius uses.

    Parameters
    ----------
    radius : str
        Key of :data:`RADIUS_EVENTS` (``"cohen"``, ``"l2"``, ``"l1"``, ``"linf"``,
        ``"subspace_l2"``, ``"subspace_l2_with_fallback"``), or any name when ``events`` is given.
    alpha : float
        Failure probability of the radius, in (0, 1).
    events : sequence of str, optional
        Keys of :data:`EVENT_BOUNDS`, overriding the table.

    Returns
    -------
    AlphaSplit
        ``m`` events, each charged ``alpha / m`` (rounded down so that the sum never exceeds
        ``alpha`` in floating point).
    """
    a = _check_alpha(alpha)
    if events is None:
        if radius not in RADIUS_EVENTS:
            raise ValueError(f"unknown radius {radius!r}; known: {sorted(RADIUS_EVENTS)}")
        events = RADIUS_EVENTS[radius]
    ev = tuple(events)
    if not ev:
        raise ValueError("a radius must use at least one event")
    if len(set(ev)) != len(ev):
        raise ValueError(f"repeated events in {ev}")
    unknown = [e for e in ev if e not in EVENT_BOUNDS]
    if unknown:
        raise ValueError(f"unknown events {unknown}; known: {sorted(EVENT_BOUNDS)}")
    names = [b for e in ev for b in EVENT_BOUNDS[e]]
    if len(set(names)) != len(names):
        raise ValueError(f"events {ev} bound the same quantity twice")
    share = a / len(ev)
    while math.fsum([share] * len(ev)) > a:
        share = math.nextafter(share, 0.0)
    return AlphaSplit(radius=radius, alpha=a, shares=tuple((e, share) for e in ev))


@dataclass(frozen=True)
class Bound:
    """One confidence bound and the event that certifies it.

    Attributes
    ----------
    name : str
        What is bounded (``"p_A_lower"``, ``"grad_l2_upper"``, ``"grad_l2_lower"``,
        ``"grad_linf_upper"``, ``"grad_l1_upper"``, ``"proj_l2_upper"``,
        ``"complement_l2_lower"``). Norm bounds are on ``beta = sigma grad g_A`` (dimensionless).
    value : float
        The bound.
    event : str
        The event (key of :data:`EVENT_BOUNDS`); bounds from one event share its alpha.
    alpha : float
        Failure probability of that event.
    """

    name: str
    value: float
    event: str
    alpha: float


@dataclass(frozen=True)
class GradientBounds:
    """The bounds one radius is computed from, with their alpha split (``cert.bounds``).

    Attributes
    ----------
    split : AlphaSplit
        The events and their failure probabilities.
    bounds : tuple of Bound
        One entry per bound (a two-sided event gives two).
    """

    split: AlphaSplit
    bounds: tuple[Bound, ...]

    def __getitem__(self, name: str) -> float:
        for b in self.bounds:
            if b.name == name:
                return b.value
        raise KeyError(f"no bound {name!r}; have {[b.name for b in self.bounds]}")

    def as_dict(self) -> dict[str, float]:
        """``{bound name: value}``."""
        return {b.name: b.value for b in self.bounds}

    def solver_kwargs(self) -> dict[str, float]:
        """The norm bounds as keyword arguments of the solver's radius functions (no p_A)."""
        return {b.name: b.value for b in self.bounds if b.name != "p_A_lower"}


def radius_bounds(
    radius: str,
    alpha: float,
    *,
    successes: int,
    trials: int,
    mean_x: Any = None,
    mean_y: Any = None,
    n1: int | None = None,
    n2: int | None = None,
    subspace: Any = None,
    events: Sequence[str] | None = None,
    k: float = SUBGAUSSIAN_K,
) -> GradientBounds:
    """Compute every bound a radius uses, each at its share of ``alpha``.

    Parameters
    ----------
    radius : str
        See :func:`alpha_split`.
    alpha : float
        Failure probability of the radius.
    successes, trials : int
        Votes for class A among the estimation samples, and their number (p_A bound).
    mean_x, mean_y : array_like, shape (d,), optional
        Half means of ``z`` (needed by every radius but ``"cohen"``).
    n1, n2 : int, optional
        Sample counts of the halves.
    subspace : array_like, optional
        Needed by the subspace radii; any form accepted by :func:`project`.
    events : sequence of str, optional
        Override of :data:`RADIUS_EVENTS` for this radius.
    k : float
        Variance proxy of one ``z``.

    Returns
    -------
    GradientBounds
        Holds with probability ``>= 1 - alpha`` jointly (union bound over the events).
    """
    split = alpha_split(radius, alpha, events)
    needs_means = any(e != "p_A" for e in split.events)
    if needs_means and (mean_x is None or mean_y is None or n1 is None or n2 is None):
        raise ValueError(f"radius {radius!r} needs mean_x, mean_y, n1 and n2")
    n_pooled = (n1 or 0) + (n2 or 0)
    needs_subspace = any(e in ("proj_l2_upper", "complement_l2_lower") for e in split.events)
    if needs_subspace and subspace is None:
        raise ValueError(f"radius {radius!r} needs a subspace")

    values: dict[str, float | tuple[float, ...]] = {}
    inside: tuple[FloatArray, FloatArray] | None = None
    outside: tuple[FloatArray, FloatArray] | None = None
    d_total = d_s = 0
    if needs_subspace:
        x_in, x_out, d_s = project(mean_x, subspace)
        y_in, y_out, _ = project(mean_y, subspace)
        inside, outside = (x_in, y_in), (x_out, y_out)
        d_total = np.asarray(mean_x).size
    for event, a in split.shares:
        if event == "p_A":
            v: float | tuple[float, ...] = float(clopper_pearson_lower(successes, trials, a))
        elif event == "l2_upper":
            v = l2_norm_upper(mean_x, mean_y, n1, n2, a, k=k)
        elif event == "l2_two_sided":
            v = l2_norm_bounds(mean_x, mean_y, n1, n2, a, k=k)
        elif event == "linf_upper":
            v = linf_norm_upper(pooled_mean(mean_x, mean_y, n1, n2), n_pooled, a, k=k)
        elif event == "l1_upper":
            v = l1_norm_upper(pooled_mean(mean_x, mean_y, n1, n2), n_pooled, a, k=k)
        elif event == "proj_l2_upper":
            assert inside is not None
            v = l2_norm_upper(*inside, n1, n2, a, dim=d_s, k=k)
        elif event == "complement_l2_lower":
            assert outside is not None
            v = l2_norm_lower(*outside, n1, n2, a, dim=d_total - d_s, k=k)
        else:  # pragma: no cover - alpha_split validates the names
            raise AssertionError(event)
        values[event] = v

    out: list[Bound] = []
    for event, a in split.shares:
        names = EVENT_BOUNDS[event]
        vals = values[event]
        vals_t = vals if isinstance(vals, tuple) else (vals,)
        out.extend(Bound(nm, float(val), event, a) for nm, val in zip(names, vals_t))
    return GradientBounds(split=split, bounds=tuple(out))
