"""``hocert.certify_dataset``: the resumable runner from Python (issue 13)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import hocert
from hocert.examples import load_example
from hocert.results import ResultsMismatch, read_meta
from hocert.runner import RunInputError

FAST = {"n0": 20, "n": 200, "batch": 200}


def _scores():
    session = ort.InferenceSession(str(load_example()[0]), providers=["CPUExecutionProvider"])
    return lambda batch: session.run(None, {"input": np.asarray(batch)})[0]


def test_certify_dataset_writes_resumes_and_matches_the_onnx_file(tmp_path):
    path, x, y = load_example()
    out = tmp_path / "r.tsv"
    starts = []
    summary = hocert.certify_dataset(
        _scores(), x[:3], y[:3], out=out, sigma=0.25, on_start=starts.append, **FAST
    )
    assert (summary.requested, summary.resumed, summary.new) == (3, 0, 3)
    assert summary.frame["idx"].tolist() == [0, 1, 2]
    assert starts[0].total == 3
    assert starts[0].execution["backend"] == "numpy"
    meta = read_meta(out)
    assert meta["params"]["model_callable"].endswith("<lambda>")
    assert meta["params"]["estimator"] == hocert.runner.DEFAULT_ESTIMATOR
    again = hocert.certify_dataset(_scores(), x[:3], y[:3], out=out, sigma=0.25, **FAST)
    assert (again.resumed, again.new) == (3, 0)
    onnx = hocert.certify_dataset(path, x[:3], y[:3], out=tmp_path / "o.tsv", sigma=0.25, **FAST)
    cols = ["predict", "p_a_lower", "radius_l1"]
    assert onnx.frame[cols].equals(summary.frame[cols])
    with pytest.raises(ResultsMismatch, match="sigma"):
        hocert.certify_dataset(_scores(), x[:3], y[:3], out=out, sigma=0.5, **FAST)


def test_certify_dataset_input_errors(tmp_path):
    _, x, y = load_example()
    out = tmp_path / "r.tsv"
    with pytest.raises(RunInputError, match="num_classes=3 but the model returns 10"):
        hocert.certify_dataset(_scores(), x[:3], y[:3], out=out, sigma=0.25, num_classes=3)
    with pytest.raises(RunInputError, match="sigma"):
        hocert.certify_dataset(_scores(), x[:3], y[:3], out=out, sigma=-1.0)
    with pytest.raises(RunInputError, match="Dask run"):
        hocert.certify_dataset(_scores(), x[:3], y[:3], out=out, sigma=0.25, client=object())
    with pytest.raises(RunInputError, match="expected scores"):
        hocert.certify_dataset(lambda b: np.zeros(3), x[:3], y[:3], out=out, sigma=0.25)
    assert not out.exists()
