"""The base class of the application's exceptions (public as ``hocert.HocertError``).

The exceptions that ``hocert`` itself defines (the command's ``CliError``, the result files'
``ResultsMismatch`` and ``ResultsCorrupted``) derive from it. The libraries have their own bases,
``hocert_solver.HocertSolverError`` and ``hocert_sampling.HocertSamplingError``, re-exported here.
"""

from __future__ import annotations

__all__ = ["HocertError"]


class HocertError(Exception):
    """Base class of the exceptions defined by the application ``hocert`` (``CliError``,
    ``hocert.results.ResultsMismatch``, ``hocert.results.ResultsCorrupted``)."""

    __module__ = "hocert"
