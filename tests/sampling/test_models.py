"""Model adapters: ONNX files and sessions, callables, and every invalid-output path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from hocert.examples import load_example
from hocert_sampling.backend import get_backend
from hocert_sampling.models import (
    CallableModel,
    ModelError,
    ModelOutputError,
    OnnxModel,
    as_label_model,
    labels_from_output,
    probe_onnx_model,
)

NP = get_backend("numpy")


@pytest.fixture(scope="module")
def example() -> tuple[Path, np.ndarray, np.ndarray]:
    return load_example()


@pytest.fixture(scope="module")
def labels_model_path(example, tmp_path_factory) -> Path:
    """The example model with a second output "labels" = ArgMax(logits), int64 (N,)."""
    model = onnx.load(example[0])
    model.graph.node.append(helper.make_node("ArgMax", ["logits"], ["labels"], axis=1, keepdims=0))
    model.graph.output.append(helper.make_tensor_value_info("labels", TensorProto.INT64, ["N"]))
    onnx.checker.check_model(model)
    path = tmp_path_factory.mktemp("onnx") / "digits_labels.onnx"
    onnx.save(model, path)
    return path


def reference_labels(path: Path, batch: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"input": batch})[0].argmax(axis=1)


# ----- ONNX ------------------------------------------------------------------------------------


def test_onnx_path_and_session_agree_with_onnxruntime(example) -> None:
    path, x, _ = example
    expected = reference_labels(path, x)
    from_path = OnnxModel(path, 10, NP)
    from_session = OnnxModel(
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]), 10, NP
    )
    for model in (from_path, from_session):
        labels = model(x)
        assert labels.dtype == np.int64
        assert labels.shape == (len(x),)
        np.testing.assert_array_equal(labels, expected)
    assert from_path.input_name == "input"
    assert from_path.output_name == "logits"


def test_onnx_iobinding_path_matches_run(example) -> None:
    """The bound-buffer path (used with CuPy on the GPU) exercised with host buffers."""
    path, x, _ = example
    bound = OnnxModel(path, 10, NP, use_iobinding=True)
    assert bound.use_iobinding
    np.testing.assert_array_equal(bound(x), reference_labels(path, x))
    noisy = x[:7] + 0.25 * np.random.default_rng(0).standard_normal(x[:7].shape, dtype=np.float32)
    np.testing.assert_array_equal(bound(noisy), reference_labels(path, noisy))


def test_onnx_iobinding_when_the_output_shape_is_unknown(example, monkeypatch) -> None:
    """Outputs whose shape is not known before the run are allocated by ONNX Runtime."""
    path, x, _ = example
    bound = OnnxModel(path, 10, NP, use_iobinding=True)
    monkeypatch.setattr(bound, "_output_shape", lambda batch_size: None)
    np.testing.assert_array_equal(bound(x[:20]), reference_labels(path, x[:20]))


def test_onnx_label_output(example, labels_model_path) -> None:
    _, x, _ = example
    expected = reference_labels(labels_model_path, x)
    for use_iobinding in (False, True):
        model = OnnxModel(
            labels_model_path, 10, NP, output_name="labels", use_iobinding=use_iobinding
        )
        np.testing.assert_array_equal(model(x), expected)


def test_onnx_unknown_names_and_missing_file(example, tmp_path) -> None:
    path = example[0]
    with pytest.raises(ValueError, match="no input"):
        OnnxModel(path, 10, NP, input_name="image")
    with pytest.raises(ValueError, match="no output"):
        OnnxModel(path, 10, NP, output_name="probabilities")
    with pytest.raises(FileNotFoundError):
        OnnxModel(tmp_path / "missing.onnx", 10, NP)


def test_onnx_class_count_mismatch(example) -> None:
    path, x, _ = example
    with pytest.raises(ModelOutputError, match="num_classes=5"):
        OnnxModel(path, 5, NP)(x[:3])


def test_onnx_labels_out_of_range_for_fewer_classes(example, labels_model_path) -> None:
    _, x, y = example
    model = OnnxModel(labels_model_path, 3, NP, output_name="labels")
    with pytest.raises(ModelOutputError, match=r"outside \[0, 3\)"):
        model(x[y >= 5][:4])


def test_onnx_wrong_input_shape_is_model_error(example) -> None:
    path, _, _ = example
    with pytest.raises(ModelError, match="raised"):
        OnnxModel(path, 10, NP)(np.zeros((2, 1, 9, 9), dtype=np.float32))


# ----- callables and output validation ----------------------------------------------------------


def test_probe_onnx_model_counts_scores_or_says_labels(example, tmp_path) -> None:
    path, x, _ = example
    assert probe_onnx_model(path, x[:1]) == 10
    assert probe_onnx_model(path, x[:3].astype(np.float64)) == 10  # cast to the input's type
    labels_only = onnx.load(path)
    labels_only.graph.node.append(
        helper.make_node("ArgMax", ["logits"], ["labels"], axis=1, keepdims=0)
    )
    del labels_only.graph.output[:]
    labels_only.graph.output.append(
        helper.make_tensor_value_info("labels", TensorProto.INT64, ["N"])
    )
    labels_path = tmp_path / "labels.onnx"
    onnx.save(labels_only, labels_path)
    assert probe_onnx_model(labels_path, x[:1]) is None


def test_probe_onnx_model_errors(example, tmp_path) -> None:
    path, x, _ = example
    with pytest.raises(ValueError, match="the model expects inputs of shape"):
        probe_onnx_model(path, x[:1].reshape(1, 8, 8))
    with pytest.raises(ValueError, match="the model expects inputs of shape"):
        probe_onnx_model(path, x[:1, :, :, :4])
    with pytest.raises(ValueError, match="no input"):
        probe_onnx_model(path, x[:1], input_name="x")
    with pytest.raises(FileNotFoundError):
        probe_onnx_model(tmp_path / "none.onnx", x[:1])
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load the ONNX model"):
        probe_onnx_model(junk, x[:1])


def test_callable_scores_and_labels() -> None:
    batch = np.zeros((4, 3), dtype=np.float32)
    scores = np.array([[0, 1, 0], [2, 0, 0], [0, 0, 5], [1, 1, 0]], dtype=np.float32)
    labels = CallableModel(lambda b: scores, 3, NP)(batch)
    np.testing.assert_array_equal(labels, [1, 0, 2, 0])  # ties go to the lowest index
    assert labels.dtype == np.int64
    out = CallableModel(lambda b: np.array([2, 1, 0, 1], dtype=np.int32), 3, NP)(batch)
    np.testing.assert_array_equal(out, [2, 1, 0, 1])
    assert out.dtype == np.int64


def test_callable_receives_the_batch() -> None:
    seen = []

    def fn(batch):
        seen.append(batch)
        return np.zeros(len(batch), dtype=np.int64)

    batch = np.ones((5, 2, 2), dtype=np.float32)
    CallableModel(fn, 2, NP)(batch)
    assert seen[0] is batch


@pytest.mark.parametrize(
    "out",
    [
        np.array([True, False, True]),  # bool labels (a two-class threshold)
        np.array([1.0, 0.0, 1.0]),  # integral floats
        [1, 0, 1],  # a list
        np.array([1, 0, 1], dtype=np.uint8),
    ],
)
def test_accepted_label_types(out) -> None:
    np.testing.assert_array_equal(labels_from_output(out, 3, 2, NP), [1, 0, 1])


class DLPackOnly:
    """A foreign tensor that only speaks DLPack (stands in for a PyTorch CPU tensor)."""

    def __init__(self, a: np.ndarray) -> None:
        self._a = a

    def __dlpack__(self, **kwargs):
        return self._a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


def test_dlpack_output_is_accepted() -> None:
    scores = np.array([[0.0, 3.0], [4.0, 1.0]], dtype=np.float32)
    np.testing.assert_array_equal(labels_from_output(DLPackOnly(scores), 2, 2, NP), [1, 0])


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (np.zeros((3, 4)), "4 scores per input, but num_classes=3"),
        (np.zeros((2, 3)), "scores for 2 inputs, but the batch has 3"),
        (np.zeros(4, dtype=np.int64), "4 labels, but the batch has 3"),
        (np.zeros((3, 3, 1)), "shape"),
        (np.zeros(()), "shape"),
        (np.array([[0, 1, np.nan]] * 3), "non-finite"),
        (np.array([[0, np.inf, 1]] * 3), "non-finite"),
        (np.array([0.0, 1.5, 2.0]), "non-integer"),
        (np.array([0.0, np.nan, 2.0]), "non-integer"),
        (np.array([0, -1, 2]), "outside"),
        (np.array([0, 3, 2]), "outside"),
        (np.array(["a", "b", "c"]), "dtype"),
        (np.array([[1 + 1j, 0, 0]] * 3), "dtype"),
        ([[1, 2], [3]], "convert"),
    ],
)
def test_invalid_outputs_raise(out, message) -> None:
    with pytest.raises(ModelOutputError, match=message):
        CallableModel(lambda b: out, 3, NP)(np.zeros((3, 2), dtype=np.float32))


def test_model_output_error_is_value_error() -> None:
    assert issubclass(ModelOutputError, ValueError)
    assert issubclass(ModelOutputError, ModelError)


def test_model_that_raises() -> None:
    def broken(batch):
        raise RuntimeError("CUDA out of memory")

    with pytest.raises(ModelError, match=r"RuntimeError.*CUDA out of memory") as info:
        CallableModel(broken, 3, NP)(np.zeros((2, 2), dtype=np.float32))
    assert isinstance(info.value.__cause__, RuntimeError)
    assert not isinstance(info.value, ModelOutputError)


def test_never_a_silent_vote_for_class_zero() -> None:
    """A model returning nothing useful must fail, not count as class 0."""
    for bad in (None, np.array([]), np.full((3, 3), np.nan)):
        with pytest.raises(ModelOutputError):
            CallableModel(lambda b, bad=bad: bad, 3, NP)(np.zeros((3, 2), dtype=np.float32))


# ----- dispatch ---------------------------------------------------------------------------------


def test_as_label_model_dispatch(example) -> None:
    path = example[0]
    assert isinstance(as_label_model(path, 10, NP), OnnxModel)
    assert isinstance(as_label_model(str(path), 10, NP), OnnxModel)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert as_label_model(session, 10, NP).session is session
    wrapped = as_label_model(lambda b: np.zeros(len(b), dtype=np.int64), 2, NP)
    assert isinstance(wrapped, CallableModel)
    assert as_label_model(wrapped, 2, "numpy") is wrapped
    with pytest.raises(ValueError, match="num_classes"):
        as_label_model(wrapped, 3, NP)
    with pytest.raises(TypeError, match="cannot use"):
        as_label_model(42, 2, NP)


@pytest.mark.parametrize(
    ("k", "error"), [(1, ValueError), (0, ValueError), (2.5, TypeError), ("3", TypeError)]
)
def test_invalid_num_classes(k, error) -> None:
    with pytest.raises(error, match="num_classes"):
        CallableModel(lambda b: b, k, NP)


# ----- GPU --------------------------------------------------------------------------------------


@pytest.mark.gpu
def test_onnx_on_cupy_matches_numpy(example) -> None:
    import cupy

    path, x, _ = example
    gpu_model = OnnxModel(path, 10, "cupy")
    labels = gpu_model(cupy.asarray(x))
    assert isinstance(labels, cupy.ndarray)
    np.testing.assert_array_equal(cupy.asnumpy(labels), OnnxModel(path, 10, NP)(x))


@pytest.mark.gpu
def test_callable_on_cupy_receives_device_arrays() -> None:
    import cupy

    def fn(batch):
        assert isinstance(batch, cupy.ndarray)
        return batch.reshape(len(batch), -1)[:, :3]

    batch = cupy.asarray(np.eye(3, dtype=np.float32))
    labels = CallableModel(fn, 3, "cupy")(batch)
    cupy.testing.assert_array_equal(labels, cupy.arange(3))
    with pytest.raises(ModelOutputError, match="non-finite"):
        CallableModel(lambda b: b * cupy.nan, 3, "cupy")(batch)


# ----- Execution providers under the GPU backend (fake CuPy, no GPU needed) ------------------


def test_default_providers() -> None:
    from hocert_sampling.backend import Backend
    from hocert_sampling.models import default_providers

    from .fakes import fake_cupy

    gpu = Backend("cupy", fake_cupy())
    both = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert default_providers(gpu, both) == both
    assert default_providers(gpu, ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert default_providers(NP, both) == ["CPUExecutionProvider"]


def test_onnx_on_the_gpu_backend_with_the_cpu_build_says_what_to_install(example) -> None:
    """CuPy works but ONNX Runtime is the CPU build: the model runs on the CPU, and the warning
    names the exact commands that replace the build."""
    from hocert_sampling.backend import Backend

    from .fakes import fake_cupy

    path, x, _ = example
    gpu = Backend("cupy", fake_cupy())
    with pytest.warns(RuntimeWarning, match="runs on the CPU") as record:
        model = OnnxModel(path, 10, gpu)
    assert model.providers == ["CPUExecutionProvider"]
    assert not model.use_iobinding
    assert model.cuda_problem is not None
    assert "pip uninstall -y onnxruntime && pip install" in model.cuda_problem
    assert "onnxruntime-gpu[cuda,cudnn]" in str(record[0].message)
    np.testing.assert_array_equal(model(x[:5]), OnnxModel(path, 10, NP)(x[:5]))
    assert OnnxModel(path, 10, NP).cuda_problem is None


def test_cuda_provider_that_fails_to_load_is_reported(example, monkeypatch) -> None:
    """The GPU build is there but its CUDA provider does not load (no CUDA or cuDNN libraries):
    the session asks for CUDA, preloads the pip libraries first, and reports what failed."""
    from hocert_sampling.backend import Backend

    from .fakes import fake_cupy, use_onnxruntime

    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    use_onnxruntime(monkeypatch, providers, {"onnxruntime-gpu": "1.26.0"})
    monkeypatch.setattr(ort, "get_available_providers", lambda: providers)
    preloaded = []
    monkeypatch.setattr(ort, "preload_dlls", lambda: preloaded.append(True), raising=False)
    asked = []

    class Session(ort.InferenceSession):  # the CUDA provider asked for, the CPU one obtained
        def __init__(self, path, providers=None, **kwargs):
            asked.append(providers)
            super().__init__(path, providers=["CPUExecutionProvider"], **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", Session)
    path = example[0]
    with pytest.warns(RuntimeWarning, match="failed to load"):
        model = OnnxModel(path, 10, Backend("cupy", fake_cupy()))
    assert asked == [[("CUDAExecutionProvider", {"device_id": 0}), "CPUExecutionProvider"]]
    assert preloaded == [True]
    assert model.providers == ["CPUExecutionProvider"]
    assert "cuDNN" in model.cuda_problem


def test_probe_callable_model_tells_scores_from_labels():
    from hocert_sampling.models import probe_callable_model

    example = np.zeros((1, 1, 8, 8))
    seen = []

    def scores(batch):
        seen.append(batch.dtype)
        return np.zeros((len(batch), 4))

    assert probe_callable_model(scores, example, "numpy") == 4
    assert seen == [np.float32]
    assert probe_callable_model(lambda b: [0] * len(b), example, "numpy") is None
    with pytest.raises(ModelOutputError, match=r"expected scores \(1, K\)"):
        probe_callable_model(lambda b: np.zeros((len(b), 1)), example, "numpy")
    with pytest.raises(ModelOutputError):
        probe_callable_model(lambda b: np.zeros((2, 3)), example, "numpy")
    with pytest.raises(ModelError, match="raised ZeroDivisionError"):
        probe_callable_model(lambda b: 1 / 0, example, "numpy")
    with pytest.raises(TypeError):
        probe_callable_model(3, example, "numpy")
