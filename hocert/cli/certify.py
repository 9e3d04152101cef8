"""``hocert certify``: certify a data set with a model, one resumable TSV row per input."""

from __future__ import annotations

import argparse
import hashlib
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from hocert.examples import EXAMPLE_SIGMA

from . import _execution
from ._common import (
    EXIT_OK,
    CliError,
    add_command,
    check_writable,
    int_at_least,
    positive_float,
    probability,
    progress,
)
from ._scheduler import connect

__all__ = ["DEFAULT_RESULTS", "add_parser", "run"]

DEFAULT_RESULTS = "hocert_results.tsv"


def add_parser(sub: Any) -> None:
    """Add ``certify`` to the subcommands ``sub``."""
    p = add_command(
        sub,
        "certify",
        "certify a data set with a model (resumable TSV output)",
        "Certify every input of a data set: predicted class and certified l2, l1, l_inf (and\n"
        "subspace) radii, one TSV row per input, written as it finishes. Rerunning with the\n"
        "same --out resumes after the finished rows (parameters must match).\n"
        "Radii are in input units (sigma included). Without --model/--data the bundled digits\n"
        f"example (8x8 images, MLP trained at sigma {EXAMPLE_SIGMA:g}) is used.",
        f"  hocert certify --sigma {EXAMPLE_SIGMA:g} --max 20\n"
        "  hocert certify --model net.onnx --data test.npz --sigma 0.5 --n 100000 --out r.tsv\n"
        "  hocert certify --model net.onnx --data test.npz --sigma 0.5 --subspaces channels\n"
        f"  hocert certify --sigma {EXAMPLE_SIGMA:g} --scheduler tcp://10.0.0.5:8786 --out r.tsv",
    )
    p.add_argument("--model", metavar="PATH", help="ONNX model (default: the bundled example)")
    p.add_argument(
        "--data",
        metavar="PATH",
        help="NPZ file with arrays x (N, ...) and y (N,) (default: the bundled example)",
    )
    p.add_argument(
        "--sigma",
        type=positive_float,
        help=f"noise level in input units; required with --model, {EXAMPLE_SIGMA:g} for the "
        "bundled model",
    )
    p.add_argument("--n0", type=int_at_least(1), default=100, help="selection samples (100)")
    p.add_argument("--n", type=int_at_least(2), default=100_000, help="estimation samples (1e5)")
    p.add_argument("--alpha", type=probability, default=0.001, help="failure prob. (0.001)")
    p.add_argument("--batch", type=int_at_least(1), default=1000, help="samples per call (1000)")
    p.add_argument(
        "--skip", type=int_at_least(1), default=1, help="certify every SKIP-th input (1)"
    )
    p.add_argument("--max", type=int_at_least(1), help="certify at most MAX inputs (all)")
    p.add_argument(
        "--subspaces",
        choices=("none", "channels"),
        default="none",
        help="also certify l2 radii inside each channel's subspace (inputs (C, H, W))",
    )
    p.add_argument("--seed", type=int_at_least(0), default=0, help="run seed (0)")
    p.add_argument(
        "--out", metavar="FILE", default=DEFAULT_RESULTS, help=f"results TSV ({DEFAULT_RESULTS})"
    )
    p.add_argument(
        "--num-classes", type=int_at_least(2), help="classes (default: the model's output width)"
    )
    p.add_argument(
        "--backend",
        choices=("auto", "numpy", "cupy"),
        help="array backend (default: $HOCERT_BACKEND, else auto)",
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on this Dask scheduler (tcp://host:port)"
    )
    p.add_argument(
        "--connect-timeout",
        type=positive_float,
        default=20.0,
        metavar="SECONDS",
        help="for --scheduler (20)",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="prove every first-order radius in ball arithmetic; lower those that cannot be "
        "(solver_status 'lowered'); a few ms per radius",
    )
    p.add_argument("--force", action="store_true", help="delete an existing --out and restart")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


# ---------------------------------------------------------------------------------------------
# Inputs: data, model, parameters
# ---------------------------------------------------------------------------------------------


def _load_data(path: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """Inputs x, labels y and a description (the path, or "bundled example")."""
    if path is None:
        from hocert.examples import load_example

        _, x, y = load_example()
        return x, y, "bundled example (digits_test.npz)"
    p = Path(path)
    if not p.is_file():
        raise CliError(f"data file not found: {p}")
    try:
        with np.load(p, allow_pickle=False) as data:
            if not hasattr(data, "files"):
                raise CliError(f"{p} is a single .npy array; expected an .npz with arrays x, y")
            missing = [k for k in ("x", "y") if k not in data.files]
            if missing:
                raise CliError(f"{p} has no array(s) {missing} (it has {sorted(data.files)})")
            x, y = np.asarray(data["x"]), np.asarray(data["y"])
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise CliError(f"cannot read {p} as an .npz file: {exc}") from None
    _check_data(x, y, str(p))
    return x, y, str(p.resolve())


def _check_data(x: np.ndarray, y: np.ndarray, where: str) -> None:
    if x.dtype.kind not in "fiub" or x.ndim < 2:
        raise CliError(
            f"{where}: x must be a numeric array of shape (N, ...), got {x.dtype} {x.shape}"
        )
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise CliError(f"{where}: y must have shape ({x.shape[0]},) like x, got {y.shape}")
    if y.dtype.kind not in "iu" and not (
        y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y))
    ):
        raise CliError(f"{where}: y must hold integer labels, got dtype {y.dtype}")
    if x.shape[0] == 0:
        raise CliError(f"{where}: the data set is empty")
    if not np.all(np.isfinite(x)):
        raise CliError(f"{where}: x contains NaN or inf")


def _model_path(path: str | None) -> Path:
    if path is None:
        from hocert.examples import load_example

        return load_example()[0]
    p = Path(path)
    if not p.is_file():
        raise CliError(f"model file not found: {p}")
    return p


def _output_width(model_path: Path, x: np.ndarray) -> int | None:
    """The model's scores per input on ``x[:1]`` (None: it returns labels); exit 2 if it fails."""
    from hocert_sampling.models import ModelError, probe_onnx_model

    try:
        return probe_onnx_model(model_path, x[:1])
    except (ModelError, ValueError, OSError) as exc:
        raise CliError(str(exc)) from None


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sha256_arrays(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()


def _resolve_sigma(args: argparse.Namespace) -> float:
    if args.sigma is not None:
        return float(args.sigma)
    if args.model is None:
        return EXAMPLE_SIGMA
    raise CliError(
        f"--sigma is required with --model (it defaults to {EXAMPLE_SIGMA:g} only for the example)"
    )


def _targets(n_inputs: int, skip: int, maximum: int | None) -> list[int]:
    """Indices to certify: every ``skip``-th input from 0, at most ``maximum`` of them."""
    idx = list(range(0, n_inputs, skip))
    return idx if maximum is None else idx[:maximum]


def _subspace_names(subspaces: str | None, shape: tuple[int, ...]) -> list[str]:
    from hocert_sampling.smoothing import resolve_subspaces

    try:
        return list(resolve_subspaces(subspaces, shape))
    except ValueError as exc:
        raise CliError(f"--subspaces {subspaces}: {exc}") from None


def _num_classes(requested: int | None, width: int | None, y: np.ndarray, where: str) -> int:
    """--num-classes, checked against the model's output width (None: it returns labels)
    and against the labels ``y`` of the data (exit 2 when too small)."""
    if requested is None:
        if width is None:
            raise CliError("the model returns labels, not scores: pass --num-classes")
        num_classes = width
    elif width is not None and width != requested:
        raise CliError(f"--num-classes {requested} but the model returns {width} scores")
    else:
        num_classes = requested
    low, high = (int(y.min()), int(y.max())) if y.size else (0, 0)
    if low < 0:
        raise CliError(f"{where}: labels y must be >= 0, got {low}")
    if high >= num_classes:
        given = f"--num-classes {num_classes} is" if requested else f"{num_classes} classes are"
        raise CliError(
            f"{given} too few: the labels y of {where} go up to {high} (labels must lie in "
            f"[0, {num_classes}))"
        )
    return num_classes


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """Run ``hocert certify``."""
    from hocert import __version__
    from hocert.runner import CertifyParams, run_dask, run_local

    x, y, data_desc = _load_data(args.data)
    model_path = _model_path(args.model)
    sigma = _resolve_sigma(args)
    out = check_writable(args.out, "results")
    num_classes = _num_classes(args.num_classes, _output_width(model_path, x), y, data_desc)
    subspaces = None if args.subspaces == "none" else args.subspaces
    names = _subspace_names(subspaces, tuple(x.shape[1:]))

    client = connect(args.scheduler, args.connect_timeout) if args.scheduler else None
    try:
        execution = _execution.resolve(args.backend, client)
        params = CertifyParams(
            sigma=sigma,
            n0=args.n0,
            n=args.n,
            alpha=args.alpha,
            batch=args.batch,
            subspaces=subspaces,
            seed=args.seed,
            num_classes=num_classes,
            backend=execution["backend"],
            verify=args.verify,
        )
        info = {
            "model": str(model_path.resolve()),
            "data": data_desc,
            "d": int(np.prod(x.shape[1:])),
            "input_shape": list(x.shape[1:]),
            "num_inputs": int(x.shape[0]),
            "subspace_names": names,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        recorded = {
            **params.as_dict(),
            "model_sha256": _sha256_file(model_path),
            "data_sha256": _sha256_arrays(x, y),
            "hocert_version": __version__,
        }
        model = None
        if client is None:
            model, execution = _execution.with_model(
                execution, lambda: _load_model(model_path, params)
            )
        _execution.announce(execution, args.quiet)
        with _open_results(out, names, recorded, info, args.force, execution) as results:
            targets = _targets(x.shape[0], args.skip, args.max)
            todo = [i for i in targets if i not in results.finished]
            if model is not None:
                rows = run_local(model, params, todo, x, y)
            else:
                rows = run_dask(client, model_path, params, todo, x, y)
            _write_rows(
                results,
                rows,
                len(targets),
                len(targets) - len(todo),
                args.quiet,
                _execution.postfix(execution),
            )
        _report(out, len(targets), len(targets) - len(todo), len(todo))
    finally:
        if client is not None:
            client.close()
    return EXIT_OK


def _open_results(
    out: Path,
    names: list[str],
    recorded: dict[str, Any],
    info: dict[str, Any],
    force: bool,
    execution: dict[str, Any] | None = None,
) -> Any:
    """The result file, resumed when it matches (exit 2 when it does not); ``execution`` is
    recorded in its sidecar."""
    from hocert.results import ResultsCorrupted, ResultsFile, ResultsMismatch
    from hocert.runner import result_columns

    try:
        results = ResultsFile(
            out, result_columns(names), recorded, info, force=force, execution=execution
        )
    except (ResultsMismatch, ResultsCorrupted) as exc:
        raise CliError(str(exc)) from None
    if results.repaired:
        print(
            f"hocert: {out}: dropped an incomplete last line ({len(results.repaired)} bytes); "
            "that input is redone",
            file=sys.stderr,
        )
    return results


def _write_rows(
    results: Any, rows: Any, total: int, done: int, quiet: bool, postfix: str = ""
) -> None:
    """Append each row as it arrives, with a progress bar (``postfix``: where the rows are
    computed, e.g. ``numpy, ONNX CPU``); stop the source on any exit."""
    bar = progress(total, done, "certify", quiet)
    if postfix:
        bar.set_postfix_str(postfix)
    try:
        for row in rows:
            results.write_row(row)
            bar.update(1)
    finally:
        rows.close()
        bar.close()


def _load_model(model_path: Path, params: Any) -> Any:
    from hocert_sampling.models import as_label_model

    try:
        return as_label_model(str(model_path), params.num_classes, params.backend)
    except (ValueError, OSError) as exc:
        raise CliError(f"cannot use the model {model_path}: {exc}") from None


def _report(out: Path, total: int, resumed: int, new: int) -> None:
    from hocert.results import read_results

    frame, _ = read_results(out)
    print(
        f"{out}: {len(frame)} rows ({new} new, {resumed} resumed of {total} requested); "
        f"clean accuracy {100.0 * frame['correct'].mean():.1f}%, "
        f"abstained {100.0 * (frame['predict'] < 0).mean():.1f}%"
    )
