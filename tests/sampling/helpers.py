"""Base classifiers with known answers for the sampling tests."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import norm


def array_module(a: Any) -> Any:
    """numpy or cupy, whichever owns ``a``."""
    if isinstance(a, np.ndarray):
        return np
    import cupy  # type: ignore[import-not-found]

    return cupy


class LinearClassifier:
    """f(x) = 1{<w, x> + b >= 0}: two classes, returns labels (B,) on the batch's backend.

    Its smoothed classifier is known exactly: with margin m = <w, x> + b and s = sigma ||w||_2,
    g_1(x) = Phi(m / s) and beta = sigma grad g_1(x) = phi(m / s) w / ||w||_2. The exact robust
    radii around a point with m > 0 are m / ||w||_2 (l2), m / ||w||_inf (l1), m / ||w||_1 (l_inf).
    """

    def __init__(self, w: np.ndarray, b: float) -> None:
        self.w = np.asarray(w, dtype=np.float64)
        self.b = float(b)

    def __call__(self, batch: Any) -> Any:
        xp = array_module(batch)
        w = xp.asarray(self.w, dtype=xp.float32)
        return batch.reshape(batch.shape[0], -1) @ w + xp.float32(self.b) >= 0

    def margin(self, x: np.ndarray) -> float:
        return float(np.ravel(x) @ self.w + self.b)

    def p_a(self, x: np.ndarray, sigma: float) -> float:
        """g_1(x) for class 1 (assumes the margin is positive)."""
        return float(norm.cdf(self.margin(x) / (sigma * np.linalg.norm(self.w))))

    def beta(self, x: np.ndarray, sigma: float) -> np.ndarray:
        """sigma * grad g_1(x)."""
        s = sigma * np.linalg.norm(self.w)
        return norm.pdf(self.margin(x) / s) * self.w / np.linalg.norm(self.w)

    def exact_radii(self, x: np.ndarray) -> dict[str, float]:
        m = self.margin(x)
        return {
            "l2": m / np.linalg.norm(self.w, 2),
            "l1": m / np.linalg.norm(self.w, np.inf),
            "linf": m / np.linalg.norm(self.w, 1),
        }


class FixedNoise:
    """A stand-in random generator that draws NumPy noise (fixed seed) onto any backend.

    Lets the NumPy and CuPy paths of the sampler see exactly the same noise.
    """

    def __init__(self, seed: int, xp: Any) -> None:
        self.rng = np.random.default_rng(seed)
        self.xp = xp

    def standard_normal(self, shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
        return self.xp.asarray(self.rng.standard_normal(shape, dtype=np.float32))


def fail_lower_norm_bounds(monkeypatch: Any, value: float = 10.0) -> None:
    """Make every confidence bound on a gradient norm from below fail: ``grad_l2_lower`` and
    ``complement_l2_lower`` become ``value`` (far above ``M(q)``; ``grad_l2_upper`` too, so that
    the pair stays ordered). The first-order radii then see bounds that contradict ``p_A_lower``.
    """
    import dataclasses

    from hocert_sampling import threat_models

    real = threat_models.spend
    names = ("grad_l2_lower", "grad_l2_upper", "complement_l2_lower")

    def failed(*args: Any, **kwargs: Any) -> Any:
        gb = real(*args, **kwargs)
        bounds = tuple(
            dataclasses.replace(b, value=value) if b.name in names else b for b in gb.bounds
        )
        return dataclasses.replace(gb, bounds=bounds)

    monkeypatch.setattr(threat_models, "spend", failed)
