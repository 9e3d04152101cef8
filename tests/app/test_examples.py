"""The bundled example (hocert/examples): the digits model and its test images."""

from __future__ import annotations

import numpy as np

from hocert.examples import EXAMPLE_NUM_CLASSES, EXAMPLE_SIGMA, load_example
from hocert_sampling.models import probe_onnx_model


def test_load_example():
    model_path, x, y = load_example()
    assert model_path.is_file()
    assert model_path.suffix == ".onnx"
    assert x.shape == (150, 1, 8, 8)
    assert x.dtype == np.float32
    assert 0.0 <= x.min() <= x.max() <= 1.0
    assert y.shape == (150,)
    assert set(np.unique(y)) == set(range(EXAMPLE_NUM_CLASSES))
    assert EXAMPLE_SIGMA == 0.25
    assert probe_onnx_model(model_path, x[:1]) == EXAMPLE_NUM_CLASSES
