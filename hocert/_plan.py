"""Choosing ``n``: pilots on a few inputs predict the radii of a run at several ``n``
(``hocert certify --plan``; importable from :mod:`hocert.runner`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hocert_sampling.smoothing import SmoothedClassifier

from ._inputs import (
    RunInputError,
    _check_run_values,
    _estimator,
    _label_model,
    _local_execution,
    _probe,
    check_data,
    resolve_model,
    resolve_num_classes,
    targets,
)
from ._row import input_seed
from .model_factory import ModelFactory

__all__ = ["DatasetPlan", "plan_dataset"]


@dataclass(frozen=True)
class DatasetPlan:
    """What pilots on a few inputs predict about a run at several ``n``
    (``SmoothedClassifier.plan`` per input; a guide, not a certificate).

    Attributes
    ----------
    indices : tuple of int
        The pilot inputs.
    plans : tuple of hocert_sampling.smoothing.Plan
        One per pilot input.
    candidates : tuple of int
        The candidate sample counts.
    """

    indices: tuple[int, ...]
    plans: tuple[Any, ...]
    candidates: tuple[int, ...]

    def median(self, n: int, field_name: str) -> float:
        """The median predicted ``field_name`` radius over the pilot inputs at candidate ``n``."""
        i = self.candidates.index(n)
        return float(np.median([getattr(p.rows[i], field_name) for p in self.plans]))

    def table(self) -> str:
        """Median predicted radii (input units) per candidate ``n``, and l1 over Cohen."""
        fields = ("radius_cohen", "radius_l2", "radius_l1", "radius_linf")
        lines = [f"{'n':>10} {'cohen':>10} {'l2':>10} {'l1':>10} {'linf':>10} {'l1/cohen':>9}"]
        for n in self.candidates:
            med = [self.median(n, f) for f in fields]
            ratio = f"{med[2] / med[0]:9.3f}" if med[0] > 0 else f"{'-':>9}"
            lines.append(f"{n:>10d} " + " ".join(f"{v:>10.4g}" for v in med) + f" {ratio}")
        return "\n".join(lines)


def plan_dataset(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    *,
    sigma: float,
    n0: int = 10_000,
    candidates: Sequence[int] = (10_000, 100_000, 1_000_000),
    alpha: float = 0.001,
    batch: int = 1000,
    seed: int = 0,
    num_classes: int | None = None,
    backend: str | None = None,
    estimator: str | None = None,
    skip: int = 1,
    max_inputs: int = 5,
    model_args: Mapping[str, str] | None = None,
    data_name: str | None = None,
) -> DatasetPlan:
    """Pilot runs on the first ``max_inputs`` inputs (every ``skip``-th), in this process:
    ``SmoothedClassifier.plan`` predicts, for each candidate ``n``, the Cohen and first-order
    radii ``certify`` would give (:class:`DatasetPlan`; nothing is written).

    The arguments are those of :func:`hocert.runner.certify_dataset`; ``n0`` is the pilot's
    sample count per input. Input ``idx`` draws its noise from :func:`input_seed` ``(seed, idx)``.
    """
    where = data_name or "the data"
    x, y = np.asarray(x), np.asarray(y)
    check_data(x, y, where)
    _check_run_values(
        sigma=sigma, n0=n0, alpha=alpha, batch=batch, skip=skip, max_inputs=max_inputs, seed=seed
    )
    if n0 < 2 or not candidates or min(candidates) < 2:
        raise RunInputError("the pilot needs n0 >= 2 and candidate n >= 2")
    est = _estimator(estimator)
    source = resolve_model(model, model_args)
    backend_name = str(_local_execution(backend, None, onnx=isinstance(source, Path))["backend"])
    if isinstance(source, ModelFactory):
        source = source.load(backend_name)
    k = resolve_num_classes(num_classes, _probe(source, x, backend_name, None), y, where)
    label_model = _label_model(source, k, backend_name)
    indices = tuple(targets(x.shape[0], skip, max_inputs))
    plans = []
    for idx in indices:
        smoothed = SmoothedClassifier(
            label_model, k, float(sigma), backend=backend_name, seed=input_seed(seed, idx)
        )
        plans.append(smoothed.plan(x[idx], n0, tuple(candidates), alpha, batch, estimator=est))
    return DatasetPlan(indices, tuple(plans), tuple(int(c) for c in candidates))
