"""Build hocert_solver/data/warm_start.npy, the Newton warm-start table (docs/math.md).

Every node is solved by the cold solver (strip start and continuation), so the table never
depends on an older table. Run after any change to the equations or the solver's variables:

    python tools/make_warm_start.py
"""

from __future__ import annotations

import time

import numpy as np

from hocert_solver import _warm_start


def main() -> None:
    t0 = time.perf_counter()
    table = _warm_start.build_table()
    missing = int(np.isnan(table[..., 0]).sum())
    _warm_start.TABLE_FILE.parent.mkdir(exist_ok=True)
    np.save(_warm_start.TABLE_FILE, table.astype(np.float32))
    print(
        f"{_warm_start.TABLE_FILE}: {table.shape}, {missing} unsolved nodes, "
        f"{time.perf_counter() - t0:.1f} s"
    )


if __name__ == "__main__":
    main()
