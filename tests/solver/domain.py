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
