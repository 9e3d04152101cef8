"""RadiusTable, the facade: grids, the constructor, tightness reports, the public names."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy import special

from hocert_solver import ABSTAIN, CONVERGED, FALLBACK
from hocert_solver.table import RadiusTable, TightnessReport
from tests.solver.table_helpers import random_feasible, small_table


@pytest.fixture(scope="module")
def table() -> RadiusTable:
    return small_table()


# ------------------------------------------------------------------------------ grids


def test_default_grid_is_uniform_in_z_and_covers_the_domain():
    g = RadiusTable.default_grid()
    z = special.ndtri(g["q"])
    assert g["q"][0] == 0.5
    assert np.allclose(np.diff(z), 0.025, atol=1e-9)
    assert z[-1] == pytest.approx(5.3)
    assert g["a"][0] == -1.0
    assert g["a"][-1] == 1.0
    assert g["b"][0] == 0.0
    assert g["b"][-1] == 1.0
    assert np.allclose(np.diff(g["a"]), 0.1)
    assert np.allclose(np.diff(g["b"]), 0.1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"z_max": 0.0}, "z_max"),
        ({"z_max": 9.0}, "z_max"),
        ({"dz": 0.0}, "dz"),
        ({"da": 2.0}, "da"),
        ({"db": -0.1}, "db"),
    ],
)
def test_default_grid_rejects_bad_steps(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RadiusTable.default_grid(**kwargs)


# ------------------------------------------------------------------------------ soundness


def test_lookup_is_below_direct_radius_on_random_feasible_queries(table):
    rng = np.random.default_rng(20240601)
    q, m1, m2 = random_feasible(rng, 2000)
    rep = table.tightness(q, m1, m2)
    assert isinstance(rep, TightnessReport)
    assert rep.n_above_direct() == 0
    conv = rep.direct_status == CONVERGED
    assert conv.mean() > 0.95
    tol = 1e-6 * np.maximum(1.0, np.where(np.isfinite(rep.direct), rep.direct, 1.0))
    assert np.all(rep.lookup[conv] <= rep.direct[conv] + tol[conv])
    # Feasible queries are never flagged, never outside, never NaN.
    assert np.all(np.isin(rep.lookup_status, [CONVERGED, FALLBACK, ABSTAIN]))
    assert np.all(np.isfinite(rep.lookup) | np.isinf(rep.direct))
    s = rep.summary()
    assert s["n"] == 2000
    assert s["n_above_direct"] == 0
    assert 0.5 < s["median_ratio"] <= 1.0 + 1e-6


# ------------------------------------------------------------------------------ constructor


def test_constructor_validation(table):
    args = (table.q, table.a, table.b, table.values, table.status)
    with pytest.raises(ValueError, match="strictly increasing"):
        RadiusTable(table.q[::-1], *args[1:])
    with pytest.raises(ValueError, match=r"grid q must lie in \[0.5, 1\)"):
        RadiusTable(np.array([0.4, 0.6]), table.a, table.b, table.values[:2], table.status[:2])
    with pytest.raises(ValueError, match=r"grid a must lie in \[-1, 1\]"):
        RadiusTable(table.q, table.a * 2, table.b, table.values, table.status)
    with pytest.raises(ValueError, match="grid shape"):
        RadiusTable(table.q, table.a, table.b, table.values[:, :, :-1], table.status)
    bad = table.status.copy()
    bad[1, -1, -1] = CONVERGED  # (a, b) = (1, 1) is outside the disk
    with pytest.raises(ValueError, match="SKIPPED must mark exactly"):
        RadiusTable(table.q, table.a, table.b, table.values, bad)
    vals = table.values.copy()
    vals[2, 0, 0] = np.nan
    with pytest.raises(ValueError, match="must be >= 0 and not NaN"):
        RadiusTable(table.q, table.a, table.b, vals, table.status)
    with pytest.raises(ValueError, match="big_m must equal"):
        RadiusTable(*args, big_m=table.big_m * 1.001)
    with pytest.raises(ValueError, match="holds codes outside"):
        RadiusTable(table.q, table.a, table.b, table.values, np.full(table.shape, 7, np.int8))


def test_arrays_are_read_only(table):
    with pytest.raises(ValueError, match="read-only"):
        table.values[1, 0, 0] = 100.0


def test_table_module_has_no_import_time_dask_dependency():
    # Importing the table must not start or import Dask (only build() does).
    code = "import sys, hocert_solver.table; print('distributed' in sys.modules)"
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_public_names_of_the_table_module():
    # The names callers import from hocert_solver.table (the CLI, the docs, the package),
    # whichever private module defines them.
    import hocert_solver
    from hocert_solver import table as module

    assert set(module.__all__) == {
        "OUTSIDE",
        "SKIPPED",
        "TABLE_FORMAT_VERSION",
        "RadiusTable",
        "TableBuildError",
        "TableFormatError",
        "TableVerification",
        "TableVerificationError",
        "TightnessReport",
    }
    assert (module.OUTSIDE, module.SKIPPED, module.TABLE_FORMAT_VERSION) == (-2, -3, 2)
    for name in ("OUTSIDE", "SKIPPED", "RadiusTable", "TableBuildError", "TightnessReport"):
        assert getattr(hocert_solver, name) is getattr(module, name)
    assert hocert_solver.TableVerificationError is module.TableVerificationError
    assert issubclass(module.TableBuildError, RuntimeError)
    assert issubclass(module.TableVerificationError, ValueError)
    # Tracebacks name the public home of the exceptions.
    assert module.TableBuildError.__module__ == "hocert_solver.table"
    assert module.TableVerificationError.__module__ == "hocert_solver.table"
    assert issubclass(module.TableFormatError, ValueError)
    assert issubclass(module.TableFormatError, hocert_solver.HocertSolverError)
    assert module.TableFormatError.__module__ == "hocert_solver.table"
