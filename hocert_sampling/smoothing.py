"""The smoothed classifier: prediction and first-order certificates (docs/math.md).

``g(x) = argmax_k P[f(x + sigma eps) = k]``, ``eps ~ N(0, I)``, for a base classifier ``f``
given as an ONNX model or a Python callable (:mod:`hocert_sampling.models`).

- :meth:`SmoothedClassifier.predict` is PREDICT of Cohen et al. (2019): a two-sided binomial
  test of the two largest vote counts; it abstains unless the top class wins at level alpha.
- :meth:`SmoothedClassifier.certify` chooses the class A on ``n0`` selection samples, then
  draws ``n`` fresh estimation samples for the count of A and the split-half sums of
  ``z = eps (1{f(x + sigma eps) = A} - 1/2)`` (paper Section 4). For each threat model of the
  registry :data:`hocert_sampling.threat_models.THREAT_MODELS` it computes the confidence
  bounds that radius needs (:mod:`hocert_sampling.bounds`), with alpha split over them by a
  union bound (:mod:`hocert_sampling.alpha_budget`; each radius holds with probability
  ``>= 1 - alpha`` on its own), and ``hocert_solver`` turns the bounds into radii
  (Corollaries 3.1-3.4 of the paper).

Arguments are checked once, here (``TypeError`` for a wrong type, ``ValueError`` for a bad
value; :mod:`hocert_sampling._validation`): ``x`` must be a numeric, non-empty array, finite in
float32. The per-input quantities (the half means, ``X.Y``, the subspace checks and
projections) are computed once per call and handed down.

Units: the solver works with sigma-normalised statistics (``beta = sigma * grad g_A(x)``) and
returns radii in units of sigma; every radius in a :class:`Certificate` is multiplied by sigma,
i.e. in input units, measured in the norm of its threat model.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import binomtest

from hocert_solver import STATUS_NAMES, RadiusResult, cohen_radius, max_gradient_norm

from ._validation import check_count, check_flag, check_input, check_positive, check_probability
from .alpha_budget import RADIUS_EVENTS, Evidence, GradientBounds, _equal_split, spend
from .backend import Backend
from .bounds import HalfMeans, _clopper_pearson, check_estimator
from .models import as_label_model
from .sampler import NoiseStatistics, _sample_checked, auto_batch_size
from .subspace import resolve_subspaces
from .threat_models import THREAT_MODELS

__all__ = ["Certificate", "Plan", "PlanRow", "SmoothedClassifier", "resolve_subspaces"]


@dataclass(frozen=True)
class Certificate:
    """What :meth:`SmoothedClassifier.certify` proves about one input.

    All radii are in input units (sigma included) and hold with probability at least
    ``1 - alpha`` each (not jointly). A radius ``r`` means: ``g(x + delta) = prediction`` for
    every ``delta`` with ``||delta|| < r`` in that norm. Radii are 0 when abstaining.

    Attributes
    ----------
    prediction : int
        The certified class A, or ``SmoothedClassifier.ABSTAIN`` (-1).
    abstained : bool
        True when the lower bound on p_A (at level alpha) is at most 1/2.
    p_a_lower : float
        One-sided Clopper-Pearson lower bound on ``p_A`` at level alpha (the Cohen bound).
    radius_cohen : float
        Zeroth-order l2 radius of Cohen et al., ``sigma * Phi^{-1}(p_a_lower)``.
    radius_l2, radius_l1, radius_linf : float
        First-order radii in the l2, l1 and l_inf norms (Corollaries 3.1, 3.2, 3.3; one field
        per threat model of :data:`hocert_sampling.threat_models.THREAT_MODELS`). Each radius
        spends its own alpha (split over the bounds it uses, see ``bounds``), so ``radius_l2``
        can be a little below ``radius_cohen``, and ``radius_l1`` a little below ``radius_l2``.
    radius_subspace : dict of str to float
        For each requested subspace S, the l2 radius of perturbations restricted to S
        (Corollary 3.4; bounds on p_A, ``||P_S beta||_2`` and ``||(I - P_S) beta||_2``).
    bounds : dict of str to hocert_sampling.alpha_budget.GradientBounds
        The confidence bounds each radius was computed from, with the alpha spent on each:
        keys ``"cohen"``, ``"l2"``, ``"l1"``, ``"linf"`` and ``"subspace:<name>"``. Norm bounds
        are on ``beta = sigma * grad g_A(x)`` (dimensionless).
    solver_status : dict of str to str
        Solver status name per first-order radius (keys as in ``bounds``): ``"converged"``,
        ``"fallback"`` (certified, less tight) or ``"inconsistent"`` (the gradient bounds
        contradict ``p_A_lower``, so one of the confidence bounds failed: the radius is the
        zeroth-order one of that bound on ``p_A``, see ``hocert_solver.INCONSISTENT``). Empty
        when abstaining. ``hocert certify`` writes it to the ``solver_status`` column.
    """

    prediction: int
    abstained: bool
    p_a_lower: float
    radius_cohen: float = 0.0
    radius_l2: float = 0.0
    radius_l1: float = 0.0
    radius_linf: float = 0.0
    radius_subspace: dict[str, float] = field(default_factory=dict)
    bounds: dict[str, GradientBounds] = field(default_factory=dict)
    solver_status: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanRow:
    """Predicted radii at one sample count (:meth:`SmoothedClassifier.plan`; input units).

    Attributes
    ----------
    n : int
        Estimation samples.
    radius_cohen, radius_l2, radius_l1, radius_linf : float
        The radii :meth:`SmoothedClassifier.certify` would report if the pilot estimates were
        the truth (0 when the predicted p_A bound is at most 1/2).
    """

    n: int
    radius_cohen: float
    radius_l2: float
    radius_l1: float
    radius_linf: float


@dataclass(frozen=True)
class Plan:
    """What a pilot run predicts about :meth:`SmoothedClassifier.certify` at several ``n``.

    A plug-in prediction, not a certificate: the pilot estimates are treated as the truth and
    only the widths of the confidence bounds change with ``n``. Use it to choose ``n``.

    Attributes
    ----------
    prediction : int
        Class A chosen on the pilot's selection samples.
    n0 : int
        Pilot estimation samples.
    alpha : float
        Failure probability of each radius (as in ``certify``).
    estimator : str
        Estimator of the gradient bounds (:data:`hocert_sampling.bounds.ESTIMATORS`).
    p_a : float
        Pilot estimate of ``p_A``.
    grad_l2, grad_linf, grad_l1 : float
        Plug-in norms of ``beta = sigma grad g_A(x)`` (dimensionless): ``sqrt(max(X.Y, 0))``
        (at most ``M(p_a)``),
        and ``min(||Xbar||_inf, grad_l2)``, ``min(||Xbar||_1, sqrt(d) grad_l2)`` (the noise
        of a small pilot inflates ``||Xbar||``, so the l1 / l_inf predictions err low).
    rows : tuple of PlanRow
        One per candidate ``n``, in the order given.
    """

    prediction: int
    n0: int
    alpha: float
    estimator: str
    p_a: float
    grad_l2: float
    grad_linf: float
    grad_l1: float
    rows: tuple[PlanRow, ...]

    def smallest_n(self, field_name: str, target: float) -> int | None:
        """The smallest candidate ``n`` whose predicted ``field_name`` radius reaches
        ``target`` (None if none does)."""
        ok = [r.n for r in self.rows if getattr(r, field_name) >= target]
        return min(ok) if ok else None

    def table(self) -> str:
        """The rows as a plain-text table."""
        head = f"{'n':>10} {'cohen':>10} {'l2':>10} {'l1':>10} {'linf':>10}"
        lines = [head]
        for r in self.rows:
            lines.append(
                f"{r.n:>10d} {r.radius_cohen:>10.4g} {r.radius_l2:>10.4g} "
                f"{r.radius_l1:>10.4g} {r.radius_linf:>10.4g}"
            )
        return "\n".join(lines)


def _plugin_means(n: int, d: int, b2: float, binf: float, b1: float) -> HalfMeans:
    """Half means of ``n`` samples whose statistics are those expected if ``beta`` had the
    given norms: ``X.Y = b2^2``, ``||X||^2 = ||Y||^2 = b2^2 + d / (4 n_i)`` (the second moment
    of ``z`` is ``I / 4``), pooled mean with ``||.||_inf = binf`` and ``||.||_1 = b1``. Only
    for :meth:`SmoothedClassifier.plan` (the cached statistics are set, not computed)."""
    n1, n2 = (n + 1) // 2, n // 2
    v = np.zeros(d)
    if d:
        v[:] = (b1 - binf) / max(d - 1, 1)
        v[0] = binf
    m = HalfMeans(v, v, float(n1), float(n2), d)
    m.__dict__.update(
        xy=b2 * b2,
        pooled=v,
        x_norm=math.sqrt(b2 * b2 + d / (4.0 * n1)),
        y_norm=math.sqrt(b2 * b2 + d / (4.0 * n2)),
    )
    return m


class SmoothedClassifier:
    """A base classifier smoothed with Gaussian noise of level sigma.

    Parameters
    ----------
    model : str, os.PathLike, onnxruntime.InferenceSession, callable or LabelModel
        The base classifier f: an ONNX model, or ``fn(batch) -> scores (B, K) or labels (B,)``
        (see :mod:`hocert_sampling.models`). Batches have shape ``(B, *x.shape)``, float32.
    num_classes : int
        Number of classes K.
    sigma : float
        Noise level, in input units: a real number (not a bool or a string), finite and > 0.
    backend : {"auto", "numpy", "cupy"}, Backend or None
        Array backend (default: ``HOCERT_BACKEND`` or auto-detect; see
        :func:`hocert_sampling.backend.get_backend`).
    seed : int, optional
        Seed of the noise generator; a fixed seed makes a sequence of calls reproducible on a
        given backend.
    estimator : {"mgf", "paper"}
        Estimators of the gradient-norm bounds (default
        :data:`hocert_sampling.bounds.DEFAULT_ESTIMATOR`); ``"paper"`` reproduces Table 1 of
        the paper. ``certify(..., estimator=...)`` overrides it for one call.
    batch_size : int or None
        Noise samples per model call when a method is not given one. None (default): chosen
        from the input's size and ``memory_budget``
        (:func:`hocert_sampling.sampler.auto_batch_size`: at most 1000, 445 at
        d = 150,528 for 1 GiB).
    memory_budget : int or None
        Bytes the sampler's batches may take (default
        :data:`hocert_sampling.sampler.DEFAULT_MEMORY_BUDGET`, 1 GiB; the model's own
        memory comes on top), for the automatic batch size.

    Notes
    -----
    The sampler reuses one input buffer for every batch: the model receives the noisy batch
    ``x + sigma * eps`` in the same array each call, overwritten by the next batch, so a model
    must not keep a reference to its input (or a view of it) after it returns; copy what it
    needs to keep.
    """

    #: Returned by :meth:`predict`, and stored as the prediction of an abstaining certificate.
    ABSTAIN = -1

    def __init__(
        self,
        model: Any,
        num_classes: int,
        sigma: float,
        *,
        backend: str | Backend | None = None,
        seed: int | None = None,
        estimator: str | None = None,
        batch_size: int | None = None,
        memory_budget: int | None = None,
    ) -> None:
        self.sigma = check_positive(sigma, "sigma")
        self.batch_size = None if batch_size is None else check_count(batch_size, "batch_size")
        self.memory_budget = (
            None if memory_budget is None else check_count(memory_budget, "memory_budget")
        )
        self.estimator = check_estimator(estimator)
        self.model = as_label_model(model, num_classes, backend)
        self.backend = self.model.backend
        self.num_classes = self.model.num_classes
        self.rng = self.backend.rng(seed)

    def _sample(
        self, x: Any, n: int, batch_size: int, target: int | None = None
    ) -> NoiseStatistics:
        """Statistics of ``n`` noise draws around ``x``, checked by the caller
        (:func:`~hocert_sampling._validation.check_input`), as are the counts."""
        return _sample_checked(self.model, x, self.sigma, n, batch_size, self.rng, target)

    def _batch_size(self, batch_size: Any, xs: Any) -> int:
        """A method's ``batch_size``, else the classifier's, else automatic for ``xs``."""
        if batch_size is None:
            batch_size = self.batch_size
        if batch_size is None:
            return auto_batch_size(int(xs.size), self.memory_budget)
        return check_count(batch_size, "batch_size")

    def predict(self, x: Any, n: int, alpha: float, batch_size: int | None = None) -> int:
        """Predict the smoothed class of ``x``, or abstain (Cohen et al., PREDICT).

        Parameters
        ----------
        x : array-like
            One input, without a batch axis.
        n : int
            Number of noise samples.
        alpha : float
            Probability of returning a class other than g(x) (the test's level).
        batch_size : int or None
            Noise samples per model call (default: the classifier's, see
            :class:`SmoothedClassifier`).

        Returns
        -------
        int
            The class index, or :attr:`ABSTAIN`.

        Raises
        ------
        TypeError, ValueError
            As :meth:`certify`, for ``x``, ``n`` (at least 1), ``alpha`` and ``batch_size``.
        """
        xs = check_input(x, self.backend)
        n = check_count(n, "n")
        a = check_probability(alpha)
        batch_size = self._batch_size(batch_size, xs)
        counts = self._sample(xs, n, batch_size).counts
        top, runner_up = np.argsort(-counts, kind="stable")[:2]
        n_top, n_runner_up = int(counts[top]), int(counts[runner_up])
        if binomtest(n_top, n_top + n_runner_up, 0.5).pvalue > a:
            return self.ABSTAIN
        return int(top)

    def certify(
        self,
        x: Any,
        n0: int,
        n: int,
        alpha: float,
        batch_size: int | None = None,
        subspaces: Any = None,
        verify: bool = False,
        estimator: str | None = None,
    ) -> Certificate:
        """Certify ``x``: the predicted class and its l2 / l1 / l_inf / subspace radii.

        Parameters
        ----------
        x : array-like
            One input, without a batch axis (e.g. (C, H, W) for an image): numeric, with at
            least one element, finite once converted to float32.
        n0 : int
            Selection samples, used only to choose the class A.
        n : int
            Estimation samples (at least 2), used for every bound.
        alpha : float
            Failure probability of each radius.
        batch_size : int or None
            Noise samples per model call (default: the classifier's, see
            :class:`SmoothedClassifier`).
        subspaces : None, "channels", dict, list or ndarray
            Subspaces for :attr:`Certificate.radius_subspace` (see :func:`resolve_subspaces`).
        verify : bool
            Prove every first-order radius in ball arithmetic
            (:func:`hocert_solver.verify_radius`, a few milliseconds per radius); a radius that
            cannot be proved is lowered until it is, or replaced by the Cohen radius, and its
            :attr:`Certificate.solver_status` is ``"lowered"``.
        estimator : {"mgf", "paper"}, optional
            Estimators of the gradient-norm bounds for this call (default: the classifier's,
            see :class:`SmoothedClassifier`).

        Returns
        -------
        Certificate
            Radii in input units (sigma included).

        Raises
        ------
        TypeError
            An argument of the wrong type: a non-numeric ``x``, a count that is not an integer,
            an ``alpha`` that is not a real number, a ``verify`` that is not a bool, a subspace
            of the wrong type.
        ValueError
            ``x`` a scalar, empty, or with NaN, inf or values beyond float32; ``n0`` or
            ``batch_size`` below 1, ``n`` below 2, ``alpha`` outside (0, 1); a bad subspace.
        hocert_sampling.ModelError
            The model failed or returned invalid scores or labels.
        """
        xs = check_input(x, self.backend)
        n0 = check_count(n0, "n0")
        n = check_count(n, "n", minimum=2)
        a = check_probability(alpha)
        batch_size = self._batch_size(batch_size, xs)
        verify = check_flag(verify, "verify")
        est_name = self.estimator if estimator is None else check_estimator(estimator)
        spaces = resolve_subspaces(subspaces, tuple(xs.shape))  # checked once (O(d^3) at most)
        top = int(np.argmax(self._sample(xs, n0, batch_size).counts))
        est = self._sample(xs, n, batch_size, target=top)

        evidence = Evidence(successes=int(est.counts[top]), trials=n, estimator=est_name)
        bounds = {"cohen": spend(_equal_split("cohen", a, RADIUS_EVENTS["cohen"]), evidence)}
        p_a_lower = bounds["cohen"]["p_A_lower"]
        if p_a_lower <= 0.5:
            return Certificate(
                prediction=self.ABSTAIN,
                abstained=True,
                p_a_lower=p_a_lower,
                radius_subspace=dict.fromkeys(spaces, 0.0),
                bounds=bounds,
            )

        # The half means are checked, and X.Y and the pooled mean computed, once for all radii.
        means = HalfMeans.checked(est.mean_x, est.mean_y, est.n1, est.n2)
        evidence = dataclasses.replace(evidence, means=means)
        results: dict[str, RadiusResult] = {}
        for model in THREAT_MODELS:  # Corollaries 3.1-3.4; the solver works in units of sigma
            instances: dict[str | None, Evidence] = (
                {name: evidence.with_subspace(space) for name, space in spaces.items()}
                if model.per_subspace
                else {None: evidence}
            )
            for name, ev in instances.items():
                key = model.key(name)
                bounds[key] = model.bounds(a, ev)
                results[key] = model.solve(bounds[key], xs.size, verify)
        radii = {key: self.sigma * float(r.radius) for key, r in results.items()}
        fields: dict[str, Any] = {
            model.certificate_field: (
                {name: radii[model.key(name)] for name in spaces}
                if model.per_subspace
                else radii[model.key()]
            )
            for model in THREAT_MODELS
        }
        return Certificate(
            prediction=top,
            abstained=False,
            p_a_lower=p_a_lower,
            radius_cohen=self.sigma * float(cohen_radius(p_a_lower)),
            bounds=bounds,
            solver_status={key: STATUS_NAMES[int(r.status)] for key, r in results.items()},
            **fields,
        )

    def plan(
        self,
        x: Any,
        n0: int,
        n_candidates: Iterable[int] = (10_000, 100_000, 1_000_000),
        alpha: float = 0.001,
        batch_size: int | None = None,
        estimator: str | None = None,
    ) -> Plan:
        """Predict, from a pilot run, the radii ``certify`` would give at each candidate ``n``.

        A pilot of ``n0`` estimation samples (after ``max(10, n0 // 10)`` selection samples
        for the class A) gives plug-in estimates of ``p_A`` and of the norms of ``beta``
        (:class:`Plan`). For each candidate ``n`` the bounds ``certify`` would compute are
        evaluated as if the statistics at ``n`` equalled their expectations under those
        estimates (``round(p_A n)`` votes, ``X.Y = ||beta||^2``, the half norms inflated by the
        noise ``d / (4 n_i)``), with the same alpha split and estimator, and the solver turns
        them into radii. Subspace radii are not predicted. Nothing here is a certificate: a
        pilot estimate is noisy (standard error about ``0.5 / sqrt(n0)`` per coordinate of
        ``beta``), so take the prediction as a guide to the order of magnitude of ``n``.

        Parameters
        ----------
        x : array-like
            One input, without a batch axis.
        n0 : int
            Pilot estimation samples (at least 2).
        n_candidates : iterable of int
            Sample counts to predict for (each at least 2).
        alpha : float
            Failure probability of each radius, as in :meth:`certify`.
        batch_size : int or None
            Noise samples per model call (default: the classifier's, see
            :class:`SmoothedClassifier`).
        estimator : {"mgf", "paper"}, optional
            As in :meth:`certify`.

        Returns
        -------
        Plan
            The pilot estimates and one :class:`PlanRow` per candidate (``Plan.table()``
            prints them).
        """
        xs = check_input(x, self.backend)
        n0 = check_count(n0, "n0", minimum=2)
        a = check_probability(alpha)
        batch_size = self._batch_size(batch_size, xs)
        est_name = self.estimator if estimator is None else check_estimator(estimator)
        candidates = [check_count(c, "n_candidates", minimum=2) for c in n_candidates]
        top = int(np.argmax(self._sample(xs, max(10, n0 // 10), batch_size).counts))
        pilot = self._sample(xs, n0, batch_size, target=top)
        means = HalfMeans.checked(pilot.mean_x, pilot.mean_y, pilot.n1, pilot.n2)
        d = int(xs.size)
        p_a = float(pilot.counts[top]) / n0
        # no beta with p_A = p_a is longer than M(p_a) (docs/math.md 1): clip the plug-in
        b2 = min(math.sqrt(max(means.xy, 0.0)), float(max_gradient_norm(max(p_a, 0.5))))
        binf = min(float(np.max(np.abs(means.pooled))), b2)
        b1 = min(float(np.sum(np.abs(means.pooled))), math.sqrt(d) * b2)
        rows = []
        for n in candidates:
            successes = min(n, max(0, round(p_a * n)))
            q = _clopper_pearson(successes, n, a)
            radii = {"radius_cohen": 0.0, "radius_l2": 0.0, "radius_l1": 0.0, "radius_linf": 0.0}
            if q > 0.5:
                radii["radius_cohen"] = self.sigma * float(cohen_radius(q))
                ev = Evidence(successes, n, _plugin_means(n, d, b2, binf, b1), estimator=est_name)
                for model in THREAT_MODELS:
                    if model.per_subspace:
                        continue
                    r = model.solve(model.bounds(a, ev), d)
                    radii[model.certificate_field] = self.sigma * float(r.radius)
            rows.append(PlanRow(n=n, **radii))
        return Plan(top, n0, a, est_name, p_a, b2, binf, b1, tuple(rows))
