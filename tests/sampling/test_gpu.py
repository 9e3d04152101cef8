"""What the GPU path needs (``hocert_sampling.gpu``): ONNX Runtime's build and providers, what to
install for the CUDA provider, and the packages per CUDA version. ONNX Runtime's GPU states are
played by fake modules (``tests/sampling/fakes.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hocert_sampling import backend, gpu
from hocert_sampling.gpu import (
    GPU_PACKAGES,
    OnnxRuntimeInfo,
    cuda_provider_problem,
    install_commands,
    install_steps,
    onnx_runtime_info,
    provider_names,
    short_provider_names,
)

from .fakes import use_onnxruntime

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
ORT_12 = "'onnxruntime-gpu[cuda,cudnn]>=1.21,<1.27'"


def test_the_installed_onnx_runtime_is_read():
    info = onnx_runtime_info()
    assert info.version is not None
    assert CPU in info.available
    assert info.distributions  # the wheel that provides the onnxruntime package
    assert info.version in info.describe()


def test_cpu_build_says_replace_it_with_the_gpu_build(monkeypatch):
    use_onnxruntime(monkeypatch, [CPU])
    problem = cuda_provider_problem()
    assert problem is not None
    assert "without the CUDA provider (onnxruntime 1.32.0, providers CPU)" in problem
    assert problem.endswith(f"pip uninstall -y onnxruntime && pip install {ORT_12}")
    assert "'onnxruntime-gpu[cuda,cudnn]>=1.27'" in cuda_provider_problem(cuda=13)


def test_both_builds_installed_says_reinstall_the_gpu_build_alone(monkeypatch):
    use_onnxruntime(monkeypatch, [CPU], {"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.26.0"})
    problem = cuda_provider_problem()
    assert "both onnxruntime 1.32.0 and onnxruntime-gpu 1.26.0 are installed" in problem
    assert "pip uninstall -y onnxruntime onnxruntime-gpu && pip install" in problem


def test_gpu_build_without_its_provider_is_reinstalled(monkeypatch):
    use_onnxruntime(monkeypatch, [CPU], {"onnxruntime-gpu": "1.26.0"})
    problem = cuda_provider_problem()
    assert "onnxruntime-gpu 1.26.0 is installed but has no CUDA provider" in problem
    assert "pip uninstall -y onnxruntime-gpu && pip install" in problem


def test_gpu_build_whose_provider_fails_to_load(monkeypatch):
    use_onnxruntime(monkeypatch, [CUDA, CPU], {"onnxruntime-gpu": "1.26.0"})
    assert cuda_provider_problem() is None  # the build has it; no session tried
    assert cuda_provider_problem(session_providers=[CUDA, CPU]) is None
    problem = cuda_provider_problem(session_providers=[CPU])
    assert "failed to load" in problem
    assert "cuDNN" in problem
    assert problem.endswith(f"pip install {ORT_12} brings them")


def test_onnx_runtime_that_does_not_import(monkeypatch):
    def broken():
        raise ImportError("libonnxruntime.so: cannot open shared object file")

    monkeypatch.setattr(gpu, "_import_onnxruntime", broken)
    info = onnx_runtime_info()
    assert info.version is None
    assert "does not import" in info.describe()
    assert "does not import" in cuda_provider_problem(info)


def test_install_steps():
    cpu = OnnxRuntimeInfo("1.32.0", {"onnxruntime": "1.32.0"}, (CPU,))
    cupy, ort = GPU_PACKAGES[12]
    assert install_steps(12, cpu) == [["uninstall", "-y", "onnxruntime"], ["install", ort]]
    assert install_steps(12, cpu, cupy=True)[1] == ["install", cupy, ort]
    healthy = OnnxRuntimeInfo("1.26.0", {"onnxruntime-gpu": "1.26.0"}, (CUDA, CPU))
    assert install_steps(12, healthy) == [["install", ort]]  # nothing to remove
    nothing = OnnxRuntimeInfo(None, {}, (), "ImportError")
    assert install_steps(13, nothing) == [["install", GPU_PACKAGES[13][1]]]
    assert install_commands(12, cpu) == ["pip uninstall -y onnxruntime", f"pip install {ORT_12}"]
    with pytest.raises(ValueError, match="CUDA 11"):
        install_steps(11, cpu)


def test_packages_match_cuda_versions_and_the_gpu_extra():
    for cuda, (cupy, ort) in GPU_PACKAGES.items():
        assert cupy.startswith(f"cupy-cuda{cuda}x[ctk]")
        assert ort.startswith("onnxruntime-gpu[cuda,cudnn]")
    assert GPU_PACKAGES[12][0] == backend.CUPY_REQUIREMENT
    if sys.version_info < (3, 11):
        pytest.skip("tomllib needs Python 3.11")
    import tomllib

    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["optional-dependencies"]["gpu"] == [backend.CUPY_REQUIREMENT]
    assert any(d.startswith("onnxruntime") for d in project["dependencies"])  # the CPU build


def test_provider_names():
    providers = [(CUDA, {"device_id": 0}), CPU]
    assert provider_names(providers) == [CUDA, CPU]
    assert short_provider_names([CUDA, CPU]) == "CUDA, CPU"
    assert short_provider_names([]) == "none"
