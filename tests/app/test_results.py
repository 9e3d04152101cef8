"""The resumable result file: scanning, truncation of cut-short lines, parameter checks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hocert.results import (
    META_FORMAT,
    ResultsCorrupted,
    ResultsFile,
    ResultsMismatch,
    format_value,
    meta_path,
    param_differences,
    read_meta,
    read_results,
    scan_results,
    write_meta,
)

COLUMNS = ["idx", "label", "radius", "time"]
PARAMS = {"sigma": 0.25, "n": 100, "subspaces": None}


def row(idx: int, radius: float = 0.5) -> dict[str, object]:
    return {"idx": idx, "label": idx % 3, "radius": radius, "time": 0.01}


def write_rows(path, indices, params=PARAMS):
    with ResultsFile(path, COLUMNS, params) as results:
        for i in indices:
            results.write_row(row(i, 0.1 * i))
    return path


def test_format_value_round_trips_floats():
    for value in (0.1, 1 / 3, 1e-300, 0.06008629478929284, 123456789.123):
        assert float(format_value(value)) == value
    assert format_value(math.inf) == "inf"
    assert format_value(-math.inf) == "-inf"
    assert format_value(math.nan) == "nan"
    assert format_value(True) == "1"
    assert format_value(7) == "7"
    with pytest.raises(ValueError, match="tab"):
        format_value("a\tb")


def test_fresh_file_has_header_sidecar_and_rows(tmp_path):
    path = write_rows(tmp_path / "r.tsv", [0, 1, 2])
    lines = path.read_text().splitlines()
    assert lines[0] == "\t".join(COLUMNS)
    assert [line.split("\t")[0] for line in lines[1:]] == ["0", "1", "2"]
    meta = read_meta(path)
    assert meta is not None
    assert meta["format"] == META_FORMAT
    assert meta["params"] == PARAMS
    assert meta["columns"] == COLUMNS
    assert meta_path(path).name == "r.tsv.meta.json"


def test_resume_keeps_rows_and_refuses_duplicates(tmp_path):
    path = write_rows(tmp_path / "r.tsv", [3, 1])
    with ResultsFile(path, COLUMNS, PARAMS) as results:
        assert results.finished == {1, 3}
        assert results.repaired == b""
        with pytest.raises(ValueError, match="already"):
            results.write_row(row(3))
        results.write_row(row(0))
    scan = scan_results(path)
    assert list(scan.rows) == [3, 1, 0]  # file order, any idx order


@pytest.mark.parametrize("cut", [1, 5, 12])
def test_cut_short_last_line_is_truncated(tmp_path, cut):
    path = write_rows(tmp_path / "r.tsv", [0, 1, 2])
    full = path.read_bytes()
    path.write_bytes(full[:-cut])
    with ResultsFile(path, COLUMNS, PARAMS) as results:
        assert results.finished == {0, 1}
        assert len(results.repaired) == len(full.splitlines(keepends=True)[-1]) - cut
        results.write_row(row(2, 0.2))
    assert path.read_bytes() == full


def test_last_line_with_wrong_field_count_is_truncated(tmp_path):
    path = write_rows(tmp_path / "r.tsv", [0, 1])
    with open(path, "a") as fh:
        fh.write("2\t0\n")
    with ResultsFile(path, COLUMNS, PARAMS) as results:
        assert results.finished == {0, 1}
        assert results.repaired == b"2\t0\n"


def test_malformed_line_before_the_last_is_corruption(tmp_path):
    path = write_rows(tmp_path / "r.tsv", [0, 1, 2])
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = "garbage\n"
    path.write_text("".join(lines))
    with pytest.raises(ResultsCorrupted, match="line 3"):
        ResultsFile(path, COLUMNS, PARAMS)


def test_duplicate_idx_is_corruption(tmp_path):
    path = write_rows(tmp_path / "r.tsv", [0, 1])
    text = path.read_text()
    path.write_text(text + text.splitlines(keepends=True)[1])
    with pytest.raises(ResultsCorrupted, match="twice"):
        scan_results(path)


def test_parameter_mismatch_is_refused_and_force_restarts(tmp_path):
    path = write_rows(tmp_path / "r.tsv", [0, 1])
    before = path.read_bytes()
    other = {**PARAMS, "sigma": 0.5}
    with pytest.raises(ResultsMismatch, match=r"sigma: the existing file has 0\.25"):
        ResultsFile(path, COLUMNS, other)
    with pytest.raises(ResultsMismatch, match="columns"):
        ResultsFile(path, [*COLUMNS, "extra"], PARAMS)
    assert path.read_bytes() == before
    with ResultsFile(path, COLUMNS, other, force=True) as results:
        assert results.finished == set()
    assert read_meta(path)["params"]["sigma"] == 0.5
    assert path.read_text() == "\t".join(COLUMNS) + "\n"


def test_rows_without_sidecar_are_refused(tmp_path):
    path = write_rows(tmp_path / "r.tsv", [0])
    meta_path(path).unlink()
    with pytest.raises(ResultsCorrupted, match=r"meta\.json"):
        ResultsFile(path, COLUMNS, PARAMS)


def test_header_only_or_partial_header_starts_over(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text("idx\tlab")  # crashed while writing the header
    with ResultsFile(path, COLUMNS, {**PARAMS, "n": 5}) as results:
        assert results.finished == set()
    assert path.read_text() == "\t".join(COLUMNS) + "\n"
    # header only, other parameters: nothing to lose, so no refusal
    with ResultsFile(path, COLUMNS, PARAMS) as results:
        results.write_row(row(0))
    assert read_meta(path)["params"] == PARAMS


def test_bad_sidecar_is_reported(tmp_path):
    path = write_rows(tmp_path / "r.tsv", [0])
    meta_path(path).write_text("{not json")
    with pytest.raises(ResultsCorrupted, match="cannot read"):
        read_meta(path)
    meta_path(path).write_text(json.dumps({"format": "other"}))
    with pytest.raises(ResultsCorrupted, match="not a hocert"):
        read_meta(path)


def test_write_meta_is_atomic_and_sorted(tmp_path):
    path = tmp_path / "r.tsv"
    write_meta(path, {"b": 1, "a": [1, 2]})
    assert not list(tmp_path.glob("*.tmp"))
    assert read_meta(path) == {"format": META_FORMAT, "a": [1, 2], "b": 1}
    with pytest.raises(ValueError):
        write_meta(path, {"x": math.inf})  # JSON has no inf


def test_param_differences_lists_every_key():
    diffs = param_differences({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4})
    assert len(diffs) == 2
    assert diffs[0].startswith("b:")
    assert diffs[1].startswith("c: not recorded")
    assert param_differences({"a": 1}, {"a": 1}) == []


def test_read_results_sorts_and_ignores_partial_line(tmp_path):
    path = write_rows(tmp_path / "r.tsv", [2, 0, 1])
    with open(path, "a") as fh:
        fh.write("3\t1\t0.")
    frame, meta = read_results(path)
    assert frame["idx"].tolist() == [0, 1, 2]
    np.testing.assert_allclose(frame["radius"], [0.0, 0.1, 0.2])
    assert meta is not None
    with pytest.raises(FileNotFoundError):
        read_results(tmp_path / "missing.tsv")
    (tmp_path / "x.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(ResultsCorrupted, match="not a hocert"):
        read_results(tmp_path / "x.tsv")


def test_first_column_must_be_idx(tmp_path):
    with pytest.raises(ValueError, match="idx"):
        ResultsFile(tmp_path / "r.tsv", ["label", "idx"], PARAMS)
    with ResultsFile(tmp_path / "r.tsv", COLUMNS, PARAMS) as results, pytest.raises(ValueError):
        results.write_row({"idx": 0})


def test_sidecar_records_where_each_session_ran(tmp_path):
    """Every session that writes rows adds an ``execution`` entry (backend, why, ONNX
    providers); a resumed run appends its own, and none of it is compared on resume."""
    from hocert.results import execution_entry

    path = tmp_path / "r.tsv"
    first = execution_entry("numpy", "CuPy not installed", ["CPUExecutionProvider"], "ort 1.0")
    with ResultsFile(path, COLUMNS, PARAMS, execution=first) as results:
        results.write_row(row(0))
    meta = read_meta(path)
    assert meta["execution"] == [first]
    assert set(first) == {"started", "backend", "backend_reason", "onnx_providers", "onnxruntime"}
    second = execution_entry("numpy", "requested", None, where="dask worker")
    assert second["onnx_providers"] is None
    assert second["where"] == "dask worker"
    with ResultsFile(path, COLUMNS, PARAMS, execution=second) as results:
        assert results.finished == {0}
        results.write_row(row(1))
    meta = read_meta(path)
    assert meta["execution"] == [first, second]
    assert meta["params"] == PARAMS
    assert meta["format"] == META_FORMAT
    with ResultsFile(path, COLUMNS, PARAMS) as results:  # no entry given: nothing added
        pass
    assert read_meta(path)["execution"] == [first, second]
    with ResultsFile(path, COLUMNS, PARAMS, execution=first, force=True):
        pass
    assert read_meta(path)["execution"] == [first]  # a fresh start has only its own
