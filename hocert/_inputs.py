"""What a certify run is given, checked before any input is certified: the data, the model, the
backend and the parameters (:class:`RunInputError` when they do not fit), and what the sidecar
records of them (the model's identity, the data's digest, where the rows are computed).

Shared by :func:`hocert.runner.certify_dataset` and :func:`hocert.runner.plan_dataset`;
importable from :mod:`hocert.runner`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hocert_sampling.models import LabelModel, as_label_model

from ._errors import HocertError
from ._worker import probe_factory_task, resolve_execution
from .model_factory import ModelFactory

__all__ = [
    "RunInputError",
    "check_data",
    "resolve_model",
    "resolve_num_classes",
    "sha256_arrays",
    "targets",
]


class RunInputError(HocertError, ValueError):
    """The data, the model or the parameters of a run do not fit (bad input, before any row is
    certified): e.g. a label outside ``[0, num_classes)``, a model that rejects the inputs' shape
    or returns neither scores nor labels, a model file that does not exist."""


def check_data(x: np.ndarray, y: np.ndarray, where: str = "the data") -> None:
    """Inputs ``x`` (N, ...) numeric, finite in float32, labels ``y`` (N,) integral
    (:class:`RunInputError` otherwise)."""
    if x.dtype.kind not in "fiub" or x.ndim < 2:
        raise RunInputError(
            f"{where}: x must be a numeric array of shape (N, ...), got {x.dtype} {x.shape}"
        )
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise RunInputError(f"{where}: y must have shape ({x.shape[0]},) like x, got {y.shape}")
    if y.dtype.kind not in "iu" and not (
        y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y))
    ):
        raise RunInputError(f"{where}: y must hold integer labels, got dtype {y.dtype}")
    if x.shape[0] == 0:
        raise RunInputError(f"{where}: the data set is empty")
    if not np.all(np.isfinite(x)):
        raise RunInputError(f"{where}: x contains NaN or inf")
    big = float(np.max(np.abs(x))) if x.dtype.kind == "f" else 0.0
    if big > float(np.finfo(np.float32).max):  # the samples and the model run in float32
        raise RunInputError(
            f"{where}: x holds values up to {big:.3g} in magnitude, beyond float32's range "
            f"({np.finfo(np.float32).max:.3g}), in which inputs are sampled: rescale the data"
        )


def resolve_num_classes(
    requested: int | None, width: int | None, y: np.ndarray, where: str = "the data"
) -> int:
    """``num_classes``, checked against the model's output width (None: it returns labels) and
    against the labels ``y`` (:class:`RunInputError` when too small)."""
    if requested is None:
        if width is None:
            raise RunInputError("the model returns labels, not scores: pass num_classes")
        num_classes = width
    elif width is not None and width != requested:
        raise RunInputError(f"num_classes={requested} but the model returns {width} scores")
    else:
        num_classes = int(requested)
    low, high = (int(y.min()), int(y.max())) if y.size else (0, 0)
    if low < 0:
        raise RunInputError(f"{where}: labels y must be >= 0, got {low}")
    if high >= num_classes:
        given = f"num_classes={num_classes} is" if requested else f"{num_classes} classes are"
        raise RunInputError(
            f"{given} too few: the labels y of {where} go up to {high} (labels must lie in "
            f"[0, {num_classes}))"
        )
    return num_classes


def targets(n_inputs: int, skip: int = 1, maximum: int | None = None) -> list[int]:
    """Indices to certify: every ``skip``-th input from 0, at most ``maximum`` of them."""
    idx = list(range(0, n_inputs, skip))
    return idx if maximum is None else idx[:maximum]


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_arrays(*arrays: np.ndarray) -> str:
    """The SHA-256 of arrays' dtypes, shapes and bytes (the sidecar's ``data_sha256``)."""
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()


def resolve_model(
    model: Any, model_args: Mapping[str, str] | None = None
) -> Path | ModelFactory | Any:
    """The model of a run: an ONNX file (``Path``), a :class:`ModelFactory` (a
    ``"module:factory"`` string or one already parsed), or a callable / ``LabelModel`` as is.
    ``model_args`` go to a factory only."""
    from .model_factory import is_factory_spec

    if isinstance(model, ModelFactory):
        return model if not model_args else ModelFactory.parse(model.spec, model_args)
    if isinstance(model, str) and is_factory_spec(model):
        return ModelFactory.parse(model, model_args)
    if model_args:
        raise RunInputError("model arguments are for a model named by module:factory")
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.is_file():
            raise RunInputError(f"model file not found: {path}")
        return path
    if callable(model):
        return model
    raise RunInputError(
        f"cannot use a {type(model).__name__} as a model: pass an ONNX path, a "
        "'module:factory' spec or a callable batch -> scores/labels"
    )


def _probe(source: Any, x: np.ndarray, backend: str, client: Any) -> int | None:
    """The model's scores per input on ``x[:1]`` (None: labels); :class:`RunInputError`."""
    from hocert_sampling.models import ModelError, probe_callable_model, probe_onnx_model

    try:
        if isinstance(source, Path):
            return probe_onnx_model(source, x[:1])
        if isinstance(source, LabelModel):
            out = source(source.backend.asarray(x[:1].astype(np.float32)))
            return None if out is None else source.num_classes
        if isinstance(source, ModelFactory):
            assert client is not None  # a local factory is loaded before probing
            return client.submit(probe_factory_task, source, backend, x[:1], pure=False).result()
        return probe_callable_model(source, x[:1], backend)
    except (ModelError, ValueError, TypeError, OSError) as exc:
        raise RunInputError(str(exc)) from None


def _local_execution(backend: str | None, client: Any, onnx: bool) -> dict[str, Any]:
    """The execution entry of ``backend`` here, or on a worker of ``client``
    (``hocert_sampling.backend.BackendError`` when it cannot be used)."""
    from hocert_sampling.backend import get_backend

    from .results import execution_entry

    if client is None:
        be = get_backend(backend)
        return execution_entry(be.name, be.reason, where="local")
    return dict(client.submit(resolve_execution, backend, onnx, pure=False).result())


def _with_model(entry: dict[str, Any], load: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    """Call ``load()`` (the model adapter) and add its ONNX providers to ``entry``; the
    adapter's warning about running on the CPU becomes ``cuda_problem``."""
    import warnings

    from hocert_sampling.gpu import onnx_runtime_info

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="the ONNX model runs on the CPU", category=RuntimeWarning
        )
        model = load()
    providers = getattr(model, "providers", None)
    entry = dict(entry)
    if providers is not None:
        entry["onnx_providers"] = list(providers)
        entry["onnxruntime"] = onnx_runtime_info().describe()
    entry["cuda_problem"] = getattr(model, "cuda_problem", None)
    return model, entry


def _model_identity(source: Any) -> tuple[dict[str, Any], str]:
    """The sidecar parameters that identify the model (compared on resume), and its description."""
    if isinstance(source, Path):
        return {"model_sha256": _sha256_file(source)}, str(source.resolve())
    if isinstance(source, ModelFactory):
        return source.as_params(), source.describe()
    fn = source.fn if hasattr(source, "fn") else source
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    qualified = f"{getattr(fn, '__module__', None) or type(fn).__module__}.{name}"
    return {"model_callable": qualified}, f"Python callable {qualified}"


def _check_run_values(**values: Any) -> None:
    checks = {
        "sigma": lambda v: v > 0 and np.isfinite(v),
        "n0": lambda v: v >= 1,
        "n": lambda v: v >= 2,
        "alpha": lambda v: 0 < v < 1,
        "batch": lambda v: v >= 1,
        "skip": lambda v: v >= 1,
        "max_inputs": lambda v: v is None or v >= 1,
        "seed": lambda v: v >= 0,
    }
    for key, ok in checks.items():
        if key in values and not ok(values[key]):
            raise RunInputError(f"{key}={values[key]!r} is out of range")


def _subspace_names(subspaces: str | None, shape: tuple[int, ...]) -> list[str]:
    from hocert_sampling.smoothing import resolve_subspaces

    try:
        return list(resolve_subspaces(subspaces, shape))
    except ValueError as exc:
        raise RunInputError(f"subspaces={subspaces}: {exc}") from None


def _estimator(estimator: str | None) -> str:
    from hocert_sampling.bounds import check_estimator

    try:
        return check_estimator(estimator)
    except (TypeError, ValueError) as exc:
        raise RunInputError(str(exc)) from None


def _label_model(source: Any, num_classes: int, backend: str) -> LabelModel:
    from hocert_sampling.models import ModelError

    try:
        return as_label_model(source, num_classes, backend)
    except (ModelError, ValueError, TypeError, OSError) as exc:
        raise RunInputError(f"cannot use the model {source}: {exc}") from None
