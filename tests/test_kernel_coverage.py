"""The solver's coverage with the kernels counted (issue #12 part 5), as CONTRIBUTING.md runs it.

Numba-compiled code is not traced, so the default coverage run does not see the kernels' lines.
With ``NUMBA_DISABLE_JIT=1`` they run as Python (about a thousand times slower), so the command
in CONTRIBUTING.md ("Coverage of the kernels") runs a fast subset of ``tests/solver`` and fails
below its floor (``--cov-fail-under``). This slow test runs that very command in a subprocess.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def documented_command() -> list[str]:
    """The command of CONTRIBUTING.md's "Coverage of the kernels" block, as argv."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    match = re.search(r"```bash\n\s*(NUMBA_DISABLE_JIT=1 python -m pytest .*?)\n\s*```", text, re.S)
    assert match, "CONTRIBUTING.md lost its NUMBA_DISABLE_JIT=1 coverage command"
    return shlex.split(match.group(1).replace("\\\n", " "))


def test_the_documented_command_has_a_floor():
    argv = documented_command()
    assert argv[:4] == ["NUMBA_DISABLE_JIT=1", "python", "-m", "pytest"]
    assert "--cov=hocert_solver" in argv
    floors = [a for a in argv if a.startswith("--cov-fail-under=")]
    assert len(floors) == 1
    assert float(floors[0].split("=")[1]) >= 80


@pytest.mark.slow
def test_kernel_coverage_meets_its_floor(tmp_path):
    argv = documented_command()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE_"))}
    env["NUMBA_DISABLE_JIT"] = "1"
    env["COVERAGE_FILE"] = str(tmp_path / ".coverage")  # not the outer run's data file
    proc = subprocess.run(
        [sys.executable, *argv[2:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
