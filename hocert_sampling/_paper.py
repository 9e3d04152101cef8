"""The "paper" inequality: Table 1 of the paper, sub-Gaussian proxy ``k`` (docs/math.md, section 7).

Only the widths live here; :mod:`hocert_sampling.bounds` turns them into the norm bounds (the
skeleton shared with :mod:`hocert_sampling._mgf`: the union over tails, the quadratic roots of
the l2 estimator) and checks the arguments. The derivation is in the docstring of
:mod:`hocert_sampling.bounds`. Each width is written as before, operation for operation, so the
bounds reproduce the earlier numbers bit for bit.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .bounds import HalfMeans


def projection_width(n: float, ell: float, k: float) -> float:
    """``sqrt(2 k ell / n)``: the sub-Gaussian tail of one unit projection of a mean of ``n``."""
    return math.sqrt(2.0 * k * ell / n)


def l1_width(d: int, n: float, ell: float, k: float) -> float:
    """``sqrt(2 k d ell / n)`` (``sqrt(d)`` projection widths, as one square root)."""
    return math.sqrt(2.0 * k * d * ell / n)


def l2_widths(m: HalfMeans, ell: float, k: float) -> tuple[float, float]:
    """``(c, t)`` of Theorem 5 at per-tail level ``exp(-ell)``: ``c = sqrt(2 (k1 + k2) ell)``
    for the linear term, ``t = sqrt(k1 k2) (sqrt(2 d ell) + ell)`` for the cross term
    (sub-gamma), ``k_i = k / n_i``."""
    k1, k2 = k / m.n1, k / m.n2
    c = math.sqrt(2.0 * (k1 + k2) * ell)
    t = math.sqrt(k1 * k2) * (math.sqrt(2.0 * m.dim * ell) + ell)
    return c, t
