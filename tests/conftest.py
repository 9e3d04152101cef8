"""Shared pytest configuration: the ``slow`` and ``gpu`` markers.

Slow tests (high-precision reference sweeps, long statistical simulations) are skipped unless
``--runslow`` is given; GPU tests are skipped unless CuPy reports a usable CUDA device.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def _gpu_available() -> bool:
    try:
        import cupy  # type: ignore[import-not-found]

        return bool(cupy.is_available())
    except Exception:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow")
    skip_gpu = pytest.mark.skip(reason="no CUDA GPU with CuPy available")
    have_gpu = None
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)
        if "gpu" in item.keywords:
            if have_gpu is None:
                have_gpu = _gpu_available()
            if not have_gpu:
                item.add_marker(skip_gpu)
