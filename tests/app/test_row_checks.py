"""Validation of one row of a result file (hocert/_row_checks.py, importable from
hocert.results); resumes that refuse invalid rows, naming file and line, are tested in
tests/app/cli/test_hardening.py."""

from __future__ import annotations

from hocert.results import check_row
from hocert_solver import STATUS_NAMES


def test_rows_are_checked_against_the_status_names_of_the_solver():
    columns = ["idx", "label", "predict", "solver_status", "correct"]
    for name in STATUS_NAMES.values():
        assert check_row(columns, f"0\t1\t1\tl1={name}\t1", {"num_classes": 3}) is None
    assert check_row(columns, "0\t1\t-1\tabstain\t0", {"num_classes": 3}) is None
    assert "abstain" in str(check_row(columns, "0\t1\t1\tabstain\t1", {"num_classes": 3}))
