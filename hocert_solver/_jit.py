"""How the kernels are compiled: one specialisation per argument types (issue #13).

Numba types a constant argument of a call from one kernel to another (``True``, ``8``) as a
literal and compiles a separate specialisation of the callee for each constant it is called
with; every specialisation links and compiles the callee's whole call tree again. For the
solver that was most of its first compilation: ``_newton`` had six specialisations,
``_solve_modes`` three. :func:`one_specialisation` types such calls with the plain types
(``bool``, ``int64``) instead. Kernels whose constant arguments do select code worth
specialising (``_integrals.integrals_on``: the quadrature rule, the Jacobian) keep Numba's
behaviour.
"""

from __future__ import annotations

from typing import Any, TypeVar

from numba.core import types

D = TypeVar("D")


def one_specialisation(dispatcher: D) -> D:
    """Make calls from other kernels compile ``dispatcher`` for non-literal argument types."""
    target: Any = dispatcher
    get_call_template = getattr(target, "get_call_template", None)
    if get_call_template is None:  # NUMBA_DISABLE_JIT=1: a plain Python function
        return dispatcher

    def plain_call_template(args: tuple[Any, ...], kws: dict[str, Any]) -> Any:
        return get_call_template(
            tuple(types.unliteral(t) for t in args),
            {k: types.unliteral(t) for k, t in kws.items()},
        )

    target.get_call_template = plain_call_template
    return dispatcher
