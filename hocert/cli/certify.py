"""``hocert certify``: certify a data set with a model, one resumable TSV row per input."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from hocert.examples import EXAMPLE_SIGMA
from hocert_sampling.bounds import DEFAULT_ESTIMATOR, ESTIMATORS

from . import _execution
from ._common import (
    EXIT_OK,
    CliError,
    add_command,
    add_out,
    byte_size,
    check_writable,
    comma_separated,
    hold_lock,
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
        f"  hocert certify --sigma {EXAMPLE_SIGMA:g} --scheduler tcp://10.0.0.5:8786 --out r.tsv\n"
        "  hocert certify --model mypkg.nets:build --model-arg checkpoint=w.pt --sigma 0.5"
        " --data test.npz   # a factory returning the model\n"
        f"  hocert certify --sigma {EXAMPLE_SIGMA:g} --plan --plan-n 1e4,1e5,1e6"
        "   # predict the radii of each n, then exit",
    )
    p.add_argument(
        "--model",
        metavar="PATH|MODULE:FUNCTION",
        help="ONNX model, or package.module:function returning a callable model "
        "(batch -> scores (N, K) or labels (N,)); default: the bundled example",
    )
    p.add_argument(
        "--model-arg",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="keyword argument (a string) for the --model function; repeatable",
    )
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
    p.add_argument(
        "--batch",
        type=int_at_least(1),
        help="samples per model call (default: from the input size and --memory-budget, at "
        "most 1000)",
    )
    p.add_argument(
        "--memory-budget",
        type=byte_size,
        metavar="BYTES",
        help="memory for the sampler's batches, e.g. 512MiB, 2GB (1GiB); sets the default --batch",
    )
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
    add_out(p, DEFAULT_RESULTS, "results TSV")
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
    p.add_argument(
        "--estimator",
        choices=ESTIMATORS,
        default=DEFAULT_ESTIMATOR,
        help=f"estimator of the gradient bounds ({DEFAULT_ESTIMATOR}; 'paper': Table 1 of the "
        "paper); recorded, a resume must use the same",
    )
    p.add_argument(
        "--plan",
        action="store_true",
        help="do not certify: pilot runs on the first inputs (--max of them, default 5) "
        "predict the Cohen and first-order radii of each --plan-n; print them and exit",
    )
    p.add_argument(
        "--plan-n0",
        type=int_at_least(2),
        default=10_000,
        metavar="N0",
        help="pilot samples per input for --plan (1e4)",
    )
    p.add_argument(
        "--plan-n",
        type=_counts,
        default=[10_000, 100_000, 1_000_000],
        metavar="N,N,...",
        help="candidate --n for --plan (1e4,1e5,1e6)",
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
        with open(p, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise CliError(f"cannot read {p}: {exc.strerror or exc}") from None
    if magic == b"\x93NUMPY":
        raise CliError(f"{p} is a single .npy array; expected an .npz with arrays x, y")
    if not magic.startswith(b"PK"):  # np.load would try pickle and hint at allow_pickle
        raise CliError(f"cannot read {p}: not an .npz file (expected arrays x, y)")
    try:
        with np.load(p, allow_pickle=False) as data:
            missing = [k for k in ("x", "y") if k not in data.files]
            if missing:
                raise CliError(f"{p} has no array(s) {missing} (it has {sorted(data.files)})")
            x, y = np.asarray(data["x"]), np.asarray(data["y"])
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        reason = "it holds Python objects" if "pickle" in str(exc) else str(exc)
        raise CliError(f"cannot read {p} as an .npz file: {reason}") from None
    _check_data(x, y, str(p))
    return x, y, str(p.resolve())


def _counts(text: str) -> list[int]:
    """``n1,n2,...``: sample counts >= 2, in any notation that is an integer (``1e5``)."""
    values = comma_separated(text, "counts")
    if not values or not all(math.isfinite(v) and v == int(v) and v >= 2 for v in values):
        raise argparse.ArgumentTypeError(f"need integers >= 2, got {text!r}")
    return [int(v) for v in values]


def _check_data(x: np.ndarray, y: np.ndarray, where: str) -> None:
    from hocert.runner import RunInputError, check_data

    try:
        check_data(x, y, where)
    except RunInputError as exc:
        raise CliError(str(exc)) from None


def _model(spec: str | None) -> Any:
    """``--model``: the bundled example's file by default; a path or ``module:function`` as is
    (``hocert.runner.resolve_model`` tells them apart)."""
    if spec is None:
        from hocert.examples import load_example

        return load_example()[0]
    return spec


def _model_args(pairs: list[str]) -> dict[str, str]:
    """``--model-arg KEY=VALUE`` pairs (exit 2 when malformed)."""
    args: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--model-arg {pair!r} is not KEY=VALUE")
        args[key.strip()] = value
    return args


# The parameter names in the run's messages, as the options that set them.
_OPTION_NAMES = (
    ("pass num_classes", "pass --num-classes"),
    ("num_classes=", "--num-classes "),
    ("subspaces=", "--subspaces "),
    ("model arguments are", "--model-arg is"),
)


@contextlib.contextmanager
def _input_errors() -> Iterator[None]:
    """The run's errors about its input as one-line usage errors (exit 2)."""
    from hocert.model_factory import ModelSpecError
    from hocert.results import ResultsCorrupted, ResultsMismatch
    from hocert.runner import RunInputError
    from hocert_sampling.backend import BackendError

    try:
        yield
    except (RunInputError, ModelSpecError, ResultsMismatch, ResultsCorrupted) as exc:
        message = str(exc)
        if isinstance(exc, RunInputError):
            for name, option in _OPTION_NAMES:
                message = message.replace(name, option)
        raise CliError(message) from None
    except BackendError as exc:
        message = str(exc).replace("use backend 'numpy'", "use --backend numpy")
        raise CliError(f"{message} ('hocert gpu' checks the whole GPU setup)") from None


def _resolve_sigma(args: argparse.Namespace) -> float:
    if args.sigma is not None:
        return float(args.sigma)
    if args.model is None:
        return EXAMPLE_SIGMA
    raise CliError(
        f"--sigma is required with --model (it defaults to {EXAMPLE_SIGMA:g} only for the example)"
    )


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """Run ``hocert certify``: one run per result file, whose lock (``FILE.lock``) is held
    from the start (a second run on the same ``--out`` fails at once, exit 2)."""
    if args.plan:
        return _plan(args)
    out = check_writable(args.out, "results")
    _refuse_input_as_output(out, args.model, args.data)
    lock = hold_lock(out, "result file")
    try:
        args.results_lock = lock
        return _run(args)
    finally:
        lock.release()


def _batch(args: argparse.Namespace, x: np.ndarray) -> int:
    """``--batch``, else the largest batch whose samples fit ``--memory-budget``."""
    from hocert_sampling.sampler import auto_batch_size

    if args.batch is not None:
        return int(args.batch)
    return auto_batch_size(max(1, int(np.prod(x.shape[1:]))), args.memory_budget)


def _refuse_input_as_output(out: Path, *inputs: str | None) -> None:
    """Exit 2 when ``out`` (or its sidecar) is the model or data file (``--force`` would
    delete it, a resume would read it as results)."""
    from hocert.results import meta_path

    for name in inputs:
        if name is None:
            continue
        for target in (out, meta_path(out)):
            try:
                same = target.exists() and Path(name).exists() and target.samefile(name)
            except OSError:
                same = False
            if same or Path(os.path.abspath(target)) == Path(os.path.abspath(name)):
                raise CliError(
                    f"--out {out} would overwrite the input file {name}; choose another --out"
                )


def _run(args: argparse.Namespace) -> int:
    """Parse the options into ``hocert.runner.certify_dataset``; print what it does."""
    from hocert.runner import RunStart, certify_dataset

    x, y, data_desc = _load_data(args.data)
    model = _model(args.model)
    model_args = _model_args(args.model_arg)
    sigma = _resolve_sigma(args)
    out = check_writable(args.out, "results")
    bar: Any = None

    def on_start(start: RunStart) -> None:
        nonlocal bar
        _execution.announce(start.execution, args.quiet)
        if start.repaired:
            print(
                f"hocert: {out}: dropped an incomplete last line ({len(start.repaired)} bytes); "
                "that input is redone",
                file=sys.stderr,
            )
        if args.scheduler is None and start.done < start.total:
            _warm_up_solver(args.quiet)  # (the workers of a Dask run warm up in the runner)
        bar = progress(start.total, start.done, "certify", args.quiet)
        bar.set_postfix_str(_execution.postfix(start.execution))

    client = connect(args.scheduler, args.connect_timeout) if args.scheduler else None
    try:
        with _input_errors():
            summary = certify_dataset(
                model,
                x,
                y,
                out=out,
                sigma=sigma,
                n0=args.n0,
                n=args.n,
                alpha=args.alpha,
                batch=_batch(args, x),
                subspaces=None if args.subspaces == "none" else args.subspaces,
                seed=args.seed,
                num_classes=args.num_classes,
                backend=args.backend,
                estimator=args.estimator,
                verify=args.verify,
                skip=args.skip,
                max_inputs=args.max,
                force=args.force,
                client=client,
                model_args=model_args,
                data_name=data_desc,
                lock=args.results_lock,
                on_start=on_start,
                on_row=lambda row: bar.update(1),
            )
    except OSError as exc:
        if bar is not None:  # the run had started: not the result file's
            raise
        raise CliError(f"cannot write results {out}: {exc.strerror or exc}") from None
    finally:
        if bar is not None:
            bar.close()
        if client is not None:
            client.close()
    _report(summary)
    return EXIT_OK


def _warm_up_solver(quiet: bool) -> None:
    """Compile the solver before the first input is timed (``hocert.runner.warm_up_solver``),
    saying so when that takes a while: the first run, with nothing in Numba's cache."""
    from hocert.runner import COMPILE_SECONDS, warm_up_solver

    def notice() -> None:
        print(
            f"hocert: compiling the solver (first run only, about {COMPILE_SECONDS} s)...",
            file=sys.stderr,
            flush=True,
        )

    warm_up_solver(None if quiet else notice)


def _plan(args: argparse.Namespace) -> int:
    """``--plan``: pilots on the first inputs (``hocert.runner.plan_dataset``), a table, exit."""
    from hocert.runner import plan_dataset

    x, y, data_desc = _load_data(args.data)
    _warm_up_solver(args.quiet)
    with _input_errors():
        plan = plan_dataset(
            _model(args.model),
            x,
            y,
            sigma=_resolve_sigma(args),
            n0=args.plan_n0,
            candidates=args.plan_n,
            alpha=args.alpha,
            batch=_batch(args, x),
            seed=args.seed,
            num_classes=args.num_classes,
            backend=args.backend,
            estimator=args.estimator,
            skip=args.skip,
            max_inputs=args.max or 5,
            model_args=_model_args(args.model_arg),
            data_name=data_desc,
        )
    first = plan.plans[0]
    print(
        f"plan: pilots of n0 = {args.plan_n0} samples on {len(plan.indices)} inputs (idx "
        f"{', '.join(map(str, plan.indices))}), estimator {first.estimator}, alpha {args.alpha:g}"
    )
    print("median predicted radius (input units) if certified with --n N:")
    print(plan.table())
    print("a prediction from the pilots, not a certificate; nothing was written")
    return EXIT_OK


def _report(summary: Any) -> None:
    print(
        f"{summary.out}: {len(summary.frame)} rows ({summary.new} new, {summary.resumed} "
        f"resumed of {summary.requested} requested); "
        f"clean accuracy {100.0 * summary.clean_accuracy:.1f}%, "
        f"abstained {100.0 * summary.abstain_rate:.1f}%"
    )
