"""The solver's first compilation (issue #13): one specialisation per kernel, and on a cold cache
two processes (``hocert_solver._compile``, ``_jit``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import njit
from numba.core import config

import hocert_solver
from hocert_solver import _compile, _jit, _solve, _warm_start, directional_radius

ROOT = Path(__file__).resolve().parents[2]
# With NUMBA_DISABLE_JIT=1 (the kernels' coverage run) there is nothing compiled to look at.
needs_jit = pytest.mark.skipif(bool(config.DISABLE_JIT), reason="needs the compiled kernels")


@needs_jit
def test_one_specialisation_types_constant_arguments_plainly():
    @_jit.one_specialisation
    @njit
    def callee(flag, k):
        return k + 1 if flag else k

    @njit
    def caller(k):
        return callee(True, 3) + callee(False, k) + callee(k > 0, 8)

    assert caller(1) == 4 + 1 + 9
    assert [str(s) for s in callee.signatures] == ["(bool, int64)"]


@needs_jit
def test_the_driver_has_one_signature_whatever_the_inputs():
    tables = _warm_start.load_tables()
    q = np.array([0.9, 0.95, 0.8])
    a, b = np.array([0.1, -0.3, 0.0]), np.array([0.2, 0.4, 0.5])
    big_m = hocert_solver.max_gradient_norm(q)
    m1, m2 = a * big_m, b * big_m
    expected = directional_radius(q, m1, m2).radius
    variants = [
        (q, a, b, m1, m2),
        tuple(np.asfortranarray(np.stack([v, v]))[0] for v in (q, a, b, m1, m2)),  # strided
        tuple(np.broadcast_to(v, v.shape) for v in (q, a, b, m1, m2)),  # read-only
        tuple(v.astype(np.float32).astype(np.float64) for v in (q, a, b, m1, m2)),
    ]
    for args in variants:
        r = np.empty(3)
        _solve.solve_many(
            *args, tables, r, np.empty(3, np.int8), np.empty(3, np.int32), np.empty((3, 3))
        )
        if args[0] is q:
            np.testing.assert_array_equal(r, expected)
    assert _solve._solve_range.signatures == [_compile.RANGE_SIGNATURE]


def test_outputs_of_the_wrong_type_are_refused():
    tables = _warm_start.load_tables()
    v = np.full(2, 0.5)
    with pytest.raises(TypeError, match="status"):
        _solve.solve_many(
            v, v, v, v, v, tables, np.empty(2), np.empty(2), np.empty(2, np.int32), np.empty((2, 3))
        )


@needs_jit
def test_many_elements_on_several_threads_give_the_same_radii(monkeypatch):
    from tests.solver.domain import random_feasible_triples

    q, m1, m2 = random_feasible_triples(500, seed=3)
    monkeypatch.setattr(_solve.numba, "get_num_threads", lambda: 1)
    one = directional_radius(q, m1, m2)
    monkeypatch.setattr(_solve.numba, "get_num_threads", lambda: 3)
    three = directional_radius(q, m1, m2)
    for name in ("radius", "status", "nit"):
        np.testing.assert_array_equal(getattr(one, name), getattr(three, name))


# ---------------------------------------------------------------------------------------------
# ensure_compiled: when the second process starts (no compilation here: all stubbed)
# ---------------------------------------------------------------------------------------------


class _Driver:
    def __init__(self, signatures):
        self.signatures = signatures


class _Child:
    def __init__(self):
        self.waited = False

    def wait(self, timeout=None):
        self.waited = True
        return 0

    def poll(self):
        return 0 if self.waited else None

    def kill(self):
        pass


@pytest.fixture
def stubbed(monkeypatch):
    """ensure_compiled with a cold cache, idle cores, and what it did recorded."""
    did: dict[str, object] = {"halves": []}

    def start_child():
        did["child"] = _Child()
        return did["child"]

    monkeypatch.setattr(_compile, "_ready", False)
    monkeypatch.setattr(_compile, "_in_cache", lambda driver, sig: False)
    monkeypatch.setattr(_compile, "_idle_cores", lambda cores: 2.0)
    monkeypatch.setattr(_compile.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(_compile, "_start_child", start_child)
    monkeypatch.setattr(_compile, "compile_half", lambda half: did["halves"].append(half))
    monkeypatch.delenv("HOCERT_COMPILE_PROCESSES", raising=False)
    return did


def test_a_cold_cache_compiles_the_halves_in_two_processes(stubbed):
    _compile.ensure_compiled(_Driver([]))
    assert stubbed["halves"] == [_compile.NEWTON_HALF]
    assert stubbed["child"].waited
    _compile.ensure_compiled(_Driver([]))  # once per process
    assert stubbed["halves"] == [_compile.NEWTON_HALF]


@pytest.mark.parametrize(
    "case", ["compiled", "cached", "one core", "busy", "switched off", "no cache dir"]
)
def test_no_second_process_when_it_cannot_help(stubbed, monkeypatch, case):
    driver = _Driver([])
    if case == "compiled":
        driver = _Driver([_compile.RANGE_SIGNATURE])
    elif case == "cached":
        monkeypatch.setattr(_compile, "_in_cache", lambda d, sig: True)
    elif case == "one core":
        monkeypatch.setattr(_compile.os, "sched_getaffinity", lambda pid: {0}, raising=False)
        monkeypatch.setattr(_compile.os, "cpu_count", lambda: 1)
    elif case == "busy":
        monkeypatch.setattr(_compile, "_idle_cores", lambda cores: 1.0)
    elif case == "switched off":
        monkeypatch.setenv("HOCERT_COMPILE_PROCESSES", "1")
    else:
        monkeypatch.setattr(_compile._numba_cache, "chosen", None)
    _compile.ensure_compiled(driver)
    assert "child" not in stubbed
    assert stubbed["halves"] == []


def test_a_second_process_that_cannot_start_leaves_the_compilation_to_the_first_call(
    stubbed, monkeypatch
):
    monkeypatch.setattr(_compile, "_start_child", lambda: None)
    _compile.ensure_compiled(_Driver([]))
    assert stubbed["halves"] == []
    assert _compile._ready


def test_idle_cores_is_a_fraction_of_the_cores():
    assert 0.0 <= _compile._idle_cores(2) <= 2.0 + 1e-9


# ---------------------------------------------------------------------------------------------
# End to end, cold cache: the driver's compilation finds both halves in the cache
# ---------------------------------------------------------------------------------------------

_COLD_RUN = """
import json
from numba.core import event
import hocert_solver
from hocert_solver import _compile

compiled = []
class Listener(event.Listener):
    def on_start(self, ev):
        pass
    def on_end(self, ev):
        f = ev.data["dispatcher"].py_func
        if f.__module__.startswith("hocert_solver"):
            compiled.append(f.__module__ + "." + f.__qualname__)
event.register("numba:compile", Listener())
big_m = float(hocert_solver.max_gradient_norm(0.97))
res = hocert_solver.directional_radius(0.97, -0.6 * big_m, 0.7 * big_m)
hits = {d.py_func.__qualname__: sum(d.stats.cache_hits.values()) for d, _ in _compile.WITNESS_HALF}
print(json.dumps({"radius": float(res.radius), "compiled": compiled, "hits": hits}))
"""


@pytest.mark.slow
@needs_jit
def test_a_cold_first_call_compiles_each_kernel_once_in_two_processes(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), HOCERT_COMPILE_PROCESSES="2")
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", _COLD_RUN],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert round(report["radius"], 6) == 2.232839
    compiled = report["compiled"]
    # The second process compiled the witness's half: this one loaded it from the cache.
    assert all(hits == 1 for hits in report["hits"].values()), report["hits"]
    witness = {f"{d.py_func.__module__}.{d.py_func.__qualname__}" for d, _ in _compile.WITNESS_HALF}
    assert not witness & set(compiled)
    # One specialisation per kernel (the quadrature's is Newton's: the witness's is not here).
    repeated = {name for name in compiled if compiled.count(name) > 1}
    assert not repeated, repeated
