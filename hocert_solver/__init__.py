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
    ``CONVERGED``, ``ABSTAIN``, ``FALLBACK``, ``INCONSISTENT`` (bounds that contradict ``q``:
    Cohen's radius, ``success`` False), ``LOWERED`` (``verify=True`` lowered the radius until
    it was proved), ``INVALID``; ``PROJECTED`` is no longer produced.
verify_radius, prove_radius, ProvedRadius
    Independent proofs of radii in ball arithmetic (python-flint's Arb): True only where it is
    proved that the true radius is at least the given one (docs/math.md §10).
RadiusTable
    Precomputed radius tables (built here or on any ``concurrent.futures.Executor``) with
    conservative, vectorised lookups.
TableVerificationError
    Raised by ``RadiusTable.load`` for a table whose radii its own witnesses do not prove
    (altered or damaged; ``RadiusTable.verify`` gives the report).
HocertSolverError
    Base class of this library's exceptions (``TableBuildError``, ``TableVerificationError``).
"""

from importlib.metadata import PackageNotFoundError, version

# First: importing _numba_cache points Numba's cache at a per-user directory, away from the
# package folder, before any kernel module is imported; restore() below gives the setting back.
# (_warm_start_build, after it in this line, holds the build-only kernels: nothing else here
# imports it.)
from . import _numba_cache, _warm_start_build
from ._errors import HocertSolverError
from ._status import (
    ABSTAIN,
    CONVERGED,
    FALLBACK,
    INCONSISTENT,
    INVALID,
    LOWERED,
    PROJECTED,
    STATUS_NAMES,
)
from .directional import RadiusResult, cohen_radius, directional_radius, max_gradient_norm
from .table import (
    OUTSIDE,
    SKIPPED,
    RadiusTable,
    TableBuildError,
    TableVerificationError,
    TightnessReport,
)
from .threat_models import l1_radius, l2_radius, linf_radius, subspace_radius
from .verification import ProvedRadius, prove_radius, verify_radius

_numba_cache.restore()

try:
    __version__ = version("hocert")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "ABSTAIN",
    "CONVERGED",
    "FALLBACK",
    "INCONSISTENT",
    "INVALID",
    "LOWERED",
    "OUTSIDE",
    "PROJECTED",
    "SKIPPED",
    "STATUS_NAMES",
    "HocertSolverError",
    "ProvedRadius",
    "RadiusResult",
    "RadiusTable",
    "TableBuildError",
    "TableVerificationError",
    "TightnessReport",
    "__version__",
    "cohen_radius",
    "directional_radius",
    "l1_radius",
    "l2_radius",
    "linf_radius",
    "max_gradient_norm",
    "prove_radius",
    "subspace_radius",
    "verify_radius",
]
