"""The array backend: NumPy on the CPU or CuPy on a CUDA GPU, chosen once.

All sampling code is written once against an array module ``xp`` (``numpy`` or ``cupy``; CuPy
mirrors the NumPy API). :func:`get_backend` picks it:

1. an explicit ``name`` argument (``"numpy"``, ``"cupy"`` or ``"auto"``), else
2. the environment variable ``HOCERT_BACKEND`` (same values), else
3. ``"auto"``: CuPy when it imports and ``cupy.is_available()`` reports a usable GPU, else NumPy.

Asking for ``"cupy"`` where CuPy or a GPU is missing is an error, never a silent fall-back.

Random numbers come from :meth:`Backend.rng`, a seeded ``Generator`` of the chosen module
(``numpy.random.default_rng`` or ``cupy.random.default_rng``), so a run is reproducible for a
fixed seed on a fixed backend. NumPy and CuPy use different bit generators: the same seed gives
different noise on the two backends, and the statistics agree only in distribution.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

ENV_VAR = "HOCERT_BACKEND"
BACKEND_NAMES = ("auto", "numpy", "cupy")


class BackendError(RuntimeError):
    """The requested backend cannot be used (unknown name, CuPy not installed, no GPU)."""


@dataclass(frozen=True)
class Backend:
    """An array module and the few operations the samplers need beyond the array API.

    Attributes
    ----------
    name : str
        ``"numpy"`` or ``"cupy"``.
    xp : module
        The array module itself (``numpy`` or ``cupy``).
    """

    name: str
    xp: ModuleType

    @property
    def is_gpu(self) -> bool:
        """True for CuPy: arrays live in GPU memory."""
        return self.name == "cupy"

    def rng(self, seed: int | None = None) -> Any:
        """A new random ``Generator`` on this backend; ``seed=None`` draws fresh entropy."""
        return self.xp.random.default_rng(seed)

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        """``a`` as an array of this backend (a copy to the device only if it is not there)."""
        return self.xp.asarray(a, dtype=dtype)

    def to_host(self, a: Any) -> np.ndarray:
        """``a`` as a NumPy array in host memory (a device-to-host copy for CuPy arrays)."""
        if self.is_gpu and isinstance(a, self.xp.ndarray):
            return self.xp.asnumpy(a)
        return np.asarray(a)

    def is_native(self, a: Any) -> bool:
        """True when ``a`` is already an array of this backend."""
        return isinstance(a, self.xp.ndarray)

    def device_id(self, a: Any) -> int:
        """The CUDA device that holds ``a`` (0 for host arrays)."""
        return int(a.device.id) if self.is_gpu else 0

    def data_ptr(self, a: Any) -> int:
        """Address of the first element of the C-contiguous array ``a`` (device or host)."""
        return int(a.data.ptr) if self.is_gpu else int(a.ctypes.data)


def cupy_available() -> bool:
    """True when CuPy imports and reports a usable CUDA device."""
    try:
        import cupy

        return bool(cupy.is_available())
    except Exception:  # ImportError, or a CUDA driver/runtime error raised on import
        return False


def get_backend(name: str | Backend | None = None) -> Backend:
    """Choose the array backend.

    Parameters
    ----------
    name : {"auto", "numpy", "cupy"}, Backend or None
        ``None`` reads the ``HOCERT_BACKEND`` environment variable (default ``"auto"``).
        ``"auto"`` picks CuPy when a GPU is usable, else NumPy. A :class:`Backend` is returned
        unchanged.

    Returns
    -------
    Backend

    Raises
    ------
    BackendError
        For an unknown name, or for ``"cupy"`` when CuPy or a CUDA device is missing.
    """
    if isinstance(name, Backend):
        return name
    if name is None:
        name = os.environ.get(ENV_VAR, "auto") or "auto"
    choice = name.strip().lower()
    if choice not in BACKEND_NAMES:
        raise BackendError(f"unknown backend {name!r}: expected one of {', '.join(BACKEND_NAMES)}")
    if choice == "auto":
        choice = "cupy" if cupy_available() else "numpy"
    if choice == "numpy":
        return Backend("numpy", np)
    if not cupy_available():
        raise BackendError(
            "backend 'cupy' requested but CuPy is not installed or no CUDA device is usable "
            "(install the 'gpu' extra, or use backend='numpy')"
        )
    import cupy

    return Backend("cupy", cupy)
