"""Adapters that turn a user's model into a base classifier ``f`` returning hard labels.

A :class:`LabelModel` maps a float32 batch of shape ``(B, *x.shape)`` on the backend (NumPy or
CuPy array) to int64 labels of shape ``(B,)`` on the same backend. Two adapters exist:

- :class:`OnnxModel`: a path to an ``.onnx`` file or an ``onnxruntime.InferenceSession``.
  On the CPU the batch is fed with ``session.run``. With the CuPy backend and ONNX Runtime's
  CUDA provider the batch is bound in place from CuPy device memory (IOBinding) and the scores are
  written into a CuPy array: no host round trip per batch.
- :class:`CallableModel`: any Python callable ``fn(batch) -> scores (B, K) or labels (B,)``.
  It receives the backend's array type (``numpy.ndarray`` or ``cupy.ndarray``) and may return a
  NumPy/CuPy array, a list, or any DLPack-capable tensor. A PyTorch model is wrapped without
  copies through DLPack::

      import torch

      net = net.eval().to("cuda")  # "cpu" with the NumPy backend


      @torch.no_grad()
      def predict(batch):  # batch: cupy.ndarray (or numpy.ndarray)
          return net(torch.from_dlpack(batch))  # logits (B, K); the output goes back via DLPack

Every output is validated (:func:`labels_from_output`): scores must have shape ``(B, K)`` with
``K == num_classes`` and be finite (the label is their argmax, ties to the lowest index); labels
must have shape ``(B,)``, integer values (integer, bool, or integral floats) and lie in
``[0, K)``. Anything else raises :class:`ModelOutputError`; a model that raises is reported as
:class:`ModelError`. Nothing is ever turned into a silent vote for class 0.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._errors import HocertSamplingError
from ._validation import check_count
from .backend import Backend, get_backend
from .gpu import CUDA_PROVIDER, cuda_provider_problem

__all__ = [
    "CallableModel",
    "LabelModel",
    "ModelError",
    "ModelOutputError",
    "OnnxModel",
    "as_label_model",
    "default_providers",
    "labels_from_output",
    "probe_callable_model",
    "probe_onnx_model",
]


class ModelError(HocertSamplingError, RuntimeError):
    """The model could not be evaluated on a batch (it raised, or could not be loaded)."""


class ModelOutputError(ModelError, ValueError):
    """The model returned something that is not a valid batch of scores or labels."""


def _to_backend(out: Any, backend: Backend) -> Any:
    """The model output as an array of ``backend`` (zero-copy through DLPack where possible)."""
    if backend.is_native(out):
        return out
    if hasattr(out, "__dlpack__"):
        try:
            return backend.xp.from_dlpack(out)
        except Exception:  # e.g. a host tensor under the GPU backend: copy it below
            pass
    try:
        return backend.asarray(out)
    except Exception as exc:
        raise ModelOutputError(
            f"cannot convert the model output of type {type(out).__name__} to a {backend.name} "
            f"array: {exc}"
        ) from exc


def labels_from_output(out: Any, batch_size: int, num_classes: int, backend: Backend) -> Any:
    """Validate a model output and turn it into labels.

    Parameters
    ----------
    out : array-like
        Scores of shape ``(batch_size, num_classes)`` or labels of shape ``(batch_size,)``.
    batch_size : int
        Number of inputs the model was given.
    num_classes : int
        Number of classes K.
    backend : Backend
        Where the returned labels live.

    Returns
    -------
    labels : backend array of int64, shape ``(batch_size,)``, values in ``[0, num_classes)``.

    Raises
    ------
    ModelOutputError
        Wrong rank or shape, a batch size or class count that does not match, non-finite
        scores, non-integer labels or labels outside ``[0, num_classes)``.
    """
    xp = backend.xp
    out = _to_backend(out, backend)
    if out.ndim == 2:
        if out.shape[0] != batch_size:
            raise ModelOutputError(
                f"model returned scores for {out.shape[0]} inputs, but the batch has {batch_size}"
            )
        if out.shape[1] != num_classes:
            raise ModelOutputError(
                f"model returned {out.shape[1]} scores per input, but num_classes={num_classes}"
            )
        if out.dtype.kind not in "biuf":
            raise ModelOutputError(f"model scores have unsupported dtype {out.dtype}")
        if not bool(xp.isfinite(out).all()):
            raise ModelOutputError("model returned non-finite scores (NaN or inf)")
        return xp.argmax(out, axis=1).astype(xp.int64, copy=False)
    if out.ndim == 1:
        if out.shape[0] != batch_size:
            raise ModelOutputError(
                f"model returned {out.shape[0]} labels, but the batch has {batch_size} inputs"
            )
        if out.dtype.kind == "f":
            if not bool((out == xp.round(out)).all()):  # NaN and inf fail here too
                raise ModelOutputError("model returned non-integer labels (or NaN/inf)")
        elif out.dtype.kind not in "biu":
            raise ModelOutputError(f"model labels have unsupported dtype {out.dtype}")
        labels = out.astype(xp.int64, copy=False)
        bad = (labels < 0) | (labels >= num_classes)
        if bool(bad.any()):
            first = int(labels[bad][0])
            raise ModelOutputError(
                f"model returned {int(bad.sum())} labels outside [0, {num_classes}), e.g. {first}"
            )
        return labels
    raise ModelOutputError(
        f"model output has shape {tuple(out.shape)}: expected scores ({batch_size}, {num_classes}) "
        f"or labels ({batch_size},)"
    )


class LabelModel(ABC):
    """A base classifier: ``model(batch)`` returns validated int64 labels on the backend.

    Parameters
    ----------
    num_classes : int
        Number of classes K (at least 2).
    backend : str, Backend or None
        Array backend (see :func:`hocert_sampling.backend.get_backend`).
    """

    def __init__(self, num_classes: int, backend: str | Backend | None = None) -> None:
        self.num_classes = check_count(num_classes, "num_classes", minimum=2)
        self.backend = get_backend(backend)

    @abstractmethod
    def _forward(self, batch: Any) -> Any:
        """Raw model output (scores or labels) for a float32 backend batch."""

    def __call__(self, batch: Any) -> Any:
        """Labels of shape ``(B,)`` (int64, backend array) for a batch of shape ``(B, ...)``."""
        try:
            out = self._forward(batch)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(
                f"the model raised {type(exc).__name__} on a batch of shape {tuple(batch.shape)}: "
                f"{exc}"
            ) from exc
        return labels_from_output(out, batch.shape[0], self.num_classes, self.backend)


class CallableModel(LabelModel):
    """Wrap ``fn(batch) -> scores (B, K) or labels (B,)``; ``batch`` is a backend array.

    The sampler reuses its input buffer: every call gets the same array, overwritten with the
    next noisy batch after ``fn`` returns, so ``fn`` must not keep ``batch`` (or a view of it,
    e.g. a DLPack tensor) beyond the call; copy what it needs to keep.

    See the module docstring for wrapping a PyTorch model through DLPack.
    """

    def __init__(
        self,
        fn: Callable[[Any], Any],
        num_classes: int,
        backend: str | Backend | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"model must be callable, got {type(fn).__name__}")
        super().__init__(num_classes, backend)
        self.fn = fn

    def _forward(self, batch: Any) -> Any:
        return self.fn(batch)


# ONNX tensor element types the adapter feeds or reads.
_ONNX_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
}
_ONNX_INPUT_TYPES = ("tensor(float)", "tensor(double)", "tensor(float16)")


def _onnx_input(session: Any, input_name: str | None) -> Any:
    """The metadata of the input to feed: ``input_name``, or the model's only input."""
    inputs = {i.name: i for i in session.get_inputs()}
    if input_name is None:
        if len(inputs) != 1:
            raise ValueError(f"the ONNX model has inputs {sorted(inputs)}: pass input_name")
        input_name = next(iter(inputs))
    if input_name not in inputs:
        raise ValueError(f"the ONNX model has no input {input_name!r} (has {sorted(inputs)})")
    if inputs[input_name].type not in _ONNX_INPUT_TYPES:
        raise ValueError(
            f"ONNX input {input_name!r} has type {inputs[input_name].type}: expected a float tensor"
        )
    return inputs[input_name]


def probe_onnx_model(
    model: str | os.PathLike[str], example: np.ndarray, *, input_name: str | None = None
) -> int | None:
    """Run an ONNX model once, on the CPU, on ``example``: how many scores it returns.

    The check before a long run: the model loads, its input takes inputs of the example's
    shape (dimensions the model leaves free match anything), it runs, and its first output
    tells scores from labels (what :class:`OnnxModel` will read).

    Parameters
    ----------
    model : str or os.PathLike
        The ``.onnx`` file.
    example : ndarray
        A batch of inputs, shape ``(B, *input_shape)`` (one input is enough), on the host.
    input_name : str, optional
        Which input to feed; default: the model's only input.

    Returns
    -------
    int or None
        The number of scores per input (the output has shape ``(B, K)``), or None when the
        model returns labels.

    Raises
    ------
    FileNotFoundError
        No file at ``model``.
    ModelError
        The model cannot be loaded, or fails on ``example``.
    ModelOutputError
        Its output is neither scores ``(B, K)`` nor labels ``(B,)`` (e.g. ``(B, K, 1)``).
    ValueError
        The model has several inputs (and no ``input_name``), a non-float input, or an input
        shape that ``example`` does not fit.
    """
    import onnxruntime as ort

    path = os.fspath(model)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"ONNX model file not found: {path}")
    try:
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"cannot load the ONNX model {path}: {exc}") from None
    meta = _onnx_input(session, input_name)
    example = np.asarray(example)
    dims = meta.shape
    fits = len(dims) == example.ndim and all(
        not isinstance(d, int) or d == s for d, s in zip(dims[1:], example.shape[1:])
    )
    if not fits:
        raise ValueError(
            f"the model expects inputs of shape {dims}, the data has {list(example.shape)} "
            "(first axis: the batch)"
        )
    try:
        out = session.run(None, {meta.name: example.astype(_ONNX_DTYPES[meta.type])})[0]
    except Exception as exc:
        raise ModelError(f"the model failed on an input of shape {example.shape}: {exc}") from None
    out = np.asarray(out)
    if out.ndim not in (1, 2) or out.shape[0] != example.shape[0]:
        raise ModelOutputError(
            f"the model's output has shape {tuple(out.shape)} for {example.shape[0]} input(s): "
            f"expected scores ({example.shape[0]}, K) or labels ({example.shape[0]},)"
            + (" (squeeze its trailing axes of size 1)" if out.ndim > 2 else "")
        )
    return int(out.shape[1]) if out.ndim == 2 else None


def probe_callable_model(
    fn: Callable[[Any], Any], example: Any, backend: str | Backend | None = None
) -> int | None:
    """Call a model callable once on ``example``: how many scores it returns.

    The check before a long run, as :func:`probe_onnx_model` for ONNX files: ``fn`` receives
    ``example`` as a float32 array of ``backend`` (what :class:`CallableModel` feeds it) and
    must return scores ``(B, K)`` or labels ``(B,)`` for its ``B`` inputs (any array, list or
    DLPack-capable tensor, e.g. a torch tensor).

    Parameters
    ----------
    fn : callable
        ``batch -> scores (B, K) or labels (B,)``.
    example : array-like
        A batch of inputs, shape ``(B, *input_shape)`` (one input is enough).
    backend : str, Backend or None
        Array backend of the batch.

    Returns
    -------
    int or None
        The number of scores per input, or None when the model returns labels.

    Raises
    ------
    TypeError
        ``fn`` is not callable.
    ModelError
        ``fn`` raised.
    ModelOutputError
        The output is neither scores ``(B, K)`` with ``K >= 2`` nor labels ``(B,)``, or cannot
        be converted to an array.
    """
    if not callable(fn):
        raise TypeError(f"model must be callable, got {type(fn).__name__}")
    be = get_backend(backend)
    batch = be.asarray(np.asarray(example, dtype=np.float32))
    try:
        out = fn(batch)
    except Exception as exc:
        raise ModelError(
            f"the model raised {type(exc).__name__} on a batch of shape {tuple(batch.shape)}: {exc}"
        ) from exc
    out = _to_backend(out, be)
    size = int(batch.shape[0])
    shape = tuple(int(s) for s in getattr(out, "shape", ()))
    if len(shape) == 2 and shape[0] == size and shape[1] >= 2:
        return shape[1]
    if len(shape) == 1 and shape[0] == size:
        return None
    raise ModelOutputError(
        f"the model returned an output of shape {shape} for a batch of shape "
        f"{tuple(batch.shape)}: expected scores ({size}, K) with K >= 2 or labels ({size},)"
    )


def default_providers(backend: Backend, available: Sequence[str]) -> list[str]:
    """The execution providers an :class:`OnnxModel` loaded from a file asks for on ``backend``,
    given ONNX Runtime's ``available`` providers: CUDA (then CPU) under CuPy when this build
    has it, else the CPU provider."""
    if backend.is_gpu and CUDA_PROVIDER in available:
        return [CUDA_PROVIDER, "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _cuda_major(backend: Backend) -> int | None:
    """The CUDA major version of the CuPy build behind ``backend`` (None if unknown)."""
    try:
        return int(backend.xp.cuda.runtime.runtimeGetVersion()) // 1000
    except Exception:
        return None


def _preload_cuda_libraries(ort: Any) -> None:
    """Load the CUDA and cuDNN libraries of the ``nvidia-*`` pip packages (``onnxruntime-gpu``'s
    ``cuda`` and ``cudnn`` extras) before a CUDA session, where this ONNX Runtime can (1.21+).
    Failures are left to the session, whose provider then reports what it could not load."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    with contextlib.suppress(Exception):  # e.g. the libraries are on the system path instead
        preload()


class OnnxModel(LabelModel):
    """An ONNX model (file path or ``onnxruntime.InferenceSession``) as a base classifier.

    Parameters
    ----------
    model : str, os.PathLike or onnxruntime.InferenceSession
        The model. A path is loaded with the CUDA provider under the CuPy backend (when this
        ONNX Runtime build has it) and with the CPU provider otherwise; a session is used as is.
    num_classes : int
        Number of classes K.
    backend : str, Backend or None
        Array backend.
    input_name, output_name : str, optional
        Which input to feed and which output to read; default: the only input and the first
        output. The output must be scores ``(B, K)`` or labels ``(B,)``.
    use_iobinding : bool, optional
        Bind input and output buffers in place (IOBinding). Default: on with the CuPy backend
        and a session that runs on the CUDA provider, off otherwise.

    Attributes
    ----------
    providers : list of str
        The execution providers the session runs on (``session.get_providers()``).
    cuda_problem : str or None
        Under the CuPy backend, why the session does not run on the CUDA provider and what to
        install (:func:`hocert_sampling.gpu.cuda_provider_problem`); None otherwise.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | Any,
        num_classes: int,
        backend: str | Backend | None = None,
        *,
        input_name: str | None = None,
        output_name: str | None = None,
        use_iobinding: bool | None = None,
    ) -> None:
        import onnxruntime as ort

        super().__init__(num_classes, backend)
        if isinstance(model, ort.InferenceSession):
            session = model
        else:
            path = os.fspath(model)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"ONNX model file not found: {path}")
            session = ort.InferenceSession(path, providers=self._default_providers(ort))
        self.session = session

        input_meta = _onnx_input(session, input_name)
        outputs = {o.name: o for o in session.get_outputs()}
        if output_name is None:
            output_name = session.get_outputs()[0].name
        if output_name not in outputs:
            raise ValueError(
                f"the ONNX model has no output {output_name!r} (has {sorted(outputs)})"
            )
        self.input_name = input_meta.name
        self.output_name = output_name
        self._input_dtype = _ONNX_DTYPES[input_meta.type]
        self._output_meta = outputs[output_name]

        self.providers: list[str] = list(session.get_providers())
        on_cuda = CUDA_PROVIDER in self.providers
        if use_iobinding is None:
            use_iobinding = self.backend.is_gpu and on_cuda
        self.cuda_problem: str | None = None
        if self.backend.is_gpu and not on_cuda:
            self.cuda_problem = (
                cuda_provider_problem(
                    session_providers=self.providers, cuda=_cuda_major(self.backend)
                )
                or f"the ONNX session runs on {', '.join(self.providers)}, not on the CUDA provider"
            )
            warnings.warn(
                f"the ONNX model runs on the CPU, every batch copied from the GPU and back: "
                f"{self.cuda_problem}",
                RuntimeWarning,
                stacklevel=2,
            )
        if use_iobinding and self.backend.is_gpu and not on_cuda:
            raise ValueError("use_iobinding with the CuPy backend needs the CUDA provider")
        self.use_iobinding = bool(use_iobinding)

    def _default_providers(self, ort: Any) -> list[Any]:
        names = default_providers(self.backend, ort.get_available_providers())
        if CUDA_PROVIDER not in names:
            return names
        _preload_cuda_libraries(ort)
        device = int(self.backend.xp.cuda.Device().id)
        return [(CUDA_PROVIDER, {"device_id": device}), *names[1:]]

    def _forward(self, batch: Any) -> Any:
        if self.use_iobinding:
            return self._run_bound(batch)
        host: np.ndarray = self.backend.to_host(batch).astype(self._input_dtype, copy=False)
        return self.session.run([self.output_name], {self.input_name: host})[0]

    def _output_shape(self, batch_size: int) -> tuple[int, ...] | None:
        """Output shape for this batch size, or None when the model leaves it undetermined."""
        shape = list(self._output_meta.shape)
        if not shape or not all(isinstance(s, int) for s in shape[1:]):
            return None
        return (batch_size, *shape[1:])

    def _run_bound(self, batch: Any) -> Any:
        """Run with IOBinding: input and output stay in backend memory (device for CuPy)."""
        xp, backend = self.backend.xp, self.backend
        batch = xp.ascontiguousarray(batch, dtype=self._input_dtype)
        device_type = "cuda" if backend.is_gpu else "cpu"
        device_id = backend.device_id(batch)
        binding = self.session.io_binding()
        binding.bind_input(
            self.input_name,
            device_type,
            device_id,
            self._input_dtype,
            batch.shape,
            backend.data_ptr(batch),
        )
        out_shape = self._output_shape(batch.shape[0])
        out_dtype = _ONNX_DTYPES.get(self._output_meta.type)
        out = None
        if out_shape is not None and out_dtype is not None:
            out = xp.empty(out_shape, dtype=out_dtype)
            binding.bind_output(
                self.output_name,
                device_type,
                device_id,
                out_dtype,
                out.shape,
                backend.data_ptr(out),
            )
        else:  # shape unknown before the run: let ONNX Runtime allocate, then copy to the host
            binding.bind_output(self.output_name, device_type, device_id)
        if backend.is_gpu:  # the batch was written on CuPy's stream; ORT reads on its own
            xp.cuda.get_current_stream().synchronize()
        self.session.run_with_iobinding(binding)
        binding.synchronize_outputs()
        if out is None:
            out = binding.copy_outputs_to_cpu()[0]
        return out


def as_label_model(
    model: Any, num_classes: int, backend: str | Backend | None = None
) -> LabelModel:
    """Wrap ``model`` as a :class:`LabelModel`.

    Parameters
    ----------
    model : LabelModel, str, os.PathLike, onnxruntime.InferenceSession or callable
        A ready adapter (returned as is), an ONNX file or session (:class:`OnnxModel`), or a
        callable returning scores or labels (:class:`CallableModel`).
    num_classes : int
        Number of classes K.
    backend : str, Backend or None
        Array backend.
    """
    backend = get_backend(backend)
    if isinstance(model, LabelModel):
        if model.num_classes != num_classes or model.backend.name != backend.name:
            raise ValueError(
                f"the model adapter has num_classes={model.num_classes} on {model.backend.name}, "
                f"but num_classes={num_classes} on {backend.name} was requested"
            )
        return model
    if isinstance(model, (str, os.PathLike)):
        return OnnxModel(model, num_classes, backend)
    try:
        import onnxruntime as ort

        if isinstance(model, ort.InferenceSession):
            return OnnxModel(model, num_classes, backend)
    except ImportError:
        pass
    if callable(model):
        return CallableModel(model, num_classes, backend)
    raise TypeError(
        f"cannot use a {type(model).__name__} as a model: pass an ONNX path or session, or a "
        "callable batch -> scores/labels"
    )
