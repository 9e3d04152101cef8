"""``hocert slice``: a 2-D slice of the certified region (the paper's Figure 1)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from hocert.plotting import DEFAULT_ANGLES

from ._common import (
    EXIT_OK,
    CliError,
    add_command,
    add_out,
    check_figure,
    check_writable,
    finite_float,
    int_at_least,
    nonneg_float,
    positive_float,
)

__all__ = ["DEFAULT_SLICE", "add_parser", "run"]

DEFAULT_SLICE = "hocert_slice.png"


def add_parser(sub: Any) -> None:
    """Add ``slice`` to the subcommands ``sub``."""
    p = add_command(
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
    p.add_argument("--q", type=finite_float, required=True, help="p_A, in (1/2, 1)")
    p.add_argument("--grad-norm", type=nonneg_float, required=True, help="gradient norm")
    p.add_argument(
        "--units", choices=("fraction", "beta", "gradient"), default="fraction", help="(fraction)"
    )
    p.add_argument(
        "--sigma",
        type=positive_float,
        help="noise level: axes in input units (default: axes in units of sigma)",
    )
    add_out(p, DEFAULT_SLICE)
    p.add_argument(
        "--angles",
        type=int_at_least(8),
        default=DEFAULT_ANGLES,
        help=f"directions ({DEFAULT_ANGLES})",
    )
    p.add_argument("--limit", type=positive_float, help="axes half-width (axes units)")
    p.add_argument("--data", metavar="TSV", help="also write the radius per angle here")
    p.set_defaults(func=run)


def _beta_norm(q: float, value: float, units: str, sigma: float) -> float:
    """``||beta||_2`` from ``--grad-norm`` in ``--units`` (``hocert.plotting.slice_region``
    checks it against M(q))."""
    from hocert_solver import max_gradient_norm

    if units == "fraction":
        return value * float(max_gradient_norm(q))
    return value if units == "beta" else value * sigma


def run(args: argparse.Namespace) -> int:
    """Run ``hocert slice``."""
    from hocert.plotting import plot_slice, status_names
    from hocert_solver import cohen_radius

    if args.units == "gradient" and args.sigma is None:
        raise CliError("--units gradient needs --sigma (beta = sigma * grad g_A(x))")
    out = check_figure(args.out)
    # Without --sigma everything is in units of sigma (sigma = 1), not in input units.
    sigma, units = (1.0, "units of sigma") if args.sigma is None else (args.sigma, "input units")
    beta = _beta_norm(args.q, args.grad_norm, args.units, sigma)
    try:
        data = plot_slice(args.q, beta, args.sigma, out, angles=args.angles, limit=args.limit)
    except ValueError as exc:  # q outside (1/2, 1), or ||beta|| above M(q)
        raise CliError(
            f"{exc} (--q {args.q:g}, --grad-norm {args.grad_norm:g} with --units {args.units})"
        ) from None
    if args.data is not None:
        _write_data(check_writable(args.data, "slice data"), data, sigma)
    r = data["radius"]
    print(
        f"{out}: ||beta||_2 = {beta:.6g}; first-order radius {sigma * r.min():.6g} to "
        f"{sigma * r.max():.6g} ({units}), Cohen {sigma * float(cohen_radius(args.q)):.6g}; "
        f"statuses {sorted(set(status_names(data['status'])))}"
    )
    return EXIT_OK


def _write_data(path: Path, data: dict[str, np.ndarray], sigma: float) -> None:
    import pandas as pd

    from hocert.plotting import status_names

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
