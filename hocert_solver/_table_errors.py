"""The exceptions of the lookup tables (public as ``hocert_solver.table.TableBuildError``,
``hocert_solver.table.TableFormatError`` and ``hocert_solver.table.TableVerificationError``).

They live here, below every table module, so that the private modules can raise them without
importing the public ``table`` module; their ``__module__`` is that public home.
"""

from __future__ import annotations

from ._errors import HocertSolverError

__all__ = ["TableBuildError", "TableFormatError", "TableVerificationError"]


class TableBuildError(HocertSolverError, RuntimeError):
    """A table build could not proceed (checkpoint mismatch or a checkpoint chunk that fails
    verification, worker version mismatch)."""

    __module__ = "hocert_solver.table"


class TableVerificationError(HocertSolverError, ValueError):
    """A table's contents are not proved by its own witnesses (:meth:`RadiusTable.verify`).

    Raised by :meth:`RadiusTable.load` for a file altered or damaged after it was built (or a
    version-1 file, which holds no witness multipliers), and by the constructor for a
    ``big_m`` that does not match ``q``.
    """

    __module__ = "hocert_solver.table"


class TableFormatError(HocertSolverError, ValueError):
    """A file is not a readable RadiusTable file: not an ``.npz`` archive, truncated or
    corrupted, arrays or metadata missing, or a format version this hocert does not read.

    Raised by :meth:`RadiusTable.load` (before any verification; a file that reads but whose
    radii are not proved raises :class:`TableVerificationError`).
    """

    __module__ = "hocert_solver.table"
