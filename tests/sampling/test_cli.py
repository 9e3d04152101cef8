"""The ``hocert`` command line: end-to-end runs, resume, errors and exit codes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import hocert_solver
from hocert_sampling import cli, runner
from hocert_sampling.examples import load_example
from hocert_sampling.models import ModelError
from hocert_sampling.results import meta_path, read_meta, read_results

from .helpers import fail_lower_norm_bounds

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Tiny sample sizes: the tests check the plumbing, not the statistics.
FAST = ["--n", "200", "--n0", "20", "--batch", "200", "--quiet"]
TINY_GRID = ["--z-grid", "0:3:7", "--a-grid=-1:1:5", "--b-grid", "0:1:3", "--quiet"]


def run(*argv: str) -> int:
    return cli.main(list(argv))


def certify(out: Path, *extra: str) -> int:
    return run("certify", "--out", str(out), *FAST, *extra)


def rows_without_time(path: Path) -> list[list[str]]:
    """Data rows sorted by idx, without the (wall-clock) time column."""
    lines = path.read_text().splitlines()
    header = lines[0].split("\t")
    keep = [i for i, name in enumerate(header) if name != "time"]
    rows = [[line.split("\t")[i] for i in keep] for line in lines[1:]]
    return sorted(rows, key=lambda r: int(r[0]))


def hocert_subprocess(*argv: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hocert_sampling.cli", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run on the first 4 example inputs."""
    out = tmp_path_factory.mktemp("ref") / "ref.tsv"
    assert certify(out, "--max", "4") == 0
    return out


# ---------------------------------------------------------------------------------------------
# General
# ---------------------------------------------------------------------------------------------


def test_version(capsys):
    assert run("--version") == 0
    assert capsys.readouterr().out.strip() == f"hocert {hocert_solver.__version__}"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["certify"],
        ["radius"],
        ["table"],
        ["table", "build"],
        ["table", "query"],
        ["plot"],
        ["summary"],
        ["slice"],
    ],
)
def test_help_has_examples_and_exit_codes(argv, capsys):
    assert run(*argv, "--help") == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert "130" in out


def test_no_command_is_a_usage_error(capsys):
    assert run() == 2
    assert "COMMAND" in capsys.readouterr().err
    assert run("table") == 2
    assert "subcommand is required" in capsys.readouterr().err
    assert run("frobnicate") == 2


def test_end_to_end_certify_and_plot_subprocess(tmp_path):
    proc = hocert_subprocess("certify", "--max", "3", "--n", "200", "--n0", "20", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "hocert_results.tsv"  # the default output path
    frame, meta = read_results(out)
    assert frame["idx"].tolist() == [0, 1, 2]
    radii = ["radius_cohen", "radius_l2", "radius_l1", "radius_linf"]
    assert list(frame.columns) == [
        "idx",
        "label",
        "predict",
        "p_a_lower",
        *radii,
        "solver_status",
        "correct",
        "time",
    ]
    assert meta["d"] == 64
    assert meta["params"]["sigma"] == 0.25  # the bundled model's sigma by default
    assert "certify" in proc.stderr  # the progress bar

    proc = hocert_subprocess("plot", str(out), "--out", "fig.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = (tmp_path / "fig.png").read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 1000


# ---------------------------------------------------------------------------------------------
# certify: rows, resume, parameters
# ---------------------------------------------------------------------------------------------


def test_certify_rows_are_consistent(reference):
    frame, meta = read_results(reference)
    _, _, y = load_example()
    assert frame["idx"].tolist() == [0, 1, 2, 3]
    assert frame["label"].tolist() == y[:4].tolist()
    assert (frame["correct"] == (frame["predict"] == frame["label"])).all()
    ok = frame["predict"] >= 0
    assert (frame.loc[ok, "radius_cohen"] > 0).all()
    assert (frame.loc[~ok, ["radius_l2", "radius_l1", "radius_linf"]] == 0).all().all()
    assert (frame["radius_linf"] <= frame["radius_l2"]).all()
    assert (frame.loc[~ok, "solver_status"] == "abstain").all()
    assert frame.loc[ok, "solver_status"].str.fullmatch(r"converged|((l2|l1|linf)=\w+,?)+").all()
    assert meta["params"]["n"] == 200
    assert meta["params"]["seed"] == 0
    assert len(meta["params"]["model_sha256"]) == 64


@pytest.mark.parametrize("cut", ["mid_line", "newline_only", "short_row", "two_rows"])
def test_resume_after_interrupt_gives_identical_rows(reference, tmp_path, cut, capsys):
    out = tmp_path / "r.tsv"
    full = reference.read_bytes()
    lines = full.splitlines(keepends=True)
    if cut == "mid_line":
        damaged = b"".join(lines[:-1]) + lines[-1][:7]
    elif cut == "newline_only":
        damaged = full[:-1]
    elif cut == "short_row":
        damaged = b"".join(lines[:-1]) + b"3\t4\t-1\n"
    else:
        damaged = b"".join(lines[:-2])
    out.write_bytes(damaged)
    meta_path(out).write_bytes(meta_path(reference).read_bytes())

    assert certify(out, "--max", "4") == 0
    assert rows_without_time(out) == rows_without_time(reference)
    err = capsys.readouterr().err
    assert ("incomplete last line" in err) == (cut != "two_rows")


def test_resume_by_set_of_idx_and_extension(reference, tmp_path):
    out = tmp_path / "r.tsv"
    lines = reference.read_text().splitlines(keepends=True)
    out.write_text(lines[0] + lines[3] + lines[1])  # idx 2 and 0, out of order (as from Dask)
    meta_path(out).write_bytes(meta_path(reference).read_bytes())
    assert certify(out, "--max", "4") == 0
    assert rows_without_time(out) == rows_without_time(reference)
    # --max and --skip only choose the inputs: extending a run is a resume, not a mismatch
    assert certify(out, "--max", "3", "--skip", "2") == 0
    frame, _ = read_results(out)
    assert frame["idx"].tolist() == [0, 1, 2, 3, 4]
    assert frame["idx"].is_unique


def test_parameter_mismatch_is_refused(reference, tmp_path, capsys):
    out = tmp_path / "r.tsv"
    out.write_bytes(reference.read_bytes())
    meta_path(out).write_bytes(meta_path(reference).read_bytes())
    for extra in (["--n", "300"], ["--seed", "1"], ["--sigma", "0.5"], ["--alpha", "0.01"]):
        assert run("certify", "--out", str(out), *FAST, "--max", "4", *extra) == 2
        err = capsys.readouterr().err
        assert "refusing to resume" in err
        assert "--force" in err
    assert out.read_bytes() == reference.read_bytes()
    assert run("certify", "--out", str(out), *FAST, "--max", "1", "--n", "300", "--force") == 0
    frame, meta = read_results(out)
    assert frame["idx"].tolist() == [0]
    assert meta["params"]["n"] == 300


def test_corrupted_file_is_refused(reference, tmp_path, capsys):
    out = tmp_path / "r.tsv"
    lines = reference.read_text().splitlines(keepends=True)
    out.write_text(lines[0] + "junk\n" + "".join(lines[2:]))
    meta_path(out).write_bytes(meta_path(reference).read_bytes())
    assert certify(out, "--max", "4") == 2
    assert "malformed row" in capsys.readouterr().err
    meta_path(out).unlink()
    out.write_bytes(reference.read_bytes())
    assert certify(out, "--max", "4") == 2
    assert "meta.json" in capsys.readouterr().err


def test_seed_changes_rows(reference, tmp_path):
    out = tmp_path / "r.tsv"
    assert certify(out, "--max", "4", "--seed", "7") == 0
    assert rows_without_time(out) != rows_without_time(reference)


def test_subspaces_channels_adds_a_column(tmp_path):
    out = tmp_path / "r.tsv"
    assert certify(out, "--max", "2", "--subspaces", "channels") == 0
    frame, meta = read_results(out)
    assert "radius_channel0" in frame.columns
    assert meta["subspace_names"] == ["channel0"]
    assert meta["params"]["subspaces"] == "channels"
    # one channel spans the whole input: the subspace radius is an l2 radius
    assert (frame["radius_channel0"] >= 0).all()


def test_inconsistent_bounds_are_recorded_in_the_row(tmp_path, monkeypatch):
    fail_lower_norm_bounds(monkeypatch)
    out = tmp_path / "r.tsv"
    assert certify(out, "--max", "3", "--subspaces", "channels") == 0
    frame, _ = read_results(out)
    ok = frame["predict"] >= 0
    assert ok.any()
    expected = "l1=inconsistent,linf=inconsistent,subspace:channel0=inconsistent"
    assert (frame.loc[ok, "solver_status"] == expected).all()
    assert np.isfinite(frame[["radius_l1", "radius_linf", "radius_channel0"]].to_numpy()).all()
    # The summary reads such a file.
    assert run("summary", str(out)) == 0


def test_solver_status_field():
    assert runner.solver_status_field({}) == "abstain"
    assert runner.solver_status_field({"l2": "converged", "l1": "converged"}) == "converged"
    field = runner.solver_status_field(
        {"l2": "converged", "l1": "fallback", "linf": "inconsistent"}
    )
    assert field == "l1=fallback,linf=inconsistent"


def test_custom_model_and_data(tmp_path):
    model, x, y = load_example()
    data = tmp_path / "d.npz"
    np.savez(data, x=x[10:13], y=y[10:13])
    out = tmp_path / "r.tsv"
    argv = ["--model", str(model), "--data", str(data), "--sigma", "0.25"]
    assert certify(out, *argv, "--num-classes", "10") == 0
    frame, meta = read_results(out)
    assert frame["label"].tolist() == y[10:13].tolist()
    assert meta["data"] == str(data.resolve())
    assert certify(tmp_path / "bad.tsv", *argv, "--num-classes", "7") == 2


def test_interrupt_exits_130_and_keeps_rows(tmp_path, monkeypatch, capsys):
    real = runner.certify_row
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "certify_row", interrupted)
    out = tmp_path / "r.tsv"
    assert certify(out, "--max", "4") == 130
    assert "interrupted" in capsys.readouterr().err
    frame, _ = read_results(out)
    assert frame["idx"].tolist() == [0, 1]


def test_runtime_failure_exits_1(tmp_path, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise ModelError("the model raised on a batch")

    monkeypatch.setattr(runner, "certify_row", broken)
    assert certify(tmp_path / "r.tsv", "--max", "2") == 1
    err = capsys.readouterr().err
    assert "model error" in err
    assert "Traceback" not in err


def test_sigint_subprocess_keeps_finished_rows(tmp_path):
    argv = [sys.executable, "-m", "hocert_sampling.cli", "certify", "--n", "20000", "--n0", "20"]
    argv += ["--max", "150", "--out", "r.tsv", "--quiet"]
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = tmp_path / "r.tsv"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.exists() and out.read_text().count("\n") >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    frame, _ = read_results(out)
    assert 2 <= len(frame) < 150
    assert frame["idx"].tolist() == list(range(len(frame)))
    assert out.read_bytes().endswith(b"\n")


# ---------------------------------------------------------------------------------------------
# certify: bad input
# ---------------------------------------------------------------------------------------------


def bad_data(tmp_path: Path, **arrays: np.ndarray) -> str:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "missing.onnx", "--sigma", "1"], "model file not found"),
        (["--data", "missing.npz"], "data file not found"),
        (["--model", "__TMP__/junk.onnx", "--sigma", "1"], "cannot load the ONNX model"),
        (["--data", "__TMP__/junk.onnx"], "cannot read"),
        (["--model", "__MODEL__"], "--sigma is required"),
        (["--out", "__TMP__/no/such/dir/r.tsv"], "does not exist"),
        (["--out", "__TMP__"], "is a directory"),
    ],
)
def test_certify_bad_paths(tmp_path, argv, message, capsys):
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    model = str(load_example()[0])
    argv = [a.replace("__TMP__", str(tmp_path)).replace("__MODEL__", model) for a in argv]
    assert run("certify", *FAST, "--max", "1", *argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_certify_bad_data(tmp_path, capsys):
    _, x, y = load_example()
    cases = [
        ({"x": x[:3]}, "no array(s) ['y']"),
        ({"x": x[:3], "y": y[:2]}, "y must have shape (3,)"),
        ({"x": x[:3].reshape(3, 8, 8), "y": y[:3]}, "the model expects inputs of shape"),
        ({"x": x[:3, :, :4], "y": y[:3]}, "the model expects inputs of shape"),
        ({"x": x[:3], "y": y[:3] + 0.5}, "integer labels"),
        ({"x": np.full_like(x[:3], np.nan), "y": y[:3]}, "NaN"),
        ({"x": x[:0], "y": y[:0]}, "empty"),
    ]
    for arrays, message in cases:
        assert run("certify", *FAST, "--data", bad_data(tmp_path, **arrays)) == 2
        assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--alpha", "1.5"],
        ["--alpha", "0"],
        ["--n", "1"],
        ["--n0", "0"],
        ["--sigma", "-1"],
        ["--sigma", "nan"],
        ["--batch", "x"],
        ["--skip", "0"],
        ["--subspaces", "rows"],
        ["--backend", "tpu"],
        ["--num-classes", "1"],
    ],
)
def test_certify_bad_values_are_usage_errors(argv, tmp_path, capsys):
    assert run("certify", "--out", str(tmp_path / "r.tsv"), *argv) == 2
    assert "error" in capsys.readouterr().err
    assert not (tmp_path / "r.tsv").exists()


# ---------------------------------------------------------------------------------------------
# certify on Dask
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scheduler_address():
    """A small in-process Dask cluster for the --scheduler tests."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def test_certify_on_dask_matches_local_and_resumes(reference, scheduler_address, tmp_path):
    out = tmp_path / "dask.tsv"
    argv = ["--max", "4", "--scheduler", scheduler_address]
    assert certify(out, *argv) == 0
    assert rows_without_time(out) == rows_without_time(reference)
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:3]) + lines[3][:5])  # two rows and a cut-short one
    assert certify(out, *argv) == 0
    assert rows_without_time(out) == rows_without_time(reference)
    assert read_meta(out)["params"] == read_meta(reference)["params"]


def test_table_build_on_dask(tiny_table, scheduler_address, tmp_path, capsys):
    out = tmp_path / "t.npz"
    argv = ["--out", str(out), *TINY_GRID, "--scheduler", scheduler_address, "--chunk-size", "20"]
    assert run("table", "build", *argv) == 0
    assert "RadiusTable" in capsys.readouterr().out
    with np.load(out) as built, np.load(tiny_table) as reference:
        np.testing.assert_array_equal(built["values"], reference["values"])


def test_unreachable_scheduler_is_a_runtime_failure(tmp_path, capsys):
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    rc = certify(tmp_path / "r.tsv", "--scheduler", address, "--connect-timeout", "1")
    assert rc == 1
    assert "cannot connect to the Dask scheduler" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# radius
# ---------------------------------------------------------------------------------------------


def test_radius_text_and_json(capsys):
    assert run("radius", "0.97", "-0.6", "0.7", "--normalized") == 0
    out = capsys.readouterr().out
    assert "2.23283" in out
    assert "converged" in out
    assert run("radius", "0.97", "-0.6", "0.7", "--normalized", "--json", "--sigma", "0.5") == 0
    data = json.loads(capsys.readouterr().out)
    expected = hocert_solver.directional_radius(
        0.97,
        -0.6 * hocert_solver.max_gradient_norm(0.97),
        0.7 * hocert_solver.max_gradient_norm(0.97),
    )
    assert data["radius"] == pytest.approx(float(expected.radius), rel=1e-12)
    assert data["status"] == "converged"
    assert data["radius_input"] == pytest.approx(0.5 * data["radius"])
    assert data["nit"] >= 0
    assert data["success"] is True


def test_radius_special_values(capsys):
    assert run("radius", "0.4", "0", "0", "--json") == 0
    assert json.loads(capsys.readouterr().out)["status"] == "abstain"
    assert run("radius", "1.0", "0", "0", "--json") == 0
    assert json.loads(capsys.readouterr().out)["radius"] == "inf"
    assert run("radius", "--json", "--", "0.9", "-inf", "0") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["m1"] == "-inf"
    assert data["radius"] == pytest.approx(float(hocert_solver.cohen_radius(0.9)))


def test_radius_units_slip_exits_2_with_one_line(capsys):
    # The help's example without --normalized: m2 = 0.7 is ten times M(0.97).
    for extra in ([], ["--json"], ["--sigma", "0.25"]):
        assert run("radius", "0.97", "-0.6", "0.7", *extra) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("hocert: error: ")
        assert "outside the feasible disk" in lines[0]
        assert "contradict q" in lines[0]
        assert "did you mean --normalized" in lines[0]
    # Normalised but outside the disk: no --normalized hint, a failed bound instead.
    assert run("radius", "0.97", "0.8", "0.8", "--normalized") == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "outside the feasible disk" in err
    assert "--normalized" not in err
    # Within the 1e-12 slack: the boundary, radius inf, exit 0.
    assert run("radius", "0.97", "0", str(1 + 1e-13), "--normalized", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["radius"] == "inf"
    assert data["status"] == "converged"
    assert run("radius", "0.97", "0", str(1 + 1e-10), "--normalized") == 2
    assert "outside the feasible disk" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [["1.5", "0", "0"], ["0.9", "0", "-0.1"], ["0.9", "nan", "0"], ["0.9", "0"], ["a", "0", "0"]],
)
def test_radius_bad_values(argv, capsys):
    assert run("radius", "--", *argv) == 2
    assert "error" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# table
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("table")
    out = root / "t.npz"
    argv = ["--out", str(out), *TINY_GRID, "--scheduler", "synchronous"]
    assert run("table", "build", *argv, "--checkpoint", str(root / "ck")) == 0
    return out


def test_table_build_and_query(tiny_table, capsys):
    assert tiny_table.is_file()
    assert (tiny_table.parent / "ck" / "manifest.json").is_file()
    argv = ["table", "query", str(tiny_table), "0.97", "-0.6", "0.7", "--normalized"]
    assert run(*argv, "--json") == 0
    data = json.loads(capsys.readouterr().out)
    big_m = float(hocert_solver.max_gradient_norm(0.97))
    direct = float(hocert_solver.directional_radius(0.97, -0.6 * big_m, 0.7 * big_m).radius)
    assert 0 < data["radius"] <= direct  # a lower bound
    assert data["status"] == "converged"
    assert run(*argv) == 0
    assert "certified lower bound" in capsys.readouterr().out


def test_table_query_units_slip_exits_2_with_one_line(tiny_table, capsys):
    assert run("table", "query", str(tiny_table), "0.97", "-0.6", "0.7") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert "outside the feasible disk" in lines[0]
    assert "did you mean --normalized" in lines[0]


def test_table_query_batch_reports_inconsistent_rows(tiny_table, tmp_path, capsys):
    queries = tmp_path / "q.tsv"
    queries.write_text("q\tm1\tm2\n0.97\t-0.04\t0.04\n0.97\t-0.6\t0.7\n")
    out = tmp_path / "o.tsv"
    argv = ["table", "query", str(tiny_table), "--input", str(queries), "--output", str(out)]
    assert run(*argv) == 0
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "1 of 2 queries (first: row 2)" in err
    assert "did you mean --normalized" in err
    lines = [line.split("\t") for line in out.read_text().splitlines()]
    assert lines[1][4] == "converged"
    assert lines[2][4] == "inconsistent"
    assert float(lines[2][3]) == float(hocert_solver.cohen_radius(0.97))


def test_table_query_batch(tiny_table, tmp_path):
    queries = tmp_path / "q.tsv"
    queries.write_text("q\tm1\tm2\tname\n0.97\t-0.04\t0.04\ta\n0.9\t0.0\t0.01\tb\n0.4\t0\t0\tc\n")
    out = tmp_path / "o.tsv"
    argv = ["table", "query", str(tiny_table), "--input", str(queries), "--output", str(out)]
    assert run(*argv) == 0
    lines = [line.split("\t") for line in out.read_text().splitlines()]
    assert lines[0] == ["q", "m1", "m2", "name", "radius", "status"]
    assert [row[3] for row in lines[1:]] == ["a", "b", "c"]
    assert lines[3][4:] == ["0.0", "abstain"]
    assert float(lines[1][4]) > 0


def test_table_query_outside_and_errors(tiny_table, tmp_path, capsys):
    # m2 below the first tabulated b column is impossible here (b starts at 0); q just above
    # 1/2 but below the first grid q > 1/2 is not: the grid starts at q = 1/2. Use a table
    # whose a grid starts above -1 instead.
    table = tmp_path / "t2.npz"
    grid = ["--q-grid", "0.6,0.9", "--a-grid", "0,0.5", "--b-grid", "0,0.5"]
    assert run("table", "build", "--out", str(table), *grid, "--scheduler", "synchronous") == 0
    capsys.readouterr()
    assert run("table", "query", "--", str(table), "0.95", "-0.01", "0") == 2
    assert "outside the table" in capsys.readouterr().err
    query = ["--", str(table), "0.95", "-0.01", "0"]
    assert run("table", "query", "--on-outside", "nan", "--json", *query) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["radius"] == "nan"
    assert data["status"] == "outside"
    assert run("table", "query", str(tmp_path / "none.npz"), "0.9", "0", "0") == 2
    (tmp_path / "junk.npz").write_bytes(b"junk")
    assert run("table", "query", str(tmp_path / "junk.npz"), "0.9", "0", "0") == 2
    assert run("table", "query", str(tiny_table)) == 2
    assert run("table", "query", str(tiny_table), "0.9", "0", "0", "--input", "x.tsv") == 2
    assert run("table", "query", str(tiny_table), "--input", str(tmp_path / "none.tsv")) == 2
    (tmp_path / "q.tsv").write_text("q\tm1\n0.9\t0\n")
    assert run("table", "query", str(tiny_table), "--input", str(tmp_path / "q.tsv")) == 2
    assert "lacks the column" in capsys.readouterr().err


def test_table_query_refuses_a_tampered_table(tiny_table, tmp_path, capsys):
    # Radii raised by 10% after the build: refused with one line and exit 2 (bad input);
    # --no-verify serves them (the opt-out for huge tables).
    with np.load(tiny_table) as f:
        data = {k: f[k] for k in f.files}
    tampered = tmp_path / "tampered.npz"
    np.savez(tampered, **dict(data, values=data["values"] * 1.1))
    query = [str(tampered), "0.97", "-0.6", "0.7", "--normalized", "--json"]
    assert run("table", "query", *query) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert "refusing table" in lines[0]
    assert "fails verification" in lines[0]
    assert "--no-verify" in lines[0]
    batch = tmp_path / "q.tsv"
    batch.write_text("q\tm1\tm2\n0.97\t-0.04\t0.04\n")
    assert run("table", "query", str(tampered), "--input", str(batch)) == 2
    assert "fails verification" in capsys.readouterr().err
    assert run("table", "query", *query, "--no-verify") == 0
    raised = json.loads(capsys.readouterr().out)["radius"]
    assert run("table", "query", str(tiny_table), *query[1:]) == 0
    honest = json.loads(capsys.readouterr().out)["radius"]
    assert raised == pytest.approx(1.1 * honest)


def test_table_build_refuses_a_tampered_checkpoint_chunk(tmp_path, capsys):
    out, ckpt = tmp_path / "t.npz", tmp_path / "ck"
    argv = ["table", "build", "--out", str(out), *TINY_GRID, "--scheduler", "synchronous"]
    assert run(*argv, "--checkpoint", str(ckpt), "--chunk-size", "8") == 0
    chunk = ckpt / "chunk_000002.npz"
    with np.load(chunk) as f:
        data = {k: f[k] for k in f.files}
    np.savez(chunk, **dict(data, radius=data["radius"] * 1.25))
    capsys.readouterr()
    assert run(*argv, "--checkpoint", str(ckpt), "--chunk-size", "8") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert "chunk_000002.npz" in err[0]
    assert "fail verification" in err[0]


def test_table_build_bad_grid(tmp_path, capsys):
    out = str(tmp_path / "t.npz")
    sync = ["--scheduler", "synchronous"]
    assert run("table", "build", "--out", out, "--q-grid", "0.4,0.9", *sync) == 2
    assert "invalid grid" in capsys.readouterr().err
    assert run("table", "build", "--out", out, "--z-grid=-1:1:3", *sync) == 2
    assert run("table", "build", "--out", out, "--a-grid", "1:2:x") == 2
    assert run("table", "build", "--out", out, "--b-grid", "0.5,0.2", *sync) == 2
    assert run("table", "build", "--out", out, "--q-grid", "0.6", "--z-grid", "1") == 2
    assert not Path(out).exists()


def test_table_build_refuses_a_foreign_checkpoint(tiny_table, tmp_path, capsys):
    ckpt = str(tiny_table.parent / "ck")  # made for TINY_GRID
    argv = ["--out", str(tmp_path / "t.npz"), "--z-grid", "0:2:3", "--scheduler", "synchronous"]
    assert run("table", "build", *argv, "--checkpoint", ckpt, "--quiet") == 2
    assert "error" in capsys.readouterr().err
    assert not (tmp_path / "t.npz").exists()


# ---------------------------------------------------------------------------------------------
# plot, summary
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_sigmas(reference, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    other = tmp_path_factory.mktemp("s05") / "s05.tsv"
    assert certify(other, "--max", "4", "--sigma", "0.5") == 0
    return [reference, other]


@pytest.mark.parametrize("ext", ["png", "svg"])
def test_plot_several_files(two_sigmas, tmp_path, ext, capsys):
    out = tmp_path / f"fig.{ext}"
    assert run("plot", *map(str, two_sigmas), "--out", str(out)) == 0
    data = out.read_bytes()
    if ext == "png":
        assert data.startswith(PNG_MAGIC)
    else:
        assert b"<svg" in data[:2000]
        assert b"envelope" in data


def test_plot_errors(reference, tmp_path, capsys):
    assert run("plot", str(reference), "--out", str(tmp_path / "fig.pdf")) == 2
    assert ".png or .svg" in capsys.readouterr().err
    assert run("plot", str(tmp_path / "none.tsv"), "--out", str(tmp_path / "f.png")) == 2
    assert "not found" in capsys.readouterr().err
    (tmp_path / "x.tsv").write_text("a\tb\n1\t2\n")
    assert run("plot", str(tmp_path / "x.tsv"), "--out", str(tmp_path / "f.png")) == 2
    assert run("plot", str(reference), "--label", "a", "--label", "b") == 2


def test_plot_without_sidecar_notes_missing_dimension(reference, tmp_path, capsys):
    copy = tmp_path / "copy.tsv"
    copy.write_bytes(reference.read_bytes())
    assert run("plot", str(copy), "--out", str(tmp_path / "f.png")) == 0
    assert "--dim" in capsys.readouterr().err
    assert run("plot", str(copy), "--out", str(tmp_path / "g.png"), "--dim", "64") == 0
    assert "--dim" not in capsys.readouterr().err


def test_summary(two_sigmas, capsys):
    assert run("summary", *map(str, two_sigmas)) == 0
    out = capsys.readouterr().out
    for word in ("clean accuracy", "abstain", "mean time", "l2:", "l1:", "linf:", "envelope"):
        assert word in out
    assert run("summary", str(two_sigmas[0]), "--radii", "0,0.1,0.2") == 0
    out = capsys.readouterr().out
    assert "0.1" in out
    assert "envelope" not in out
    assert run("summary", str(two_sigmas[0]), "--radii", "a,b") == 2


def test_same_file_names_are_told_apart(reference, tmp_path, capsys):
    copy = tmp_path / reference.name
    copy.write_bytes(reference.read_bytes())
    meta_path(copy).write_bytes(meta_path(reference).read_bytes())
    assert run("summary", str(reference), str(copy)) == 0
    out = capsys.readouterr().out
    assert str(copy) in out
    assert str(reference) in out


# ---------------------------------------------------------------------------------------------
# slice
# ---------------------------------------------------------------------------------------------


def test_slice_outputs(tmp_path, capsys):
    png, svg, data = tmp_path / "s.png", tmp_path / "s.svg", tmp_path / "s.tsv"
    argv = ["slice", "--q", "0.9", "--grad-norm", "0.5", "--sigma", "0.25", "--angles", "36"]
    assert run(*argv, "--out", str(png), "--data", str(data)) == 0
    assert png.read_bytes().startswith(PNG_MAGIC)
    lines = [line.split("\t") for line in data.read_text().splitlines()]
    assert lines[0] == ["t", "m1", "m2", "radius", "radius_input", "status"]
    assert len(lines) == 37
    assert run(*argv, "--out", str(svg), "--units", "beta", "--grad-norm", "0.01") == 0
    assert b"<svg" in svg.read_bytes()[:2000]
    assert run("slice", "--q", "0.9", "--grad-norm", "1", "--out", str(png), "--angles", "16") == 0
    assert "inf" in capsys.readouterr().out  # the boundary case is unbounded


@pytest.mark.parametrize(
    "argv",
    [
        ["--q", "0.4", "--grad-norm", "0.5"],
        ["--q", "1", "--grad-norm", "0.5"],
        ["--q", "0.9", "--grad-norm", "1.5"],
        ["--q", "0.9", "--grad-norm", "1", "--units", "beta"],
        ["--q", "0.9", "--grad-norm", "-1"],
        ["--q", "0.9", "--grad-norm", "0.5", "--out", "x.jpg"],
        ["--q", "0.9"],
    ],
)
def test_slice_bad_values(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run("slice", *argv) == 2
    assert "error" in capsys.readouterr().err
