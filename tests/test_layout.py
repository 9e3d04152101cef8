"""The package layout (docs/architecture.md): the application ``hocert`` above two libraries.

The dependencies point one way: ``hocert`` -> ``hocert_sampling`` -> ``hocert_solver``. No library
module imports the application (but the deprecated aliases listed below, until 0.3) or Dask, and
the solver knows nothing of sampling. ``hocert`` re-exports
the libraries' public API, and ``hocert`` the command is ``hocert.cli.main``.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
import warnings
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import hocert
import hocert_sampling
import hocert_solver

ROOT = Path(__file__).resolve().parent.parent

# package -> the top-level packages that its modules must not import: the application, the
# layer above, and Dask (cluster management is the application's: hocert/cluster.py)
DASK = {"dask", "distributed"}
FORBIDDEN = {
    "hocert_solver": {"hocert", "hocert_sampling", *DASK},
    "hocert_sampling": {"hocert", *DASK},
}

# The one exception: the deprecated aliases of the modules that moved to the application in 0.2
# (removed in 0.3; hocert_sampling/_moved.py). Each imports exactly its new home.
DEPRECATED_ALIASES = {
    "hocert_sampling/cli.py": "hocert.cli",
    "hocert_sampling/runner.py": "hocert.runner",
    "hocert_sampling/results.py": "hocert.results",
    "hocert_sampling/plotting.py": "hocert.plotting",
    "hocert_sampling/examples.py": "hocert.examples",
}
MOVED = ("cli", "runner", "results", "plotting", "examples")  # in 0.2, from hocert_sampling


def _imported_packages(path: Path) -> set[str]:
    """First components of the absolute imports in ``path``, lazy ones in functions included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _imported_modules(path: Path) -> set[str]:
    """The absolute module names imported in ``path`` (``import a.b``, ``from a.b import c``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_libraries_do_not_import_upwards(package):
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules
    wrong = {
        path.relative_to(ROOT).as_posix(): sorted(_imported_packages(path) & FORBIDDEN[package])
        for path in modules
        if path.relative_to(ROOT).as_posix() not in DEPRECATED_ALIASES
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_every_module_that_moved_has_an_alias():
    assert sorted(DEPRECATED_ALIASES.items()) == sorted(
        (f"hocert_sampling/{name}.py", f"hocert.{name}") for name in MOVED
    )


@pytest.mark.parametrize("path", sorted(DEPRECATED_ALIASES))
def test_a_deprecated_alias_imports_only_its_new_home(path):
    imported = _imported_modules(ROOT / path)
    upward = {name for name in imported if name.split(".")[0] in FORBIDDEN["hocert_sampling"]}
    assert upward == {DEPRECATED_ALIASES[path]}


def test_dask_is_imported_only_by_the_application():
    users = {
        path.relative_to(ROOT).as_posix()
        for package in ("hocert", "hocert_solver", "hocert_sampling")
        for path in (ROOT / package).rglob("*.py")
        if _imported_packages(path) & DASK
    }
    assert users
    assert all(user.startswith("hocert/") for user in users), sorted(users)


def test_the_import_scan_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from hocert.cli import main\n    import hocert.runner\n")
    assert _imported_packages(module) == {"hocert"}


# The modules of a certify run (docs/architecture.md), each importing only those before it: the
# row knows nothing of Dask, the Dask tasks nothing of the run.
RUN_MODULES = ("_row", "_worker", "_inputs", "_plan", "runner")


def _hocert_submodules(path: Path) -> set[str]:
    """The ``hocert`` submodules that ``path``, a module of ``hocert``, imports (lazily too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    full: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            full += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = ".".join(filter(None, ["hocert" if node.level else "", node.module]))
            full += [module, *(f"{module}.{alias.name}" for alias in node.names)]
    return {name.split(".")[1] for name in full if name.startswith("hocert.")}


@pytest.mark.parametrize("position", range(len(RUN_MODULES)))
def test_the_run_modules_import_one_way(position):
    module = RUN_MODULES[position]
    later = _hocert_submodules(ROOT / "hocert" / f"{module}.py") & set(RUN_MODULES[position:])
    assert later == set(), f"hocert/{module}.py imports {sorted(later)}"


def test_hocert_all_resolves():
    for name in hocert.__all__:
        assert hasattr(hocert, name), name
    assert len(set(hocert.__all__)) == len(hocert.__all__)


@pytest.mark.parametrize("library", [hocert_solver, hocert_sampling])
def test_hocert_reexports_the_public_api_of_the_libraries(library):
    missing = sorted(set(library.__all__) - set(hocert.__all__))
    assert not missing, f"hocert/__init__.py must re-export {missing} (from the library's __all__)"
    for name in library.__all__:
        assert getattr(hocert, name) is getattr(library, name), name


def test_version_is_the_solvers():
    assert hocert.__version__ == hocert_solver.__version__


def test_the_command_is_hocert_cli_main():
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("hocert") == "hocert.cli:main"


@pytest.mark.parametrize("path", sorted(DEPRECATED_ALIASES))
def test_a_deprecated_alias_warns_and_is_the_new_module(path, monkeypatch):
    old = path.removesuffix(".py").replace("/", ".")
    new = importlib.import_module(DEPRECATED_ALIASES[path])
    monkeypatch.delitem(sys.modules, old, raising=False)  # import it afresh, restored afterwards
    monkeypatch.delattr(hocert_sampling, old.rsplit(".", 1)[1], raising=False)
    expected = (
        rf"^{re.escape(old)} is deprecated: import {re.escape(new.__name__)} instead .*"
        r"removed in hocert 0\.3\)$"
    )
    with pytest.warns(DeprecationWarning, match=expected) as record:
        exec(compile(f"import {old} as module", __file__, "exec"), namespace := {})
    assert namespace["module"] is new
    assert getattr(hocert_sampling, old.rsplit(".", 1)[1]) is new
    assert [w.filename for w in record] == [__file__]  # the warning points at the import
    # Imported again: the same module, no second warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert importlib.import_module(old) is new
