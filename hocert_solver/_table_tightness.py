"""How tight a ``RadiusTable`` is: its lookups next to direct solver radii for the same queries.

``RadiusTable.tightness`` compares :meth:`RadiusTable.lookup` with ``directional_radius``;
:class:`TightnessReport` (public as ``hocert_solver.table.TightnessReport``) holds both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._table_grid import FloatArray, Int8Array
from .directional import CONVERGED, directional_radius

__all__ = ["TightnessReport", "tightness_report"]


@dataclass(frozen=True)
class TightnessReport:
    """Table lookups next to direct solver radii for the same queries.

    Attributes
    ----------
    lookup, direct : ndarray of float64
        ``RadiusTable.lookup`` and ``directional_radius`` radii (units of sigma).
    lookup_status, direct_status : ndarray of int8
        Their status codes.
    """

    lookup: FloatArray
    direct: FloatArray
    lookup_status: Int8Array
    direct_status: Int8Array

    @property
    def ratio(self) -> FloatArray:
        """``lookup / direct`` where ``direct`` is finite and positive, else NaN."""
        d = self.direct
        good = np.isfinite(d) & (d > 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(good, self.lookup / np.where(good, d, 1.0), np.nan)

    @property
    def gap(self) -> FloatArray:
        """``direct - lookup`` (units of sigma; ``inf`` where only ``direct`` is infinite)."""
        with np.errstate(invalid="ignore"):
            return self.direct - self.lookup

    def n_above_direct(self, rtol: float = 1e-6) -> int:
        """Lookups above the CONVERGED direct radius by more than ``rtol * max(1, direct)``.

        Both radii are certified lower bounds of the same R, and the direct one is within
        the solver accuracy (1e-6 relative) of R, so this is 0 for a sound table.
        """
        good = self.direct_status == CONVERGED
        tol = rtol * np.maximum(1.0, np.where(np.isfinite(self.direct), self.direct, 1.0))
        with np.errstate(invalid="ignore"):
            above = good & (self.lookup > self.direct + tol)
        return int(np.count_nonzero(above))

    def summary(self) -> dict[str, float]:
        """Median, 5 % and 1 % quantiles and minimum of the ratio, and soundness counts."""
        r = self.ratio.ravel()
        r = r[np.isfinite(r)]
        stats: dict[str, float] = {
            "n": float(self.lookup.size),
            "n_ratio": float(r.size),
            "n_direct_inf": float(np.count_nonzero(np.isinf(self.direct))),
            "n_above_direct": float(self.n_above_direct()),
        }
        if r.size:
            stats.update(
                median_ratio=float(np.median(r)),
                p05_ratio=float(np.quantile(r, 0.05)),
                p01_ratio=float(np.quantile(r, 0.01)),
                min_ratio=float(r.min()),
                mean_ratio=float(r.mean()),
            )
        return stats


def tightness_report(
    lookup: Callable[..., tuple[FloatArray, Int8Array]],
    q: npt.ArrayLike,
    m1: npt.ArrayLike,
    m2: npt.ArrayLike,
) -> TightnessReport:
    """``RadiusTable.tightness``: a table's ``lookup`` next to direct solves."""
    lk, lst = lookup(q, m1, m2, return_status=True)
    res = directional_radius(q, m1, m2)
    return TightnessReport(
        lookup=np.asarray(lk),
        direct=np.asarray(res.radius),
        lookup_status=np.asarray(lst),
        direct_status=np.asarray(res.status),
    )
