"""``hocert plot``: certified accuracy against radius from result files (PNG or SVG), and the
reading of result files that ``summary`` shares."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._common import EXIT_OK, CliError, add_command, check_figure, int_at_least

__all__ = ["DEFAULT_PLOT", "add_parser", "load_runs", "run"]

DEFAULT_PLOT = "hocert_certified_accuracy.png"


def add_parser(sub: Any) -> None:
    """Add ``plot`` to the subcommands ``sub``."""
    p = add_command(
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
    p.add_argument("--dim", type=int_at_least(1), help="input dimension d (default: sidecar)")
    p.set_defaults(func=run)


def load_runs(files: Sequence[str], labels: Sequence[str] | None, dim: int | None) -> list[Any]:
    """The result files as ``hocert.plotting.Run`` objects (exit 2 for unusable files)."""
    from hocert.plotting import REQUIRED_COLUMNS, Run
    from hocert.results import ResultsCorrupted, read_results

    if labels is not None and len(labels) != len(files):
        raise CliError(f"got {len(labels)} --label for {len(files)} files")
    runs = []
    for i, path in enumerate(files):
        try:
            frame, meta = read_results(path)
        except (FileNotFoundError, ResultsCorrupted) as exc:
            raise CliError(str(exc)) from None
        needed = set(REQUIRED_COLUMNS)
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
        for run_, path in zip(runs, files):
            run_.label = str(path)
    return runs


def run(args: argparse.Namespace) -> int:
    """Run ``hocert plot``."""
    from hocert.plotting import plot_certified_accuracy

    out = check_figure(args.out)
    runs = load_runs(args.files, args.label, args.dim)
    for note in plot_certified_accuracy(runs, out):
        print(f"hocert: note: {note} (pass --dim)", file=sys.stderr)
    print(f"{out}: certified accuracy of {len(runs)} file(s)")
    return EXIT_OK
