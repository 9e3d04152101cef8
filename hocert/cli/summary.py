"""``hocert summary``: certified-accuracy tables from result files (hocert's and those of
Cohen et al.'s ``certify.py`` and others, ``hocert.foreign``), as text, CSV, Markdown or LaTeX."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import EXIT_OK, add_command, float_list
from .plot import add_reading_options, load_runs

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Add ``summary`` to the subcommands ``sub``."""
    from hocert.report import SUMMARY_FORMATS

    p = add_command(
        sub,
        "summary",
        "certified accuracy tables (text, CSV, Markdown, LaTeX)",
        "Per file: inputs, clean accuracy, abstain rate, mean time per input. Per threat model:\n"
        "certified accuracy (%) at a few radii (input units; default 0 to 3 sigma with the\n"
        "largest sigma of the files; l_inf at r / sqrt(d)), first-order and Cohen, and the\n"
        "envelope over files when there are several. Files of Cohen et al.'s certify.py (and\n"
        "other formats, detected from the header) add their Cohen rows.\n"
        "--format csv writes one tidy table (a row per threat model, method, file and radius);\n"
        "markdown and latex write one table per table (LaTeX: booktabs).",
        "  hocert summary hocert_results.tsv\n"
        "  hocert summary s025.tsv s050.tsv --radii 0,0.25,0.5,1\n"
        "  hocert summary hocert_results.tsv cohen_certify.tsv --sigma 0.25 --format markdown\n"
        "  hocert summary s025.tsv s050.tsv --format latex",
    )
    add_reading_options(p)
    p.add_argument("--radii", type=float_list, help="comma-separated l2 radii (input units)")
    p.add_argument(
        "--format",
        choices=SUMMARY_FORMATS,
        default="text",
        help="output format (text)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``hocert summary``."""
    from hocert.plotting import default_radii, summary_tables
    from hocert.report import render_summary

    runs = load_runs(args.files, args.label, args.dim, args.sigma)
    radii = args.radii if args.radii is not None else default_radii(runs)
    overview, per_model = summary_tables(runs, radii)
    sys.stdout.write(render_summary(overview, per_model, args.format))
    return EXIT_OK
