"""The array backend: NumPy on the CPU or CuPy on a CUDA GPU, chosen once.

All sampling code is written once against an array module ``xp`` (``numpy`` or ``cupy``; CuPy
mirrors the NumPy API). :func:`get_backend` picks it:

1. an explicit ``name`` argument (``"numpy"``, ``"cupy"`` or ``"auto"``), else
2. the environment variable ``HOCERT_BACKEND`` (same values), else
3. ``"auto"``: CuPy when it imports and sees a CUDA device, else NumPy.

Every choice says why it was made (:attr:`Backend.reason`, e.g. ``"CuPy not installed"``), so
``auto`` never falls back to NumPy silently. Asking for ``"cupy"`` where it cannot work is an
error that names what is missing (:func:`probe_cupy`): CuPy not installed, CuPy installed but
failing to import, no CUDA device, or a CUDA driver error.

Random numbers come from :meth:`Backend.rng`, a seeded ``Generator`` of the chosen module
(``numpy.random.default_rng`` or ``cupy.random.default_rng``), so a run is reproducible for a
fixed seed on a fixed backend. NumPy and CuPy use different bit generators: the same seed gives
different noise on the two backends, and the statistics agree only in distribution.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from ._errors import HocertSamplingError

__all__ = [
    "BACKEND_NAMES",
    "ENV_VAR",
    "Backend",
    "BackendError",
    "CupyProbe",
    "cupy_available",
    "get_backend",
    "probe_cupy",
]

ENV_VAR = "HOCERT_BACKEND"
BACKEND_NAMES = ("auto", "numpy", "cupy")


class BackendError(HocertSamplingError, RuntimeError):
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
    reason : str
        Why this backend was chosen, e.g. ``"requested"``, ``"HOCERT_BACKEND=numpy"``,
        ``"CuPy not installed"`` or ``"CuPy 14.2.0, 1 CUDA device"`` (not compared).
    """

    name: str
    xp: ModuleType
    reason: str = field(default="", compare=False)

    def describe(self) -> str:
        """``"numpy (CuPy not installed)"``: the name and, when known, why it was chosen."""
        return f"{self.name} ({self.reason})" if self.reason else self.name

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


#: What :func:`probe_cupy` can find, from usable to not installed.
CUPY_STATES = ("ok", "no-device", "driver-error", "import-error", "not-installed")


@dataclass(frozen=True)
class CupyProbe:
    """What importing CuPy and asking CUDA for its devices found (:func:`probe_cupy`).

    Attributes
    ----------
    state : str
        ``"ok"`` (a CUDA device is usable), ``"not-installed"``, ``"import-error"`` (CuPy is
        installed but its import fails), ``"no-device"`` (CUDA works but sees no device) or
        ``"driver-error"`` (the CUDA driver is missing, too old, or fails).
    detail : str
        The error behind any state but ``"ok"`` (``"ExceptionType: message"``).
    version : str or None
        CuPy's version, when it imports.
    devices : int
        Number of CUDA devices CuPy sees.
    cuda_runtime : int or None
        The CUDA runtime version CuPy was built for (e.g. 12080), when it imports.
    """

    state: str
    detail: str = ""
    version: str | None = None
    devices: int = 0
    cuda_runtime: int | None = None

    @property
    def usable(self) -> bool:
        """True when the CuPy backend can run here."""
        return self.state == "ok"

    @property
    def cuda_major(self) -> int | None:
        """The major CUDA version of this CuPy build (12 for ``cupy-cuda12x``), if known."""
        return None if self.cuda_runtime is None else self.cuda_runtime // 1000

    def reason(self) -> str:
        """A short phrase: why ``auto`` picks CuPy, or why it does not."""
        cupy = f"CuPy {self.version}" if self.version else "CuPy"
        if self.state == "ok":
            return f"{cupy}, {self.devices} CUDA device{'s' if self.devices != 1 else ''}"
        if self.state == "not-installed":
            return "CuPy not installed"
        if self.state == "import-error":
            return f"CuPy installed but its import failed: {self.detail}"
        if self.state == "no-device":
            return f"{cupy} installed but no CUDA device: {self.detail}"
        return f"{cupy} installed but CUDA failed: {self.detail}"

    def error(self) -> str:
        """Why ``backend="cupy"`` cannot be used here, and what to do about it."""
        alternative = "or use backend 'numpy'"
        if self.state == "not-installed":
            return (
                "backend 'cupy' requested but CuPy is not installed: install it with "
                f"pip install \"{CUPY_REQUIREMENT}\" (or the package's 'gpu' extra), "
                f"{alternative}"
            )
        if self.state == "import-error":
            return (
                f"backend 'cupy' requested but CuPy is installed and fails to import: "
                f"{self.detail} (a CuPy package for another CUDA version, or several CuPy "
                f"packages at once? 'pip list | grep -i cupy' shows them), {alternative}"
            )
        if self.state == "no-device":
            visible = os.environ.get("CUDA_VISIBLE_DEVICES")
            hint = (
                f"CUDA_VISIBLE_DEVICES={visible!r} hides the devices"
                if visible is not None and visible.strip() in ("", "-1", "none", "NoDevFiles")
                else "'nvidia-smi' lists the devices this machine has"
            )
            return (
                f"backend 'cupy' requested but no CUDA device is visible ({self.detail}); "
                f"CuPy {self.version} is installed and CUDA works; {hint}; {alternative}"
            )
        needs = ""
        if self.cuda_runtime is not None:
            needs = (
                f"; this CuPy is built for CUDA {self.cuda_runtime // 1000}."
                f"{self.cuda_runtime % 1000 // 10}, which needs an NVIDIA driver that supports it"
            )
        return (
            f"backend 'cupy' requested but CUDA failed: {self.detail} (CuPy {self.version} is "
            f"installed; the NVIDIA driver is missing, too old or not loaded{needs}; "
            f"'nvidia-smi' shows the driver's CUDA version), {alternative}"
        )


#: The CuPy package that ``pip install "hocert[gpu]"`` brings (CUDA 12, its libraries from pip).
CUPY_REQUIREMENT = "cupy-cuda12x[ctk]>=14"


def _import_cupy() -> ModuleType:
    """``import cupy`` (a seam for tests, which hand in fake modules)."""
    return importlib.import_module("cupy")


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text and text[0] else type(exc).__name__


def probe_cupy() -> CupyProbe:
    """Find out whether the CuPy backend can run here, and if not, what is missing.

    Imports CuPy and asks the CUDA runtime how many devices it sees; nothing is allocated.
    Never raises.

    Returns
    -------
    CupyProbe
    """
    try:
        cupy = _import_cupy()
    except ModuleNotFoundError as exc:
        if exc.name in ("cupy", None) or not exc.name:
            return CupyProbe("not-installed", _error_text(exc))
        return CupyProbe("import-error", _error_text(exc))
    except Exception as exc:  # ImportError of a CUDA library, or a driver error on import
        return CupyProbe("import-error", _error_text(exc))
    version = str(getattr(cupy, "__version__", "")) or None
    runtime_api = cupy.cuda.runtime
    try:
        cuda_runtime: int | None = int(runtime_api.runtimeGetVersion())
    except Exception:
        cuda_runtime = None
    try:
        devices = int(runtime_api.getDeviceCount())
    except Exception as exc:  # CUDARuntimeError: no device, insufficient driver, ...
        text = _error_text(exc)
        state = "no-device" if "nodevice" in text.lower().replace(" ", "") else "driver-error"
        return CupyProbe(state, text, version, 0, cuda_runtime)
    if devices < 1:
        return CupyProbe(
            "no-device", "the CUDA runtime reports 0 devices", version, 0, cuda_runtime
        )
    return CupyProbe("ok", "", version, devices, cuda_runtime)


def cupy_available() -> bool:
    """True when CuPy imports and reports a usable CUDA device (:func:`probe_cupy`)."""
    return probe_cupy().usable


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
        With :attr:`Backend.reason` saying why, e.g. ``numpy (CuPy not installed)``.

    Raises
    ------
    BackendError
        For an unknown name, or for ``"cupy"`` where it cannot run; the message says what is
        missing (CuPy not installed, failing to import, no CUDA device, or a driver error).
    """
    if isinstance(name, Backend):
        return name
    source = "requested"
    if name is None:
        name = os.environ.get(ENV_VAR, "auto") or "auto"
        if ENV_VAR in os.environ and name.strip().lower() != "auto":
            source = f"{ENV_VAR}={name.strip()}"
    choice = name.strip().lower()
    if choice not in BACKEND_NAMES:
        raise BackendError(f"unknown backend {name!r}: expected one of {', '.join(BACKEND_NAMES)}")
    if choice == "numpy":
        return Backend("numpy", np, source)
    probe = probe_cupy()
    if choice == "auto" and not probe.usable:
        return Backend("numpy", np, probe.reason())
    if not probe.usable:
        raise BackendError(probe.error() if source == "requested" else f"{source}: {probe.error()}")
    reason = probe.reason() if choice == "auto" else f"{source}; {probe.reason()}"
    return Backend("cupy", _import_cupy(), reason)
