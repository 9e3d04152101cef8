"""The two half means behind the l2 bounds, checked once: :class:`HalfMeans`.

The means ``X``, ``Y`` of ``z`` over two independent halves of the estimation samples, their
counts and the dimension of their space, checked once (``TypeError`` for a wrong type,
``ValueError`` for a bad value), with ``X.Y`` and the pooled mean computed once, for callers
that need several bounds of one input (:meth:`hocert_sampling.SmoothedClassifier.certify`).
Public as ``hocert_sampling.bounds.HalfMeans``; the bounds themselves are in
:mod:`hocert_sampling.bounds`.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from ._validation import check_sample_count

__all__ = ["FloatArray", "HalfMeans", "check_vector"]

FloatArray = npt.NDArray[np.float64]


def check_vector(v: Any, name: str) -> FloatArray:
    """A finite 1-D vector as float64 (``TypeError`` for non-numeric data)."""
    arr = np.asarray(v)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a numeric vector, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _check_dim(dim: Any, length: int) -> int:
    if dim is None:
        return length
    try:
        if isinstance(dim, (bool, np.bool_)):
            raise TypeError
        d = operator.index(dim)
    except TypeError:
        raise TypeError(
            f"dim must be a non-negative integer, got {type(dim).__name__} {dim!r}"
        ) from None
    if d < 0:
        raise ValueError(f"dim must be a non-negative integer, got {dim!r}")
    return d


@dataclass(frozen=True)
class HalfMeans:
    """Means of ``z`` over two independent halves of the estimation samples, checked once.

    Build it with :meth:`checked`; the constructor itself checks nothing (for callers that
    have). ``X.Y`` (:attr:`xy`) and the pooled mean (:attr:`pooled`) are computed on first use
    and kept.

    Attributes
    ----------
    x, y : ndarray of float64, shape (m,)
        The half means ``X`` and ``Y`` (dimensionless), finite.
    n1, n2 : float
        Sample counts of the halves (positive integers, as floats).
    dim : int
        Dimension of the space the vectors live in (``m``, or ``d_S`` / ``d - d_S`` for parts
        of a projection given in ambient coordinates).
    """

    x: FloatArray
    y: FloatArray
    n1: float
    n2: float
    dim: int

    @classmethod
    def checked(
        cls, mean_x: Any, mean_y: Any, n1: Any, n2: Any, dim: int | None = None
    ) -> HalfMeans:
        """Check the half means (finite 1-D vectors of one shape) and their counts."""
        x = check_vector(mean_x, "mean_x")
        y = check_vector(mean_y, "mean_y")
        if x.shape != y.shape:
            raise ValueError(f"mean_x and mean_y have different shapes: {x.shape} vs {y.shape}")
        w1, w2 = check_sample_count(n1, "n1"), check_sample_count(n2, "n2")
        return cls(x, y, w1, w2, _check_dim(dim, x.size))

    @cached_property
    def xy(self) -> float:
        """``X.Y``, the estimate of ``||beta||_2^2`` (Theorem 5)."""
        return float(np.dot(self.x, self.y))

    @cached_property
    def pooled(self) -> FloatArray:
        """Mean ``Xbar`` of all ``n1 + n2`` samples."""
        return (self.n1 * self.x + self.n2 * self.y) / (self.n1 + self.n2)

    @property
    def n(self) -> float:
        """``n1 + n2``."""
        return self.n1 + self.n2

    @cached_property
    def x_norm(self) -> float:
        """``||X||_2`` (the mgf l2 estimator conditions on the larger half)."""
        return float(np.linalg.norm(self.x))

    @cached_property
    def y_norm(self) -> float:
        """``||Y||_2``."""
        return float(np.linalg.norm(self.y))
