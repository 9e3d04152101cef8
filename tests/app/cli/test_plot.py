"""``hocert plot``: figures from one or several result files."""

from __future__ import annotations

import pytest

from .helpers import PNG_MAGIC, run


@pytest.mark.parametrize("ext", ["png", "svg"])
def test_plot_several_files(two_sigmas, tmp_path, ext, capsys):
    out = tmp_path / f"fig.{ext}"
    assert run("plot", *map(str, two_sigmas), "--out", str(out)) == 0
    data = out.read_bytes()
    if ext == "png":
        assert data.startswith(PNG_MAGIC)
    else:
        assert b"<svg" in data[:2000]
        assert b"envelope" in data


def test_plot_errors(reference, tmp_path, capsys):
    assert run("plot", str(reference), "--out", str(tmp_path / "fig.pdf")) == 2
    assert ".png or .svg" in capsys.readouterr().err
    assert run("plot", str(tmp_path / "none.tsv"), "--out", str(tmp_path / "f.png")) == 2
    assert "not found" in capsys.readouterr().err
    (tmp_path / "x.tsv").write_text("a\tb\n1\t2\n")
    assert run("plot", str(tmp_path / "x.tsv"), "--out", str(tmp_path / "f.png")) == 2
    assert run("plot", str(reference), "--label", "a", "--label", "b") == 2


def test_plot_without_sidecar_notes_missing_dimension(reference, tmp_path, capsys):
    copy = tmp_path / "copy.tsv"
    copy.write_bytes(reference.read_bytes())
    assert run("plot", str(copy), "--out", str(tmp_path / "f.png")) == 0
    assert "--dim" in capsys.readouterr().err
    assert run("plot", str(copy), "--out", str(tmp_path / "g.png"), "--dim", "64") == 0
    assert "--dim" not in capsys.readouterr().err
