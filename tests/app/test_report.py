"""The summary tables written out (``hocert.report``): text, CSV, Markdown, LaTeX."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from hocert.plotting import Run, summary_tables
from hocert.report import SUMMARY_FORMATS, render_summary

from .test_plotting import cohen_frame, frame


@pytest.fixture
def tables():
    runs = [
        Run("run_a", frame(), sigma=0.25, d=64),
        Run("c | 50%", cohen_frame(), sigma=0.5, source="cohen"),
    ]
    return summary_tables(runs, [0.0, 0.25, 0.5])


def test_text(tables):
    text = render_summary(*tables)
    assert text == render_summary(*tables, "text")
    assert "l2: certified accuracy (%) at radius (input units)" in text
    assert "linf: certified accuracy (%) at radius r / sqrt(d) (input units)" in text
    assert "envelope" in text


def test_csv_is_one_tidy_table(tables):
    frame_ = pd.read_csv(io.StringIO(render_summary(*tables, "csv")))
    assert list(frame_.columns) == [
        "threat_model",
        "quantity",
        "method",
        "file",
        "format",
        "inputs",
        "sigma",
        "d",
        "clean_accuracy_pct",
        "abstain_pct",
        "mean_time_s",
        "radius",
        "radius_scale",
        "certified_accuracy_pct",
    ]
    row = frame_[
        (frame_.threat_model == "l2")
        & (frame_.method == "first-order")
        & (frame_.file == "run_a")
        & (frame_.radius == 0.25)
    ]
    assert row["certified_accuracy_pct"].tolist() == [50.0]
    assert row["d"].tolist() == [64]
    cohen = frame_[frame_.file == "c | 50%"]
    assert set(cohen["method"]) == {"Cohen"}
    assert set(cohen["format"]) == {"cohen"}
    assert set(frame_[frame_.threat_model == "linf"]["radius_scale"]) == {"r / sqrt(d)"}
    assert frame_[frame_.file == "envelope"]["format"].isna().all()


def test_markdown(tables):
    text = render_summary(*tables, "markdown")
    lines = text.splitlines()
    assert lines[0] == "### Files"
    assert lines[2].startswith("| file | format | inputs | sigma | d |")
    assert lines[3].startswith("|---|---|--:|")
    assert "| c \\| 50% | cohen | 3 | 0.5 |  | 66.7 |" in text  # escaped pipe, no d
    assert "### l2: certified accuracy (%) at radius (input units)" in text
    assert "| first-order | run_a | 50.0 | 50.0 | 25.0 |" in text
    table_lines = [line for line in lines if line.startswith("|")]
    assert all(line.endswith("|") for line in table_lines)


def test_latex(tables):
    text = render_summary(*tables, "latex")
    assert text.count(r"\begin{tabular}") == 4  # files, l2, l1, linf
    assert text.count(r"\begin{tabular}") == text.count(r"\end{tabular}")
    assert r"\begin{tabular}{llrrr}" in text
    assert r"\multicolumn{3}{c}{$\ell_2$: certified accuracy (\%) at $r$}" in text
    assert r"$r / \sqrt{d}$" in text
    assert r"run\_a" in text
    assert r"c | 50\%" in text
    assert r"clean accuracy \%" in text
    assert "first-order & run\\_a & 50.0 & 50.0 & 25.0 \\\\" in text


def test_unknown_format(tables):
    assert SUMMARY_FORMATS == ("text", "csv", "markdown", "latex")
    with pytest.raises(ValueError, match="html"):
        render_summary(*tables, "html")
