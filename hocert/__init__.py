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

# The libraries' public API as each lists it (its __all__), then the application's own names.
import hocert_sampling as _sampling
import hocert_solver as _solver
from hocert_sampling import *  # noqa: F403
from hocert_solver import *  # noqa: F403

from ._errors import HocertError
from .runner import RunSummary, certify_dataset

__all__ = ["HocertError", "RunSummary", "certify_dataset"]
__all__ += _solver.__all__
__all__ += _sampling.__all__
