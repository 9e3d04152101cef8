"""Resumable result files of ``hocert certify``: a TSV written row by row plus a JSON sidecar.

File layout (docs/cli.md, "certify"):

- ``FILE`` (TSV, UTF-8, ``\\n`` line ends): one header line with the column names, then one line
  per certified input, appended as soon as that input is finished (one ``write`` call, then
  ``fsync``). Rows may come in any order of ``idx`` (a Dask run writes them as they complete).
- ``FILE.meta.json``: the run parameters, written (atomically) before the first row. A run is
  resumed only when its parameters are those of the sidecar. Its ``execution`` list records,
  for every session that wrote rows (the first one and each resume), where they ran: the array
  backend and why it was chosen, and the ONNX Runtime execution providers
  (:func:`execution_entry`); it is information, never compared.

Resume semantics: the finished inputs are the SET of ``idx`` of complete rows (a line that ends
with a newline and has one field per column and an integer ``idx``). A last line without its
newline or with the wrong number of fields (a write cut short by a crash) is truncated away and
its input is certified again. Anything wrong before the last line, a duplicated ``idx`` or a
header that does not match is reported as corruption instead of being guessed at.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import signal
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from ._errors import HocertError
from ._row_checks import PARAMS_HASH_COLUMN, check_row, params_hash
from .locking import FileLock

__all__ = [
    "META_FORMAT",
    "PARAMS_HASH_COLUMN",
    "ResultsCorrupted",
    "ResultsFile",
    "ResultsMismatch",
    "Scan",
    "check_row",
    "check_rows",
    "execution_entry",
    "format_value",
    "meta_path",
    "param_differences",
    "params_hash",
    "read_meta",
    "read_results",
    "scan_results",
    "write_meta",
]

#: ``format`` entry of every sidecar written by this module.
META_FORMAT = "hocert-certify-results/1"


class ResultsMismatch(HocertError, ValueError):
    """An existing result file was made with other parameters (resume refused)."""


class ResultsCorrupted(HocertError, ValueError):
    """An existing result file is damaged beyond a cut-short last line."""


def meta_path(path: str | os.PathLike[str]) -> Path:
    """The sidecar of a result file: ``FILE.meta.json`` beside ``FILE``."""
    p = Path(path)
    return p.with_name(p.name + ".meta.json")


def format_value(value: Any) -> str:
    """A TSV field: integers as such, floats in the shortest form that round-trips.

    ``repr`` of a Python float is exact (it reads back to the same double), so a resumed run and
    an uninterrupted one write identical text. Non-finite floats are ``inf``, ``-inf``, ``nan``.
    """
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    text = str(value)
    if "\t" in text or "\n" in text:
        raise ValueError(f"a TSV field cannot contain a tab or newline: {text!r}")
    return text


# ---------------------------------------------------------------------------------------------
# Sidecar
# ---------------------------------------------------------------------------------------------


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The sidecar of result file ``path``, or None when there is none.

    Raises
    ------
    ResultsCorrupted
        The sidecar exists but is not a JSON object of this format.
    """
    mp = meta_path(path)
    if not mp.exists():
        return None
    try:
        meta = json.loads(mp.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsCorrupted(f"cannot read {mp}: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != META_FORMAT:
        raise ResultsCorrupted(f"{mp} is not a hocert result sidecar (format {META_FORMAT!r})")
    return meta


def write_meta(path: str | os.PathLike[str], meta: Mapping[str, Any]) -> None:
    """Write the sidecar of ``path`` atomically (temporary file, fsync, rename)."""
    mp = meta_path(path)
    tmp = mp.with_name(mp.name + ".tmp")
    text = json.dumps({"format": META_FORMAT, **meta}, indent=2, sort_keys=True, allow_nan=False)
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, mp)


def execution_entry(
    backend: str,
    backend_reason: str = "",
    onnx_providers: Sequence[str] | None = None,
    onnxruntime: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One entry of a sidecar's ``execution`` list: where a session's rows were computed.

    Parameters
    ----------
    backend : str
        The array backend, ``"numpy"`` or ``"cupy"``.
    backend_reason : str
        Why it was chosen (``hocert_sampling.backend.Backend.reason``), e.g.
        ``"CuPy not installed"``.
    onnx_providers : sequence of str, optional
        The ONNX Runtime execution providers the model runs on (None for a callable model).
    onnxruntime : str, optional
        The ONNX Runtime build (``hocert_sampling.gpu.OnnxRuntimeInfo.describe``).
    **extra
        Further JSON-serialisable entries (e.g. ``where="dask"``).

    Returns
    -------
    dict
        With ``started`` (UTC, ISO 8601, seconds) added.
    """
    from datetime import datetime, timezone

    entry: dict[str, Any] = {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "backend": backend,
        "backend_reason": backend_reason,
        "onnx_providers": None if onnx_providers is None else list(onnx_providers),
        "onnxruntime": onnxruntime,
    }
    entry.update(extra)
    return entry


def param_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between two parameter dicts (empty when they agree)."""
    diffs = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            diffs.append(f"{key}: not recorded in the existing file, this run has {new[key]!r}")
        elif key not in new:
            diffs.append(f"{key}: the existing file has {old[key]!r}, this run has none")
        elif old[key] != new[key]:
            diffs.append(f"{key}: the existing file has {old[key]!r}, this run has {new[key]!r}")
    return diffs


# ---------------------------------------------------------------------------------------------
# Scanning an existing TSV
# ---------------------------------------------------------------------------------------------


@dataclass
class Scan:
    """What :func:`scan_results` found in a result file.

    Attributes
    ----------
    columns : list of str or None
        The header fields, or None when the file has no complete header line.
    rows : dict of int to str
        Each finished ``idx`` and its line (without the newline), in file order.
    valid_end : int
        Byte offset just after the last complete, valid line (header included).
    dropped : bytes
        What follows ``valid_end``: a cut-short last line to truncate (empty when none).
    lines : dict of int to int
        Each finished ``idx`` and its line number in the file (the header is line 1).
    """

    columns: list[str] | None
    rows: dict[int, str] = field(default_factory=dict)
    valid_end: int = 0
    dropped: bytes = b""
    lines: dict[int, int] = field(default_factory=dict)


def _valid_row(line: str, ncols: int) -> int | None:
    """The idx of a well-formed row, or None."""
    fields = line.split("\t")
    if len(fields) != ncols:
        return None
    try:
        return int(fields[0])
    except ValueError:
        return None


def scan_results(path: str | os.PathLike[str]) -> Scan:
    """Read a result file and find its finished rows and any cut-short last line.

    Parameters
    ----------
    path : path-like
        The TSV (need not exist: then the scan is empty).

    Returns
    -------
    Scan

    Raises
    ------
    ResultsCorrupted
        A malformed line before the last one, a duplicated idx, or an undecodable file.
    """
    p = Path(path)
    if not p.exists():
        return Scan(columns=None)
    data = p.read_bytes()
    lines = data.split(b"\n")  # the last item is what follows the final newline
    if len(lines) == 1:  # not even a complete header: everything is redone
        return Scan(columns=None, dropped=data)
    try:
        columns = lines[0].decode("utf-8").split("\t")
    except UnicodeDecodeError as exc:
        raise ResultsCorrupted(f"{p}: the header is not UTF-8 text") from exc
    scan = Scan(columns=columns, valid_end=len(lines[0]) + 1)
    complete = lines[1:-1]
    for number, raw in enumerate(complete, start=2):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = ""
        idx = _valid_row(line, len(columns))
        if idx is None:
            if number == len(complete) + 1 and not lines[-1]:  # the last line: cut short
                break
            raise ResultsCorrupted(
                f"{p}, line {number}: malformed row {raw[:80]!r} (expected {len(columns)} "
                "tab-separated fields); fix or delete the file, or start over with --force"
            )
        if idx in scan.rows:
            raise ResultsCorrupted(
                f"{p}, line {number}: idx {idx} appears twice; fix or delete the file, or start "
                "over with --force"
            )
        scan.rows[idx] = line
        scan.lines[idx] = number
        scan.valid_end += len(raw) + 1
    scan.dropped = data[scan.valid_end :]
    return scan


# ---------------------------------------------------------------------------------------------
# Validating rows (one row: hocert._row_checks.check_row)
# ---------------------------------------------------------------------------------------------


def check_rows(
    path: str | os.PathLike[str],
    scan: Scan,
    params: Mapping[str, Any],
    num_inputs: int | None = None,
) -> None:
    """Check every row of ``scan`` (of file ``path``) with :func:`check_row`.

    Raises
    ------
    ResultsCorrupted
        Naming the file and the line of the first bad row.
    """
    columns = scan.columns or []
    for idx, line in scan.rows.items():
        problem = check_row(columns, line, params, num_inputs)
        if problem is not None:
            raise ResultsCorrupted(
                f"{path}, line {scan.lines.get(idx, '?')}: invalid row: {problem}; fix or "
                "delete the file, or start over with --force"
            )


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold back Ctrl-C while a row is written, so a row is either whole or absent.

    Only the main thread can install signal handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[tuple[int, FrameType | None]] = []

    def remember(signum: int, frame: FrameType | None) -> None:
        received.append((signum, frame))

    try:
        previous = signal.signal(signal.SIGINT, remember)
    except ValueError:  # e.g. in a sub-interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):  # usually default_int_handler: KeyboardInterrupt
            previous(*received[0])
        elif received and previous == signal.SIG_DFL:  # pragma: no cover
            signal.raise_signal(signal.SIGINT)


class ResultsFile:
    """A result TSV opened for appending, resumed when it already holds finished rows.

    Parameters
    ----------
    path : path-like
        The TSV; its sidecar is :func:`meta_path` ``(path)``.
    columns : sequence of str
        Column names; the first must be ``"idx"``.
    params : mapping
        Parameters that determine the rows (JSON-serialisable). An existing file with finished
        rows is resumed only if its sidecar has exactly these parameters and columns.
    info : mapping, optional
        Further sidecar entries that are recorded but not compared (paths, dimensions, ...).
    force : bool
        Delete an existing file and sidecar and start over.
    execution : mapping, optional
        Where this session computes its rows (:func:`execution_entry`): appended to the
        sidecar's ``execution`` list, on a fresh file and on a resumed one alike.
    lock : hocert.locking.FileLock, optional
        The caller's lock on ``path`` (acquired here if it is not held yet, released by the
        caller). Default: the file takes its own, from here to :meth:`close`.

    Attributes
    ----------
    finished : set of int
        The idx of the rows already in the file (grows with :meth:`write_row`).
    repaired : bytes
        The cut-short last line that was truncated away on opening (empty when none).

    Raises
    ------
    ResultsMismatch
        The existing file was made with other parameters or columns.
    ResultsCorrupted
        The existing file is damaged (see :func:`scan_results`) or has no sidecar.
    hocert.locking.LockHeld
        Another process has the file open (one writer per file: the lock
        ``FILE.lock`` is held from here to :meth:`close`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        columns: Sequence[str],
        params: Mapping[str, Any],
        info: Mapping[str, Any] | None = None,
        *,
        force: bool = False,
        execution: Mapping[str, Any] | None = None,
        lock: FileLock | None = None,
    ) -> None:
        if not columns or columns[0] != "idx":
            raise ValueError(f"the first column must be 'idx', got {list(columns)[:1]}")
        self.path = Path(path)
        self.columns = list(columns)
        self.params = dict(params)
        self.info = dict(info or {})
        self.repaired = b""
        self._fd = -1
        # the caller's lock (held, e.g. from the start of a command), else our own
        self._own_lock = lock is None
        self._lock = FileLock(self.path, "result file") if lock is None else lock
        self._lock.acquire()
        try:
            self._open(force, execution)
        except BaseException:
            self._release_lock()
            raise

    def _release_lock(self) -> None:
        if self._own_lock:
            self._lock.release()

    def _open(self, force: bool, execution: Mapping[str, Any] | None) -> None:
        if force:
            self.path.unlink(missing_ok=True)
            meta_path(self.path).unlink(missing_ok=True)
        scan = self._check_existing()
        self.finished: set[int] = set(scan.rows)
        if scan.rows:
            self._truncate(scan)
            if execution is not None:  # the resumed session's execution, after the others
                meta = read_meta(self.path) or {}
                meta.pop("format", None)
                meta["execution"] = [*meta.get("execution", []), dict(execution)]
                write_meta(self.path, meta)
        else:  # nothing to keep: (re)write the sidecar and the header
            meta = {"columns": self.columns, "params": self.params, **self.info}
            if execution is not None:
                meta["execution"] = [dict(execution)]
            write_meta(self.path, meta)
            self._write_header()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def _check_existing(self) -> Scan:
        scan = scan_results(self.path)
        if not scan.rows:
            return scan
        meta = read_meta(self.path)
        if meta is None:
            raise ResultsCorrupted(
                f"{self.path} has {len(scan.rows)} rows but no {meta_path(self.path).name}, so "
                "its parameters are unknown; use another --out, or --force to start over"
            )
        diffs = param_differences(meta.get("params", {}), self.params)
        if scan.columns != self.columns or meta.get("columns") != self.columns:
            diffs.append(f"columns: the existing file has {scan.columns}, this run {self.columns}")
        if diffs:
            raise ResultsMismatch(
                f"{self.path} was made with other parameters, refusing to resume:\n  "
                + "\n  ".join(diffs)
                + "\nuse another --out, or --force to delete it and start over"
            )
        num_inputs = self.info.get("num_inputs", meta.get("num_inputs"))
        check_rows(
            self.path, scan, self.params, num_inputs if isinstance(num_inputs, int) else None
        )
        return scan

    def _truncate(self, scan: Scan) -> None:
        if not scan.dropped:
            return
        self.repaired = scan.dropped
        with open(self.path, "r+b") as fh:
            fh.truncate(scan.valid_end)
            fh.flush()
            os.fsync(fh.fileno())

    def _write_header(self) -> None:
        with open(self.path, "wb") as fh:
            fh.write(("\t".join(self.columns) + "\n").encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())

    def format_row(self, row: Mapping[str, Any]) -> str:
        """The TSV line (without newline) of ``row``, a mapping with every column."""
        if PARAMS_HASH_COLUMN in self.columns and PARAMS_HASH_COLUMN not in row:
            row = {**row, PARAMS_HASH_COLUMN: params_hash(self.params)}
        missing = [c for c in self.columns if c not in row]
        if missing:
            raise ValueError(f"row lacks the columns {missing}")
        return "\t".join(format_value(row[c]) for c in self.columns)

    def write_row(self, row: Mapping[str, Any]) -> None:
        """Append one finished row and make it durable (one write, then fsync).

        Raises
        ------
        ValueError
            The row's idx is already in the file, or a column is missing.
        """
        idx = int(row["idx"])
        if idx in self.finished:
            raise ValueError(f"idx {idx} is already in {self.path}")
        data = (self.format_row(row) + "\n").encode("utf-8")
        with _sigint_deferred():
            written = os.write(self._fd, data)
            while written < len(data):  # regular files take it in one go; be safe anyway
                written += os.write(self._fd, data[written:])
            os.fsync(self._fd)
            self.finished.add(idx)

    def close(self) -> None:
        """Close the file (rows are already durable)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._release_lock()

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# Reading for analysis
# ---------------------------------------------------------------------------------------------


def read_results(path: str | os.PathLike[str]) -> tuple[Any, dict[str, Any] | None]:
    """The finished rows of a result file as a DataFrame (sorted by idx), and its sidecar.

    A cut-short last line (a run still going, or killed) is ignored, not an error.

    Parameters
    ----------
    path : path-like
        A TSV written by ``hocert certify``.

    Returns
    -------
    frame : pandas.DataFrame
        One row per finished input; ``inf`` radii read as ``numpy.inf``.
    meta : dict or None
        The sidecar, or None when there is none.

    Raises
    ------
    FileNotFoundError
        No such file.
    ResultsCorrupted
        Not a result file (no header with an ``idx`` column) or damaged.
    """
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"result file not found: {p}")
    scan = scan_results(p)
    if scan.columns is None or scan.columns[0] != "idx":
        raise ResultsCorrupted(f"{p} is not a hocert result file (no header starting with idx)")
    meta = read_meta(p)
    params = meta.get("params") if meta is not None else None
    num_inputs = meta.get("num_inputs") if meta is not None else None
    check_rows(
        p,
        scan,
        params if isinstance(params, dict) else {},
        num_inputs if isinstance(num_inputs, int) else None,
    )
    text = "\t".join(scan.columns) + "\n" + "".join(line + "\n" for line in scan.rows.values())
    frame = pd.read_csv(io.StringIO(text), sep="\t")
    frame = frame.sort_values("idx", kind="stable").reset_index(drop=True)
    return frame, meta
