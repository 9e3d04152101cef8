"""Write docs/api.md from the docstrings of the public API (``python tools/gen_api_docs.py``).

The page lists, for each package, every name in ``__all__`` that is a function or a class,
with its signature and docstring (and the public methods of classes). A name that a package
re-exports from another one (``hocert`` re-exports the libraries' API) is listed once, under
the package that defines it. A test
(tests/test_api_docs.py) fails when docs/api.md is out of date.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

PACKAGES = ("hocert", "hocert_solver", "hocert_sampling")
OUT = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def _signature(obj: object) -> str:
    try:
        return str(inspect.signature(obj))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "(...)"


def _doc(obj: object) -> str:
    doc = inspect.getdoc(obj) or "(no docstring)"
    return "```text\n" + doc.strip() + "\n```\n"


def _methods(cls: type) -> list[tuple[str, object]]:
    out = []
    for name, member in cls.__dict__.items():
        if name.startswith("_"):
            continue
        target = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
        if inspect.isfunction(target) or isinstance(member, property):
            out.append((name, member))
    return out


def render() -> str:
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings by `python tools/gen_api_docs.py`; do not edit by hand.",
        "Units and conventions: docs/math.md, section 1.",
        "",
    ]
    for pkg_name in PACKAGES:
        pkg = __import__(pkg_name)
        lines += [f"## `{pkg_name}`", "", _doc(pkg)]
        for name in sorted(pkg.__all__):
            obj = getattr(pkg, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if obj.__module__.split(".")[0] != pkg_name:  # a re-export, listed where defined
                continue
            kind = "class" if inspect.isclass(obj) else "function"
            lines += [f"### `{pkg_name}.{name}{_signature(obj)}` ({kind})", "", _doc(obj)]
            if inspect.isclass(obj):
                for mname, member in _methods(obj):
                    if isinstance(member, property):
                        lines += [f"#### `{name}.{mname}` (property)", "", _doc(member)]
                    else:
                        target = (
                            member.__func__
                            if isinstance(member, (classmethod, staticmethod))
                            else member
                        )
                        sig = _signature(target)
                        lines += [f"#### `{name}.{mname}{sig}`", "", _doc(target)]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
