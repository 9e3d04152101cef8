"""``hocert plot``: figures from one or several result files."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import PNG_MAGIC, run

DATA = Path(__file__).resolve().parents[1] / "data"
COHEN = DATA / "cohen_certify.tsv"
FIRST_ORDER = DATA / "first_order_radii.tsv"


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
    assert run("plot", str(reference), "--out", str(tmp_path / "fig.jpg")) == 2
    assert ".png, .svg or .pdf" in capsys.readouterr().err
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


def test_plot_a_hocert_file_beside_published_ones_as_pdf(reference, tmp_path, capsys):
    """The issue's done-criterion: a hocert result file drawn beside a Cohen-format file."""
    out = tmp_path / "fig.pdf"
    argv = [str(reference), str(COHEN), str(FIRST_ORDER), "--sigma", "0.25", "--out", str(out)]
    assert run("plot", *argv) == 0
    assert out.read_bytes().startswith(b"%PDF")
    captured = capsys.readouterr()
    assert "certified accuracy of 3 file(s)" in captured.out
    assert "cohen_certify" in captured.err  # its l_inf Cohen curve needs --dim
    svg = tmp_path / "fig.svg"
    assert run("plot", str(reference), str(COHEN), "--dim", "64", "--out", str(svg)) == 0
    data = svg.read_bytes()
    assert b"Cohen, cohen_certify" in data
    assert b"first-order, ref" in data
    assert "--dim" not in capsys.readouterr().err


def test_plot_a_cohen_file_alone(tmp_path, capsys):
    out = tmp_path / "c.png"
    assert run("plot", str(COHEN), "--out", str(out)) == 0
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_plot_rejects_unknown_formats_and_bad_sigmas(reference, tmp_path, capsys):
    predict = tmp_path / "predict.tsv"  # Cohen et al.'s predict.py: no radius
    predict.write_text("idx\tlabel\tpredict\tcorrect\ttime\n0\t1\t1\t1\t0:00:01\n")
    assert run("plot", str(predict), "--out", str(tmp_path / "f.png")) == 2
    assert "predict.py" in capsys.readouterr().err
    files = [str(reference), str(COHEN), str(FIRST_ORDER)]
    out = ["--out", str(tmp_path / "f.png")]
    assert run("plot", *files, "--sigma", "0.25", "--sigma", "0.5", *out) == 2
    assert "2 --sigma for 3 files" in capsys.readouterr().err
    sigmas = ["--sigma", "0.5", "--sigma", "0.25", "--sigma", "0.25"]
    assert run("plot", *files, *sigmas, *out) == 2  # the reference was run at 0.25
    assert "its sidecar says sigma 0.25, --sigma says 0.5" in capsys.readouterr().err
