"""``hocert slice``: the 2-D slice of the certified region."""

from __future__ import annotations

import pytest

from .helpers import PNG_MAGIC, run


def test_slice_outputs(tmp_path, capsys):
    png, svg, data = tmp_path / "s.png", tmp_path / "s.svg", tmp_path / "s.tsv"
    argv = ["slice", "--q", "0.9", "--grad-norm", "0.5", "--sigma", "0.25", "--angles", "36"]
    assert run(*argv, "--out", str(png), "--data", str(data)) == 0
    assert png.read_bytes().startswith(PNG_MAGIC)
    lines = [line.split("\t") for line in data.read_text().splitlines()]
    assert lines[0] == ["t", "m1", "m2", "radius", "radius_input", "status"]
    assert len(lines) == 37
    assert run(*argv, "--out", str(svg), "--units", "beta", "--grad-norm", "0.01") == 0
    assert b"<svg" in svg.read_bytes()[:2000]
    assert run("slice", "--q", "0.9", "--grad-norm", "1", "--out", str(png), "--angles", "16") == 0
    assert "inf" in capsys.readouterr().out  # the boundary case is unbounded


@pytest.mark.parametrize(
    "argv",
    [
        ["--q", "0.4", "--grad-norm", "0.5"],
        ["--q", "1", "--grad-norm", "0.5"],
        ["--q", "0.9", "--grad-norm", "1.5"],
        ["--q", "0.9", "--grad-norm", "1", "--units", "beta"],
        ["--q", "0.9", "--grad-norm", "-1"],
        ["--q", "0.9", "--grad-norm", "0.5", "--out", "x.jpg"],
        ["--q", "0.9"],
    ],
)
def test_slice_bad_values(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run("slice", *argv) == 2
    assert "error" in capsys.readouterr().err


def test_slice_units_follow_sigma(tmp_path, capsys):
    base = ["slice", "--q", "0.9", "--grad-norm", "0.5", "--angles", "16"]
    plain, scaled = tmp_path / "plain.svg", tmp_path / "scaled.svg"
    assert run(*base, "--out", str(plain)) == 0
    out = capsys.readouterr().out
    assert "(units of sigma)" in out
    assert "input units" not in out
    svg = plain.read_text()  # Matplotlib keeps each text as a comment in the SVG
    assert "along $\\beta$ (units of $\\sigma$)" in svg
    assert "input units" not in svg
    assert run(*base, "--sigma", "0.25", "--out", str(scaled)) == 0
    assert "(input units)" in capsys.readouterr().out
    assert "along $\\beta$ (input units)" in scaled.read_text()
    # a gradient in 1/input units means nothing without sigma
    assert run(*base, "--units", "gradient", "--out", str(plain)) == 2
    assert "--units gradient needs --sigma" in capsys.readouterr().err
