"""The strip case m2 = 0 (``_strip``): its closed-form witness certifies the strip radius and
nothing beyond it."""

from hocert_solver._strip import certified_strip_radius, strip_dual


def test_strip_witness_refuses_beyond_the_strip_radius():
    q, m1 = 0.9, -0.05
    r, w2, w1 = certified_strip_radius(q, m1)
    assert strip_dual(q, m1, w2, w1, r) > 0.5
    assert strip_dual(q, m1, w2, w1, r * (1 + 1e-6)) < 0.5
