"""Result files of other certification code (``hocert.foreign``): format detection from the
header, mapping onto hocert's columns, the sample files in ``tests/app/data``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from hocert.foreign import (
    FORMATS,
    UnknownFormat,
    column_key,
    detect_format,
    parse_seconds,
    read_result_file,
)
from hocert.results import ResultsCorrupted, ResultsFile
from hocert_sampling.threat_models import THREAT_MODELS

DATA = Path(__file__).parent / "data"
COHEN = DATA / "cohen_certify.tsv"
FIRST_ORDER = DATA / "first_order_radii.tsv"
HOCERT_COLUMNS = [
    "idx",
    "label",
    "predict",
    "p_a_lower",
    "radius_cohen",
    "radius_l2",
    "radius_l1",
    "radius_linf",
    "solver_status",
    "correct",
    "time",
]


def test_formats_are_detected_from_the_header():
    assert detect_format(HOCERT_COLUMNS) == "hocert"
    assert detect_format(["idx", "label", "predict", "radius", "correct", "time"]) == "cohen"
    authors = "idx label predict radius_cohen radius_L2 radius_L1 radius_LInf correct time"
    assert detect_format(authors.split()) == "first-order"
    for variant in (
        ["Idx", "Label", "Predict", "Radius_Cohen", "RADIUS_l2", "correct"],
        ["idx", "label", "predict", "radius", "radius_l_inf"],
        ["index", "correct", "radius_cohen", "Radius-LInfty"],
    ):
        assert detect_format(variant) == "first-order", variant
    assert set(FORMATS) == {"hocert", "cohen", "first-order"}


def test_unknown_headers_say_what_is_missing():
    with pytest.raises(UnknownFormat, match=r"predict\.py"):
        detect_format(["idx", "label", "predict", "correct", "time"])  # Cohen's predict.py
    with pytest.raises(UnknownFormat, match="'correct' column"):
        detect_format(["idx", "radius"])
    with pytest.raises(UnknownFormat, match=r"certify\.py"):
        detect_format(["a", "b"])


def test_column_keys():
    assert column_key("radius_LInf") == column_key("radius-l inf") == "radiuslinf"
    aliases = {column_key(f"radius_{m.name}") for m in THREAT_MODELS if not m.per_subspace}
    assert aliases == {"radiusl2", "radiusl1", "radiuslinf"}  # from the registry


def test_parse_seconds():
    assert parse_seconds("0:00:01.234567") == pytest.approx(1.234567)
    assert parse_seconds("1:02:03") == 3723.0
    assert parse_seconds("2 days, 0:00:01.5") == pytest.approx(2 * 86400 + 1.5)
    assert parse_seconds("2.5") == 2.5
    assert parse_seconds(3) == 3.0
    assert math.isnan(parse_seconds("soon"))


def test_cohen_sample_file():
    table = read_result_file(COHEN)
    assert table.format == "cohen"
    assert table.meta is None
    assert table.description == "Cohen et al. (2019) certify.py"
    f = table.frame
    assert list(f.columns) == ["idx", "label", "predict", "radius_cohen", "correct", "time"]
    assert f["idx"].tolist() == list(range(0, 200, 20))
    assert f.loc[0, "radius_cohen"] == 0.412
    assert f.loc[0, "time"] == pytest.approx(2.104532)
    abstained = f["predict"] == -1
    assert abstained.sum() == 2
    assert (f.loc[abstained, "radius_cohen"] == 0).all()
    assert (f["correct"] == (f["predict"] == f["label"])).all()


def test_first_order_sample_file():
    table = read_result_file(FIRST_ORDER)
    assert table.format == "first-order"
    f = table.frame
    assert list(f.columns) == [
        "idx",
        "label",
        "predict",
        "radius_cohen",
        "radius_l2",
        "radius_l1",
        "radius_linf",
        "correct",
        "time",
    ]
    assert f.loc[1, ["radius_l2", "radius_l1", "radius_linf"]].tolist() == [1.012, 1.044, 0.139]
    assert (f["radius_linf"] >= f["radius_l2"] / 8).all()  # consistent with d = 64


def test_comma_separated_lower_case_file_without_correct(tmp_path):
    path = tmp_path / "radii.csv"
    path.write_text(
        "idx,label,predict,radius_cohen,radius_l2,time\n"
        "2,1,1,0.5,0.55,1.0\n"
        "0,1,0,0.3,nan,1.0\n"
        "1,4,-1,,,1.0"  # no newline at the end, but whole
    )
    table = read_result_file(path)
    assert table.format == "first-order"
    f = table.frame
    assert f["idx"].tolist() == [0, 1, 2]  # sorted
    assert f["correct"].tolist() == [0, 0, 1]  # from predict == label
    assert f["radius_l2"].tolist() == [0.0, 0.0, 0.55]  # missing radii count as 0
    assert "radius_l1" not in f


def test_boolean_correct_and_a_cut_last_line(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text(
        "idx\tlabel\tpredict\tradius\tcorrect\ttime\n"
        "0\t1\t1\t0.5\tTrue\t0:00:01\n"
        "1\t2\t3\t0.2\tFalse\t0:00:01\n"
        "2\t2\t2\t0."  # a run still writing: ignored
    )
    f = read_result_file(path).frame
    assert f["correct"].tolist() == [1, 0]
    assert f["idx"].tolist() == [0, 1]


def test_bad_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_result_file(tmp_path / "none.tsv")
    dup = tmp_path / "dup.tsv"
    dup.write_text(
        "idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t1\t1\t0.5\t1\t1\n0\t1\t1\t0.5\t1\t1\n"
    )
    with pytest.raises(ResultsCorrupted, match="idx 0 appears twice"):
        read_result_file(dup)
    bad = tmp_path / "bad.tsv"
    bad.write_text("idx\tlabel\tpredict\tradius\tcorrect\ttime\nx\t1\t1\t0.5\t1\t1\n")
    with pytest.raises(ResultsCorrupted, match="non-integer"):
        read_result_file(bad)
    other = tmp_path / "other.tsv"
    other.write_text("a\tb\n1\t2\n")
    with pytest.raises(UnknownFormat, match=r"other\.tsv"):
        read_result_file(other)
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    with pytest.raises(ResultsCorrupted, match="no header"):
        read_result_file(empty)


def test_hocert_files_with_and_without_sidecar(tmp_path):
    path = tmp_path / "r.tsv"
    row = dict.fromkeys(HOCERT_COLUMNS, 0)
    row["solver_status"] = "abstain"
    row["predict"] = -1  # a valid row (resumed and read rows are checked): an abstention
    with ResultsFile(path, HOCERT_COLUMNS, {"sigma": 0.5}) as results:
        results.write_row(row)
    table = read_result_file(path)
    assert (table.format, table.meta["params"]["sigma"]) == ("hocert", 0.5)
    copy = tmp_path / "copy.tsv"
    copy.write_bytes(path.read_bytes())
    table = read_result_file(copy)
    assert (table.format, table.meta) == ("hocert", None)
    assert list(table.frame.columns) == HOCERT_COLUMNS
    np.testing.assert_array_equal(table.frame["idx"], [0])
