"""Deprecated alias of :mod:`hocert.cli` (moved in 0.2; removed in hocert 0.3)."""

import hocert.cli

from ._moved import alias

if __name__ == "__main__":  # pragma: no cover - python -m hocert_sampling.cli
    alias("hocert_sampling.cli", hocert.cli)
    raise SystemExit(hocert.cli.main())
alias(__name__, hocert.cli)
