"""hocert_sampling: Monte-Carlo statistics and first-order certificates for smoothed classifiers.

Public API
----------
SmoothedClassifier
    ``predict`` (Cohen et al.) and ``certify`` (l2, l1, l_inf and subspace radii, paper
    Corollaries 3.1-3.4) for an ONNX model or a Python callable, on NumPy or CuPy.
Certificate
    The result of ``certify``: radii in input units (sigma included) and the bounds behind them.
get_backend
    Choose NumPy or CuPy (argument, ``HOCERT_BACKEND``, or auto-detect).
ModelError, ModelOutputError
    Raised when the model fails or returns invalid scores/labels.
HocertSamplingError
    Base class of this library's exceptions (``ModelError``, ``backend.BackendError``).
"""

from ._errors import HocertSamplingError
from .backend import Backend, get_backend
from .models import ModelError, ModelOutputError
from .smoothing import Certificate, SmoothedClassifier

__all__ = [
    "Backend",
    "Certificate",
    "HocertSamplingError",
    "ModelError",
    "ModelOutputError",
    "SmoothedClassifier",
    "get_backend",
]
