"""The status codes of a radius, their names, and the accuracy rule behind CONVERGED.

The one definition of the codes (documented on ``directional.RadiusResult``); every other module,
Numba kernels included, imports them from here.
"""

from __future__ import annotations

from numba import njit

# Public status codes (documented in directional.py).
CONVERGED = 0
ABSTAIN = 1
PROJECTED = 2  # no longer produced (kept for saved tables and callers that name it)
FALLBACK = 3
INCONSISTENT = 4
LOWERED = 5  # verify=True: the radius was lowered until ball arithmetic proved it
INVALID = -1

STATUS_NAMES = {
    CONVERGED: "converged",
    ABSTAIN: "abstain",
    PROJECTED: "projected",
    FALLBACK: "fallback",
    INCONSISTENT: "inconsistent",
    LOWERED: "lowered",
    INVALID: "invalid",
}

# A witnessed radius more than this (relative to r*) below Newton's solution r* did not meet the
# 1e-6 accuracy goal (the witness's error bounds forced it down: multipliers of 1e14 and more
# near the edge of the feasible disk, or a floor of 1e-19 in D against an excess of the size of
# q - 1/2 near q = 1/2): it is still certified, but reported FALLBACK. Relative to r*, not to
# max(1, r*): a tiny radius near q = 1/2 is CONVERGED only when it holds 1e-6 of its own digits
# (with m1 slack at q - 1/2 = 1e-13 it was CONVERGED 2.3e-6 low, at 1e-14 2.3e-5 low).
ACCURACY = 5e-7


@njit(cache=True, inline="always")
def _accuracy_status(r_star, r):
    """CONVERGED if the witnessed r is within ACCURACY (relative) of Newton's r_star."""
    return CONVERGED if r_star - r <= ACCURACY * r_star else FALLBACK
