"""``hocert radius``: text and JSON output, special values, bounds that contradict q, docs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import hocert_solver

from .helpers import run

DOCS = Path(__file__).resolve().parents[3] / "docs" / "cli.md"


def test_radius_text_and_json(capsys):
    assert run("radius", "0.97", "-0.6", "0.7", "--normalized") == 0
    out = capsys.readouterr().out
    assert "2.23283" in out
    assert "converged" in out
    assert run("radius", "0.97", "-0.6", "0.7", "--normalized", "--json", "--sigma", "0.5") == 0
    data = json.loads(capsys.readouterr().out)
    expected = hocert_solver.directional_radius(
        0.97,
        -0.6 * hocert_solver.max_gradient_norm(0.97),
        0.7 * hocert_solver.max_gradient_norm(0.97),
    )
    assert data["radius"] == pytest.approx(float(expected.radius), rel=1e-12)
    assert data["status"] == "converged"
    assert data["radius_input"] == pytest.approx(0.5 * data["radius"])
    assert data["nit"] >= 0
    assert data["success"] is True


def test_radius_special_values(capsys):
    assert run("radius", "0.4", "0", "0", "--json") == 0
    assert json.loads(capsys.readouterr().out)["status"] == "abstain"
    assert run("radius", "1.0", "0", "0", "--json") == 0
    assert json.loads(capsys.readouterr().out)["radius"] == "inf"
    assert run("radius", "--json", "--", "0.9", "-inf", "0") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["m1"] == "-inf"
    assert data["radius"] == pytest.approx(float(hocert_solver.cohen_radius(0.9)))


def test_radius_units_slip_exits_2_with_one_line(capsys):
    # The help's example without --normalized: m2 = 0.7 is ten times M(0.97).
    for extra in ([], ["--json"], ["--sigma", "0.25"]):
        assert run("radius", "0.97", "-0.6", "0.7", *extra) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("hocert: error: ")
        assert "outside the feasible disk" in lines[0]
        assert "contradict q" in lines[0]
        assert "did you mean --normalized" in lines[0]
    # Normalised but outside the disk: no --normalized hint, a failed bound instead.
    assert run("radius", "0.97", "0.8", "0.8", "--normalized") == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "outside the feasible disk" in err
    assert "--normalized" not in err
    # Within the 1e-12 slack: the boundary, radius inf, exit 0.
    assert run("radius", "0.97", "0", str(1 + 1e-13), "--normalized", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["radius"] == "inf"
    assert data["status"] == "converged"
    assert run("radius", "0.97", "0", str(1 + 1e-10), "--normalized") == 2
    assert "outside the feasible disk" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [["1.5", "0", "0"], ["0.9", "0", "-0.1"], ["0.9", "nan", "0"], ["0.9", "0"], ["a", "0", "0"]],
)
def test_radius_bad_values(argv, capsys):
    assert run("radius", "--", *argv) == 2
    assert "error" in capsys.readouterr().err


def test_docs_radius_samples_match_the_command(capsys):
    """The sample outputs of `hocert radius` in docs/cli.md are what the command prints."""
    text = DOCS.read_text()
    blocks = re.findall(r"```text\n\$ hocert (radius [^\n]*)\n(.*?)```", text, flags=re.S)
    blocks = [(command, sample) for command, sample in blocks if "error" not in sample]
    assert len(blocks) == 2
    for command, sample in blocks:
        assert run(*command.split()) == 0
        printed = capsys.readouterr().out
        if "--json" in command:
            expected, got = json.loads(sample), json.loads(printed)
            assert got.keys() == expected.keys()
            for key, value in expected.items():
                want = pytest.approx(value, rel=1e-9) if isinstance(value, float) else value
                assert got[key] == want, key
        else:
            assert [line.split()[0] for line in printed.splitlines()] == [
                line.split()[0] for line in sample.splitlines()
            ]
            numbers = [float(line.split()[1]) for line in printed.splitlines() if line[:1] == "r"]
            documented = [float(line.split()[1]) for line in sample.splitlines() if line[:1] == "r"]
            assert numbers == pytest.approx(documented, rel=1e-9)
            assert printed.splitlines()[2:] == sample.splitlines()[2:]  # status, nit
