"""Argument checks of the public functions of ``hocert_sampling``, in one place.

Every public entry point (``SmoothedClassifier``, ``sample_statistics``, the bounds of
:mod:`hocert_sampling.bounds`, :func:`hocert_sampling.subspace.resolve_subspaces`) checks its
arguments once, with these functions, and hands the checked values down; nothing below it checks
them again. The exception types follow one rule: an argument of the wrong type (a string, None,
a bool for a number, a float for a count) raises ``TypeError``; a value of the right type that
is out of range (NaN, a negative count, an empty input) raises ``ValueError``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .backend import Backend

__all__ = [
    "check_count",
    "check_flag",
    "check_input",
    "check_positive",
    "check_probability",
    "check_real",
    "check_sample_count",
]


def _scalar(value: Any) -> Any:
    """A 0-d NumPy array as its Python scalar; anything else unchanged."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def check_real(value: Any, name: str) -> float:
    """``value`` as a float; ``TypeError`` unless it is a real number (bools are not)."""
    v = _scalar(value)
    if _is_bool(v) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return float(v)


def check_probability(value: Any, name: str = "alpha") -> float:
    """A failure probability in the open interval (0, 1)."""
    v = check_real(value, name)
    if not 0.0 < v < 1.0:  # also rejects NaN
        raise ValueError(f"{name} must lie in (0, 1), got {value!r}")
    return v


def check_positive(value: Any, name: str) -> float:
    """A finite number > 0 (a noise level, a variance proxy)."""
    v = check_real(value, name)
    if not (math.isfinite(v) and v > 0.0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return v


def check_count(value: Any, name: str, minimum: int = 1) -> int:
    """An integer (Python or NumPy, not bool) of at least ``minimum``."""
    v = _scalar(value)
    if _is_bool(v) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(v)


def check_sample_count(value: Any, name: str) -> float:
    """A positive, finite, integer-valued sample count of the bounds (integral floats allowed),
    as a float."""
    v = check_real(value, name)
    if not (math.isfinite(v) and v > 0 and v == math.floor(v)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return v


def check_flag(value: Any, name: str) -> bool:
    """A bool (Python or NumPy)."""
    if not _is_bool(value):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def check_input(x: Any, backend: Backend) -> Any:
    """One input ``x`` (no batch axis) as a float32 array of ``backend``, checked.

    ``x`` must be a numeric (bool, integer or float) array-like with at least one axis and one
    element, and finite once converted to float32 (the noise and the model see float32).

    Returns
    -------
    float32 array of the backend, the shape of ``x`` (no copy when it already is one).

    Raises
    ------
    TypeError
        ``x`` is not a numeric array (strings, objects, complex numbers).
    ValueError
        ``x`` is a scalar, is empty, or has NaN, inf or values beyond the float32 range.
    """
    arr = x if backend.is_native(x) else np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"x must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError("x must be one input with at least one axis (no batch axis), got a scalar")
    if arr.size == 0:
        raise ValueError(f"x is empty (shape {tuple(arr.shape)})")
    xp = backend.xp
    with np.errstate(over="ignore"):  # values beyond float32 become inf: reported below
        x32 = backend.asarray(arr, dtype=xp.float32)
    if not bool(xp.isfinite(x32).all()):
        isfinite = np.isfinite if isinstance(arr, np.ndarray) else xp.isfinite
        if arr.dtype.kind == "f" and arr.dtype != np.float32 and bool(isfinite(arr).all()):
            raise ValueError("x has values beyond the float32 range (about 3.4e38)")
        raise ValueError("x contains NaN or inf")
    return x32
