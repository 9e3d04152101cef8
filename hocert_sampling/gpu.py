"""What the GPU path needs, and what is missing: the packages per CUDA version and ONNX Runtime's
build and execution providers.

Sampling on the GPU needs CuPy (:func:`hocert_sampling.backend.probe_cupy` tells what is
wrong with it); running an ONNX model there needs ONNX Runtime's GPU build, the distribution
``onnxruntime-gpu``, whose CUDA execution provider reads the batches in place from CuPy's
memory. The CPU build ``onnxruntime`` and the GPU build ``onnxruntime-gpu`` install the same
import package, ``onnxruntime``: with both installed, the files of whichever was installed last
are the ones in use, and uninstalling either breaks the other. So the GPU build replaces the CPU
build; it cannot be added beside it (docs/usage.md, "GPU installation").

:func:`onnx_runtime_info` reads what is installed, :func:`cuda_provider_problem` says what is
missing for the CUDA provider and the exact commands that fix it (:func:`install_commands`).
Nothing here imports CuPy or loads a model.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "CPU_DISTRIBUTION",
    "CUDA_PROVIDER",
    "DEFAULT_CUDA",
    "GPU_DISTRIBUTION",
    "GPU_PACKAGES",
    "OnnxRuntimeInfo",
    "cuda_provider_problem",
    "install_commands",
    "install_steps",
    "onnx_runtime_info",
    "provider_names",
    "short_provider_names",
]

#: ONNX Runtime's CUDA execution provider.
CUDA_PROVIDER = "CUDAExecutionProvider"
#: ONNX Runtime's CPU build (hocert's dependency) and its GPU build.
CPU_DISTRIBUTION = "onnxruntime"
GPU_DISTRIBUTION = "onnxruntime-gpu"

#: The CUDA major version the GPU installation targets unless told otherwise (``hocert gpu``):
#: CUDA 12 runs on every NVIDIA driver from 525 on.
DEFAULT_CUDA = 12

#: Per CUDA major version: the CuPy and ONNX Runtime requirements of the GPU path. Both bring
#: the CUDA libraries they need from pip (CuPy's ``ctk`` extra, ONNX Runtime's ``cuda`` and
#: ``cudnn`` extras), so no CUDA toolkit is needed, only the NVIDIA driver. The ONNX Runtime
#: GPU builds on PyPI use CUDA 12 from 1.19 to 1.26 and CUDA 13 from 1.27; ``preload_dlls``,
#: which loads those pip libraries, exists from 1.21.
GPU_PACKAGES: dict[int, tuple[str, str]] = {
    12: ("cupy-cuda12x[ctk]>=14", "onnxruntime-gpu[cuda,cudnn]>=1.21,<1.27"),
    13: ("cupy-cuda13x[ctk]>=14", "onnxruntime-gpu[cuda,cudnn]>=1.27"),
}


def provider_names(providers: Sequence[object]) -> list[str]:
    """Provider names from a ``providers=`` list (names or ``(name, options)`` pairs)."""
    return [str(p[0]) if isinstance(p, (tuple, list)) else str(p) for p in providers]


def short_provider_names(providers: Sequence[str]) -> str:
    """``"CUDA, CPU"`` for ``["CUDAExecutionProvider", "CPUExecutionProvider"]``."""
    return ", ".join(p.removesuffix("ExecutionProvider") for p in providers) or "none"


@dataclass(frozen=True)
class OnnxRuntimeInfo:
    """The ONNX Runtime installed here (:func:`onnx_runtime_info`).

    Attributes
    ----------
    version : str or None
        ``onnxruntime.__version__``; None when it does not import.
    distributions : dict of str to str
        The installed distributions that provide the ``onnxruntime`` package, with their
        versions (``{"onnxruntime": "1.32.0"}`` for the CPU build).
    available : tuple of str
        ``onnxruntime.get_available_providers()``.
    error : str
        Why ``onnxruntime`` does not import (empty when it does).
    """

    version: str | None
    distributions: dict[str, str] = field(default_factory=dict)
    available: tuple[str, ...] = ()
    error: str = ""

    @property
    def has_cuda(self) -> bool:
        """True when this build has the CUDA provider (it may still fail to load)."""
        return CUDA_PROVIDER in self.available

    def describe(self) -> str:
        """``"onnxruntime 1.32.0 (providers CPU)"``, or why it does not import."""
        if self.version is None:
            return f"ONNX Runtime does not import: {self.error}"
        dists = ", ".join(f"{d} {v}" for d, v in sorted(self.distributions.items()))
        providers = short_provider_names(self.available)
        return f"{dists or 'onnxruntime ' + self.version} (providers {providers})"


def _import_onnxruntime() -> object:
    """``import onnxruntime`` (a seam for tests, which hand in fake modules)."""
    return importlib.import_module("onnxruntime")


def _onnxruntime_distributions() -> dict[str, str]:
    """The installed distributions whose files include the ``onnxruntime`` package."""
    names = importlib.metadata.packages_distributions().get("onnxruntime", [])
    found = {}
    for name in dict.fromkeys(names):
        try:
            found[name.lower()] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a broken install
            continue
    return found


def onnx_runtime_info() -> OnnxRuntimeInfo:
    """What ONNX Runtime is installed: its version, the distributions behind it, its providers.

    Never raises; an ONNX Runtime that does not import is reported in ``error``.
    """
    dists = _onnxruntime_distributions()
    try:
        ort = _import_onnxruntime()
        version = str(getattr(ort, "__version__", "")) or "unknown"
        available = tuple(ort.get_available_providers())  # type: ignore[attr-defined]
    except Exception as exc:
        return OnnxRuntimeInfo(None, dists, (), f"{type(exc).__name__}: {exc}")
    return OnnxRuntimeInfo(version, dists, available)


def install_steps(
    cuda: int = DEFAULT_CUDA, info: OnnxRuntimeInfo | None = None, *, cupy: bool = False
) -> list[list[str]]:
    """The pip invocations (arguments after ``pip``) that give ONNX Runtime's GPU build for
    ``cuda`` (and CuPy with ``cupy``), in order.

    Every installed ONNX Runtime distribution is uninstalled first (they share files), unless
    the GPU build is the only one and has its CUDA provider. The installs are idempotent: run
    again, they only add what is missing.

    Parameters
    ----------
    cuda : int
        CUDA major version, a key of :data:`GPU_PACKAGES`.
    info : OnnxRuntimeInfo, optional
        What is installed (default: :func:`onnx_runtime_info`).
    cupy : bool
        Also install CuPy for ``cuda``.
    """
    if cuda not in GPU_PACKAGES:
        raise ValueError(f"no GPU packages for CUDA {cuda}: known {sorted(GPU_PACKAGES)}")
    info = onnx_runtime_info() if info is None else info
    cupy_req, ort_req = GPU_PACKAGES[cuda]
    steps = []
    healthy = set(info.distributions) == {GPU_DISTRIBUTION} and info.has_cuda
    if info.distributions and not healthy:
        steps.append(["uninstall", "-y", *sorted(info.distributions)])
    steps.append(["install", *([cupy_req] if cupy else []), ort_req])
    return steps


def install_commands(
    cuda: int = DEFAULT_CUDA, info: OnnxRuntimeInfo | None = None, *, cupy: bool = False
) -> list[str]:
    """:func:`install_steps` as shell command lines (``pip uninstall -y onnxruntime``, ...)."""
    return [shlex.join(["pip", *step]) for step in install_steps(cuda, info, cupy=cupy)]


def cuda_provider_problem(
    info: OnnxRuntimeInfo | None = None,
    session_providers: Sequence[str] | None = None,
    cuda: int | None = None,
) -> str | None:
    """Why ONNX Runtime cannot run a model on the GPU here, with what to install; None if it can.

    Parameters
    ----------
    info : OnnxRuntimeInfo, optional
        What is installed (default: :func:`onnx_runtime_info`).
    session_providers : sequence of str, optional
        ``session.get_providers()`` of a session that asked for the CUDA provider: without
        ``CUDAExecutionProvider`` it failed to load (CUDA or cuDNN libraries missing).
    cuda : int, optional
        The CUDA major version to recommend packages for (default :data:`DEFAULT_CUDA`; pass
        CuPy's, :attr:`hocert_sampling.backend.CupyProbe.cuda_major`, to match it).
    """
    info = onnx_runtime_info() if info is None else info
    cuda = cuda if cuda in GPU_PACKAGES else DEFAULT_CUDA
    fix = " && ".join(install_commands(cuda, info))
    dists = info.distributions
    if info.version is None:
        return f"ONNX Runtime does not import ({info.error}); install its GPU build: {fix}"
    if not info.has_cuda:
        providers = short_provider_names(info.available)
        if CPU_DISTRIBUTION in dists and GPU_DISTRIBUTION in dists:
            return (
                f"both {CPU_DISTRIBUTION} {dists[CPU_DISTRIBUTION]} and {GPU_DISTRIBUTION} "
                f"{dists[GPU_DISTRIBUTION]} are installed; they share the 'onnxruntime' package "
                f"and the files in use are the CPU build's (providers {providers}); reinstall the "
                f"GPU build alone: {fix}"
            )
        if GPU_DISTRIBUTION in dists:
            return (
                f"{GPU_DISTRIBUTION} {dists[GPU_DISTRIBUTION]} is installed but has no CUDA "
                f"provider (providers {providers}; another package may have overwritten its "
                f"files); reinstall it: {fix}"
            )
        build = ", ".join(f"{d} {v}" for d, v in sorted(dists.items())) or info.version
        return (
            f"ONNX Runtime here is a build without the CUDA provider ({build}, providers "
            f"{providers}); replace it with the GPU build for CUDA {cuda}: {fix}"
        )
    if session_providers is not None and CUDA_PROVIDER not in session_providers:
        _, ort_req = GPU_PACKAGES[cuda]
        return (
            f"ONNX Runtime {info.version} has the CUDA provider, but it failed to load (the CUDA "
            f"{cuda} or cuDNN 9 libraries it needs were not found; ONNX Runtime's message above "
            f"names the library): pip install {shlex.quote(ort_req)} brings them"
        )
    return None
