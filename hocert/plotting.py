"""Figures and tables for ``hocert plot``, ``hocert summary`` and ``hocert slice``.

Certified accuracy at radius ``r`` is the fraction of inputs that are classified correctly (an
abstention counts as wrong) with a certified radius of at least ``r``. Each threat model is
compared with the zeroth-order (Cohen et al.) radius, translated into that norm:

- l2: ``radius_l2`` against ``radius_cohen`` (both l2 radii);
- l1: ``radius_l1`` against ``radius_cohen``: the l1 ball of radius r lies inside the l2 ball of
  radius r, so Cohen's l2 radius certifies the same l1 radius;
- l_inf: ``radius_linf`` against ``radius_cohen / sqrt(d)``: the l_inf ball of radius
  ``r / sqrt(d)`` lies inside the l2 ball of radius r (``d`` = input dimension);
- subspace S: ``radius_<name>`` (l2 inside S) against ``radius_cohen``.

The threat models, their columns, titles and Cohen translations come from the registry
``hocert_sampling.threat_models.THREAT_MODELS``.

With several result files (e.g. different sigma) the upper envelope over the files is drawn as
well, as in Figure 2 of the paper: for every radius, the best certified accuracy of any file.
All radii are in input units (sigma included). Figures use Matplotlib's Agg backend (PNG, SVG
or PDF by the file's extension).

Files of other certification code (``hocert.foreign``: Cohen et al.'s ``certify.py``, the
first-order radii of Mohapatra et al.) are drawn beside hocert's: a file contributes the curves
of the columns it has, so a Cohen-format file (only ``radius_cohen``) adds one Cohen curve to
every panel, and the panels are those of the threat models of any file (l2 at least).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hocert_sampling.threat_models import COHEN_COLUMN, THREAT_MODELS
from hocert_sampling.threat_models import ThreatModel as RegisteredThreatModel
from hocert_solver import (
    CONVERGED,
    STATUS_NAMES,
    cohen_radius,
    directional_radius,
    max_gradient_norm,
)
from hocert_solver.directional import FEASIBILITY_SLACK

__all__ = [
    "DEFAULT_ANGLES",
    "FIGURE_FORMATS",
    "REQUIRED_COLUMNS",
    "Panel",
    "Run",
    "certified_accuracy",
    "default_radii",
    "panels",
    "plot_certified_accuracy",
    "plot_slice",
    "slice_region",
    "summary_tables",
    "threat_models",
]

#: File extensions ``plot`` and ``slice`` can write (Matplotlib picks the format from it).
FIGURE_FORMATS = (".png", ".svg", ".pdf")

#: Directions of a slice of the certified region (:func:`slice_region`).
DEFAULT_ANGLES = 360

#: The columns of a result file that the figures and tables read (radii aside).
REQUIRED_COLUMNS = ("idx", "predict", "correct", "time", COHEN_COLUMN)


@dataclass
class Run:
    """One result file, ready for plotting.

    Attributes
    ----------
    label : str
        Legend label (e.g. the file name, or ``sigma=0.25``).
    frame : pandas.DataFrame
        Its rows (see :func:`hocert.results.read_results`).
    sigma : float or None
        Noise level, from the sidecar.
    d : int or None
        Input dimension, from the sidecar (needed for the l_inf comparison).
    source : str
        The format of the file (a key of ``hocert.foreign.FORMATS``: ``"hocert"``,
        ``"cohen"``, ``"first-order"``).
    """

    label: str
    frame: Any
    sigma: float | None = None
    d: int | None = None
    source: str = "hocert"


@dataclass(frozen=True)
class Panel:
    """One panel of the figure and one summary table: a threat model of the registry
    (``hocert_sampling.threat_models``) and, for the subspace radius, one subspace.

    Attributes
    ----------
    name : str
        ``"l2"``, ``"l1"``, ``"linf"`` or a subspace name.
    column : str
        The first-order radius column.
    model : hocert_sampling.threat_models.ThreatModel
        The threat model: its title, and how Cohen's radius translates into its norm.
    """

    name: str
    column: str
    model: RegisteredThreatModel

    @property
    def cohen_scale(self) -> str:
        """``"l2"`` (baseline = ``radius_cohen``) or ``"linf"`` (``radius_cohen / sqrt(d)``)."""
        return self.model.cohen_scale

    def title(self) -> str:
        """Panel title."""
        return self.model.plot_title(self.name if self.model.per_subspace else None)

    def radii(self, run: Run) -> tuple[np.ndarray | None, np.ndarray | None]:
        """First-order and Cohen radii of ``run`` in this norm (first-order None when the file
        has no such column, Cohen None without ``d`` for l_inf)."""
        first = None
        if self.column in run.frame.columns:
            first = run.frame[self.column].to_numpy(dtype=np.float64)
        cohen = run.frame[COHEN_COLUMN].to_numpy(dtype=np.float64)
        if self.cohen_scale == "linf":
            return first, None if run.d is None else cohen / np.sqrt(run.d)
        return first, cohen


def threat_models(columns: Sequence[str]) -> list[Panel]:
    """The panels of a result file's columns: the registered threat models in registry order
    (l2, l1, linf), then one per subspace column (every other ``radius_*`` column)."""
    full = [m for m in THREAT_MODELS if not m.per_subspace]
    (per_subspace,) = [m for m in THREAT_MODELS if m.per_subspace]
    panels = [Panel(m.name, m.column(), m) for m in full if m.column() in columns]
    known = {COHEN_COLUMN, *(m.column() for m in full)}
    for col in columns:
        if col.startswith("radius_") and col not in known:
            panels.append(Panel(col.removeprefix("radius_"), col, per_subspace))
    return panels


def panels(runs: Sequence[Run]) -> list[Panel]:
    """The panels of several files: :func:`threat_models` of all their columns together, or
    the l2 panel alone when no file has a first-order radius (Cohen-format files only)."""
    columns = list(dict.fromkeys(c for run in runs for c in run.frame.columns))
    found = threat_models(columns)
    if found:
        return found
    l2 = next(m for m in THREAT_MODELS if not m.per_subspace and m.cohen_scale == "l2")
    return [Panel(l2.name, l2.column(), l2)]


def __getattr__(name: str) -> Any:
    if name == "ThreatModel":  # the panel class's old name, kept for one release
        import warnings

        warnings.warn(
            "hocert.plotting.ThreatModel is now hocert.plotting.Panel; the old name will be "
            "removed in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return Panel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def certified_accuracy(
    radii: npt.ArrayLike, correct: npt.ArrayLike, at: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Fraction of inputs that are correct with a certified radius ``>= r``, for each r in at.

    Parameters
    ----------
    radii : array_like
        Certified radius per input (0 when abstaining, ``inf`` allowed).
    correct : array_like of bool or 0/1
        Whether each prediction equals the label.
    at : array_like
        Radii at which to evaluate.

    Returns
    -------
    ndarray of float64, the shape of ``at``
    """
    r = np.asarray(radii, dtype=np.float64)
    ok = np.asarray(correct).astype(bool)
    points = np.asarray(at, dtype=np.float64)
    if r.size == 0:
        return np.zeros(points.shape)
    good = np.sort(np.where(ok, r, -np.inf))
    # count of good radii >= t, i.e. r.size minus the number strictly below t
    below = np.searchsorted(good, points, side="left")
    return (r.size - below) / r.size


def _finite_max(arrays: Sequence[np.ndarray]) -> float:
    values = [a[np.isfinite(a)] for a in arrays]
    top = max((float(v.max()) for v in values if v.size), default=0.0)
    return top if top > 0 else 1.0


def _use_agg() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def check_figure_path(path: str | os.PathLike[str]) -> None:
    """Raise ValueError unless ``path`` ends in one of :data:`FIGURE_FORMATS`."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in FIGURE_FORMATS:
        names = ", ".join(FIGURE_FORMATS[:-1]) + f" or {FIGURE_FORMATS[-1]}"
        raise ValueError(f"figure file must end in {names}, got {os.fspath(path)!r}")


def plot_certified_accuracy(
    runs: Sequence[Run], out: str | os.PathLike[str], *, points: int = 1000
) -> list[str]:
    """Certified accuracy against radius, one panel per threat model, first-order and Cohen.

    Parameters
    ----------
    runs : sequence of Run
        One or more result files (of any format, see :func:`panels`).
    out : path-like
        Figure file, ``.png``, ``.svg`` or ``.pdf``.
    points : int
        Radii at which each curve is evaluated.

    Returns
    -------
    list of str
        Notes about what could not be drawn (e.g. l_inf Cohen curves without ``d``).
    """
    check_figure_path(out)
    plt = _use_agg()
    models = panels(runs)
    notes = [
        f"{run.label}: input dimension d unknown (no sidecar records it), so its l_inf Cohen "
        "curve is omitted"
        for run in runs
        if run.d is None and any(m.cohen_scale == "linf" for m in models)
    ]
    ncols = min(len(models), 2)
    nrows = -(-len(models) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.8 * nrows), squeeze=False)
    for ax, model in zip(axes.flat, models):
        _accuracy_panel(ax, model, runs, points)
    for ax in list(axes.flat)[len(models) :]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return notes


def _accuracy_panel(ax: Any, model: Panel, runs: Sequence[Run], points: int) -> None:
    curves = [model.radii(run) for run in runs]
    grid = np.linspace(
        0.0, 1.05 * _finite_max([c for pair in curves for c in pair if c is not None]), points
    )
    envelope = {"first-order": np.zeros(points), "Cohen": np.zeros(points)}
    drawn = {"first-order": 0, "Cohen": 0}
    several = len(runs) > 1
    for i, (run, (first, cohen)) in enumerate(zip(runs, curves)):
        correct = run.frame["correct"].to_numpy()
        color = f"C{i % 10}"
        for method, radii, style in (("first-order", first, "-"), ("Cohen", cohen, "--")):
            if radii is None:
                continue
            acc = certified_accuracy(radii, correct, grid)
            envelope[method] = np.maximum(envelope[method], acc)
            drawn[method] += 1
            ax.step(
                grid,
                acc,
                style,
                where="post",
                color=color,
                lw=1.0 if several else 1.6,
                alpha=0.6 if several else 1.0,
                label=f"{method}, {run.label}",
            )
    for method, style in (("first-order", "-"), ("Cohen", "--")):
        if drawn[method] > 1:
            ax.step(
                grid,
                envelope[method],
                style,
                where="post",
                color="k",
                lw=2.0,
                label=f"{method}, envelope",
            )
    ax.set_title(model.title())
    ax.set_xlabel("radius (input units)")
    ax.set_ylabel("certified accuracy")
    ax.set_ylim(0.0, 1.02)
    ax.set_xlim(grid[0], grid[-1])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def default_radii(runs: Sequence[Run]) -> list[float]:
    """Radii (input units) for :func:`summary_tables`: 0 to 3 sigma, sigma = the largest one."""
    sigmas = [run.sigma for run in runs if run.sigma is not None]
    sigma = max(sigmas) if sigmas else 0.25
    return [k * sigma for k in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)]


def summary_tables(runs: Sequence[Run], radii: Sequence[float]) -> tuple[Any, dict[str, Any]]:
    """The numbers behind the plot as tables.

    Parameters
    ----------
    runs : sequence of Run
        Result files.
    radii : sequence of float
        l2 radii (input units) at which to report certified accuracy. The l_inf table uses
        ``r / sqrt(d)`` instead (the l_inf ball inscribed in the l2 ball of radius r) when all
        runs have the same known ``d``, else ``r`` itself (``table.attrs["radii"]`` says which).

    Returns
    -------
    overview : pandas.DataFrame
        Per file: its format, inputs, sigma, d, clean accuracy, abstain rate (%), mean time
        (s).
    per_model : dict of str to pandas.DataFrame
        Per threat model (:func:`panels`): certified accuracy (%) for each (file, method) at
        each radius, for the files that have that radius (every file has Cohen's), plus an
        ``envelope`` row per method drawn from several files. ``attrs["radii"]`` says
        how the columns relate to ``radii`` (``"r"`` or ``"r / sqrt(d)"``), ``attrs["quantity"]``
        what the radii are (the threat model's ``quantity``), ``attrs["title"]`` the panel's
        title (Matplotlib TeX).
    """
    import pandas as pd

    overview = pd.DataFrame(
        [
            {
                "file": run.label,
                "format": run.source,
                "inputs": len(run.frame),
                "sigma": run.sigma,
                "d": run.d,
                "clean accuracy %": 100.0 * float(run.frame["correct"].mean()),
                "abstain %": 100.0 * float((run.frame["predict"] < 0).mean()),
                "mean time s": float(run.frame["time"].mean()),
            }
            for run in runs
        ]
    ).set_index("file")
    per_model = {}
    for model in panels(runs):
        per_model[model.name] = _model_table(model, runs, radii, pd)
    return overview, per_model


def _model_table(model: Panel, runs: Sequence[Run], radii: Sequence[float], pd: Any) -> Any:
    at = np.asarray(radii, dtype=np.float64)
    scale = "r"
    dims = {run.d for run in runs if run.d is not None}
    if model.cohen_scale == "linf" and len(dims) == 1:
        (d,) = dims
        at, scale = at / np.sqrt(d), "r / sqrt(d)"
    rows: dict[tuple[str, str], np.ndarray] = {}
    for method in ("first-order", "Cohen"):
        curves = []
        for run in runs:
            radius = model.radii(run)[0 if method == "first-order" else 1]
            if radius is not None:
                curves.append(certified_accuracy(radius, run.frame["correct"].to_numpy(), at))
                rows[(method, run.label)] = 100.0 * curves[-1]
        if len(curves) > 1:
            rows[(method, "envelope")] = 100.0 * np.max(curves, axis=0)
    table = pd.DataFrame(list(rows.values()), columns=[f"{r:.4g}" for r in at])
    table.index = pd.MultiIndex.from_tuples(list(rows), names=["method", "file"])
    table.attrs["radii"] = scale
    table.attrs["quantity"] = model.model.quantity
    table.attrs["title"] = model.title()
    return table


# ---------------------------------------------------------------------------------------------
# 2-D slice of the certified region (Figure 1 of the paper)
# ---------------------------------------------------------------------------------------------


def slice_region(q: float, beta_norm: float, angles: int = DEFAULT_ANGLES) -> dict[str, np.ndarray]:
    """Directional radii in the plane spanned by beta and a direction e orthogonal to it.

    The region is symmetric about the beta axis. For ``v = cos(t) e_beta + sin(t) e`` the
    exact statistics are ``<beta, v> = ||beta|| cos t`` and the orthogonal part
    ``||beta|| |sin t|``, so ``R(t) = directional_radius(q, ||beta|| cos t, ||beta|| |sin t|)``
    (Theorem 3; docs/math.md section 3).

    Parameters
    ----------
    q : float
        p_A (or a lower bound on it), in (1/2, 1).
    beta_norm : float
        ``||beta||_2 = sigma ||grad g_A(x)||_2`` (dimensionless), in ``[0, M(q)]`` (up to the
        relative rounding slack ``FEASIBILITY_SLACK``).
    angles : int
        Number of angles t in [0, 2 pi).

    Returns
    -------
    dict
        ``t``, ``m1``, ``m2``, ``radius`` (units of sigma, may be ``inf``) and ``status``.

    Raises
    ------
    ValueError
        ``q`` outside (1/2, 1) (no region to draw: abstention, or no gradient at all), or
        ``beta_norm > M(q)``: no classifier with ``p_A = q`` has such a gradient.
    """
    if not 0.5 < q < 1.0:
        raise ValueError(f"q must lie in (1/2, 1), got {q!r}")
    big_m = float(max_gradient_norm(q))
    if beta_norm > big_m * (1.0 + FEASIBILITY_SLACK):
        raise ValueError(
            f"beta_norm = {beta_norm!r} exceeds M(q) = {big_m!r}, the largest gradient norm "
            f"possible at q = {q!r}"
        )
    t = np.linspace(0.0, 2.0 * np.pi, angles, endpoint=False)
    m1 = beta_norm * np.cos(t)
    m2 = beta_norm * np.abs(np.sin(t))
    res = directional_radius(q, m1, m2)
    radius, status = np.array(res.radius), np.array(res.status)
    if beta_norm >= big_m * (1.0 - FEASIBILITY_SLACK):
        # ||beta|| = M(q): every direction with m1 > 0 lies on the boundary of the feasible
        # disk, where the worst case is a half-space and R = +inf (docs/math.md section 3).
        # Rounding would put some of them just inside, where the solver cannot converge.
        on_boundary = m1 > 0.0
        radius[on_boundary] = np.inf
        status[on_boundary] = CONVERGED
    return {"t": t, "m1": m1, "m2": m2, "radius": radius, "status": status}


def plot_slice(
    q: float,
    beta_norm: float,
    sigma: float | None,
    out: str | os.PathLike[str],
    *,
    angles: int = DEFAULT_ANGLES,
    limit: float | None = None,
) -> dict[str, np.ndarray]:
    """Draw the slice of the first-order certified region against Cohen's disk (paper, Fig. 1).

    Parameters
    ----------
    q : float
        p_A, in (1/2, 1).
    beta_norm : float
        ``||beta||_2`` (dimensionless, ``<= M(q)``).
    sigma : float or None
        Noise level; the figure is in input units (radii times sigma). None: in units of
        sigma (the solver's radii, as with sigma = 1 but labelled so).
    out : path-like
        ``.png``, ``.svg`` or ``.pdf`` file.
    angles : int
        Directions drawn.
    limit : float, optional
        Half-width of the axes in the figure's units; default: a little beyond the region, at most
        three times Cohen's radius. Parts of the region beyond it (it can be unbounded) are
        clipped.

    Returns
    -------
    dict
        The data of :func:`slice_region`.
    """
    check_figure_path(out)
    plt = _use_agg()
    from matplotlib.patches import Circle, Polygon

    data = slice_region(q, beta_norm, angles)
    scale, units = (1.0, "units of $\\sigma$") if sigma is None else (sigma, "input units")
    r0 = scale * float(cohen_radius(q))
    radius = scale * data["radius"]
    finite = radius[np.isfinite(radius)]
    if limit is None:
        reach = float(finite.max()) if finite.size else 3.0 * r0
        limit = 1.15 * max(r0, min(reach, 3.0 * r0))
    shown = np.minimum(radius, 20.0 * limit)  # unbounded directions run off the axes
    xy = np.column_stack([shown * np.cos(data["t"]), shown * np.sin(data["t"])])

    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.add_patch(
        Polygon(
            xy,
            closed=True,
            facecolor="C0",
            alpha=0.3,
            edgecolor="C0",
            lw=1.5,
            label="first-order region",
        )
    )
    ax.add_patch(
        Circle(
            (0.0, 0.0),
            r0,
            fill=False,
            edgecolor="C3",
            lw=1.5,
            ls="--",
            label=f"Cohen disk, radius {r0:.3g}",
        )
    )
    if beta_norm > 0:
        ax.annotate(
            "",
            xy=(0.35 * limit, 0.0),
            xytext=(0.0, 0.0),
            arrowprops={"arrowstyle": "->", "color": "k"},
        )
        ax.text(0.36 * limit, 0.02 * limit, "$\\beta$")
    ax.plot([0.0], [0.0], "k.", ms=4)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_xlabel(f"along $\\beta$ ({units})")
    ax.set_ylabel(f"orthogonal to $\\beta$ ({units})")
    frac = beta_norm / float(max_gradient_norm(q))
    noise = "" if sigma is None else f", $\\sigma$ = {sigma:g}"
    ax.set_title(
        f"q = {q:g}, $\\|\\beta\\|_2$ = {beta_norm:.4g} ({frac:.3g} M(q)){noise}",
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return data


def status_names(status: np.ndarray) -> list[str]:
    """Solver status names for an array of status codes."""
    return [STATUS_NAMES[int(s)] for s in np.ravel(status)]
