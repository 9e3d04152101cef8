"""Deprecated alias of :mod:`hocert.examples` (moved in 0.2; removed in hocert 0.3)."""

import hocert.examples

from ._moved import alias

alias(__name__, hocert.examples)
