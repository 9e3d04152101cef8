"""One base exception class per package (issue #12): every exception a package defines derives
from its package's base, and from the builtin it always was (old ``except`` clauses still work)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import hocert
import hocert_sampling
import hocert_solver
from hocert.cli import CliError
from hocert.results import ResultsCorrupted, ResultsMismatch
from hocert_sampling.backend import BackendError
from tests.test_layout import DEPRECATED_ALIASES

BASES = {
    "hocert": hocert.HocertError,
    "hocert_solver": hocert_solver.HocertSolverError,
    "hocert_sampling": hocert_sampling.HocertSamplingError,
}


def _modules(package: str) -> list[str]:
    """The package and its modules, but the deprecated aliases and ``__main__`` scripts."""
    aliases = {path.removesuffix(".py").replace("/", ".") for path in DEPRECATED_ALIASES}
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, f"{package}."):
        if info.name not in aliases and not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def _exceptions_defined_in(package: str) -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for name in _modules(package):
        for _, obj in inspect.getmembers(importlib.import_module(name), inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.split(".")[0] == package:
                found.add(obj)
    return found


@pytest.mark.parametrize("package", sorted(BASES))
def test_every_exception_derives_from_its_package_base(package):
    base = BASES[package]
    found = _exceptions_defined_in(package)
    assert base in found
    assert {exc for exc in found if not issubclass(exc, base)} == set()
    assert base.__module__ == package  # shown as hocert_solver.HocertSolverError, ...
    for other in set(BASES.values()) - {base}:
        assert not issubclass(base, other)


@pytest.mark.parametrize(
    ("exc", "base", "builtin"),
    [
        (hocert_solver.TableBuildError, hocert_solver.HocertSolverError, RuntimeError),
        (hocert_solver.TableVerificationError, hocert_solver.HocertSolverError, ValueError),
        (hocert_sampling.ModelError, hocert_sampling.HocertSamplingError, RuntimeError),
        (hocert_sampling.ModelOutputError, hocert_sampling.HocertSamplingError, ValueError),
        (BackendError, hocert_sampling.HocertSamplingError, RuntimeError),
        (CliError, hocert.HocertError, Exception),
        (ResultsMismatch, hocert.HocertError, ValueError),
        (ResultsCorrupted, hocert.HocertError, ValueError),
    ],
)
def test_each_exception_is_its_package_base_and_its_old_builtin(exc, base, builtin):
    error = exc("message")
    assert isinstance(error, base)
    assert isinstance(error, builtin)
    assert str(error) == "message"


def test_the_bases_are_exported():
    for package, base in BASES.items():
        module = importlib.import_module(package)
        assert base.__name__ in module.__all__
        assert getattr(hocert, base.__name__) is base  # hocert re-exports all three


def test_a_table_error_is_caught_by_the_solver_base():
    table = hocert_solver.RadiusTable.build([0.6, 0.9], [0.0, 0.5], [0.0, 0.5])
    args = (table.q, table.a, table.b, table.values, table.status)
    with pytest.raises(hocert_solver.HocertSolverError, match="big_m must equal"):
        hocert_solver.RadiusTable(*args, big_m=table.big_m * 1.001)
