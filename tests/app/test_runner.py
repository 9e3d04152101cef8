"""Certifying a data set input by input (hocert/runner.py); ``certify_dataset`` itself is tested in
test_certify_dataset.py, its parts in test_row.py and test_worker.py."""

from __future__ import annotations

import pytest

from hocert import runner

# What runner.py defined before its parts moved to _row, _inputs, _worker and _plan.
MOVED = {
    "_row": ["BASE_COLUMNS", "CertifyParams", "certify_row", "input_seed", "result_columns",
             "solver_status_field"],
    "_inputs": ["RunInputError", "check_data", "resolve_model", "resolve_num_classes",
                "sha256_arrays", "targets"],
    "_worker": ["certify_factory_task", "certify_task", "probe_factory_task",
                "resolve_backend_name", "resolve_execution", "run_dask", "worker_cache_dir"],
    "_plan": ["DatasetPlan", "plan_dataset"],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(MOVED))
def test_the_names_that_moved_are_importable_from_runner(module):
    import importlib

    part = importlib.import_module(f"hocert.{module}")
    assert sorted(part.__all__) == sorted(MOVED[module])
    for name in MOVED[module]:
        assert getattr(runner, name) is getattr(part, name), name
    assert set(runner.__all__) <= set(dir(runner))
