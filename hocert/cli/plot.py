"""``hocert plot``: certified accuracy against radius from result files (PNG, SVG or PDF), and
the reading of result files that ``summary`` shares: hocert's own and those of Cohen et al.'s
``certify.py`` and of the first-order radii of Mohapatra et al. (``hocert.foreign``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._common import (
    EXIT_OK,
    CliError,
    add_command,
    add_out,
    check_figure,
    int_at_least,
    positive_float,
)

__all__ = ["DEFAULT_PLOT", "add_parser", "add_reading_options", "load_runs", "run"]

DEFAULT_PLOT = "hocert_certified_accuracy.png"

#: What the commands say about the files they read (``plot`` and ``summary``).
FILES_HELP = (
    "result files: hocert certify's, Cohen et al.'s certify.py (idx label predict radius "
    "correct time) or first-order radii (radius_cohen, radius_L2, radius_L1, radius_LInf); the "
    "format is detected from the header"
)


def add_reading_options(p: argparse.ArgumentParser) -> None:
    """The file arguments and options that ``plot`` and ``summary`` share."""
    p.add_argument("files", nargs="+", metavar="RESULTS", help=FILES_HELP)
    p.add_argument("--label", action="append", help="label per file (repeat, in file order)")
    p.add_argument("--dim", type=int_at_least(1), help="input dimension d (default: sidecar)")
    p.add_argument(
        "--sigma",
        type=positive_float,
        action="append",
        help="noise level of files without a sidecar (Cohen et al.'s and other foreign "
        "files): once for all of them, or once per file in file order",
    )


def add_parser(sub: Any) -> None:
    """Add ``plot`` to the subcommands ``sub``."""
    p = add_command(
        sub,
        "plot",
        "certified accuracy against radius (PNG, SVG or PDF)",
        "Certified accuracy against radius per threat model (l2, l1, l_inf, subspaces),\n"
        "first-order (solid) against Cohen et al. (dashed): Cohen's l2 radius for l2, l1 and\n"
        "subspaces, radius_cohen / sqrt(d) for l_inf. With several files the upper envelope\n"
        "over the files is drawn in black (the paper's Figure 2). Radii in input units.\n"
        "Files of Cohen et al.'s certify.py (and other formats, detected from the header) are\n"
        "drawn beside hocert's: a Cohen-format file adds its Cohen curve to every panel.\n"
        "The format follows the extension of --out: .png, .svg or .pdf.",
        "  hocert plot hocert_results.tsv --out fig.png\n"
        "  hocert plot s012.tsv s025.tsv s050.tsv --out fig.svg\n"
        "  hocert plot hocert_results.tsv cohen_certify.tsv --sigma 0.25 --out fig.pdf",
    )
    add_reading_options(p)
    add_out(p, DEFAULT_PLOT)
    p.set_defaults(func=run)


def _sigmas(
    values: Sequence[float] | None, files: Sequence[str]
) -> tuple[list[float | None], bool]:
    """--sigma per file, and whether it was given per file (then it must agree with a sidecar):
    none, one value for the files without a sidecar, or one per file."""
    if not values:
        return [None] * len(files), False
    if len(values) == len(files):
        return list(values), True
    if len(values) == 1:
        return [values[0]] * len(files), False
    raise CliError(f"got {len(values)} --sigma for {len(files)} files (give one, or one per file)")


def load_runs(
    files: Sequence[str],
    labels: Sequence[str] | None,
    dim: int | None,
    sigmas: Sequence[float] | None = None,
) -> list[Any]:
    """The result files as ``hocert.plotting.Run`` objects (exit 2 for unusable files).

    A file's sigma is its sidecar's; ``sigmas`` (``--sigma``: one value, or one per file)
    gives it to files without one and must agree with a sidecar's.
    """
    from hocert.foreign import UnknownFormat, read_result_file
    from hocert.plotting import REQUIRED_COLUMNS, Run
    from hocert.results import ResultsCorrupted

    if labels is not None and len(labels) != len(files):
        raise CliError(f"got {len(labels)} --label for {len(files)} files")
    given, per_file = _sigmas(sigmas, files)
    runs = []
    for i, path in enumerate(files):
        try:
            table = read_result_file(path)
        except (FileNotFoundError, ResultsCorrupted, UnknownFormat) as exc:
            raise CliError(str(exc)) from None
        frame, meta = table.frame, table.meta or {}
        needed = set(REQUIRED_COLUMNS)
        if not needed <= set(frame.columns):
            raise CliError(f"{path} lacks the columns {sorted(needed - set(frame.columns))}")
        if frame.empty:
            raise CliError(f"{path} has no finished rows")
        sigma = meta.get("params", {}).get("sigma")
        if sigma is None:
            sigma = given[i]
        elif per_file and given[i] is not None and abs(given[i] - sigma) > 1e-12 * sigma:
            raise CliError(f"{path}: its sidecar says sigma {sigma:g}, --sigma says {given[i]:g}")
        d = dim if dim is not None else meta.get("d")
        if labels:
            label = labels[i]
        else:
            label = Path(path).stem + (f" (σ={sigma:g})" if sigma else "")
        runs.append(Run(label=label, frame=frame, sigma=sigma, d=d, source=table.format))
    if len({run.label for run in runs}) < len(runs):  # e.g. same file name in two folders
        if labels:
            raise CliError("the --label values must differ")
        for run_, path in zip(runs, files):
            run_.label = str(path)
    return runs


def run(args: argparse.Namespace) -> int:
    """Run ``hocert plot``."""
    from hocert.plotting import plot_certified_accuracy

    out = check_figure(args.out)
    runs = load_runs(args.files, args.label, args.dim, args.sigma)
    for note in plot_certified_accuracy(runs, out):
        print(f"hocert: note: {note} (pass --dim)", file=sys.stderr)
    print(f"{out}: certified accuracy of {len(runs)} file(s)")
    return EXIT_OK
