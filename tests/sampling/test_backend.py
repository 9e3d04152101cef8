"""Backend selection (and why: what is missing for CuPy), seeded generators, host transfers.

No GPU is needed: CuPy's states (not installed, failing import, no device, driver error, a
usable device) are played by fake ``cupy`` modules (``tests/sampling/fakes.py``).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from hocert_sampling import backend as backend_module
from hocert_sampling.backend import Backend, BackendError, get_backend, probe_cupy

from .fakes import CUDA_ERROR_INSUFFICIENT_DRIVER, CUDA_ERROR_NO_DEVICE, fake_cupy, use_cupy


def test_numpy_by_name() -> None:
    b = get_backend("numpy")
    assert b.name == "numpy"
    assert b.xp is np
    assert not b.is_gpu


def test_name_is_case_and_space_insensitive() -> None:
    assert get_backend(" NumPy ").name == "numpy"


def test_backend_instance_passes_through() -> None:
    b = get_backend("numpy")
    assert get_backend(b) is b


def test_unknown_name_raises() -> None:
    with pytest.raises(BackendError, match="unknown backend"):
        get_backend("jax")


def test_env_var_forces_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOCERT_BACKEND", "numpy")
    use_cupy(monkeypatch, fake_cupy())  # would pick CuPy on auto
    backend = get_backend()
    assert backend.name == "numpy"
    assert backend.describe() == "numpy (HOCERT_BACKEND=numpy)"


def test_argument_overrides_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOCERT_BACKEND", "cupy")
    assert get_backend("numpy").name == "numpy"


def test_env_var_unknown_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOCERT_BACKEND", "tpu")
    with pytest.raises(BackendError, match="tpu"):
        get_backend()


def test_auto_without_cupy_is_numpy_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOCERT_BACKEND", raising=False)
    monkeypatch.setitem(sys.modules, "cupy", None)  # "import cupy" fails: not installed
    assert probe_cupy().state == "not-installed"
    assert not backend_module.cupy_available()
    for backend in (get_backend(), get_backend("auto")):
        assert backend.name == "numpy"
        assert backend.describe() == "numpy (CuPy not installed)"
    assert get_backend("numpy").describe() == "numpy (requested)"


def test_forced_cupy_not_installed_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(BackendError, match="CuPy is not installed") as info:
        get_backend("cupy")
    assert backend_module.CUPY_REQUIREMENT in str(info.value)
    assert "backend 'numpy'" in str(info.value)
    monkeypatch.setenv("HOCERT_BACKEND", "cupy")
    with pytest.raises(BackendError, match=r"^HOCERT_BACKEND=cupy: backend 'cupy' requested"):
        get_backend()


def test_auto_picks_a_usable_fake_cupy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOCERT_BACKEND", raising=False)
    fake = use_cupy(monkeypatch, fake_cupy(devices=2))
    probe = probe_cupy()
    assert probe.usable
    assert (probe.version, probe.devices, probe.cuda_major) == ("14.2.0", 2, 12)
    backend = get_backend()
    assert backend.name == "cupy"
    assert backend.xp is fake
    assert backend.is_gpu
    assert backend.describe() == "cupy (CuPy 14.2.0, 2 CUDA devices)"
    assert get_backend("cupy").reason == "requested; CuPy 14.2.0, 2 CUDA devices"
    assert backend == Backend("cupy", fake)  # the reason is not compared


def test_cupy_without_a_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    use_cupy(monkeypatch, fake_cupy(error=CUDA_ERROR_NO_DEVICE))
    probe = probe_cupy()
    assert probe.state == "no-device"
    backend = get_backend("auto")
    assert backend.name == "numpy"
    assert backend.reason.startswith("CuPy 14.2.0 installed but no CUDA device: ")
    assert "cudaErrorNoDevice" in backend.reason
    with pytest.raises(BackendError, match="no CUDA device is visible") as info:
        get_backend("cupy")
    message = str(info.value)
    assert "nvidia-smi" in message
    assert "pip" not in message  # a package would not help
    use_cupy(monkeypatch, fake_cupy(devices=0))
    assert probe_cupy().state == "no-device"


def test_cupy_without_a_device_names_cuda_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    use_cupy(monkeypatch, fake_cupy(error=CUDA_ERROR_NO_DEVICE))
    with pytest.raises(BackendError, match="CUDA_VISIBLE_DEVICES=''"):
        get_backend("cupy")


def test_cupy_with_a_driver_error(monkeypatch: pytest.MonkeyPatch) -> None:
    use_cupy(monkeypatch, fake_cupy(error=CUDA_ERROR_INSUFFICIENT_DRIVER, runtime=12080))
    probe = probe_cupy()
    assert probe.state == "driver-error"
    assert get_backend("auto").reason.startswith("CuPy 14.2.0 installed but CUDA failed")
    with pytest.raises(BackendError, match="driver") as info:
        get_backend("cupy")
    message = str(info.value)
    assert "cudaErrorInsufficientDriver" in message
    assert "CUDA 12.8" in message
    assert "not installed" not in message


def test_cupy_that_fails_to_import(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise ImportError("libnvrtc.so.12: cannot open shared object file")

    monkeypatch.setattr(backend_module, "_import_cupy", broken)
    probe = probe_cupy()
    assert probe.state == "import-error"
    assert "libnvrtc" in get_backend("auto").reason
    with pytest.raises(BackendError, match=r"fails to import.*libnvrtc"):
        get_backend("cupy")

    def missing_dependency() -> None:
        raise ModuleNotFoundError("No module named 'fastrlock'", name="fastrlock")

    monkeypatch.setattr(backend_module, "_import_cupy", missing_dependency)
    assert probe_cupy().state == "import-error"  # CuPy is there, a dependency is not


def test_seeded_generator_is_reproducible() -> None:
    b = get_backend("numpy")
    a1 = b.rng(123).standard_normal((4, 3), dtype=np.float32)
    a2 = b.rng(123).standard_normal((4, 3), dtype=np.float32)
    a3 = b.rng(124).standard_normal((4, 3), dtype=np.float32)
    assert a1.dtype == np.float32
    np.testing.assert_array_equal(a1, a2)
    assert not np.array_equal(a1, a3)


def test_to_host_and_pointers() -> None:
    b = get_backend("numpy")
    a = b.asarray([1.0, 2.0], dtype=np.float32)
    assert isinstance(b.to_host(a), np.ndarray)
    assert b.is_native(a)
    assert b.data_ptr(a) == a.ctypes.data
    assert b.device_id(a) == 0


@pytest.mark.gpu
def test_cupy_backend() -> None:
    import cupy

    b = get_backend("cupy")
    assert b.is_gpu
    assert b.xp is cupy
    a1 = b.rng(5).standard_normal((1000,), dtype=cupy.float32)
    a2 = b.rng(5).standard_normal((1000,), dtype=cupy.float32)
    assert isinstance(a1, cupy.ndarray)
    assert a1.dtype == cupy.float32
    cupy.testing.assert_array_equal(a1, a2)
    host = b.to_host(a1)
    assert isinstance(host, np.ndarray)
    assert abs(host.mean()) < 0.2
    assert b.data_ptr(a1) == a1.data.ptr


@pytest.mark.gpu
def test_auto_picks_cupy_when_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOCERT_BACKEND", raising=False)
    assert get_backend().name == "cupy"
    assert isinstance(get_backend("numpy"), Backend)
