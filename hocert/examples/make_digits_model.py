"""Build the bundled example: a small digits classifier trained with Gaussian noise, as ONNX.

Run ``python -m hocert.examples.make_digits_model`` (needs scikit-learn) to regenerate
``digits_mlp.onnx`` and ``digits_test.npz`` beside this file. Everything is seeded, so the files
are reproducible on a given platform.

- Data: scikit-learn's bundled digits (1797 images of 8x8 pixels, 10 classes), pixels scaled to
  [0, 1] and shaped (1, 8, 8). A stratified test split of 150 images is held out and saved as
  ``digits_test.npz`` (``x``: float32 (150, 1, 8, 8), ``y``: int64 (150,)).
- Model: an MLP 64 -> 64 -> 64 -> 10 (ReLU), trained by scikit-learn's ``MLPClassifier`` on the
  training images plus 10 noisy copies ``x + sigma * eps`` with sigma = 0.25 (Gaussian-noise
  augmentation, as randomized smoothing requires; pixels are not clipped).
- Export: the ONNX graph is written directly with ``onnx.helper``: input ``"input"`` float32
  [N, 1, 8, 8] -> Flatten -> (MatMul, Add, Relu) x 2 -> MatMul, Add -> output ``"logits"``
  float32 [N, 10].
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hocert.examples import EXAMPLE_SIGMA

if TYPE_CHECKING:  # scikit-learn is needed only to run this script (the 'test' extra)
    import onnx
    from sklearn.neural_network import MLPClassifier

SIGMA = EXAMPLE_SIGMA  # the noise level the model is trained for
SEED = 0
N_TEST = 150
NOISY_COPIES = 10
EPOCHS = 50
HIDDEN = (64, 64)
HERE = Path(__file__).resolve().parent


def load_digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits scaled to [0, 1], shape (N, 1, 8, 8): (x_train, y_train, x_test, y_test)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=N_TEST, stratify=y, random_state=SEED
    )
    return x_train, y_train, x_test, y_test


def train_mlp(x_train: np.ndarray, y_train: np.ndarray) -> MLPClassifier:
    """Fit the MLP on the clean images plus NOISY_COPIES noisy copies at sigma = SIGMA."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(SEED)
    flat = x_train.reshape(len(x_train), -1)
    noisy = [
        flat + SIGMA * rng.standard_normal(flat.shape, dtype=np.float32)
        for _ in range(NOISY_COPIES)
    ]
    x_aug = np.concatenate([flat, *noisy])
    y_aug = np.tile(y_train, NOISY_COPIES + 1)
    mlp = MLPClassifier(
        hidden_layer_sizes=HIDDEN, alpha=1e-3, batch_size=256, max_iter=EPOCHS, random_state=SEED
    )
    with warnings.catch_warnings():  # a fixed epoch budget, not convergence, ends the training
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(x_aug, y_aug)
    return mlp


def to_onnx(weights: list[np.ndarray], biases: list[np.ndarray]) -> onnx.ModelProto:
    """The MLP as an ONNX graph: input [N, 1, 8, 8] -> Flatten -> dense layers -> logits [N, K]."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("Flatten", ["input"], ["h0"], axis=1)]
    init = []
    h = "h0"
    for i, (w, b) in enumerate(zip(weights, biases)):
        last = i == len(weights) - 1
        init += [
            numpy_helper.from_array(w.astype(np.float32), f"W{i}"),
            numpy_helper.from_array(b.astype(np.float32), f"b{i}"),
        ]
        nodes.append(helper.make_node("MatMul", [h, f"W{i}"], [f"mm{i}"]))
        out = "logits" if last else f"pre{i}"
        nodes.append(helper.make_node("Add", [f"mm{i}", f"b{i}"], [out]))
        if not last:
            nodes.append(helper.make_node("Relu", [out], [f"h{i + 1}"]))
            h = f"h{i + 1}"
    graph = helper.make_graph(
        nodes,
        "digits_mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", weights[-1].shape[1]])],
        init,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="hocert.examples"
    )
    model.ir_version = 8
    return model


def onnx_accuracy(
    path: Path, x: np.ndarray, y: np.ndarray, sigma: float = 0.0, copies: int = 1, seed: int = SEED
) -> float:
    """Accuracy of the ONNX model on ``x`` plus Gaussian noise of level sigma (``copies`` draws)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    correct = 0
    for _ in range(copies):
        noisy = x + sigma * rng.standard_normal(x.shape, dtype=np.float32)
        logits = session.run(["logits"], {"input": noisy.astype(np.float32)})[0]
        correct += int((logits.argmax(axis=1) == y).sum())
    return correct / (copies * len(y))


def main() -> None:
    import onnx

    x_train, y_train, x_test, y_test = load_digits_split()
    mlp = train_mlp(x_train, y_train)
    model = to_onnx(mlp.coefs_, mlp.intercepts_)
    onnx.checker.check_model(model)
    model_path, data_path = HERE / "digits_mlp.onnx", HERE / "digits_test.npz"
    onnx.save(model, model_path)
    np.savez_compressed(data_path, x=x_test.astype(np.float32), y=y_test.astype(np.int64))

    sk_acc = mlp.score(x_test.reshape(len(x_test), -1), y_test)
    print(
        f"wrote {model_path.name} ({model_path.stat().st_size} bytes), "
        f"{data_path.name} ({data_path.stat().st_size} bytes)"
    )
    print(
        f"test accuracy, clean: {onnx_accuracy(model_path, x_test, y_test):.3f} "
        f"(scikit-learn: {sk_acc:.3f})"
    )
    print(
        f"test accuracy, noisy (sigma={SIGMA}, 100 draws per image): "
        f"{onnx_accuracy(model_path, x_test, y_test, SIGMA, copies=100):.3f}"
    )


if __name__ == "__main__":
    main()
