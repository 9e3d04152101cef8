"""The GPU setup from the command line, without a GPU: which backend ``certify`` runs on and why
(stderr, progress bar, sidecar), what each failure says is missing, ``hocert gpu``'s check and
``--install``. CuPy and ONNX Runtime's GPU states are fakes (``tests/sampling/fakes.py``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hocert import runner
from hocert.cli import gpu as gpu_cli
from hocert.results import read_meta
from tests.sampling.fakes import (
    CUDA_ERROR_NO_DEVICE,
    fake_cupy,
    use_cupy,
    use_onnxruntime,
)

from .helpers import FAST, certify, run

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
LOUD = [a for a in FAST if a != "--quiet"]  # with the backend line and the progress bar


@pytest.fixture
def no_cupy(monkeypatch):
    monkeypatch.delenv("HOCERT_BACKEND", raising=False)
    monkeypatch.setitem(sys.modules, "cupy", None)  # "import cupy" fails: not installed


def test_auto_says_which_backend_and_why_and_records_it(no_cupy, tmp_path, capsys):
    out = tmp_path / "r.tsv"
    assert run("certify", "--out", str(out), "--max", "2", *LOUD) == 0
    err = capsys.readouterr().err
    assert "hocert: backend numpy (CuPy not installed); ONNX Runtime provider CPU\n" in err
    assert "numpy, ONNX CPU" in err  # the progress bar's postfix
    meta = read_meta(out)
    (entry,) = meta["execution"]
    assert entry["backend"] == meta["params"]["backend"] == "numpy"
    assert entry["backend_reason"] == "CuPy not installed"
    assert entry["onnx_providers"] == [CPU]
    assert entry["where"] == "local"
    assert entry["cuda_problem"] is None
    assert "onnxruntime" in entry["onnxruntime"]
    assert certify(out, "--max", "3") == 0  # resumed: a second entry, nothing said (--quiet)
    assert "backend" not in capsys.readouterr().err
    assert [e["backend_reason"] for e in read_meta(out)["execution"]] == ["CuPy not installed"] * 2


def test_auto_with_cupy_but_no_device_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("HOCERT_BACKEND", raising=False)
    use_cupy(monkeypatch, fake_cupy(error=CUDA_ERROR_NO_DEVICE))
    assert run("certify", "--out", str(tmp_path / "r.tsv"), "--max", "1", *LOUD) == 0
    err = capsys.readouterr().err
    assert (
        "hocert: backend numpy (CuPy 14.2.0 installed but no CUDA device: CUDARuntimeError: "
        "cudaErrorNoDevice: no CUDA-capable device is detected)"
    ) in err


def test_forced_cupy_says_what_is_missing(no_cupy, monkeypatch, tmp_path, capsys):
    out = str(tmp_path / "r.tsv")
    assert certify(tmp_path / "r.tsv", "--backend", "cupy") == 2
    err = capsys.readouterr().err
    assert "CuPy is not installed: install it with pip install" in err
    assert "--backend numpy" in err
    assert "'hocert gpu'" in err
    use_cupy(monkeypatch, fake_cupy(error=CUDA_ERROR_NO_DEVICE))
    assert run("certify", "--out", out, "--backend", "cupy", *FAST) == 2
    err = capsys.readouterr().err
    assert "no CUDA device is visible" in err
    assert "not installed" not in err


def test_cupy_with_the_cpu_build_of_onnx_runtime_warns_with_the_fix(monkeypatch, tmp_path, capsys):
    """CUDA requested (CuPy works) but ONNX Runtime has only the CPU provider: the run goes on,
    the model on the CPU, and the warning says exactly what to install (even with --quiet)."""
    use_cupy(monkeypatch, fake_cupy())  # NumPy under CuPy's name: the run works on the CPU
    out = tmp_path / "r.tsv"
    assert certify(out, "--max", "2", "--backend", "cupy") == 0
    err = capsys.readouterr().err
    assert "hocert: warning: the model runs on the CPU" in err
    assert "pip uninstall -y onnxruntime && pip install 'onnxruntime-gpu[cuda,cudnn]" in err
    assert "hocert gpu --install" in err
    assert "RuntimeWarning" not in err  # the library's warning is replaced by the line above
    meta = read_meta(out)
    (entry,) = meta["execution"]
    assert entry["backend"] == meta["params"]["backend"] == "cupy"
    assert entry["backend_reason"] == "requested; CuPy 14.2.0, 1 CUDA device"
    assert entry["onnx_providers"] == [CPU]
    assert "pip uninstall -y onnxruntime" in entry["cuda_problem"]


def test_the_worker_reports_its_execution(monkeypatch):
    """What a Dask worker answers (``runner.resolve_execution``): its backend and why, the
    providers a model file asks for there, and what keeps the model off the CUDA provider."""
    use_cupy(monkeypatch, fake_cupy())
    use_onnxruntime(monkeypatch, [CPU])
    entry = runner.resolve_execution("auto")
    assert entry["where"] == "dask worker"
    assert entry["backend"] == "cupy"
    assert entry["onnx_providers"] == [CPU]
    assert "pip uninstall -y onnxruntime" in entry["cuda_problem"]
    use_onnxruntime(monkeypatch, [CUDA, CPU], {"onnxruntime-gpu": "1.26.0"})
    entry = runner.resolve_execution("cupy")
    assert entry["onnx_providers"] == [CUDA, CPU]
    assert entry["cuda_problem"] is None
    entry = runner.resolve_execution("numpy")
    assert (entry["backend"], entry["backend_reason"], entry["cuda_problem"]) == (
        "numpy",
        "requested",
        None,
    )


def test_dask_run_records_the_workers_execution(no_cupy, scheduler_address, tmp_path, capsys):
    out = tmp_path / "r.tsv"
    argv = ["--max", "1", "--scheduler", scheduler_address]
    assert run("certify", "--out", str(out), *argv, *LOUD) == 0
    assert "backend numpy (CuPy not installed) on the Dask workers" in capsys.readouterr().err
    (entry,) = read_meta(out)["execution"]
    assert entry["where"] == "dask worker"
    assert entry["onnx_providers"] == [CPU]


# ----- hocert gpu ------------------------------------------------------------------------------


def test_gpu_check_without_cupy(no_cupy, capsys):
    assert run("gpu") == 1
    out = capsys.readouterr().out
    assert "CuPy:          not installed" in out
    assert "ONNX Runtime:  " in out
    assert "GPU setup: not ready" in out
    assert "to fix it: hocert gpu --install" in out
    assert "pip install 'cupy-cuda12x[ctk]>=14'" in out


def test_gpu_check_with_a_device_and_the_gpu_build(monkeypatch, capsys):
    use_cupy(monkeypatch, fake_cupy(runtime=13000))
    use_onnxruntime(monkeypatch, [CUDA, CPU], {"onnxruntime-gpu": "1.30.0"})
    monkeypatch.setattr(gpu_cli, "_session_check", lambda: None)  # the model ran on CUDA
    assert run("gpu") == 0
    out = capsys.readouterr().out
    assert "CuPy:          ok, CuPy 14.2.0, 1 CUDA device" in out
    assert "CUDA provider: ok" in out
    assert "GPU setup: ready" in out
    # the real session check: this ONNX Runtime cannot load the CUDA provider
    monkeypatch.undo()
    use_cupy(monkeypatch, fake_cupy())
    use_onnxruntime(monkeypatch, [CUDA, CPU], {"onnxruntime-gpu": "1.26.0"})
    assert run("gpu") == 1
    out = capsys.readouterr().out
    assert "CUDA provider: missing: ONNX Runtime 1.26.0 has the CUDA provider, but it failed" in out


def test_gpu_check_with_cupy_but_a_cpu_build(monkeypatch, capsys):
    use_cupy(monkeypatch, fake_cupy(runtime=13000))
    use_onnxruntime(monkeypatch, [CPU])
    assert run("gpu") == 1
    out = capsys.readouterr().out
    assert "for CUDA 13" in out  # CuPy's CUDA version decides the packages
    assert "&& pip install 'onnxruntime-gpu[cuda,cudnn]>=1.27')" in out  # CuPy is there
    assert "to fix it: hocert gpu --install" in out
    assert run("gpu", "--cuda", "12") == 1
    assert "for CUDA 12" in capsys.readouterr().out


def test_gpu_install_dry_run(no_cupy, monkeypatch, capsys):
    use_onnxruntime(monkeypatch, [CPU])
    assert run("gpu", "--install", "--dry-run") == 0
    assert capsys.readouterr().out.splitlines() == [
        "python -m pip uninstall -y onnxruntime",
        "python -m pip install 'cupy-cuda12x[ctk]>=14' 'onnxruntime-gpu[cuda,cudnn]>=1.21,<1.27'",
    ]
    assert run("gpu", "--dry-run") == 2
    assert "--dry-run goes with --install" in capsys.readouterr().err


def test_gpu_install_runs_pip_then_checks_in_a_new_process(no_cupy, monkeypatch, capsys):
    use_onnxruntime(monkeypatch, [CPU], {"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.26.0"})
    calls = []

    def fake_run(argv, **kwargs):
        calls.append(argv[1:])
        return subprocess.CompletedProcess(argv, 0 if len(calls) < 4 else 7, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    assert run("gpu", "--install", "--cuda", "13") == 7  # the new process's check decides
    assert calls == [
        ["-m", "pip", "--version"],
        ["-m", "pip", "uninstall", "-y", "onnxruntime", "onnxruntime-gpu"],
        ["-m", "pip", "install", "cupy-cuda13x[ctk]>=14", "onnxruntime-gpu[cuda,cudnn]>=1.27"],
        ["-m", "hocert", "gpu", "--cuda", "13"],
    ]
    err = capsys.readouterr().err
    assert "pip will say that hocert requires onnxruntime: expected" in err


def test_gpu_install_failures(no_cupy, monkeypatch, capsys):
    use_onnxruntime(monkeypatch, [CPU])
    codes = iter([0, 0, 1])  # pip works, uninstall works, install fails

    def failing(argv, **kwargs):
        return subprocess.CompletedProcess(argv, next(codes), "", "")

    monkeypatch.setattr(subprocess, "run", failing)
    assert run("gpu", "--install") == 1
    assert "'python -m pip install" in capsys.readouterr().err

    def no_pip(argv, **kwargs):
        return subprocess.CompletedProcess(argv, 1, "", "No module named pip")

    monkeypatch.setattr(subprocess, "run", no_pip)
    assert run("gpu", "--install") == 1
    err = capsys.readouterr().err
    assert "has no pip" in err
    assert "uv pip uninstall -y onnxruntime && uv pip install" in err
