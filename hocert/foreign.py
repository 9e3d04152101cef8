"""Result files of other certification code, read as hocert's own (``hocert summary`` and
``hocert plot`` draw them beside hocert's).

The format is detected from the header line (column names compared case-insensitively,
ignoring ``_``, ``-`` and spaces; tab-, comma- or space-separated):

``hocert``
    ``hocert certify``'s files (``hocert.results``): a header with ``idx``, ``p_a_lower``,
    ``radius_cohen`` and ``solver_status``, or a ``FILE.meta.json`` sidecar beside it.
``cohen``
    Cohen et al. (2019), ``certify.py``: ``idx label predict radius correct time``, the radius
    (l2, input units) of the smoothed classifier, ``predict`` -1 for an abstention, ``time`` as
    Python writes a ``timedelta`` (``0:00:01.234567``).
``first-order``
    The first-order radii of Mohapatra et al. (2020), "Higher-Order Certification for
    Randomized Smoothing": ``radius_cohen`` (or ``radius``) and at least one of ``radius_L2``,
    ``radius_L1``, ``radius_LInf`` (any case; ``radius_l_inf``, ``radius_linfty`` too), beside
    ``idx``, ``label``, ``predict``, ``correct``, ``time`` as in Cohen's files.

A file is mapped onto hocert's columns: ``idx``, ``label``, ``predict``, ``correct``, ``time``
(seconds), ``radius_cohen`` and the radius column of every threat model it has (the names of the
registry ``hocert_sampling.threat_models.THREAT_MODELS``). Other columns are dropped. Radii are
taken to be in input units, as both codes write them; a missing radius (NaN) counts as 0. Such
files have no sidecar, so sigma and the input dimension d are unknown unless given
(``--sigma``, ``--dim``). A last line without its newline (a run still writing) is ignored.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hocert_sampling.threat_models import COHEN_COLUMN, THREAT_MODELS

from ._errors import HocertError
from .results import ResultsCorrupted, meta_path, read_results

__all__ = [
    "FORMATS",
    "ResultTable",
    "UnknownFormat",
    "column_key",
    "detect_format",
    "parse_seconds",
    "read_result_file",
]

#: The formats :func:`read_result_file` reads: name -> description.
FORMATS = {
    "hocert": "hocert certify",
    "cohen": "Cohen et al. (2019) certify.py",
    "first-order": "first-order radii (Mohapatra et al. 2020)",
}


class UnknownFormat(HocertError, ValueError):
    """A file whose header matches none of the formats hocert reads."""


def column_key(name: str) -> str:
    """A column name for matching: lower case, without ``_``, ``-``, spaces and quotes."""
    return re.sub(r"[\s_\-\"']", "", name).lower()


# Columns that only hocert certify's files have (besides idx first).
_HOCERT_MARKERS = ("p_a_lower", COHEN_COLUMN, "solver_status")

# Foreign names (as column_key) of hocert's columns.
_BASIC = {
    "idx": ("idx", "index"),
    "label": ("label", "y", "truelabel"),
    "predict": ("predict", "prediction", "pred"),
    "correct": ("correct",),
    "time": ("time", "timeelapsed", "elapsed", "seconds"),
}
# Other spellings of a threat model's name after "radius" (l_inf: "linf" from the registry).
_MODEL_ALIASES = {"linf": ("linfty", "linfinity", "inf", "infty")}


def _radius_aliases() -> dict[str, str]:
    """column_key of every accepted radius name -> hocert's column."""
    aliases = {"radiuscohen": COHEN_COLUMN}
    for model in THREAT_MODELS:
        if model.per_subspace:
            continue
        for name in (model.name, *_MODEL_ALIASES.get(model.name, ())):
            aliases["radius" + column_key(name)] = model.column()
    return aliases


def detect_format(columns: Sequence[str]) -> str:
    """The format of a result file with header ``columns`` (a key of :data:`FORMATS`).

    Raises
    ------
    UnknownFormat
        The header matches none of them (the message says what each format needs).
    """
    if list(columns[:1]) == ["idx"] and set(_HOCERT_MARKERS) <= set(columns):
        return "hocert"
    keys = [column_key(c) for c in columns]
    radii = _radius_aliases()
    first_order = [k for k in keys if radii.get(k, COHEN_COLUMN) != COHEN_COLUMN]
    has_outcome = "correct" in keys or {"label", "predict"} <= set(keys)
    if first_order and has_outcome and ("radiuscohen" in keys or "radius" in keys):
        return "first-order"
    if "radius" in keys and has_outcome:
        return "cohen"
    what = f"header {list(columns)}"
    if not has_outcome:
        need = "a 'correct' column, or 'label' and 'predict'"
    elif "radius" not in keys and "radiuscohen" not in keys:
        need = "a radius column (a file of Cohen et al.'s predict.py has none)"
    else:
        need = "'radius_cohen' or 'radius' beside the first-order radii"
    raise UnknownFormat(
        f"{what} matches no result format hocert reads: it lacks {need}; hocert reads "
        "hocert certify's files, Cohen et al.'s certify.py (idx label predict radius correct "
        "time) and first-order radii (radius_cohen, radius_L2, radius_L1, radius_LInf)"
    )


_TIMEDELTA = re.compile(
    r"^(?:(?P<d>-?\d+) days?,\s*)?(?P<h>\d+):(?P<m>\d{1,2}):(?P<s>\d{1,2}(?:\.\d*)?)$"
)


def parse_seconds(text: Any) -> float:
    """Seconds from a number or a ``timedelta`` as Python prints it (``0:00:01.234567``,
    ``1 day, 2:03:04``); NaN for anything else."""
    if isinstance(text, (int, float)):
        return float(text)
    value = str(text).strip()
    try:
        return float(value)
    except ValueError:
        pass
    match = _TIMEDELTA.match(value)
    if match is None:
        return math.nan
    days = int(match["d"] or 0)
    return days * 86400.0 + int(match["h"]) * 3600.0 + int(match["m"]) * 60.0 + float(match["s"])


@dataclass
class ResultTable:
    """A result file read with :func:`read_result_file`.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per input, in hocert's columns (sorted by ``idx``).
    meta : dict or None
        hocert's sidecar; None for other formats (and hocert files without one).
    format : str
        A key of :data:`FORMATS`.
    """

    frame: Any
    meta: dict[str, Any] | None
    format: str

    @property
    def description(self) -> str:
        """What wrote the file, e.g. ``Cohen et al. (2019) certify.py``."""
        return FORMATS[self.format]


def _separator(header: str) -> str:
    if "\t" in header:
        return "\t"
    if "," in header:
        return ","
    return r"\s+"


def _as_bool(series: Any) -> Any:
    if series.dtype == object:
        lowered = series.astype(str).str.strip().str.lower()
        return lowered.isin(["1", "true", "yes", "1.0"])
    return series.astype(float) != 0


def read_result_file(path: str | os.PathLike[str]) -> ResultTable:
    """Read a result file of any format in :data:`FORMATS`, detected from its header.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    ResultTable

    Raises
    ------
    FileNotFoundError
        No such file.
    ResultsCorrupted
        A hocert file that is damaged, or a file that cannot be parsed as a table.
    UnknownFormat
        A header that matches no format.
    """
    import numpy as np
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"result file not found: {p}")
    if meta_path(p).exists():
        frame, meta = read_results(p)
        return ResultTable(frame, meta, "hocert")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsCorrupted(f"cannot read {p} as text: {exc}") from None
    lines = text.split("\n")
    header = lines[0].rstrip("\r")
    if len(lines) < 2 or not header.strip():
        raise ResultsCorrupted(f"{p} has no header line")
    sep = _separator(header)
    columns = [c.strip() for c in re.split(sep, header.strip())]
    try:
        fmt = detect_format(columns)
    except UnknownFormat as exc:
        raise UnknownFormat(f"{p}: {exc}") from None
    if fmt == "hocert":
        frame, meta = read_results(p)
        return ResultTable(frame, meta, "hocert")
    body = [line.rstrip("\r") for line in lines[1:-1]]
    last = lines[-1].rstrip("\r")
    if last.strip() and len(re.split(sep, last.strip())) == len(columns):
        body.append(last)  # no newline at the end, but whole: a file not written row by row
    table = "\n".join([header, *(line for line in body if line.strip())]) + "\n"
    try:
        raw = pd.read_csv(io.StringIO(table), sep=sep, engine="python", skipinitialspace=True)
    except (ValueError, pd.errors.ParserError) as exc:
        raise ResultsCorrupted(f"cannot read {p} as a {FORMATS[fmt]} file: {exc}") from None
    raw.columns = columns
    return ResultTable(_to_hocert(raw, fmt, p, np, pd), None, fmt)


def _to_hocert(raw: Any, fmt: str, path: Path, np: Any, pd: Any) -> Any:
    """``raw`` (a foreign file's table) in hocert's columns."""
    by_key = {column_key(c): c for c in reversed(list(raw.columns))}  # first one wins
    out = pd.DataFrame(index=raw.index)
    for column, names in _BASIC.items():
        found = next((by_key[n] for n in names if n in by_key), None)
        if found is not None:
            out[column] = raw[found]
    if "idx" not in out:
        out["idx"] = np.arange(len(raw))
    radii = _radius_aliases()
    cohen = by_key.get("radiuscohen", by_key.get("radius"))
    out[COHEN_COLUMN] = raw[cohen]
    if fmt == "first-order":
        for key, column in radii.items():
            if column != COHEN_COLUMN and key in by_key and column not in out:
                out[column] = raw[by_key[key]]
    if "correct" in out:
        out["correct"] = _as_bool(out["correct"]).astype(int)
    else:
        out["correct"] = (out["predict"].astype(int) == out["label"].astype(int)).astype(int)
    if "predict" not in out:  # only 'correct' given: abstentions are the zero radii
        out["predict"] = np.where(out[COHEN_COLUMN].astype(float) > 0, 0, -1)
    out["time"] = (
        [parse_seconds(v) for v in out["time"]] if "time" in out else [math.nan] * len(out)
    )
    for column in out.columns:
        if column.startswith("radius_"):
            values = pd.to_numeric(out[column], errors="coerce").astype(float)
            out[column] = values.fillna(0.0)
    try:
        out["idx"] = out["idx"].astype(int)
        out["predict"] = out["predict"].astype(int)
        if "label" in out:
            out["label"] = out["label"].astype(int)
    except (ValueError, TypeError) as exc:
        raise ResultsCorrupted(f"{path}: non-integer idx, label or predict: {exc}") from None
    if out["idx"].duplicated().any():
        first = int(out["idx"][out["idx"].duplicated()].iloc[0])
        raise ResultsCorrupted(f"{path}: idx {first} appears twice")
    order = ["idx", "label", "predict", COHEN_COLUMN]
    order += [m.column() for m in THREAT_MODELS if m.column() in out]
    order += ["correct", "time"]
    out = out[[c for c in order if c in out]]
    return out.sort_values("idx", kind="stable").reset_index(drop=True)
