"""``hocert certify``: rows, resume, parameters, bad input, Dask."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hocert import runner
from hocert.examples import load_example
from hocert.results import meta_path, read_meta, read_results
from hocert_sampling.models import ModelError
from tests.sampling.helpers import fail_lower_norm_bounds

from .helpers import FAST, certify, rows_without_time, run


def test_certify_rows_are_consistent(reference):
    frame, meta = read_results(reference)
    _, _, y = load_example()
    assert frame["idx"].tolist() == [0, 1, 2, 3]
    assert frame["label"].tolist() == y[:4].tolist()
    assert (frame["correct"] == (frame["predict"] == frame["label"])).all()
    ok = frame["predict"] >= 0
    assert (frame.loc[ok, "radius_cohen"] > 0).all()
    assert (frame.loc[~ok, ["radius_l2", "radius_l1", "radius_linf"]] == 0).all().all()
    assert (frame["radius_linf"] <= frame["radius_l2"]).all()
    assert (frame.loc[~ok, "solver_status"] == "abstain").all()
    assert frame.loc[ok, "solver_status"].str.fullmatch(r"converged|((l2|l1|linf)=\w+,?)+").all()
    assert meta["params"]["n"] == 200
    assert meta["params"]["seed"] == 0
    assert len(meta["params"]["model_sha256"]) == 64


@pytest.mark.parametrize("cut", ["mid_line", "newline_only", "short_row", "two_rows"])
def test_resume_after_interrupt_gives_identical_rows(reference, tmp_path, cut, capsys):
    out = tmp_path / "r.tsv"
    full = reference.read_bytes()
    lines = full.splitlines(keepends=True)
    if cut == "mid_line":
        damaged = b"".join(lines[:-1]) + lines[-1][:7]
    elif cut == "newline_only":
        damaged = full[:-1]
    elif cut == "short_row":
        damaged = b"".join(lines[:-1]) + b"3\t4\t-1\n"
    else:
        damaged = b"".join(lines[:-2])
    out.write_bytes(damaged)
    meta_path(out).write_bytes(meta_path(reference).read_bytes())

    assert certify(out, "--max", "4") == 0
    assert rows_without_time(out) == rows_without_time(reference)
    err = capsys.readouterr().err
    assert ("incomplete last line" in err) == (cut != "two_rows")


def test_resume_by_set_of_idx_and_extension(reference, tmp_path):
    out = tmp_path / "r.tsv"
    lines = reference.read_text().splitlines(keepends=True)
    out.write_text(lines[0] + lines[3] + lines[1])  # idx 2 and 0, out of order (as from Dask)
    meta_path(out).write_bytes(meta_path(reference).read_bytes())
    assert certify(out, "--max", "4") == 0
    assert rows_without_time(out) == rows_without_time(reference)
    # --max and --skip only choose the inputs: extending a run is a resume, not a mismatch
    assert certify(out, "--max", "3", "--skip", "2") == 0
    frame, _ = read_results(out)
    assert frame["idx"].tolist() == [0, 1, 2, 3, 4]
    assert frame["idx"].is_unique


def test_parameter_mismatch_is_refused(reference, tmp_path, capsys):
    out = tmp_path / "r.tsv"
    out.write_bytes(reference.read_bytes())
    meta_path(out).write_bytes(meta_path(reference).read_bytes())
    for extra in (["--n", "300"], ["--seed", "1"], ["--sigma", "0.5"], ["--alpha", "0.01"]):
        assert run("certify", "--out", str(out), *FAST, "--max", "4", *extra) == 2
        err = capsys.readouterr().err
        assert "refusing to resume" in err
        assert "--force" in err
    assert out.read_bytes() == reference.read_bytes()
    assert run("certify", "--out", str(out), *FAST, "--max", "1", "--n", "300", "--force") == 0
    frame, meta = read_results(out)
    assert frame["idx"].tolist() == [0]
    assert meta["params"]["n"] == 300


def test_corrupted_file_is_refused(reference, tmp_path, capsys):
    out = tmp_path / "r.tsv"
    lines = reference.read_text().splitlines(keepends=True)
    out.write_text(lines[0] + "junk\n" + "".join(lines[2:]))
    meta_path(out).write_bytes(meta_path(reference).read_bytes())
    assert certify(out, "--max", "4") == 2
    assert "malformed row" in capsys.readouterr().err
    meta_path(out).unlink()
    out.write_bytes(reference.read_bytes())
    assert certify(out, "--max", "4") == 2
    assert "meta.json" in capsys.readouterr().err


def test_seed_changes_rows(reference, tmp_path):
    out = tmp_path / "r.tsv"
    assert certify(out, "--max", "4", "--seed", "7") == 0
    assert rows_without_time(out) != rows_without_time(reference)


def test_subspaces_channels_adds_a_column(tmp_path):
    out = tmp_path / "r.tsv"
    assert certify(out, "--max", "2", "--subspaces", "channels") == 0
    frame, meta = read_results(out)
    assert "radius_channel0" in frame.columns
    assert meta["subspace_names"] == ["channel0"]
    assert meta["params"]["subspaces"] == "channels"
    # one channel spans the whole input: the subspace radius is an l2 radius
    assert (frame["radius_channel0"] >= 0).all()


def test_inconsistent_bounds_are_recorded_in_the_row(tmp_path, monkeypatch):
    fail_lower_norm_bounds(monkeypatch)
    out = tmp_path / "r.tsv"
    assert certify(out, "--max", "3", "--subspaces", "channels") == 0
    frame, _ = read_results(out)
    ok = frame["predict"] >= 0
    assert ok.any()
    expected = "l1=inconsistent,linf=inconsistent,subspace:channel0=inconsistent"
    assert (frame.loc[ok, "solver_status"] == expected).all()
    assert np.isfinite(frame[["radius_l1", "radius_linf", "radius_channel0"]].to_numpy()).all()
    # The summary reads such a file.
    assert run("summary", str(out)) == 0


def test_custom_model_and_data(tmp_path):
    model, x, y = load_example()
    data = tmp_path / "d.npz"
    np.savez(data, x=x[10:13], y=y[10:13])
    out = tmp_path / "r.tsv"
    argv = ["--model", str(model), "--data", str(data), "--sigma", "0.25"]
    assert certify(out, *argv, "--num-classes", "10") == 0
    frame, meta = read_results(out)
    assert frame["label"].tolist() == y[10:13].tolist()
    assert meta["data"] == str(data.resolve())
    assert certify(tmp_path / "bad.tsv", *argv, "--num-classes", "7") == 2


def test_interrupt_exits_130_and_keeps_rows(tmp_path, monkeypatch, capsys):
    real = runner.certify_row
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "certify_row", interrupted)
    out = tmp_path / "r.tsv"
    assert certify(out, "--max", "4") == 130
    assert "interrupted" in capsys.readouterr().err
    frame, _ = read_results(out)
    assert frame["idx"].tolist() == [0, 1]


def test_runtime_failure_exits_1(tmp_path, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise ModelError("the model raised on a batch")

    monkeypatch.setattr(runner, "certify_row", broken)
    assert certify(tmp_path / "r.tsv", "--max", "2") == 1
    err = capsys.readouterr().err
    assert "model error" in err
    assert "Traceback" not in err


def test_sigint_subprocess_keeps_finished_rows(tmp_path):
    argv = [sys.executable, "-m", "hocert", "certify", "--n", "20000", "--n0", "20"]
    argv += ["--max", "150", "--out", "r.tsv", "--quiet"]
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = tmp_path / "r.tsv"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.exists() and out.read_text().count("\n") >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    frame, _ = read_results(out)
    assert 2 <= len(frame) < 150
    assert frame["idx"].tolist() == list(range(len(frame)))
    assert out.read_bytes().endswith(b"\n")


def bad_data(tmp_path: Path, **arrays: np.ndarray) -> str:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "missing.onnx", "--sigma", "1"], "model file not found"),
        (["--data", "missing.npz"], "data file not found"),
        (["--model", "__TMP__/junk.onnx", "--sigma", "1"], "cannot load the ONNX model"),
        (["--data", "__TMP__/junk.onnx"], "cannot read"),
        (["--model", "__MODEL__"], "--sigma is required"),
        (["--out", "__TMP__/no/such/dir/r.tsv"], "does not exist"),
        (["--out", "__TMP__"], "is a directory"),
    ],
)
def test_certify_bad_paths(tmp_path, argv, message, capsys):
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    model = str(load_example()[0])
    argv = [a.replace("__TMP__", str(tmp_path)).replace("__MODEL__", model) for a in argv]
    assert run("certify", *FAST, "--max", "1", *argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_certify_bad_data(tmp_path, capsys):
    _, x, y = load_example()
    cases = [
        ({"x": x[:3]}, "no array(s) ['y']"),
        ({"x": x[:3], "y": y[:2]}, "y must have shape (3,)"),
        ({"x": x[:3].reshape(3, 8, 8), "y": y[:3]}, "the model expects inputs of shape"),
        ({"x": x[:3, :, :4], "y": y[:3]}, "the model expects inputs of shape"),
        ({"x": x[:3], "y": y[:3] + 0.5}, "integer labels"),
        ({"x": np.full_like(x[:3], np.nan), "y": y[:3]}, "NaN"),
        ({"x": x[:0], "y": y[:0]}, "empty"),
    ]
    for arrays, message in cases:
        assert run("certify", *FAST, "--data", bad_data(tmp_path, **arrays)) == 2
        assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--alpha", "1.5"],
        ["--alpha", "0"],
        ["--n", "1"],
        ["--n0", "0"],
        ["--sigma", "-1"],
        ["--sigma", "nan"],
        ["--batch", "x"],
        ["--skip", "0"],
        ["--subspaces", "rows"],
        ["--backend", "tpu"],
        ["--num-classes", "1"],
    ],
)
def test_certify_bad_values_are_usage_errors(argv, tmp_path, capsys):
    assert run("certify", "--out", str(tmp_path / "r.tsv"), *argv) == 2
    assert "error" in capsys.readouterr().err
    assert not (tmp_path / "r.tsv").exists()


@pytest.fixture(scope="module")
def labels_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example model returning labels (ArgMax of its scores) instead of scores."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    model = onnx.load(load_example()[0])
    model.graph.node.append(helper.make_node("ArgMax", ["logits"], ["labels"], axis=1, keepdims=0))
    del model.graph.output[:]
    model.graph.output.append(helper.make_tensor_value_info("labels", TensorProto.INT64, ["N"]))
    path = tmp_path_factory.mktemp("onnx") / "labels.onnx"
    onnx.save(model, path)
    return path


def test_too_few_classes_is_a_usage_error(labels_model, tmp_path, capsys):
    out = tmp_path / "r.tsv"
    fast = ["--n", "200", "--n0", "20", "--batch", "200", "--quiet", "--max", "2"]
    argv = ["certify", "--out", str(out), "--model", str(labels_model), "--sigma", "0.25", *fast]
    assert run(*argv, "--num-classes", "3") == 2  # the example's labels go up to 9
    err = capsys.readouterr().err
    assert "--num-classes 3 is too few" in err
    assert "up to 9" in err
    assert not out.exists()
    x = load_example()[1]
    data = tmp_path / "d.npz"
    np.savez(data, x=x[:3], y=np.array([0, 1, 12]))  # a label the scores model cannot give
    assert run("certify", "--out", str(out), "--data", str(data), *fast) == 2
    assert "10 classes are too few" in capsys.readouterr().err
    assert run(*argv, "--num-classes", "10") == 0


def test_certify_on_dask_matches_local_and_resumes(reference, scheduler_address, tmp_path):
    out = tmp_path / "dask.tsv"
    argv = ["--max", "4", "--scheduler", scheduler_address]
    assert certify(out, *argv) == 0
    assert rows_without_time(out) == rows_without_time(reference)
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:3]) + lines[3][:5])  # two rows and a cut-short one
    assert certify(out, *argv) == 0
    assert rows_without_time(out) == rows_without_time(reference)
    assert read_meta(out)["params"] == read_meta(reference)["params"]


def test_unreachable_scheduler_is_a_runtime_failure(tmp_path, capsys):
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    rc = certify(tmp_path / "r.tsv", "--scheduler", address, "--connect-timeout", "1")
    assert rc == 1
    assert "cannot connect to the Dask scheduler" in capsys.readouterr().err
