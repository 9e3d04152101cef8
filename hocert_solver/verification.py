"""Independent, rigorous re-checks of certified radii in ball arithmetic (docs/math.md §10).

``verify_radius(q, m1, m2, radius)`` answers, per element, "is it *proved* that the true radius
of Theorem 3 is at least ``radius``?". The proof is a lower bound on the worst-case probability
``p(radius)`` above 1/2, computed in Arb ball arithmetic (python-flint) with rigorous
integration error bounds (``hocert_solver._ball``). None of its arithmetic comes from the Numba
kernels or SciPy: they only supply *hints* (the dual multipliers of the fast solver and the
strip ends of Corollary 3.1), and a wrong hint can only make a proof fail, never pass.

The same machinery lowers a radius that cannot be proved until it is (``prove_radius``), which
is what ``directional_radius(..., verify=True)``, the threat-model functions and
``SmoothedClassifier.certify(verify=True)`` use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _strip
from .directional import (
    FEASIBILITY_SLACK,
    ArrayLike,
    _as_float_array,
    _cohen_floor,
    _directional,
    edge_gap,
    max_gradient_norm,
    pull_factor,
)

# How a radius was proved (``ProvedRadius.how``), or that it was not.
NOT_PROVED = 0
BY_DUAL = 1  # weak duality at the solver's multipliers, integral enclosed by Arb
BY_STRIP = 2  # the closed-form strip dual of Corollary 3.1 (l2 = 0)
BY_COHEN = 3  # r <= Phi^{-1}(q)
TRIVIAL = 4  # r <= 0, or r = +inf with q = 1 or (m1, m2) proved on the disk's boundary

# When the solver's radius cannot be proved it is lowered by these relative steps (the solver's
# own step-back is 3e-9; a radius that fails at 1e-6 below is replaced by the strip or Cohen
# radius, both proved separately).
LOWERING_STEPS = (1e-8, 1e-7, 1e-6)


@dataclass(frozen=True)
class ProvedRadius:
    """Result of :func:`prove_radius`.

    Attributes
    ----------
    radius : ndarray of float64
        The largest radius at most the requested one that was proved (units of sigma), or 0.
    proved : ndarray of bool
        True where the *requested* radius itself was proved.
    how : ndarray of int8
        How ``radius`` was proved: 1 dual witness, 2 strip dual, 3 Cohen, 4 trivial
        (``r <= 0`` or an infinite radius proved on the boundary of the feasible disk), 0 none.
    """

    radius: np.ndarray
    proved: np.ndarray
    how: np.ndarray


def _infinite_is_proved(q: float, m1: float, m2: float) -> bool:
    """R = +inf is proved for q = 1, or with (m1, m2) on the boundary of the feasible disk.

    Points outside the disk by more than the feasibility slack contradict ``q`` (their bounds
    cannot all hold): no certificate rests on them, infinite or not.
    """
    if q == 1.0:
        return max(m1, 0.0) == 0.0 and m2 == 0.0  # M(1) = 0: any gradient contradicts q = 1
    if not (0.5 < q < 1.0):
        return False
    from . import _ball  # python-flint: imported on the first proof (about 50 ms)

    big_m = _ball.max_gradient_norm(q)
    a = max(m1, 0.0)
    rho2 = _ball.arb(a) ** 2 + _ball.arb(m2) ** 2
    on_or_out = bool(rho2 >= big_m * big_m)
    within_slack = bool(rho2 <= (big_m * (1 + _ball.arb(FEASIBILITY_SLACK))) ** 2)
    return on_or_out and within_slack


def _prove_one(
    q: float, m1: float, m2: float, r: float, lam: np.ndarray, strip_ends: tuple[float, float]
) -> int:
    """How ``r`` is proved for the triple (a ``BY_*`` code), or NOT_PROVED."""
    if math.isnan(r) or math.isnan(q) or math.isnan(m1) or math.isnan(m2) or m2 < 0.0:
        return NOT_PROVED
    if not (0.0 <= q <= 1.0):
        return NOT_PROVED
    if r <= 0.0:
        return TRIVIAL
    if r == math.inf:
        return TRIVIAL if _infinite_is_proved(q, m1, m2) else NOT_PROVED
    if q <= 0.5:
        return NOT_PROVED
    from . import _ball  # python-flint: imported on the first proof (about 50 ms)

    if _ball.cohen_holds(q, r):
        return BY_COHEN
    for prec in (_ball.PREC, _ball.PREC_RETRY):
        undecided = False
        if np.all(np.isfinite(lam)):
            l0, l1, l2 = (float(v) for v in lam)
            ok = _ball.exceeds_half(_ball.dual(q, m1, m2, r, l0, l1, l2, prec=prec))
            if ok:
                return BY_DUAL
            undecided |= ok is None
        w2, w1 = strip_ends
        if math.isfinite(w2) and math.isfinite(w1):
            ok = _ball.exceeds_half(_ball.strip_dual(q, m1, r, w2, w1, prec=prec))
            if ok:
                return BY_STRIP
            undecided |= ok is None
        if not undecided:
            break
    return NOT_PROVED


def _hints(
    q: np.ndarray, m1: np.ndarray, m2: np.ndarray, multipliers: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(multipliers, strip ends) per element: hints only, from the fast solver unless given."""
    lam = multipliers if multipliers is not None else _directional(q, m1, m2, "nan")[1]
    lam = np.asarray(lam).reshape(-1, 3)
    ends = np.full((q.size, 2), np.nan)
    valid = (q > 0.5) & (q < 1.0) & ~np.isnan(m1)
    qv = np.where(valid, q, 0.75)
    big_m = max_gradient_norm(qv)
    # The solver pulls an m1 within edge_gap(q) of M(q) inward (directional_radius; its m2 = 0
    # radius is that strip's): the strip of the pulled m1 is the hint there. The dual at the
    # caller's larger m1 is only larger (l1 >= 0), so this is sound for the caller's bounds.
    gap = edge_gap(qv)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = m1 / big_m
        m1_hint = np.where(a >= 1.0 - gap, m1 * pull_factor(a, gap), m1)
    for i in np.flatnonzero(valid):
        ends[i] = _strip.strip(q[i], min(max(m1_hint[i], -big_m[i]), big_m[i]))
    return lam, ends


def _flat(
    q: ArrayLike, m1: ArrayLike, m2: ArrayLike, radius: ArrayLike
) -> tuple[tuple[int, ...], list[np.ndarray]]:
    arrays = [
        _as_float_array(v, k) for k, v in (("q", q), ("m1", m1), ("m2", m2), ("radius", radius))
    ]
    try:
        out = np.broadcast_arrays(*arrays)
    except ValueError:
        shapes = ", ".join(f"{k}{np.shape(v)}" for k, v in zip(("q", "m1", "m2", "radius"), arrays))
        raise ValueError(f"input shapes do not broadcast: {shapes}") from None
    return out[0].shape, [np.ascontiguousarray(a, dtype=np.float64).ravel() for a in out]


def _multipliers(multipliers: ArrayLike | None, shape: tuple[int, ...]) -> np.ndarray | None:
    if multipliers is None:
        return None
    lam = _as_float_array(multipliers, "multipliers")
    try:
        lam = np.broadcast_to(lam, (*shape, 3))
    except ValueError:
        raise ValueError(
            f"multipliers must broadcast to shape {(*shape, 3)} (l0, l1, l2 per element), "
            f"got {lam.shape}"
        ) from None
    return np.ascontiguousarray(lam).reshape(-1, 3)


def verify_radius(
    q: ArrayLike,
    m1: ArrayLike,
    m2: ArrayLike,
    radius: ArrayLike,
    *,
    multipliers: ArrayLike | None = None,
) -> np.ndarray:
    """Prove, in ball arithmetic, that the true first-order radius is at least ``radius``.

    Independent of the fast solver's arithmetic: the worst-case probability ``p(radius)`` of
    Theorem 3 is bounded below by weak duality (docs/math.md §4) with the dual function
    evaluated in Arb ball arithmetic (python-flint) and rigorous integration error bounds, by
    the closed-form strip dual of Corollary 3.1, or by Cohen's bound ``radius <= Phi^{-1}(q)``
    (docs/math.md §10). The fast solver supplies only hints (multipliers, strip ends): a wrong
    hint makes a proof fail, never pass.

    Parameters
    ----------
    q, m1, m2 : array_like
        The same lower bounds as :func:`directional_radius` (sigma-normalised; ``m1 < 0`` is a
        gradient against the move).
    radius : array_like
        Claimed radius in units of sigma. Broadcasts with ``q``, ``m1``, ``m2``.
    multipliers : array_like, optional
        Dual multipliers ``(l0, l1, l2)`` to try, shape ``(..., 3)``, instead of the solver's.

    Returns
    -------
    ndarray of bool (or bool)
        True only where it was proved that the true radius is at least ``radius``: every
        radius ``<= 0``; ``+inf`` only for ``q = 1`` or a point proved to lie on the boundary of
        the feasible disk. False where no proof was found, including NaN or invalid input and
        points whose bounds contradict ``q``.

    Notes
    -----
    Cost: a few milliseconds per element (one adaptive integration; see
    docs/benchmarks.md). Elements at or below Cohen's radius need no integration.

    Examples
    --------
    >>> from hocert_solver import directional_radius, max_gradient_norm, verify_radius
    >>> big_m = max_gradient_norm(0.97)
    >>> r = directional_radius(0.97, -0.6 * big_m, 0.7 * big_m).radius
    >>> bool(verify_radius(0.97, -0.6 * big_m, 0.7 * big_m, r))
    True
    >>> bool(verify_radius(0.97, -0.6 * big_m, 0.7 * big_m, r * (1 + 1e-6)))
    False
    """
    shape, (qf, m1f, m2f, rf) = _flat(q, m1, m2, radius)
    lam, ends = _hints(qf, m1f, m2f, _multipliers(multipliers, shape))
    ok = np.array(
        [
            _prove_one(qf[i], m1f[i], m2f[i], rf[i], lam[i], tuple(ends[i])) != NOT_PROVED
            for i in range(qf.size)
        ],
        dtype=bool,
    )
    return ok.reshape(shape)[()]


def prove_radius(
    q: ArrayLike,
    m1: ArrayLike,
    m2: ArrayLike,
    radius: ArrayLike,
    *,
    multipliers: ArrayLike | None = None,
) -> ProvedRadius:
    """The largest proved radius at most ``radius``: the radius itself, or lowered until proved.

    Tries ``radius``, then ``radius`` lowered by the relative steps ``LOWERING_STEPS``, then the
    strip radius ``R(q, m1, 0)`` and Cohen's radius (each proved in ball arithmetic, as in
    :func:`verify_radius`), and returns the first that is proved; 0 if none is.

    Returns
    -------
    ProvedRadius
        ``radius`` (units of sigma), ``proved`` (the requested radius itself was proved) and
        ``how`` per element.
    """
    shape, (qf, m1f, m2f, rf) = _flat(q, m1, m2, radius)
    lam, ends = _hints(qf, m1f, m2f, _multipliers(multipliers, shape))
    out = np.zeros(qf.size)
    proved = np.zeros(qf.size, dtype=bool)
    how = np.zeros(qf.size, dtype=np.int8)
    for i in range(qf.size):
        args = (qf[i], m1f[i], m2f[i])
        hint = (lam[i], (float(ends[i, 0]), float(ends[i, 1])))
        code = _prove_one(*args, rf[i], *hint)
        if code != NOT_PROVED:
            out[i], proved[i], how[i] = rf[i], True, code
            continue
        for candidate in _lower_candidates(qf[i], m1f[i], rf[i], ends[i]):
            code = _prove_one(*args, candidate, *hint)
            if code != NOT_PROVED:
                out[i], how[i] = candidate, code
                break
    return ProvedRadius(
        radius=out.reshape(shape)[()],
        proved=proved.reshape(shape)[()],
        how=how.reshape(shape)[()],
    )


def _lower_candidates(q: float, m1: float, r: float, ends: np.ndarray) -> list[float]:
    """Radii below ``r`` to try, largest first: small step-backs, the strip radius, Cohen's."""
    out: list[float] = []
    if math.isfinite(r) and r > 0.0:
        out += [r * (1.0 - step) for step in LOWERING_STEPS]
    if 0.5 < q < 1.0:
        w2, w1 = float(ends[0]), float(ends[1])
        if math.isfinite(w2) and math.isfinite(w1):
            strip_r = _strip.strip_radius(w2, w1)
            out += [strip_r * (1.0 - 1e-12), strip_r * (1.0 - 1e-9)]
        z = float(_cohen_floor(np.float64(q)))
        out += [z, z * (1.0 - 1e-12)]
    return sorted({c for c in out if 0.0 < c < r}, reverse=True)
