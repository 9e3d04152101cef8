"""The registry of threat models: one entry per certified radius, defined once.

Each :class:`ThreatModel` says which events its bounds need (:mod:`hocert_sampling.alpha_budget`),
which ``hocert_solver`` function turns them into a radius (paper Corollaries 3.1-3.4) and with
which bounds in which order, where the radius goes in a :class:`~hocert_sampling.Certificate`,
its column in a result file, its title in a figure and what its numbers are in a table.
:meth:`~hocert_sampling.SmoothedClassifier.certify` computes the radii of :data:`THREAT_MODELS`
in order; ``hocert``'s result files (``hocert.runner``), figures and tables
(``hocert.plotting``, ``hocert summary``) are built from the same registry.

The zeroth-order (Cohen et al.) radius is not a threat model here: it is the baseline of every
one of them (column :data:`COHEN_COLUMN`), translated into each norm by
:attr:`ThreatModel.cohen_scale`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hocert_solver import RadiusResult, l1_radius, l2_radius, linf_radius, subspace_radius

from .alpha_budget import RADIUS_EVENTS, Evidence, GradientBounds, _equal_split, spend

__all__ = [
    "COHEN_COLUMN",
    "L1",
    "L2",
    "LINF",
    "SUBSPACE",
    "THREAT_MODELS",
    "ThreatModel",
    "certificate_radii",
    "radius_columns",
    "threat_model",
]

#: The result column of the zeroth-order (Cohen et al.) l2 radius, every threat model's baseline.
COHEN_COLUMN = "radius_cohen"


@dataclass(frozen=True)
class ThreatModel:
    """One certified radius: its bounds, its solver, and how it is stored and shown.

    Attributes
    ----------
    name : str
        Registry key, and the key of ``Certificate.bounds`` / ``solver_status`` (per subspace:
        ``"subspace:<name>"``, see :meth:`key`).
    budget : str
        Key of :data:`~hocert_sampling.alpha_budget.RADIUS_EVENTS`: the events whose bounds
        the radius uses, each at an equal share of alpha.
    solver : callable
        The ``hocert_solver`` radius function, called as
        ``solver(p_A_lower, *solver_bounds, [d,] verify=...)``.
    solver_bounds : tuple of str
        Names of the bounds passed after ``p_A_lower``, in the solver's order.
    certificate_field : str
        Attribute of ``Certificate`` holding the radius (a dict by subspace name when
        ``per_subspace``).
    title : str
        Figure title (Matplotlib TeX); ``{subspace}`` stands for the subspace name.
    quantity : str
        What the numbers of its table are (``hocert summary``).
    solver_dim : bool
        Pass the input dimension d to the solver after the bounds.
    cohen_scale : {"l2", "linf"}
        The zeroth-order baseline in this norm: ``"l2"``, Cohen's l2 radius r itself (the l2
        ball of radius r holds the l1 ball and, inside S, the subspace ball of radius r);
        ``"linf"``, ``r / sqrt(d)`` (the l_inf ball of that radius lies inside the l2 ball).
    per_subspace : bool
        One radius per requested subspace.
    """

    name: str
    budget: str
    solver: Callable[..., RadiusResult]
    solver_bounds: tuple[str, ...]
    certificate_field: str
    title: str
    quantity: str = "radius"
    solver_dim: bool = False
    cohen_scale: str = "l2"
    per_subspace: bool = False

    def key(self, subspace: str | None = None) -> str:
        """Key in ``Certificate.bounds`` and ``Certificate.solver_status``."""
        return f"{self.name}:{subspace}" if self.per_subspace else self.name

    def column(self, subspace: str | None = None) -> str:
        """Column of the radius in a result file (``radius_<subspace>`` per subspace)."""
        return f"radius_{subspace}" if self.per_subspace else f"radius_{self.name}"

    def plot_title(self, subspace: str | None = None) -> str:
        """Figure title (Matplotlib TeX)."""
        return self.title.format(subspace=subspace)

    def bounds(self, alpha: float, evidence: Evidence) -> GradientBounds:
        """The bounds of this radius, each event at its share of ``alpha`` (checked by the
        caller, as is ``evidence``)."""
        return spend(_equal_split(self.budget, alpha, RADIUS_EVENTS[self.budget]), evidence)

    def solve(self, bounds: GradientBounds, dim: int, verify: bool = False) -> RadiusResult:
        """The radius (units of sigma, in this norm) from :meth:`bounds`; ``dim`` = d."""
        args: list[Any] = [bounds["p_A_lower"], *(bounds[b] for b in self.solver_bounds)]
        if self.solver_dim:
            args.append(dim)
        return self.solver(*args, verify=verify)


#: l2 ball (Corollary 3.1): ``R(q, -B2_hi, 0)``.
L2 = ThreatModel("l2", "l2", l2_radius, ("grad_l2_upper",), "radius_l2", "$\\ell_2$")
#: l1 ball (Corollary 3.2), never below the l2 radius.
L1 = ThreatModel(
    "l1",
    "l1",
    l1_radius,
    ("grad_linf_upper", "grad_l2_lower", "grad_l2_upper"),
    "radius_l1",
    "$\\ell_1$",
)
#: l_inf ball (Corollary 3.3), never below the l2 radius over sqrt(d).
LINF = ThreatModel(
    "linf",
    "linf",
    linf_radius,
    ("grad_l1_upper", "grad_l2_lower", "grad_l2_upper"),
    "radius_linf",
    "$\\ell_\\infty$",
    solver_dim=True,
    cohen_scale="linf",
)
#: l2 ball inside a subspace S (Corollary 3.4), one radius per requested subspace.
SUBSPACE = ThreatModel(
    "subspace",
    "subspace_l2",
    subspace_radius,
    ("proj_l2_upper", "complement_l2_lower"),
    "radius_subspace",
    "subspace {subspace} ($\\ell_2$)",
    quantity="l2 radius inside the subspace",
    per_subspace=True,
)

#: Every threat model, in the order of ``certify``, of the result columns and of the figures.
THREAT_MODELS: tuple[ThreatModel, ...] = (L2, L1, LINF, SUBSPACE)


def threat_model(name: str) -> ThreatModel:
    """The registered threat model called ``name``."""
    for model in THREAT_MODELS:
        if model.name == name:
            return model
    raise KeyError(f"no threat model {name!r}; registered: {[m.name for m in THREAT_MODELS]}")


def _instances(subspace_names: Iterable[str]) -> list[tuple[ThreatModel, str | None]]:
    names = list(subspace_names)
    return [
        (model, sub) for model in THREAT_MODELS for sub in (names if model.per_subspace else [None])
    ]


def radius_columns(subspace_names: Sequence[str] = ()) -> list[str]:
    """The radius columns of a result file, :data:`COHEN_COLUMN` excluded: one per threat model,
    one per subspace for the per-subspace ones.

    Raises
    ------
    ValueError
        A subspace name that gives a column twice (e.g. a subspace called ``"l2"``).
    """
    columns = [model.column(sub) for model, sub in _instances(subspace_names)]
    taken = {COHEN_COLUMN}
    for column in columns:
        if column in taken:
            raise ValueError(f"two radii would share the result column {column!r}")
        taken.add(column)
    return columns


def certificate_radii(cert: Any) -> dict[str, float]:
    """``{column: radius}`` of a ``Certificate`` (input units), in the order of
    :func:`radius_columns` for its subspaces."""
    subspaces: Mapping[str, float] = cert.radius_subspace
    out = {}
    for model, sub in _instances(subspaces):
        value = getattr(cert, model.certificate_field)
        out[model.column(sub)] = float(value[sub] if model.per_subspace else value)
    return out
