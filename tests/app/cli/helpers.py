"""Shared helpers of the command-line tests: run ``hocert`` in-process or as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hocert import cli

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
        [sys.executable, "-m", "hocert", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
