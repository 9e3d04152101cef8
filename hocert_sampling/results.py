"""Deprecated alias of :mod:`hocert.results` (moved in 0.2; removed in hocert 0.3)."""

import hocert.results

from ._moved import alias

alias(__name__, hocert.results)
