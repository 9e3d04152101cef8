"""Compute the 17-point Gauss-Kronrod rule extending 8-point Gauss-Legendre on [-1, 1].

The 9 added nodes are the zeros of the Stieltjes polynomial E_9, the monic polynomial of degree 9
orthogonal to x^k (k < 9) with weight P_8 on [-1, 1]; the 17 weights make the rule exact for
polynomials of degree <= 25. Everything is done in 50-digit arithmetic with mpmath. Prints the
constants used in hocert_solver/_quadrature.py; tests/solver/test_quadrature.py checks them.
"""

from __future__ import annotations

import mpmath as mp

N = 8


def legendre_moment(k: int) -> mp.mpf:
    """int_{-1}^{1} P_N(x) x^k dx."""
    return mp.quad(lambda x: mp.legendre(N, x) * x**k, [-1, 1])


def main() -> None:
    mp.mp.dps = 50
    # E_9 is odd: x^9 + c7 x^7 + c5 x^5 + c3 x^3 + c1 x; orthogonality to x^1, x^3, x^5, x^7.
    powers = [1, 3, 5, 7]
    a = mp.matrix(4, 4)
    rhs = mp.matrix(4, 1)
    for i, k in enumerate(powers):
        for j, p in enumerate(powers):
            a[i, j] = legendre_moment(k + p)
        rhs[i] = -legendre_moment(k + 9)
    c = mp.lu_solve(a, rhs)
    coeffs = [mp.mpf(1), 0, c[3], 0, c[2], 0, c[1], 0, c[0], 0]  # highest degree first
    kronrod = sorted(mp.polyroots(coeffs, maxsteps=200, extraprec=200), key=lambda z: mp.re(z))
    kronrod = [mp.re(z) for z in kronrod]
    legendre_coeffs = mp.taylor(lambda x: mp.legendre(N, x), 0, N)[::-1]
    gauss = sorted(mp.re(z) for z in mp.polyroots(legendre_coeffs))
    nodes = sorted(gauss + kronrod)
    m = len(nodes)
    v = mp.matrix(m, m)
    b = mp.matrix(m, 1)
    for i in range(m):
        for j, x in enumerate(nodes):
            v[i, j] = x**i
        b[i] = mp.mpf(2) / (i + 1) if i % 2 == 0 else 0
    w = mp.lu_solve(v, b)

    def moment(d: int) -> mp.mpf:
        return mp.mpf(2) / (d + 1) if d % 2 == 0 else mp.mpf(0)

    worst = max(abs(sum(w[j] * nodes[j] ** d for j in range(m)) - moment(d)) for d in range(26))
    print(f"# exactness error up to degree 25: {mp.nstr(worst, 3)}")
    print("GK17_X = np.array([" + ", ".join(repr(float(x)) for x in nodes) + "])")
    print("GK17_W = np.array([" + ", ".join(repr(float(x)) for x in w) + "])")
    is_gauss = [any(abs(x - g) < mp.mpf(10) ** -40 for g in gauss) for x in nodes]
    print("GK17_GAUSS = np.array([" + ", ".join(str(i) for i, g in enumerate(is_gauss) if g) + "])")


if __name__ == "__main__":
    main()
