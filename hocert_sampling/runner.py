"""Deprecated alias of :mod:`hocert.runner` (moved in 0.2; removed in hocert 0.3)."""

import hocert.runner

from ._moved import alias

alias(__name__, hocert.runner)
