"""Builds (hocert_solver._table_build): chunks, checkpoints, executors; Dask in tests/app."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numba
import numpy as np
import pytest

from hocert_solver.table import SKIPPED, RadiusTable, TableBuildError
from tests.solver.table_helpers import TINY

# ------------------------------------------------------------------------------ builds


def test_build_metadata_and_statuses():
    tab = RadiusTable.build(**TINY, chunk_size=5)
    meta = tab.metadata["build"]
    n_solved = int(np.count_nonzero(tab.status != SKIPPED))
    assert meta["n_chunks"] == -(-n_solved // 5) == len(meta["computed_chunks"])
    assert meta["chunks_from_checkpoint"] == 0
    assert meta["scheduler"] == "in-process"
    counts = tab.status_counts()
    assert counts["skipped"] == 4 * 1  # (0.5, 1) outside the disk in every row
    assert sum(counts.values()) == 4 * 4 * 3
    assert tab.metadata["status_counts"] == counts


def test_build_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        RadiusTable.build(**TINY, chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size must be an integer"):
        RadiusTable.build(**TINY, chunk_size=2.5)
    with pytest.raises(TypeError, match="unexpected keyword argument 'chunksize'"):
        RadiusTable.build(**TINY, chunksize=4)
    with pytest.raises(ValueError, match="grid b must lie in"):
        RadiusTable.build(TINY["q"], TINY["a"], [-0.1, 0.5])
    with pytest.raises(ValueError, match="grid q must be a non-empty 1-D array"):
        RadiusTable.build([], TINY["a"], TINY["b"])


def test_checkpoint_resume_recomputes_only_missing_chunks(tmp_path):
    ckpt = tmp_path / "ckpt"
    first = RadiusTable.build(**TINY, chunk_size=4, checkpoint=ckpt)
    files = sorted(ckpt.glob("chunk_*.npz"))
    n = first.metadata["build"]["n_chunks"]
    assert len(files) == n
    assert (ckpt / "manifest.json").exists()
    kept_mtime = {p.name: p.stat().st_mtime_ns for p in files}
    for c in (1, n - 1):
        (ckpt / f"chunk_{c:06d}.npz").unlink()
    again = RadiusTable.build(**TINY, chunk_size=4, checkpoint=ckpt)
    assert again.metadata["build"]["computed_chunks"] == [1, n - 1]
    assert again.metadata["build"]["chunks_from_checkpoint"] == n - 2
    np.testing.assert_array_equal(again.values, first.values)
    np.testing.assert_array_equal(again.status, first.status)
    for p in sorted(ckpt.glob("chunk_*.npz")):
        if p.name not in ("chunk_000001.npz", f"chunk_{n - 1:06d}.npz"):
            assert p.stat().st_mtime_ns == kept_mtime[p.name]
    # A complete checkpoint: nothing to compute.
    third = RadiusTable.build(**TINY, chunk_size=4, checkpoint=ckpt)
    assert third.metadata["build"]["computed_chunks"] == []


def test_interrupted_build_resumes(tmp_path):
    ckpt = tmp_path / "ckpt"

    class Stop(Exception):
        pass

    def stop_after_three(done: int, total: int) -> None:
        if done == 3:
            raise Stop

    with pytest.raises(Stop):
        RadiusTable.build(
            **TINY,
            chunk_size=3,
            checkpoint=ckpt,
            on_chunk=stop_after_three,
        )
    assert len(list(ckpt.glob("chunk_*.npz"))) == 3
    progress = []
    tab = RadiusTable.build(
        **TINY,
        chunk_size=3,
        checkpoint=ckpt,
        on_chunk=lambda d, t: progress.append((d, t)),
    )
    n = tab.metadata["build"]["n_chunks"]
    assert tab.metadata["build"]["computed_chunks"] == list(range(3, n))
    assert progress == [(d, n) for d in range(4, n + 1)]
    ref = RadiusTable.build(**TINY)
    np.testing.assert_array_equal(tab.values, ref.values)


def test_tampered_checkpoint_chunk_is_refused(tmp_path):
    ckpt = tmp_path / "ckpt"
    ref = RadiusTable.build(**TINY, chunk_size=4, checkpoint=ckpt)
    assert ref.verify().ok
    chunk = ckpt / "chunk_000003.npz"
    with np.load(chunk) as f:
        data = {k: f[k] for k in f.files}
    np.savez(chunk, **dict(data, radius=data["radius"] * 1.25))
    with pytest.raises(TableBuildError, match=r"chunk_000003\.npz: \d+ of 4 cells fail verif"):
        RadiusTable.build(**TINY, chunk_size=4, checkpoint=ckpt)
    # Deleting the file, as the message says, recomputes it.
    chunk.unlink()
    tab = RadiusTable.build(**TINY, chunk_size=4, checkpoint=ckpt)
    assert tab.metadata["build"]["computed_chunks"] == [3]
    np.testing.assert_array_equal(tab.values, ref.values)
    np.testing.assert_array_equal(tab.lam, ref.lam)


# ------------------------------------------------------------------------------ executors


def test_build_on_a_process_pool_gives_the_default_table():
    # Any concurrent.futures.Executor; processes are spawned (forking a process whose Numba
    # threads run is unsafe).
    ref = RadiusTable.build(**TINY, chunk_size=4)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=spawn) as pool:
        tab = RadiusTable.build(**TINY, executor=pool, chunk_size=4, numba_threads=1)
    build = tab.metadata["build"]
    assert build["scheduler"] == "ProcessPoolExecutor"
    assert build["computed_chunks"] == list(range(build["n_chunks"]))
    for name in ("values", "status", "lam", "lookup_values"):
        np.testing.assert_array_equal(getattr(tab, name), getattr(ref, name))
    assert tab.verify().ok


def test_interrupted_build_on_a_thread_pool_resumes(tmp_path):
    ref = RadiusTable.build(**TINY, chunk_size=3)
    if numba.threading_layer() == "workqueue":
        pytest.skip("Numba's workqueue threading layer is not thread-safe")
    ckpt = tmp_path / "ckpt"

    class Stop(Exception):
        pass

    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise Stop

    with ThreadPoolExecutor(2) as pool:
        with pytest.raises(Stop):
            RadiusTable.build(
                **TINY, executor=pool, chunk_size=3, checkpoint=ckpt, on_chunk=stop_after_two
            )
        assert len(list(ckpt.glob("chunk_*.npz"))) == 2  # only finished chunks are saved
        tab = RadiusTable.build(**TINY, executor=pool, chunk_size=3, checkpoint=ckpt)
    assert tab.metadata["build"]["scheduler"] == "ThreadPoolExecutor"
    assert tab.metadata["build"]["chunks_from_checkpoint"] == 2
    np.testing.assert_array_equal(tab.values, ref.values)
    np.testing.assert_array_equal(tab.lam, ref.lam)


def test_build_needs_an_executor_or_nothing():
    with pytest.raises(TypeError, match=r"concurrent\.futures\.Executor .*get_executor"):
        RadiusTable.build(**TINY, executor=object())


@pytest.mark.parametrize(
    "removed",
    [{"scheduler": "synchronous"}, {"n_workers": 2}, {"scheduler": None, "n_workers": 2}],
)
def test_dask_options_were_removed_with_a_pointer_to_executor(removed):
    # The solver no longer knows Dask: scheduler= / n_workers= say what to pass instead.
    with pytest.raises(TypeError, match=r"no longer takes .*executor=.*hocert\.cluster"):
        RadiusTable.build(**TINY, **removed)
    with ThreadPoolExecutor(1) as pool, pytest.raises(TypeError, match="no longer takes"):
        RadiusTable.build(**TINY, executor=pool, **removed)


def test_build_does_not_import_dask():
    code = (
        "import sys; from hocert_solver import RadiusTable; "
        "RadiusTable.build([0.6, 0.9], [0.0, 0.5], [0.0, 0.5]); "
        "print(sorted({'dask', 'distributed', 'hocert'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
