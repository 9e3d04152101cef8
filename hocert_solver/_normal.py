"""Standard normal special functions as Numba-callable scalars (docs/math.md, section 1).

``phi`` and ``Phi`` are the pdf and cdf, ``norm_sf`` the upper tail, ``norm_ppf`` / ``norm_isf``
the quantile functions (a rational first guess polished by Halley steps on ``erfc``, so that
they are as accurate as ``Phi`` itself and the kernels stay cacheable), and ``expm1_minus_x``
(e^v - 1 - v) which keeps the small-radius terms accurate (docs/math.md, "numerics").
"""

from __future__ import annotations

import math

import numpy as np
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


# Mills ratio R(t) = (1 - Phi(t)) / phi(t) on [k, k + 1), k = 0..9: degree-14 polynomials in
# s = t - k - 1/2, fitted in 40-digit arithmetic by tools/fit_mills_ratio.py (relative error
# 3.3e-16). With R, the tail and the density share one exp: the quadrature kernels need both at
# every node, and libm's erfc costs about four exps.
MILLS_COEF = np.array(
    [
        [
            0.8763644564536923,
            -0.5618177717731582,
            0.297727785283562,
            -0.13765129304314963,
            0.057225534690059164,
            -0.0218077051674131,
            0.007720280364812022,
            -0.0025639373253409864,
            0.0008047887498666928,
            -0.00024017662058447992,
            6.847183780386203e-05,
            -1.869473695607799e-05,
            4.91865074431876e-06,
            -1.3212916201701302e-06,
            3.245981555952025e-07,
        ],
        [
            0.5158156382179634,
            -0.2262765426730551,
            0.08820041210419056,
            -0.03132530817223687,
            0.010303112461441853,
            -0.0031741278968600273,
            0.0009236534365447717,
            -0.0002555210898964211,
            6.754646734978728e-05,
            -1.7133645253290266e-05,
            4.184664906357025e-06,
            -9.861423692770745e-07,
            2.2515574240743235e-07,
            -5.2080077648243025e-08,
            1.1219378648538346e-08,
        ],
        [
            0.35426511132979366,
            -0.11433722167551584,
            0.034211028570502046,
            -0.009603216749752685,
            0.0025507466740291376,
            -0.0006452700129744237,
            0.0001562619402940071,
            -3.637359387266319e-05,
            8.165994026662583e-06,
            -1.773185926818068e-06,
            3.7330638389326004e-07,
            -7.631879615734056e-08,
            1.5193396784021316e-08,
            -3.0490790724502196e-09,
            5.78084697159013e-10,
        ],
        [
            0.26656776896822376,
            -0.06701280861121685,
            0.01601146941448239,
            -0.003657555220176103,
            0.0008025065359664352,
            -0.0001697564688611883,
            3.472648249420527e-05,
            -6.887682828800201e-06,
            1.3274490423086368e-06,
            -2.490683699828708e-07,
            4.557123199055902e-08,
            -8.140226530403209e-09,
            1.422212529336969e-09,
            -2.49710600282929e-10,
            4.188406869177699e-11,
        ],
        [
            0.21257058044203178,
            -0.04343238801085694,
            0.008562417196587771,
            -0.0016338368754039863,
            0.0003025378143174509,
            -5.4483342195304956e-05,
            9.560462406645599e-06,
            -1.63732304813092e-06,
            2.740635830948151e-07,
            -4.489303138566048e-08,
            7.204519538918561e-09,
            -1.1336726851372687e-09,
            1.7513604677760104e-10,
            -2.713788641806687e-11,
            4.0520092764886196e-12,
        ],
        [
            0.1763229857571027,
            -0.030223578335935124,
            0.005046652454729764,
            -0.0008223299449738069,
            0.00013095943934345546,
            -2.0410605716984067e-05,
            3.1168513167011685e-06,
            -4.668462102809799e-07,
            6.864964462131319e-08,
            -9.91924495782693e-09,
            1.4093829114967636e-09,
            -1.9703494444570422e-10,
            2.7126764284790986e-11,
            -3.741559852865565e-12,
            5.006371127004823e-13,
        ],
        [
            0.1504369887362691,
            -0.022159573214250952,
            0.0031998814218189477,
            -0.00045344799080926406,
            6.311737038968263e-05,
            -8.637016655268651e-06,
            1.1627936884102948e-06,
            -1.541225257382189e-07,
            2.0124658827603084e-08,
            -2.59024986891772e-09,
            3.2880395577438264e-10,
            -4.1180835229326937e-11,
            5.091881777239154e-12,
            -6.302961495684825e-13,
            7.608689127471453e-14,
        ],
        [
            0.13107935580449176,
            -0.016904831466311773,
            0.0021465599035767296,
            -0.00026854406316209996,
            3.3119857465245006e-05,
            -4.029026434553024e-06,
            4.836932010169973e-07,
            -5.733248955056957e-08,
            6.712441162221616e-09,
            -7.765757482181171e-10,
            8.881239416476187e-11,
            -1.0043366279040534e-11,
            1.1235350663533155e-12,
            -1.2577092367852932e-13,
            1.3786962750801863e-14,
        ],
        [
            0.11608206338598229,
            -0.013302461219150533,
            0.0015055715116013837,
            -0.00016836779017959035,
            1.8611323768716442e-05,
            -2.034307629100219e-06,
            2.1995148689426191e-07,
            -2.3531427212172914e-08,
            2.491794446461695e-09,
            -2.612416211785198e-10,
            2.7124085521980246e-11,
            -2.7896167506192474e-12,
            2.8427866616319914e-13,
            -2.898057968765912e-14,
            2.902609576284587e-15,
        ],
        [
            0.10413358157959825,
            -0.010730974993816613,
            0.001094659569170216,
            -0.00011056969556652037,
            1.1061865322068104e-05,
            -1.0963950013747007e-06,
            1.0768546816811454e-07,
            -1.0483293396368071e-08,
            1.0117726122517585e-09,
            -9.682817979593449e-11,
            9.190494961791409e-12,
            -8.652939230288362e-13,
            8.083022142822452e-14,
            -7.552128610570386e-15,
            6.950612446128105e-16,
        ],
    ]
)
MILLS_T_MAX = 10.0


@njit(cache=True, inline="always")
def norm_sf_pdf(x):
    """(1 - Phi(x), phi(x)) with one exp; relative error ~1e-15 in both for |x| < 10."""
    g = INV_SQRT_2PI * math.exp(-0.5 * x * x)
    t = abs(x)
    if t >= MILLS_T_MAX:
        return 0.5 * math.erfc(x * INV_SQRT2), g
    k = int(t)
    s = t - k - 0.5
    c = MILLS_COEF[k]
    # Estrin's scheme: a Horner chain of 14 dependent multiply-adds is latency-bound.
    s2 = s * s
    s4 = s2 * s2
    s8 = s4 * s4
    p01 = c[0] + c[1] * s
    p23 = c[2] + c[3] * s
    p45 = c[4] + c[5] * s
    p67 = c[6] + c[7] * s
    p89 = c[8] + c[9] * s
    pab = c[10] + c[11] * s
    pcd = c[12] + c[13] * s
    q0 = p01 + p23 * s2
    q1 = p45 + p67 * s2
    q2 = p89 + pab * s2
    q3 = pcd + c[14] * s2
    m = (q0 + q1 * s4) + (q2 + q3 * s4) * s8
    tail = g * m
    if x >= 0.0:
        return tail, g
    return 1.0 - tail, g


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
def expm1_pair(v):
    """(e^v - 1, e^v - 1 - v), each accurate to a few ulp, without libm's expm1.

    exp where nothing cancels (|v| >= 1/2); closer to 0 the Taylor series of e^v - 1 - v to
    v^15 (truncation below 6e-18 relative) and e^v - 1 from it. expm1 costs about three exps
    and was the largest single cost of the quadrature kernels.
    """
    if abs(v) >= 0.5:
        e = math.exp(v) - 1.0
        return e, e - v
    p = 1.0 / 1307674368000.0
    p = p * v + 1.0 / 87178291200.0
    p = p * v + 1.0 / 6227020800.0
    p = p * v + 1.0 / 479001600.0
    p = p * v + 1.0 / 39916800.0
    p = p * v + 1.0 / 3628800.0
    p = p * v + 1.0 / 362880.0
    p = p * v + 1.0 / 40320.0
    p = p * v + 1.0 / 5040.0
    p = p * v + 1.0 / 720.0
    p = p * v + 1.0 / 120.0
    p = p * v + 1.0 / 24.0
    p = p * v + 1.0 / 6.0
    p = p * v + 0.5
    em = v * v * p
    return v + em, em


@njit(cache=True, inline="always")
def expm1_minus_x(v):
    """e^v - 1 - v without cancellation for small |v|."""
    return expm1_pair(v)[1]
