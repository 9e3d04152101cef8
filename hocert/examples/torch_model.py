"""The bundled digits model in PyTorch: an example of ``hocert certify --model MODULE:FUNCTION``.

``build`` re-implements the bundled ONNX model (``digits_mlp.onnx``: Flatten, then
Linear 64 -> 64, ReLU, Linear 64 -> 64, ReLU, Linear 64 -> 10) as a ``torch.nn.Sequential`` and
loads its weights from the ONNX file's initialisers, so it computes the same logits (up to
float32 rounding) without ONNX Runtime::

    hocert certify --model hocert.examples.torch_model:build --sigma 0.25 --max 20
    hocert certify --model hocert.examples.torch_model:build --model-arg device=cpu --sigma 0.25

Your own factory looks the same: build or load the network (``torch.load`` a checkpoint, whose
path can come in as ``--model-arg checkpoint=...``), put it in ``eval()`` mode and return a
function of one batch. hocert calls it with float32 arrays of shape ``(N, *input_shape)``: NumPy
arrays with the NumPy backend, CuPy arrays with the CuPy one. ``torch.from_dlpack`` wraps either
without a copy, and the returned tensor goes back through DLPack too (a NumPy array works as
well). Noise is added in the model's input space: normalisation (``(x - mean) / std``) belongs
inside the returned function or the network, never in the data file. Needs ``torch`` (not a
dependency of hocert).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["build", "onnx_weights"]


def onnx_weights() -> list[tuple[np.ndarray, np.ndarray]]:
    """The bundled model's layers as ``(W, b)`` pairs, ``W`` of shape (in, out), read from the
    initialisers ``W0, b0, W1, b1, W2, b2`` of ``digits_mlp.onnx``."""
    import onnx
    from onnx import numpy_helper

    from hocert.examples import load_example

    graph = onnx.load(str(load_example()[0])).graph
    arrays = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    return [(arrays[f"W{i}"], arrays[f"b{i}"]) for i in range(3)]


def build(backend: str = "numpy", device: str | None = None) -> Callable[[Any], Any]:
    """The bundled digits MLP as a torch model, ready for ``hocert certify --model``.

    Parameters
    ----------
    backend : str
        Passed by hocert: ``"numpy"`` (batches are NumPy arrays, the model runs on the CPU) or
        ``"cupy"`` (CuPy arrays on the GPU, the model runs on ``cuda``).
    device : str, optional
        The torch device (``--model-arg device=cuda:1``); default from ``backend``.

    Returns
    -------
    callable
        ``predict(batch) -> logits``: batch float32 ``(N, 1, 8, 8)``, logits a torch tensor
        ``(N, 10)`` on the batch's device.
    """
    import torch

    layers: list[torch.nn.Module] = [torch.nn.Flatten()]
    for i, (w, b) in enumerate(onnx_weights()):
        linear = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
            linear.bias.copy_(torch.from_numpy(np.array(b)))
        layers.append(linear)
        if i < 2:
            layers.append(torch.nn.ReLU())
    target = device or ("cuda" if backend == "cupy" else "cpu")
    net = torch.nn.Sequential(*layers).eval().to(target)

    @torch.inference_mode()
    def predict(batch: Any) -> Any:
        x = torch.from_dlpack(batch)  # no copy: a NumPy (CPU) or CuPy (GPU) float32 batch
        return net(x.to(target))  # a no-op when the batch is already there

    return predict
