"""The first run (issue #13, item 2): the solver compiles before the first input is timed, and
``hocert certify`` says so."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hocert import cli, runner
from hocert.results import read_results

from .helpers import FAST, certify

ROOT = Path(__file__).resolve().parents[3]
NOTICE = "compiling the solver (first run only"


@pytest.fixture
def slow_compilation(monkeypatch):
    """warm_up_solver takes a second (as a compilation would) and reports it; the calls of
    warm_up_solver and certify_row are recorded in order."""
    calls: list[str] = []
    certify_row = runner.certify_row

    def warm_up_solver(on_slow=None):
        calls.append("warm-up")
        time.sleep(1.0)
        if on_slow is not None:
            on_slow()
        return 1.0

    def timed_row(*args, **kwargs):
        calls.append("row")
        return certify_row(*args, **kwargs)

    monkeypatch.setattr(runner, "warm_up_solver", warm_up_solver)
    monkeypatch.setattr(runner, "certify_row", timed_row)
    return calls


def test_the_first_rows_time_excludes_the_compilation(slow_compilation, tmp_path, capsys):
    out = tmp_path / "r.tsv"
    assert certify(out, "--max", "2") == 0
    assert slow_compilation[:2] == ["warm-up", "warm-up"]  # the command's, then the runner's
    assert slow_compilation[2:] == ["row", "row"]
    frame, _ = read_results(out)
    assert (frame["time"] < 1.0).all()
    assert NOTICE not in capsys.readouterr().err  # --quiet


def test_the_command_says_that_it_compiles(slow_compilation, tmp_path, capsys):
    argv = [a for a in FAST if a != "--quiet"]
    assert cli.main(["certify", "--out", str(tmp_path / "r.tsv"), *argv, "--max", "1"]) == 0
    err = capsys.readouterr().err
    assert f"hocert: {NOTICE}, about {runner.COMPILE_SECONDS} s)..." in err
    assert err.index(NOTICE) < err.index("certify")  # before the progress bar


def test_nothing_to_certify_compiles_nothing(slow_compilation, tmp_path):
    out = tmp_path / "r.tsv"
    assert certify(out, "--max", "1") == 0
    slow_compilation.clear()
    assert certify(out, "--max", "1") == 0  # resumed: every row is there
    assert slow_compilation == []


def test_the_warm_up_calls_on_slow_only_when_slow(monkeypatch):
    runner.warm_up_solver()  # compiled (or loaded) by now
    said: list[str] = []
    assert runner.warm_up_solver(lambda: said.append("slow")) < runner.COMPILE_NOTICE_AFTER
    time.sleep(runner.COMPILE_NOTICE_AFTER + 0.2)
    assert said == []
    monkeypatch.setattr(runner, "COMPILE_NOTICE_AFTER", 0.0)
    runner.warm_up_solver(lambda: said.append("slow"))
    time.sleep(0.2)
    assert said == ["slow"]


@pytest.mark.slow
def test_a_cold_cache_prints_the_notice_before_the_first_row(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cold-cache"))
    env["PYTHONPATH"] = str(ROOT)
    out = tmp_path / "r.tsv"
    argv = ["certify", "--out", str(out), *[a for a in FAST if a != "--quiet"], "--max", "1"]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "hocert", *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    assert NOTICE in done.stderr
    frame, _ = read_results(out)
    assert elapsed > 5.0  # it did compile
    assert frame["time"].iloc[0] < 5.0  # ... outside the row
