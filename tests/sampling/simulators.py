"""Simulators with known beta and p_A for the coverage tests of the bounds (paper Section 4).

- 1-D projection classifiers ``f(x) = 1{<w, x> in T}`` (T a union of intervals, w a unit vector).
  With ``G = <w, eps>``: ``beta = w * sum_T (phi(lo) - phi(hi))`` and ``p_A = P(G in T)``. The half
  means are simulated exactly without drawing d-dimensional noise per sample: ``z = (G w +
  eps_perp) h(G)`` with ``h = +-1/2`` and ``eps_perp`` independent of G, so
  ``sum_i eps_perp_i h_i ~ N(0, (n/4) (I - w w^T))`` exactly.
- Gaussian vectors ``z ~ N(beta, k I)``, whose moment generating function attains the
  sub-Gaussian bound of Theorem 4.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from hocert_sampling.bounds import SUBGAUSSIAN_K

K = SUBGAUSSIAN_K


def mc_slack(alpha: float, trials: int) -> float:
    """Allowed excess of an empirical failure rate over alpha: 4 binomial standard errors."""
    return 4.0 * math.sqrt(alpha * (1.0 - alpha) / trials) + 1.0 / trials


class ProjectionModel:
    """``f(x) = 1{<w, x> in T}`` in d dimensions; exact simulation of the split-half means."""

    def __init__(self, w: np.ndarray, intervals: list[tuple[float, float]]):
        self.w = np.asarray(w, dtype=np.float64) / np.linalg.norm(w)
        self.intervals = intervals
        gain = sum(stats.norm.pdf(lo) - stats.norm.pdf(hi) for lo, hi in intervals)
        self.beta = gain * self.w
        self.p_a = sum(stats.norm.cdf(hi) - stats.norm.cdf(lo) for lo, hi in intervals)

    def _h(self, g: np.ndarray) -> np.ndarray:
        inside = np.zeros(g.shape, dtype=bool)
        for lo, hi in self.intervals:
            inside |= (g >= lo) & (g < hi)
        return np.where(inside, 0.5, -0.5)

    def sample(self, rng: np.random.Generator, trials: int, n1: int, n2: int):
        """Return (counts, X, Y): votes for A among n1 + n2 samples and the two half means."""
        d = self.w.size
        counts = np.zeros(trials, dtype=np.int64)
        means = []
        for n in (n1, n2):
            along = np.empty(trials)
            for lo in range(0, trials, 256):  # chunks keep the (trials, n) draw small
                g = rng.standard_normal((min(256, trials - lo), n))
                h = self._h(g)
                along[lo : lo + len(g)] = np.sum(g * h, axis=1)
                counts[lo : lo + len(g)] += np.sum(h > 0, axis=1)
            perp = rng.standard_normal((trials, d)) * (0.5 * math.sqrt(n))
            perp -= np.outer(perp @ self.w, self.w)
            means.append((along[:, None] * self.w + perp) / n)
        return counts, means[0], means[1]


def halfspace(d: int, b: float, rng: np.random.Generator, w=None) -> ProjectionModel:
    """``f(x) = 1{<w, x> + b >= 0}``: beta = phi(b) w, p_A = Phi(b)."""
    if w is None:
        w = rng.standard_normal(d)
    return ProjectionModel(w, [(-b, np.inf)])


def gaussian_halves(rng, beta, trials, n1, n2, k=K):
    """Half means of z ~ N(beta, k I): the sub-Gaussian bound of Theorem 4 with equality."""
    d = beta.size
    x = beta + rng.standard_normal((trials, d)) * math.sqrt(k / n1)
    y = beta + rng.standard_normal((trials, d)) * math.sqrt(k / n2)
    return x, y
