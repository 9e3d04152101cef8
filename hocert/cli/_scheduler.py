"""Dask clusters for ``certify --scheduler`` and ``table build --scheduler``: the address
syntax, a bounded probe of the server there, and the client.

Cluster management belongs to the application: the libraries take a ready ``distributed.Client``
(or an address) and never decide how long to wait for a scheduler.
"""

from __future__ import annotations

from typing import Any

from ._common import EXIT_FAILURE, CliError

__all__ = ["connect", "scheduler_address"]

# Schemes of Dask scheduler addresses (distributed.comm.registry); HOST:PORT alone means tcp.
_SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


def scheduler_address(address: str) -> str:
    """``address`` as ``SCHEME://HOST:PORT`` (exit 2 when it cannot be a scheduler's)."""

    def invalid(why: str) -> CliError:
        return CliError(f"invalid Dask scheduler address {address!r}: {why}")

    scheme, sep, loc = address.strip().partition("://")
    if not sep:
        scheme, loc = "tcp", address.strip()
    scheme = scheme.lower()
    if scheme in ("http", "https"):
        raise invalid(
            f"{scheme}:// is a web page (the dashboard, port 8787 by default); the scheduler "
            "listens at tcp://HOST:PORT (port 8786 by default)"
        )
    if scheme not in _SCHEDULER_SCHEMES:
        raise invalid(f"unknown scheme {scheme}://, expected tcp://HOST:PORT")
    if scheme == "inproc":  # a scheduler in this process (tests, notebooks)
        return f"{scheme}://{loc}"
    host, colon, port = loc.rpartition(":")
    bad = not colon or not host or any(c.isspace() or c in "/?#@" for c in loc)
    if bad or not port.isdigit() or not 0 < int(port) < 65536:
        raise invalid("expected [tcp://]HOST:PORT, e.g. tcp://10.0.0.5:8786")
    return f"{scheme}://{loc}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _probe_scheduler(address: str, timeout: float) -> None:
    """Ask the server at ``address`` who it is; exit 1 unless a Dask scheduler answers in time.

    ``distributed.Client`` does not bound its handshake: against a server that is not a
    scheduler it can wait forever (a server that accepts and never answers) or misread the
    reply (a web server's ``HTTP/1.1 400`` taken for a frame length of exabytes). The probe
    runs in a daemon thread on its own event loop with an overall deadline, so it ends in
    ``timeout`` seconds whatever the server does, and leaves nothing running behind.
    """
    import asyncio
    import threading

    from distributed.comm import connect
    from distributed.security import Security

    # TLS settings from the Dask config, as the Client takes them
    connection_args = Security().get_connection_args("client")

    async def identity() -> Any:
        comm = await connect(address, timeout=timeout, **connection_args)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    outcome: dict[str, Any] = {}

    def probe() -> None:
        try:
            outcome["reply"] = asyncio.run(asyncio.wait_for(identity(), timeout))
        except BaseException as exc:  # MemoryError (a bogus frame length) included
            outcome["error"] = exc

    thread = threading.Thread(target=probe, name="hocert-scheduler-probe", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)  # the probe's own deadline is timeout; this one is the backstop

    def failure(why: str) -> CliError:
        return CliError(f"cannot connect to the Dask scheduler at {address}: {why}", EXIT_FAILURE)

    no_answer = (
        f"no answer within {timeout:g} s (--connect-timeout); is a Dask scheduler listening "
        "there? (the dashboard's port, 8787 by default, is not the scheduler's)"
    )
    if thread.is_alive() or isinstance(outcome.get("error"), asyncio.TimeoutError):
        raise failure(no_answer)
    error = outcome.get("error")
    if isinstance(error, KeyboardInterrupt):
        raise error
    if isinstance(error, OSError):  # refused, unreachable, unknown host, closed: after retries
        raise failure(_one_line(error))
    if error is not None:  # the server does not speak Dask's protocol
        detail = (
            "its reply is not a Dask message"  # e.g. "HTTP/1.1" read as a frame length
            if isinstance(error, MemoryError)
            else f"{type(error).__name__}: {_one_line(error)}"
        )
        raise failure(
            f"the server there does not speak the Dask protocol ({detail}); the dashboard's "
            "port, 8787 by default, is not the scheduler's"
        )
    reply = outcome.get("reply")
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        what = f"a Dask {kind}" if isinstance(kind, str) else "not a Dask scheduler"
        raise failure(f"the server there is {what}, not the scheduler")


def connect(address: str, timeout: float, *, as_default: bool = False) -> Any:
    """A Dask client connected to ``address``.

    Exit 2 for an address that cannot be a scheduler's (syntax, ``http://``), exit 1 when no
    scheduler answers there within ``timeout`` seconds (refused, silent, a web server, ...).
    """
    from distributed import Client

    address = scheduler_address(address)
    if not address.startswith("inproc://"):
        _probe_scheduler(address, timeout)
    try:
        return Client(address, timeout=f"{timeout}s", set_as_default=as_default)
    except Exception as exc:  # the scheduler answered the probe but the client failed
        raise CliError(
            f"cannot connect to the Dask scheduler at {address}: {type(exc).__name__}: "
            f"{_one_line(exc)}",
            EXIT_FAILURE,
        ) from None
