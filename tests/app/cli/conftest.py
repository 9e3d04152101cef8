"""Fixtures shared by the command-line tests (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import TINY_GRID, certify, run


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run on the first 4 example inputs."""
    out = tmp_path_factory.mktemp("ref") / "ref.tsv"
    assert certify(out, "--max", "4") == 0
    return out


@pytest.fixture(scope="session")
def tiny_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("table")
    out = root / "t.npz"
    argv = ["--out", str(out), *TINY_GRID, "--scheduler", "synchronous"]
    assert run("table", "build", *argv, "--checkpoint", str(root / "ck")) == 0
    return out


@pytest.fixture(scope="session")
def two_sigmas(reference, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    other = tmp_path_factory.mktemp("s05") / "s05.tsv"
    assert certify(other, "--max", "4", "--sigma", "0.5") == 0
    return [reference, other]


@pytest.fixture(scope="session")
def scheduler_address():
    """A small in-process Dask cluster for the --scheduler tests."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address
