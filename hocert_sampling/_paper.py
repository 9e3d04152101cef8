"""The "paper" estimators of the gradient norms: Table 1 of the paper, sub-Gaussian proxy ``k``.

Functions of checked inputs (:class:`hocert_sampling.bounds.HalfMeans`, counts, a per-bound
level ``a`` and the proxy ``k``); the derivation is in the docstring of
:mod:`hocert_sampling.bounds`, which checks the arguments and dispatches on ``estimator``.
The roots :func:`_upper_root` and :func:`_lower_root` are shared with :mod:`hocert_sampling._mgf`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .bounds import FloatArray, HalfMeans


def _l2_widths(m: HalfMeans, ell: float, k: float) -> tuple[float, float]:
    """``(c, t)`` of the l2 estimator for a per-tail level ``exp(-ell)`` (``bounds``' docstring)."""
    k1, k2 = k / m.n1, k / m.n2
    c = math.sqrt(2.0 * (k1 + k2) * ell)
    t = math.sqrt(k1 * k2) * (math.sqrt(2.0 * m.dim * ell) + ell)
    return c, t


def _upper_root(s: float, c: float) -> float:
    """Largest b >= 0 with ``b^2 - c b <= s`` (``c / 2`` if the event cannot hold)."""
    return 0.5 * (c + math.sqrt(max(c * c + 4.0 * s, 0.0)))


def _lower_root(s: float, c: float) -> float:
    """Smallest b >= 0 with ``b^2 + c b >= s`` (stable form of ``(-c + sqrt(c^2 + 4s)) / 2``)."""
    if s <= 0.0:
        return 0.0
    return 2.0 * s / (c + math.sqrt(c * c + 4.0 * s))


def _l2_bounds(m: HalfMeans, a: float, k: float) -> tuple[float, float]:
    """:func:`l2_norm_bounds` of checked inputs."""
    if m.dim == 0:
        return 0.0, 0.0
    c, t = _l2_widths(m, math.log(4.0 / a), k)
    return _lower_root(m.xy - t, c), _upper_root(m.xy + t, c)


def _l2_upper(m: HalfMeans, a: float, k: float) -> float:
    """:func:`l2_norm_upper` of checked inputs."""
    if m.dim == 0:
        return 0.0
    c, t = _l2_widths(m, math.log(2.0 / a), k)
    return _upper_root(m.xy + t, c)


def _l2_lower(m: HalfMeans, a: float, k: float) -> float:
    """:func:`l2_norm_lower` of checked inputs."""
    if m.dim == 0:
        return 0.0
    c, t = _l2_widths(m, math.log(2.0 / a), k)
    return _lower_root(m.xy - t, c)


def _linf_upper(mean: FloatArray, n: float, a: float, k: float) -> float:
    """:func:`linf_norm_upper` of checked inputs."""
    if mean.size == 0:
        return 0.0
    return float(np.max(np.abs(mean))) + math.sqrt(2.0 * k * math.log(2.0 * mean.size / a) / n)


def _l1_upper(mean: FloatArray, n: float, a: float, k: float) -> float:
    """:func:`l1_norm_upper` of checked inputs."""
    d = mean.size
    width = math.sqrt(2.0 * k * d * (d * math.log(2.0) + math.log(1.0 / a)) / n)
    return float(np.sum(np.abs(mean))) + width
