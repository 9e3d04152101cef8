"""The solver's first compilation: on a cold cache, in two processes at once (issue #13).

Numba compiles a kernel's whole call tree in one thread, under one lock, and the solver's tree
(``_solve._solve_range``) took 40-47 s on a 2-core machine, 20 s once its duplicate
specialisations were gone (``_jit``). Its two halves do not call each other: Newton's solve
(``_newton._solve_modes`` and the continuation paths, the Jacobian quadrature) and the
witness (``_witness._certify``, the Gauss-Kronrod quadrature, the strip radius) with the
warm-start interpolation. So when the first call finds nothing in the disk cache,
:func:`ensure_compiled` starts a second Python process that compiles the witness's half into
the cache (``python -c ...``, the child below) while this process compiles Newton's half,
waits for it, and then compiles the driver, which loads the witness's kernels from the cache:
about 13 s instead of 21 on two idle cores (docs/benchmarks.md, "First call").

Nothing depends on the second process: if it cannot start, fails or is slow, this process
compiles what is missing itself (as Numba always does). It is not started when the kernels are
in memory or in the cache, when Numba's cache directory is not known (``_numba_cache``), when
fewer than two cores are idle (it would only add work to a busy machine), or when
``HOCERT_COMPILE_PROCESSES=1``; ``HOCERT_COMPILE_PROCESSES=2`` starts it whatever the load.

The signatures below are the argument types the kernels are called with from the driver;
tests/solver/test_compile.py checks that the driver's compilation finds every one of them in
the cache (a changed argument type would otherwise quietly cost the second process's work).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from numba.core import types

from . import _continuation, _newton, _numba_cache, _warm_start, _witness

_F8 = types.float64
_VEC = types.Array(types.float64, 1, "C")
_TABLES = types.UniTuple(types.Array(types.float64, 4, "C"), 2)
_BUDGETS = types.Array(types.int64, 1, "C", readonly=True)

#: The driver ``_solve._solve_range(q, a, b, m1, m2, tables, radius, status, nit, lam, start,
#: stop)`` as ``_solve.solve_many`` calls it.
RANGE_SIGNATURE = (
    *(_VEC,) * 5,
    _TABLES,
    _VEC,
    types.Array(types.int8, 1, "C"),
    types.Array(types.int32, 1, "C"),
    types.Array(types.float64, 2, "C"),
    types.int64,
    types.int64,
)

#: Compiled by this process: Newton's half.
NEWTON_HALF: tuple[tuple[Any, tuple[Any, ...]], ...] = (
    (_newton._solve_modes, (_VEC, _F8, _F8, _F8, _VEC, _VEC, _BUDGETS, types.boolean)),
    (
        _continuation._solve_cold,
        (_VEC, _F8, _F8, _F8, _F8, _F8, _F8, _VEC, _VEC, _F8, _F8, _F8),
    ),
)

#: Compiled by the second process: the witness's half and the warm start. The strip radius
#: goes first: Newton's half needs it too (the ray continuation), later, and then loads it from
#: the cache (Numba looks there before compiling any kernel).
WITNESS_HALF: tuple[tuple[Any, tuple[Any, ...]], ...] = (
    (_witness.certify_strip, (_F8,) * 5),
    (_warm_start.warm_start, (_TABLES, _F8, _F8, _F8, _VEC)),
    (
        _witness.certify,
        (_F8, _F8, _F8, _F8, _F8, _VEC, types.boolean, _VEC, _VEC, _VEC),
    ),
)

#: Seconds to wait for the second process before compiling its half here as well.
CHILD_TIMEOUT = 600.0
#: The second process is started when at least MIN_IDLE_CORES cores were idle over the last
#: IDLE_SAMPLE seconds (this process, waiting, among them).
MIN_IDLE_CORES = 1.5
IDLE_SAMPLE = 0.2

_lock = threading.Lock()
_ready = False


def _in_cache(dispatcher: Any, signature: tuple[Any, ...]) -> bool | None:
    """Whether Numba's disk cache holds ``dispatcher`` for ``signature`` (None: cannot tell).

    Reads the cache index as ``Dispatcher.compile`` would before loading it (Numba's
    internals; any failure means "cannot tell").
    """
    try:
        cache = dispatcher._cache
        key = cache._index_key(signature, dispatcher.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except Exception:
        return None


def _cpu_times() -> tuple[float, float] | None:
    """(idle, total) CPU time of the machine so far (Linux's /proc/stat), None elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [float(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    if len(fields) < 5:
        return None
    return fields[3] + fields[4], sum(fields[:8])  # idle + iowait; user .. steal


def _idle_cores(cores: int) -> float:
    """Cores idle now: measured over IDLE_SAMPLE seconds, or from the load average."""
    before = _cpu_times()
    if before is not None:
        time.sleep(IDLE_SAMPLE)
        after = _cpu_times()
        if after is not None and after[1] > before[1]:
            return cores * (after[0] - before[0]) / (after[1] - before[1])
    try:
        return cores - os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        return float(cores)


def _two_processes_allowed() -> bool:
    """Whether a second process would run on a core of its own (and can find the cache)."""
    setting = os.environ.get("HOCERT_COMPILE_PROCESSES", "").strip()
    if setting == "1" or not sys.executable or _numba_cache.chosen is None:
        return False
    if setting == "2":
        return True
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    # Both processes need a core: on a busy machine the second one only adds work (measured
    # on 2 cores busy with two other jobs: 24 s instead of 21 s).
    return cores >= 2 and _idle_cores(cores) >= MIN_IDLE_CORES


def _start_child() -> subprocess.Popen[bytes] | None:
    """The second process, compiling WITNESS_HALF into the same cache; None if it cannot start."""
    package_parent = str(Path(__file__).resolve().parent.parent)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from hocert_solver import _compile; _compile.compile_half(_compile.WITNESS_HALF)"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(_numba_cache.chosen))
    try:
        return subprocess.Popen(
            [sys.executable, "-c", code, package_parent],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None


def compile_half(half: tuple[tuple[Any, tuple[Any, ...]], ...]) -> None:
    """Compile (or load from the cache) each kernel of ``half`` for its signature."""
    for dispatcher, signature in half:
        dispatcher.compile(signature)


def ensure_compiled(driver: Any) -> None:
    """Before the first call of ``driver`` (``_solve._solve_range``) in this process.

    Nothing to do when it is compiled or in the disk cache; on a cold cache, compile the two
    halves of its call tree in two processes (module docstring). Its own compilation is left
    to its first call.
    """
    global _ready
    if _ready:
        return
    with _lock:
        if _ready:
            return
        try:
            if (
                getattr(driver, "signatures", None) == []  # (a function with NUMBA_DISABLE_JIT=1)
                and _in_cache(driver, RANGE_SIGNATURE) is False
                and _two_processes_allowed()
            ):
                child = _start_child()
                if child is not None:
                    try:
                        compile_half(NEWTON_HALF)
                        child.wait(timeout=CHILD_TIMEOUT)
                    except Exception:  # the driver's own compilation reports real errors
                        pass
                    finally:
                        if child.poll() is None:
                            child.kill()
                            child.wait()
        finally:
            _ready = True
