"""Standard normal special functions as Numba-callable scalars (docs/math.md, section 1).

``phi`` and ``Phi`` are the pdf and cdf, ``norm_sf`` the upper tail, ``norm_ppf`` / ``norm_isf``
the quantile functions (a rational first guess polished by Halley steps on ``erfc``, so that
they are as accurate as ``Phi`` itself and the kernels stay cacheable), and ``expm1_minus_x``
(e^v - 1 - v) which keeps the small-radius terms accurate (docs/math.md, "numerics").
"""

from __future__ import annotations

import math

from numba import njit

INV_SQRT_2PI = 0.3989422804014327
INV_SQRT2 = 0.7071067811865476


@njit(cache=True, inline="always")
def phi(x):
    """Standard normal density."""
    return INV_SQRT_2PI * math.exp(-0.5 * x * x)


@njit(cache=True, inline="always")
def Phi(x):
    """Standard normal cdf, accurate in the lower tail."""
    return 0.5 * math.erfc(-x * INV_SQRT2)


@njit(cache=True, inline="always")
def norm_sf(x):
    """Upper tail 1 - Phi(x), accurate for large x."""
    return 0.5 * math.erfc(x * INV_SQRT2)


@njit(cache=True)
def norm_mass(a, b):
    """P(a < Z < b) for a <= b, computed on the side with less cancellation."""
    if a >= b:
        return 0.0
    if a > 0.0:
        return norm_sf(a) - norm_sf(b)
    return Phi(b) - Phi(a)


@njit(cache=True)
def _ppf_lower(p):
    # Acklam's rational approximation (relative error ~1e-9) for 0 < p <= 1/2, then Halley steps
    # on Phi(x) - p, which is computed to full relative precision in the lower tail.
    if p < 0.02425:
        t = math.sqrt(-2.0 * math.log(p))
        x = (
            (
                (
                    (
                        (-7.784894002430293e-03 * t - 3.223964580411365e-01) * t
                        - 2.400758277161838e00
                    )
                    * t
                    - 2.549732539343734e00
                )
                * t
                + 4.374664141464968e00
            )
            * t
            + 2.938163982698783e00
        ) / (
            (
                ((7.784695709041462e-03 * t + 3.224671290700398e-01) * t + 2.445134137142996e00) * t
                + 3.754408661907416e00
            )
            * t
            + 1.0
        )
    else:
        t = p - 0.5
        r = t * t
        x = (
            (
                (
                    (
                        (
                            (-3.969683028665376e01 * r + 2.209460984245205e02) * r
                            - 2.759285104469687e02
                        )
                        * r
                        + 1.383577518672690e02
                    )
                    * r
                    - 3.066479806614716e01
                )
                * r
                + 2.506628277459239e00
            )
            * t
            / (
                (
                    (
                        (
                            (-5.447609879822406e01 * r + 1.615858368580409e02) * r
                            - 1.556989798598866e02
                        )
                        * r
                        + 6.680131188771972e01
                    )
                    * r
                    - 1.328068155288572e01
                )
                * r
                + 1.0
            )
        )
    for _ in range(2):
        e = Phi(x) - p
        u = e * 2.5066282746310002 * math.exp(0.5 * x * x)
        x = x - u / (1.0 + 0.5 * x * u)
    return x


@njit(cache=True)
def norm_ppf(p):
    """Phi^{-1}(p) for 0 <= p <= 1 (+-inf at the ends, NaN outside)."""
    if not (0.0 <= p <= 1.0):
        return math.nan
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    if p <= 0.5:
        return _ppf_lower(p)
    return -_ppf_lower(1.0 - p)


@njit(cache=True)
def norm_isf(p):
    """Inverse upper tail: x with 1 - Phi(x) = p, accurate for tiny p."""
    return -norm_ppf(p)


@njit(cache=True, inline="always")
def expm1_minus_x(v):
    """e^v - 1 - v without cancellation for small |v|."""
    if abs(v) < 1e-2:
        return v * v * (0.5 + v * (1.0 / 6.0 + v * (1.0 / 24.0 + v * (1.0 / 120.0 + v / 720.0))))
    return math.expm1(v) - v
