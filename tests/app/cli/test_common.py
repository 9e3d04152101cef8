"""The parser conventions of every command (hocert/cli/_common.py): negative numbers and
grids as values, unknown and abbreviated options."""

from __future__ import annotations

import json

import pytest

from .helpers import run


def test_negative_numbers_are_positional_values(capsys):
    assert run("radius", "0.9", "-1e-3", "0.01", "--json") == 0
    direct = json.loads(capsys.readouterr().out)
    assert run("radius", "--json", "--", "0.9", "-1e-3", "0.01") == 0
    assert json.loads(capsys.readouterr().out) == direct
    assert direct["m1"] == -1e-3
    assert run("radius", "0.9", "-inf", "0", "--json") == 0  # no information on m1: Cohen's
    assert json.loads(capsys.readouterr().out)["m1"] == "-inf"
    assert run("radius", "0.9", "-.5E-1", "0.01") == 0
    # an option value is still checked as one
    assert run("radius", "0.9", "-0.5", "0.1", "--sigma", "-1e-3") == 2
    assert "--sigma: must be > 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "usage", "hint"),
    [
        (["certify", "--sgma", "0.25"], "usage: hocert certify", "did you mean --sigma?"),
        (["radius", "0.9", "0", "0", "--jsn"], "usage: hocert radius", "did you mean --json?"),
        (["table", "build", "--chunksize", "8"], "usage: hocert table build", "--chunk-size?"),
        (["table", "query", "t.npz", "--nrmalized"], "usage: hocert table query", "--normalized"),
        (["slice", "--q", "0.9", "--grad-norm", "1", "--bogus"], "usage: hocert slice", ""),
    ],
)
def test_unknown_option_shows_the_usage_of_its_command(argv, usage, hint, capsys):
    assert run(*argv) == 2
    err = capsys.readouterr().err
    assert usage in err
    assert "usage: hocert [-h]" not in err
    assert "unrecognized arguments" in err
    assert hint in err


@pytest.mark.parametrize(
    "argv",
    [
        ["certify", "--sig", "0.25", "--max", "1"],
        ["radius", "0.97", "-0.6", "0.7", "--norm"],
        ["table", "build", "--chunk", "8", "--scheduler", "synchronous"],
        ["slice", "--q", "0.9", "--grad-norm", "0.5", "--ang", "16"],
        ["--trace", "radius", "0.9", "0", "0"],
    ],
)
def test_abbreviated_options_are_refused(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run(*argv) == 2
    assert "unrecognized arguments" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing ran
