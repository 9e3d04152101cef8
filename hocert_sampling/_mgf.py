"""The "mgf" inequality of the gradient norms (docs/math.md, section 7).

Cramer-Chernoff bounds with the exact second moment 1/4 of every projection of ``z``: the MGF
bound ``R(s)`` (:func:`_mgf_excess`), the width of one unit projection
(:func:`projection_width`, also :func:`hocert_sampling.bounds.projection_width`) and the
widths of the l1 and (conditional) l2 estimators built from it. Only the widths live here;
:mod:`hocert_sampling.bounds` turns them into the norm bounds (the skeleton shared with
:mod:`hocert_sampling._paper`) and checks the arguments.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import numpy as np
from scipy import optimize, special

if TYPE_CHECKING:
    from .bounds import HalfMeans

#: Terms of the power series of :func:`_mgf_excess` below ``_SERIES_MAX``.
_SERIES_P = np.arange(2, 80, dtype=np.float64)
_SERIES_LOG_COEF = special.gammaln((_SERIES_P + 1.0) / 2.0) - special.gammaln(_SERIES_P + 1.0)
_SERIES_MAX = 2.0
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _mgf_excess(s: float) -> float:
    """``R(s) = E[exp(|s| |G| / 2) - 1 - |s| |G| / 2]``, ``G ~ N(0, 1)``.

    Closed form ``2 exp(s^2/8) Phi(|s|/2) - 1 - |s| / sqrt(2 pi)``; below ``|s| = 2`` the power
    series ``sum_{p >= 2} (|s|/sqrt 2)^p Gamma((p+1)/2) / (sqrt(pi) p!)`` (no cancellation).
    ``inf`` beyond ``|s| = 70`` (where ``R`` is far above the sub-Gaussian bound anyway).
    """
    a = abs(s)
    if a == 0.0:
        return 0.0
    if a < _SERIES_MAX:
        logs = _SERIES_P * math.log(a / math.sqrt(2.0)) + _SERIES_LOG_COEF
        return float(np.sum(np.exp(logs))) / math.sqrt(math.pi)
    if a > 70.0:
        return math.inf
    return 2.0 * math.exp(a * a / 8.0) * float(special.ndtr(a / 2.0)) - 1.0 - a / _SQRT_2PI


def _log_mgf_bound(s: float, k: float) -> float:
    """Bound on ``log E exp(s <u, z - beta>)`` for every unit ``u`` and every model:
    ``min(R(s), k s^2 / 2)`` (the exact moments of ``|<u, z>| = |<u, eps>| / 2``, and Theorem 4).
    """
    return min(_mgf_excess(s), 0.5 * k * s * s)


@functools.lru_cache(maxsize=4096)
def projection_width(n: float, ell: float, k: float) -> float:
    """Width ``t`` with ``P(<u, mean of n z - beta> >= t) <= exp(-ell)`` for a fixed unit ``u``.

    Chernoff: for every ``lam > 0`` the width ``(ell / n + psi(lam)) / lam`` is valid, with
    ``psi`` of :func:`_log_mgf_bound`; ``lam`` depends on ``(n, ell, k)`` only, never on data,
    so an inexact minimisation only costs tightness. The candidates include the sub-Gaussian
    optimum ``sqrt(2 ell / (n k))``, so the width is never above the paper's
    ``sqrt(2 k ell / n)``.
    """

    def width(lam: float) -> float:
        return (ell / n + _log_mgf_bound(lam, k)) / lam

    lam_k = math.sqrt(2.0 * ell / (n * k))
    lam_4 = math.sqrt(8.0 * ell / n)  # optimum for variance 1/4
    best = min(width(lam_k), width(lam_4))
    lo, hi = math.log(min(lam_k, lam_4) / 8.0), math.log(max(lam_k, lam_4) * 8.0)
    res = optimize.minimize_scalar(
        lambda u: width(math.exp(u)), bounds=(lo, hi), method="bounded", options={"xatol": 1e-6}
    )
    if res.success and math.isfinite(res.fun):
        best = min(best, float(width(math.exp(float(res.x)))))
    return min(best, math.sqrt(2.0 * k * ell / n))  # the sub-Gaussian width is valid too


def l1_width(d: int, n: float, ell: float, k: float) -> float:
    """``sqrt(d) width(n, ell)``: the ``2^d`` sign vectors ``s / sqrt(d)`` are unit projections."""
    return math.sqrt(d) * projection_width(n, ell, k)


def l2_widths(m: HalfMeans, ell: float, k: float) -> tuple[float, float]:
    """``(c, t)`` of the conditional l2 estimator at per-tail level ``exp(-ell)``.

    The conditioning half ``C`` is the larger one (``Y`` on a tie), ``F`` the other:
    ``X.Y = ||beta||^2 + <beta, C - beta> + <F - beta, C>``, with ``|<beta, C - beta>| <=
    ||beta|| c`` (a fixed direction) and ``|<F - beta, C>| <= ||C|| w`` (a direction that is
    independent of ``F``): ``c = width(n_C)``, ``t = ||C|| width(n_F)``. ``m.dim`` is not used.
    """
    if m.n1 > m.n2:
        n_c, n_f, c_norm = m.n1, m.n2, m.x_norm
    else:
        n_c, n_f, c_norm = m.n2, m.n1, m.y_norm
    return projection_width(n_c, ell, k), c_norm * projection_width(n_f, ell, k)
