"""One input of a certify run: the run's parameters, the input's noise seed, its TSV row.

:func:`certify_row` certifies input ``idx`` with noise seeded by :func:`input_seed` ``(seed,
idx)`` alone, so that a row is the same whichever process computes it and in whichever order
(``hocert.runner``, module docstring). Importable from :mod:`hocert.runner`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hocert_sampling.bounds import DEFAULT_ESTIMATOR
from hocert_sampling.models import LabelModel
from hocert_sampling.smoothing import Certificate, SmoothedClassifier
from hocert_sampling.threat_models import COHEN_COLUMN, certificate_radii, radius_columns

__all__ = [
    "BASE_COLUMNS",
    "CertifyParams",
    "certify_row",
    "input_seed",
    "result_columns",
    "solver_status_field",
]


_HEAD_COLUMNS = ("idx", "label", "predict", "p_a_lower", COHEN_COLUMN)


#: The columns of every result file before the per-subspace radii; the full-space radii are those
#: of the threat-model registry (``hocert_sampling.threat_models``).
BASE_COLUMNS = (*_HEAD_COLUMNS, *radius_columns())


@dataclass(frozen=True)
class CertifyParams:
    """The parameters that determine the rows of a certify run (see ``hocert certify --help``).

    Attributes
    ----------
    sigma : float
        Noise level, in input units.
    n0, n : int
        Selection and estimation samples per input.
    alpha : float
        Failure probability of each radius.
    batch : int
        Noise samples per model call.
    subspaces : str or None
        ``"channels"`` or None (see :func:`hocert_sampling.subspace.resolve_subspaces`).
    seed : int
        Run seed; input ``idx`` uses :func:`input_seed` ``(seed, idx)``.
    num_classes : int
        Number of classes of the model.
    backend : str
        Resolved array backend name (``"numpy"`` or ``"cupy"``).
    verify : bool
        Prove every first-order radius in ball arithmetic, lowering those that cannot be
        proved (``SmoothedClassifier.certify(verify=True)``; solver status ``lowered``).
    estimator : str
        Estimator of the gradient bounds (``hocert_sampling.bounds.ESTIMATORS``): ``"mgf"``
        (the default) or ``"paper"`` (Table 1 of the paper). Recorded in the sidecar, so a
        resumed run cannot mix estimators.
    """

    sigma: float
    n0: int
    n: int
    alpha: float
    batch: int
    subspaces: str | None
    seed: int
    num_classes: int
    backend: str
    verify: bool = False
    estimator: str = DEFAULT_ESTIMATOR

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-serialisable dict."""
        return asdict(self)


def result_columns(subspace_names: Sequence[str]) -> list[str]:
    """TSV columns: idx, label, predict, p_a_lower, radius_cohen, one radius per threat model
    (one per subspace for the subspace radius), solver_status, correct, time, params_hash
    (``hocert.results.PARAMS_HASH_COLUMN``: filled in by ``ResultsFile.write_row``, it ties
    each row to the run's parameters)."""
    from .results import PARAMS_HASH_COLUMN

    radii = radius_columns(subspace_names)
    return [*_HEAD_COLUMNS, *radii, "solver_status", "correct", "time", PARAMS_HASH_COLUMN]


def solver_status_field(solver_status: Mapping[str, str]) -> str:
    """The ``solver_status`` field of a row, from :attr:`Certificate.solver_status`.

    ``converged`` when every first-order radius converged, ``abstain`` when none was computed
    (the classifier abstained), else the radii that did not converge as ``key=status`` joined
    by commas, e.g. ``l1=fallback`` or ``l1=inconsistent,linf=inconsistent`` (``inconsistent``:
    the gradient bounds contradicted ``p_a_lower``, a confidence bound failed, and the radius
    is Cohen's).
    """
    if not solver_status:
        return "abstain"
    other = [f"{key}={name}" for key, name in solver_status.items() if name != "converged"]
    return ",".join(other) if other else "converged"


def input_seed(seed: int, idx: int) -> int:
    """The noise seed of input ``idx`` in a run with seed ``seed`` (independent streams)."""
    state = np.random.SeedSequence([int(seed), int(idx)]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 32 | int(state[1])


def certify_row(
    model: LabelModel, params: CertifyParams, idx: int, x: np.ndarray, label: int
) -> dict[str, Any]:
    """Certify one input and return its TSV row as a dict (radii in input units).

    Parameters
    ----------
    model : LabelModel
        The base classifier on the backend of ``params``.
    params : CertifyParams
        Run parameters.
    idx : int
        Index of the input in the data set (seeds its noise).
    x : ndarray
        The input, without a batch axis.
    label : int
        Its true label.

    Returns
    -------
    dict
        Keys :func:`result_columns`; ``predict`` is -1 when abstaining, ``solver_status`` is
        :func:`solver_status_field`, ``correct`` is 1 when the prediction equals the label,
        ``time`` is the wall-clock seconds spent.
    """
    start = time.perf_counter()
    smoothed = SmoothedClassifier(
        model,
        params.num_classes,
        params.sigma,
        backend=params.backend,
        seed=input_seed(params.seed, idx),
        estimator=params.estimator,
    )
    cert = smoothed.certify(
        x,
        params.n0,
        params.n,
        params.alpha,
        params.batch,
        params.subspaces,
        verify=params.verify,
    )
    return _row(idx, label, cert, time.perf_counter() - start)


def _row(idx: int, label: int, cert: Certificate, seconds: float) -> dict[str, Any]:
    row: dict[str, Any] = {
        "idx": int(idx),
        "label": int(label),
        "predict": int(cert.prediction),
        "p_a_lower": float(cert.p_a_lower),
        COHEN_COLUMN: float(cert.radius_cohen),
        **certificate_radii(cert),
    }
    row["solver_status"] = solver_status_field(cert.solver_status)
    row["correct"] = int(cert.prediction == label)
    row["time"] = round(seconds, 4)
    return row
