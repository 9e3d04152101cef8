"""``hocert radius``: one first-order directional radius (Theorem 3), and the (m1, m2) handling
that ``table query`` shares: ``--normalized`` bounds and the error for bounds that contradict q.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from ._common import (
    EXIT_OK,
    CliError,
    add_command,
    finite_float,
    json_number,
    positive_float,
    print_json,
)

__all__ = ["absolute_bounds", "add_parser", "inconsistent_error", "run"]


def add_parser(sub: Any) -> None:
    """Add ``radius`` to the subcommands ``sub``."""
    p = add_command(
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
    p.add_argument("q", type=finite_float, help="lower bound on p_A, in [0, 1]")
    p.add_argument("m1", type=float, help="lower bound on <beta, v> (may be -inf)")
    p.add_argument("m2", type=finite_float, help="lower bound (>= 0) on the orthogonal part")
    p.add_argument(
        "--normalized",
        action="store_true",
        help="M1, M2 are fractions of M(q) = phi(Phi^-1(q)), the largest possible ||beta||",
    )
    p.add_argument("--sigma", type=positive_float, help="also print sigma * R (input units)")
    p.add_argument(
        "--verify",
        action="store_true",
        help="prove the radius in ball arithmetic (independent of the solver's quadrature); "
        "a radius that cannot be proved is lowered until it is (status 'lowered')",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def absolute_bounds(q: Any, m1: Any, m2: Any, normalized: bool) -> tuple[Any, Any]:
    """(m1, m2) in absolute units (scalars or arrays); with ``normalized`` they are fractions
    of M(q).

    Nothing is checked here: the solver (or the table) validates q, m1 and m2, and an invalid
    q gives M(q) = NaN, which it refuses as well.
    """
    if not normalized:
        return m1, m2
    from hocert_solver import max_gradient_norm

    with np.errstate(invalid="ignore"):
        big_m = max_gradient_norm(q)
        return m1 * big_m, m2 * big_m


def inconsistent_error(q: float, m1: float, m2: float, normalized: bool) -> CliError:
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


def run(args: argparse.Namespace) -> int:
    """Run ``hocert radius``."""
    from hocert_solver import (
        INCONSISTENT,
        LOWERED,
        STATUS_NAMES,
        directional_radius,
        max_gradient_norm,
    )

    m1, m2 = map(float, absolute_bounds(args.q, args.m1, args.m2, args.normalized))
    try:
        res = directional_radius(args.q, m1, m2, verify=args.verify)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    radius, status, nit = float(res.radius), int(res.status), int(res.nit)
    if status == INCONSISTENT:
        raise inconsistent_error(args.q, m1, m2, args.normalized)
    verified = None
    if args.verify:  # every radius returned with verify=True is proved (lowered if need be)
        verified = "proved" if status != LOWERED else "lowered until proved"
    data: dict[str, Any] = {
        "q": args.q,
        "m1": json_number(m1),
        "m2": m2,
        "M": float(max_gradient_norm(args.q)),
        "radius": json_number(radius),
        "status": STATUS_NAMES[status],
        "status_code": status,
        "success": bool(res.success),
        "nit": nit,
    }
    if verified is not None:
        data["verified"] = verified
    if args.sigma is not None:
        data["sigma"] = args.sigma
        data["radius_input"] = json_number(args.sigma * radius)
    if args.json:
        print_json(data)
        return EXIT_OK
    print(f"radius        {radius!r}  (units of sigma)")
    if args.sigma is not None:
        print(f"radius_input  {args.sigma * radius!r}  (input units, sigma = {args.sigma:g})")
    print(f"status        {STATUS_NAMES[status]}")
    if verified is not None:
        print(f"verified      {verified} (ball arithmetic, python-flint)")
    print(f"nit           {nit}")
    return EXIT_OK
