"""Deprecated alias of :mod:`hocert.plotting` (moved in 0.2; removed in hocert 0.3)."""

import hocert.plotting

from ._moved import alias

alias(__name__, hocert.plotting)
