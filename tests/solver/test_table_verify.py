"""Verification (hocert_solver._table_verify): every stored radius re-proved, on load too."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from hocert_solver import ABSTAIN, FALLBACK, cohen_radius, max_gradient_norm
from hocert_solver.table import SKIPPED, RadiusTable, TableVerification, TableVerificationError
from tests.solver.table_helpers import refused, rewrite, small_table


@pytest.fixture(scope="module")
def table() -> RadiusTable:
    return small_table()


# ------------------------------------------------------------------------------ verification
# A table is shared and downloaded: load() re-proves every stored radius from the file's own
# grid and multipliers, and refuses one kind of damage after another (issue 11, part 2).


def test_an_honest_table_verifies(table, tmp_path):
    rep = table.verify()
    assert isinstance(rep, TableVerification)
    assert rep.ok
    assert rep.n_failed == 0
    assert rep.failed == ()
    assert rep.problems == ()
    assert rep.n_cells == table.values.size
    assert rep.n_checked == int(np.count_nonzero(table.status != SKIPPED))
    assert rep.seconds >= 0.0
    assert "all proved" in rep.describe()
    # Every first-order cell carries its witness multipliers; the others need none.
    lam = table.lam
    assert lam is not None
    assert lam.shape == (*table.shape, 3)
    assert np.isnan(lam[table.status == SKIPPED]).all()
    assert np.isnan(lam[0]).all()  # q = 1/2: abstain
    first_order = np.isfinite(table.values) & (table.values > table.z[:, None, None])
    assert (np.isfinite(lam[..., 2]) | (table.b[None, None, :] == 0.0))[first_order].all()
    with pytest.raises(ValueError, match="read-only"):
        lam[1, 0, 0, 0] = 1.0
    path = tmp_path / "t.npz"
    table.save(path)
    back = RadiusTable.load(path)
    np.testing.assert_array_equal(back.lam, lam)
    assert back.verify().ok
    import hocert_solver

    assert hocert_solver.TableVerificationError is TableVerificationError
    assert issubclass(TableVerificationError, ValueError)


def test_values_raised_by_ten_percent_are_refused(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    rewrite(path, tmp_path / "raised.npz", values=table.values * 1.1)
    raised = refused(tmp_path / "raised.npz", r"fails verification: .* radius not proved")
    rep = raised.verify()
    finite = np.isfinite(table.values) & (table.values > 0.0)  # Cohen's radii too
    # Cells that binary64 puts on the disk's boundary but lie inside it hold the radius of the
    # point pulled inward (FALLBACK), far below their true radius: raised by 10% some of them
    # are still proved, and rightly so. Every other raised cell fails.
    on_edge = np.hypot(np.maximum(table.a, 0.0)[:, None], table.b[None, :]) >= 1.0 - 1e-12
    pulled = finite & on_edge[None] & (table.status == FALLBACK)
    assert np.count_nonzero(finite & ~pulled) <= rep.n_failed <= np.count_nonzero(finite)
    assert rep.n_failed > np.count_nonzero(finite) - np.count_nonzero(pulled) / 4
    assert len(rep.failed) == 10
    i, j, k = rep.failed[0]
    assert finite[i, j, k]
    # The opt-out serves what the file says: the raised radii.
    q, m1, m2 = table.q[5], -0.5 * table.big_m[5], 0.5 * table.big_m[5]
    assert raised.lookup(q, m1, m2) == pytest.approx(1.1 * table.lookup(q, m1, m2))
    # One cell raised by 1e-6 relative is enough.
    vals = table.values.copy()
    vals[6, 4, 3] *= 1.0 + 1e-6
    rewrite(path, tmp_path / "one.npz", values=vals)
    one = refused(tmp_path / "one.npz", r"cells checked .*: 1 cell fails \(1 radius not")
    assert one.verify().failed == ((6, 4, 3),)


def test_relabelled_q_grid_is_refused(table, tmp_path):
    # Radii computed for the q grid, labelled with smaller q (and a big_m that matches the
    # labels): lookups would be up to 2x too high.
    path = tmp_path / "t.npz"
    table.save(path)
    q = special.ndtr(0.8 * special.ndtri(table.q))
    rewrite(path, tmp_path / "relabelled.npz", q=q, big_m=max_gradient_norm(q))
    bad = refused(tmp_path / "relabelled.npz", "fails verification")
    assert bad.verify().n_failed > 0.9 * np.count_nonzero(table.values > table.z[:, None, None])


def test_big_m_that_does_not_match_q_is_refused(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    rewrite(path, tmp_path / "big_m.npz", big_m=table.big_m * (1.0 + 1e-9))
    # A structural check: the opt-out does not skip it.
    for verify in (True, False):
        with pytest.raises(TableVerificationError, match="big_m must equal max_gradient_norm"):
            RadiusTable.load(tmp_path / "big_m.npz", verify=verify)
    # Within 1e-12 relative it is rounding: accepted, and the lookups use the stored one.
    rewrite(path, tmp_path / "close.npz", big_m=table.big_m * (1.0 + 1e-13))
    assert RadiusTable.load(tmp_path / "close.npz").verify().ok


def test_tampered_multipliers_are_refused(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    lam = np.array(table.lam)
    # (a) multipliers off their maximiser: the witness no longer reaches 1/2 at the radius.
    bad = lam.copy()
    bad[..., 2] *= 2.0
    rewrite(path, tmp_path / "lam.npz", lam=bad)
    refused(tmp_path / "lam.npz", "radius not proved")
    # (b) raised values that come with genuine multipliers of the larger radius of a
    # neighbouring cell (b one step up): a witness for other inputs proves nothing here.
    vals = table.values.copy()
    fake = lam.copy()
    vals[:, :, :-1] = np.fmax(table.values[:, :, :-1], table.values[:, :, 1:])
    fake[:, :, :-1] = table.lam[:, :, 1:]
    fake[np.isnan(vals)] = np.nan
    rewrite(path, tmp_path / "fake.npz", values=vals, lam=fake)
    rep = refused(tmp_path / "fake.npz", "radius not proved").verify()
    assert rep.n_failed > 0.5 * np.count_nonzero(vals > table.values)
    # (c) a multiplier that is negative (weak duality needs lam >= 0).
    neg = lam.copy()
    neg[7, 3, 4, 1] = -neg[7, 3, 4, 1] - 1.0
    rewrite(path, tmp_path / "neg.npz", lam=neg)
    assert refused(tmp_path / "neg.npz", "radius not proved").verify().failed == ((7, 3, 4),)


def test_infinite_radius_off_the_boundary_and_abstain_row_are_refused(table, tmp_path):
    path = tmp_path / "t.npz"
    table.save(path)
    vals = table.values.copy()
    vals[4, 2, 2] = np.inf  # (a, b) = (-0.75, 0.25): deep inside the disk
    rewrite(path, tmp_path / "inf.npz", values=vals)
    rep = refused(tmp_path / "inf.npz", r"\+inf not proved on the boundary").verify()
    assert rep.failed == ((4, 2, 2),)
    # On the boundary in binary64 but inside it (by ball arithmetic): +inf is refused there
    # too; such cells hold the radius of the point pulled inward (issue 11).
    on_edge = np.hypot(np.maximum(table.a, 0.0)[:, None], table.b[None, :]) >= 1.0 - 1e-12
    inside = np.argwhere(on_edge[None] & (table.status == FALLBACK) & np.isfinite(table.values))
    assert inside.size
    i, j, k = inside[0]
    vals = table.values.copy()
    vals[i, j, k] = np.inf
    rewrite(path, tmp_path / "inf_edge.npz", values=vals)
    rep = refused(tmp_path / "inf_edge.npz", r"\+inf not proved on the boundary").verify()
    assert rep.failed == ((int(i), int(j), int(k)),)
    vals = table.values.copy()
    vals[0, 3, 3] = 0.1  # q = 1/2 abstains: radius 0
    rewrite(path, tmp_path / "abstain.npz", values=vals)
    refused(tmp_path / "abstain.npz", "abstain")
    status = table.status.copy()
    status[3, 3, 3] = ABSTAIN
    rewrite(path, tmp_path / "status.npz", status=status)
    refused(tmp_path / "status.npz", "abstain")
    # +inf on the boundary, radius 0 and Cohen's radius need no witness.
    vals = table.values.copy()
    vals[5, 2, 3] = 0.0
    vals[5, 2, 4] = float(cohen_radius(table.q[5]))
    rewrite(path, tmp_path / "lower.npz", values=vals)
    assert RadiusTable.load(tmp_path / "lower.npz").verify().ok


def test_lookup_arrays_are_checked_against_the_values(table):
    tab = RadiusTable(table.q, table.a, table.b, table.values, table.status, lam=table.lam)
    assert tab.verify().ok
    tab._index.values_flat[100] += 1.0  # what the lookup kernel reads
    rep = tab.verify()
    assert not rep.ok
    assert rep.n_failed == 0
    assert rep.problems == ("the lookup values read by lookups differs from the one derived",)
