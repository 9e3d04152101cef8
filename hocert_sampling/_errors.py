"""The base class of the sampling library's exceptions (public as
``hocert_sampling.HocertSamplingError``).

Every exception that ``hocert_sampling`` defines derives from it and from the builtin it has
always been (``ModelError`` is also a ``RuntimeError``), so ``except HocertSamplingError``
catches the library's own errors and older clauses keep working. Bad arguments raise the builtin
``ValueError`` / ``TypeError`` themselves.
"""

from __future__ import annotations

__all__ = ["HocertSamplingError"]


class HocertSamplingError(Exception):
    """Base class of the exceptions defined by ``hocert_sampling`` (``ModelError``,
    ``ModelOutputError``, ``BackendError``)."""

    __module__ = "hocert_sampling"
