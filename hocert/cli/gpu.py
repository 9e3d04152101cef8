"""``hocert gpu``: check the GPU setup (CuPy, a CUDA device, ONNX Runtime's CUDA provider), and
with ``--install`` complete it with this Python's pip.

ONNX Runtime's CPU build (``onnxruntime``, a dependency of hocert) and its GPU build
(``onnxruntime-gpu``) install the same ``onnxruntime`` package, so pip cannot add the GPU build
beside the CPU one through an extra: the GPU build has to replace it. ``--install`` does that
(and installs CuPy), then checks the result in a fresh process; ``pip install ".[gpu]" && hocert
gpu --install`` is the one documented command (docs/usage.md, "GPU installation").
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from typing import Any

from ._common import EXIT_FAILURE, EXIT_OK, CliError, add_command

__all__ = ["add_parser", "check", "install", "run"]


def add_parser(sub: Any) -> None:
    """Add ``gpu`` to the subcommands ``sub``."""
    from hocert_sampling.gpu import DEFAULT_CUDA, GPU_PACKAGES

    cudas = "".join(f"\n  CUDA {c}: {' '.join(reqs)}" for c, reqs in sorted(GPU_PACKAGES.items()))
    p = add_command(
        sub,
        "gpu",
        "check the GPU setup, or complete it (--install)",
        "Check what sampling and ONNX models on an NVIDIA GPU need: CuPy, a CUDA device, and\n"
        "ONNX Runtime's GPU build with a working CUDA provider. Exit 0 when all is there, 1\n"
        "otherwise, with what is missing and the commands that fix it.\n"
        "--install runs those commands with this Python's pip: it replaces the CPU build of\n"
        "ONNX Runtime (the package 'onnxruntime') by the GPU build ('onnxruntime-gpu'; the two\n"
        "cannot be installed together), installs CuPy, and checks again in a new process.\n"
        "The packages bring the CUDA libraries; only the NVIDIA driver must be installed:"
        f"{cudas}",
        "  hocert gpu\n  hocert gpu --install\n  hocert gpu --install --cuda 13 --dry-run",
    )
    p.add_argument(
        "--install",
        action="store_true",
        help="install what is missing with this Python's pip, then check again",
    )
    p.add_argument(
        "--cuda",
        type=int,
        choices=sorted(GPU_PACKAGES),
        help=f"CUDA major version of the packages (default: CuPy's if installed, else "
        f"{DEFAULT_CUDA})",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="with --install: print the commands, run nothing"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``hocert gpu``."""
    if args.dry_run and not args.install:
        raise CliError("--dry-run goes with --install")
    if args.install:
        return install(args.cuda, dry_run=args.dry_run)
    return check(args.cuda)


def _cuda(requested: int | None, probe: Any) -> int:
    from hocert_sampling.gpu import DEFAULT_CUDA, GPU_PACKAGES

    if requested is not None:
        return requested
    return probe.cuda_major if probe.cuda_major in GPU_PACKAGES else DEFAULT_CUDA


def _session_check() -> str | None:
    """Load the bundled example model on the CUDA provider: None, or why it did not run there."""
    import warnings

    from hocert.examples import load_example
    from hocert_sampling.models import OnnxModel

    path = load_example()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            model = OnnxModel(path, 10, "cupy")
        except Exception as exc:
            return f"loading an ONNX model on the GPU failed: {type(exc).__name__}: {exc}"
    return model.cuda_problem


def check(cuda: int | None = None) -> int:
    """Print the state of the GPU setup; exit 0 when sampling and ONNX models can run on the GPU."""
    from hocert_sampling.backend import probe_cupy
    from hocert_sampling.gpu import cuda_provider_problem, install_commands, onnx_runtime_info

    probe = probe_cupy()
    info = onnx_runtime_info()
    target = _cuda(cuda, probe)
    cupy_ok = probe.usable
    if probe.usable:
        cupy_line = f"ok, {probe.reason()}"
    elif probe.state == "not-installed":
        cupy_line = "not installed"
    else:
        cupy_line = f"not usable: {probe.error()}"
    print(f"CuPy:          {cupy_line}")
    print(f"ONNX Runtime:  {info.describe()}")
    problem = cuda_provider_problem(info, cuda=target)
    if problem is None and cupy_ok:
        problem = _session_check()
    if problem is None:
        print("CUDA provider: ok" if cupy_ok else "CUDA provider: available (not tried: no GPU)")
    else:
        print(f"CUDA provider: missing: {problem}")
    if cupy_ok and problem is None:
        print("GPU setup: ready (hocert certify --backend auto uses the GPU)")
        return EXIT_OK
    fixable = probe.state == "not-installed" or problem is not None
    print("GPU setup: not ready")
    if fixable:
        steps = install_commands(target, info, cupy=probe.state == "not-installed")
        print(f"  to fix it: hocert gpu --install   (runs: {' && '.join(steps)})")
    if probe.state in ("no-device", "driver-error", "import-error"):
        print("  CuPy: see the message above (the driver or the device, not a package)")
    return EXIT_FAILURE


def _pip_works() -> bool:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], capture_output=True, text=True, check=False
    )
    return proc.returncode == 0


def install(cuda: int | None = None, *, dry_run: bool = False) -> int:
    """Install CuPy and ONNX Runtime's GPU build with this Python's pip, then run the check in
    a new process (this one has the old ``onnxruntime`` loaded)."""
    from hocert_sampling.backend import probe_cupy
    from hocert_sampling.gpu import install_steps, onnx_runtime_info

    probe = probe_cupy()
    target = _cuda(cuda, probe)
    steps = install_steps(target, onnx_runtime_info(), cupy=True)
    python = [sys.executable, "-m", "pip"]
    shown = [shlex.join(["python", "-m", "pip", *step]) for step in steps]
    if dry_run:
        for line in shown:
            print(line)
        return EXIT_OK
    if not _pip_works():
        raise CliError(
            f"this Python ({sys.executable}) has no pip (a uv environment?); run the same with "
            f"your installer, e.g. {' && '.join(shlex.join(['uv', 'pip', *s]) for s in steps)}",
            EXIT_FAILURE,
        )
    print(
        "hocert: the GPU build of ONNX Runtime replaces the CPU build 'onnxruntime' (same "
        "package); pip will say that hocert requires onnxruntime: expected, onnxruntime-gpu "
        "provides it",
        file=sys.stderr,
    )
    for step, line in zip(steps, shown):
        print(f"$ {line}", file=sys.stderr, flush=True)
        proc = subprocess.run([*python, *step], check=False)
        if proc.returncode != 0:
            raise CliError(
                f"'{line}' failed (exit {proc.returncode}); see pip's output above", EXIT_FAILURE
            )
    print("$ hocert gpu", file=sys.stderr, flush=True)
    again = [sys.executable, "-m", "hocert", "gpu", *(["--cuda", str(cuda)] if cuda else [])]
    return subprocess.run(again, check=False).returncode
