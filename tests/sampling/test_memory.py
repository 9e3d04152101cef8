"""Issue 15, item 5: the batch size follows the input size and a memory budget."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from hocert_sampling import SmoothedClassifier
from hocert_sampling.sampler import (
    BYTES_PER_COORDINATE,
    DEFAULT_MAX_BATCH,
    DEFAULT_MEMORY_BUDGET,
    auto_batch_size,
)

IMAGENET_D = 3 * 224 * 224  # 150,528


def test_auto_batch_fits_the_budget_at_imagenet_size():
    batch = auto_batch_size(IMAGENET_D)
    assert 1 <= batch < 1000  # the old fixed 1000 took 1.76 GB here
    assert batch * IMAGENET_D * BYTES_PER_COORDINATE <= DEFAULT_MEMORY_BUDGET
    assert auto_batch_size(64) == DEFAULT_MAX_BATCH
    assert auto_batch_size(3 * 1024 * 1024) >= 1
    assert auto_batch_size(10**12) == 1  # never 0
    with pytest.raises(ValueError):
        auto_batch_size(64, 0)


def test_sampling_at_imagenet_size_stays_within_the_budget():
    budget = 64 << 20
    calls: list[int] = []

    def model(batch):
        calls.append(batch.shape[0])
        return np.zeros(batch.shape[0], dtype=np.int64)  # labels: class 0

    clf = SmoothedClassifier(model, 10, 0.25, backend="numpy", seed=0, memory_budget=budget)
    x = np.zeros((3, 224, 224), np.float32)
    batch = auto_batch_size(IMAGENET_D, budget)
    tracemalloc.start()
    try:
        assert clf.predict(x, 3 * batch, 0.001) == 0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert max(calls) == batch
    assert peak <= budget


def test_explicit_batch_size_wins():
    seen: list[int] = []

    def model(batch):
        seen.append(batch.shape[0])
        return np.zeros(batch.shape[0], dtype=np.int64)

    clf = SmoothedClassifier(model, 3, 0.5, backend="numpy", batch_size=7)
    clf.predict(np.zeros(4), 20, 0.01)
    assert max(seen) == 7
    seen.clear()
    clf.predict(np.zeros(4), 20, 0.01, 5)
    assert max(seen) == 5
    with pytest.raises(ValueError):
        SmoothedClassifier(model, 3, 0.5, backend="numpy", batch_size=0)
