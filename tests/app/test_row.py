"""One input's row of a certify run (hocert/_row.py)."""

from __future__ import annotations

from hocert import _row


def test_solver_status_field():
    assert _row.solver_status_field({}) == "abstain"
    assert _row.solver_status_field({"l2": "converged", "l1": "converged"}) == "converged"
    field = _row.solver_status_field({"l2": "converged", "l1": "fallback", "linf": "inconsistent"})
    assert field == "l1=fallback,linf=inconsistent"


def test_input_seed_depends_on_the_run_seed_and_the_input_only():
    seeds = {_row.input_seed(seed, idx) for seed in range(3) for idx in range(50)}
    assert len(seeds) == 150
    assert _row.input_seed(7, 3) == _row.input_seed(7, 3)
    assert 0 <= _row.input_seed(0, 0) < 2**64


def test_result_columns():
    assert _row.result_columns([]) == [
        *_row.BASE_COLUMNS,
        "solver_status",
        "correct",
        "time",
        "params_hash",  # filled in by ResultsFile.write_row
    ]
    columns = _row.result_columns(["channel0", "channel1"])
    assert columns[len(_row.BASE_COLUMNS) : -4] == ["radius_channel0", "radius_channel1"]


def test_certify_params_as_dict_round_trips():
    params = _row.CertifyParams(
        sigma=0.25,
        n0=10,
        n=100,
        alpha=0.001,
        batch=50,
        subspaces=None,
        seed=0,
        num_classes=10,
        backend="numpy",
    )
    assert _row.CertifyParams(**params.as_dict()) == params
    assert params.as_dict()["verify"] is False


def test_every_registered_threat_model_has_its_result_columns():
    """The columns come from the threat-model registry, and a row fills every one of them."""
    import numpy as np

    from hocert_sampling.smoothing import Certificate
    from hocert_sampling.threat_models import THREAT_MODELS

    columns = _row.result_columns(["channel0"])
    for model in THREAT_MODELS:
        wanted = [model.column("channel0")] if model.per_subspace else [model.column()]
        assert set(wanted) <= set(columns), model.name
    cert = Certificate(
        prediction=1,
        abstained=False,
        p_a_lower=0.9,
        radius_cohen=0.3,
        radius_l2=0.31,
        radius_l1=0.4,
        radius_linf=0.05,
        radius_subspace={"channel0": 0.5},
        solver_status={"l2": "converged"},
    )
    row = _row._row(3, 1, cert, 0.25)
    assert [*row, "params_hash"] == columns
    assert (row["radius_l1"], row["radius_channel0"], row["radius_cohen"]) == (0.4, 0.5, 0.3)
    assert np.isfinite([row[c] for c in columns if c.startswith("radius_")]).all()
