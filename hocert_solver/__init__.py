"""hocert_solver: fast, sound first-order certified radii for randomized smoothing.

Implements Theorem 3 and Corollaries 3.1-3.4 of Mohapatra et al., "Higher-Order Certification
for Randomized Smoothing" (NeurIPS 2020); the mathematics in our conventions is in docs/math.md.
All inputs are sigma-normalised (``beta = sigma * grad g_A(x)``) lower/upper bounds and all radii
are in units of sigma.

Public API
----------
directional_radius
    First-order radius along one direction from ``(q, m1, m2)``.
cohen_radius
    Zeroth-order baseline ``Phi^{-1}(q)``.
l2_radius, l1_radius, linf_radius, subspace_radius
    Threat-model radii from gradient-norm bounds.
max_gradient_norm
    ``M(q) = phi(Phi^{-1}(q))``, the largest possible ``||beta||_2`` at ``p_A = q``.
RadiusResult
    Result object (``radius``, ``status``, ``success``, ``nit``) and the status codes
    ``CONVERGED``, ``ABSTAIN``, ``PROJECTED``, ``FALLBACK``, ``INVALID``.
RadiusTable
    Precomputed radius tables (built on Dask) with conservative, vectorised lookups.
"""

from importlib.metadata import PackageNotFoundError, version

from .directional import (
    ABSTAIN,
    CONVERGED,
    FALLBACK,
    INVALID,
    PROJECTED,
    STATUS_NAMES,
    RadiusResult,
    cohen_radius,
    directional_radius,
    max_gradient_norm,
)
from .table import OUTSIDE, SKIPPED, RadiusTable, TableBuildError, TightnessReport
from .threat_models import l1_radius, l2_radius, linf_radius, subspace_radius

try:
    __version__ = version("hocert")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "ABSTAIN",
    "CONVERGED",
    "FALLBACK",
    "INVALID",
    "OUTSIDE",
    "PROJECTED",
    "SKIPPED",
    "STATUS_NAMES",
    "RadiusResult",
    "RadiusTable",
    "TableBuildError",
    "TightnessReport",
    "__version__",
    "cohen_radius",
    "directional_radius",
    "l1_radius",
    "l2_radius",
    "linf_radius",
    "max_gradient_norm",
    "subspace_radius",
]
