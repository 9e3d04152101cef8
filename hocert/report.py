"""The tables of ``hocert summary`` written out: plain text, CSV, Markdown or LaTeX.

The tables are those of :func:`hocert.plotting.summary_tables`: an overview (one row per file)
and, per threat model, certified accuracy (%) by method and file at a few radii.

- ``text``: aligned columns for the terminal.
- ``csv``: one tidy table for spreadsheets and pandas, one row per (threat model, method,
  file, radius) with the file's overview columns repeated; full precision.
- ``markdown``: a pipe table per table, under a heading.
- ``latex``: a ``tabular`` per table (``booktabs`` rules), ready for ``\\input``; labels escaped.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["SUMMARY_FORMATS", "render_summary"]

#: The output formats of :func:`render_summary`.
SUMMARY_FORMATS = ("text", "csv", "markdown", "latex")


def render_summary(overview: Any, per_model: Mapping[str, Any], fmt: str = "text") -> str:
    """The summary tables as one string in format ``fmt``.

    Parameters
    ----------
    overview, per_model
        The two results of :func:`hocert.plotting.summary_tables`.
    fmt : {"text", "csv", "markdown", "latex"}
        Output format.

    Returns
    -------
    str
        Ends with a newline.
    """
    renderers: dict[str, Callable[[Any, Mapping[str, Any]], str]] = {
        "text": _text,
        "csv": _csv,
        "markdown": _markdown,
        "latex": _latex,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown summary format {fmt!r}: expected one of {SUMMARY_FORMATS}")
    return renderers[fmt](overview, per_model)


def _heading(name: str, table: Any) -> str:
    """``l2: certified accuracy (%) at radius (input units)``."""
    scale = "" if table.attrs.get("radii", "r") == "r" else f" {table.attrs['radii']}"
    quantity = table.attrs.get("quantity", "radius")
    return f"{name}: certified accuracy (%) at {quantity}{scale} (input units)"


def _number(value: Any, spec: str) -> str:
    """``value`` formatted with ``spec``; empty for None or NaN, integers as such."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, (int, float)) and float(value).is_integer() and spec == "g":
        return str(int(value))
    return format(value, spec if spec != "g" else ".4g")


def _overview_rows(overview: Any) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the overview, numbers formatted for people."""
    header = ["file", *map(str, overview.columns)]
    rows = []
    for label, row in overview.iterrows():
        cells = [str(label)]
        for column in overview.columns:
            value = row[column]
            if isinstance(value, str):
                cells.append(value)
            elif column.endswith("%"):
                cells.append(_number(_plain(value), ".1f"))
            elif column == "mean time s":
                cells.append(_number(_plain(value), ".4g"))
            else:
                cells.append(_number(_plain(value), "g"))
        rows.append(cells)
    return header, rows


def _plain(value: Any) -> Any:
    """A NumPy or pandas scalar as a Python one (None for missing values)."""
    if value is None:
        return None
    try:
        if value != value:  # NaN, pandas NA
            return None
    except (TypeError, ValueError):
        return None
    return value.item() if hasattr(value, "item") else value


def _model_rows(table: Any) -> tuple[list[str], list[list[str]]]:
    header = ["method", "file", *map(str, table.columns)]
    rows = [
        [str(method), str(label), *(_number(float(v), ".1f") for v in values)]
        for (method, label), values in zip(table.index, table.to_numpy())
    ]
    return header, rows


# ---------------------------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------------------------


def _text(overview: Any, per_model: Mapping[str, Any]) -> str:
    import pandas as pd

    out = []
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        out.append(overview.to_string(float_format=lambda v: f"{v:.4g}"))
        for name, table in per_model.items():
            out.append(f"\n{_heading(name, table)}")
            out.append(table.to_string(float_format=lambda v: f"{v:.1f}"))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------

_CSV_OVERVIEW = {
    "format": "format",
    "inputs": "inputs",
    "sigma": "sigma",
    "d": "d",
    "clean accuracy %": "clean_accuracy_pct",
    "abstain %": "abstain_pct",
    "mean time s": "mean_time_s",
}


def _csv(overview: Any, per_model: Mapping[str, Any]) -> str:
    import pandas as pd

    info = overview.rename(columns=_CSV_OVERVIEW)
    records = []
    for name, table in per_model.items():
        for (method, label), values in zip(table.index, table.to_numpy()):
            base = info.loc[label].to_dict() if label in info.index else {}
            for column, value in zip(table.columns, values):
                records.append(
                    {
                        "threat_model": name,
                        "quantity": table.attrs.get("quantity", "radius"),
                        "method": method,
                        "file": label,
                        **{c: base.get(c) for c in _CSV_OVERVIEW.values()},
                        "radius": float(column),
                        "radius_scale": table.attrs.get("radii", "r"),
                        "certified_accuracy_pct": float(value),
                    }
                )
    frame = pd.DataFrame(records)
    if "d" in frame:
        frame["d"] = frame["d"].astype("Int64")
    if "inputs" in frame:
        frame["inputs"] = frame["inputs"].astype("Int64")
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[str]], text_columns: int) -> list[str]:
    align = ["---" if i < text_columns else "--:" for i in range(len(header))]
    lines = ["| " + " | ".join(map(_md_cell, header)) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in rows]
    return lines


def _markdown(overview: Any, per_model: Mapping[str, Any]) -> str:
    header, rows = _overview_rows(overview)
    out = ["### Files", "", *_md_table(header, rows, 2)]
    for name, table in per_model.items():
        header, rows = _model_rows(table)
        out += ["", f"### {_heading(name, table)}", "", *_md_table(header, rows, 2)]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# LaTeX
# ---------------------------------------------------------------------------------------------

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "σ": r"$\sigma$",
}


def _latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped (σ as ``$\\sigma$``)."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _latex_table(
    header: list[str], rows: list[list[str]], text_columns: int, title: str | None = None
) -> list[str]:
    spec = "l" * text_columns + "r" * (len(header) - text_columns)
    lines = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule"]
    if title is not None:
        span = len(header) - text_columns
        lines.append(
            " & " * text_columns + rf"\multicolumn{{{span}}}{{c}}{{{title}}} \\"
            if span
            else title + r" \\"
        )
        lines.append(rf"\cmidrule(l){{{text_columns + 1}-{len(header)}}}")
    lines.append(" & ".join(_latex_escape(h) for h in header) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join(_latex_escape(c) for c in row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return lines


def _markers(name: str, table: Any) -> str:
    """The column group title: the threat model's TeX title and what the radii are."""
    title = table.attrs.get("title", _latex_escape(name))
    scale = table.attrs.get("radii", "r")
    radius = "$r$" if scale == "r" else r"$r / \sqrt{d}$"
    return rf"{title}: certified accuracy (\%) at {radius}"


def _latex(overview: Any, per_model: Mapping[str, Any]) -> str:
    header, rows = _overview_rows(overview)
    out = [
        "% hocert summary; the tables need \\usepackage{booktabs}",
        "% files",
        *_latex_table(header, rows, 2),
    ]
    for name, table in per_model.items():
        header, rows = _model_rows(table)
        out += ["", f"% {_latex_escape(_heading(name, table))}"]
        out += _latex_table(header, rows, 2, _markers(name, table))
    return "\n".join(out) + "\n"
