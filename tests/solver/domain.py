"""Random feasible inputs over the solver's domain, shared by tests and benchmarks."""

from __future__ import annotations

import numpy as np

from hocert_solver import max_gradient_norm


def random_feasible_triples(
    n: int,
    seed: int = 0,
    *,
    edge_share: float = 0.2,
    low_exponents: tuple[float, float] = (-6.0, -1.0),
    high_exponents: tuple[float, float] = (-7.0, -1.0),
    rho2_max: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(q, m1, m2)`` with ``(m1, m2) / M(q)`` uniform in the feasible half-disk.

    A share ``edge_share`` of the ``q`` lie at ``1/2 + 10^U(low_exponents)``, the same share at
    ``1 - 10^U(high_exponents)``, the rest uniform in [0.55, 0.99]. The squared normalised
    distance to the origin is uniform in ``[0, rho2_max]``.
    """
    rng = np.random.default_rng(seed)
    u = rng.random(n)
    q = np.where(
        u < edge_share,
        0.5 + 10 ** rng.uniform(*low_exponents, n),
        np.where(
            u < 2 * edge_share,
            1 - 10 ** rng.uniform(*high_exponents, n),
            rng.uniform(0.55, 0.99, n),
        ),
    )
    ang = rng.uniform(0.0, np.pi, n)
    rho = np.sqrt(rng.uniform(0.0, rho2_max, n))
    big_m = max_gradient_norm(q)
    return q, rho * np.cos(ang) * big_m, rho * np.sin(ang) * big_m


def adversarial_edge_triples(
    n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(q, m1, m2)`` aimed at the edges of the domain (issue #11's fuzz).

    ``q`` within ``10^U(-16, -1)`` of 1/2, within ``10^U(-15.5, -3)`` of 1, or uniform; points
    at a relative gap ``10^U(-16, -1)`` inside the feasible disk, or a few ulps inside or outside
    its binary64 boundary; adverse ``m1`` down to ``-3 M(q)``; 5% with a subnormal or zero ``m2``.
    """
    kind = rng.integers(0, 3, n)
    q = np.where(
        kind == 0,
        0.5 + 10 ** rng.uniform(-16, -1, n),
        np.where(kind == 1, 1 - 10 ** rng.uniform(-15.5, -3, n), rng.uniform(0.5, 1.0, n)),
    )
    q = np.clip(q, np.nextafter(0.5, 1.0), np.nextafter(1.0, 0.0))
    big_m = max_gradient_norm(q)
    ang = rng.uniform(-np.pi / 2, np.pi / 2, n)
    ulps = rng.integers(-8, 8, n) * 1.1e-16
    gap = np.where(rng.random(n) < 0.3, ulps, 10 ** rng.uniform(-16, -1, n))
    rho = 1.0 - gap
    m1 = np.where(ang > 0, np.sin(ang), -rng.uniform(0.0, 3.0, n)) * rho * big_m
    m2 = np.where(ang > 0, np.cos(ang), 1.0) * rho * big_m
    subnormal = rng.random(n) < 0.05
    m2 = np.where(subnormal, rng.integers(0, 100, n) * 5e-324, m2)
    return q, m1, m2
