"""Validation of one row of a ``hocert certify`` result file, by column name.

Every row that is resumed or read is checked (:func:`hocert.results.check_rows`, which names
the file and the line): values in range, radii consistent with the prediction,
``radius_cohen`` following from ``p_a_lower``, solver status names of
``hocert_solver.STATUS_NAMES``, and the :data:`PARAMS_HASH_COLUMN` that ties each row to the
parameters of the sidecar. Importable from :mod:`hocert.results`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["PARAMS_HASH_COLUMN", "check_row", "params_hash"]

#: The column that ties each row to the parameters it was computed with (:func:`params_hash`).
PARAMS_HASH_COLUMN = "params_hash"


def params_hash(params: Mapping[str, Any]) -> str:
    """A short digest of the run parameters ``params`` (the sidecar's ``params``): the
    :data:`PARAMS_HASH_COLUMN` of every row written with them."""
    import hashlib

    text = json.dumps(dict(params), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _int(text: str) -> int:
    value = int(text)
    if text.strip() != text:
        raise ValueError(text)
    return value


def _status_names() -> frozenset[str]:
    from hocert_solver import STATUS_NAMES

    return frozenset(STATUS_NAMES.values())


def check_row(
    columns: Sequence[str], line: str, params: Mapping[str, Any], num_inputs: int | None = None
) -> str | None:
    """What is wrong with one row of a result file, or None when it is valid.

    The checks are by column name, for the columns present: ``idx`` an integer in
    ``[0, num_inputs)``; ``label`` an integer in ``[0, num_classes)``; ``predict`` one too, or
    -1 (abstain); ``p_a_lower`` in [0, 1]; every ``radius*`` a number >= 0 (``inf`` allowed,
    NaN not), all 0 when abstaining; ``radius_cohen`` equal to ``sigma * Phi^{-1}(p_a_lower)``
    (to 1e-9 relative) when predicting; ``solver_status`` ``converged``, ``abstain`` (exactly
    when abstaining) or ``key=name`` pairs with names of ``hocert_solver.STATUS_NAMES``;
    ``correct`` 1 exactly when ``predict == label``; ``time`` a finite number >= 0;
    :data:`PARAMS_HASH_COLUMN` equal to :func:`params_hash` ``(params)``. ``num_classes`` and
    ``sigma`` come from ``params`` (checks that need them are skipped without).
    """
    fields = dict(zip(columns, line.split("\t"), strict=False))
    if len(fields) != len(columns):
        return f"{len(line.split(chr(9)))} fields, expected {len(columns)}"
    num_classes = params.get("num_classes")
    sigma = params.get("sigma")
    values: dict[str, Any] = {}
    for name, text in fields.items():
        try:
            if name in ("idx", "label", "predict", "correct"):
                values[name] = _int(text)
            elif name.startswith("radius") or name in ("p_a_lower", "time"):
                values[name] = float(text)
        except ValueError:
            kind = "an integer" if name in ("idx", "label", "predict", "correct") else "a number"
            return f"{name} is {text!r}, not {kind}"
    idx = values.get("idx")
    if idx is not None and (idx < 0 or (num_inputs is not None and idx >= num_inputs)):
        return f"idx {idx} outside the data set's [0, {num_inputs if num_inputs else 'N'})"
    k = num_classes if isinstance(num_classes, int) and num_classes > 0 else None
    label, predict = values.get("label"), values.get("predict")
    if label is not None and (label < 0 or (k is not None and label >= k)):
        return f"label {label} outside [0, {k if k else 'K'})"
    if predict is not None and (predict < -1 or (k is not None and predict >= k)):
        return f"predict {predict} is neither -1 (abstain) nor a class in [0, {k if k else 'K'})"
    p = values.get("p_a_lower")
    if p is not None and not 0.0 <= p <= 1.0:
        return f"p_a_lower {p!r} outside [0, 1]"
    radii = {name: v for name, v in values.items() if name.startswith("radius")}
    for name, r in radii.items():
        if not r >= 0.0:
            return f"{name} {r!r} is not a radius (a number >= 0 or inf)"
        if predict == -1 and r != 0.0:
            return f"{name} {r!r} but the row abstains (predict -1): radii are 0"
    cohen = radii.get("radius_cohen")
    if (
        predict is not None
        and predict >= 0
        and p is not None
        and cohen is not None
        and isinstance(sigma, int | float)
        and not isinstance(sigma, bool)
    ):
        from statistics import NormalDist

        expect = math.inf if p >= 1.0 else (sigma * NormalDist().inv_cdf(p) if p > 0 else -1.0)
        if not (cohen == expect or abs(cohen - expect) <= 1e-9 * max(1.0, abs(expect))):
            return (
                f"radius_cohen {cohen!r} does not follow from p_a_lower {p!r} at sigma {sigma!r} "
                f"(sigma * Phi^-1(p_a_lower) = {expect!r})"
            )
    status = fields.get("solver_status")
    if status is not None:
        names = _status_names()
        pairs = status.split(",")
        if status not in ("converged", "abstain") and not all(
            "=" in pair and pair.split("=", 1)[1] in names for pair in pairs
        ):
            return f"solver_status {status!r} is not 'converged', 'abstain' or key=status pairs"
        if predict is not None and (status == "abstain") != (predict == -1):
            return f"solver_status {status!r} with predict {predict}"
    correct = values.get("correct")
    if correct is not None:
        if correct not in (0, 1):
            return f"correct {correct} is neither 0 nor 1"
        if label is not None and predict is not None and correct != int(predict == label):
            return f"correct {correct} but predict {predict} and label {label}"
    t = values.get("time")
    if t is not None and not (math.isfinite(t) and t >= 0):
        return f"time {t!r} is not a number of seconds >= 0"
    digest = fields.get(PARAMS_HASH_COLUMN)
    if digest is not None and params and digest != params_hash(params):
        return (
            f"{PARAMS_HASH_COLUMN} {digest!r}: the row was computed with other parameters than "
            f"those of the sidecar (whose hash is {params_hash(params)!r})"
        )
    return None
