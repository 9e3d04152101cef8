"""The grid of a lookup table: validation, the default grid, the solver's inputs per cell.

A grid is a product ``q_i x a_j x b_k`` of three increasing 1-D arrays (``hocert_solver.table``,
module docstring). Cell ``(i, j, k)`` is solved at ``A[i, j] = a_j * M_i`` (``-inf`` for
``a_j = -1``) and ``B[i, k] = b_k * M_i`` with ``M_i = max_gradient_norm(q_i)``; cells outside
the feasible disk ``max(a, 0)^2 + b^2 <= 1`` are not solved (status SKIPPED). Building, lookups,
verification and the constructor all read the grid through this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from ._table_errors import TableVerificationError
from .directional import (
    ABSTAIN,
    CONVERGED,
    FALLBACK,
    FEASIBILITY_SLACK,
    INCONSISTENT,
    PROJECTED,
    max_gradient_norm,
)

#: Grid status: the cell lies outside the feasible disk ``max(a, 0)^2 + b^2 <= 1`` and was not
#: solved.
SKIPPED = -3

# A grid cell counts as feasible (and is solved) when max(a, 0)^2 + b^2 <= 1 + _GRID_SLACK, so
# that cells on the circle (e.g. a = 0.6, b = 0.8) are solved despite rounding. The solver
# shrinks any input slightly outside the disk, which can only lower the value (sound).
_GRID_SLACK = 1e-9

FloatArray = npt.NDArray[np.float64]
Int8Array = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]


def _as_float_array(x: npt.ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(x)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(
            f"{name} must be a real number or array of real numbers, got dtype {arr.dtype}"
        )
    return arr.astype(np.float64, copy=False)


def _grid_axis(x: npt.ArrayLike, name: str, lo: float, hi: float, hi_open: bool) -> FloatArray:
    arr = _as_float_array(x, name)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"grid {name} must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"grid {name} must be finite")
    if arr.size > 1 and not np.all(np.diff(arr) > 0.0):
        raise ValueError(f"grid {name} must be strictly increasing")
    upper_bad = arr[-1] >= hi if hi_open else arr[-1] > hi
    if arr[0] < lo or upper_bad:
        bracket = ")" if hi_open else "]"
        raise ValueError(
            f"grid {name} must lie in [{lo:g}, {hi:g}{bracket}, got values from {arr[0]!r} "
            f"to {arr[-1]!r}"
        )
    return np.ascontiguousarray(arr)


def _validate_grid(
    q: npt.ArrayLike, a: npt.ArrayLike, b: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    qa = _grid_axis(q, "q", 0.5, 1.0, hi_open=True)
    aa = _grid_axis(a, "a", -1.0, 1.0, hi_open=False)
    ba = _grid_axis(b, "b", 0.0, 1.0, hi_open=False)
    if qa.size * aa.size * ba.size >= 2**31:
        raise ValueError("grid too large: at most 2**31 - 1 cells")
    return qa, aa, ba


def default_grid(z_max: float, dz: float, da: float, db: float) -> dict[str, FloatArray]:
    """``RadiusTable.default_grid``: uniform in ``z = Phi^{-1}(q)`` (from 0), ``a`` and ``b``."""
    if not (0.0 < z_max < 8.0):
        raise ValueError(f"z_max must lie in (0, 8), got {z_max!r}")
    for name, step in (("dz", dz), ("da", da), ("db", db)):
        if not (0.0 < step <= 1.0):
            raise ValueError(f"{name} must lie in (0, 1], got {step!r}")
    nz = round(z_max / dz)
    z = z_max * np.arange(nz + 1) / nz
    q = special.ndtr(z)
    q = q[q < 1.0]
    na = round(2.0 / da)
    a = -1.0 + 2.0 * np.arange(na + 1) / na
    nb = round(1.0 / db)
    b = np.arange(nb + 1) / nb
    return {"q": np.unique(q), "a": a, "b": b}


def _m_grids(a: FloatArray, b: FloatArray, big_m: FloatArray) -> tuple[FloatArray, FloatArray]:
    """A[i, j] = a_j * M_i (a_j = -1 as -inf) and B[i, k] = b_k * M_i: the solver's inputs."""
    m1g = big_m[:, None] * a[None, :]
    m1g[:, a <= -1.0] = -np.inf
    m2g = big_m[:, None] * b[None, :]
    return np.ascontiguousarray(m1g), np.ascontiguousarray(m2g)


def _feasible_cells(a: FloatArray, b: FloatArray) -> BoolArray:
    """(na, nb) mask of cells inside the feasible disk max(a, 0)^2 + b^2 <= 1 (with slack)."""
    pa = np.maximum(a, 0.0)
    return pa[:, None] ** 2 + b[None, :] ** 2 <= 1.0 + _GRID_SLACK


def _edge_cells(a: FloatArray, b: FloatArray) -> BoolArray:
    """(na, nb) mask of cells on the boundary of the feasible disk, where R = +inf.

    On it up to the solver's relative slack ``FEASIBILITY_SLACK`` (rounding), or outside it
    (cells within ``_GRID_SLACK`` outside are solved; older versions gave them +inf).
    """
    return np.hypot(np.maximum(a, 0.0)[:, None], b[None, :]) >= 1.0 - FEASIBILITY_SLACK


def validate_contents(
    q: npt.ArrayLike,
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    values: npt.ArrayLike,
    status: npt.ArrayLike,
    big_m: npt.ArrayLike | None,
    lam: npt.ArrayLike | None,
) -> dict[str, Any]:
    """The ``RadiusTable`` constructor's checks; the arrays as the table keeps them.

    Returns ``q``, ``a``, ``b``, ``values`` (NaN at SKIPPED cells), ``status`` (int8),
    ``big_m`` and ``lam`` (or None), all read-only, as a dict. Raises ``ValueError`` /
    ``TypeError`` for malformed contents and :class:`TableVerificationError` for a ``big_m``
    that does not match ``q``.
    """
    qg, ag, bg = _validate_grid(q, a, b)
    shape = (qg.size, ag.size, bg.size)
    vals = np.array(_as_float_array(values, "values"), dtype=np.float64)
    st = np.asarray(status)
    if vals.shape != shape or st.shape != shape:
        raise ValueError(
            f"values and status must have the grid shape {shape}, got {vals.shape} and {st.shape}"
        )
    if not np.issubdtype(st.dtype, np.integer):
        raise TypeError(f"status must be an integer array, got dtype {st.dtype}")
    st = st.astype(np.int8)
    allowed = np.array(
        [CONVERGED, ABSTAIN, PROJECTED, FALLBACK, INCONSISTENT, SKIPPED], dtype=np.int8
    )
    if not np.isin(st, allowed).all():
        raise ValueError(f"status holds codes outside {allowed.tolist()}")
    feasible = np.broadcast_to(_feasible_cells(ag, bg), shape)
    if not np.array_equal(st == SKIPPED, ~feasible):
        raise ValueError(
            "status SKIPPED must mark exactly the cells outside the feasible disk "
            "max(a, 0)^2 + b^2 <= 1"
        )
    solved_vals = vals[feasible]
    if np.isnan(solved_vals).any() or (solved_vals < 0.0).any():
        raise ValueError("values of solved cells must be >= 0 and not NaN")
    m_expected = max_gradient_norm(qg)
    if big_m is None:
        mg = m_expected
    else:
        mg = np.array(_as_float_array(big_m, "big_m"), dtype=np.float64)
        if mg.shape != qg.shape or not np.allclose(mg, m_expected, rtol=1e-12, atol=0.0):
            raise TableVerificationError(
                "big_m must equal max_gradient_norm(q) (to 1e-12 relative)"
            )
    vals[~feasible] = np.nan
    lam_arr: FloatArray | None = None
    if lam is not None:
        lam_arr = np.array(_as_float_array(lam, "lam"), dtype=np.float64)
        if lam_arr.shape != (*shape, 3):
            raise ValueError(
                f"lam must have the shape {(*shape, 3)} (grid shape, 3), got {lam_arr.shape}"
            )
        lam_arr[~feasible] = np.nan
    out: dict[str, Any] = {
        "q": qg,
        "a": ag,
        "b": bg,
        "values": vals,
        "status": st,
        "big_m": np.ascontiguousarray(mg),
        "lam": lam_arr,
    }
    for arr in out.values():
        if arr is not None:
            arr.flags.writeable = False
    return out
