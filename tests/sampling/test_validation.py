"""Arguments are checked once, at the public boundary (hocert_sampling._validation).

A wrong type raises TypeError, a bad value of the right type ValueError, whichever public entry
point receives it (``SmoothedClassifier``, ``predict``, ``certify``, ``sample_statistics``), and
before the model sees a batch. Issue #15, item 2: NaN, empty and overflowing inputs, and sigma
given as a string, None or a bool.
"""

from __future__ import annotations

import numpy as np
import pytest

from hocert_sampling import SmoothedClassifier
from hocert_sampling._validation import (
    check_count,
    check_flag,
    check_positive,
    check_probability,
    check_sample_count,
)
from hocert_sampling.backend import get_backend
from hocert_sampling.models import CallableModel
from hocert_sampling.sampler import sample_statistics

NP = get_backend("numpy")


class LabelsModel:
    """Votes 1 on every input (a labels model: NaN inputs give no non-finite scores), and counts
    its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.ones(len(batch), dtype=np.int64)


def smoothed(model: LabelsModel | None = None) -> SmoothedClassifier:
    return SmoothedClassifier(model or LabelsModel(), 2, 0.5, backend="numpy", seed=0)


X = np.zeros(4, dtype=np.float32)


# ----- x ----------------------------------------------------------------------------------------


def test_certify_rejects_a_nan_input() -> None:
    """It used to certify it (radius_l2 0.607 with a labels model)."""
    model = LabelsModel()
    with pytest.raises(ValueError, match="NaN or inf"):
        smoothed(model).certify(np.array([0.0, np.nan, 0.0, 0.0]), 10, 100, 0.01, 50)
    assert model.calls == 0


def test_certify_rejects_an_infinite_input() -> None:
    with pytest.raises(ValueError, match="NaN or inf"):
        smoothed().certify(np.array([0.0, -np.inf]), 10, 100, 0.01, 50)


def test_certify_rejects_an_input_beyond_float32() -> None:
    with pytest.raises(ValueError, match="float32 range"):
        smoothed().certify(np.array([1.0, 1e39]), 10, 100, 0.01, 50)


def test_certify_rejects_an_empty_input() -> None:
    """It used to be reported as "model returned non-finite scores"."""
    model = LabelsModel()
    with pytest.raises(ValueError, match="x is empty"):
        smoothed(model).certify(np.zeros((3, 0), dtype=np.float32), 10, 100, 0.01, 50)
    assert model.calls == 0


def test_certify_rejects_a_scalar_input() -> None:
    with pytest.raises(ValueError, match="scalar"):
        smoothed().certify(np.float32(0.5), 10, 100, 0.01, 50)


@pytest.mark.parametrize("x", [np.array(["a", "b"]), np.array([1 + 2j]), [None, 1.0]])
def test_certify_rejects_a_non_numeric_input(x) -> None:
    with pytest.raises(TypeError, match="numeric"):
        smoothed().certify(x, 10, 100, 0.01, 50)


@pytest.mark.parametrize(
    ("x", "error"),
    [
        (np.array([np.nan, 0.0]), ValueError),
        (np.zeros(0), ValueError),
        (np.array(["a"]), TypeError),
        (np.array([1e39]), ValueError),
    ],
)
def test_predict_checks_x_like_certify(x, error) -> None:
    model = LabelsModel()
    with pytest.raises(error):
        smoothed(model).predict(x, 100, 0.01, 50)
    assert model.calls == 0


def test_numeric_inputs_of_any_dtype_are_accepted() -> None:
    for x in ([0.0, 1.0], np.arange(4), np.ones(3, dtype=bool), np.ones((2, 2), np.float64)):
        assert smoothed().predict(x, 20, 0.01, 10) == 1


def test_sample_statistics_checks_x() -> None:
    model = CallableModel(LabelsModel(), 2, NP)
    with pytest.raises(ValueError, match="NaN"):
        sample_statistics(model, np.array([np.nan]), 0.5, 10, 5, NP.rng(0))
    with pytest.raises(ValueError, match="empty"):
        sample_statistics(model, np.zeros(0), 0.5, 10, 5, NP.rng(0))


# ----- sigma ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", ["0.25", None])
def test_sigma_of_the_wrong_type(sigma) -> None:
    """It used to fail with a NumPy ufunc error."""
    with pytest.raises(TypeError, match="sigma must be a real number"):
        SmoothedClassifier(LabelsModel(), 2, sigma, backend="numpy")


def test_sigma_true_is_not_one() -> None:
    """It used to be taken as 1.0."""
    with pytest.raises(TypeError, match="sigma"):
        SmoothedClassifier(LabelsModel(), 2, True, backend="numpy")


@pytest.mark.parametrize("sigma", [0.0, -1.0, float("nan"), float("inf")])
def test_invalid_sigma(sigma) -> None:
    with pytest.raises(ValueError, match="sigma"):
        SmoothedClassifier(LabelsModel(), 2, sigma, backend="numpy")


def test_sigma_of_numpy_types() -> None:
    for sigma in (np.float32(0.25), np.float64(0.25), np.array(0.25), 1):
        assert SmoothedClassifier(LabelsModel(), 2, sigma, backend="numpy").sigma == float(sigma)


# ----- counts, alpha, flags: one exception type per kind of mistake -----------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.certify(X, 10, 100, 0.0, 10), "alpha"),
        (lambda s: s.predict(X, 100, 1.5, 10), "alpha"),
        (lambda s: s.certify(X, 0, 100, 0.01, 10), "n0 must be an integer >= 1"),
        (lambda s: s.certify(X, 10, 1, 0.01, 10), "n must be an integer >= 2"),
        (lambda s: s.certify(X, 10, 100, 0.01, 0), "batch_size"),
        (lambda s: s.predict(X, 0, 0.01, 10), "n must be an integer >= 1"),
        (lambda s: s.certify(X, 10, 100, 0.01, 10, subspaces="rows"), "unknown subspaces"),
        (lambda s: s.certify(X, 10, 100, 0.01, 10, subspaces=[np.array([9])]), "subspace"),
    ],
)
def test_bad_values_raise_value_error(call, message) -> None:
    model = LabelsModel()
    with pytest.raises(ValueError, match=message):
        call(smoothed(model))
    assert model.calls == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.certify(X, 10.0, 100, 0.01, 10), "n0 must be an integer"),
        (lambda s: s.certify(X, 10, "100", 0.01, 10), "n must be an integer"),
        (lambda s: s.certify(X, 10, 100, 0.01, "10"), "batch_size must be an integer"),
        (lambda s: s.certify(X, 10, 100, "0.01", 10), "alpha must be a real number"),
        (lambda s: s.certify(X, 10, 100, 0.01, 10, verify="yes"), "verify must be True or"),
        (lambda s: s.certify(X, True, 100, 0.01, 10), "n0 must be an integer"),
        (lambda s: s.certify(X, 10, 100, 0.01, 10, subspaces=3), "subspaces must be"),
        (lambda s: s.predict(X, 10.5, 0.01, 10), "n must be an integer"),
        (lambda s: s.predict(X, 10, None, 10), "alpha must be a real number"),
    ],
)
def test_wrong_types_raise_type_error(call, message) -> None:
    model = LabelsModel()
    with pytest.raises(TypeError, match=message):
        call(smoothed(model))
    assert model.calls == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n": 1, "target": 0}, ValueError, "n must be an integer >= 2"),
        ({"n": 0}, ValueError, "n must be an integer >= 1"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"target": 2}, ValueError, "target class"),
        ({"n": 10.0}, TypeError, "n must be an integer"),
        ({"sigma": "0.5"}, TypeError, "sigma"),
        ({"target": 0.0}, TypeError, "target class"),
    ],
)
def test_sample_statistics_arguments(kwargs, error, message) -> None:
    model = CallableModel(LabelsModel(), 2, NP)
    args = {"n": 10, "batch_size": 4, "target": None, "sigma": 0.5} | kwargs
    with pytest.raises(error, match=message):
        sample_statistics(
            model, X, args["sigma"], args["n"], args["batch_size"], NP.rng(0), args["target"]
        )


@pytest.mark.parametrize(("k", "error"), [(1, ValueError), (0, ValueError), (2.5, TypeError)])
def test_num_classes(k, error) -> None:
    with pytest.raises(error, match="num_classes"):
        SmoothedClassifier(LabelsModel(), k, 0.5, backend="numpy")


# ----- the checks themselves --------------------------------------------------------------------


def test_checks() -> None:
    assert check_count(np.int64(3), "n") == 3
    assert check_count(np.array(3), "n") == 3
    assert check_probability(np.float32(0.5)) == 0.5
    assert check_positive(2, "sigma") == 2.0
    assert check_sample_count(10.0, "n1") == 10.0
    assert check_flag(np.bool_(True), "verify") is True
    for bad in (True, 2.0, "2", None):
        with pytest.raises(TypeError):
            check_count(bad, "n")
    with pytest.raises(ValueError):
        check_sample_count(2.5, "n1")
    with pytest.raises(TypeError):
        check_flag(1, "verify")
