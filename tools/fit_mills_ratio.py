"""Fit the Mills-ratio polynomials used by ``hocert_solver._normal.norm_sf_pdf``.

The Mills ratio R(t) = (1 - Phi(t)) / phi(t) is smooth on [0, inf). On each unit interval
[k, k + 1), k = 0..MILLS_INTERVALS - 1, it is fitted by a degree-MILLS_DEGREE polynomial in
s = t - k - 1/2 (least squares on Chebyshev points, in 40-digit arithmetic with mpmath), which
keeps the relative error near 3e-16. Run ``python tools/fit_mills_ratio.py`` and paste the
printed table into hocert_solver/_normal.py; tests/solver/test_normal.py checks the result.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np

MILLS_INTERVALS = 10
MILLS_DEGREE = 14
N_POINTS = 60


def mills(t: mp.mpf) -> mp.mpf:
    return mp.sqrt(2 * mp.pi) * mp.exp(t * t / 2) * mp.ncdf(-t)


def fit_interval(k: int) -> list[float]:
    s = [mp.cos(mp.pi * (i + mp.mpf(0.5)) / N_POINTS) / 2 for i in range(N_POINTS)]
    a = mp.matrix(N_POINTS, MILLS_DEGREE + 1)
    y = mp.matrix(N_POINTS, 1)
    for i, si in enumerate(s):
        for j in range(MILLS_DEGREE + 1):
            a[i, j] = si**j
        y[i] = mills(k + mp.mpf(0.5) + si)
    c = mp.qr_solve(a, y)[0]
    return [float(c[j]) for j in range(MILLS_DEGREE + 1)]


def main() -> None:
    mp.mp.dps = 40
    rows = [fit_interval(k) for k in range(MILLS_INTERVALS)]
    worst = 0.0
    for k, row in enumerate(rows):
        s = np.linspace(-0.5, 0.5, 201)
        approx = np.polynomial.polynomial.polyval(s, row)
        exact = np.array([float(mills(k + mp.mpf(0.5) + mp.mpf(float(si)))) for si in s])
        worst = max(worst, float(np.max(np.abs(approx / exact - 1.0))))
    print(f"# max relative error of the fit: {worst:.2e}")
    print("MILLS_COEF = np.array(")
    print("    [")
    for row in rows:
        print("        [" + ", ".join(repr(c) for c in row) + "],")
    print("    ]")
    print(")")


if __name__ == "__main__":
    main()
