"""One writer per file: an exclusive lock held for a run's life (``hocert certify``'s result
file, ``hocert table build``'s checkpoint directory).

The lock is ``fcntl.flock`` on a lock file beside the locked path (``FILE.lock``). The operating
system releases it when its holder exits, however it exits (kill -9 included), so a lock left
by a dead process never blocks. The lock file's content (pid, host, start time) is information
for the error message only; the holder deletes the file when it releases the lock (an
acquirer that finds the file it locked deleted or replaced tries again).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._errors import HocertError

__all__ = ["FileLock", "LockHeld", "lock_path"]


class LockHeld(HocertError, RuntimeError):
    """Another process holds the lock (the message names it: pid, host, since)."""


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file of ``path``: ``PATH.lock`` beside it (a trailing slash is ignored)."""
    p = Path(path)
    return p.with_name(p.name + ".lock")


def _holder(lp: Path) -> str:
    try:
        info = json.loads(lp.read_text(encoding="utf-8"))
        return f"pid {info['pid']} on {info['host']}, since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (its lock file names none yet)"


class FileLock:
    """An exclusive, non-blocking lock on ``path`` for one writer (a context manager).

    Parameters
    ----------
    path : path-like
        The locked file or directory; the lock file is :func:`lock_path` ``(path)``.
    what : str
        What is locked, for the error message (e.g. ``"result file"``).

    Raises
    ------
    LockHeld
        (on :meth:`acquire`) another live process holds the lock.
    """

    def __init__(self, path: str | os.PathLike[str], what: str = "file") -> None:
        self.path = Path(path)
        self.what = what
        self.lock_file = lock_path(self.path)
        self._fd = -1

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd >= 0

    def acquire(self) -> FileLock:
        """Take the lock at once, or raise :class:`LockHeld` naming its holder."""
        import fcntl

        if self.held:
            return self
        while True:
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise LockHeld(
                    f"{self.path} is in use: another run writes this {self.what} "
                    f"({_holder(self.lock_file)}; lock {self.lock_file}); wait for it to "
                    "finish, or use another path"
                ) from None
            except BaseException:
                os.close(fd)
                raise
            try:  # the file we locked may have been deleted by its previous holder: retry
                same = os.path.samestat(os.fstat(fd), os.stat(self.lock_file))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        info: dict[str, Any] = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(info) + "\n").encode("utf-8"))
        self._fd = fd
        return self

    def release(self) -> None:
        """Delete the lock file and release the lock (nothing when not held)."""
        if not self.held:
            return
        with contextlib.suppress(OSError):  # e.g. a read-only directory: the flock still goes
            self.lock_file.unlink(missing_ok=True)  # while still held: see acquire's retry
        os.close(self._fd)
        self._fd = -1

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
