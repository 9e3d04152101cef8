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
from ._status import (
    ABSTAIN,
    CONVERGED,
    FALLBACK,
    INCONSISTENT,
    INVALID,
    LOWERED,
)

# The status codes are defined in _status; these names stay importable from here.
from ._status import PROJECTED as PROJECTED
from ._status import STATUS_NAMES as STATUS_NAMES

#: Relative slack of the feasible disk ``max(m1, 0)^2 + m2^2 <= M(q)^2``: inputs outside it by
#: at most this (``hypot(max(m1, 0), m2) <= M(q) (1 + FEASIBILITY_SLACK)``) are rounding, not
#: information, and lie on its boundary (radius ``+inf``); inputs outside it by more are
#: INCONSISTENT. The one definition, used by ``directional_radius``, the threat models,
#: ``RadiusTable.lookup`` and the ``hocert`` command line.
FEASIBILITY_SLACK = 1e-12

#: Elements that ``directional_radius`` and the functions built on it solve in one pass:
#: larger calls are split into chunks of this many elements, so that the temporaries (about
#: 100 bytes per element) stay bounded; the results do not depend on it.
SOLVE_CHUNK = 1_000_000

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
        ``0`` (CONVERGED): first-order radius, solved and certified to full accuracy (1e-6
        relative). ``+inf`` only where ball arithmetic proves ``(m1, m2)`` on or beyond the
        boundary of the feasible disk (beyond by at most ``FEASIBILITY_SLACK`` = 1e-12
        relative: rounding).
        ``1`` (ABSTAIN): ``q <= 1/2``, radius 0.
        ``3`` (FALLBACK): a smaller radius, still certified, that may lie more than 1e-6 below
        the first-order radius: the m2 = 0 radius R(q, m1, 0) where the solve did not converge
        or could not be certified; the witness's radius where its error bounds put it more than
        ``5e-7 r`` (relative) below the solution; or, within ``edge_gap(q)`` of the boundary of
        the feasible disk (where double precision cannot resolve R), the radius of the point
        pulled inward to that gap.
        ``4`` (INCONSISTENT): ``(m1, m2)`` lie outside the feasible disk
        ``max(m1, 0)^2 + m2^2 <= M(q)^2`` by more than ``FEASIBILITY_SLACK`` (relative): no
        classifier with ``p_A >= q`` has such a gradient, so the bounds contradict ``q``
        (``m1``, ``m2`` not sigma-normalised or not multiplied by ``M(q)``, or a failed
        confidence bound). The radius is the zeroth-order ``cohen_radius(q)``, valid whenever
        ``q <= p_A`` (``+inf`` only at ``q = 1``, where ``M(q) = 0``); ``success`` is False.
        ``5`` (LOWERED): only with ``verify=True``: the solver's radius could not be proved
        in ball arithmetic (``verify_radius``) and the returned radius is the largest one
        below it that was (lowered by at most 1e-6 relative, or the strip or Cohen radius);
        ``success`` is False.
        ``-1`` (INVALID): NaN or out-of-domain input; radius is NaN.
        ``2`` (PROJECTED) is no longer produced (it was ``+inf`` for inputs outside the disk,
        now INCONSISTENT); the constant is kept for code and saved tables that name it.
    nit : ndarray of int32
        Newton iterations spent (0 for closed-form cases).
    """

    radius: np.ndarray
    status: np.ndarray
    nit: np.ndarray

    @property
    def success(self) -> np.ndarray:
        """True where the radius is the full-accuracy value (CONVERGED or ABSTAIN)."""
        s = self.status
        return (s == CONVERGED) | (s == ABSTAIN)

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


def _broadcast_views(**arrays: ArrayLike) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """The broadcast shape and read-only broadcast views (nothing materialised)."""
    converted = [_as_float_array(v, k) for k, v in arrays.items()]
    try:
        out = np.broadcast_arrays(*converted)
    except ValueError:
        shapes = ", ".join(f"{k}{np.shape(v)}" for k, v in zip(arrays, converted, strict=True))
        raise ValueError(f"input shapes do not broadcast: {shapes}") from None
    return out[0].shape, list(out)


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
    q: ArrayLike,
    m1: ArrayLike,
    m2: ArrayLike,
    *,
    on_invalid: OnInvalid = "raise",
    verify: bool = False,
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
    verify : bool
        If True, prove every positive radius in ball arithmetic (:func:`verify_radius`,
        independent of the solver's own quadrature; a few milliseconds per element) and lower
        any radius that cannot be proved until it is (status LOWERED).

    Returns
    -------
    RadiusResult
        ``radius`` in units of sigma (multiply by sigma for input units), ``status``, ``nit``
        and ``success``; see :class:`RadiusResult` for the status codes. Scalars in, scalars out.

    Notes
    -----
    Every finite radius is certified by a dual witness: multipliers ``lam >= 0`` with
    ``D(lam; r) > 1/2``, where ``D`` is evaluated by a quadrature whose error is bounded and
    subtracted with every other error term (docs/math.md, "dual certificate" and section 10).
    When the solve fails the smaller radius ``R(q, m1, 0)`` (also certified) is returned with
    status FALLBACK. Bounds outside the
    feasible disk ``max(m1, 0)^2 + m2^2 <= M(q)^2`` by more than ``FEASIBILITY_SLACK``
    contradict ``q`` (e.g. fractions of ``M(q)`` passed as absolute values): they get status
    INCONSISTENT, ``success`` False and the zeroth-order radius ``cohen_radius(q)``, never the
    ``+inf`` of the disk's boundary.

    Examples
    --------
    >>> from hocert_solver import directional_radius, max_gradient_norm
    >>> big_m = max_gradient_norm(0.97)
    >>> res = directional_radius(0.97, -0.6 * big_m, 0.7 * big_m)
    >>> round(float(res.radius), 6), int(res.status)
    (2.232839, 0)
    """
    result, lam = _directional(q, m1, m2, on_invalid)
    if _check_verify(verify):
        result = _proved(result, q, m1, m2, lam)
    return result


def _check_verify(verify: object) -> bool:
    if not isinstance(verify, (bool, np.bool_)):
        raise TypeError(f"verify must be True or False, got {verify!r}")
    return bool(verify)


def _proved(
    result: RadiusResult, q: ArrayLike, m1: ArrayLike, m2: ArrayLike, lam: np.ndarray
) -> RadiusResult:
    """``result`` with every positive radius proved in ball arithmetic, or lowered until it is.

    Radii that are proved keep their status; the others get the largest proved radius below
    them (``verification.prove_radius``) and status LOWERED. Abstentions, invalid elements and
    zero radii need no proof.
    """
    from . import verification  # python-flint is only imported when a proof is asked for

    radius = np.asarray(result.radius, dtype=np.float64)
    status = np.asarray(result.status).copy()
    todo = (radius > 0.0) & ~np.isnan(radius)
    if not todo.any():
        return result
    qb, m1b, m2b = (
        np.broadcast_to(np.asarray(v, dtype=np.float64), radius.shape) for v in (q, m1, m2)
    )
    proof = verification.prove_radius(
        qb[todo], m1b[todo], m2b[todo], radius[todo], multipliers=lam[todo]
    )
    new_radius = radius.copy()
    new_radius[todo] = proof.radius
    lowered = np.zeros(radius.shape, dtype=bool)
    lowered[todo] = ~np.asarray(proof.proved)
    status[lowered] = LOWERED
    return RadiusResult(radius=new_radius[()], status=status[()], nit=result.nit)


def _directional(
    q: ArrayLike, m1: ArrayLike, m2: ArrayLike, on_invalid: OnInvalid
) -> tuple[RadiusResult, np.ndarray]:
    """``directional_radius`` and, per element, the witness multipliers (shape ``(..., 3)``).

    The multipliers ``(l0, l1, l2)`` are those of the dual witness that certified the radius
    (``_solve.solve_one``); NaN where the radius needed none or came from the closed-form
    strip witness. They are hints for re-checking a radius (``verify_radius``,
    ``RadiusTable.verify``): any ``lam >= 0`` with ``D(lam; r) > 1/2`` proves ``r``.
    """
    _check_on_invalid(on_invalid)
    shape, views = _broadcast_views(q=q, m1=m1, m2=m2)
    n = int(np.prod(shape, dtype=np.int64))
    if n <= SOLVE_CHUNK:  # one pass (the broadcast materialised once)
        flat = [np.ascontiguousarray(v).ravel() for v in views]
        if on_invalid == "raise":
            _raise_invalid([_invalid_masks(*flat)], shape)
        radius, status, nit, lam = _directional_flat(*flat)
        return _finish(shape, radius, status, nit), lam.reshape((*shape, 3))
    # Large calls in chunks of SOLVE_CHUNK elements: the temporaries (about 100 bytes per
    # element) stay bounded; each element's result does not depend on the others.
    chunks = [(s, min(n, s + SOLVE_CHUNK)) for s in range(0, n, SOLVE_CHUNK)]
    if on_invalid == "raise":  # the same error as in one pass: counts and first index overall
        _raise_invalid([_invalid_masks(*(v.flat[a:b] for v in views)) for a, b in chunks], shape)
    radius = np.empty(n)
    status = np.empty(n, dtype=np.int8)
    nit = np.empty(n, dtype=np.int32)
    lam = np.empty((n, 3))
    for a, b in chunks:
        out = _directional_flat(*(v.flat[a:b] for v in views))
        radius[a:b], status[a:b], nit[a:b], lam[a:b] = out
    return _finish(shape, radius, status, nit), lam.reshape((*shape, 3))


_INVALID_WHY = (
    "q must lie in [0, 1] and not be NaN",
    "m1 must not be NaN or +inf",
    "m2 must be finite and >= 0",
)


def _invalid_masks(qf: np.ndarray, m1f: np.ndarray, m2f: np.ndarray) -> list[np.ndarray]:
    """The invalid elements of q, m1 and m2 (the messages of :data:`_INVALID_WHY`)."""
    return [
        ~((qf >= 0.0) & (qf <= 1.0)),
        np.isnan(m1f) | (m1f == np.inf),
        ~((m2f >= 0.0) & np.isfinite(m2f)),
    ]


def _raise_invalid(chunk_masks: list[list[np.ndarray]], shape: tuple[int, ...]) -> None:
    """``ValueError`` for the first argument with invalid elements, over consecutive chunks."""
    for k, why in enumerate(_INVALID_WHY):
        count, first, offset = 0, -1, 0
        for masks in chunk_masks:
            bad = masks[k]
            hits = np.flatnonzero(bad)
            if hits.size and first < 0:
                first = offset + int(hits[0])
            count += int(hits.size)
            offset += bad.size
        if count:
            where = tuple(int(i) for i in np.unravel_index(first, shape)) if shape else ()
            raise ValueError(f"{why} ({count} element(s); first at index {where})")


def _directional_flat(
    qf: np.ndarray, m1f: np.ndarray, m2f: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Radius, status, nit and multipliers of flat inputs (invalid elements get NaN)."""
    n = qf.size
    lam = np.full((n, 3), np.nan)
    radius = np.zeros(n)
    status = np.zeros(n, dtype=np.int8)
    nit = np.zeros(n, dtype=np.int32)
    bad_q, bad_m1, bad_m2 = _invalid_masks(qf, m1f, m2f)
    invalid = bad_q | bad_m1 | bad_m2
    radius[invalid] = np.nan
    status[invalid] = INVALID

    abstain = ~invalid & (qf <= 0.5)
    status[abstain] = ABSTAIN
    certain = ~invalid & (qf == 1.0)
    radius[certain] = np.inf
    # M(1) = 0: the feasible disk is the point max(m1, 0) = m2 = 0; any other (m1, m2)
    # contradicts q = 1, whose Cohen radius is +inf too.
    status[certain & ((m1f > 0.0) | (m2f > 0.0))] = INCONSISTENT

    todo = ~invalid & ~abstain & ~certain
    if todo.any():
        qt = qf[todo]
        big_m = max_gradient_norm(qt)
        with np.errstate(over="ignore"):  # huge bounds: +inf here, inconsistent below
            a = np.maximum(m1f[todo] / big_m, -1.0)  # E[X f] >= -M(q): lower m1 adds nothing
            b = m2f[todo] / big_m
        rho = _disk_rho(a, b)
        # Outside the feasible disk by more than FEASIBILITY_SLACK the bounds contradict q:
        # INCONSISTENT, with the zeroth-order radius Phi^{-1}(q). Within edge_gap(q) of its
        # boundary double precision cannot resolve R (docs/math.md §8): R = +inf only where
        # ball arithmetic proves the point on or beyond the boundary (within the slack: rounding);
        # elsewhere the point is pulled inward to the gap edge_gap(q), where the solver meets
        # its accuracy, and its (smaller, certified) radius is returned with status FALLBACK.
        outside = rho > 1.0 + FEASIBILITY_SLACK
        gap = edge_gap(qt)
        near = ~outside & (rho >= 1.0 - gap)
        r = np.where(outside, _cohen_floor(qt), np.nan)
        st = np.where(outside, INCONSISTENT, CONVERGED).astype(np.int8)
        it = np.zeros(qt.size, dtype=np.int32)
        m1_in, m2_in = m1f[todo].copy(), m2f[todo].copy()
        shrunk = np.zeros(0, dtype=np.intp)
        if near.any():
            idx = np.flatnonzero(near)
            # Only points within M(q)'s rounding of the boundary can be proved on it; pulling
            # any other point is sound either way (it only lowers the radius).
            maybe = rho[idx] >= 1.0 - _ON_EDGE_CANDIDATE
            on_edge = np.zeros(idx.size, dtype=bool)
            on_edge[maybe] = _proved_on_edge(qt[idx[maybe]], m1_in[idx[maybe]], m2_in[idx[maybe]])
            r[idx[on_edge]] = np.inf
            pull = idx[~on_edge]
            # Scale (max(a, 0), b) to the radius 1 - gap (R is non-decreasing in m1 and m2, so
            # the pulled point's radius is certified for the caller's), rounding down.
            f = pull_factor(rho[pull], gap[pull])
            # (the caller's a > 0, whose m2 = 0 radius bounds R from below as well; see below).
            # An m2 = 0 point itself within the gap of the boundary is pulled in to 1 - gap, as
            # directional_radius(q, m1, 0) would pull it (its +inf needs a proof).
            shrunk = pull[a[pull] > 0.0]
            a_s, gap_s = a[shrunk], gap[shrunk]
            f_strip = np.where(a_s >= 1.0 - gap_s, pull_factor(a_s, gap_s), 1.0)
            a_caller, m1_caller = a_s * f_strip, m1_in[shrunk] * f_strip
            b[pull] = b[pull] * f
            a[pull] = np.where(a[pull] > 0.0, a[pull] * f, a[pull])
            m1_in[pull] = np.where(m1_in[pull] > 0.0, m1_in[pull] * f, m1_in[pull])
            m2_in[pull] = m2_in[pull] * f
        inside = np.isnan(r)
        if inside.any():
            ri = np.empty(int(inside.sum()))
            si = np.empty(ri.size, dtype=np.int8)
            ii = np.empty(ri.size, dtype=np.int32)
            li = np.empty((ri.size, 3))
            tables = _warm_start.load_tables()
            _solve.solve_many(
                qt[inside],
                a[inside],
                b[inside],
                m1_in[inside],
                m2_in[inside],
                tables,
                ri,
                si,
                ii,
                li,
            )
            lam_t = np.full((qt.size, 3), np.nan)
            if shrunk.size:
                # Pulling shrank a > 0 as well, so the pulled radius can fall below the strip
                # radius R(q, m1, 0) of the caller's own m1, itself a certified lower bound
                # (R is non-decreasing in m2): take the larger, so that R stays monotone in m2.
                rs = np.empty(shrunk.size)
                _solve.solve_many(
                    qt[shrunk],
                    a_caller,
                    np.zeros(shrunk.size),
                    m1_caller,
                    np.zeros(shrunk.size),
                    tables,
                    rs,
                    np.empty(shrunk.size, dtype=np.int8),
                    np.empty(shrunk.size, dtype=np.int32),
                    np.empty((shrunk.size, 3)),
                )
                pos = np.cumsum(inside) - 1  # index into the solved (inside) arrays
                k = pos[shrunk]
                better = rs > ri[k]
                ri[k[better]] = rs[better]
                li[k[better]] = np.nan  # the strip radius's witness is rebuilt from the strip
            r[inside], st[inside], it[inside] = ri, si, ii
            lam_t[inside] = li
            lam[todo] = lam_t
        # Pulled-in points: their radius is certified but below the caller's R by more than the
        # accuracy goal.
        st[near & np.isfinite(r) & (st == CONVERGED)] = FALLBACK
        radius[todo] = r
        status[todo] = st
        nit[todo] = it
    return radius, status, nit, lam


# SciPy's ndtri is within 4 ulps of Phi^{-1} (measured against Arb on 10,000 q in (1/2, 1));
# Cohen's radius is rounded down by 16 ulps so that it never exceeds the exact quantile.
_COHEN_ROUND_DOWN = 16.0 * np.finfo(np.float64).eps


def _cohen_floor(q: np.ndarray) -> np.ndarray:
    """Phi^{-1}(q) rounded down (q in (1/2, 1); +inf at q = 1)."""
    return special.ndtri(q) * (1.0 - _COHEN_ROUND_DOWN)


_EPS = float(np.finfo(np.float64).eps)


def pull_factor(rho: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """The factor that pulls a point at normalised distance ``rho`` in to ``1 - gap``.

    ``rho = hypot(max(m1, 0), m2) / M(q)`` and ``gap`` (``edge_gap(q)``) are dimensionless; the
    factor multiplies ``max(m1, 0)`` and ``m2`` (``directional_radius``), and is rounded down
    by 4 ulps so that the pulled point lies at or inside ``1 - gap``: only smaller bounds, so
    its radius is certified for the caller's (R is non-decreasing in m1 and m2).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return (1.0 - gap) / rho * (1.0 - 4.0 * _EPS)


# M(q) in binary64 is within about 4 z^2 ulps (z = Phi^{-1}(q), < 6e-14 for q < 1): points
# further inside than this are never proved on the boundary, so ball arithmetic is skipped.
_ON_EDGE_CANDIDATE = 1e-11

#: Relative gap to the boundary of the feasible disk, ``1 - hypot(max(m1, 0), m2) / M(q)``,
#: below which points are pulled inward (status FALLBACK), see ``edge_gap``.
EDGE_GAP = 1e-8


def edge_gap(q: ArrayLike) -> np.ndarray:
    """Smallest gap ``1 - hypot(max(m1, 0), m2) / M(q)`` that the solver resolves to 1e-6.

    Near the boundary of the feasible disk the dual multipliers grow like 1 / gap (1e14 at
    gap 1e-8 and q = 1 - 1e-8), and the witness's rounding and truncation bounds, which grow
    with them, push the certified radius below R by about 2.5e-15 / gap relative, more as q
    approaches 1 (measured against the reference solver: tests/solver/test_edges.py). Points
    closer to the boundary are solved at this gap instead (their radius is smaller, still
    certified, and flagged FALLBACK). ``EDGE_GAP`` = 1e-8 for q <= 1 - 1.5e-6, growing like
    (1 - q)^-0.82 above: 6e-7 at q = 1 - 1e-8, 1.2e-3 at q = 1 - 1e-12.
    """
    qa = _as_float_array(q, "q")
    with np.errstate(divide="ignore"):
        near_one = 1.4e-8 * (1e-6 / np.maximum(1.0 - qa, 1e-300)) ** 0.82
    return np.minimum(np.maximum(EDGE_GAP, near_one), 0.5)


def _proved_on_edge(q: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """Where ball arithmetic proves ``hypot(max(m1, 0), m2) >= M(q)`` (R = +inf), per element."""
    from . import verification  # python-flint: only for points at the edge

    return np.array(
        [
            verification._infinite_is_proved(float(x), float(y), float(z))
            for x, y, z in zip(q, m1, m2)
        ],
        dtype=bool,
    )


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
        out = np.where(qa > 0.5, _cohen_floor(np.where(bad, 0.5, qa)), 0.0)
    out = np.where(bad, np.nan, out)
    return out[()]
