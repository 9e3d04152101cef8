"""Grids, tables and queries shared by the RadiusTable tests (test_table*.py, test_lookup.py)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import special

from hocert_solver import max_gradient_norm
from hocert_solver.table import RadiusTable, TableVerificationError

SMALL_GRID = {"z_max": 4.0, "dz": 0.25, "da": 0.125, "db": 0.125}
TINY = {"q": special.ndtr([0.5, 1.5, 2.5, 3.5]), "a": [-1.0, -0.5, 0.0, 0.5], "b": [0, 0.5, 1]}


@functools.cache
def small_table() -> RadiusTable:
    """The table of ``SMALL_GRID`` (17 x 17 x 9), built once per session."""
    return RadiusTable.build(**RadiusTable.default_grid(**SMALL_GRID))


def random_feasible(rng: np.random.Generator, n: int, z_hi: float = 4.5):
    """Queries with z = Phi^{-1}(q) uniform in (0, z_hi] and (a, b) uniform in the disk."""
    z = rng.uniform(1e-3, z_hi, n)
    q = special.ndtr(z)
    a = rng.uniform(-1.0, 1.0, n)
    b = rng.uniform(0.0, 1.0, n) * np.sqrt(1.0 - np.maximum(a, 0.0) ** 2)
    big_m = max_gradient_norm(q)
    return q, a * big_m, b * big_m


def reference_corner(tab: RadiusTable, q, m1, m2):
    """Floor indices by binary search against the solver inputs A = a M_i, B = b M_i."""
    i = np.searchsorted(tab.q, q, side="right") - 1
    m1g = tab.big_m[i, None] * tab.a[None, :]
    m1g[:, tab.a <= -1.0] = -np.inf
    m2g = tab.big_m[i, None] * tab.b[None, :]
    j = np.array([np.searchsorted(row, x, side="right") - 1 for row, x in zip(m1g, m1)])
    k = np.array([np.searchsorted(row, x, side="right") - 1 for row, x in zip(m2g, m2)])
    return i, j, k, m1g[np.arange(i.size), j], m2g[np.arange(i.size), k]


def rewrite(path: Path, out: Path, **changes) -> None:
    """Copy the table file ``path`` to ``out`` with arrays (and ``meta`` entries) replaced."""
    with np.load(path) as f:
        data = {k: f[k] for k in f.files}
    meta = json.loads(str(data["metadata"]))
    meta.update(changes.pop("meta", {}))
    data["metadata"] = np.array(json.dumps(meta))
    data.update(changes)
    np.savez(out, **data)


def refused(path: Path, match: str) -> RadiusTable:
    """load() refuses the file; verify=False loads it (the opt-out); return that table."""
    with pytest.raises(TableVerificationError, match=match):
        RadiusTable.load(path)
    return RadiusTable.load(path, verify=False)
