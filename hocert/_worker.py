"""The Dask side of a certify run: the tasks that workers run, their model caches, ``run_dask``.

The tasks (:func:`certify_task`, :func:`certify_factory_task`, :func:`probe_factory_task`,
:func:`resolve_execution`, :func:`resolve_backend_name`) run on the workers; Dask pickles them by
reference, so they stay top-level functions of this module and a worker must be able to import
``hocert``. A worker process builds each model once: an ONNX model from its bytes (a file named
by its digest in :func:`worker_cache_dir`), a ``module:factory`` model from its spec.
:func:`run_dask` submits one task per input from the client and yields the rows as they finish.
The public names are importable from :mod:`hocert.runner`; opening clusters is the caller's
(``hocert.cli._scheduler``, and ``hocert.cluster`` for table builds).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hocert_sampling.models import LabelModel, as_label_model

from ._errors import HocertError
from ._row import CertifyParams, certify_row
from .model_factory import ModelFactory

__all__ = [
    "certify_factory_task",
    "certify_task",
    "probe_factory_task",
    "resolve_backend_name",
    "resolve_execution",
    "run_dask",
    "worker_cache_dir",
]

# One model per worker process, keyed by (model digest, num_classes, backend).
_WORKER_MODELS: dict[tuple[str, int, str], LabelModel] = {}
_WORKER_LOCK = threading.Lock()


_WORKER_CACHE: list[Path] = []


def worker_cache_dir() -> Path:
    """This process's directory for the models a Dask worker receives: a fresh, unpredictable
    directory (``tempfile.mkdtemp``, mode 0700) inside a per-user one (``hocert-<uid>`` in the
    temporary directory, mode 0700, refused unless this user owns it), removed at exit. Other
    users can neither read the models nor plant a file where the worker will load one."""
    if not _WORKER_CACHE:
        import atexit
        import contextlib
        import shutil
        import stat

        uid = os.getuid() if hasattr(os, "getuid") else 0
        user_dir = Path(tempfile.gettempdir()) / f"hocert-{uid}"
        with contextlib.suppress(FileExistsError):
            user_dir.mkdir(mode=0o700)
        info = os.lstat(user_dir)
        if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != uid):
            raise HocertError(
                f"{user_dir} is not a directory of this user: refusing to cache models there"
            )
        os.chmod(user_dir, 0o700)
        path = Path(tempfile.mkdtemp(prefix="models-", dir=user_dir))
        atexit.register(shutil.rmtree, path, ignore_errors=True)
        _WORKER_CACHE.append(path)
    return _WORKER_CACHE[0]


def _worker_model(model_bytes: bytes, digest: str, num_classes: int, backend: str) -> LabelModel:
    """The worker's copy of the ONNX model, loaded once (from a file named by its digest in
    :func:`worker_cache_dir`)."""
    key = (digest, num_classes, backend)
    with _WORKER_LOCK:
        if key not in _WORKER_MODELS:
            path = worker_cache_dir() / f"model-{digest}.onnx"
            if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                tmp = path.with_name(f"{path.name}.{threading.get_ident()}.tmp")
                tmp.write_bytes(model_bytes)
                os.replace(tmp, path)
            _WORKER_MODELS[key] = as_label_model(str(path), num_classes, backend)
        return _WORKER_MODELS[key]


def certify_task(
    model_bytes: bytes, digest: str, params: CertifyParams, idx: int, x: np.ndarray, label: int
) -> dict[str, Any]:
    """Dask task: certify one input on a worker (the model is cached per worker process)."""
    model = _worker_model(model_bytes, digest, params.num_classes, params.backend)
    return certify_row(model, params, idx, x, label)


# One model per worker process and factory, keyed by (factory, num_classes, backend).
_WORKER_FACTORY_MODELS: dict[tuple[ModelFactory, int, str], LabelModel] = {}


def _worker_factory_model(factory: ModelFactory, num_classes: int, backend: str) -> LabelModel:
    """The worker's model from ``module:factory``: imported and built once per process."""
    key = (factory, num_classes, backend)
    with _WORKER_LOCK:
        if key not in _WORKER_FACTORY_MODELS:
            fn = factory.load(backend)
            _WORKER_FACTORY_MODELS[key] = as_label_model(fn, num_classes, backend)
        return _WORKER_FACTORY_MODELS[key]


def certify_factory_task(
    factory: ModelFactory, params: CertifyParams, idx: int, x: np.ndarray, label: int
) -> dict[str, Any]:
    """Dask task: certify one input on a worker with a model named by ``module:factory`` (only
    the spec travels; the worker imports the module and builds the model once per process)."""
    model = _worker_factory_model(factory, params.num_classes, params.backend)
    return certify_row(model, params, idx, x, label)


def probe_factory_task(factory: ModelFactory, backend: str, example: np.ndarray) -> int | None:
    """Dask task: build the model of ``factory`` on a worker and probe it on ``example``
    (:func:`hocert_sampling.models.probe_callable_model`)."""
    from hocert_sampling.backend import get_backend
    from hocert_sampling.models import probe_callable_model

    name = get_backend(backend).name
    return probe_callable_model(factory.load(name), example, name)


def resolve_backend_name(name: str) -> str:
    """Dask task: the backend that ``name`` resolves to on the worker that runs it."""
    from hocert_sampling.backend import get_backend

    return get_backend(name).name


def resolve_execution(name: str | None, onnx: bool = True) -> dict[str, Any]:
    """Dask task: where the rows of a run with backend ``name`` are computed on the worker
    that runs it (a sidecar ``execution`` entry, ``hocert.results.execution_entry``): the
    backend and why, the ONNX Runtime build and the providers a model file asks for there, and
    under CuPy what keeps the model off the CUDA provider (``cuda_problem``, else None).
    ``onnx`` False (a model from ``module:factory``): no ONNX providers.

    Raises
    ------
    hocert_sampling.backend.BackendError
        ``name`` cannot be used on the worker (the message says what is missing).
    """
    from hocert.results import execution_entry
    from hocert_sampling.backend import get_backend
    from hocert_sampling.gpu import cuda_provider_problem, onnx_runtime_info
    from hocert_sampling.models import default_providers

    backend = get_backend(name)
    if not onnx:
        return execution_entry(backend.name, backend.reason, where="dask worker")
    info = onnx_runtime_info()
    return execution_entry(
        backend.name,
        backend.reason,
        default_providers(backend, info.available),
        info.describe(),
        where="dask worker",
        cuda_problem=cuda_provider_problem(info) if backend.is_gpu else None,
    )


def run_dask(
    client: Any,
    model_path: str | os.PathLike[str] | ModelFactory,
    params: CertifyParams,
    todo: Sequence[int],
    x: np.ndarray,
    y: np.ndarray,
    on_submitted: Callable[[], None] | None = None,
) -> Generator[dict[str, Any], None, None]:
    """Certify the inputs ``todo`` as tasks on a Dask cluster, yielding rows as they complete.

    Rows come in completion order, not in idx order. Closing the generator early (an error or
    Ctrl-C in the caller) cancels the tasks that have not finished.

    Parameters
    ----------
    client : distributed.Client
        A connected client.
    model_path : path-like or ModelFactory
        The ONNX model, whose bytes are broadcast to the workers once; or a model named by
        ``module:factory``, whose spec each task carries (every worker imports the module and
        builds the model once per process, so the module must be importable there).
    params : CertifyParams
        Run parameters (``params.backend`` must be usable on every worker).
    todo : sequence of int
        Indices to certify.
    x, y : ndarray
        Inputs and labels; each task receives only its own input.
    on_submitted : callable, optional
        Called once all tasks are submitted.
    """
    from distributed import as_completed

    if not todo:
        return
    if isinstance(model_path, ModelFactory):
        digest = hashlib.sha256(model_path.describe().encode()).hexdigest()
        task: Callable[..., Any] = certify_factory_task
        model_args: tuple[Any, ...] = (model_path,)
    else:
        model_bytes = Path(model_path).read_bytes()
        digest = hashlib.sha256(model_bytes).hexdigest()
        task = certify_task
        model_args = (client.scatter(model_bytes, broadcast=True, hash=False), digest)
    futures = [
        client.submit(
            task,
            *model_args,
            params,
            int(idx),
            x[idx],
            int(y[idx]),
            key=f"hocert-certify-{digest[:12]}-{params.seed}-{int(idx)}-{time.monotonic_ns()}",
            pure=False,
        )
        for idx in todo
    ]
    if on_submitted is not None:
        on_submitted()
    try:
        for future in as_completed(futures, loop=client.loop):
            yield future.result()
    finally:
        client.cancel([f for f in futures if not f.done()])
