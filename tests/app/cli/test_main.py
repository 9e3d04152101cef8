"""``hocert`` itself (hocert/cli/__init__.py): version, help, usage errors, an end-to-end run."""

from __future__ import annotations

import shlex

import pytest

import hocert_solver
from hocert.cli import build_parser
from hocert.results import read_results

from .helpers import PNG_MAGIC, hocert_subprocess, run


def test_version(capsys):
    assert run("--version") == 0
    assert capsys.readouterr().out.strip() == f"hocert {hocert_solver.__version__}"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["certify"],
        ["radius"],
        ["table"],
        ["table", "build"],
        ["table", "query"],
        ["plot"],
        ["summary"],
        ["slice"],
    ],
)
def test_help_has_examples_and_exit_codes(argv, capsys):
    assert run(*argv, "--help") == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert "130" in out


def test_no_command_is_a_usage_error(capsys):
    assert run() == 2
    assert "COMMAND" in capsys.readouterr().err
    assert run("table") == 2
    assert "subcommand is required" in capsys.readouterr().err
    assert run("frobnicate") == 2


def test_end_to_end_certify_and_plot_subprocess(tmp_path):
    proc = hocert_subprocess("certify", "--max", "3", "--n", "200", "--n0", "20", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "hocert_results.tsv"  # the default output path
    frame, meta = read_results(out)
    assert frame["idx"].tolist() == [0, 1, 2]
    radii = ["radius_cohen", "radius_l2", "radius_l1", "radius_linf"]
    assert list(frame.columns) == [
        "idx",
        "label",
        "predict",
        "p_a_lower",
        *radii,
        "solver_status",
        "correct",
        "time",
        "params_hash",
    ]
    assert meta["d"] == 64
    assert meta["params"]["sigma"] == 0.25  # the bundled model's sigma by default
    assert "certify" in proc.stderr  # the progress bar

    proc = hocert_subprocess("plot", str(out), "--out", "fig.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = (tmp_path / "fig.png").read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 1000


def _help_examples() -> list[str]:
    """Every ``hocert ...`` example line of every --help text (subcommands included)."""
    parser = build_parser()
    texts = [parser.format_help()]
    stack = [parser]
    while stack:
        for action in stack.pop()._actions:
            if action.__class__.__name__ == "_SubParsersAction":
                for sub in action.choices.values():
                    texts.append(sub.format_help())
                    stack.append(sub)
    examples = []
    for text in texts:
        block = text.split("examples:\n", 1)[1].split("\n\n", 1)[0]
        examples += [line.split("#", 1)[0].strip() for line in block.splitlines()]
    return examples


def test_every_help_example_parses():
    examples = _help_examples()
    assert len(examples) > 20
    parser = build_parser()
    for example in examples:
        argv = shlex.split(example)
        assert argv[0] == "hocert", example
        try:
            args = parser.parse_args(argv[1:])
        except SystemExit:  # pragma: no cover - the failure message names the example
            pytest.fail(f"the help example does not parse: {example}")
        assert callable(args.func), example


def test_help_example_with_a_negative_grid_runs(tmp_path, capsys):
    # `--a-grid -1:1:21` is a value, not an option (it was "expected one argument").
    out = tmp_path / "t.npz"
    argv = ["table", "build", "--out", str(out), "--z-grid", "0:1:3", "--a-grid", "-1:1:5"]
    assert run(*argv, "--b-grid", "0:1:3", "--scheduler", "synchronous", "--quiet") == 0
    assert out.is_file()
