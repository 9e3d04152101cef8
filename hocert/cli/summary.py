"""``hocert summary``: certified-accuracy tables from result files."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import EXIT_OK, add_command, float_list, int_at_least
from .plot import load_runs

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Add ``summary`` to the subcommands ``sub``."""
    p = add_command(
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
    p.add_argument("--radii", type=float_list, help="comma-separated l2 radii (input units)")
    p.add_argument("--label", action="append", help="label per file (repeat)")
    p.add_argument("--dim", type=int_at_least(1), help="input dimension d (default: sidecar)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``hocert summary``."""
    import pandas as pd

    from hocert.plotting import default_radii, summary_tables

    runs = load_runs(args.files, args.label, args.dim)
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
