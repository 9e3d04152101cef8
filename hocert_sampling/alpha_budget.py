"""How each radius spends its failure probability alpha over the bounds it uses (union bound).

Each reported radius uses a fixed set of *events*, one per confidence statement: one per
bound, and one for the two-sided l2 pair (:data:`EVENTS`). It spends ``alpha / m`` on each of
its ``m`` events (:func:`alpha_split`), so the radius holds with probability ``>= 1 - alpha``
on its own. The p_A bound of the Cohen radius gets all of alpha (the Cohen et al. baseline);
every other radius recomputes p_A at its own share. The paper authors' code spent 1.25 alpha on
the l1 and l_inf radii and 1.5 alpha on subspace radii. docs/math.md, section 7.

:func:`spend` computes the bounds of a split from an :class:`Evidence` (the counts and half
means of one input, checked once); :func:`radius_bounds` does the same from raw arrays.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ._validation import check_positive, check_probability, check_real, check_sample_count
from .bounds import (
    DEFAULT_ESTIMATOR,
    SUBGAUSSIAN_K,
    HalfMeans,
    _clopper_pearson,
    _impl,
    check_estimator,
)
from .subspace import Subspace

__all__ = [
    "EVENTS",
    "EVENT_BOUNDS",
    "RADIUS_EVENTS",
    "AlphaSplit",
    "Bound",
    "Event",
    "Evidence",
    "GradientBounds",
    "alpha_split",
    "radius_bounds",
    "spend",
]


# --------------------------------------------------------------------------------------------
# What the bounds are computed from
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """The statistics of one input that bounds are computed from, checked once.

    Attributes
    ----------
    successes, trials : int
        Votes for class A among the estimation samples, and their number.
    means : HalfMeans or None
        The split-half means of ``z`` (None: only the p_A bound can be computed).
    subspace : Subspace or None
        The subspace of the subspace bounds.
    k : float
        Variance proxy of one ``z``.
    estimator : {"mgf", "paper"}
        Which estimators the norm bounds use (:data:`hocert_sampling.bounds.ESTIMATORS`;
        ``"paper"`` reproduces Table 1 of the paper). The p_A bound is Clopper-Pearson either way.
    """

    successes: int
    trials: int
    means: HalfMeans | None = None
    subspace: Subspace | None = None
    k: float = SUBGAUSSIAN_K
    estimator: str = DEFAULT_ESTIMATOR

    def bound(self, name: str) -> Callable[..., Any]:
        """The function of checked inputs of bound ``name`` for :attr:`estimator`."""
        return _impl(self.estimator, name)

    def with_subspace(self, subspace: Subspace) -> Evidence:
        """The same statistics for the bounds of ``subspace`` (``X.Y`` etc. stay computed)."""
        return dataclasses.replace(self, subspace=subspace)

    @property
    def full(self) -> HalfMeans:
        """The half means (full space)."""
        if self.means is None:
            raise ValueError("these bounds need the half means")
        return self.means

    @cached_property
    def parts(self) -> tuple[HalfMeans, HalfMeans]:
        """The half means inside the subspace and in its complement (split once)."""
        if self.subspace is None:
            raise ValueError("these bounds need a subspace")
        return self.subspace.split_means(self.full)


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One confidence statement: the bounds it gives and how they are computed.

    Attributes
    ----------
    bounds : tuple of str
        Names of the bounds (a two-sided event gives two). Norm bounds are on
        ``beta = sigma grad g_A(x)`` (dimensionless).
    compute : callable
        ``compute(evidence, alpha) -> tuple of float``, one value per bound, holding together
        with probability ``>= 1 - alpha``.
    needs : {"counts", "means", "subspace"}
        What the evidence must hold.
    """

    bounds: tuple[str, ...]
    compute: Callable[[Evidence, float], tuple[float, ...]]
    needs: str = "means"


#: The events, by name (the inequalities are in :mod:`hocert_sampling.bounds`).
EVENTS: dict[str, Event] = {
    "p_A": Event(
        ("p_A_lower",), lambda e, a: (_clopper_pearson(e.successes, e.trials, a),), "counts"
    ),
    "l2_upper": Event(("grad_l2_upper",), lambda e, a: (e.bound("l2_upper")(e.full, a, e.k),)),
    "l2_two_sided": Event(
        ("grad_l2_lower", "grad_l2_upper"),
        lambda e, a: tuple(e.bound("l2_bounds")(e.full, a, e.k)),
    ),
    "linf_upper": Event(
        ("grad_linf_upper",),
        lambda e, a: (e.bound("linf_upper")(e.full.pooled, e.full.n, a, e.k),),
    ),
    "l1_upper": Event(
        ("grad_l1_upper",),
        lambda e, a: (e.bound("l1_upper")(e.full.pooled, e.full.n, a, e.k),),
    ),
    "proj_l2_upper": Event(
        ("proj_l2_upper",), lambda e, a: (e.bound("l2_upper")(e.parts[0], a, e.k),), "subspace"
    ),
    "complement_l2_lower": Event(
        ("complement_l2_lower",),
        lambda e, a: (e.bound("l2_lower")(e.parts[1], a, e.k),),
        "subspace",
    ),
}

#: Events and the bounds each one gives. Bound names match the keyword arguments of
#: ``hocert_solver``'s threat-model radii.
EVENT_BOUNDS: dict[str, tuple[str, ...]] = {name: ev.bounds for name, ev in EVENTS.items()}

#: Events each reported radius needs (docs/math.md, Corollaries 3.1-3.4).
RADIUS_EVENTS: dict[str, tuple[str, ...]] = {
    "cohen": ("p_A",),
    "l2": ("p_A", "l2_upper"),
    # l1 and l_inf need B2_lo and, for the fallback max(., R_2), B2_hi: one two-sided event.
    "l1": ("p_A", "linf_upper", "l2_two_sided"),
    "linf": ("p_A", "l1_upper", "l2_two_sided"),
    "subspace_l2": ("p_A", "proj_l2_upper", "complement_l2_lower"),
    # The same with the full-space l2 fallback of ``subspace_radius(..., grad_l2_upper)``.
    "subspace_l2_with_fallback": ("p_A", "proj_l2_upper", "complement_l2_lower", "l2_upper"),
}


# --------------------------------------------------------------------------------------------
# The split
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlphaSplit:
    """How one radius spends its failure probability (union bound over its events).

    Attributes
    ----------
    radius : str
        Name of the radius (a key of :data:`RADIUS_EVENTS`, or a custom name).
    alpha : float
        Total failure probability allowed for this radius.
    shares : tuple of (event, alpha) pairs
        The failure probability charged to each event; they sum to at most ``alpha``.
    """

    radius: str
    alpha: float
    shares: tuple[tuple[str, float], ...]

    @property
    def events(self) -> tuple[str, ...]:
        """Names of the events, in order."""
        return tuple(e for e, _ in self.shares)

    @property
    def spent(self) -> float:
        """Sum of the shares (``<= alpha``)."""
        return math.fsum(a for _, a in self.shares)

    def alpha_of(self, event: str) -> float:
        """Failure probability charged to ``event``."""
        for e, a in self.shares:
            if e == event:
                return a
        raise KeyError(f"radius {self.radius!r} uses no event {event!r} (has {self.events})")


def _equal_split(radius: str, a: float, events: tuple[str, ...]) -> AlphaSplit:
    """``a / m`` on each of ``m`` checked events, rounded down so that the sum is ``<= a``."""
    share = a / len(events)
    while math.fsum([share] * len(events)) > a:
        share = math.nextafter(share, 0.0)
    return AlphaSplit(radius=radius, alpha=a, shares=tuple((e, share) for e in events))


def alpha_split(radius: str, alpha: float, events: Sequence[str] | None = None) -> AlphaSplit:
    """Split ``alpha`` equally over the events a radius uses.

    Parameters
    ----------
    radius : str
        Key of :data:`RADIUS_EVENTS` (``"cohen"``, ``"l2"``, ``"l1"``, ``"linf"``,
        ``"subspace_l2"``, ``"subspace_l2_with_fallback"``), or any name when ``events`` is given.
    alpha : float
        Failure probability of the radius, in (0, 1).
    events : sequence of str, optional
        Keys of :data:`EVENT_BOUNDS`, overriding the table.

    Returns
    -------
    AlphaSplit
        ``m`` events, each charged ``alpha / m`` (rounded down so that the sum never exceeds
        ``alpha`` in floating point).
    """
    a = check_probability(alpha)
    return _equal_split(radius, a, _check_events(radius, events))


def _check_events(radius: str, events: Sequence[str] | None) -> tuple[str, ...]:
    if events is None:
        if radius not in RADIUS_EVENTS:
            raise ValueError(f"unknown radius {radius!r}; known: {sorted(RADIUS_EVENTS)}")
        return RADIUS_EVENTS[radius]
    ev = tuple(events)
    if not ev:
        raise ValueError("a radius must use at least one event")
    if len(set(ev)) != len(ev):
        raise ValueError(f"repeated events in {ev}")
    unknown = [e for e in ev if e not in EVENTS]
    if unknown:
        raise ValueError(f"unknown events {unknown}; known: {sorted(EVENTS)}")
    names = [b for e in ev for b in EVENTS[e].bounds]
    if len(set(names)) != len(names):
        raise ValueError(f"events {ev} bound the same quantity twice")
    return ev


# --------------------------------------------------------------------------------------------
# The bounds bought with a split
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    """One confidence bound and the event that certifies it.

    Attributes
    ----------
    name : str
        What is bounded (``"p_A_lower"``, ``"grad_l2_upper"``, ``"grad_l2_lower"``,
        ``"grad_linf_upper"``, ``"grad_l1_upper"``, ``"proj_l2_upper"``,
        ``"complement_l2_lower"``). Norm bounds are on ``beta = sigma grad g_A`` (dimensionless).
    value : float
        The bound.
    event : str
        The event (key of :data:`EVENT_BOUNDS`); bounds from one event share its alpha.
    alpha : float
        Failure probability of that event.
    """

    name: str
    value: float
    event: str
    alpha: float


@dataclass(frozen=True)
class GradientBounds:
    """The bounds one radius is computed from, with their alpha split (``cert.bounds``).

    Attributes
    ----------
    split : AlphaSplit
        The events and their failure probabilities.
    bounds : tuple of Bound
        One entry per bound (a two-sided event gives two).
    """

    split: AlphaSplit
    bounds: tuple[Bound, ...]

    def __getitem__(self, name: str) -> float:
        for b in self.bounds:
            if b.name == name:
                return b.value
        raise KeyError(f"no bound {name!r}; have {[b.name for b in self.bounds]}")

    def as_dict(self) -> dict[str, float]:
        """``{bound name: value}``."""
        return {b.name: b.value for b in self.bounds}

    def solver_kwargs(self) -> dict[str, float]:
        """The norm bounds as keyword arguments of the solver's radius functions (no p_A)."""
        return {b.name: b.value for b in self.bounds if b.name != "p_A_lower"}


def spend(split: AlphaSplit, evidence: Evidence) -> GradientBounds:
    """Compute every bound of ``split``, each event at its share of alpha (nothing is checked
    again: ``evidence`` must hold what the events need).

    Returns
    -------
    GradientBounds
        Holds with probability ``>= 1 - split.alpha`` jointly (union bound over the events).
    """
    out: list[Bound] = []
    for event, a in split.shares:
        spec = EVENTS[event]
        values = spec.compute(evidence, a)
        out.extend(Bound(nm, float(v), event, a) for nm, v in zip(spec.bounds, values))
    return GradientBounds(split=split, bounds=tuple(out))


def radius_bounds(
    radius: str,
    alpha: float,
    *,
    successes: int,
    trials: int,
    mean_x: Any = None,
    mean_y: Any = None,
    n1: int | None = None,
    n2: int | None = None,
    subspace: Any = None,
    events: Sequence[str] | None = None,
    k: float = SUBGAUSSIAN_K,
    estimator: str | None = None,
) -> GradientBounds:
    """Compute every bound a radius uses, each at its share of ``alpha``.

    Parameters
    ----------
    radius : str
        See :func:`alpha_split`.
    alpha : float
        Failure probability of the radius.
    successes, trials : int
        Votes for class A among the estimation samples, and their number (p_A bound).
    mean_x, mean_y : array_like, shape (d,), optional
        Half means of ``z`` (needed by every radius but ``"cohen"``).
    n1, n2 : int, optional
        Sample counts of the halves.
    subspace : array_like or Subspace, optional
        Needed by the subspace radii; any form accepted by
        :func:`hocert_sampling.subspace.project`.
    events : sequence of str, optional
        Override of :data:`RADIUS_EVENTS` for this radius.
    k : float
        Variance proxy of one ``z``.
    estimator : {"mgf", "paper"}, optional
        Estimators of the norm bounds (default
        :data:`hocert_sampling.bounds.DEFAULT_ESTIMATOR`; ``"paper"``: Table 1).

    Returns
    -------
    GradientBounds
        Holds with probability ``>= 1 - alpha`` jointly (union bound over the events).
    """
    split = alpha_split(radius, alpha, events)
    est = check_estimator(estimator)
    needs = {EVENTS[e].needs for e in split.events}
    n = check_sample_count(trials, "trials")
    s = check_real(successes, "successes")
    if not (0.0 <= s <= n and s == math.floor(s)):
        raise ValueError(f"successes must be an integer in [0, trials], got {successes!r}")
    evidence = Evidence(int(s), int(n), k=check_positive(k, "variance proxy k"), estimator=est)
    if needs - {"counts"}:
        if mean_x is None or mean_y is None or n1 is None or n2 is None:
            raise ValueError(f"radius {radius!r} needs mean_x, mean_y, n1 and n2")
        evidence = dataclasses.replace(evidence, means=HalfMeans.checked(mean_x, mean_y, n1, n2))
    if "subspace" in needs:
        if subspace is None:
            raise ValueError(f"radius {radius!r} needs a subspace")
        evidence = evidence.with_subspace(Subspace.checked(subspace, evidence.full.x.size))
    return spend(split, evidence)
