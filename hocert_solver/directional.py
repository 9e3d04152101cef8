"""Public entry points for one direction: ``directional_radius`` and ``cohen_radius``.

Conventions (docs/math.md, section 1): everything is normalised to sigma = 1. The inputs are
LOWER bounds: ``q <= p_A``, ``m1 <= <beta, v>`` and ``m2 <= ||beta - <beta, v> v||_2`` where
``beta = sigma * grad g_A(x)`` (dimensionless) and ``v`` is the unit direction of the move. A
negative ``m1`` means the gradient points against the move (adverse). Radii are in units of
sigma: multiply by sigma for input-space units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from . import _solve, _warm_start

CONVERGED = _solve.CONVERGED
ABSTAIN = _solve.ABSTAIN
PROJECTED = _solve.PROJECTED
FALLBACK = _solve.FALLBACK
INVALID = _solve.INVALID

STATUS_NAMES = {
    CONVERGED: "converged",
    ABSTAIN: "abstain",
    PROJECTED: "projected",
    FALLBACK: "fallback",
    INVALID: "invalid",
}

# Inputs within this relative distance outside the feasible disk are rounding, not information.
_FEASIBILITY_SLACK = 1e-12

ArrayLike = npt.ArrayLike
OnInvalid = Literal["raise", "nan"]


@dataclass(frozen=True)
class RadiusResult:
    """Result of a vectorised radius computation (in the style of ``scipy.optimize.elementwise``).

    Attributes
    ----------
    radius : ndarray of float64
        Certified radius in units of sigma (``sigma * radius`` in input units). ``+inf`` where the
        first-order certificate is unbounded (docs/math.md, the m2 = 0 case and the boundary of
        the feasible disk); ``0.0`` where the classifier abstains; ``nan`` for invalid input
        (only with ``on_invalid="nan"``). Every finite positive radius is backed by a dual
        certificate: it is never larger than the true radius of Theorem 3.
    status : ndarray of int8
        ``0`` (CONVERGED): first-order radius, solved and certified to full accuracy.
        ``1`` (ABSTAIN): ``q <= 1/2``, radius 0.
        ``2`` (PROJECTED): ``(m1, m2)`` lay outside the feasible disk
        ``max(m1, 0)^2 + m2^2 <= M(q)^2`` (noisy bounds); both were shrunk towards 0 by the same
        factor onto its boundary (a conservative change: the radius is non-decreasing in m1 and
        m2), where the radius is ``+inf``. Such input means a confidence bound failed.
        ``3`` (FALLBACK): the first-order solve did not converge or could not be certified; the
        radius is the (smaller, still certified) m2 = 0 radius R(q, m1, 0).
        ``-1`` (INVALID): NaN or out-of-domain input; radius is NaN.
    nit : ndarray of int32
        Newton iterations spent (0 for closed-form cases).
    """

    radius: np.ndarray
    status: np.ndarray
    nit: np.ndarray

    @property
    def success(self) -> np.ndarray:
        """True where the radius is the full-accuracy value (CONVERGED, ABSTAIN or PROJECTED)."""
        s = self.status
        return (s == CONVERGED) | (s == ABSTAIN) | (s == PROJECTED)

    def __repr__(self) -> str:
        return f"RadiusResult(radius={self.radius!r}, status={self.status!r}, nit={self.nit!r})"


def _as_float_array(x: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(
            f"{name} must be a real number or array of real numbers, got dtype {arr.dtype}"
        )
    return arr.astype(np.float64, copy=False)


def _broadcast(**arrays: ArrayLike) -> tuple[tuple[int, ...], list[np.ndarray]]:
    converted = [_as_float_array(v, k) for k, v in arrays.items()]
    try:
        out = np.broadcast_arrays(*converted)
    except ValueError:
        shapes = ", ".join(f"{k}{np.shape(v)}" for k, v in zip(arrays, converted, strict=True))
        raise ValueError(f"input shapes do not broadcast: {shapes}") from None
    return out[0].shape, [np.ascontiguousarray(a).ravel() for a in out]


def _report_invalid(
    bad: np.ndarray, shape: tuple[int, ...], why: str, on_invalid: OnInvalid
) -> None:
    if on_invalid == "raise" and bad.any():
        first = np.unravel_index(int(np.flatnonzero(bad)[0]), shape) if shape else ()
        raise ValueError(f"{why} ({int(bad.sum())} element(s); first at index {first})")


def _check_on_invalid(on_invalid: str) -> None:
    if on_invalid not in ("raise", "nan"):
        raise ValueError(f"on_invalid must be 'raise' or 'nan', got {on_invalid!r}")


def max_gradient_norm(q: ArrayLike) -> np.ndarray:
    """M(q) = phi(Phi^{-1}(q)): the largest ||beta||_2 possible when p_A = q (dimensionless)."""
    qa = _as_float_array(q, "q")
    z = special.ndtri(qa)
    return np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)


def _finish(
    shape: tuple[int, ...], radius: np.ndarray, status: np.ndarray, nit: np.ndarray
) -> RadiusResult:
    return RadiusResult(
        radius=radius.reshape(shape)[()],
        status=status.reshape(shape)[()],
        nit=nit.reshape(shape)[()],
    )


def directional_radius(
    q: ArrayLike, m1: ArrayLike, m2: ArrayLike, *, on_invalid: OnInvalid = "raise"
) -> RadiusResult:
    """First-order certified radius along one direction (Theorem 3; docs/math.md).

    Solves the worst-case problem of Theorem 3 with inequality constraints (the c1 < 0 clause)
    and returns ``R = sup{r >= 0 : p(r) > 1/2}``, which is non-decreasing in ``q``, ``m1`` and
    ``m2``. Arguments broadcast against each other (NumPy rules); the solve runs in parallel.

    Parameters
    ----------
    q : array_like
        Lower bound on the top-class probability p_A, in [0, 1]. ``q <= 1/2`` abstains.
    m1 : array_like
        Lower bound on ``<beta, v>``, the gradient component along the unit direction ``v`` of
        the move, with ``beta = sigma * grad g_A(x)``. Negative: the gradient points against the
        move (the adverse case). ``-inf`` (no information) is allowed.
    m2 : array_like
        Lower bound (>= 0) on the norm of the gradient's component orthogonal to ``v``.
    on_invalid : {"raise", "nan"}
        With ``"raise"`` (default) NaN, ``q`` outside [0, 1], ``m1 = +inf`` or ``m2`` negative or
        non-finite raise ``ValueError``; with ``"nan"`` those elements get radius NaN and status
        INVALID (-1).

    Returns
    -------
    RadiusResult
        ``radius`` in units of sigma (multiply by sigma for input units), ``status``, ``nit``
        and ``success``; see :class:`RadiusResult` for the status codes. Scalars in, scalars out.

    Notes
    -----
    Every finite radius is certified by a dual witness: multipliers ``lam >= 0`` with
    ``D(lam; r) > 1/2``, where ``D`` is evaluated by a quadrature whose error is estimated and
    subtracted (docs/math.md, "dual certificate"). When the solve fails the smaller radius
    ``R(q, m1, 0)`` (also certified) is returned with status FALLBACK.

    Examples
    --------
    >>> from hocert_solver import directional_radius, max_gradient_norm
    >>> big_m = max_gradient_norm(0.97)
    >>> res = directional_radius(0.97, -0.6 * big_m, 0.7 * big_m)
    >>> round(float(res.radius), 6), int(res.status)
    (2.232839, 0)
    """
    _check_on_invalid(on_invalid)
    shape, (qf, m1f, m2f) = _broadcast(q=q, m1=m1, m2=m2)
    n = qf.size
    radius = np.zeros(n)
    status = np.zeros(n, dtype=np.int8)
    nit = np.zeros(n, dtype=np.int32)

    bad_q = ~((qf >= 0.0) & (qf <= 1.0))
    _report_invalid(bad_q, shape, "q must lie in [0, 1] and not be NaN", on_invalid)
    bad_m1 = np.isnan(m1f) | (m1f == np.inf)
    _report_invalid(bad_m1, shape, "m1 must not be NaN or +inf", on_invalid)
    bad_m2 = ~((m2f >= 0.0) & np.isfinite(m2f))
    _report_invalid(bad_m2, shape, "m2 must be finite and >= 0", on_invalid)
    invalid = bad_q | bad_m1 | bad_m2
    radius[invalid] = np.nan
    status[invalid] = INVALID

    abstain = ~invalid & (qf <= 0.5)
    status[abstain] = ABSTAIN
    certain = ~invalid & (qf == 1.0)
    radius[certain] = np.inf

    todo = ~invalid & ~abstain & ~certain
    if todo.any():
        qt = qf[todo]
        big_m = max_gradient_norm(qt)
        with np.errstate(over="ignore"):  # huge bounds: +inf here, projected below
            a = np.maximum(m1f[todo] / big_m, -1.0)  # E[X f] >= -M(q): lower m1 adds nothing
            b = m2f[todo] / big_m
        rho = _disk_rho(a, b)
        # On or outside the boundary of the feasible disk: shrinking (a, b) onto the boundary
        # (the radius is non-decreasing in m1 and m2) gives R = +inf there. Rounding would put
        # the shrunk point a hair inside, so it is not solved.
        on_or_out = rho >= 1.0
        r = np.full(qt.size, np.inf)
        st = np.where(rho > 1.0 + _FEASIBILITY_SLACK, PROJECTED, CONVERGED).astype(np.int8)
        it = np.zeros(qt.size, dtype=np.int32)
        inside = ~on_or_out
        if inside.any():
            ri = np.empty(int(inside.sum()))
            si = np.empty(ri.size, dtype=np.int8)
            ii = np.empty(ri.size, dtype=np.int32)
            tables = _warm_start.load_tables()
            _solve.solve_many(qt[inside], a[inside], b[inside], tables, ri, si, ii)
            r[inside], st[inside], it[inside] = ri, si, ii
        radius[todo] = r
        status[todo] = st
        nit[todo] = it
    return _finish(shape, radius, status, nit)


def _disk_rho(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """hypot(max(a, 0), b) without overflow: +inf only where a coordinate is infinite."""
    ap = np.maximum(a, 0.0)
    big = np.maximum(ap, b)
    s = np.where((big > 1.0) & np.isfinite(big), big, 1.0)
    with np.errstate(over="ignore"):
        return np.hypot(ap / s, b / s) * s


def cohen_radius(q: ArrayLike, *, on_invalid: OnInvalid = "raise") -> np.ndarray:
    """Zeroth-order radius of Cohen et al.: ``Phi^{-1}(q)`` for ``q > 1/2``, else 0 (abstain).

    Parameters
    ----------
    q : array_like
        Lower bound on the top-class probability, in [0, 1].
    on_invalid : {"raise", "nan"}
        NaN or ``q`` outside [0, 1] raise ``ValueError`` (default) or give NaN.

    Returns
    -------
    ndarray or float
        Radius in units of sigma (``+inf`` at ``q = 1``).
    """
    _check_on_invalid(on_invalid)
    qa = _as_float_array(q, "q")
    bad = ~((qa >= 0.0) & (qa <= 1.0))
    _report_invalid(bad.ravel(), qa.shape, "q must lie in [0, 1] and not be NaN", on_invalid)
    with np.errstate(invalid="ignore"):
        out = np.where(qa > 0.5, special.ndtri(np.where(bad, 0.5, qa)), 0.0)
    out = np.where(bad, np.nan, out)
    return out[()]
