"""Build hocert_solver/data/warm_start.npz, the Newton warm-start tables (docs/math.md).

Every node is solved by the cold solver (strip start and continuation), so the tables never
depend on older tables. Run after any change to the equations or the solver's variables:

    python tools/make_warm_start.py
"""

from __future__ import annotations

import time

import numpy as np

from hocert_solver import _warm_start, _warm_start_build


def main() -> None:
    t0 = time.perf_counter()
    tables = {
        "main": _warm_start_build.build_table(small_z=False),
        "small_z": _warm_start_build.build_table(small_z=True),
    }
    _warm_start.TABLE_FILE.parent.mkdir(exist_ok=True)
    _warm_start.save_tables(_warm_start.TABLE_FILE, tables["main"], tables["small_z"])
    for name, table in tables.items():
        missing = int(np.isnan(table[..., 0]).sum())
        print(f"{name}: {table.shape}, {missing} unsolved nodes")
    print(f"{_warm_start.TABLE_FILE}: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
