"""The deprecated aliases of the modules that moved to the application ``hocert`` in 0.2.

``hocert_sampling.cli``, ``.runner``, ``.results``, ``.plotting`` and ``.examples`` are one-line
modules that import their new home and call :func:`alias`: importing the old path warns once
(``DeprecationWarning``, pointing at the importing line) and gives the very module object of
the new path, so old imports, attributes and ``isinstance`` checks keep working for one
release. They are the only library modules that import the application
(``tests/test_layout.py`` lists them).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from types import FrameType, ModuleType

__all__ = ["REMOVED_IN", "alias"]

#: The release that removes the aliases.
REMOVED_IN = "0.3"


def _importer_stacklevel() -> int:
    """``stacklevel`` that points ``warnings.warn`` in :func:`alias` at the importing line.

    That is the first frame outside this module, the alias module and importlib. ``warn``
    itself does not count importlib's bootstrap frames, so neither does this.
    """
    frame: FrameType | None = sys._getframe(1)  # alias()
    assert frame is not None
    assert frame.f_back is not None
    skip = {frame.f_code.co_filename, frame.f_back.f_code.co_filename}  # this module, the alias
    level = 0
    while frame is not None:
        name = frame.f_code.co_filename
        if not ("importlib" in name and "_bootstrap" in name):  # as warnings.warn counts
            level += 1
            if name not in skip and Path(name).parent.name != "importlib":
                return level
        frame = frame.f_back
    return 2  # pragma: no cover - every import has an importer


def alias(old: str, new: ModuleType) -> ModuleType:
    """Make the module ``old`` an alias of ``new`` (``sys.modules``), with a warning."""
    warnings.warn(
        f"{old} is deprecated: import {new.__name__} instead ({old} moved to the application "
        f"package hocert in 0.2; the alias is removed in hocert {REMOVED_IN})",
        DeprecationWarning,
        stacklevel=_importer_stacklevel(),
    )
    sys.modules[old] = new
    return new
