"""Fake ``cupy`` and ``onnxruntime`` modules: the GPU setups that tests cannot have on a CPU.

A fake CuPy is NumPy under CuPy's name (every attribute it does not define is NumPy's), with
the few CUDA entry points hocert reads: ``cuda.runtime.getDeviceCount`` (a device count, or an
error as CuPy raises it), ``runtimeGetVersion``, ``cuda.Device().id`` and ``asnumpy``. A
backend built on it runs the whole sampling path on the CPU while claiming to be the GPU one.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest


class CUDARuntimeError(RuntimeError):
    """As ``cupy_backends.cuda.api.runtime.CUDARuntimeError`` words them."""


CUDA_ERROR_NO_DEVICE = CUDARuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")
CUDA_ERROR_INSUFFICIENT_DRIVER = CUDARuntimeError(
    "cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version"
)


class _NumpyAsCupy(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


def fake_cupy(
    devices: int = 1, error: Exception | None = None, runtime: int = 12080
) -> types.ModuleType:
    """A ``cupy`` module that sees ``devices`` CUDA devices, or raises ``error`` when asked."""

    def get_device_count() -> int:
        if error is not None:
            raise error
        return devices

    module = _NumpyAsCupy("cupy")
    module.__version__ = "14.2.0"  # type: ignore[attr-defined]
    module.asnumpy = np.asarray  # type: ignore[attr-defined]
    module.cuda = types.SimpleNamespace(  # type: ignore[attr-defined]
        runtime=types.SimpleNamespace(
            getDeviceCount=get_device_count, runtimeGetVersion=lambda: runtime
        ),
        Device=lambda *args: types.SimpleNamespace(id=0),
        get_current_stream=lambda: types.SimpleNamespace(synchronize=lambda: None),
    )
    return module


def use_cupy(monkeypatch: pytest.MonkeyPatch, module: types.ModuleType) -> types.ModuleType:
    """Make ``hocert_sampling.backend`` import ``module`` as CuPy."""
    from hocert_sampling import backend

    monkeypatch.setattr(backend, "_import_cupy", lambda: module)
    return module


def fake_onnxruntime(providers: Sequence[str], version: str = "1.26.0") -> types.ModuleType:
    """An ``onnxruntime`` module as :mod:`hocert_sampling.gpu` reads it: version, providers."""
    module = types.ModuleType("onnxruntime")
    module.__version__ = version  # type: ignore[attr-defined]
    module.get_available_providers = lambda: list(providers)  # type: ignore[attr-defined]
    return module


def use_onnxruntime(
    monkeypatch: pytest.MonkeyPatch,
    providers: Sequence[str],
    distributions: dict[str, str] | None = None,
) -> None:
    """Make :func:`hocert_sampling.gpu.onnx_runtime_info` find these providers (and these
    installed distributions, default the CPU build)."""
    from hocert_sampling import gpu

    monkeypatch.setattr(gpu, "_import_onnxruntime", lambda: fake_onnxruntime(providers))
    found = {"onnxruntime": "1.32.0"} if distributions is None else dict(distributions)
    monkeypatch.setattr(gpu, "_onnxruntime_distributions", lambda: found)
