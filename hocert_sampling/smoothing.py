"""The smoothed classifier: prediction and first-order certificates (docs/math.md).

``g(x) = argmax_k P[f(x + sigma eps) = k]``, ``eps ~ N(0, I)``, for a base classifier ``f``
given as an ONNX model or a Python callable (:mod:`hocert_sampling.models`).

- :meth:`SmoothedClassifier.predict` is PREDICT of Cohen et al. (2019): a two-sided binomial
  test of the two largest vote counts; it abstains unless the top class wins at level alpha.
- :meth:`SmoothedClassifier.certify` chooses the class A on ``n0`` selection samples, then
  draws ``n`` fresh estimation samples for the count of A and the split-half sums of
  ``z = eps (1{f(x + sigma eps) = A} - 1/2)`` (paper Section 4). From them
  :func:`hocert_sampling.bounds.radius_bounds` gives, for each radius, the confidence bounds it
  needs, with alpha split over them by a union bound (so each radius holds with probability
  ``>= 1 - alpha`` on its own), and ``hocert_solver`` turns the bounds into radii
  (Corollaries 3.1-3.4 of the paper).

Units: the solver works with sigma-normalised statistics (``beta = sigma * grad g_A(x)``) and
returns radii in units of sigma; every radius in a :class:`Certificate` is multiplied by sigma,
i.e. in input units, measured in the norm of its threat model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import binomtest

from hocert_solver import (
    STATUS_NAMES,
    cohen_radius,
    l1_radius,
    l2_radius,
    linf_radius,
    subspace_radius,
)

from .backend import Backend
from .bounds import GradientBounds, project, radius_bounds
from .models import as_label_model
from .sampler import NoiseStatistics, sample_statistics

__all__ = ["Certificate", "SmoothedClassifier", "resolve_subspaces"]


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
        First-order radii in the l2, l1 and l_inf norms (Corollaries 3.1, 3.2, 3.3). Each radius
        spends its own alpha (split over the bounds it uses, see ``bounds``), so ``radius_l2``
        can be a little below ``radius_cohen``, and ``radius_l1`` a little below ``radius_l2``.
    radius_subspace : dict of str to float
        For each requested subspace S, the l2 radius of perturbations restricted to S
        (Corollary 3.4; bounds on p_A, ``||P_S beta||_2`` and ``||(I - P_S) beta||_2``).
    bounds : dict of str to GradientBounds
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


def resolve_subspaces(subspaces: Any, shape: tuple[int, ...]) -> dict[str, Any]:
    """Name and check the subspaces requested for an input of the given shape.

    Parameters
    ----------
    subspaces : None, "channels", mapping, sequence or ndarray
        ``None``: none. ``"channels"``: for an image of shape (C, H, W), one coordinate subspace
        per channel, named ``"channel0"``, ``"channel1"``, ... A mapping ``{name: spec}``, a
        sequence of specs (named ``"subspace0"``, ...) or a single spec, where a spec is any form
        :func:`hocert_sampling.bounds.project` accepts, over the flattened input (C order): an
        index array or boolean mask of length d, a (d, d_S) matrix with orthonormal columns, or a
        (d, d) orthogonal projector.
    shape : tuple of int
        Shape of one input x.

    Returns
    -------
    dict of str to spec
    """
    if subspaces is None:
        return {}
    d = int(np.prod(shape))
    if isinstance(subspaces, str):
        if subspaces != "channels":
            raise ValueError(f"unknown subspaces {subspaces!r}: use 'channels', a list or a dict")
        if len(shape) != 3:
            raise ValueError(f"'channels' needs an image input of shape (C, H, W), got {shape}")
        per_channel = d // shape[0]
        return {
            f"channel{c}": np.arange(c * per_channel, (c + 1) * per_channel)
            for c in range(shape[0])
        }
    if isinstance(subspaces, np.ndarray):
        named = {"subspace0": subspaces}
    elif isinstance(subspaces, Mapping):
        named = {str(name): spec for name, spec in subspaces.items()}
    elif isinstance(subspaces, Sequence):
        named = {f"subspace{i}": spec for i, spec in enumerate(subspaces)}
    else:
        raise TypeError(f"subspaces must be None, 'channels', a dict or a list, got {subspaces!r}")
    for name, spec in named.items():
        try:
            project(np.zeros(d), spec)
        except ValueError as exc:
            raise ValueError(f"subspace {name!r}: {exc}") from exc
    return named


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
        Noise level, in input units.
    backend : {"auto", "numpy", "cupy"}, Backend or None
        Array backend (default: ``HOCERT_BACKEND`` or auto-detect; see
        :func:`hocert_sampling.backend.get_backend`).
    seed : int, optional
        Seed of the noise generator; a fixed seed makes a sequence of calls reproducible on a
        given backend.
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
    ) -> None:
        if not (np.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be finite and > 0, got {sigma!r}")
        self.model = as_label_model(model, num_classes, backend)
        self.backend = self.model.backend
        self.num_classes = self.model.num_classes
        self.sigma = float(sigma)
        self.rng = self.backend.rng(seed)

    def _sample(
        self, x: Any, n: int, batch_size: int, target: int | None = None
    ) -> NoiseStatistics:
        return sample_statistics(self.model, x, self.sigma, n, batch_size, self.rng, target)

    def predict(self, x: Any, n: int, alpha: float, batch_size: int) -> int:
        """Predict the smoothed class of ``x``, or abstain (Cohen et al., PREDICT).

        Parameters
        ----------
        x : array-like
            One input, without a batch axis.
        n : int
            Number of noise samples.
        alpha : float
            Probability of returning a class other than g(x) (the test's level).
        batch_size : int
            Noise samples per model call.

        Returns
        -------
        int
            The class index, or :attr:`ABSTAIN`.
        """
        _check_alpha(alpha)
        counts = self._sample(x, n, batch_size).counts
        top, runner_up = np.argsort(-counts, kind="stable")[:2]
        n_top, n_runner_up = int(counts[top]), int(counts[runner_up])
        if binomtest(n_top, n_top + n_runner_up, 0.5).pvalue > alpha:
            return self.ABSTAIN
        return int(top)

    def certify(
        self,
        x: Any,
        n0: int,
        n: int,
        alpha: float,
        batch_size: int,
        subspaces: Any = None,
        verify: bool = False,
    ) -> Certificate:
        """Certify ``x``: the predicted class and its l2 / l1 / l_inf / subspace radii.

        Parameters
        ----------
        x : array-like
            One input, without a batch axis (e.g. (C, H, W) for an image).
        n0 : int
            Selection samples, used only to choose the class A.
        n : int
            Estimation samples (at least 2), used for every bound.
        alpha : float
            Failure probability of each radius.
        batch_size : int
            Noise samples per model call.
        subspaces : None, "channels", dict, list or ndarray
            Subspaces for :attr:`Certificate.radius_subspace` (see :func:`resolve_subspaces`).
        verify : bool
            Prove every first-order radius in ball arithmetic
            (:func:`hocert_solver.verify_radius`, a few milliseconds per radius); a radius that
            cannot be proved is lowered until it is, or replaced by the Cohen radius, and its
            :attr:`Certificate.solver_status` is ``"lowered"``.

        Returns
        -------
        Certificate
            Radii in input units (sigma included).
        """
        _check_alpha(alpha)
        shape = tuple(np.shape(x))
        spaces = resolve_subspaces(subspaces, shape)
        top = int(np.argmax(self._sample(x, n0, batch_size).counts))
        est = self._sample(x, n, batch_size, target=top)

        n_top = int(est.counts[top])
        bounds = {"cohen": radius_bounds("cohen", alpha, successes=n_top, trials=n)}
        p_a_lower = bounds["cohen"]["p_A_lower"]
        if p_a_lower <= 0.5:
            return Certificate(
                prediction=self.ABSTAIN,
                abstained=True,
                p_a_lower=p_a_lower,
                radius_subspace=dict.fromkeys(spaces, 0.0),
                bounds=bounds,
            )

        def bounds_for(radius: str, subspace: Any = None) -> GradientBounds:
            """The bounds ``radius`` needs, each at its share of alpha (estimation samples)."""
            return radius_bounds(
                radius,
                alpha,
                successes=n_top,
                trials=n,
                mean_x=est.mean_x,
                mean_y=est.mean_y,
                n1=est.n1,
                n2=est.n2,
                subspace=subspace,
            )

        b2 = bounds["l2"] = bounds_for("l2")
        b1 = bounds["l1"] = bounds_for("l1")
        binf = bounds["linf"] = bounds_for("linf")
        results = {  # Corollaries 3.1, 3.2, 3.3; the solver works in units of sigma
            "l2": l2_radius(b2["p_A_lower"], b2["grad_l2_upper"], verify=verify),
            "l1": l1_radius(
                b1["p_A_lower"],
                b1["grad_linf_upper"],
                b1["grad_l2_lower"],
                b1["grad_l2_upper"],
                verify=verify,
            ),
            "linf": linf_radius(
                binf["p_A_lower"],
                binf["grad_l1_upper"],
                binf["grad_l2_lower"],
                binf["grad_l2_upper"],
                int(np.prod(shape)),
                verify=verify,
            ),
        }
        for name, spec in spaces.items():  # Corollary 3.4
            bs = bounds[f"subspace:{name}"] = bounds_for("subspace_l2", spec)
            results[f"subspace:{name}"] = subspace_radius(
                bs["p_A_lower"], bs["proj_l2_upper"], bs["complement_l2_lower"], verify=verify
            )
        radii = {key: self.sigma * float(r.radius) for key, r in results.items()}
        return Certificate(
            prediction=top,
            abstained=False,
            p_a_lower=p_a_lower,
            radius_cohen=self.sigma * float(cohen_radius(p_a_lower)),
            radius_l2=radii["l2"],
            radius_l1=radii["l1"],
            radius_linf=radii["linf"],
            radius_subspace={name: radii[f"subspace:{name}"] for name in spaces},
            bounds=bounds,
            solver_status={key: STATUS_NAMES[int(r.status)] for key, r in results.items()},
        )


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
