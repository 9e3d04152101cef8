"""Subspaces of the input space for the subspace radii (paper Corollary 3.4).

A subspace ``S`` of ``R^d`` (``d`` = number of coordinates of the flattened input, C order) is
given in one of three forms:

- a 1-D integer array of distinct coordinate indices, or a boolean mask of length d (a
  coordinate subspace, e.g. one colour channel of a flattened image);
- a ``(d, d_S)`` matrix with orthonormal columns (a basis of S);
- a ``(d, d)`` orthogonal projector ``P_S`` (symmetric, idempotent).

:meth:`Subspace.checked` checks a form once (for a projector that costs a ``(d, d)`` matrix
product, O(d^3)); the checked :class:`Subspace` then splits any number of vectors without
checking again. :func:`resolve_subspaces` names and checks the subspaces of one
:meth:`~hocert_sampling.SmoothedClassifier.certify` call.

Estimation (docs/math.md, section 7)
    For an orthogonal projector ``P_S`` of rank ``d_S``, ``P_S (X - beta)`` is sub-Gaussian with
    the same proxy as ``X - beta`` and its cross term involves ``d_S`` dimensions: the l2
    estimator of :mod:`hocert_sampling.bounds` applies with ``dim = d_S`` to ``P_S X, P_S Y``
    and with ``dim = d - d_S`` to ``(I - P_S) X, (I - P_S) Y`` (the complement has dimension
    ``d - d_S``; the paper authors' code used ``d_S`` there, which is unsound).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .bounds import HalfMeans, check_vector

__all__ = ["Subspace", "project", "resolve_subspaces"]

FloatArray = npt.NDArray[np.float64]

#: Tolerance of the orthonormality and projector checks.
DEFAULT_ATOL = 1e-8


@dataclass(frozen=True, eq=False)
class Subspace:
    """A checked subspace S of ``R^d`` (build it with :meth:`checked`).

    Attributes
    ----------
    kind : {"coordinates", "basis", "projector"}
        The form it was given in.
    d : int
        Dimension of the ambient space.
    dim : int
        ``d_S``, the dimension of S.
    mask : ndarray of bool, shape (d,), or None
        The coordinates of S (coordinate subspaces only).
    matrix : ndarray of float64, or None
        The ``(d, d_S)`` basis or the ``(d, d)`` projector (the other two forms).
    """

    kind: str
    d: int
    dim: int
    mask: npt.NDArray[np.bool_] | None = None
    matrix: FloatArray | None = None

    @classmethod
    def checked(cls, spec: Any, d: int, *, atol: float = DEFAULT_ATOL) -> Subspace:
        """Check ``spec`` (any of the three forms, or a :class:`Subspace` of ``R^d``).

        Raises
        ------
        TypeError
            Float indices, or a non-numeric array.
        ValueError
            Indices out of range or repeated, a mask or matrix of the wrong size, a matrix that
            is neither a basis with orthonormal columns nor an orthogonal projector.
        """
        if isinstance(spec, Subspace):
            if spec.d != d:
                raise ValueError(f"the subspace lives in dimension {spec.d}, not {d}")
            return spec
        s = np.asarray(spec)
        if s.ndim == 1:
            if s.dtype == np.bool_:
                if s.shape != (d,):
                    raise ValueError(f"boolean subspace mask must have length {d}, got {s.shape}")
                return cls("coordinates", d, int(s.sum()), mask=s)
            if s.size and not np.issubdtype(s.dtype, np.integer):
                raise TypeError(
                    f"a 1-D subspace must be integer indices or a boolean mask, got {s.dtype}"
                )
            idx = s.astype(np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= d):
                raise ValueError(f"subspace indices must lie in [0, {d})")
            if np.unique(idx).size != idx.size:
                raise ValueError("subspace indices must be distinct")
            mask = np.zeros(d, dtype=bool)
            mask[idx] = True
            return cls("coordinates", d, int(mask.sum()), mask=mask)
        if s.dtype.kind not in "biuf":
            raise TypeError(f"a subspace matrix must be numeric, got dtype {s.dtype}")
        if s.ndim != 2 or s.shape[0] != d:
            raise ValueError(f"subspace matrix must have {d} rows, got shape {s.shape}")
        m = np.asarray(s, dtype=np.float64)
        if not np.all(np.isfinite(m)):
            raise ValueError("subspace matrix contains NaN or inf")
        if (
            m.shape == (d, d)
            and np.allclose(m, m.T, atol=atol)
            and np.allclose(m @ m, m, atol=atol)
        ):
            return cls("projector", d, round(float(np.trace(m))), matrix=m)
        if not np.allclose(m.T @ m, np.eye(m.shape[1]), atol=atol):
            raise ValueError(
                "subspace matrix is neither an orthogonal projector nor a basis with orthonormal "
                "columns"
            )
        return cls("basis", d, m.shape[1], matrix=m)

    @property
    def indices(self) -> npt.NDArray[np.int64]:
        """The coordinates of a coordinate subspace, ascending."""
        if self.mask is None:
            raise ValueError(f"a {self.kind} subspace has no coordinate indices")
        return np.flatnonzero(self.mask)

    def split(self, v: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(P_S v, (I - P_S) v)`` of a checked float64 vector of length d (see :func:`project`
        for the coordinates of each part)."""
        if self.mask is not None:
            return v[self.mask], v[~self.mask]
        assert self.matrix is not None
        if self.kind == "projector":
            inside = self.matrix @ v
            return inside, v - inside
        coords = self.matrix.T @ v
        return coords, v - self.matrix @ coords

    def split_means(self, means: HalfMeans) -> tuple[HalfMeans, HalfMeans]:
        """The half means inside S (``dim = d_S``) and in its complement (``dim = d - d_S``)."""
        x_in, x_out = self.split(means.x)
        y_in, y_out = self.split(means.y)
        inside = HalfMeans(x_in, y_in, means.n1, means.n2, self.dim)
        outside = HalfMeans(x_out, y_out, means.n1, means.n2, self.d - self.dim)
        return inside, outside


def project(
    mean: Any, subspace: Any, *, atol: float = DEFAULT_ATOL
) -> tuple[FloatArray, FloatArray, int]:
    """Split a mean vector into its parts inside a subspace S and in its complement.

    Parameters
    ----------
    mean : array_like, shape (d,)
        A mean of ``z`` (one half, or pooled).
    subspace : array_like or Subspace
        One of
        - a 1-D integer array of distinct coordinate indices, or a boolean mask of length d
          (a coordinate subspace, e.g. one colour channel of a flattened image);
        - a ``(d, d_S)`` matrix with orthonormal columns (a basis of S);
        - a ``(d, d)`` orthogonal projector ``P_S`` (symmetric, idempotent);
        - a checked :class:`Subspace` (not checked again).
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
        with ``dim = d_S`` (see :func:`hocert_sampling.bounds.l2_norm_upper`).

    Notes
    -----
    Inner products and l2 norms of ``inside`` / ``outside`` equal those of ``P_S mean`` /
    ``(I - P_S) mean``, which is all the l2 estimator uses. For l_inf / l1 bounds inside a
    subspace use a coordinate subspace, whose ``inside`` are the actual coordinates.
    """
    x = check_vector(mean, "mean")
    space = Subspace.checked(subspace, x.size, atol=atol)
    inside, outside = space.split(x)
    return inside, outside, space.dim


def resolve_subspaces(subspaces: Any, shape: tuple[int, ...]) -> dict[str, Subspace]:
    """Name and check the subspaces requested for an input of the given shape.

    Parameters
    ----------
    subspaces : None, "channels", mapping, sequence or ndarray
        ``None``: none. ``"channels"``: for an image of shape (C, H, W), one coordinate subspace
        per channel, named ``"channel0"``, ``"channel1"``, ... A mapping ``{name: spec}``, a
        sequence of specs (named ``"subspace0"``, ...) or a single spec, where a spec is any form
        :meth:`Subspace.checked` accepts, over the flattened input (C order): an index array or
        boolean mask of length d, a (d, d_S) matrix with orthonormal columns, or a (d, d)
        orthogonal projector.
    shape : tuple of int
        Shape of one input x.

    Returns
    -------
    dict of str to Subspace
        Checked once: split vectors with :meth:`Subspace.split` without further checks.

    Raises
    ------
    TypeError
        ``subspaces`` of another type, or a spec of the wrong type (named in the message).
    ValueError
        An unknown string, ``"channels"`` for an input that is not (C, H, W), or a bad spec.
    """
    if subspaces is None:
        return {}
    d = int(np.prod(shape))
    if isinstance(subspaces, str):
        if subspaces != "channels":
            raise ValueError(f"unknown subspaces {subspaces!r}: use 'channels', a list or a dict")
        if len(shape) != 3:
            raise ValueError(f"'channels' needs an image input of shape (C, H, W), got {shape}")
        per_channel = d // shape[0]
        return {
            f"channel{c}": Subspace.checked(np.arange(c * per_channel, (c + 1) * per_channel), d)
            for c in range(shape[0])
        }
    if isinstance(subspaces, (np.ndarray, Subspace)):
        named = {"subspace0": subspaces}
    elif isinstance(subspaces, Mapping):
        named = {str(name): spec for name, spec in subspaces.items()}
    elif isinstance(subspaces, Sequence):
        named = {f"subspace{i}": spec for i, spec in enumerate(subspaces)}
    else:
        raise TypeError(f"subspaces must be None, 'channels', a dict or a list, got {subspaces!r}")
    checked = {}
    for name, spec in named.items():
        try:
            checked[name] = Subspace.checked(spec, d)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"subspace {name!r}: {exc}") from exc
    return checked
