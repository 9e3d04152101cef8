"""The base class of the solver's exceptions (public as ``hocert_solver.HocertSolverError``).

Every exception that ``hocert_solver`` defines derives from it and from the builtin it has always
been (``TableVerificationError`` is also a ``ValueError``), so ``except HocertSolverError``
catches the library's own errors and older ``except ValueError`` clauses keep working. Bad
arguments raise the builtin ``ValueError`` / ``TypeError`` themselves.
"""

from __future__ import annotations

__all__ = ["HocertSolverError"]


class HocertSolverError(Exception):
    """Base class of the exceptions defined by ``hocert_solver`` (``TableBuildError``,
    ``TableVerificationError``)."""

    __module__ = "hocert_solver"
