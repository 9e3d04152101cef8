"""The bundled example: a small digits classifier (ONNX) and its held-out test images.

The files are made by ``make_digits_model.py`` in this package (see its docstring): an MLP trained
with Gaussian-noise augmentation at sigma = 0.25 on scikit-learn's 8x8 digits, pixels in [0, 1].
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np

__all__ = ["EXAMPLE_NUM_CLASSES", "EXAMPLE_SIGMA", "load_example"]

EXAMPLE_SIGMA = 0.25
EXAMPLE_NUM_CLASSES = 10


def load_example() -> tuple[Path, np.ndarray, np.ndarray]:
    """The bundled digits model and test set.

    Returns
    -------
    model_path : pathlib.Path
        ``digits_mlp.onnx``: input ``"input"`` float32 [N, 1, 8, 8], output ``"logits"``
        float32 [N, 10].
    x : ndarray of float32, shape (150, 1, 8, 8)
        Held-out test images, pixels in [0, 1].
    y : ndarray of int64, shape (150,)
        Their labels in 0..9.
    """
    root = files(__name__)
    model_path = Path(str(root / "digits_mlp.onnx"))
    if not model_path.is_file():  # e.g. installed inside a zip archive
        raise FileNotFoundError(f"the bundled example model is not a file on disk: {model_path}")
    with (root / "digits_test.npz").open("rb") as fh, np.load(fh) as data:
        x, y = data["x"], data["y"]
    return model_path, x, y
