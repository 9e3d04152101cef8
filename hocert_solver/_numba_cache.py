"""Where Numba keeps the compiled kernels: a per-user cache directory, never the package folder.

Every kernel is ``@njit(cache=True)``. By default Numba writes its cache (``*.nbi`` index and
``*.nbc`` code files) into ``__pycache__`` next to the source, i.e. into the installed package;
pip does not know these files, leaves them behind on uninstall, and the leftover
``hocert_solver/__pycache__`` in site-packages then shadows a later editable install as an
empty namespace package (issue #13). So while ``hocert_solver`` imports its kernel modules,
Numba's ``config.CACHE_DIR`` points at, in this order:

1. the directory the user gave Numba (``NUMBA_CACHE_DIR``, or ``cache_dir`` in a
   ``.numba_config.yaml``): respected as is;
2. ``<user cache>/hocert/numba/<hocert version>``, where ``<user cache>`` is
   ``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux and other POSIX systems, ``~/Library/Caches``
   on macOS and ``%LOCALAPPDATA%`` on Windows;
3. when that cannot be created or written, a private temporary directory for this process
   only (removed at exit): kernels are then compiled once per process;
4. when no temporary directory can be made either, Numba's own default.

Numba picks a function's cache directory when its ``@njit(cache=True)`` decorator runs (the
dispatcher's cache locator reads ``config.CACHE_DIR`` then), so ``hocert_solver/__init__.py``
imports this module (which calls :func:`redirect`) before any kernel module and calls
:func:`restore` after the last, which gives the setting back: other Numba code in the same
process keeps its usual cache. A kernel module imported only later (lazily) would miss the
redirect: tests/solver/test_numba_cache.py checks that every cached kernel of the package has
its cache in the chosen directory.

Within the directory Numba keeps one subdirectory per source folder, so an installed copy and
an editable checkout of the same version do not share files.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from numba.core import config as _numba_config

# Numba creates its settings (CACHE_DIR, ...) as module globals at run time: not visible to mypy.
config: Any = _numba_config

# The directory chosen by the last `redirect()` (None: Numba's default was left alone), and the
# setting it replaced.
chosen: str | None = None
_previous: str = ""


def _hocert_version() -> str:
    try:
        v = version("hocert")
    except PackageNotFoundError:  # a source tree that was never installed
        v = "0+unknown"
    return re.sub(r"[^A-Za-z0-9._+-]", "_", v)


def _user_cache_root() -> Path:
    """The per-user cache root of this platform (XDG on Linux)."""
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        return Path(local) if local else Path.home() / "AppData" / "Local"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    xdg = os.environ.get("XDG_CACHE_HOME")
    # The XDG specification says relative paths are invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return Path(xdg)
    return Path.home() / ".cache"


def default_cache_dir() -> Path:
    """``<user cache>/hocert/numba/<version>``: the default home of the compiled kernels."""
    return _user_cache_root() / "hocert" / "numba" / _hocert_version()


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()  # the check Numba's locators make
    except OSError:
        return False
    return True


def _temporary_cache_dir() -> str | None:
    try:
        path = tempfile.mkdtemp(prefix="hocert-numba-")  # private (0700), never shared
    except OSError:
        return None
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def resolve() -> str | None:
    """The directory for Numba's cache by the rules above (None: leave Numba's default)."""
    # Bring Numba's config up to date with the environment first, so that a NUMBA_CACHE_DIR set
    # after `import numba` is seen, and so that Numba's own reload at compile time does not
    # overwrite the value set here.
    config.reload_config()
    if config.CACHE_DIR:
        return str(config.CACHE_DIR)
    try:
        default: Path | None = default_cache_dir()
    except (OSError, RuntimeError, KeyError):  # no home directory to be found
        default = None
    # Python < 3.12 leaves "~" as it is when there is no home directory: never cache relative
    # to the working directory.
    if default is not None and default.is_absolute() and _writable(default):
        return str(default)
    return _temporary_cache_dir()


def redirect() -> None:
    """Point Numba's cache at :func:`resolve`'s directory until :func:`restore`."""
    global chosen, _previous
    chosen = resolve()
    _previous = config.CACHE_DIR  # after resolve() brought it up to date with the environment
    if chosen is not None:
        config.CACHE_DIR = chosen


def restore() -> None:
    """Give Numba's cache setting back as :func:`redirect` found it."""
    config.CACHE_DIR = _previous


redirect()
