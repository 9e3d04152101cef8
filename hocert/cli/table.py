"""``hocert table build`` and ``hocert table query``: lookup tables of radii
(``hocert_solver.RadiusTable``).

The grids, their domain and the lookup's statuses are the table's; this module only turns
options into grids (``--preset`` names keyword arguments of ``RadiusTable.default_grid``) and
prints.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import zipfile
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from hocert.cluster import open_executor

from ._common import (
    EXIT_OK,
    CliError,
    add_command,
    add_out,
    check_writable,
    finite_float,
    grid,
    hold_lock,
    int_at_least,
    json_number,
    positive_float,
    print_json,
    progress,
)
from ._scheduler import connect
from .radius import absolute_bounds, inconsistent_error

__all__ = ["DEFAULT_TABLE", "PRESETS", "add_parser", "describe_preset", "preset_grid"]

DEFAULT_TABLE = "hocert_table.npz"


def _default_grid_defaults() -> dict[str, float]:
    """The keyword defaults of ``RadiusTable.default_grid`` (``z_max``, ``dz``, ``da``, ``db``)."""
    from hocert_solver import RadiusTable

    params = inspect.signature(RadiusTable.default_grid).parameters
    return {name: float(p.default) for name, p in params.items()}


def _build_default(name: str) -> Any:
    """The default of the keyword argument ``name`` of ``RadiusTable.build``."""
    from hocert_solver import RadiusTable

    return inspect.signature(RadiusTable.build).parameters[name].default


def _presets() -> dict[str, dict[str, float]]:
    steps = _default_grid_defaults()
    return {
        "default": {},  # RadiusTable.default_grid() as it is
        "fine": {name: steps[name] / 2 for name in ("dz", "da", "db")},  # every step halved
    }


#: ``--preset`` name -> keyword arguments of ``RadiusTable.default_grid``.
PRESETS = _presets()


def preset_grid(name: str) -> dict[str, np.ndarray]:
    """The grid ``{"q", "a", "b"}`` of the preset ``name``."""
    from hocert_solver import RadiusTable

    return RadiusTable.default_grid(**PRESETS[name])


def describe_preset(name: str) -> str:
    """The steps of a preset, as ``table build --help`` shows them."""
    g = {**_default_grid_defaults(), **PRESETS[name]}
    return (
        f"z = Phi^-1(q) 0..{g['z_max']:g} step {g['dz']:g}, a -1..1 step {g['da']:g}, "
        f"b 0..1 step {g['db']:g}"
    )


def add_parser(sub: Any) -> None:
    """Add ``table`` (``build``, ``query``) to the subcommands ``sub``."""
    p = add_command(
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
    _add_build(tsub)
    _add_query(tsub)


def _missing_subcommand(parser: argparse.ArgumentParser) -> NoReturn:
    parser.print_usage(sys.stderr)
    raise CliError("a subcommand is required: build or query")


# ---------------------------------------------------------------------------------------------
# table build
# ---------------------------------------------------------------------------------------------


def _add_build(tsub: Any) -> None:
    presets = "\n".join(f"  {name:8} {describe_preset(name)}" for name in PRESETS)
    b = add_command(
        tsub,
        "build",
        "solve a grid of radii and save it",
        "Solve every feasible cell of the grid q x a x b (Dask) and save the table (.npz).\n"
        "Grids: a preset, with any axis replaced by --q-grid/--z-grid/--a-grid/--b-grid, each\n"
        "'v1,v2,...' or 'start:stop:num'. --z-grid gives q = Phi(z). Presets\n"
        f"(RadiusTable.default_grid):\n{presets}",
        "  hocert table build --out table.npz\n"
        "  hocert table build --out t.npz --z-grid 0:3:31 --a-grid -1:1:21 --b-grid 0:1:11\n"
        "  hocert table build --out t.npz --scheduler tcp://10.0.0.5:8786 --checkpoint ckpt/\n"
        "  hocert table build --out t.npz --q-grid 0.6,0.9,0.99 --scheduler synchronous",
    )
    add_out(b, DEFAULT_TABLE)
    b.add_argument("--preset", choices=tuple(PRESETS), default="default", help="(default)")
    grids = b.add_mutually_exclusive_group()
    grids.add_argument("--q-grid", type=grid, metavar="GRID", help="q values in [1/2, 1)")
    grids.add_argument("--z-grid", type=grid, metavar="GRID", help="z >= 0 values, q = Phi(z)")
    b.add_argument("--a-grid", type=grid, metavar="GRID", help="a = m1/M(q) in [-1, 1]")
    b.add_argument("--b-grid", type=grid, metavar="GRID", help="b = m2/M(q) in [0, 1]")
    b.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address, or 'synchronous' (default: a local cluster)",
    )
    b.add_argument(
        "--connect-timeout",
        type=positive_float,
        default=20.0,
        metavar="SECONDS",
        help="for --scheduler (20)",
    )
    b.add_argument("--workers", type=int_at_least(1), help="local cluster workers (CPU count)")
    chunk_size = _build_default("chunk_size")
    b.add_argument(
        "--chunk-size", type=int_at_least(1), default=chunk_size, help=f"cells/task ({chunk_size})"
    )
    b.add_argument("--checkpoint", metavar="DIR", help="resumable build: save chunks here")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=run_build)


def _table_grid(args: argparse.Namespace) -> dict[str, np.ndarray]:
    """The preset with the axes the options replace (checked by ``RadiusTable.build``)."""
    from scipy.special import ndtr

    table_grid = preset_grid(args.preset)
    if args.q_grid is not None:
        table_grid["q"] = args.q_grid
    if args.z_grid is not None:
        table_grid["q"] = ndtr(args.z_grid)
    if args.a_grid is not None:
        table_grid["a"] = args.a_grid
    if args.b_grid is not None:
        table_grid["b"] = args.b_grid
    return table_grid


def run_build(args: argparse.Namespace) -> int:
    """Run ``hocert table build``: with ``--checkpoint``, one build per directory (its lock,
    ``DIR.lock``, is held throughout; a second build fails at once, exit 2)."""
    out = check_writable(args.out, "table")
    if args.checkpoint is None:
        return _build(args, out)
    checkpoint = Path(args.checkpoint)
    try:  # the build would create it (and its parents) anyway; the lock file goes beside it
        checkpoint.absolute().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot use checkpoint {checkpoint}: {exc.strerror or exc}") from None
    lock = hold_lock(checkpoint, "checkpoint directory")
    try:
        return _build(args, out)
    finally:
        lock.release()


def _build(args: argparse.Namespace, out: Path) -> int:
    from hocert_solver import RadiusTable, TableBuildError

    table_grid = _table_grid(args)
    scheduler: Any = args.scheduler
    client = None
    if scheduler not in (None, "synchronous"):
        client = scheduler = connect(scheduler, args.connect_timeout, as_default=True)
    bar = progress(0, 0, "table", args.quiet)

    def on_chunk(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        with open_executor(scheduler, args.workers) as run:
            table = RadiusTable.build(
                table_grid["q"],
                table_grid["a"],
                table_grid["b"],
                executor=run.executor,
                chunk_size=args.chunk_size,
                checkpoint=args.checkpoint,
                numba_threads=run.numba_threads,
                on_chunk=on_chunk,
            )
        table.metadata["build"]["scheduler"] = run.description  # the cluster, not its executor
    except TableBuildError as exc:  # e.g. a checkpoint made for another build
        raise CliError(str(exc)) from None
    except ValueError as exc:  # the grid: the table's own checks, before any work
        z_note = " (--z-grid gives q = Phi(z))" if args.z_grid is not None else ""
        raise CliError(f"invalid grid: {exc}{z_note}") from None
    finally:
        bar.close()
        if client is not None:
            client.close()
    table.save(out)
    print(f"{out}: {table!r}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# table query
# ---------------------------------------------------------------------------------------------


def _add_query(tsub: Any) -> None:
    q = add_command(
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
    q.add_argument("q", nargs="?", type=finite_float, help="lower bound on p_A")
    q.add_argument("m1", nargs="?", type=float, help="lower bound on <beta, v>")
    q.add_argument("m2", nargs="?", type=finite_float, help="lower bound on the orthogonal part")
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
    q.set_defaults(func=run_query)


def _load_table(path: str, verify: bool = True) -> Any:
    from hocert_solver import RadiusTable, TableVerificationError

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


def _status_names(codes: Any) -> list[str]:
    """Names of lookup status codes: the solver's, and the table's OUTSIDE and SKIPPED."""
    from hocert_solver import OUTSIDE, SKIPPED, STATUS_NAMES

    names = {**STATUS_NAMES, OUTSIDE: "outside", SKIPPED: "skipped"}
    return [names[int(code)] for code in np.ravel(codes)]


def run_query(args: argparse.Namespace) -> int:
    """Run ``hocert table query``."""
    from hocert_solver import INCONSISTENT

    single = [args.q, args.m1, args.m2]
    if args.input is not None:
        if any(v is not None for v in single):
            raise CliError("give either Q M1 M2 or --input, not both")
        return _query_batch(args)
    if any(v is None for v in single):
        raise CliError("give Q M1 M2 (one query) or --input TSV (a batch)")
    table = _load_table(args.table, verify=not args.no_verify)
    m1, m2 = map(float, absolute_bounds(args.q, args.m1, args.m2, args.normalized))
    on_outside = "raise" if args.on_outside == "error" else "nan"
    try:
        radius, status = table.lookup(args.q, m1, m2, on_outside=on_outside, return_status=True)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if int(status) == INCONSISTENT:
        raise inconsistent_error(args.q, m1, m2, args.normalized)
    data = {
        "q": args.q,
        "m1": json_number(m1),
        "m2": m2,
        "radius": json_number(float(radius)),
        "status": _status_names(status)[0],
        "table": str(args.table),
    }
    if args.json:
        print_json(data)
    else:
        print(f"radius  {float(radius)!r}  (units of sigma; certified lower bound)")
        print(f"status  {data['status']}")
    return EXIT_OK


def _query_batch(args: argparse.Namespace) -> int:
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
    m1, m2 = absolute_bounds(q, m1, m2, args.normalized)
    on_outside = "raise" if args.on_outside == "error" else "nan"
    try:
        radius, status = table.lookup(q, m1, m2, on_outside=on_outside, return_status=True)
    except ValueError as exc:
        raise CliError(f"{args.input}: {exc}") from None
    frame["radius"] = radius
    frame["status"] = _status_names(status)
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
        frame.to_csv(check_writable(args.output, "output"), sep="\t", index=False)
    return EXIT_OK
