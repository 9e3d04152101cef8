"""Dask scheduler connections (hocert/cli/_scheduler.py).

``--scheduler`` failures (issue #13, item 3): whatever is at the address, ``hocert`` ends within
``--connect-timeout`` (plus a margin) with one line on stderr, exit 1 (exit 2 for an address
that cannot be a scheduler's), and leaves no thread behind."""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hocert import cli

TIMEOUT = 2.0  # --connect-timeout of these tests
MARGIN = 3.0  # seconds allowed on top of it (thread start, the Dask imports, a loaded machine)
FAST = ["--max", "1", "--n", "200", "--n0", "20", "--batch", "200", "--quiet"]
TINY_GRID = ["--z-grid", "0:1:2", "--a-grid=-1:1:3", "--b-grid", "0:1:2", "--quiet"]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _serve(behaviour: str) -> Iterator[str]:
    """A tiny server on an ephemeral 127.0.0.1 port; yields its tcp:// address."""
    stop = threading.Event()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock = self.request
            sock.settimeout(5.0)
            if behaviour == "http400":  # a web server (such as Dask's dashboard)
                with contextlib.suppress(OSError):
                    sock.recv(65536)
                sock.sendall(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            elif behaviour == "garbage":  # something that is not Dask's protocol
                sock.sendall(b"\xff" * 64)
                stop.wait(10.0)
            else:  # "silent": accepts and never answers
                stop.wait(10.0)

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def http400() -> Iterator[str]:
    yield from _serve("http400")


@pytest.fixture
def silent() -> Iterator[str]:
    yield from _serve("silent")


@pytest.fixture
def garbage() -> Iterator[str]:
    yield from _serve("garbage")


@pytest.fixture
def closed_port() -> str:
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"


def _run(command: str, address: str, tmp_path: Path) -> tuple[int, float]:
    if command == "certify":
        argv = ["certify", "--out", str(tmp_path / "r.tsv"), *FAST]
    else:
        argv = ["table", "build", "--out", str(tmp_path / "t.npz"), *TINY_GRID]
    start = time.monotonic()
    rc = cli.main([*argv, "--scheduler", address, "--connect-timeout", str(TIMEOUT)])
    return rc, time.monotonic() - start


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hocert: error: "), err
    assert "Traceback" not in err
    return lines[0]


def _no_probe_thread_left() -> bool:
    return not any(t.name == "hocert-scheduler-probe" for t in threading.enumerate())


@pytest.mark.parametrize("command", ["certify", "table build"])
@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("http400", "does not speak the Dask protocol"),
        ("garbage", "does not speak the Dask protocol"),
        ("silent", "no answer within 2 s"),
        ("closed_port", "cannot connect to the Dask scheduler"),
    ],
)
def test_no_scheduler_at_the_address_exits_1_in_time(
    command, server, message, request, tmp_path, capsys
):
    address = request.getfixturevalue(server)
    rc, elapsed = _run(command, address, tmp_path)
    line = _one_error_line(capsys.readouterr().err)
    assert rc == 1
    assert "cannot connect to the Dask scheduler" in line
    assert message in line
    assert elapsed < TIMEOUT + MARGIN
    assert _no_probe_thread_left()
    assert not (tmp_path / "r.tsv").exists()
    assert not (tmp_path / "t.npz").exists()


@pytest.mark.parametrize("command", ["certify", "table build"])
@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("http://127.0.0.1:8787", "http:// is a web page"),
        ("https://scheduler.example:8787/status", "https:// is a web page"),
        ("foo://127.0.0.1:8786", "unknown scheme foo://"),
        ("127.0.0.1", "expected [tcp://]HOST:PORT"),
        ("tcp://:8786", "expected [tcp://]HOST:PORT"),
        ("tcp://127.0.0.1:port", "expected [tcp://]HOST:PORT"),
        ("tcp://127.0.0.1:99999", "expected [tcp://]HOST:PORT"),
    ],
)
def test_invalid_scheduler_address_is_a_usage_error(command, address, message, tmp_path, capsys):
    rc, elapsed = _run(command, address, tmp_path)
    line = _one_error_line(capsys.readouterr().err)
    assert rc == 2
    assert "invalid Dask scheduler address" in line
    assert message in line
    assert elapsed < MARGIN  # no connection is tried


def test_a_tcp_scheduler_passes_the_probe_and_a_worker_does_not(tmp_path, capsys):
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        dashboard_address=None,
    ) as cluster:
        worker = next(iter(cluster.workers.values())).address
        rc, _ = _run("table build", cluster.scheduler_address, tmp_path)
        assert rc == 0, capsys.readouterr().err
        assert (tmp_path / "t.npz").is_file()
        rc, elapsed = _run("certify", worker, tmp_path)
        assert rc == 1
        assert "is a Dask Worker, not the scheduler" in _one_error_line(capsys.readouterr().err)
        assert elapsed < TIMEOUT + MARGIN


def test_silent_server_subprocess_exits_in_time(silent, tmp_path):
    """The process itself ends: no thread of the abandoned connection keeps it alive."""
    argv = ["certify", "--out", str(tmp_path / "r.tsv"), *FAST, "--scheduler", silent]
    root = str(Path(cli.__file__).resolve().parents[2])  # this checkout, installed or not
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "hocert", *argv, "--connect-timeout", str(TIMEOUT)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 1, proc.stderr
    assert "no answer within 2 s" in _one_error_line(proc.stderr)
    assert elapsed < TIMEOUT + MARGIN + 10.0  # the interpreter's start and imports included
