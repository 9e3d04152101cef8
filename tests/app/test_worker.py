"""The Dask side of a certify run: the workers' model cache (hocert/_worker.py)."""

from __future__ import annotations

from hocert import _worker


def test_worker_model_cache_is_per_user_private_and_unpredictable(tmp_path, monkeypatch):
    import hashlib
    import os
    import stat
    import tempfile

    import pytest

    from hocert._errors import HocertError
    from hocert.examples import load_example

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(_worker, "_WORKER_CACHE", [])
    monkeypatch.setattr(_worker, "_WORKER_MODELS", {})
    first = _worker.worker_cache_dir()
    assert first.parent == tmp_path / f"hocert-{os.getuid()}"
    assert stat.S_IMODE(first.stat().st_mode) == 0o700
    assert stat.S_IMODE(first.parent.stat().st_mode) == 0o700
    model_bytes = load_example()[0].read_bytes()
    digest = hashlib.sha256(model_bytes).hexdigest()
    _worker._worker_model(model_bytes, digest, 10, "numpy")
    assert [p.name for p in first.iterdir()] == [f"model-{digest}.onnx"]
    monkeypatch.setattr(_worker, "_WORKER_CACHE", [])
    assert _worker.worker_cache_dir() != first  # a fresh mkdtemp name per process
    other = tmp_path / "elsewhere"
    monkeypatch.setattr(tempfile, "tempdir", str(other))
    other.mkdir()
    (other / f"hocert-{os.getuid()}").symlink_to(tmp_path)  # planted by someone else
    monkeypatch.setattr(_worker, "_WORKER_CACHE", [])
    with pytest.raises(HocertError, match="not a directory of this user"):
        _worker.worker_cache_dir()
