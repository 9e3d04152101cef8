"""Backend selection, seeded generators and host transfers."""

from __future__ import annotations

import numpy as np
import pytest

from hocert_sampling import backend as backend_module
from hocert_sampling.backend import Backend, BackendError, get_backend


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
    monkeypatch.setattr(backend_module, "cupy_available", lambda: True)  # would pick CuPy on auto
    assert get_backend().name == "numpy"


def test_argument_overrides_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOCERT_BACKEND", "cupy")
    assert get_backend("numpy").name == "numpy"


def test_env_var_unknown_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOCERT_BACKEND", "tpu")
    with pytest.raises(BackendError, match="tpu"):
        get_backend()


def test_auto_without_gpu_is_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOCERT_BACKEND", raising=False)
    monkeypatch.setattr(backend_module, "cupy_available", lambda: False)
    assert get_backend().name == "numpy"
    assert get_backend("auto").name == "numpy"


def test_forced_cupy_without_gpu_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend_module, "cupy_available", lambda: False)
    with pytest.raises(BackendError, match="CuPy"):
        get_backend("cupy")


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
