"""Certify a data set input by input, locally or as tasks on a Dask cluster (``hocert certify``).

Every input ``idx`` is certified with its own noise generator, seeded from the run's seed and
``idx`` (:func:`input_seed`). A row therefore depends only on the run parameters and ``idx``, not
on which inputs ran before it, on which worker, or in which order: a resumed or distributed run
writes the same rows as an uninterrupted local one (except the ``time`` column).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from hocert_sampling.bounds import DEFAULT_ESTIMATOR
from hocert_sampling.models import LabelModel, as_label_model
from hocert_sampling.smoothing import Certificate, SmoothedClassifier
from hocert_sampling.threat_models import COHEN_COLUMN, certificate_radii, radius_columns

from ._errors import HocertError
from .model_factory import ModelFactory

__all__ = [
    "CertifyParams",
    "DatasetPlan",
    "RunInputError",
    "RunStart",
    "RunSummary",
    "certify_dataset",
    "certify_factory_task",
    "certify_row",
    "certify_task",
    "input_seed",
    "plan_dataset",
    "result_columns",
    "run_dask",
    "run_local",
    "solver_status_field",
    "warm_up_solver",
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
    estimator : str
        Estimator of the gradient bounds (``hocert_sampling.bounds.ESTIMATORS``): ``"mgf"``
        (the default) or ``"paper"`` (Table 1 of the paper). Recorded in the sidecar, so a
        resumed run cannot mix estimators.
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
    estimator: str = DEFAULT_ESTIMATOR

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-serialisable dict."""
        return asdict(self)


def result_columns(subspace_names: Sequence[str]) -> list[str]:
    """TSV columns: idx, label, predict, p_a_lower, radius_cohen, one radius per threat model
    (one per subspace for the subspace radius), solver_status, correct, time, params_hash
    (``hocert.results.PARAMS_HASH_COLUMN``: filled in by ``ResultsFile.write_row``, it ties
    each row to the run's parameters)."""
    from .results import PARAMS_HASH_COLUMN

    radii = radius_columns(subspace_names)
    return [*_HEAD_COLUMNS, *radii, "solver_status", "correct", "time", PARAMS_HASH_COLUMN]


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
        estimator=params.estimator,
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


#: About how long the solver's first compilation takes, in seconds (Numba, once per
#: installation and user: docs/benchmarks.md, "First call").
COMPILE_SECONDS = 20
#: :func:`warm_up_solver` calls ``on_slow`` when it takes longer than this (seconds): the
#: compiled solver is not in Numba's cache (loading it from there takes 0.2-0.4 s).
COMPILE_NOTICE_AFTER = 1.0


def warm_up_solver(on_slow: Callable[[], None] | None = None) -> float:
    """Load the solver's compiled kernels, or compile them on the first run; the seconds taken.

    One tiny solve: the first solve in a process loads the kernels from Numba's cache, or
    compiles them when the cache is cold (about :data:`COMPILE_SECONDS`). Run before the first
    input's timer starts, so that this never lands in a row's ``time``. ``on_slow`` is called
    (from another thread) once it has taken :data:`COMPILE_NOTICE_AFTER` seconds, i.e. when
    it is compiling.
    """
    from hocert_solver import directional_radius

    start = time.perf_counter()
    timer = threading.Timer(COMPILE_NOTICE_AFTER, on_slow) if on_slow is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        directional_radius(0.9, -0.01, 0.01)
    finally:
        if timer is not None:
            timer.cancel()
    return time.perf_counter() - start


def _warm_up_workers(client: Any) -> None:
    """:func:`warm_up_solver` on every Dask worker, so that no task's row times compilation.

    Best effort: a worker that cannot (or joins later) compiles on its first task instead.
    """
    with contextlib.suppress(Exception):
        client.run(warm_up_solver)


# ---------------------------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# A whole run: the Python API behind ``hocert certify``
# ---------------------------------------------------------------------------------------------


class RunInputError(HocertError, ValueError):
    """The data, the model or the parameters of a run do not fit (bad input, before any row is
    certified): e.g. a label outside ``[0, num_classes)``, a model that rejects the inputs' shape
    or returns neither scores nor labels, a model file that does not exist."""


@dataclass(frozen=True)
class RunStart:
    """What :func:`certify_dataset` hands ``on_start`` before the first row.

    Attributes
    ----------
    execution : dict
        Where the rows are computed (``hocert.results.execution_entry``).
    total : int
        Inputs requested (after ``skip`` and ``max_inputs``).
    done : int
        Of those, the ones already in the result file (resumed).
    repaired : bytes
        The cut-short last line dropped from the result file (empty when none).
    """

    execution: dict[str, Any]
    total: int
    done: int
    repaired: bytes


@dataclass(frozen=True)
class RunSummary:
    """What :func:`certify_dataset` did.

    Attributes
    ----------
    out : pathlib.Path
        The result TSV (its sidecar is ``hocert.results.meta_path(out)``).
    requested, resumed, new : int
        Inputs requested, found in the file already, certified by this call.
    frame : pandas.DataFrame
        Every row of the file (``hocert.results.read_results``), also those of earlier runs.
    meta : dict
        The sidecar.
    """

    out: Path
    requested: int
    resumed: int
    new: int
    frame: Any
    meta: dict[str, Any]

    @property
    def clean_accuracy(self) -> float:
        """Fraction of the file's rows with ``predict == label``."""
        return float(self.frame["correct"].mean()) if len(self.frame) else float("nan")

    @property
    def abstain_rate(self) -> float:
        """Fraction of the file's rows that abstained."""
        return float((self.frame["predict"] < 0).mean()) if len(self.frame) else float("nan")


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


def certify_dataset(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    *,
    out: str | os.PathLike[str],
    sigma: float,
    n0: int = 100,
    n: int = 100_000,
    alpha: float = 0.001,
    batch: int = 1000,
    subspaces: str | None = None,
    seed: int = 0,
    num_classes: int | None = None,
    backend: str | None = None,
    estimator: str | None = None,
    verify: bool = False,
    skip: int = 1,
    max_inputs: int | None = None,
    force: bool = False,
    client: Any = None,
    model_args: Mapping[str, str] | None = None,
    data_name: str | None = None,
    lock: Any = None,
    on_start: Callable[[RunStart], None] | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> RunSummary:
    """Certify a data set into a resumable result file (what ``hocert certify`` runs).

    Writes ``out`` (TSV, one row per input, appended and synced as each input finishes) and its
    sidecar ``out.meta.json`` exactly as the command does (docs/cli.md, "hocert certify"); when
    ``out`` already holds rows made with the same parameters, only the missing inputs are
    certified (a resume), and other parameters are refused (``hocert.results.ResultsMismatch``).

    Parameters
    ----------
    model : path-like, str, ModelFactory or callable
        An ONNX file; ``"package.module:factory"`` (:mod:`hocert.model_factory`: the factory
        returns a callable ``batch -> scores (N, K) or labels (N,)``); or such a callable (or a
        ``hocert_sampling.models.LabelModel``) itself, local runs only. Noise is added in the
        model's input space: normalisation belongs inside the model.
    x, y : ndarray
        Inputs ``(N, ...)`` and integer labels ``(N,)``.
    out : path-like
        The result TSV.
    sigma, n0, n, alpha, batch, subspaces, seed, verify
        As ``hocert certify`` (:class:`CertifyParams`).
    num_classes : int, optional
        Default: the width of the model's scores (required when it returns labels).
    backend : str, optional
        ``"numpy"``, ``"cupy"`` or ``"auto"`` (default: ``$HOCERT_BACKEND``, else auto).
    estimator : {"mgf", "paper"}, optional
        Estimator of the gradient bounds (default ``hocert_sampling.bounds.DEFAULT_ESTIMATOR``).
    skip, max_inputs : int
        Certify every ``skip``-th input, at most ``max_inputs`` of them.
    force : bool
        Delete an existing ``out`` and its sidecar first.
    client : distributed.Client, optional
        Run each input as a Dask task (``model`` must then be an ONNX file or a factory).
    model_args : mapping of str to str, optional
        Keyword arguments for a factory (recorded and compared on resume).
    data_name : str, optional
        What the sidecar calls the data (default ``"arrays"``).
    lock : hocert.locking.FileLock, optional
        The caller's lock on ``out`` (default: taken here; one writer per file).
    on_start : callable, optional
        Called with a :class:`RunStart` once the file is open, before the first input.
    on_row : callable, optional
        Called with each row after it is written.

    Returns
    -------
    RunSummary

    Raises
    ------
    RunInputError
        Data, model or parameters that do not fit (nothing certified).
    hocert.model_factory.ModelSpecError
        A factory that cannot be imported, found, called or that returns no callable.
    hocert.results.ResultsMismatch, hocert.results.ResultsCorrupted
        ``out`` was made with other parameters, or is damaged.
    hocert_sampling.backend.BackendError
        ``backend`` cannot be used.
    hocert_sampling.ModelError
        The model failed during the run.
    """
    from hocert import __version__

    from .results import ResultsFile, read_results

    where = data_name or "the data"
    x, y = np.asarray(x), np.asarray(y)
    check_data(x, y, where)
    _check_run_values(
        sigma=sigma, n0=n0, n=n, alpha=alpha, batch=batch, skip=skip, max_inputs=max_inputs,
        seed=seed,
    )  # fmt: skip
    est = _estimator(estimator)
    source = resolve_model(model, model_args)
    local_only = not isinstance(source, (Path, ModelFactory))
    if client is not None and local_only:
        raise RunInputError(
            "a Dask run needs the model as an ONNX file or a 'module:factory' spec (a Python "
            "object is not sent to the workers)"
        )
    execution = _local_execution(backend, client, onnx=isinstance(source, Path))
    backend_name = str(execution["backend"])
    runnable = source
    if client is None and isinstance(source, ModelFactory):
        runnable = source.load(backend_name)
    width = _probe(runnable, x, backend_name, client)
    k = resolve_num_classes(num_classes, width, y, where)
    names = _subspace_names(subspaces, tuple(x.shape[1:]))
    params = CertifyParams(
        sigma=float(sigma),
        n0=int(n0),
        n=int(n),
        alpha=float(alpha),
        batch=int(batch),
        subspaces=subspaces,
        seed=int(seed),
        num_classes=k,
        backend=backend_name,
        verify=bool(verify),
        estimator=est,
    )
    identity, model_desc = _model_identity(source)
    recorded = {
        **params.as_dict(),
        **identity,
        "data_sha256": sha256_arrays(x, y),
        "hocert_version": __version__,
    }
    info = {
        "model": model_desc,
        "data": data_name or "arrays",
        "d": int(np.prod(x.shape[1:])),
        "input_shape": list(x.shape[1:]),
        "num_inputs": int(x.shape[0]),
        "subspace_names": names,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    label_model = None
    if client is None:
        label_model, execution = _with_model(
            execution, lambda: _label_model(runnable, k, backend_name)
        )
    out_path = Path(out)
    with ResultsFile(
        out_path,
        result_columns(names),
        recorded,
        info,
        force=force,
        execution=execution,
        lock=lock,
    ) as results:
        wanted = targets(x.shape[0], skip, max_inputs)
        todo = [i for i in wanted if i not in results.finished]
        if on_start is not None:
            on_start(RunStart(execution, len(wanted), len(wanted) - len(todo), results.repaired))
        # The solver's first compilation happens here, not in the first input's time.
        if todo and label_model is not None:
            warm_up_solver()
        elif todo:
            _warm_up_workers(client)
        if label_model is not None:
            rows = run_local(label_model, params, todo, x, y)
        else:
            assert isinstance(source, (Path, ModelFactory))
            rows = run_dask(client, source, params, todo, x, y)
        try:
            for row in rows:
                results.write_row(row)
                if on_row is not None:
                    on_row(row)
        finally:
            rows.close()
    frame, meta = read_results(out_path)
    return RunSummary(
        out_path, len(wanted), len(wanted) - len(todo), len(todo), frame, dict(meta or {})
    )


# ---------------------------------------------------------------------------------------------
# Choosing n: a pilot on a few inputs (``hocert certify --plan``)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetPlan:
    """What pilots on a few inputs predict about a run at several ``n``
    (``SmoothedClassifier.plan`` per input; a guide, not a certificate).

    Attributes
    ----------
    indices : tuple of int
        The pilot inputs.
    plans : tuple of hocert_sampling.smoothing.Plan
        One per pilot input.
    candidates : tuple of int
        The candidate sample counts.
    """

    indices: tuple[int, ...]
    plans: tuple[Any, ...]
    candidates: tuple[int, ...]

    def median(self, n: int, field_name: str) -> float:
        """The median predicted ``field_name`` radius over the pilot inputs at candidate ``n``."""
        i = self.candidates.index(n)
        return float(np.median([getattr(p.rows[i], field_name) for p in self.plans]))

    def table(self) -> str:
        """Median predicted radii (input units) per candidate ``n``, and l1 over Cohen."""
        fields = ("radius_cohen", "radius_l2", "radius_l1", "radius_linf")
        lines = [f"{'n':>10} {'cohen':>10} {'l2':>10} {'l1':>10} {'linf':>10} {'l1/cohen':>9}"]
        for n in self.candidates:
            med = [self.median(n, f) for f in fields]
            ratio = f"{med[2] / med[0]:9.3f}" if med[0] > 0 else f"{'-':>9}"
            lines.append(f"{n:>10d} " + " ".join(f"{v:>10.4g}" for v in med) + f" {ratio}")
        return "\n".join(lines)


def plan_dataset(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    *,
    sigma: float,
    n0: int = 10_000,
    candidates: Sequence[int] = (10_000, 100_000, 1_000_000),
    alpha: float = 0.001,
    batch: int = 1000,
    seed: int = 0,
    num_classes: int | None = None,
    backend: str | None = None,
    estimator: str | None = None,
    skip: int = 1,
    max_inputs: int = 5,
    model_args: Mapping[str, str] | None = None,
    data_name: str | None = None,
) -> DatasetPlan:
    """Pilot runs on the first ``max_inputs`` inputs (every ``skip``-th), in this process:
    ``SmoothedClassifier.plan`` predicts, for each candidate ``n``, the Cohen and first-order
    radii ``certify`` would give (:class:`DatasetPlan`; nothing is written).

    The arguments are those of :func:`certify_dataset`; ``n0`` is the pilot's sample count per
    input. Input ``idx`` draws its noise from :func:`input_seed` ``(seed, idx)``.
    """
    where = data_name or "the data"
    x, y = np.asarray(x), np.asarray(y)
    check_data(x, y, where)
    _check_run_values(
        sigma=sigma, n0=n0, alpha=alpha, batch=batch, skip=skip, max_inputs=max_inputs, seed=seed
    )
    if n0 < 2 or not candidates or min(candidates) < 2:
        raise RunInputError("the pilot needs n0 >= 2 and candidate n >= 2")
    est = _estimator(estimator)
    source = resolve_model(model, model_args)
    backend_name = str(_local_execution(backend, None, onnx=isinstance(source, Path))["backend"])
    if isinstance(source, ModelFactory):
        source = source.load(backend_name)
    k = resolve_num_classes(num_classes, _probe(source, x, backend_name, None), y, where)
    label_model = _label_model(source, k, backend_name)
    indices = tuple(targets(x.shape[0], skip, max_inputs))
    plans = []
    for idx in indices:
        smoothed = SmoothedClassifier(
            label_model, k, float(sigma), backend=backend_name, seed=input_seed(seed, idx)
        )
        plans.append(smoothed.plan(x[idx], n0, tuple(candidates), alpha, batch, estimator=est))
    return DatasetPlan(indices, tuple(plans), tuple(int(c) for c in candidates))
