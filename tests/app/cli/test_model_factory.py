"""``hocert certify --model MODULE:FUNCTION``, ``--plan`` and ``--estimator`` (issues 13, 14)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from hocert.results import read_meta, read_results

from .helpers import FAST, certify, run


def rows_without_time(path):
    """Data rows by idx without ``time`` and ``params_hash`` (the parameters name the model)."""
    frame, _ = read_results(path)
    frame = frame.drop(columns=[c for c in ("time", "params_hash") if c in frame.columns])
    return frame.sort_values("idx").to_numpy().tolist()


# A factory module written into the current directory, as a user's own would be: the bundled
# ONNX model behind a plain Python callable (so its rows equal the ONNX file's).
FACTORIES = textwrap.dedent(
    """
    import numpy as np
    import onnxruntime as ort

    from hocert.examples import load_example

    CONSTANT = 3


    def build(backend="numpy", scale="1"):
        path = str(load_example()[0])
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])

        def predict(batch):
            return session.run(None, {"input": np.asarray(batch)})[0] * float(scale)

        return predict


    def labels():
        scores = build()
        return lambda batch: scores(batch).argmax(axis=1)


    def not_callable():
        return 3


    def wrong_shape():
        return lambda batch: np.zeros((len(batch), 3, 2))


    def broken():
        raise RuntimeError("no checkpoint")
    """
)


@pytest.fixture
def factories(tmp_path, monkeypatch):
    name = f"user_factories_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(FACTORIES)
    monkeypatch.chdir(tmp_path)
    return name


def test_factory_rows_equal_the_onnx_files_and_resume(reference, factories, tmp_path):
    out = tmp_path / "f.tsv"
    argv = ["--model", f"{factories}:build", "--sigma", "0.25", "--max", "4"]
    assert certify(out, *argv) == 0
    assert rows_without_time(out) == rows_without_time(reference)
    meta = read_meta(out)
    assert meta["params"]["model_factory"] == f"{factories}:build"
    assert meta["params"]["model_args"] == {}
    assert "model_sha256" not in meta["params"]
    assert meta["model"] == f"{factories}:build"
    # the same spec resumes; other factory arguments are another model
    assert certify(out, *argv, "--max", "5") == 0
    assert len(read_results(out)[0]) == 5
    assert certify(out, *argv, "--model-arg", "scale=2") == 2


def test_factory_returning_labels_needs_num_classes(factories, tmp_path, capsys):
    argv = ["--model", f"{factories}:labels", "--sigma", "0.25", "--max", "2"]
    assert certify(tmp_path / "a.tsv", *argv) == 2
    assert "pass --num-classes" in capsys.readouterr().err
    assert certify(tmp_path / "b.tsv", *argv, "--num-classes", "10") == 0


@pytest.mark.parametrize(
    ("model", "extra", "message"),
    [
        ("no_such_module_xyz:build", [], "no module named 'no_such_module_xyz'"),
        ("__F__:missing", [], "has no attribute 'missing'"),
        ("__F__:CONSTANT", [], "is a int, not a function"),
        ("__F__:not_callable", [], "returned a int, not a callable model"),
        ("__F__:wrong_shape", [], "expected scores (1, K)"),
        ("__F__:broken", [], "raised RuntimeError: no checkpoint"),
        ("__F__:build", ["--model-arg", "nope=1"], "cannot be called with"),
        ("__F__:build", ["--model-arg", "novalue"], "is not KEY=VALUE"),
        ("net.onnx", ["--model-arg", "a=1"], "--model-arg is for a model named by"),
        ("net.onnx", [], "model file not found"),
    ],
)
def test_factory_errors_are_usage_errors(factories, tmp_path, model, extra, message, capsys):
    out = tmp_path / "r.tsv"
    argv = ["--model", model.replace("__F__", factories), "--sigma", "0.25", *extra]
    assert certify(out, *argv, "--max", "1") == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()


def test_factory_on_dask_matches_local(reference, factories, scheduler_address, tmp_path):
    out = tmp_path / "dask.tsv"
    argv = ["--model", f"{factories}:build", "--sigma", "0.25", "--max", "4"]
    assert certify(out, *argv, "--scheduler", scheduler_address) == 0
    assert rows_without_time(out) == rows_without_time(reference)
    assert read_meta(out)["execution"][0]["where"] == "dask worker"


def test_torch_example_certifies_from_the_cli(reference, tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "torch.tsv"
    model = "hocert.examples.torch_model:build"
    assert certify(out, "--model", model, "--sigma", "0.25", "--max", "4") == 0
    frame, meta = read_results(out)
    ref, _ = read_results(reference)
    assert meta["params"]["model_factory"] == model
    assert frame["predict"].tolist() == ref["predict"].tolist()
    # the same weights: the same votes up to float32 rounding at a decision boundary
    np.testing.assert_allclose(frame["p_a_lower"], ref["p_a_lower"], atol=0.02)


def test_plan_prints_a_table_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "r.tsv"
    argv = ["--plan", "--plan-n0", "2000", "--plan-n", "1e3,1e4", "--max", "2"]
    assert run("certify", "--out", str(out), "--batch", "1000", *argv) == 0
    text = capsys.readouterr().out
    assert "on 2 inputs (idx 0, 1)" in text
    assert "estimator mgf" in text
    lines = text.splitlines()
    rows = [line.split() for line in lines if line.split()[:1] in (["1000"], ["10000"])]
    assert [r[0] for r in rows] == ["1000", "10000"]
    cohen = [float(r[1]) for r in rows]
    assert 0 < cohen[0] <= cohen[1]
    assert not out.exists()
    assert run("certify", "--plan", "--plan-n", "1.5") == 2
    assert run("certify", "--plan", "--plan-n0", "1") == 2


def test_estimator_is_recorded_and_compared_on_resume(reference, tmp_path, capsys):
    assert read_meta(reference)["params"]["estimator"] == "mgf"
    out = tmp_path / "paper.tsv"
    assert certify(out, "--max", "2", "--estimator", "paper") == 0
    assert read_meta(out)["params"]["estimator"] == "paper"
    frame, _ = read_results(out)
    ref, _ = read_results(reference)
    assert frame["p_a_lower"].tolist() == ref["p_a_lower"][:2].tolist()  # the same samples
    capsys.readouterr()
    assert certify(out, "--max", "3") == 2  # the default, mgf: refused
    assert "estimator: the existing file has 'paper', this run has 'mgf'" in capsys.readouterr().err
    assert certify(out, "--max", "3", "--estimator", "paper") == 0
    assert run("certify", "--out", str(tmp_path / "x.tsv"), *FAST, "--estimator", "tight") == 2
