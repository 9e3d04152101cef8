"""docs/api.md is generated from the docstrings and must be up to date."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location(
        "gen_api_docs", ROOT / "tools" / "gen_api_docs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_docs_are_current():
    expected = _generator().render()
    current = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert current == expected, "docs/api.md is stale: run `python tools/gen_api_docs.py`"


def test_every_public_function_has_a_docstring():
    import hocert
    import hocert_sampling
    import hocert_solver

    for pkg in (hocert, hocert_solver, hocert_sampling):
        for name in pkg.__all__:
            obj = getattr(pkg, name)
            if callable(obj):
                assert (obj.__doc__ or "").strip(), f"{pkg.__name__}.{name} has no docstring"
