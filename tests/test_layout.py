"""The package layout (docs/architecture.md): the application ``hocert`` above two libraries.

The dependencies point one way: ``hocert`` -> ``hocert_sampling`` -> ``hocert_solver``. No library
module imports the application, and the solver knows nothing of sampling. ``hocert`` re-exports
the libraries' public API, and ``hocert`` the command is ``hocert.cli.main``.
"""

from __future__ import annotations

import ast
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import hocert
import hocert_sampling
import hocert_solver

ROOT = Path(__file__).resolve().parent.parent

# package -> the top-level packages of this project that its modules must not import
FORBIDDEN = {
    "hocert_solver": {"hocert", "hocert_sampling"},
    "hocert_sampling": {"hocert"},
}


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


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_libraries_do_not_import_upwards(package):
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imported_packages(path) & FORBIDDEN[package])
        for path in modules
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_import_scan_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from hocert.cli import main\n    import hocert.runner\n")
    assert _imported_packages(module) == {"hocert"}


def test_hocert_all_resolves():
    for name in hocert.__all__:
        assert hasattr(hocert, name), name
    assert len(set(hocert.__all__)) == len(hocert.__all__)


@pytest.mark.parametrize("library", [hocert_solver, hocert_sampling])
def test_hocert_reexports_the_public_api_of_the_libraries(library):
    missing = sorted(set(library.__all__) - set(hocert.__all__))
    assert not missing, f"add {missing} to hocert/__init__.py (imports and __all__)"
    for name in library.__all__:
        assert getattr(hocert, name) is getattr(library, name), name


def test_version_is_the_solvers():
    assert hocert.__version__ == hocert_solver.__version__


def test_the_command_is_hocert_cli_main():
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("hocert") == "hocert.cli:main"
