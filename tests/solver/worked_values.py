"""The worked values of docs/math.md section 9, shared by the solver tests.

Computed by an independent high-precision solver with the inequality semantics of Theorem 3;
each row is ``(q, a, b, R)`` with ``m1 = a * M(q)``, ``m2 = b * M(q)`` and ``R`` rounded to 12
decimals.
"""

WORKED = [
    (0.75, 0.0, 0.0, 1.121391027103),
    (0.75, -0.5, 0.3, 0.865982324162),
    (0.97, 0.2, 0.5, 2.363481589859),
    (0.97, -0.9, 0.3, 1.954494174199),
    (0.97, -0.6, 0.7, 2.232838824713),
    (0.9995, -0.3, 0.2, 3.419356317886),
    (0.8, 0.0, 1e-7, 1.268034031602),
    (0.999999, -0.99, 0.0, 4.754364305493),
    (0.97, -1.0, 0.0, 1.880793608151),
]
