"""Certifying a data set input by input (hocert/runner.py)."""

from __future__ import annotations

from hocert import runner


def test_solver_status_field():
    assert runner.solver_status_field({}) == "abstain"
    assert runner.solver_status_field({"l2": "converged", "l1": "converged"}) == "converged"
    field = runner.solver_status_field(
        {"l2": "converged", "l1": "fallback", "linf": "inconsistent"}
    )
    assert field == "l1=fallback,linf=inconsistent"


def test_input_seed_depends_on_the_run_seed_and_the_input_only():
    seeds = {runner.input_seed(seed, idx) for seed in range(3) for idx in range(50)}
    assert len(seeds) == 150
    assert runner.input_seed(7, 3) == runner.input_seed(7, 3)
    assert 0 <= runner.input_seed(0, 0) < 2**64


def test_result_columns():
    assert runner.result_columns([]) == [
        *runner.BASE_COLUMNS,
        "solver_status",
        "correct",
        "time",
        "params_hash",  # filled in by ResultsFile.write_row
    ]
    columns = runner.result_columns(["channel0", "channel1"])
    assert columns[len(runner.BASE_COLUMNS) : -4] == ["radius_channel0", "radius_channel1"]


def test_certify_params_as_dict_round_trips():
    params = runner.CertifyParams(
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
    assert runner.CertifyParams(**params.as_dict()) == params
    assert params.as_dict()["verify"] is False


def test_every_registered_threat_model_has_its_result_columns():
    """The columns come from the threat-model registry, and a row fills every one of them."""
    import numpy as np

    from hocert_sampling.smoothing import Certificate
    from hocert_sampling.threat_models import THREAT_MODELS

    columns = runner.result_columns(["channel0"])
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
    row = runner._row(3, 1, cert, 0.25)
    assert [*row, "params_hash"] == columns
    assert (row["radius_l1"], row["radius_channel0"], row["radius_cohen"]) == (0.4, 0.5, 0.3)
    assert np.isfinite([row[c] for c in columns if c.startswith("radius_")]).all()


def test_worker_model_cache_is_per_user_private_and_unpredictable(tmp_path, monkeypatch):
    import hashlib
    import os
    import stat
    import tempfile

    import pytest

    from hocert._errors import HocertError
    from hocert.examples import load_example

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(runner, "_WORKER_CACHE", [])
    monkeypatch.setattr(runner, "_WORKER_MODELS", {})
    first = runner.worker_cache_dir()
    assert first.parent == tmp_path / f"hocert-{os.getuid()}"
    assert stat.S_IMODE(first.stat().st_mode) == 0o700
    assert stat.S_IMODE(first.parent.stat().st_mode) == 0o700
    model_bytes = load_example()[0].read_bytes()
    digest = hashlib.sha256(model_bytes).hexdigest()
    runner._worker_model(model_bytes, digest, 10, "numpy")
    assert [p.name for p in first.iterdir()] == [f"model-{digest}.onnx"]
    monkeypatch.setattr(runner, "_WORKER_CACHE", [])
    assert runner.worker_cache_dir() != first  # a fresh mkdtemp name per process
    other = tmp_path / "elsewhere"
    monkeypatch.setattr(tempfile, "tempdir", str(other))
    other.mkdir()
    (other / f"hocert-{os.getuid()}").symlink_to(tmp_path)  # planted by someone else
    monkeypatch.setattr(runner, "_WORKER_CACHE", [])
    with pytest.raises(HocertError, match="not a directory of this user"):
        runner.worker_cache_dir()
