"""Where ``hocert certify`` computes its rows: the array backend (and why it was chosen) and the
ONNX Runtime execution providers, as said on stderr, shown in the progress bar and recorded in
the sidecar's ``execution`` list (``hocert.results.execution_entry``). The entry itself comes
from ``hocert.runner.certify_dataset`` (``RunStart.execution``); this module only prints it."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["GPU_HINT", "announce", "postfix"]

#: What to run when the GPU path lacks a package (``hocert gpu``).
GPU_HINT = "or run 'hocert gpu --install', which does this"


def postfix(entry: dict[str, Any]) -> str:
    """The progress bar's postfix: ``"numpy, ONNX CPU"``."""
    from hocert_sampling.gpu import short_provider_names

    providers = entry.get("onnx_providers")
    onnx = "" if providers is None else f", ONNX {short_provider_names(providers)}"
    return f"{entry['backend']}{onnx}"


def announce(entry: dict[str, Any], quiet: bool) -> None:
    """Say on stderr which backend runs and why (unless ``quiet``), and, always, what keeps
    an ONNX model off the GPU under CuPy and what to install."""
    if not quiet:
        reason = f" ({entry['backend_reason']})" if entry.get("backend_reason") else ""
        where = " on the Dask workers" if entry.get("where") == "dask worker" else ""
        providers = entry.get("onnx_providers")
        onnx = ""
        if providers is not None:
            from hocert_sampling.gpu import short_provider_names

            onnx = f"; ONNX Runtime provider {short_provider_names(providers)}"
        print(f"hocert: backend {entry['backend']}{reason}{where}{onnx}", file=sys.stderr)
    problem = entry.get("cuda_problem")
    if problem:
        print(
            f"hocert: warning: the model runs on the CPU, every batch copied from the GPU and "
            f"back: {problem} ({GPU_HINT})",
            file=sys.stderr,
        )
