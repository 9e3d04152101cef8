"""Monte-Carlo sampling of the base classifier under Gaussian noise (docs/math.md, SPEC 7).

For an input ``x`` with ``d = x.size`` coordinates, noise ``eps_i ~ N(0, I_d)`` (float32, drawn in
batches of shape ``(B, *x.shape)``) and the base classifier ``f``, :func:`sample_statistics`
accumulates on the backend device:

- the class counts ``counts[k] = #{i : f(x + sigma eps_i) = k}``;
- for a target class A (the estimation run), the split-half sums of the sigma-normalised
  first-order statistic of Theorem 4 of the paper,
  ``z_i = eps_i * (1{f(x + sigma eps_i) = A} - 1/2)``, whose mean is ``beta = sigma * grad g_A(x)``.
  Samples with even index ``i`` go to half X (``n1 = ceil(n/2)`` samples), odd ones to half Y
  (``n2 = floor(n/2)``). The noise draws are i.i.d., so the two halves are independent, as
  Theorem 5 requires.

Memory is O(B d + d): one noise batch and two running sums of length d, never the ``n x d``
matrix of ``z_i``. The sums are updated with one float32 matrix product per batch and kept in
float64. Only the per-image statistics (K counts and two d-vectors) are copied to the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .models import LabelModel

__all__ = ["NoiseStatistics", "sample_statistics"]


@dataclass(frozen=True)
class NoiseStatistics:
    """Counts and split-half sums from one sampling run (host arrays).

    Attributes
    ----------
    counts : ndarray of int64, shape (K,)
        Votes per class of the base classifier on the noisy inputs.
    target : int or None
        The class A the sums were taken for (None: counts only).
    sum_x, sum_y : ndarray of float64, shape (d,), or None
        Sums of ``z_i = eps_i (1{f(x + sigma eps_i) = A} - 1/2)`` over the two halves
        (sigma-normalised: ``eps_i`` is standard normal).
    n1, n2 : int
        Number of samples in each half (``n1 + n2 = counts.sum()``).
    """

    counts: np.ndarray
    target: int | None = None
    sum_x: np.ndarray | None = None
    sum_y: np.ndarray | None = None
    n1: int = 0
    n2: int = 0

    @property
    def n(self) -> int:
        """Total number of samples."""
        return int(self.counts.sum())

    @property
    def mean_x(self) -> np.ndarray:
        """Mean of ``z`` over half X: an unbiased estimate of ``beta``."""
        return self._require(self.sum_x) / self.n1

    @property
    def mean_y(self) -> np.ndarray:
        """Mean of ``z`` over half Y, independent of :attr:`mean_x`."""
        return self._require(self.sum_y) / self.n2

    @property
    def mean(self) -> np.ndarray:
        """Pooled mean of ``z`` over all ``n1 + n2`` samples."""
        return (self._require(self.sum_x) + self._require(self.sum_y)) / (self.n1 + self.n2)

    @staticmethod
    def _require(s: np.ndarray | None) -> np.ndarray:
        if s is None:
            raise ValueError("these statistics hold counts only (sampled without a target class)")
        return s


def sample_statistics(
    model: LabelModel,
    x: Any,
    sigma: float,
    n: int,
    batch_size: int,
    rng: Any,
    target: int | None = None,
) -> NoiseStatistics:
    """Evaluate ``f(x + sigma * eps)`` on ``n`` noise draws and accumulate statistics.

    Parameters
    ----------
    model : LabelModel
        The base classifier; its backend decides where the work happens.
    x : array-like
        One input (any shape; ``d = x.size``), host or backend array.
    sigma : float
        Noise level (input units).
    n : int
        Number of noise draws (>= 1; >= 2 when ``target`` is given).
    batch_size : int
        Draws per model call; memory is O(batch_size * d).
    rng : numpy.random.Generator or cupy.random.Generator
        Generator of the model's backend (see :meth:`Backend.rng`).
    target : int, optional
        Class A for the split-half sums; None accumulates the counts only.

    Returns
    -------
    NoiseStatistics
    """
    if n < 1 or (target is not None and n < 2):
        raise ValueError(f"need n >= 1 samples (n >= 2 for the split-half sums), got {n}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if target is not None and not 0 <= target < model.num_classes:
        raise ValueError(f"target class {target} outside [0, {model.num_classes})")
    backend = model.backend
    xp = backend.xp
    x = backend.asarray(x, dtype=xp.float32)
    d = x.size

    counts = xp.zeros(model.num_classes, dtype=xp.int64)
    sums = xp.zeros((2, d), dtype=xp.float64) if target is not None else None
    done = 0
    while done < n:
        b = min(batch_size, n - done)
        eps = rng.standard_normal((b, *x.shape), dtype=xp.float32)
        labels = model(x + xp.float32(sigma) * eps)
        counts += xp.bincount(labels, minlength=model.num_classes)
        if sums is not None:
            z_weight = (labels == target).astype(xp.float32) - xp.float32(0.5)
            in_x = (done + xp.arange(b)) % 2 == 0  # even sample index: half X
            halves = xp.stack([z_weight * in_x, z_weight * ~in_x])  # (2, b)
            sums += halves @ eps.reshape(b, d)
        done += b

    counts_host = backend.to_host(counts).astype(np.int64)
    if sums is None or target is None:
        return NoiseStatistics(counts=counts_host)
    sums_host = backend.to_host(sums)
    return NoiseStatistics(
        counts=counts_host,
        target=int(target),
        sum_x=sums_host[0],
        sum_y=sums_host[1],
        n1=(n + 1) // 2,
        n2=n // 2,
    )
