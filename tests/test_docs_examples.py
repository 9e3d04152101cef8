"""Every example in the docs runs as written (issue #12): README.md, CONTRIBUTING.md, docs/*.md
and the docstrings.

- ```` ```python ```` blocks run in order, one namespace and one temporary working directory per
  file (a later block may use an earlier one's names and files). A block with a line
  ``# needs: ...`` (a CUDA GPU, PyTorch, a Dask cluster) is skipped with that reason.
- Shell blocks (```` ```bash ````, ```` ```console ````, ```` ```text ```` with ``$ `` prompts):
  every ``hocert ...`` command must parse; the cheap ones (:data:`CHEAP`: ``radius``,
  ``table query`` on a small table, ``--version``, ``--help``) run in-process, and where the
  block shows the output (``$ hocert ...`` followed by lines) the command prints it (numbers
  to 1e-9 relative). The others (a run over a data set, a table build, a figure, a cluster) are
  parsed only.
- Docstrings: ``>>>`` examples of every module of the three packages run with :mod:`doctest`.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import math
import os
import pkgutil
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from hocert.cli import build_parser, main
from tests.test_layout import DEPRECATED_ALIASES

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
PACKAGES = ("hocert", "hocert_solver", "hocert_sampling")

SHELL = {"bash", "sh", "shell", "console"}
NEEDS = re.compile(r"^\s*#\s*needs:\s*(?P<what>.+?)\s*$", re.M)


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the first line of code (1-based)
    lang: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"


def _blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, indented ones (in list items) included."""
    blocks = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        indent, lang = fence.groups()
        start = i + 1
        i = start
        while not re.match(rf"^{indent}```\s*$", lines[i]):
            i += 1
        code = "\n".join(line[len(indent) :] for line in lines[start:i])
        blocks.append(Block(path, start + 1, lang, code + "\n"))
        i += 1
    return blocks


ALL_BLOCKS = [block for path in DOC_FILES for block in _blocks(path)]
PYTHON_BLOCKS = [block for block in ALL_BLOCKS if block.lang == "python"]


def test_the_docs_have_examples():
    assert len(PYTHON_BLOCKS) >= 5
    assert {block.path.name for block in PYTHON_BLOCKS} >= {"README.md", "usage.md"}


# ---------------------------------------------------------------------------------------------
# Python blocks
# ---------------------------------------------------------------------------------------------


@dataclass
class _FileRun:
    """The namespace and working directory that one file's Python blocks share."""

    cwd: Path
    namespace: dict[str, object]
    done: int = 0  # blocks of the file run (or skipped) so far


_RUNS: dict[Path, _FileRun] = {}


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[b.id for b in PYTHON_BLOCKS])
def test_python_example(block, tmp_path_factory, monkeypatch):
    needs = NEEDS.search(block.code)
    if needs:
        pytest.skip(f"{block.id} needs {needs['what']}")
    run = _RUNS.get(block.path)
    if run is None:
        cwd = tmp_path_factory.mktemp(block.path.stem)
        run = _RUNS[block.path] = _FileRun(cwd, {"__name__": "__main__"})
    monkeypatch.chdir(run.cwd)
    same_file = [b for b in PYTHON_BLOCKS if b.path == block.path]
    # Run the blocks before this one first (when it is selected alone, or one before failed).
    for earlier in same_file[run.done : same_file.index(block) + 1]:
        run.done += 1
        if NEEDS.search(earlier.code):
            continue
        # Line numbers of tracebacks are those of the Markdown file.
        source = "\n" * (earlier.line - 1) + earlier.code
        exec(compile(source, str(earlier.path), "exec"), run.namespace)


# ---------------------------------------------------------------------------------------------
# Shell blocks: hocert commands
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    block: Block
    argv: tuple[str, ...]  # after "hocert"
    output: str | None  # the output the block shows, if any

    @property
    def id(self) -> str:
        return f"{self.block.id}: hocert {shlex.join(self.argv)}"


def _hocert_argv(segment: str) -> tuple[str, ...] | None:
    words = shlex.split(segment, comments=True)
    if words[:1] == ["hocert"]:
        return tuple(words[1:])
    if words[:3] == ["python", "-m", "hocert"]:
        return tuple(words[3:])
    return None


def _commands(block: Block) -> Iterator[Command]:
    prompt = block.lang not in SHELL or "\n$ " in "\n" + block.code
    lines = block.code.replace("\\\n", " ").splitlines()  # join continued lines
    for i, line in enumerate(lines):
        if prompt and not line.startswith("$ "):
            continue
        text = line.removeprefix("$ ")
        for segment in re.split(r"&&|;|\|", text):
            if not segment.strip() or segment.strip().startswith("#"):
                continue
            argv = _hocert_argv(segment)
            if argv is None:
                continue
            output = None
            if prompt:
                rest = []
                for following in lines[i + 1 :]:
                    if following.startswith("$ "):
                        break
                    rest.append(following)
                output = "\n".join(rest).strip() or None
            yield Command(block, argv, output)


COMMANDS = [
    command
    for block in ALL_BLOCKS
    if block.lang in SHELL or block.lang == "text"
    for command in _commands(block)
]

#: Commands that run in a fraction of a second; the others (certify runs a model over a data set,
#: table build solves a grid, plot / summary / slice draw figures or read result files, and any
#: --scheduler needs a cluster) are only parsed.
CHEAP = (("radius",), ("table", "query"))


def _is_cheap(argv: tuple[str, ...]) -> bool:
    if "--help" in argv or "-h" in argv or argv == ("--version",):
        return True
    return any(argv[: len(prefix)] == prefix for prefix in CHEAP) and "--scheduler" not in argv


def test_the_docs_have_commands():
    assert len(COMMANDS) > 20
    assert sum(_is_cheap(c.argv) for c in COMMANDS) >= 8
    assert sum(c.output is not None for c in COMMANDS) >= 4


@pytest.mark.parametrize("command", COMMANDS, ids=[c.id for c in COMMANDS])
def test_every_documented_command_parses(command):
    parser = build_parser()
    if "--help" in command.argv or "-h" in command.argv or command.argv == ("--version",):
        return  # prints and exits (run below)
    try:
        args = parser.parse_args(list(command.argv))
    except SystemExit:  # pragma: no cover - the failure names the example
        pytest.fail(f"{command.id} does not parse")
    assert callable(args.func)


@pytest.fixture(scope="module")
def query_files(tmp_path_factory) -> Path:
    """A working directory with the files the documented cheap commands name: a small
    ``table.npz`` that covers their queries and a ``queries.tsv``."""
    from scipy.special import ndtr

    from hocert_solver import RadiusTable, max_gradient_norm

    cwd = tmp_path_factory.mktemp("commands")
    z = np.linspace(0.0, 3.0, 7)
    grid = {"q": ndtr(z), "a": np.linspace(-1.0, 1.0, 5), "b": np.linspace(0.0, 1.0, 5)}
    RadiusTable.build(**grid).save(cwd / "table.npz")
    q = np.array([0.9, 0.97, 0.99])
    m = max_gradient_norm(q)
    rows = [
        "q\tm1\tm2",
        *(f"{qi}\t{-0.5 * mi}\t{0.5 * mi}" for qi, mi in zip(q.tolist(), m.tolist())),
    ]
    (cwd / "queries.tsv").write_text("\n".join(rows) + "\n")
    return cwd


CHEAP_COMMANDS = [c for c in COMMANDS if _is_cheap(c.argv)]
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|inf|nan")


def _same_output(printed: str, documented: str) -> bool:
    """The same words, and numbers equal to 1e-9 relative (the last digits may differ)."""
    words, expected = printed.split(), documented.split()
    if [NUMBER.sub("#", w) for w in words] != [NUMBER.sub("#", w) for w in expected]:
        return False
    for got, want in zip(words, expected):
        for a, b in zip(NUMBER.findall(got), NUMBER.findall(want)):
            x, y = float(a), float(b)
            both_nan = math.isnan(x) and math.isnan(y)
            if not (x == y or both_nan or math.isclose(x, y, rel_tol=1e-9)):
                return False
    return True


@pytest.mark.parametrize("command", CHEAP_COMMANDS, ids=[c.id for c in CHEAP_COMMANDS])
def test_cheap_documented_command_runs(command, query_files, monkeypatch, capsys):
    monkeypatch.chdir(query_files)
    monkeypatch.setenv("COLUMNS", "100")  # argparse's help width
    try:
        code = main(list(command.argv))
    except SystemExit as exc:  # --help, --version
        code = exc.code
    out, err = capsys.readouterr()
    if command.output is None:
        assert code == 0, err
        return
    assert _same_output(out + err, command.output), f"{command.id} prints\n{out}{err}"


# ---------------------------------------------------------------------------------------------
# Docstrings
# ---------------------------------------------------------------------------------------------


def _modules_with_examples() -> list[str]:
    aliases = {path.removesuffix(".py").replace("/", ".") for path in DEPRECATED_ALIASES}
    names = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        for info in [None, *pkgutil.walk_packages(root.__path__, f"{package}.")]:
            name = package if info is None else info.name
            if name in aliases or name.endswith("__main__"):
                continue
            spec = importlib.util.find_spec(name)
            origin = spec.origin if spec is not None else None
            if origin and origin.endswith(".py") and ">>>" in Path(origin).read_text("utf-8"):
                names.append(name)
    return names


DOCTEST_MODULES = _modules_with_examples()


def test_the_docstrings_have_examples():
    assert {"hocert_solver.directional", "hocert_solver.table", "hocert.cluster"} <= set(
        DOCTEST_MODULES
    )


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name} has '>>>' but no doctest was found"
    report: list[str] = []
    for test in tests:
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_doc_file_list_is_complete():
    # Every Markdown file at the top and in docs/ that has code blocks is checked.
    found = {
        p for p in [*ROOT.glob("*.md"), *(ROOT / "docs").glob("*.md")] if "```" in p.read_text()
    }
    assert found - set(DOC_FILES) <= {ROOT / "CHANGELOG.md"}
    assert os.fspath(ROOT / "README.md") in map(os.fspath, DOC_FILES)
