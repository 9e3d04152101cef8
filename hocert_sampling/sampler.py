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

Memory is O(B d + d): at most three batches (the noise in use, the next one being drawn, the
noisy inputs) and two running sums of length d, never the ``n x d`` matrix of ``z_i``. Per
batch, each half's sum is one float32 weighted sum of that half's noise rows (weights
``1{f = A} - 1/2``), added to running sums kept in float64; the float32 rounding inside one
batch is far below the Monte-Carlo error (docs/benchmarks.md, "Sampling overhead"). Only the
per-image statistics (K counts and two d-vectors) are copied to the host.

Cost per batch, besides the model: drawing the noise dominates (about ``B d`` normal deviates).
On the NumPy backend the next batch's noise is drawn on a helper thread while the model runs on
the current one (NumPy's generator and ONNX Runtime both release the GIL), unless batches are
tiny; the draws are made in the same order from the same generator, so the results are
identical to drawing in line. The noisy batch ``x + sigma eps`` is written into one buffer
that is reused for every batch: the model must not keep a reference to its input after it
returns. On the CuPy backend the work is queued on the current stream and the sampler itself
adds no host synchronisation per batch (the class counts are accumulated without
``cupy.bincount``, which synchronises); the model adapter still synchronises once per batch
(the output checks of :func:`hocert_sampling.models.labels_from_output`, and ONNX Runtime's
IOBinding).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_count, check_input, check_positive
from .models import LabelModel

__all__ = [
    "BYTES_PER_COORDINATE",
    "DEFAULT_MAX_BATCH",
    "DEFAULT_MEMORY_BUDGET",
    "NoiseStatistics",
    "auto_batch_size",
    "sample_statistics",
]

#: The sampler's memory per noise sample and input coordinate: three float32 batches (the noise
#: in use, the next one being drawn, the noisy inputs) and the float32 weighted sums' temporaries.
#: The model's own memory (its activations) comes on top.
BYTES_PER_COORDINATE = 16
#: The default memory budget of the sampler's batches (:func:`auto_batch_size`): 1 GiB.
DEFAULT_MEMORY_BUDGET = 1 << 30
#: The largest automatic batch (small inputs): as many samples per model call as before.
DEFAULT_MAX_BATCH = 1000


def auto_batch_size(
    d: int, memory_budget: int | None = None, maximum: int = DEFAULT_MAX_BATCH
) -> int:
    """Noise samples per model call for inputs of ``d`` coordinates within ``memory_budget``
    bytes (default :data:`DEFAULT_MEMORY_BUDGET`): ``budget // (BYTES_PER_COORDINATE * d)``,
    at least 1 and at most ``maximum``. E.g. 445 at d = 150,528 (3 x 224 x 224) for 1 GiB.
    """
    budget = DEFAULT_MEMORY_BUDGET if memory_budget is None else int(memory_budget)
    if budget <= 0 or int(d) <= 0:
        raise ValueError(f"need a memory budget > 0 and d > 0, got {memory_budget!r} and {d!r}")
    return max(1, min(int(maximum), budget // (BYTES_PER_COORDINATE * int(d))))


# Draw the next noise batch on a helper thread only when it has at least this many numbers
# (about 0.3 ms of work on a 2-core CI machine): handing a batch between threads costs tens of
# microseconds, more than drawing a small batch in line (docs/benchmarks.md).
_PREFETCH_MIN_FLOATS = 1 << 15


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
        One input (any shape with at least one axis; ``d = x.size``), host or backend array,
        numeric and finite in float32.
    sigma : float
        Noise level (input units), finite and > 0.
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

    Raises
    ------
    TypeError
        An argument of the wrong type (a float count, a string sigma, a non-numeric ``x``).
    ValueError
        A count below its minimum, a target outside ``[0, K)``, sigma not finite and > 0, or
        an ``x`` that is a scalar, empty or not finite (see
        :func:`hocert_sampling._validation.check_input`).

    Notes
    -----
    The model receives views of one buffer that is overwritten batch after batch; it must not
    keep its input after returning. On the NumPy backend, with more than one batch of at least
    32768 numbers (``batch_size * d``), the noise of the next batch is drawn from ``rng`` on a
    helper thread while the model runs (same draws, same order: the results do not change);
    ``rng`` must not be used by anything else during the call.
    """
    backend = model.backend
    x = check_input(x, backend)
    scale = check_positive(sigma, "sigma")
    n = check_count(n, "n", minimum=1 if target is None else 2)
    batch_size = check_count(batch_size, "batch_size")
    if target is not None:
        target = check_count(target, "target class", minimum=0)
        if target >= model.num_classes:
            raise ValueError(f"target class {target} outside [0, {model.num_classes})")
    return _sample_checked(model, x, scale, n, batch_size, rng, target)


def _sample_checked(
    model: LabelModel,
    x: Any,
    sigma: float,
    n: int,
    batch_size: int,
    rng: Any,
    target: int | None,
) -> NoiseStatistics:
    """:func:`sample_statistics` of checked arguments (``x`` a finite float32 backend array)."""
    backend = model.backend
    xp = backend.xp
    d = x.size
    num_classes = model.num_classes
    scale = xp.float32(sigma)

    counts = xp.zeros(num_classes, dtype=xp.int64)
    classes = None if not backend.is_gpu else xp.arange(num_classes)
    sums = xp.zeros((2, d), dtype=xp.float64) if target is not None else None
    noisy_buffer = xp.empty((min(batch_size, n), *x.shape), dtype=xp.float32)
    noise = _NoiseBatches(rng, x.shape, n, batch_size, prefetch=not backend.is_gpu)
    try:
        done = 0
        while done < n:
            eps = noise.next()
            b = eps.shape[0]
            noisy = noisy_buffer[:b]
            xp.multiply(eps, scale, out=noisy)  # x + sigma eps, without temporaries
            noisy += x
            labels = model(noisy)
            if classes is None:
                counts += xp.bincount(labels, minlength=num_classes)
            else:  # cupy.bincount synchronises with the host (it reads max(labels)); this does not
                counts += (labels[:, None] == classes).sum(axis=0)
            if sums is not None:
                _add_split_half_sums(
                    sums, eps.reshape(b, d), labels == target, done, xp, backend.is_gpu
                )
            del eps  # the helper thread is drawing the next batch: hold at most two
            done += b
    finally:
        noise.close()

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


def _add_split_half_sums(
    sums: Any, eps: Any, is_target: Any, start: int, xp: Any, gpu: bool
) -> None:
    """Add ``z_i = eps_i (1{f(x + sigma eps_i) = A} - 1/2)`` (Theorem 4) to the two halves.

    ``eps`` holds the rows ``start, start + 1, ...`` of the run, flattened to ``(b, d)``; rows
    with an even global index go to ``sums[0]`` (half X), odd ones to ``sums[1]`` (half Y). Each
    half is one float32 weighted sum of rows over a strided view (no copy), added to the
    float64 running sums. On the CPU it is ``einsum``'s own single-threaded loop, not BLAS:
    a threaded BLAS matrix-vector product here competes for the cores with the model's thread
    pool and with the noise thread, and was several times slower inside the sampling loop than
    alone (docs/benchmarks.md, "Sampling overhead"). On the GPU it is a cuBLAS product.
    """
    weight = is_target.astype(xp.float32) - xp.float32(0.5)
    first = start % 2  # the first row of this batch with an even global index
    for half, rows in ((0, slice(first, None, 2)), (1, slice(1 - first, None, 2))):
        if gpu:
            sums[half] += weight[rows] @ eps[rows]
        else:
            sums[half] += np.einsum("i,ij->j", weight[rows], eps[rows])


class _NoiseBatches:
    """The noise batches ``rng.standard_normal((b, *shape), float32)`` of one run, in order.

    Batches have ``batch_size`` rows, the last one the remainder up to ``n``. With ``prefetch``
    (NumPy backend), more than one batch and batches of at least ``_PREFETCH_MIN_FLOATS``
    numbers, the next batch is drawn on a helper thread while the caller works on the current
    one; at most one draw is in flight, and draws happen in batch order, so the noise is exactly
    what drawing in line would give.
    """

    def __init__(
        self, rng: Any, shape: tuple[int, ...], n: int, batch_size: int, prefetch: bool
    ) -> None:
        self._rng = rng
        self._shape = shape
        self._n = n
        self._batch_size = batch_size
        self._drawn = 0  # rows requested so far
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[Any] | None = None
        floats = min(batch_size, n) * int(np.prod(shape))
        if prefetch and n > batch_size and floats >= _PREFETCH_MIN_FLOATS:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hocert-noise")
            self._pending = self._pool.submit(self._draw)

    def _draw(self) -> Any:
        b = min(self._batch_size, self._n - self._drawn)
        self._drawn += b
        return self._rng.standard_normal((b, *self._shape), dtype=np.float32)

    def next(self) -> Any:
        """The next batch of noise (the caller stops after ``n`` rows)."""
        if self._pool is None or self._pending is None:
            return self._draw()
        eps = self._pending.result()
        self._pending = self._pool.submit(self._draw) if self._drawn < self._n else None
        return eps

    def close(self) -> None:
        """Wait for a draw still in flight (e.g. after the model raised) and stop the thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._pending = None
