"""Radii for l2, l1, l_inf and subspace threat models from gradient-norm bounds.

Corollaries 3.1-3.4 of the paper (docs/math.md, "threat models"): the certified region is convex
(Proposition 1) and the directional radius does not increase with the angle between the move
and the gradient (Proposition 2), so a norm ball is certified as soon as its worst vertex is.
Each function turns confidence bounds on norms of ``beta = sigma * grad g_A(x)`` (dimensionless,
sigma-normalised) into the ``(m1, m2)`` lower bounds of that vertex and calls
:func:`~hocert_solver.directional_radius`. All radii are in units of sigma, measured in the norm
of the threat model.

Bounds that contradict ``q`` (a lower bound on a gradient norm above ``M(q)``, the largest
norm possible when ``p_A >= q``, by more than ``FEASIBILITY_SLACK``) give status INCONSISTENT
with the zeroth-order radius (``cohen_radius(q)``, divided by ``sqrt(d)`` for l_inf), as in
:func:`~hocert_solver.directional_radius`, whatever the other bounds would give.
"""

from __future__ import annotations

import operator

import numpy as np

from .directional import (
    FEASIBILITY_SLACK,
    INCONSISTENT,
    ArrayLike,
    OnInvalid,
    RadiusResult,
    _as_float_array,
    cohen_radius,
    directional_radius,
    max_gradient_norm,
)


def _nonneg(x: ArrayLike, name: str, *, allow_inf: bool, on_invalid: OnInvalid) -> np.ndarray:
    """``x`` as float64; elements that are NaN, negative (or infinite, unless ``allow_inf``)
    raise, or with ``on_invalid="nan"`` become NaN, which the solver reports as INVALID."""
    arr = _as_float_array(x, name)
    ok = (arr >= 0.0) & (np.isfinite(arr) | allow_inf)
    if np.all(ok):
        return arr
    if on_invalid == "nan":
        return np.where(ok, arr, np.nan)
    raise ValueError(f"{name} must be {'>= 0' if allow_inf else 'finite and >= 0'} and not NaN")


def _check_order(lower: np.ndarray, upper: np.ndarray, what: str) -> None:
    if np.any(lower > upper):
        raise ValueError(f"inconsistent bounds: lower bound on {what} exceeds its upper bound")


_ROUND_DOWN = 1.0 - 4.0 * float(np.finfo(np.float64).eps)


def _scaled(radius: np.ndarray, scale: float | np.ndarray) -> np.ndarray:
    """``radius * scale`` rounded down (a no-op for ``scale == 1``)."""
    if np.all(np.asarray(scale) == 1.0):
        return radius
    return radius * scale * _ROUND_DOWN


def _best_of(
    first: RadiusResult, fallback: RadiusResult, scale: float | np.ndarray = 1.0
) -> RadiusResult:
    """Elementwise larger of two certified radii (both are valid, so the larger one is).

    ``scale`` (1 / sqrt(d) for l_inf) is rounded down by 4 ulps with the product, so that a
    scaled radius never exceeds the exact scaled value of a proved one (``_scaled``).
    """
    r1 = _scaled(np.asarray(first.radius), scale)
    r2 = _scaled(np.asarray(fallback.radius), scale)
    r1, r2 = np.broadcast_arrays(r1, r2)
    use2 = r2 > r1
    st1, st2 = np.broadcast_arrays(np.asarray(first.status), np.asarray(fallback.status))
    it1, it2 = np.broadcast_arrays(np.asarray(first.nit), np.asarray(fallback.nit))
    return RadiusResult(
        radius=np.where(use2, r2, r1)[()],
        status=np.where(use2, st2, st1).astype(np.int8)[()],
        nit=np.where(use2, it2, it1).astype(np.int32)[()],
    )


def _exceeds_m(q: ArrayLike, norm_lower: np.ndarray) -> np.ndarray:
    """Where a lower bound on a gradient norm exceeds ``M(q) (1 + FEASIBILITY_SLACK)``.

    No classifier with ``p_A >= q > 1/2`` has ``||beta||_2 > M(q)``, so such a bound
    contradicts ``q``. Only for valid ``q`` in (1/2, 1]; at ``q = 1`` (``M = 0``) every positive
    bound does.
    """
    qa = _as_float_array(q, "q")
    valid = (qa > 0.5) & (qa <= 1.0)
    with np.errstate(invalid="ignore"):
        big_m = max_gradient_norm(np.where(valid, qa, 0.75))
        return valid & (norm_lower > big_m * (1.0 + FEASIBILITY_SLACK))


def _inconsistent_as_cohen(
    res: RadiusResult,
    q: ArrayLike,
    contradicts: np.ndarray,
    scale: float = 1.0,
    verify: bool = False,
) -> RadiusResult:
    """``res`` with status INCONSISTENT and ``scale * cohen_radius(q)`` where the bounds
    contradict ``q`` (``contradicts``, or an INCONSISTENT status already in ``res``).

    With ``verify``, Cohen's radius is proved in ball arithmetic (or lowered until it is) before
    it is scaled, like every other radius under ``verify=True``.
    """
    status = np.asarray(res.status)
    bad = np.broadcast_to(contradicts, status.shape) | (status == INCONSISTENT)
    if not bad.any():
        return res
    base = np.asarray(cohen_radius(q, on_invalid="nan"), dtype=np.float64)
    if verify:
        from .verification import prove_radius  # python-flint: only when a proof is asked for

        qb = np.broadcast_to(np.asarray(q, dtype=np.float64), bad.shape)
        base = np.array(np.broadcast_to(base, bad.shape))
        todo = bad & (base > 0.0) & np.isfinite(base)
        if todo.any():
            # Proved for (q, m1 <= -M(q), m2 = 0), whose radius is Cohen's: only q enters.
            m1 = -max_gradient_norm(qb[todo]) * (1.0 + 1e-12)
            base[todo] = prove_radius(qb[todo], m1, np.zeros(m1.size), base[todo]).radius
    cohen = np.broadcast_to(_scaled(base, scale), bad.shape)
    return RadiusResult(
        radius=np.where(bad, cohen, res.radius)[()],
        status=np.where(bad, INCONSISTENT, status).astype(np.int8)[()],
        nit=np.where(bad, 0, res.nit).astype(np.int32)[()],
    )


def l2_radius(
    q: ArrayLike,
    grad_l2_upper: ArrayLike,
    *,
    on_invalid: OnInvalid = "raise",
    verify: bool = False,
) -> RadiusResult:
    """Certified l2 radius from an upper bound on ``||beta||_2`` (Corollary 3.1).

    The worst direction is ``-beta``: ``R_2 = R(q, -B2_hi, 0)``, the strip certificate of
    Corollary 3.1. Never below ``cohen_radius(q)``; equal to it when ``B2_hi >= M(q)``.

    Parameters
    ----------
    q : array_like
        Lower bound on p_A.
    grad_l2_upper : array_like
        Upper bound ``B2_hi >= ||sigma grad g_A(x)||_2`` (dimensionless); ``inf`` allowed.
    on_invalid : {"raise", "nan"}
        See :func:`directional_radius`.
    verify : bool
        Prove each radius in ball arithmetic, lowering it until proved (status LOWERED); see
        :func:`directional_radius`.

    Returns
    -------
    RadiusResult
        l2 radius in units of sigma.
    """
    b2_hi = _nonneg(grad_l2_upper, "grad_l2_upper", allow_inf=True, on_invalid=on_invalid)
    return directional_radius(q, -b2_hi, 0.0, on_invalid=on_invalid, verify=verify)


def l1_radius(
    q: ArrayLike,
    grad_linf_upper: ArrayLike,
    grad_l2_lower: ArrayLike,
    grad_l2_upper: ArrayLike,
    *,
    on_invalid: OnInvalid = "raise",
    verify: bool = False,
) -> RadiusResult:
    """Certified l1 radius (Corollary 3.2).

    The worst vertex of the l1 ball is ``-sign(beta_i) e_i`` at the largest ``|beta_i|``, so
    ``m1 = -Binf_hi`` and ``m2 = sqrt(max(0, B2_lo^2 - Binf_hi^2))`` bound every vertex at once.
    The result is the larger of that and the l2 radius (an l2 ball contains the l1 ball of the
    same radius).

    Parameters
    ----------
    q : array_like
        Lower bound on p_A.
    grad_linf_upper : array_like
        Upper bound on ``||beta||_inf``.
    grad_l2_lower, grad_l2_upper : array_like
        Lower and upper bounds on ``||beta||_2`` (``beta = sigma grad g_A(x)``).
    on_invalid : {"raise", "nan"}
        See :func:`directional_radius`.
    verify : bool
        Prove each radius in ball arithmetic, lowering it until proved (status LOWERED); see
        :func:`directional_radius`.

    Returns
    -------
    RadiusResult
        l1 radius in units of sigma; status INCONSISTENT, with ``cohen_radius(q)``, where
        ``grad_l2_lower`` exceeds ``M(q)`` (the bounds contradict ``q``).
    """
    binf_hi = _nonneg(grad_linf_upper, "grad_linf_upper", allow_inf=True, on_invalid=on_invalid)
    b2_lo = _nonneg(grad_l2_lower, "grad_l2_lower", allow_inf=False, on_invalid=on_invalid)
    b2_hi = _nonneg(grad_l2_upper, "grad_l2_upper", allow_inf=True, on_invalid=on_invalid)
    _check_order(b2_lo, b2_hi, "||beta||_2")
    with np.errstate(invalid="ignore"):
        m2 = np.sqrt(np.maximum(0.0, b2_lo * b2_lo - binf_hi * binf_hi))
    first = directional_radius(q, -binf_hi, m2, on_invalid=on_invalid, verify=verify)
    best = _best_of(first, l2_radius(q, b2_hi, on_invalid=on_invalid, verify=verify))
    contradicts = _exceeds_m(q, b2_lo) | (np.asarray(first.status) == INCONSISTENT)
    return _inconsistent_as_cohen(best, q, contradicts, verify=verify)


def linf_radius(
    q: ArrayLike,
    grad_l1_upper: ArrayLike,
    grad_l2_lower: ArrayLike,
    grad_l2_upper: ArrayLike,
    dim: int,
    *,
    on_invalid: OnInvalid = "raise",
    verify: bool = False,
) -> RadiusResult:
    """Certified l_inf radius (Corollary 3.3).

    The worst vertex direction is ``s / sqrt(d)`` with ``s = -sign(beta)``:
    ``m1 = -B1_hi / sqrt(d)``, ``m2 = sqrt(max(0, B2_lo^2 - B1_hi^2 / d))``, and the l_inf radius
    is ``R(q, m1, m2) / sqrt(d)``; never below ``R_2 / sqrt(d)``.

    Parameters
    ----------
    q : array_like
        Lower bound on p_A.
    grad_l1_upper : array_like
        Upper bound on ``||beta||_1``.
    grad_l2_lower, grad_l2_upper : array_like
        Lower and upper bounds on ``||beta||_2``.
    dim : int
        Input dimension d (number of coordinates of x).
    on_invalid : {"raise", "nan"}
        See :func:`directional_radius`.
    verify : bool
        Prove each radius in ball arithmetic, lowering it until proved (status LOWERED); see
        :func:`directional_radius`.

    Returns
    -------
    RadiusResult
        l_inf radius in units of sigma; status INCONSISTENT, with ``cohen_radius(q) /
        sqrt(d)``, where ``grad_l2_lower`` exceeds ``M(q)`` (the bounds contradict ``q``).
    """
    try:
        dim = operator.index(dim)
    except TypeError:
        raise ValueError(f"dim must be a positive integer, got {dim!r}") from None
    if dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    b1_hi = _nonneg(grad_l1_upper, "grad_l1_upper", allow_inf=True, on_invalid=on_invalid)
    b2_lo = _nonneg(grad_l2_lower, "grad_l2_lower", allow_inf=False, on_invalid=on_invalid)
    b2_hi = _nonneg(grad_l2_upper, "grad_l2_upper", allow_inf=True, on_invalid=on_invalid)
    _check_order(b2_lo, b2_hi, "||beta||_2")
    root_d = float(np.sqrt(dim))
    with np.errstate(invalid="ignore"):
        m2 = np.sqrt(np.maximum(0.0, b2_lo * b2_lo - (b1_hi / root_d) ** 2))
    first = directional_radius(q, -b1_hi / root_d, m2, on_invalid=on_invalid, verify=verify)
    best = _best_of(first, l2_radius(q, b2_hi, on_invalid=on_invalid, verify=verify), 1.0 / root_d)
    contradicts = _exceeds_m(q, b2_lo) | (np.asarray(first.status) == INCONSISTENT)
    return _inconsistent_as_cohen(best, q, contradicts, 1.0 / root_d, verify)


def subspace_radius(
    q: ArrayLike,
    proj_l2_upper: ArrayLike,
    complement_l2_lower: ArrayLike,
    grad_l2_upper: ArrayLike | None = None,
    *,
    on_invalid: OnInvalid = "raise",
    verify: bool = False,
) -> RadiusResult:
    """Certified l2 radius for perturbations restricted to a subspace S (Corollary 3.4).

    For a unit move ``v`` in S, ``<beta, v> >= -||P_S beta||_2`` and the orthogonal part of
    ``beta`` is at least ``||(I - P_S) beta||_2``, so ``R_S = R(q, -PS_hi, C_lo)``. With
    ``grad_l2_upper`` given, the result is never below the full-space l2 radius.

    Parameters
    ----------
    q : array_like
        Lower bound on p_A.
    proj_l2_upper : array_like
        Upper bound on ``||P_S beta||_2``.
    complement_l2_lower : array_like
        Lower bound on ``||(I - P_S) beta||_2`` (estimated in dimension ``d - d_S``).
    grad_l2_upper : array_like, optional
        Upper bound on ``||beta||_2`` for the l2 fallback.
    on_invalid : {"raise", "nan"}
        See :func:`directional_radius`.
    verify : bool
        Prove each radius in ball arithmetic, lowering it until proved (status LOWERED); see
        :func:`directional_radius`.

    Returns
    -------
    RadiusResult
        Radius (l2 norm inside S) in units of sigma; status INCONSISTENT, with
        ``cohen_radius(q)``, where ``complement_l2_lower`` exceeds ``M(q)`` (the bounds
        contradict ``q``).
    """
    ps_hi = _nonneg(proj_l2_upper, "proj_l2_upper", allow_inf=True, on_invalid=on_invalid)
    c_lo = _nonneg(
        complement_l2_lower, "complement_l2_lower", allow_inf=False, on_invalid=on_invalid
    )
    first = directional_radius(q, -ps_hi, c_lo, on_invalid=on_invalid, verify=verify)
    if grad_l2_upper is None:
        return first
    best = _best_of(first, l2_radius(q, grad_l2_upper, on_invalid=on_invalid, verify=verify))
    return _inconsistent_as_cohen(best, q, np.asarray(first.status) == INCONSISTENT, verify=verify)
