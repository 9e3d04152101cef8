"""Certify a data set input by input, locally or as tasks on a Dask cluster (``hocert certify``).

Every input ``idx`` is certified with its own noise generator, seeded from the run's seed and
``idx`` (:func:`input_seed`). A row therefore depends only on the run parameters and ``idx``, not
on which inputs ran before it, on which worker, or in which order: a resumed or distributed run
writes the same rows as an uninterrupted local one (except the ``time`` column).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hocert_sampling.models import LabelModel, as_label_model
from hocert_sampling.smoothing import Certificate, SmoothedClassifier
from hocert_sampling.threat_models import COHEN_COLUMN, certificate_radii, radius_columns

__all__ = [
    "CertifyParams",
    "certify_row",
    "certify_task",
    "input_seed",
    "result_columns",
    "run_dask",
    "run_local",
    "solver_status_field",
]

_HEAD_COLUMNS = ("idx", "label", "predict", "p_a_lower", COHEN_COLUMN)
#: The columns of every result file before the per-subspace radii; the full-space radii are those
#: of the threat-model registry (``hocert_sampling.threat_models``).
BASE_COLUMNS = (*_HEAD_COLUMNS, *radius_columns())


@dataclass(frozen=True)
class CertifyParams:
    """The parameters that determine the rows of a certify run (see ``hocert certify --help``).

    Attributes
    ----------
    sigma : float
        Noise level, in input units.
    n0, n : int
        Selection and estimation samples per input.
    alpha : float
        Failure probability of each radius.
    batch : int
        Noise samples per model call.
    subspaces : str or None
        ``"channels"`` or None (see :func:`hocert_sampling.subspace.resolve_subspaces`).
    seed : int
        Run seed; input ``idx`` uses :func:`input_seed` ``(seed, idx)``.
    num_classes : int
        Number of classes of the model.
    backend : str
        Resolved array backend name (``"numpy"`` or ``"cupy"``).
    verify : bool
        Prove every first-order radius in ball arithmetic, lowering those that cannot be
        proved (``SmoothedClassifier.certify(verify=True)``; solver status ``lowered``).
    """

    sigma: float
    n0: int
    n: int
    alpha: float
    batch: int
    subspaces: str | None
    seed: int
    num_classes: int
    backend: str
    verify: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-serialisable dict."""
        return asdict(self)


def result_columns(subspace_names: Sequence[str]) -> list[str]:
    """TSV columns: idx, label, predict, p_a_lower, radius_cohen, one radius per threat model
    (one per subspace for the subspace radius), solver_status, correct, time."""
    radii = radius_columns(subspace_names)
    return [*_HEAD_COLUMNS, *radii, "solver_status", "correct", "time"]


def solver_status_field(solver_status: Mapping[str, str]) -> str:
    """The ``solver_status`` field of a row, from :attr:`Certificate.solver_status`.

    ``converged`` when every first-order radius converged, ``abstain`` when none was computed
    (the classifier abstained), else the radii that did not converge as ``key=status`` joined
    by commas, e.g. ``l1=fallback`` or ``l1=inconsistent,linf=inconsistent`` (``inconsistent``:
    the gradient bounds contradicted ``p_a_lower``, a confidence bound failed, and the radius
    is Cohen's).
    """
    if not solver_status:
        return "abstain"
    other = [f"{key}={name}" for key, name in solver_status.items() if name != "converged"]
    return ",".join(other) if other else "converged"


def input_seed(seed: int, idx: int) -> int:
    """The noise seed of input ``idx`` in a run with seed ``seed`` (independent streams)."""
    state = np.random.SeedSequence([int(seed), int(idx)]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 32 | int(state[1])


def certify_row(
    model: LabelModel, params: CertifyParams, idx: int, x: np.ndarray, label: int
) -> dict[str, Any]:
    """Certify one input and return its TSV row as a dict (radii in input units).

    Parameters
    ----------
    model : LabelModel
        The base classifier on the backend of ``params``.
    params : CertifyParams
        Run parameters.
    idx : int
        Index of the input in the data set (seeds its noise).
    x : ndarray
        The input, without a batch axis.
    label : int
        Its true label.

    Returns
    -------
    dict
        Keys :func:`result_columns`; ``predict`` is -1 when abstaining, ``solver_status`` is
        :func:`solver_status_field`, ``correct`` is 1 when the prediction equals the label,
        ``time`` is the wall-clock seconds spent.
    """
    start = time.perf_counter()
    smoothed = SmoothedClassifier(
        model,
        params.num_classes,
        params.sigma,
        backend=params.backend,
        seed=input_seed(params.seed, idx),
    )
    cert = smoothed.certify(
        x,
        params.n0,
        params.n,
        params.alpha,
        params.batch,
        params.subspaces,
        verify=params.verify,
    )
    return _row(idx, label, cert, time.perf_counter() - start)


def _row(idx: int, label: int, cert: Certificate, seconds: float) -> dict[str, Any]:
    row: dict[str, Any] = {
        "idx": int(idx),
        "label": int(label),
        "predict": int(cert.prediction),
        "p_a_lower": float(cert.p_a_lower),
        COHEN_COLUMN: float(cert.radius_cohen),
        **certificate_radii(cert),
    }
    row["solver_status"] = solver_status_field(cert.solver_status)
    row["correct"] = int(cert.prediction == label)
    row["time"] = round(seconds, 4)
    return row


def run_local(
    model: LabelModel,
    params: CertifyParams,
    todo: Iterable[int],
    x: np.ndarray,
    y: np.ndarray,
) -> Generator[dict[str, Any], None, None]:
    """Certify the inputs ``todo`` one after the other, yielding each row when it is done."""
    for idx in todo:
        yield certify_row(model, params, idx, x[idx], int(y[idx]))


# ---------------------------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------------------------

# One model per worker process, keyed by (model digest, num_classes, backend).
_WORKER_MODELS: dict[tuple[str, int, str], LabelModel] = {}
_WORKER_LOCK = threading.Lock()


def _worker_model(model_bytes: bytes, digest: str, num_classes: int, backend: str) -> LabelModel:
    """The worker's copy of the ONNX model, loaded once (from a file named by its digest)."""
    key = (digest, num_classes, backend)
    with _WORKER_LOCK:
        if key not in _WORKER_MODELS:
            path = Path(tempfile.gettempdir()) / f"hocert-model-{digest}.onnx"
            if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
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


def resolve_backend_name(name: str) -> str:
    """Dask task: the backend that ``name`` resolves to on the worker that runs it."""
    from hocert_sampling.backend import get_backend

    return get_backend(name).name


def resolve_execution(name: str | None) -> dict[str, Any]:
    """Dask task: where the rows of a run with backend ``name`` are computed on the worker
    that runs it (a sidecar ``execution`` entry, ``hocert.results.execution_entry``): the
    backend and why, the ONNX Runtime build and the providers a model file asks for there, and
    under CuPy what keeps the model off the CUDA provider (``cuda_problem``, else None).

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
    model_path: str | os.PathLike[str],
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
    model_path : path-like
        The ONNX model; its bytes are broadcast to the workers once.
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
    model_bytes = Path(model_path).read_bytes()
    digest = hashlib.sha256(model_bytes).hexdigest()
    model_future = client.scatter(model_bytes, broadcast=True, hash=False)
    futures = [
        client.submit(
            certify_task,
            model_future,
            digest,
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
