"""The ``hocert`` command line (docs/cli.md).

Commands: ``certify`` (a data set, resumable, optionally on a Dask cluster), ``radius`` (one
directional radius), ``table build`` / ``table query`` (lookup tables of radii), ``plot`` and
``summary`` (certified accuracy from result files) and ``slice`` (a 2-D slice of the certified
region, the paper's Figure 1).

Exit codes: 0 success, 1 runtime failure, 2 usage error or bad input, 130 interrupted (Ctrl-C).
Errors are one line on stderr (``hocert: error: ...``); ``--traceback`` shows the Python
traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
import zipfile
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "build_parser",
    "main",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DEFAULT_RESULTS = "hocert_results.tsv"
DEFAULT_PLOT = "hocert_certified_accuracy.png"
DEFAULT_SLICE = "hocert_slice.png"
DEFAULT_TABLE = "hocert_table.npz"


class CliError(Exception):
    """An error reported as one line on stderr, with an exit code (2: bad input, 1: failure)."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def _version() -> str:
    try:
        return version("hocert")
    except PackageNotFoundError:  # pragma: no cover - source tree without install
        from hocert_solver import __version__

        return __version__


# ---------------------------------------------------------------------------------------------
# Argument types (argparse turns their ValueError/ArgumentTypeError into a usage error, exit 2)
# ---------------------------------------------------------------------------------------------


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def _nonneg_float(text: str) -> float:
    value = _finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def _probability(text: str) -> float:
    value = _finite_float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1), got {text!r}")
    return value


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def _float_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {text!r}"
        ) from None
    if not values or not all(math.isfinite(v) and v >= 0 for v in values):
        raise argparse.ArgumentTypeError(f"need finite numbers >= 0, got {text!r}")
    return values


def _grid(text: str) -> np.ndarray:
    """``v1,v2,...`` or ``start:stop:num`` (num points from start to stop inclusive)."""
    try:
        if ":" in text:
            start, stop, num = text.split(":")
            count = int(num)
            if count < 1:
                raise ValueError
            values = np.linspace(float(start), float(stop), count)
        else:
            values = np.array([float(v) for v in text.split(",") if v.strip()])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"grid must be 'v1,v2,...' or 'start:stop:num', got {text!r}"
        ) from None
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise argparse.ArgumentTypeError(f"grid must hold finite numbers, got {text!r}")
    return values


# ---------------------------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------------------------


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=100)


# What argparse should take for a negative number rather than an option: -0.6 and -3 (as
# argparse does by itself) and also -1e-3, -.5 and -inf (which argparse < 3.13 takes for
# unknown options).
_NEGATIVE_NUMBER = re.compile(
    r"^-(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE
)


class _Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with the conventions of ``hocert`` (every subparser too).

    No abbreviated options (``--sig`` is not ``--sigma``); negative numbers such as ``-1e-3``
    and ``-inf`` are positional values; an unknown option is reported by the parser of the
    (sub)command it was given to, with that command's usage and a close match if any.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:  # here, not in the top-level parser: the usage shown is this command's
            self.error(f"unrecognized arguments: {' '.join(extras)}{self._suggest(extras)}")
        return parsed, extras

    def _suggest(self, extras: list[str]) -> str:
        import difflib

        names = [o[2:] for o in self._option_string_actions if o.startswith("--")]
        for extra in extras:
            if extra.startswith("--"):
                close = difflib.get_close_matches(extra[2:].split("=", 1)[0], names, n=1)
                if close:
                    return f" (did you mean --{close[0]}?)"
        return ""


EXIT_TEXT = """exit codes:
  0    success
  1    runtime failure (model error, Dask failure, ...)
  2    usage error or bad input (paths, shapes, values, mismatched resume)
  130  interrupted (Ctrl-C); finished rows and chunks are kept"""


def _add(
    sub: Any, name: str, help_text: str, description: str, examples: str
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_text,
        description=description,
        epilog=f"examples:\n{examples}\n\n{EXIT_TEXT}",
        formatter_class=_Formatter,
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``hocert`` (all subcommands)."""
    parser = _Parser(
        prog="hocert",
        description=(
            "Certified robustness of randomized smoothing with first-order information.\n"
            "Radii are sound: every one is backed by a dual certificate (docs/math.md)."
        ),
        epilog=(
            "examples:\n"
            "  hocert certify --sigma 0.25 --max 20     # the bundled digits example\n"
            "  hocert summary hocert_results.tsv\n"
            "  hocert plot hocert_results.tsv --out fig.png\n"
            "  hocert radius 0.97 -0.6 0.7 --normalized\n"
            "  hocert slice --q 0.9 --grad-norm 0.5 --sigma 0.25 --out slice.png\n\n"
            "Run 'hocert COMMAND --help' for the options of a command; docs/cli.md has more.\n\n"
            + EXIT_TEXT
        ),
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"hocert {_version()}")
    parser.add_argument(
        "--traceback", action="store_true", help="show the traceback of unexpected errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_certify(sub)
    _add_radius(sub)
    _add_table(sub)
    _add_plot(sub)
    _add_summary(sub)
    _add_slice(sub)
    return parser


def _add_certify(sub: Any) -> None:
    p = _add(
        sub,
        "certify",
        "certify a data set with a model (resumable TSV output)",
        "Certify every input of a data set: predicted class and certified l2, l1, l_inf (and\n"
        "subspace) radii, one TSV row per input, written as it finishes. Rerunning with the\n"
        "same --out resumes after the finished rows (parameters must match).\n"
        "Radii are in input units (sigma included). Without --model/--data the bundled digits\n"
        "example (8x8 images, MLP trained at sigma 0.25) is used.",
        "  hocert certify --sigma 0.25 --max 20\n"
        "  hocert certify --model net.onnx --data test.npz --sigma 0.5 --n 100000 --out r.tsv\n"
        "  hocert certify --model net.onnx --data test.npz --sigma 0.5 --subspaces channels\n"
        "  hocert certify --sigma 0.25 --scheduler tcp://10.0.0.5:8786 --out r.tsv",
    )
    p.add_argument("--model", metavar="PATH", help="ONNX model (default: the bundled example)")
    p.add_argument(
        "--data",
        metavar="PATH",
        help="NPZ file with arrays x (N, ...) and y (N,) (default: the bundled example)",
    )
    p.add_argument(
        "--sigma",
        type=_positive_float,
        help="noise level in input units; required with --model, 0.25 for the bundled model",
    )
    p.add_argument("--n0", type=_int_at_least(1), default=100, help="selection samples (100)")
    p.add_argument("--n", type=_int_at_least(2), default=100_000, help="estimation samples (1e5)")
    p.add_argument("--alpha", type=_probability, default=0.001, help="failure prob. (0.001)")
    p.add_argument("--batch", type=_int_at_least(1), default=1000, help="samples per call (1000)")
    p.add_argument(
        "--skip", type=_int_at_least(1), default=1, help="certify every SKIP-th input (1)"
    )
    p.add_argument("--max", type=_int_at_least(1), help="certify at most MAX inputs (all)")
    p.add_argument(
        "--subspaces",
        choices=("none", "channels"),
        default="none",
        help="also certify l2 radii inside each channel's subspace (inputs (C, H, W))",
    )
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="run seed (0)")
    p.add_argument(
        "--out", metavar="FILE", default=DEFAULT_RESULTS, help=f"results TSV ({DEFAULT_RESULTS})"
    )
    p.add_argument(
        "--num-classes", type=_int_at_least(2), help="classes (default: the model's output width)"
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
        type=_positive_float,
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
    p.set_defaults(func=_cmd_certify)


def _add_radius(sub: Any) -> None:
    p = _add(
        sub,
        "radius",
        "one first-order directional radius (Theorem 3)",
        "The certified radius R(q, m1, m2) along one direction v, in units of sigma, from lower\n"
        "bounds q <= p_A, m1 <= <beta, v> and m2 <= ||beta - <beta, v> v||, beta = sigma grad\n"
        "g_A(x) (dimensionless). Negative m1: the gradient points against the move.\n"
        "(m1, m2) outside the feasible disk max(m1, 0)^2 + m2^2 <= M(q)^2 contradict q\n"
        "(exit 2; fractions of M(q) need --normalized).\n"
        "Negative values such as -0.6, -1e-3 or -inf can be given directly.",
        "  hocert radius 0.97 -0.0406 0.0474\n"
        "  hocert radius 0.97 -0.6 0.7 --normalized        # m1, m2 as fractions of M(q)\n"
        "  hocert radius 0.97 -0.6 0.7 --normalized --sigma 0.25 --json\n"
        "  hocert radius 0.97 -0.6 0.7 --normalized --verify\n"
        "  hocert radius --json -- 0.9 -inf 0",
    )
    p.add_argument("q", type=_finite_float, help="lower bound on p_A, in [0, 1]")
    p.add_argument("m1", type=float, help="lower bound on <beta, v> (may be -inf)")
    p.add_argument("m2", type=_finite_float, help="lower bound (>= 0) on the orthogonal part")
    p.add_argument(
        "--normalized",
        action="store_true",
        help="M1, M2 are fractions of M(q) = phi(Phi^-1(q)), the largest possible ||beta||",
    )
    p.add_argument("--sigma", type=_positive_float, help="also print sigma * R (input units)")
    p.add_argument(
        "--verify",
        action="store_true",
        help="prove the radius in ball arithmetic (independent of the solver's quadrature); "
        "a radius that cannot be proved is lowered until it is (status 'lowered')",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_radius)


def _add_table(sub: Any) -> None:
    p = _add(
        sub,
        "table",
        "build or query a lookup table of radii",
        "Lookup tables of R(q, m1, m2) on a grid of q, a = m1/M(q), b = m2/M(q); a lookup\n"
        "returns a certified lower bound (docs/math.md section 8).",
        "  hocert table build --out table.npz --checkpoint table.ckpt\n"
        "  hocert table query table.npz 0.97 -0.6 0.7 --normalized",
    )
    tsub = p.add_subparsers(dest="table_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: _missing_subcommand(p))

    b = _add(
        tsub,
        "build",
        "solve a grid of radii and save it",
        "Solve every feasible cell of the grid q x a x b (Dask) and save the table (.npz).\n"
        "Grids: a preset, with any axis replaced by --q-grid/--z-grid/--a-grid/--b-grid, each\n"
        "'v1,v2,...' or 'start:stop:num'. --z-grid gives q = Phi(z). Presets: 'default'\n"
        "(z 0..5.3 step 0.05, a -1..1 and b 0..1 step 0.05) and 'fine' (steps 0.025).",
        "  hocert table build --out table.npz\n"
        "  hocert table build --out t.npz --z-grid 0:3:31 --a-grid -1:1:21 --b-grid 0:1:11\n"
        "  hocert table build --out t.npz --scheduler tcp://10.0.0.5:8786 --checkpoint ckpt/\n"
        "  hocert table build --out t.npz --q-grid 0.6,0.9,0.99 --scheduler synchronous",
    )
    b.add_argument("--out", metavar="FILE", default=DEFAULT_TABLE, help=f"({DEFAULT_TABLE})")
    b.add_argument("--preset", choices=("default", "fine"), default="default", help="(default)")
    grids = b.add_mutually_exclusive_group()
    grids.add_argument("--q-grid", type=_grid, metavar="GRID", help="q values in [1/2, 1)")
    grids.add_argument("--z-grid", type=_grid, metavar="GRID", help="z >= 0 values, q = Phi(z)")
    b.add_argument("--a-grid", type=_grid, metavar="GRID", help="a = m1/M(q) in [-1, 1]")
    b.add_argument("--b-grid", type=_grid, metavar="GRID", help="b = m2/M(q) in [0, 1]")
    b.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address, or 'synchronous' (default: a local cluster)",
    )
    b.add_argument(
        "--connect-timeout",
        type=_positive_float,
        default=20.0,
        metavar="SECONDS",
        help="for --scheduler (20)",
    )
    b.add_argument("--workers", type=_int_at_least(1), help="local cluster workers (CPU count)")
    b.add_argument("--chunk-size", type=_int_at_least(1), default=2048, help="cells/task (2048)")
    b.add_argument("--checkpoint", metavar="DIR", help="resumable build: save chunks here")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=_cmd_table_build)

    q = _add(
        tsub,
        "query",
        "look up certified radii in a table",
        "A certified lower bound of R(q, m1, m2) (units of sigma) from a table. Queries outside\n"
        "the table's domain are refused (or NaN with --on-outside nan). The table is verified\n"
        "when it is loaded (every radius re-proved from its witness): a table altered or\n"
        "damaged after it was built is refused (exit 2); --no-verify skips that.\n"
        "Batch mode: --input TSV with columns q, m1, m2 (others are passed through); the\n"
        "output adds the columns radius and status.",
        "  hocert table query table.npz 0.97 -0.0406 0.0474\n"
        "  hocert table query table.npz 0.97 -0.6 0.7 --normalized --json\n"
        "  hocert table query table.npz --input queries.tsv --output radii.tsv",
    )
    q.add_argument("table", metavar="FILE", help="table file (.npz) from 'table build'")
    q.add_argument("q", nargs="?", type=_finite_float, help="lower bound on p_A")
    q.add_argument("m1", nargs="?", type=float, help="lower bound on <beta, v>")
    q.add_argument("m2", nargs="?", type=_finite_float, help="lower bound on the orthogonal part")
    q.add_argument("--normalized", action="store_true", help="m1, m2 as fractions of M(q)")
    q.add_argument("--json", action="store_true", help="print JSON (single query)")
    q.add_argument("--input", metavar="TSV", help="batch of queries (columns q, m1, m2)")
    q.add_argument("--output", metavar="TSV", default="-", help="batch output (stdout)")
    q.add_argument(
        "--on-outside",
        choices=("error", "nan"),
        default="error",
        help="queries outside the table: exit 2 (error) or radius nan, status 'outside'",
    )
    q.add_argument(
        "--no-verify",
        action="store_true",
        help="load the table without re-proving its radii (huge tables you trust)",
    )
    q.set_defaults(func=_cmd_table_query)


def _add_plot(sub: Any) -> None:
    p = _add(
        sub,
        "plot",
        "certified accuracy against radius (PNG or SVG)",
        "Certified accuracy against radius per threat model (l2, l1, l_inf, subspaces),\n"
        "first-order (solid) against Cohen et al. (dashed): Cohen's l2 radius for l2, l1 and\n"
        "subspaces, radius_cohen / sqrt(d) for l_inf. With several files the upper envelope\n"
        "over the files is drawn in black (the paper's Figure 2). Radii in input units.",
        "  hocert plot hocert_results.tsv --out fig.png\n"
        "  hocert plot s012.tsv s025.tsv s050.tsv --out fig.svg",
    )
    p.add_argument("files", nargs="+", metavar="RESULTS", help="TSV files from 'certify'")
    p.add_argument("--out", metavar="FILE", default=DEFAULT_PLOT, help=f"({DEFAULT_PLOT})")
    p.add_argument("--label", action="append", help="legend label per file (repeat)")
    p.add_argument("--dim", type=_int_at_least(1), help="input dimension d (default: sidecar)")
    p.set_defaults(func=_cmd_plot)


def _add_summary(sub: Any) -> None:
    p = _add(
        sub,
        "summary",
        "certified accuracy tables",
        "Per file: inputs, clean accuracy, abstain rate, mean time per input. Per threat model:\n"
        "certified accuracy (%) at a few radii (input units; default 0 to 3 sigma with the\n"
        "largest sigma of the files; l_inf at r / sqrt(d)), first-order and Cohen, and the\n"
        "envelope over files when there are several.",
        "  hocert summary hocert_results.tsv\n"
        "  hocert summary s025.tsv s050.tsv --radii 0,0.25,0.5,1",
    )
    p.add_argument("files", nargs="+", metavar="RESULTS", help="TSV files from 'certify'")
    p.add_argument("--radii", type=_float_list, help="comma-separated l2 radii (input units)")
    p.add_argument("--label", action="append", help="label per file (repeat)")
    p.add_argument("--dim", type=_int_at_least(1), help="input dimension d (default: sidecar)")
    p.set_defaults(func=_cmd_summary)


def _add_slice(sub: Any) -> None:
    p = _add(
        sub,
        "slice",
        "2-D slice of the certified region (the paper's Figure 1)",
        "The region certified by first-order information in the plane spanned by beta and a\n"
        "direction orthogonal to it (the region is symmetric about beta), against the\n"
        "zeroth-order disk of radius sigma Phi^-1(q). Axes in input units with --sigma, in\n"
        "units of sigma without it.\n"
        "--grad-norm is ||beta||_2 as a fraction of M(q) (--units fraction, default), ||beta||_2\n"
        "itself (--units beta; beta = sigma grad g, dimensionless, at most M(q)), or\n"
        "||grad g_A(x)||_2 in 1/input units (--units gradient, needs --sigma).",
        "  hocert slice --q 0.9 --grad-norm 0.5 --sigma 0.25 --out slice.png\n"
        "  hocert slice --q 0.99 --grad-norm 0.02 --units beta --out slice.svg",
    )
    p.add_argument("--q", type=_finite_float, required=True, help="p_A, in (1/2, 1)")
    p.add_argument("--grad-norm", type=_nonneg_float, required=True, help="gradient norm")
    p.add_argument(
        "--units", choices=("fraction", "beta", "gradient"), default="fraction", help="(fraction)"
    )
    p.add_argument(
        "--sigma",
        type=_positive_float,
        help="noise level: axes in input units (default: axes in units of sigma)",
    )
    p.add_argument("--out", metavar="FILE", default=DEFAULT_SLICE, help=f"({DEFAULT_SLICE})")
    p.add_argument("--angles", type=_int_at_least(8), default=360, help="directions (360)")
    p.add_argument("--limit", type=_positive_float, help="axes half-width (axes units)")
    p.add_argument("--data", metavar="TSV", help="also write the radius per angle here")
    p.set_defaults(func=_cmd_slice)


def _missing_subcommand(parser: argparse.ArgumentParser) -> NoReturn:
    parser.print_usage(sys.stderr)
    raise CliError("a subcommand is required: build or query")


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------


def _check_writable(path: str | os.PathLike[str], what: str) -> Path:
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise CliError(f"cannot write {what} {p}: directory {parent} does not exist")
    if p.is_dir():
        raise CliError(f"cannot write {what} {p}: it is a directory")
    return p


def _check_figure(path: str) -> Path:
    from .plotting import check_figure_path

    try:
        check_figure_path(path)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return _check_writable(path, "figure")


def _json_number(value: float) -> float | str:
    """JSON has no inf/nan: they are written as the strings "inf", "-inf", "nan"."""
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, indent=2, allow_nan=False))


def _progress(total: int, initial: int, desc: str, quiet: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit="input" if desc == "certify" else "chunk",
        file=sys.stderr,
        disable=quiet,
        dynamic_ncols=True,
    )


# Schemes of Dask scheduler addresses (distributed.comm.registry); HOST:PORT alone means tcp.
_SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


def _scheduler_address(address: str) -> str:
    """``address`` as ``SCHEME://HOST:PORT`` (exit 2 when it cannot be a scheduler's)."""

    def invalid(why: str) -> CliError:
        return CliError(f"invalid Dask scheduler address {address!r}: {why}")

    scheme, sep, loc = address.strip().partition("://")
    if not sep:
        scheme, loc = "tcp", address.strip()
    scheme = scheme.lower()
    if scheme in ("http", "https"):
        raise invalid(
            f"{scheme}:// is a web page (the dashboard, port 8787 by default); the scheduler "
            "listens at tcp://HOST:PORT (port 8786 by default)"
        )
    if scheme not in _SCHEDULER_SCHEMES:
        raise invalid(f"unknown scheme {scheme}://, expected tcp://HOST:PORT")
    if scheme == "inproc":  # a scheduler in this process (tests, notebooks)
        return f"{scheme}://{loc}"
    host, colon, port = loc.rpartition(":")
    bad = not colon or not host or any(c.isspace() or c in "/?#@" for c in loc)
    if bad or not port.isdigit() or not 0 < int(port) < 65536:
        raise invalid("expected [tcp://]HOST:PORT, e.g. tcp://10.0.0.5:8786")
    return f"{scheme}://{loc}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _probe_scheduler(address: str, timeout: float) -> None:
    """Ask the server at ``address`` who it is; exit 1 unless a Dask scheduler answers in time.

    ``distributed.Client`` does not bound its handshake: against a server that is not a
    scheduler it can wait forever (a server that accepts and never answers) or misread the
    reply (a web server's ``HTTP/1.1 400`` taken for a frame length of exabytes). The probe
    runs in a daemon thread on its own event loop with an overall deadline, so it ends in
    ``timeout`` seconds whatever the server does, and leaves nothing running behind.
    """
    import asyncio
    import threading

    from distributed.comm import connect
    from distributed.security import Security

    # TLS settings from the Dask config, as the Client takes them
    connection_args = Security().get_connection_args("client")

    async def identity() -> Any:
        comm = await connect(address, timeout=timeout, **connection_args)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    outcome: dict[str, Any] = {}

    def probe() -> None:
        try:
            outcome["reply"] = asyncio.run(asyncio.wait_for(identity(), timeout))
        except BaseException as exc:  # MemoryError (a bogus frame length) included
            outcome["error"] = exc

    thread = threading.Thread(target=probe, name="hocert-scheduler-probe", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)  # the probe's own deadline is timeout; this one is the backstop

    def failure(why: str) -> CliError:
        return CliError(f"cannot connect to the Dask scheduler at {address}: {why}", EXIT_FAILURE)

    no_answer = (
        f"no answer within {timeout:g} s (--connect-timeout); is a Dask scheduler listening "
        "there? (the dashboard's port, 8787 by default, is not the scheduler's)"
    )
    if thread.is_alive() or isinstance(outcome.get("error"), asyncio.TimeoutError):
        raise failure(no_answer)
    error = outcome.get("error")
    if isinstance(error, KeyboardInterrupt):
        raise error
    if isinstance(error, OSError):  # refused, unreachable, unknown host, closed: after retries
        raise failure(_one_line(error))
    if error is not None:  # the server does not speak Dask's protocol
        detail = (
            "its reply is not a Dask message"  # e.g. "HTTP/1.1" read as a frame length
            if isinstance(error, MemoryError)
            else f"{type(error).__name__}: {_one_line(error)}"
        )
        raise failure(
            f"the server there does not speak the Dask protocol ({detail}); the dashboard's "
            "port, 8787 by default, is not the scheduler's"
        )
    reply = outcome.get("reply")
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        what = f"a Dask {kind}" if isinstance(kind, str) else "not a Dask scheduler"
        raise failure(f"the server there is {what}, not the scheduler")


def _connect(address: str, timeout: float, *, as_default: bool = False) -> Any:
    """A Dask client connected to ``address``.

    Exit 2 for an address that cannot be a scheduler's (syntax, ``http://``), exit 1 when no
    scheduler answers there within ``timeout`` seconds (refused, silent, a web server, ...).
    """
    from distributed import Client

    address = _scheduler_address(address)
    if not address.startswith("inproc://"):
        _probe_scheduler(address, timeout)
    try:
        return Client(address, timeout=f"{timeout}s", set_as_default=as_default)
    except Exception as exc:  # the scheduler answered the probe but the client failed
        raise CliError(
            f"cannot connect to the Dask scheduler at {address}: {type(exc).__name__}: "
            f"{_one_line(exc)}",
            EXIT_FAILURE,
        ) from None


# ---------------------------------------------------------------------------------------------
# certify
# ---------------------------------------------------------------------------------------------


def _load_data(path: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """Inputs x, labels y and a description (the path, or "bundled example")."""
    if path is None:
        from .examples import load_example

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
        from .examples import load_example

        return load_example()[0]
    p = Path(path)
    if not p.is_file():
        raise CliError(f"model file not found: {p}")
    return p


def _probe_model(model_path: Path, x: np.ndarray) -> int | None:
    """Run the model once on ``x[:1]``: the number of scores it returns (None for labels)."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise CliError(f"cannot load the ONNX model {model_path}: {exc}") from None
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise CliError(f"the ONNX model must have one input, it has {[i.name for i in inputs]}")
    dims = inputs[0].shape
    static = len(dims) == x.ndim and all(
        not isinstance(d, int) or d == s for d, s in zip(dims[1:], x.shape[1:])
    )
    if not static:
        raise CliError(
            f"the model expects inputs of shape {dims}, the data has {list(x.shape)} "
            "(first axis: the batch)"
        )
    dtype = np.float64 if inputs[0].type == "tensor(double)" else np.float32
    try:
        out = session.run(None, {inputs[0].name: x[:1].astype(dtype)})[0]
    except Exception as exc:
        raise CliError(f"the model failed on an input of shape {x[:1].shape}: {exc}") from None
    out = np.asarray(out)
    return int(out.shape[1]) if out.ndim == 2 else None


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
        from .examples import EXAMPLE_SIGMA

        return EXAMPLE_SIGMA
    raise CliError("--sigma is required with --model (it defaults to 0.25 only for the example)")


def _targets(n_inputs: int, skip: int, maximum: int | None) -> list[int]:
    """Indices to certify: every ``skip``-th input from 0, at most ``maximum`` of them."""
    idx = list(range(0, n_inputs, skip))
    return idx if maximum is None else idx[:maximum]


def _subspace_names(subspaces: str | None, shape: tuple[int, ...]) -> list[str]:
    from .smoothing import resolve_subspaces

    try:
        return list(resolve_subspaces(subspaces, shape))
    except ValueError as exc:
        raise CliError(f"--subspaces {subspaces}: {exc}") from None


def _resolve_backend(name: str | None, client: Any) -> str:
    from .backend import BackendError, get_backend
    from .runner import resolve_backend_name

    try:
        if client is None:
            return get_backend(name).name
        return str(client.submit(resolve_backend_name, name, pure=False).result())
    except BackendError as exc:
        raise CliError(str(exc)) from None


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


def _cmd_certify(args: argparse.Namespace) -> int:
    from .runner import CertifyParams, run_dask, run_local

    x, y, data_desc = _load_data(args.data)
    model_path = _model_path(args.model)
    sigma = _resolve_sigma(args)
    out = _check_writable(args.out, "results")
    num_classes = _num_classes(args.num_classes, _probe_model(model_path, x), y, data_desc)
    subspaces = None if args.subspaces == "none" else args.subspaces
    names = _subspace_names(subspaces, tuple(x.shape[1:]))

    client = _connect(args.scheduler, args.connect_timeout) if args.scheduler else None
    try:
        params = CertifyParams(
            sigma=sigma,
            n0=args.n0,
            n=args.n,
            alpha=args.alpha,
            batch=args.batch,
            subspaces=subspaces,
            seed=args.seed,
            num_classes=num_classes,
            backend=_resolve_backend(args.backend, client),
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
            "hocert_version": _version(),
        }
        with _open_results(out, names, recorded, info, args.force) as results:
            targets = _targets(x.shape[0], args.skip, args.max)
            todo = [i for i in targets if i not in results.finished]
            if client is None:
                rows = run_local(_load_model(model_path, params), params, todo, x, y)
            else:
                rows = run_dask(client, model_path, params, todo, x, y)
            _write_rows(results, rows, len(targets), len(targets) - len(todo), args.quiet)
        _report_certify(out, len(targets), len(targets) - len(todo), len(todo))
    finally:
        if client is not None:
            client.close()
    return EXIT_OK


def _open_results(
    out: Path, names: list[str], recorded: dict[str, Any], info: dict[str, Any], force: bool
) -> Any:
    """The result file, resumed when it matches (exit 2 when it does not)."""
    from .results import ResultsCorrupted, ResultsFile, ResultsMismatch
    from .runner import result_columns

    try:
        results = ResultsFile(out, result_columns(names), recorded, info, force=force)
    except (ResultsMismatch, ResultsCorrupted) as exc:
        raise CliError(str(exc)) from None
    if results.repaired:
        print(
            f"hocert: {out}: dropped an incomplete last line ({len(results.repaired)} bytes); "
            "that input is redone",
            file=sys.stderr,
        )
    return results


def _write_rows(results: Any, rows: Any, total: int, done: int, quiet: bool) -> None:
    """Append each row as it arrives, with a progress bar; stop the source on any exit."""
    bar = _progress(total, done, "certify", quiet)
    try:
        for row in rows:
            results.write_row(row)
            bar.update(1)
    finally:
        rows.close()
        bar.close()


def _load_model(model_path: Path, params: Any) -> Any:
    from .models import as_label_model

    try:
        return as_label_model(str(model_path), params.num_classes, params.backend)
    except (ValueError, OSError) as exc:
        raise CliError(f"cannot use the model {model_path}: {exc}") from None


def _report_certify(out: Path, total: int, resumed: int, new: int) -> None:
    from .results import read_results

    frame, _ = read_results(out)
    print(
        f"{out}: {len(frame)} rows ({new} new, {resumed} resumed of {total} requested); "
        f"clean accuracy {100.0 * frame['correct'].mean():.1f}%, "
        f"abstained {100.0 * (frame['predict'] < 0).mean():.1f}%"
    )


# ---------------------------------------------------------------------------------------------
# radius
# ---------------------------------------------------------------------------------------------


def _absolute_bounds(q: float, m1: float, m2: float, normalized: bool) -> tuple[float, float]:
    """(m1, m2) in absolute units; with ``normalized`` they are fractions of M(q)."""
    if not 0.0 <= q <= 1.0:
        raise CliError(f"q must lie in [0, 1], got {q!r}")
    if math.isnan(m1) or m1 == math.inf:
        raise CliError(f"m1 must not be NaN or +inf, got {m1!r}")
    if m2 < 0:
        raise CliError(f"m2 must be >= 0, got {m2!r}")
    if not normalized:
        return m1, m2
    from hocert_solver import max_gradient_norm

    big_m = float(max_gradient_norm(q))
    return m1 * big_m, m2 * big_m


def _inconsistent_error(q: float, m1: float, m2: float, normalized: bool) -> CliError:
    """The one-line error for (m1, m2) outside the feasible disk at q (status INCONSISTENT)."""
    from hocert_solver import max_gradient_norm

    big_m = float(max_gradient_norm(q))
    rho = math.hypot(max(m1, 0.0), m2)
    ratio = f"{rho / big_m:.6g} times" if big_m > 0.0 else "above"
    if normalized:  # (then M(q) > 0: at q = 1 normalised bounds are 0)
        given = f"({m1 / big_m:.6g}, {m2 / big_m:.6g}) M(q)"
        hint = "a confidence bound failed (fractions of M(q) lie in the unit disk)"
    else:
        given = f"({m1:.6g}, {m2:.6g})"
        if rho <= 1.0:
            hint = "did you mean --normalized (m1, m2 as fractions of M(q))?"
        else:
            hint = "m1, m2 must bound beta = sigma * grad g_A(x) (sigma included)"
    return CliError(
        f"(m1, m2) = {given} lie outside the feasible disk at q = {q:.10g}: "
        f"sqrt(max(m1, 0)^2 + m2^2) is {ratio} M(q) = {big_m:.6g}, so the gradient bounds "
        f"contradict q; {hint}"
    )


def _cmd_radius(args: argparse.Namespace) -> int:
    from hocert_solver import (
        INCONSISTENT,
        LOWERED,
        STATUS_NAMES,
        directional_radius,
        max_gradient_norm,
    )

    m1, m2 = _absolute_bounds(args.q, args.m1, args.m2, args.normalized)
    try:
        res = directional_radius(args.q, m1, m2, verify=args.verify)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    radius, status, nit = float(res.radius), int(res.status), int(res.nit)
    if status == INCONSISTENT:
        raise _inconsistent_error(args.q, m1, m2, args.normalized)
    verified = None
    if args.verify:  # every radius returned with verify=True is proved (lowered if need be)
        verified = "proved" if status != LOWERED else "lowered until proved"
    data: dict[str, Any] = {
        "q": args.q,
        "m1": _json_number(m1),
        "m2": m2,
        "M": float(max_gradient_norm(args.q)),
        "radius": _json_number(radius),
        "status": STATUS_NAMES[status],
        "status_code": status,
        "success": bool(res.success),
        "nit": nit,
    }
    if verified is not None:
        data["verified"] = verified
    if args.sigma is not None:
        data["sigma"] = args.sigma
        data["radius_input"] = _json_number(args.sigma * radius)
    if args.json:
        _print_json(data)
        return EXIT_OK
    print(f"radius        {radius!r}  (units of sigma)")
    if args.sigma is not None:
        print(f"radius_input  {args.sigma * radius!r}  (input units, sigma = {args.sigma:g})")
    print(f"status        {STATUS_NAMES[status]}")
    if verified is not None:
        print(f"verified      {verified} (ball arithmetic, python-flint)")
    print(f"nit           {nit}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# table
# ---------------------------------------------------------------------------------------------


def _table_grid(args: argparse.Namespace) -> dict[str, np.ndarray]:
    from scipy.special import ndtr

    from hocert_solver.table import RadiusTable

    if args.preset == "default":
        grid = RadiusTable.default_grid()
    else:
        grid = RadiusTable.default_grid(dz=0.0125, da=0.05, db=0.05)
    if args.q_grid is not None:
        grid["q"] = args.q_grid
    if args.z_grid is not None:
        if np.any(args.z_grid < 0):
            raise CliError("--z-grid values must be >= 0 (q = Phi(z) >= 1/2)")
        grid["q"] = ndtr(args.z_grid)
    if args.a_grid is not None:
        grid["a"] = args.a_grid
    if args.b_grid is not None:
        grid["b"] = args.b_grid
    _check_grid(grid)
    return grid


def _check_grid(grid: dict[str, np.ndarray]) -> None:
    """The domain of a table grid (hocert_solver.table): increasing, q in [1/2, 1), ..."""
    domains = {"q": (0.5, 1.0, True), "a": (-1.0, 1.0, False), "b": (0.0, 1.0, False)}
    for name, (lo, hi, hi_open) in domains.items():
        values = np.asarray(grid[name], dtype=np.float64)
        if values.size > 1 and not np.all(np.diff(values) > 0):
            raise CliError(f"invalid grid: {name} values must be strictly increasing")
        top_ok = values[-1] < hi if hi_open else values[-1] <= hi
        if values[0] < lo or not top_ok:
            bracket = ")" if hi_open else "]"
            raise CliError(
                f"invalid grid: {name} values must lie in [{lo:g}, {hi:g}{bracket}, got "
                f"{values[0]:g} to {values[-1]:g}"
            )


def _cmd_table_build(args: argparse.Namespace) -> int:
    from hocert_solver.table import RadiusTable, TableBuildError

    out = _check_writable(args.out, "table")
    grid = _table_grid(args)
    scheduler: Any = args.scheduler
    client = None
    if scheduler not in (None, "synchronous"):
        client = scheduler = _connect(scheduler, args.connect_timeout, as_default=True)
    bar = _progress(0, 0, "table", args.quiet)

    def on_chunk(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        table = RadiusTable.build(
            grid["q"],
            grid["a"],
            grid["b"],
            scheduler=scheduler,
            chunk_size=args.chunk_size,
            checkpoint=args.checkpoint,
            n_workers=args.workers,
            on_chunk=on_chunk,
        )
    except TableBuildError as exc:  # e.g. a checkpoint made for another build
        raise CliError(str(exc)) from None
    finally:
        bar.close()
        if client is not None:
            client.close()
    table.save(out)
    print(f"{out}: {table!r}")
    return EXIT_OK


def _load_table(path: str, verify: bool = True) -> Any:
    from hocert_solver.table import RadiusTable, TableVerificationError

    if not Path(path).is_file():
        raise CliError(f"table file not found: {path}")
    if not zipfile.is_zipfile(path):  # np.load would say "pickled data" of a TSV, say
        raise CliError(
            f"cannot load table {path}: not an .npz file; expected a table written by "
            "'hocert table build' (a TSV of queries goes to --input)"
        )
    try:
        return RadiusTable.load(path, verify=verify)
    except TableVerificationError as exc:  # altered or damaged: the message names the file
        raise CliError(f"refusing table: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise CliError(f"cannot load table {path}: {exc}") from None


def _lookup_status_name(code: int) -> str:
    from hocert_solver import STATUS_NAMES
    from hocert_solver.table import OUTSIDE, SKIPPED

    return {**STATUS_NAMES, OUTSIDE: "outside", SKIPPED: "skipped"}[int(code)]


def _cmd_table_query(args: argparse.Namespace) -> int:
    from hocert_solver import INCONSISTENT

    single = [args.q, args.m1, args.m2]
    if args.input is not None:
        if any(v is not None for v in single):
            raise CliError("give either Q M1 M2 or --input, not both")
        return _table_query_batch(args)
    if any(v is None for v in single):
        raise CliError("give Q M1 M2 (one query) or --input TSV (a batch)")
    table = _load_table(args.table, verify=not args.no_verify)
    m1, m2 = _absolute_bounds(args.q, args.m1, args.m2, args.normalized)
    on_outside = "raise" if args.on_outside == "error" else "nan"
    try:
        radius, status = table.lookup(args.q, m1, m2, on_outside=on_outside, return_status=True)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if int(status) == INCONSISTENT:
        raise _inconsistent_error(args.q, m1, m2, args.normalized)
    data = {
        "q": args.q,
        "m1": _json_number(m1),
        "m2": m2,
        "radius": _json_number(float(radius)),
        "status": _lookup_status_name(int(status)),
        "table": str(args.table),
    }
    if args.json:
        _print_json(data)
    else:
        print(f"radius  {float(radius)!r}  (units of sigma; certified lower bound)")
        print(f"status  {data['status']}")
    return EXIT_OK


def _table_query_batch(args: argparse.Namespace) -> int:
    import pandas as pd

    from hocert_solver import INCONSISTENT

    table = _load_table(args.table, verify=not args.no_verify)
    if not Path(args.input).is_file():
        raise CliError(f"query file not found: {args.input}")
    try:
        frame = pd.read_csv(args.input, sep="\t")
    except (ValueError, pd.errors.ParserError) as exc:
        raise CliError(f"cannot read {args.input} as TSV: {exc}") from None
    missing = [c for c in ("q", "m1", "m2") if c not in frame.columns]
    if missing:
        raise CliError(f"{args.input} lacks the column(s) {missing} (has {list(frame.columns)})")
    try:
        q, m1, m2 = (frame[c].to_numpy(dtype=np.float64) for c in ("q", "m1", "m2"))
    except (ValueError, TypeError) as exc:
        raise CliError(f"{args.input}: q, m1, m2 must be numbers: {exc}") from None
    if args.normalized:
        from hocert_solver import max_gradient_norm

        with np.errstate(invalid="ignore"):
            big_m = max_gradient_norm(np.clip(q, 0.0, 1.0))
        m1, m2 = m1 * big_m, m2 * big_m
    on_outside = "raise" if args.on_outside == "error" else "nan"
    try:
        radius, status = table.lookup(q, m1, m2, on_outside=on_outside, return_status=True)
    except ValueError as exc:
        raise CliError(f"{args.input}: {exc}") from None
    frame["radius"] = radius
    frame["status"] = [_lookup_status_name(s) for s in np.ravel(status)]
    inconsistent = np.flatnonzero(np.ravel(status) == INCONSISTENT)
    if inconsistent.size:
        hint = "" if args.normalized else "; did you mean --normalized?"
        print(
            f"hocert: warning: {args.input}: {inconsistent.size} of {len(frame)} queries (first: "
            f"row {int(inconsistent[0]) + 1}) lie outside the feasible disk at their q: the "
            f"gradient bounds contradict q (status inconsistent, radius Cohen's){hint}",
            file=sys.stderr,
        )
    if args.output == "-":
        frame.to_csv(sys.stdout, sep="\t", index=False)
    else:
        frame.to_csv(_check_writable(args.output, "output"), sep="\t", index=False)
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# plot, summary
# ---------------------------------------------------------------------------------------------


def _load_runs(files: Sequence[str], labels: Sequence[str] | None, dim: int | None) -> list[Any]:
    from .plotting import Run
    from .results import ResultsCorrupted, read_results

    if labels is not None and len(labels) != len(files):
        raise CliError(f"got {len(labels)} --label for {len(files)} files")
    runs = []
    for i, path in enumerate(files):
        try:
            frame, meta = read_results(path)
        except (FileNotFoundError, ResultsCorrupted) as exc:
            raise CliError(str(exc)) from None
        needed = {"idx", "predict", "correct", "time", "radius_cohen"}
        if not needed <= set(frame.columns):
            raise CliError(f"{path} lacks the columns {sorted(needed - set(frame.columns))}")
        if frame.empty:
            raise CliError(f"{path} has no finished rows")
        meta = meta or {}
        sigma = meta.get("params", {}).get("sigma")
        d = dim if dim is not None else meta.get("d")
        label = labels[i] if labels else Path(path).stem + (f" (σ={sigma:g})" if sigma else "")
        runs.append(Run(label=label, frame=frame, sigma=sigma, d=d))
    if len({run.label for run in runs}) < len(runs):  # e.g. same file name in two folders
        if labels:
            raise CliError("the --label values must differ")
        for run, path in zip(runs, files):
            run.label = str(path)
    return runs


def _cmd_plot(args: argparse.Namespace) -> int:
    from .plotting import plot_certified_accuracy

    out = _check_figure(args.out)
    runs = _load_runs(args.files, args.label, args.dim)
    for note in plot_certified_accuracy(runs, out):
        print(f"hocert: note: {note} (pass --dim)", file=sys.stderr)
    print(f"{out}: certified accuracy of {len(runs)} file(s)")
    return EXIT_OK


def _cmd_summary(args: argparse.Namespace) -> int:
    import pandas as pd

    from .plotting import default_radii, summary_tables

    runs = _load_runs(args.files, args.label, args.dim)
    radii = args.radii if args.radii is not None else default_radii(runs)
    overview, per_model = summary_tables(runs, radii)
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        print(overview.to_string(float_format=lambda v: f"{v:.4g}"))
        for name, table in per_model.items():
            kind = "radius" if name in ("l2", "l1", "linf") else "l2 radius inside the subspace"
            scale = "" if table.attrs["radii"] == "r" else f" {table.attrs['radii']}"
            print(f"\n{name}: certified accuracy (%) at {kind}{scale} (input units)")
            print(table.to_string(float_format=lambda v: f"{v:.1f}"))
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# slice
# ---------------------------------------------------------------------------------------------


def _beta_norm(q: float, value: float, units: str, sigma: float) -> float:
    from hocert_solver import max_gradient_norm
    from hocert_solver.directional import FEASIBILITY_SLACK

    big_m = float(max_gradient_norm(q))
    beta = {"fraction": value * big_m, "beta": value, "gradient": value * sigma}[units]
    if beta > big_m * (1.0 + FEASIBILITY_SLACK):
        raise CliError(
            f"||beta||_2 = {beta:.6g} exceeds M(q) = {big_m:.6g}, the largest gradient norm "
            f"possible at q = {q:g} (--grad-norm {value:g} with --units {units})"
        )
    return min(beta, big_m)


def _cmd_slice(args: argparse.Namespace) -> int:
    from .plotting import plot_slice, status_names

    if not 0.5 < args.q < 1.0:
        raise CliError(f"--q must lie in (1/2, 1), got {args.q!r}")
    if args.units == "gradient" and args.sigma is None:
        raise CliError("--units gradient needs --sigma (beta = sigma * grad g_A(x))")
    out = _check_figure(args.out)
    # Without --sigma everything is in units of sigma (sigma = 1), not in input units.
    sigma, units = (1.0, "units of sigma") if args.sigma is None else (args.sigma, "input units")
    beta = _beta_norm(args.q, args.grad_norm, args.units, sigma)
    data = plot_slice(args.q, beta, args.sigma, out, angles=args.angles, limit=args.limit)
    if args.data is not None:
        _write_slice_data(_check_writable(args.data, "slice data"), data, sigma)
    r = data["radius"]
    print(
        f"{out}: ||beta||_2 = {beta:.6g}; first-order radius {sigma * r.min():.6g} to "
        f"{sigma * r.max():.6g} ({units}), Cohen {sigma * _cohen(args.q):.6g}; "
        f"statuses {sorted(set(status_names(data['status'])))}"
    )
    return EXIT_OK


def _cohen(q: float) -> float:
    from hocert_solver import cohen_radius

    return float(cohen_radius(q))


def _write_slice_data(path: Path, data: dict[str, np.ndarray], sigma: float) -> None:
    import pandas as pd

    from .plotting import status_names

    frame = pd.DataFrame(
        {
            "t": data["t"],
            "m1": data["m1"],
            "m2": data["m2"],
            "radius": data["radius"],
            "radius_input": sigma * data["radius"],
            "status": status_names(data["status"]),
        }
    )
    frame.to_csv(path, sep="\t", index=False)


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hocert`` with the arguments ``argv`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code: 0 success, 1 runtime failure, 2 usage error or bad input, 130
        interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"hocert: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("hocert: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.traceback:
            raise
        from .models import ModelError

        kind = "model error" if isinstance(exc, ModelError) else type(exc).__name__
        print(f"hocert: error: {kind}: {exc} (rerun with --traceback for details)", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
