"""Table files and checkpoints (hocert_solver._table_io): save/load, formats, damage."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hocert_solver.table import TABLE_FORMAT_VERSION, RadiusTable, TableBuildError
from tests.solver.table_helpers import TINY, random_feasible, refused, rewrite, small_table


@pytest.fixture(scope="module")
def table() -> RadiusTable:
    return small_table()


# ------------------------------------------------------------------------------ save / load


def test_save_load_round_trip(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    back = RadiusTable.load(path)
    for name in ("q", "a", "b", "big_m", "values", "status", "lookup_values"):
        np.testing.assert_array_equal(getattr(back, name), getattr(table, name))
    meta = back.metadata
    assert meta["format_version"] == TABLE_FORMAT_VERSION
    for key in ("solver_version", "solver_tolerance", "coordinates", "created", "build"):
        assert key in meta
    rng = np.random.default_rng(5)
    q, m1, m2 = random_feasible(rng, 500)
    np.testing.assert_array_equal(back.lookup(q, m1, m2), table.lookup(q, m1, m2))
    assert "RadiusTable(q: 17" in repr(back)
    assert RadiusTable.load(path, strict_solver_version=True).shape == table.shape


def test_load_refuses_other_formats(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    rewrite(path, tmp_path / "v3.npz", meta={"format_version": TABLE_FORMAT_VERSION + 1})
    with pytest.raises(ValueError, match="format version 3; this hocert reads versions 1, 2"):
        RadiusTable.load(tmp_path / "v3.npz")
    rewrite(path, tmp_path / "other.npz", meta={"format": "something else"})
    with pytest.raises(ValueError, match="not a hocert RadiusTable file"):
        RadiusTable.load(tmp_path / "other.npz")
    np.savez(tmp_path / "plain.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match=r"not a hocert RadiusTable file \(missing"):
        RadiusTable.load(tmp_path / "plain.npz")
    rewrite(path, tmp_path / "old.npz", meta={"solver_version": "0.0.0"})
    assert RadiusTable.load(tmp_path / "old.npz").metadata["solver_version"] == "0.0.0"
    with pytest.raises(ValueError, match=r"built by solver version '0\.0\.0'"):
        RadiusTable.load(tmp_path / "old.npz", strict_solver_version=True)
    vals = table.values.copy()
    vals[3, 1, 1] = -1.0
    rewrite(path, tmp_path / "bad.npz", values=vals)
    with pytest.raises(ValueError, match="must be >= 0"):
        RadiusTable.load(tmp_path / "bad.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match=r"not a hocert RadiusTable file \(not an \.npz"):
        RadiusTable.load(tmp_path / "junk.npz")


def test_truncated_or_corrupted_file_is_a_clear_value_error(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cannot read RadiusTable file"):
        RadiusTable.load(tmp_path / "cut.npz")
    # One byte flipped inside the stored values (the archive's CRC catches it).
    offset = data.index(table.values.tobytes()[:64]) + 8
    flipped = bytearray(data)
    flipped[offset] ^= 0x40
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=r"cannot read RadiusTable file .*CRC"):
        RadiusTable.load(tmp_path / "flipped.npz", verify=False)


def test_format_version_1_without_multipliers(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    with np.load(path) as f:
        data = {k: f[k] for k in f.files if k != "lam"}
    meta = json.loads(str(data["metadata"]))
    meta["format_version"] = 1
    data["metadata"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "v1.npz", **data)
    old = refused(tmp_path / "v1.npz", r"holds no witness multipliers .*verify=False")
    assert old.lam is None
    rep = old.verify()
    assert rep.n_failed > 0
    assert all("no multipliers" in reason for reason in rep.reasons)
    np.testing.assert_array_equal(old.lookup_values, table.lookup_values)
    # Saved again it stays version 1 (no multipliers to write).
    old.save(tmp_path / "again.npz")
    with np.load(tmp_path / "again.npz") as f:
        assert "lam" not in f.files
        assert json.loads(str(f["metadata"]))["format_version"] == 1


# ------------------------------------------------------------------------------ checkpoints


def test_checkpoint_for_another_build_is_refused(tmp_path):
    ckpt = tmp_path / "ckpt"
    RadiusTable.build(**TINY, chunk_size=4, checkpoint=ckpt)
    other = dict(TINY, b=[0.0, 0.25, 1.0])
    with pytest.raises(TableBuildError, match=r"made for a different grid"):
        RadiusTable.build(**other, chunk_size=4, checkpoint=ckpt)
    with pytest.raises(TableBuildError, match=r"chunk_size=4 \(requested: 5\)"):
        RadiusTable.build(**TINY, chunk_size=5, checkpoint=ckpt)
    manifest = json.loads((ckpt / "manifest.json").read_text())
    manifest["solver_version"] = "0.0.0"
    (ckpt / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TableBuildError, match=r"solver version '0.0.0' \(installed:"):
        RadiusTable.build(**TINY, chunk_size=4, checkpoint=ckpt)
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "chunk_000000.npz").write_bytes(b"")
    with pytest.raises(TableBuildError, match=r"no manifest\.json"):
        RadiusTable.build(**TINY, checkpoint=stray)


def test_corrupt_chunk_is_recomputed_with_a_warning(tmp_path):
    ckpt = tmp_path / "ckpt"
    RadiusTable.build(**TINY, chunk_size=4, checkpoint=ckpt)
    (ckpt / "chunk_000002.npz").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable") as record:
        tab = RadiusTable.build(**TINY, chunk_size=4, checkpoint=ckpt)
    assert tab.metadata["build"]["computed_chunks"] == [2]
    assert record[0].filename == __file__  # the warning points at the call of build()
