"""Issue 15: one writer per file, inputs that would be destroyed or miscounted, exit codes and
messages of damaged or unusual input, validated resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hocert.examples import load_example
from hocert.locking import FileLock, lock_path
from hocert.results import meta_path, read_meta

from .helpers import FAST, TINY_GRID, certify, run

# ---------------------------------------------------------------------------------------------
# 1. One writer per file
# ---------------------------------------------------------------------------------------------


def test_second_certify_on_the_same_out_fails_at_once(tmp_path):
    argv = [sys.executable, "-m", "hocert", "certify", "--n", "50000", "--n0", "20"]
    argv += ["--max", "150", "--out", "r.tsv", "--quiet"]
    first = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = tmp_path / "r.tsv"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (out.exists() and out.read_text().count("\n")):
            time.sleep(0.05)
        assert lock_path(out).exists()
        start = time.monotonic()
        second = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        err = second.stderr.strip()
        assert len(err.splitlines()) == 1, err
        assert f"pid {first.pid}" in err
        assert "since" in err
        assert "in use" in err
        assert time.monotonic() - start < 30
        assert first.poll() is None  # the first run goes on
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert first.returncode == 130
    assert not lock_path(out).exists()  # released (and removed) by its holder
    idx = [int(line.split("\t")[0]) for line in out.read_text().splitlines()[1:]]
    assert len(idx) == len(set(idx))


def test_stale_lock_file_of_a_dead_process_does_not_block(tmp_path):
    out = tmp_path / "r.tsv"
    stale = {"pid": 999999, "host": "elsewhere", "since": "2020-01-01T00:00:00+00:00"}
    lock_path(out).write_text(json.dumps(stale))  # left by a killed run: no flock on it
    assert certify(out, "--max", "1") == 0
    assert not lock_path(out).exists()


def test_held_lock_refuses_in_process_and_names_holder(tmp_path, capsys):
    out = tmp_path / "r.tsv"
    with FileLock(out, "result file"):
        assert certify(out, "--max", "1") == 2
    err = capsys.readouterr().err
    assert f"pid {os.getpid()}" in err
    assert not out.exists()
    assert certify(out, "--max", "1") == 0


def test_table_checkpoint_has_one_builder(tmp_path, capsys):
    ckpt = tmp_path / "ck"
    argv = ["table", "build", "--out", str(tmp_path / "t.npz"), *TINY_GRID]
    argv += ["--scheduler", "synchronous", "--checkpoint", str(ckpt)]
    with FileLock(ckpt, "checkpoint directory"):
        assert run(*argv) == 2
    err = capsys.readouterr().err
    assert "in use" in err
    assert f"pid {os.getpid()}" in err
    assert not (tmp_path / "t.npz").exists()
    assert run(*argv) == 0
    assert not lock_path(ckpt).exists()


# ---------------------------------------------------------------------------------------------
# 4. Inputs destroyed or miscounted
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["model", "data", "data_via_symlink"])
def test_force_onto_the_model_or_data_is_refused(tmp_path, which, capsys):
    model, x, y = load_example()
    model_copy = tmp_path / "m.onnx"
    model_copy.write_bytes(Path(model).read_bytes())
    data = tmp_path / "d.npz"
    np.savez(data, x=x[:2], y=y[:2])
    target = model_copy if which == "model" else data
    out = target
    if which == "data_via_symlink":
        out = tmp_path / "link.tsv"
        out.symlink_to(data)
    before = target.read_bytes()
    argv = ["certify", *FAST, "--model", str(model_copy), "--data", str(data), "--sigma", "0.25"]
    assert run(*argv, "--out", str(out), "--force") == 2
    assert "would overwrite the input file" in capsys.readouterr().err
    assert target.read_bytes() == before


def test_negative_labels_are_refused(tmp_path, capsys):
    _, x, _ = load_example()
    data = tmp_path / "d.npz"
    np.savez(data, x=x[:2], y=np.array([-1, 3]))
    assert run("certify", *FAST, "--data", str(data), "--out", str(tmp_path / "r.tsv")) == 2
    assert "labels y must be >= 0" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# 6. Exit codes and messages that match docs/cli.md
# ---------------------------------------------------------------------------------------------


def test_npy_data_is_bad_input_not_a_type_error(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((3, 64)))
    assert run("certify", *FAST, "--data", str(tmp_path / "x.npy")) == 2
    err = capsys.readouterr().err
    assert "single .npy array" in err
    assert "TypeError" not in err


@pytest.mark.parametrize("content", [b"hello world garbage" * 10, b"idx\tq\n1\t0.9\n"])
def test_garbage_npz_data_shows_no_pickle_hint(tmp_path, content, capsys):
    (tmp_path / "d.npz").write_bytes(content)
    assert run("certify", *FAST, "--data", str(tmp_path / "d.npz")) == 2
    err = capsys.readouterr().err
    assert "not an .npz file" in err
    assert "pickle" not in err


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_table_raises_table_format_error(tiny_table, tmp_path, damage, capsys):
    from hocert_solver import HocertSolverError, RadiusTable
    from hocert_solver.table import TableFormatError

    data = tiny_table.read_bytes()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"garbage" * 50)
    with pytest.raises(TableFormatError) as info:
        RadiusTable.load(bad)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, HocertSolverError)
    assert "pickle" not in str(info.value)
    assert str(bad) in str(info.value)
    assert run("table", "query", str(bad), "0.9", "0.1", "0.1") == 2
    err = capsys.readouterr().err
    assert "BadZipFile" not in err
    assert "pickle" not in err


def test_permission_denied_output_exits_2(tmp_path, monkeypatch, capsys):
    from hocert import results

    def denied(path, meta):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(results, "write_meta", denied)
    assert certify(tmp_path / "r.tsv", "--max", "1") == 2
    err = capsys.readouterr().err
    assert "cannot write results" in err
    assert "Permission denied" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_directory_exits_2(tmp_path, capsys):  # pragma: no cover - not as root
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert certify(ro / "r.tsv", "--max", "1") == 2
    finally:
        ro.chmod(0o700)
    assert "cannot write" in capsys.readouterr().err


def test_float32_overflow_is_a_data_problem(tmp_path, capsys):
    _, x, y = load_example()
    big = x[:2].astype(np.float64)
    big[0, 0] = 1e39
    data = tmp_path / "d.npz"
    np.savez(data, x=big, y=y[:2])
    assert run("certify", *FAST, "--data", str(data), "--out", str(tmp_path / "r.tsv")) == 2
    err = capsys.readouterr().err
    assert "float32" in err
    assert str(data) in err
    assert "model" not in err


def test_ctrl_c_while_parsing_is_one_line_130(monkeypatch, capsys):
    from hocert import cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["certify"]) == 130
    err = capsys.readouterr().err
    assert err == "hocert: interrupted\n"


def test_ctrl_c_while_importing_is_one_line_130(tmp_path):
    script = (
        "import sys, runpy\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'hocert.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "runpy.run_module('hocert', run_name='__main__')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert proc.returncode == 130
    assert proc.stderr == "hocert: interrupted\n"


def _onnx_model_with_output(path: Path, shape_tail: tuple[int, ...]) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((64, 10), np.float32), "w")
    axes = numpy_helper.from_array(np.array([2], np.int64), "axes")
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["s"]),
        helper.make_node("Unsqueeze", ["s", "axes"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", *shape_tail])],
        [weight, axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_model_output_with_a_trailing_axis_gets_an_accurate_message(tmp_path, capsys):
    model = tmp_path / "m.onnx"
    _onnx_model_with_output(model, (10, 1))
    _, x, y = load_example()
    data = tmp_path / "d.npz"
    np.savez(data, x=x[:2].reshape(2, 64), y=y[:2])
    argv = ["certify", *FAST, "--model", str(model), "--data", str(data), "--sigma", "0.25"]
    assert run(*argv, "--out", str(tmp_path / "r.tsv")) == 2
    err = capsys.readouterr().err
    assert "(1, 10, 1)" in err
    assert "expected scores (1, K)" in err
    assert "returns labels" not in err


# ---------------------------------------------------------------------------------------------
# 3. Resumed (and read) rows are validated and tied to the run's parameters
# ---------------------------------------------------------------------------------------------


def _with_row_edited(reference: Path, out: Path, line: int, column: str, value: str) -> None:
    lines = reference.read_text().splitlines()
    header = lines[0].split("\t")
    fields = lines[line - 1].split("\t")
    fields[header.index(column)] = value
    lines[line - 1] = "\t".join(fields)
    out.write_text("\n".join(lines) + "\n")
    meta_path(out).write_bytes(meta_path(reference).read_bytes())


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("radius_l2", "nan", "radius_l2 nan is not a radius"),
        ("radius_l1", "-0.5", "radius_l1 -0.5 is not a radius"),
        ("radius_cohen", "99", "radius_cohen 99.0 does not follow from p_a_lower"),
        ("label", "10", "label 10 outside [0, 10)"),
        ("label", "abc", "label is 'abc', not an integer"),
        ("predict", "12", "predict 12 is neither -1"),
        ("p_a_lower", "1.5", "p_a_lower 1.5 outside [0, 1]"),
        ("solver_status", "l2=excellent", "solver_status 'l2=excellent'"),
        ("correct", "7", "correct 7 is neither 0 nor 1"),
        ("idx", "150", "idx 150 outside the data set"),
        ("params_hash", "0123456789abcdef", "params_hash '0123456789abcdef': the row was"),
    ],
)
def test_resume_refuses_an_invalid_row_naming_file_and_line(
    reference, tmp_path, column, value, message, capsys
):
    out = tmp_path / "r.tsv"
    _with_row_edited(reference, out, 3, column, value)
    before = out.read_bytes()
    assert certify(out, "--max", "4") == 2
    err = capsys.readouterr().err
    assert f"{out}, line 3: invalid row: {message}" in err, err
    assert len(err.strip().splitlines()) == 1
    assert out.read_bytes() == before
    assert run("summary", str(out)) == 2  # summary names file and line too
    assert f"{out}, line 3" in capsys.readouterr().err


def test_an_edited_sidecar_cannot_mix_sigmas(reference, tmp_path, capsys):
    out = tmp_path / "r.tsv"
    out.write_bytes(reference.read_bytes())
    meta = json.loads(meta_path(reference).read_text())
    meta["params"]["sigma"] = 0.5  # the rows were computed at 0.25
    meta_path(out).write_text(json.dumps(meta))
    assert certify(out, "--max", "6", "--sigma", "0.5") == 2
    err = capsys.readouterr().err
    assert f"{out}, line 2: invalid row" in err
    assert out.read_bytes() == reference.read_bytes()


# ---------------------------------------------------------------------------------------------
# 5. The batch from the input size and a memory budget
# ---------------------------------------------------------------------------------------------


def test_memory_budget_chooses_the_recorded_batch(tmp_path):
    out = tmp_path / "r.tsv"
    argv = ["certify", "--out", str(out), "--n", "200", "--n0", "20", "--quiet", "--max", "1"]
    assert run(*argv, "--memory-budget", "4KiB") == 0
    assert read_meta(out)["params"]["batch"] == 4096 // (16 * 64)
    out2 = tmp_path / "r2.tsv"
    assert run(*argv[:2], str(out2), *argv[3:]) == 0
    assert read_meta(out2)["params"]["batch"] == 1000  # d = 64: the cap
    assert run(*argv, "--memory-budget", "lots") == 2
