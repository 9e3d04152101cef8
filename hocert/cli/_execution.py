"""Where ``hocert certify`` computes its rows: the array backend (and why it was chosen) and the
ONNX Runtime execution providers, as said on stderr, shown in the progress bar and recorded in
the sidecar's ``execution`` list (``hocert.results.execution_entry``)."""

from __future__ import annotations

import sys
import warnings
from typing import Any

from ._common import CliError

__all__ = ["GPU_HINT", "announce", "postfix", "resolve", "with_model"]

#: What to run when the GPU path lacks a package (``hocert gpu``).
GPU_HINT = "or run 'hocert gpu --install', which does this"

#: The start of :class:`hocert_sampling.models.OnnxModel`'s warning; the command prints its own.
_CPU_FALLBACK_WARNING = "the ONNX model runs on the CPU"


def resolve(name: str | None, client: Any) -> dict[str, Any]:
    """The execution entry of ``--backend name``: here, or on a worker of ``client``
    (exit 2 with what is missing when the backend cannot be used)."""
    from hocert.results import execution_entry
    from hocert.runner import resolve_execution
    from hocert_sampling.backend import BackendError, get_backend

    try:
        if client is None:
            backend = get_backend(name)
            return execution_entry(backend.name, backend.reason, where="local")
        return dict(client.submit(resolve_execution, name, pure=False).result())
    except BackendError as exc:
        message = str(exc).replace("use backend 'numpy'", "use --backend numpy")
        raise CliError(f"{message} ('hocert gpu' checks the whole GPU setup)") from None


def with_model(entry: dict[str, Any], load: Any) -> tuple[Any, dict[str, Any]]:
    """Call ``load()`` (which returns the model adapter) and add its execution providers to
    ``entry``; the adapter's warning about running on the CPU becomes ``cuda_problem``."""
    from hocert_sampling.gpu import onnx_runtime_info

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_CPU_FALLBACK_WARNING, category=RuntimeWarning)
        model = load()
    providers = getattr(model, "providers", None)
    entry = dict(entry)
    if providers is not None:
        entry["onnx_providers"] = list(providers)
        entry["onnxruntime"] = onnx_runtime_info().describe()
    entry["cuda_problem"] = getattr(model, "cuda_problem", None)
    return model, entry


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
