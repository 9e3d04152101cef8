"""``hocert table build`` and ``hocert table query``."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from scipy.special import ndtri

import hocert_solver
from hocert.cli.table import PRESETS, preset_grid
from hocert_solver import RadiusTable

from .helpers import TINY_GRID, run


def test_table_build_and_query(tiny_table, capsys):
    assert tiny_table.is_file()
    assert (tiny_table.parent / "ck" / "manifest.json").is_file()
    argv = ["table", "query", str(tiny_table), "0.97", "-0.6", "0.7", "--normalized"]
    assert run(*argv, "--json") == 0
    data = json.loads(capsys.readouterr().out)
    big_m = float(hocert_solver.max_gradient_norm(0.97))
    direct = float(hocert_solver.directional_radius(0.97, -0.6 * big_m, 0.7 * big_m).radius)
    assert 0 < data["radius"] <= direct  # a lower bound
    assert data["status"] == "converged"
    assert run(*argv) == 0
    assert "certified lower bound" in capsys.readouterr().out


def test_table_query_units_slip_exits_2_with_one_line(tiny_table, capsys):
    assert run("table", "query", str(tiny_table), "0.97", "-0.6", "0.7") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert "outside the feasible disk" in lines[0]
    assert "did you mean --normalized" in lines[0]


def test_table_query_batch_reports_inconsistent_rows(tiny_table, tmp_path, capsys):
    queries = tmp_path / "q.tsv"
    queries.write_text("q\tm1\tm2\n0.97\t-0.04\t0.04\n0.97\t-0.6\t0.7\n")
    out = tmp_path / "o.tsv"
    argv = ["table", "query", str(tiny_table), "--input", str(queries), "--output", str(out)]
    assert run(*argv) == 0
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "1 of 2 queries (first: row 2)" in err
    assert "did you mean --normalized" in err
    lines = [line.split("\t") for line in out.read_text().splitlines()]
    assert lines[1][4] == "converged"
    assert lines[2][4] == "inconsistent"
    assert float(lines[2][3]) == float(hocert_solver.cohen_radius(0.97))


def test_table_query_batch(tiny_table, tmp_path):
    queries = tmp_path / "q.tsv"
    queries.write_text("q\tm1\tm2\tname\n0.97\t-0.04\t0.04\ta\n0.9\t0.0\t0.01\tb\n0.4\t0\t0\tc\n")
    out = tmp_path / "o.tsv"
    argv = ["table", "query", str(tiny_table), "--input", str(queries), "--output", str(out)]
    assert run(*argv) == 0
    lines = [line.split("\t") for line in out.read_text().splitlines()]
    assert lines[0] == ["q", "m1", "m2", "name", "radius", "status"]
    assert [row[3] for row in lines[1:]] == ["a", "b", "c"]
    assert lines[3][4:] == ["0.0", "abstain"]
    assert float(lines[1][4]) > 0


def test_table_query_outside_and_errors(tiny_table, tmp_path, capsys):
    # m2 below the first tabulated b column is impossible here (b starts at 0); q just above
    # 1/2 but below the first grid q > 1/2 is not: the grid starts at q = 1/2. Use a table
    # whose a grid starts above -1 instead.
    table = tmp_path / "t2.npz"
    grid = ["--q-grid", "0.6,0.9", "--a-grid", "0,0.5", "--b-grid", "0,0.5"]
    assert run("table", "build", "--out", str(table), *grid, "--scheduler", "synchronous") == 0
    capsys.readouterr()
    assert run("table", "query", "--", str(table), "0.95", "-0.01", "0") == 2
    assert "outside the table" in capsys.readouterr().err
    query = ["--", str(table), "0.95", "-0.01", "0"]
    assert run("table", "query", "--on-outside", "nan", "--json", *query) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["radius"] == "nan"
    assert data["status"] == "outside"
    assert run("table", "query", str(tmp_path / "none.npz"), "0.9", "0", "0") == 2
    (tmp_path / "junk.npz").write_bytes(b"junk")
    assert run("table", "query", str(tmp_path / "junk.npz"), "0.9", "0", "0") == 2
    assert run("table", "query", str(tiny_table)) == 2
    assert run("table", "query", str(tiny_table), "0.9", "0", "0", "--input", "x.tsv") == 2
    assert run("table", "query", str(tiny_table), "--input", str(tmp_path / "none.tsv")) == 2
    (tmp_path / "q.tsv").write_text("q\tm1\n0.9\t0\n")
    assert run("table", "query", str(tiny_table), "--input", str(tmp_path / "q.tsv")) == 2
    assert "lacks the column" in capsys.readouterr().err


def test_table_query_refuses_a_tampered_table(tiny_table, tmp_path, capsys):
    # Radii raised by 10% after the build: refused with one line and exit 2 (bad input);
    # --no-verify serves them (the opt-out for huge tables).
    with np.load(tiny_table) as f:
        data = {k: f[k] for k in f.files}
    tampered = tmp_path / "tampered.npz"
    np.savez(tampered, **dict(data, values=data["values"] * 1.1))
    query = [str(tampered), "0.97", "-0.6", "0.7", "--normalized", "--json"]
    assert run("table", "query", *query) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert "refusing table" in lines[0]
    assert "fails verification" in lines[0]
    assert "--no-verify" in lines[0]
    batch = tmp_path / "q.tsv"
    batch.write_text("q\tm1\tm2\n0.97\t-0.04\t0.04\n")
    assert run("table", "query", str(tampered), "--input", str(batch)) == 2
    assert "fails verification" in capsys.readouterr().err
    assert run("table", "query", *query, "--no-verify") == 0
    raised = json.loads(capsys.readouterr().out)["radius"]
    assert run("table", "query", str(tiny_table), *query[1:]) == 0
    honest = json.loads(capsys.readouterr().out)["radius"]
    assert raised == pytest.approx(1.1 * honest)


def test_table_build_refuses_a_tampered_checkpoint_chunk(tmp_path, capsys):
    out, ckpt = tmp_path / "t.npz", tmp_path / "ck"
    argv = ["table", "build", "--out", str(out), *TINY_GRID, "--scheduler", "synchronous"]
    assert run(*argv, "--checkpoint", str(ckpt), "--chunk-size", "8") == 0
    chunk = ckpt / "chunk_000002.npz"
    with np.load(chunk) as f:
        data = {k: f[k] for k in f.files}
    np.savez(chunk, **dict(data, radius=data["radius"] * 1.25))
    capsys.readouterr()
    assert run(*argv, "--checkpoint", str(ckpt), "--chunk-size", "8") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert "chunk_000002.npz" in err[0]
    assert "fail verification" in err[0]


def test_table_build_bad_grid(tmp_path, capsys):
    out = str(tmp_path / "t.npz")
    sync = ["--scheduler", "synchronous"]
    assert run("table", "build", "--out", out, "--q-grid", "0.4,0.9", *sync) == 2
    assert "invalid grid" in capsys.readouterr().err
    assert run("table", "build", "--out", out, "--z-grid=-1:1:3", *sync) == 2
    assert run("table", "build", "--out", out, "--a-grid", "1:2:x") == 2
    assert run("table", "build", "--out", out, "--b-grid", "0.5,0.2", *sync) == 2
    assert run("table", "build", "--out", out, "--q-grid", "0.6", "--z-grid", "1") == 2
    assert not Path(out).exists()


def test_table_build_refuses_a_foreign_checkpoint(tiny_table, tmp_path, capsys):
    ckpt = str(tiny_table.parent / "ck")  # made for TINY_GRID
    argv = ["--out", str(tmp_path / "t.npz"), "--z-grid", "0:2:3", "--scheduler", "synchronous"]
    assert run("table", "build", *argv, "--checkpoint", ckpt, "--quiet") == 2
    assert "error" in capsys.readouterr().err
    assert not (tmp_path / "t.npz").exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_table_and_checkpoint_files_respect_the_umask(tmp_path):
    out, ckpt = tmp_path / "t.npz", tmp_path / "ck"
    old = os.umask(0o022)
    try:
        argv = ["table", "build", "--out", str(out), *TINY_GRID, "--scheduler", "synchronous"]
        assert run(*argv, "--checkpoint", str(ckpt)) == 0
    finally:
        os.umask(old)
    chunks = sorted(ckpt.glob("chunk_*.npz"))
    assert chunks
    for path in [out, *chunks]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_table_query_on_a_tsv_names_the_file(tmp_path, capsys):
    tsv = tmp_path / "queries.tsv"
    tsv.write_text("q\tm1\tm2\n0.9\t0\t0\n")
    assert run("table", "query", str(tsv), "0.9", "0", "0") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(tsv) in err
    assert "not an .npz file" in err
    assert "--input" in err
    assert "pickle" not in err


def test_table_build_on_dask(tiny_table, scheduler_address, tmp_path, capsys):
    out = tmp_path / "t.npz"
    argv = ["--out", str(out), *TINY_GRID, "--scheduler", scheduler_address, "--chunk-size", "20"]
    assert run("table", "build", *argv) == 0
    assert "RadiusTable" in capsys.readouterr().out
    with np.load(out) as built, np.load(tiny_table) as reference:
        np.testing.assert_array_equal(built["values"], reference["values"])
    # The table records the cluster (hocert.cluster's description), not only "ClientExecutor".
    assert RadiusTable.load(out).metadata["build"]["scheduler"].startswith("<Client")
    assert RadiusTable.load(tiny_table).metadata["build"]["scheduler"] == "synchronous"


def test_build_help_shows_the_preset_grids_the_build_uses(capsys):
    assert run("table", "build", "--help") == 0
    lines = capsys.readouterr().out.splitlines()
    assert set(PRESETS) == {"default", "fine"}
    for name in PRESETS:
        grid = preset_grid(name)
        axes = {"z": ndtri(grid["q"]), "a": grid["a"], "b": grid["b"]}
        (line,) = [line for line in lines if line.split()[:1] == [name]]
        shown = dict(part.split(None, 1) for part in line.split(None, 1)[1].split(", "))
        assert set(shown) == set(axes)
        for axis, values in axes.items():
            span, step = shown[axis].rsplit(" step ", 1)
            low, high = span.split()[-1].split("..")
            assert values[0] == pytest.approx(float(low), abs=1e-12), (name, axis)
            assert values[-1] == pytest.approx(float(high), rel=1e-9), (name, axis)
            np.testing.assert_allclose(np.diff(values), float(step), rtol=1e-6)
    assert preset_grid("default").keys() == hocert_solver.RadiusTable.default_grid().keys()
    for key, values in hocert_solver.RadiusTable.default_grid().items():
        np.testing.assert_array_equal(preset_grid("default")[key], values)
