"""Certify a data set input by input, locally or as tasks on a Dask cluster (``hocert certify``).

Every input ``idx`` is certified with its own noise generator, seeded from the run's seed and
``idx`` (:func:`input_seed`). A row therefore depends only on the run parameters and ``idx``, not
on which inputs ran before it, on which worker, or in which order: a resumed or distributed run
writes the same rows as an uninterrupted local one (except the ``time`` column).

This module runs the whole data set (:func:`certify_dataset`, also ``hocert.certify_dataset``)
and is the API of its parts, whose public names it re-exports:

- ``hocert._row``: one input's row (:class:`CertifyParams`, :func:`certify_row`, the columns);
- ``hocert._inputs``: the data, model and parameters, checked first (:class:`RunInputError`);
- ``hocert._worker``: the Dask tasks and the workers' model caches (:func:`run_dask`);
- ``hocert._plan``: pilots that predict the radii of several ``n`` (:func:`plan_dataset`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from hocert_sampling.bounds import DEFAULT_ESTIMATOR  # noqa: F401 - importable from here
from hocert_sampling.models import LabelModel

from ._inputs import (
    RunInputError,
    _check_run_values,
    _estimator,
    _label_model,
    _local_execution,
    _model_identity,
    _probe,
    _subspace_names,
    _with_model,
    check_data,
    resolve_model,
    resolve_num_classes,
    sha256_arrays,
    targets,
)
from ._plan import DatasetPlan, plan_dataset
from ._row import (  # noqa: F401 - the public names are importable from here
    BASE_COLUMNS,
    CertifyParams,
    certify_row,
    input_seed,
    result_columns,
    solver_status_field,
)
from ._worker import (  # noqa: F401 - the public names are importable from here
    certify_factory_task,
    certify_task,
    probe_factory_task,
    resolve_backend_name,
    resolve_execution,
    run_dask,
    worker_cache_dir,
)
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
