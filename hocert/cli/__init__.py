"""The ``hocert`` command line (docs/cli.md).

Commands, one module each: ``certify`` (a data set, resumable, optionally on a Dask cluster),
``radius`` (one directional radius), ``table build`` / ``table query`` (lookup tables of radii),
``plot`` and ``summary`` (certified accuracy from result files), ``slice`` (a 2-D slice of
the certified region, the paper's Figure 1) and ``gpu`` (check or complete the GPU setup).
``_common`` holds what they share and ``_scheduler`` the Dask connection. The commands parse
and print; every rule they apply comes from the libraries (``hocert_solver``,
``hocert_sampling``) or from ``hocert.runner``, ``hocert.results`` and ``hocert.plotting``.

Exit codes: 0 success, 1 runtime failure, 2 usage error or bad input, 130 interrupted (Ctrl-C).
Errors are one line on stderr (``hocert: error: ...``); ``--traceback`` shows the Python
traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import certify, gpu, plot, radius, slice, summary, table
from ._common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TEXT,
    EXIT_USAGE,
    CliError,
    Formatter,
    Parser,
)

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "build_parser",
    "main",
]

#: The command modules, in the order ``hocert --help`` lists them.
COMMANDS = (certify, radius, table, plot, summary, slice, gpu)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``hocert`` (all subcommands)."""
    from hocert import __version__
    from hocert.examples import EXAMPLE_SIGMA

    parser = Parser(
        prog="hocert",
        description=(
            "Certified robustness of randomized smoothing with first-order information.\n"
            "Radii are sound: every one is backed by a dual certificate (docs/math.md)."
        ),
        epilog=(
            "examples:\n"
            f"  hocert certify --sigma {EXAMPLE_SIGMA:g} --max 20"
            "     # the bundled digits example\n"
            "  hocert summary hocert_results.tsv\n"
            "  hocert plot hocert_results.tsv --out fig.png\n"
            "  hocert radius 0.97 -0.6 0.7 --normalized\n"
            "  hocert slice --q 0.9 --grad-norm 0.5 --sigma 0.25 --out slice.png\n\n"
            "Run 'hocert COMMAND --help' for the options of a command; docs/cli.md has more.\n\n"
            + EXIT_TEXT
        ),
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"hocert {__version__}")
    parser.add_argument(
        "--traceback", action="store_true", help="show the traceback of unexpected errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def interrupted() -> int:
    """Report Ctrl-C in one line (no traceback) and return its exit code, 130."""
    print("hocert: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hocert`` with the arguments ``argv`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code: 0 success, 1 runtime failure, 2 usage error or bad input, 130
        interrupted.
    """
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C during start-up
        return interrupted()
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"hocert: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return interrupted()
    except Exception as exc:
        if args.traceback:
            raise
        from hocert_sampling.models import ModelError

        kind = "model error" if isinstance(exc, ModelError) else type(exc).__name__
        print(f"hocert: error: {kind}: {exc} (rerun with --traceback for details)", file=sys.stderr)
        return EXIT_FAILURE
