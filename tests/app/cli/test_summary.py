"""``hocert summary``: certified-accuracy tables."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from hocert.results import meta_path

from .helpers import run
from .test_plot import COHEN, FIRST_ORDER


def test_summary(two_sigmas, capsys):
    assert run("summary", *map(str, two_sigmas)) == 0
    out = capsys.readouterr().out
    for word in ("clean accuracy", "abstain", "mean time", "l2:", "l1:", "linf:", "envelope"):
        assert word in out
    assert run("summary", str(two_sigmas[0]), "--radii", "0,0.1,0.2") == 0
    out = capsys.readouterr().out
    assert "0.1" in out
    assert "envelope" not in out
    assert run("summary", str(two_sigmas[0]), "--radii", "a,b") == 2


def test_same_file_names_are_told_apart(reference, tmp_path, capsys):
    copy = tmp_path / reference.name
    copy.write_bytes(reference.read_bytes())
    meta_path(copy).write_bytes(meta_path(reference).read_bytes())
    assert run("summary", str(reference), str(copy)) == 0
    out = capsys.readouterr().out
    assert str(copy) in out
    assert str(reference) in out


def test_summary_of_hocert_and_published_files(reference, capsys):
    files = [str(reference), str(COHEN), str(FIRST_ORDER)]
    assert run("summary", *files, "--sigma", "0.25", "--dim", "64") == 0
    out = capsys.readouterr().out
    assert "cohen_certify (σ=0.25)" in out
    assert "first_order_radii (σ=0.25)" in out
    for fmt in ("hocert", "cohen", "first-order"):
        assert f" {fmt} " in out


@pytest.mark.parametrize("fmt", ["text", "csv", "markdown", "latex"])
def test_summary_formats(reference, capsys, fmt):
    assert run("summary", str(reference), str(COHEN), "--format", fmt, "--radii", "0,0.5") == 0
    out = capsys.readouterr().out
    if fmt == "csv":
        table = pd.read_csv(io.StringIO(out))
        assert set(table["file"]) >= {"ref (σ=0.25)", "cohen_certify", "envelope"}
        assert set(table[table["threat_model"] == "l2"]["radius"]) == {0.0, 0.5}
        assert set(table[table["threat_model"] == "linf"]["radius"]) == {0.0, 0.5 / 8}
    elif fmt == "markdown":
        assert "### l2: certified accuracy (%) at radius (input units)" in out
        assert "| Cohen | cohen_certify | 70.0 | 40.0 |" in out
    elif fmt == "latex":
        assert r"\begin{tabular}" in out
        assert r"Cohen & cohen\_certify & 70.0 & 40.0 \\" in out
    else:
        assert "clean accuracy" in out
    assert run("summary", str(reference), "--format", "html") == 2
