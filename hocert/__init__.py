"""hocert: certified robustness of randomized smoothing with first-order information.

The application (the ``hocert`` command, data-set runs, result files, figures) above two
libraries, whose public API it re-exports here; docs/architecture.md draws the layout.

Solver (``hocert_solver``: bounds ``(q, m1, m2)`` to radii in units of sigma)
    ``directional_radius`` (Theorem 3), ``l2_radius``, ``l1_radius``, ``linf_radius``,
    ``subspace_radius`` (Corollaries 3.1-3.4), ``cohen_radius`` (zeroth order),
    ``max_gradient_norm`` (``M(q)``); ``RadiusResult`` and its status codes ``CONVERGED``,
    ``ABSTAIN``, ``FALLBACK``, ``INCONSISTENT``, ``LOWERED``, ``INVALID``, ``PROJECTED``
    (``STATUS_NAMES`` names them).
Proofs (``hocert_solver``)
    ``verify_radius``, ``prove_radius``, ``ProvedRadius``: radii proved in ball arithmetic.
Tables (``hocert_solver``)
    ``RadiusTable`` (lookup statuses ``OUTSIDE``, ``SKIPPED``), ``TightnessReport``,
    ``TableBuildError``, ``TableVerificationError``.
Sampling (``hocert_sampling``: a model and an input to certified radii in input units)
    ``SmoothedClassifier`` (``predict``, ``certify``), ``Certificate``, ``get_backend``,
    ``Backend``, ``ModelError``, ``ModelOutputError``.
Errors
    One base class per package: ``HocertSolverError``, ``HocertSamplingError`` and, for the
    application's own (``hocert.cli``'s ``CliError``, the result files'), ``HocertError``.
Application (this package)
    ``certify_dataset`` (what ``hocert certify`` runs: a data set into a resumable result file,
    returning a ``RunSummary``), ``hocert.cli`` (the ``hocert`` command), ``hocert.runner``
    (certify a data set, locally or on Dask; ``hocert.model_factory``: ``module:factory``
    models), ``hocert.results`` (resumable result files), ``hocert.plotting`` (figures and
    tables), ``hocert.examples`` (the bundled digits model), ``hocert.cluster`` (Dask clusters
    as Executors for ``RadiusTable.build``).

``__version__`` is the installed version (``version`` in pyproject.toml).
"""

from hocert_sampling import (
    Backend,
    Certificate,
    HocertSamplingError,
    ModelError,
    ModelOutputError,
    SmoothedClassifier,
    get_backend,
)
from hocert_solver import (
    ABSTAIN,
    CONVERGED,
    FALLBACK,
    INCONSISTENT,
    INVALID,
    LOWERED,
    OUTSIDE,
    PROJECTED,
    SKIPPED,
    STATUS_NAMES,
    HocertSolverError,
    ProvedRadius,
    RadiusResult,
    RadiusTable,
    TableBuildError,
    TableVerificationError,
    TightnessReport,
    __version__,
    cohen_radius,
    directional_radius,
    l1_radius,
    l2_radius,
    linf_radius,
    max_gradient_norm,
    prove_radius,
    subspace_radius,
    verify_radius,
)

from ._errors import HocertError
from .runner import RunSummary, certify_dataset

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
    "Backend",
    "Certificate",
    "HocertError",
    "HocertSamplingError",
    "HocertSolverError",
    "ModelError",
    "ModelOutputError",
    "ProvedRadius",
    "RadiusResult",
    "RadiusTable",
    "RunSummary",
    "SmoothedClassifier",
    "TableBuildError",
    "TableVerificationError",
    "TightnessReport",
    "__version__",
    "certify_dataset",
    "cohen_radius",
    "directional_radius",
    "get_backend",
    "l1_radius",
    "l2_radius",
    "linf_radius",
    "max_gradient_norm",
    "prove_radius",
    "subspace_radius",
    "verify_radius",
]
