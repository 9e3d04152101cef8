"""The on-disk formats of a ``RadiusTable``: the ``.npz`` table file and a build's checkpoint.

A table file holds the grid (``q``, ``a``, ``b``, ``big_m``), ``values``, ``status``, the
witness multipliers ``lam`` and a JSON ``metadata`` string; ``RadiusTable.load`` checks the
format here, builds the table (its constructor checks the contents) and refuses it unless
its radii verify (:func:`refuse_unproved`). A checkpoint is a directory with
``manifest.json`` and one ``chunk_NNNNNN.npz`` per finished chunk of a build. Files are
written atomically (:func:`_atomic_write_npz`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from . import _newton
from ._table_errors import TableBuildError, TableFormatError, TableVerificationError
from ._table_grid import FloatArray, Int8Array
from ._table_verify import TableVerification

__all__ = [
    "TABLE_FORMAT_VERSION",
    "new_metadata",
    "open_checkpoint",
    "read_table",
    "refuse_unproved",
    "write_table",
]

#: Version of the on-disk format written by :meth:`RadiusTable.save` (2: with the witness
#: multipliers ``lam`` of every cell). :meth:`RadiusTable.load` reads versions 1 and 2 and
#: refuses others; a version-1 file has no multipliers, so it fails verification (rebuild it,
#: or load it with ``verify=False``).
TABLE_FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)
_FORMAT_NAME = "hocert.RadiusTable"
_CHECKPOINT_NAME = "hocert.RadiusTable.checkpoint"

_COORDINATES = (
    "cell (i, j, k) = directional_radius(q[i], A[i, j], B[i, k]) with M[i] = "
    "max_gradient_norm(q[i]) (stored as big_m), A[i, j] = a[j] * M[i] (a[j] = -1 stored as "
    "-inf: no information on m1), B[i, k] = b[k] * M[i]; radii in units of sigma; cells with "
    "max(a, 0)^2 + b^2 > 1 + 1e-9 are not solved (status -3, SKIPPED); lookup floors q to "
    "q[i] <= q and compares m1, m2 with A[i, :], B[i, :] exactly"
)
_TOLERANCE = (
    "every value is a certified lower bound of R at its cell (dual witness, weak duality); "
    "status 0 (CONVERGED) values are within 1e-6 * max(1, R) of R (solver accuracy "
    f"requirement; Newton tolerance {_newton.NEWTON_TOL:g}); status 3 (FALLBACK) values are "
    "the smaller m2 = 0 radius R(q, m1, 0)"
)
# What np.load and reading an archive member raise for a damaged or foreign file.
_READ_ERRORS = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error)


def _solver_version() -> str:
    from . import __version__

    return str(__version__)


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _grid_digest(q: FloatArray, a: FloatArray, b: FloatArray) -> str:
    h = hashlib.sha256()
    for arr in (q, a, b):
        h.update(np.asarray(arr, dtype="<f8").tobytes())
        h.update(b"|")
    return h.hexdigest()


def _atomic_write_npz(path: Path, **arrays: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            umask = os.umask(0o077)  # read the umask (the strictest one in the meantime)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 -> the mode open() would give
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------------
# Table files
# --------------------------------------------------------------------------------------------
def new_metadata() -> dict[str, Any]:
    """The metadata every new table starts with (format, versions, conventions, time)."""
    return {
        "format": _FORMAT_NAME,
        "format_version": TABLE_FORMAT_VERSION,
        "solver_version": _solver_version(),
        "solver_tolerance": _TOLERANCE,
        "coordinates": _COORDINATES,
        "created": _utc_now(),
    }


def write_table(
    path: Path,
    arrays: dict[str, Any],
    metadata: dict[str, Any],
    status_counts: dict[str, int],
) -> None:
    """``RadiusTable.save``: ``arrays`` (``lam`` None: format version 1) and the metadata."""
    lam = arrays.get("lam")
    meta = dict(metadata)
    meta.update(
        format=_FORMAT_NAME,
        format_version=TABLE_FORMAT_VERSION if lam is not None else 1,
        coordinates=_COORDINATES,
        status_counts=status_counts,
    )
    meta.setdefault("solver_version", _solver_version())
    meta.setdefault("solver_tolerance", _TOLERANCE)
    meta.setdefault("created", _utc_now())
    out = {name: arr for name, arr in arrays.items() if name != "lam"}
    out["metadata"] = np.array(json.dumps(meta, sort_keys=True))
    if lam is not None:
        out["lam"] = lam
    _atomic_write_npz(path, **out)


def read_table(path: Path, *, strict_solver_version: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The constructor's arrays (``q``, ``a``, ``b``, ``values``, ``status``, ``big_m``,
    ``lam``: None in a version-1 file) and the metadata of a file written by ``write_table``.

    Raises ``TableFormatError`` (a ``ValueError``) for anything but a readable RadiusTable
    file of a version this hocert reads (and, with ``strict_solver_version``, built by the
    installed solver).
    """
    required = {"q", "a", "b", "big_m", "values", "status", "metadata"}
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise TableFormatError(f"cannot read RadiusTable file {path}: {exc}") from exc
    if not magic.startswith(b"PK"):  # np.load would try pickle and hint at allow_pickle
        raise TableFormatError(f"{path} is not a hocert RadiusTable file (not an .npz archive)")
    try:
        f = np.load(path, allow_pickle=False)
    except _READ_ERRORS as exc:
        raise TableFormatError(f"cannot read RadiusTable file {path}: {exc}") from exc
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise TableFormatError(f"{path} is not a hocert RadiusTable file (not an .npz archive)")
    with f:
        missing = required - set(f.files)
        if missing:
            raise TableFormatError(
                f"{path} is not a hocert RadiusTable file (missing {sorted(missing)})"
            )
        try:
            data: dict[str, Any] = {k: np.array(f[k]) for k in required | ({"lam"} & set(f.files))}
        except _READ_ERRORS as exc:
            raise TableFormatError(f"cannot read RadiusTable file {path}: {exc}") from exc
    try:
        meta = json.loads(str(data.pop("metadata")))
    except ValueError as exc:
        raise TableFormatError(f"{path}: metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT_NAME:
        raise TableFormatError(f"{path} is not a hocert RadiusTable file")
    version = meta.get("format_version")
    if version not in _READABLE_VERSIONS:
        raise TableFormatError(
            f"{path} has RadiusTable format version {version!r}; this hocert reads versions "
            f"{', '.join(map(str, _READABLE_VERSIONS))}. Rebuild the table with "
            "RadiusTable.build."
        )
    installed = _solver_version()
    if strict_solver_version and meta.get("solver_version") != installed:
        raise TableFormatError(
            f"{path} was built by solver version {meta.get('solver_version')!r}, the installed "
            f"version is {installed!r} (strict_solver_version=True)"
        )
    data.setdefault("lam", None)
    return data, meta


def refuse_unproved(path: Path, report: TableVerification, has_lam: bool, version: object) -> None:
    """Raise :class:`TableVerificationError` unless ``report`` (of the file's table) is ok."""
    if report.ok:
        return
    if not has_lam:
        older = ", written by an older hocert" if version == 1 else ""
        raise TableVerificationError(
            f"{path} holds no witness multipliers (format version {version}{older}), "
            f"so its radii cannot be verified ({report.describe()}). Rebuild it "
            "(RadiusTable.build, 'hocert table build'), or load it unverified with "
            "verify=False (--no-verify)."
        )
    raise TableVerificationError(
        f"{path} fails verification: {report.describe()}. The file was altered or "
        "damaged after it was built: do not use it. Rebuild it (RadiusTable.build, "
        "'hocert table build'), or load it unverified with verify=False "
        "(--no-verify)."
    )


# --------------------------------------------------------------------------------------------
# Checkpoints: a directory with manifest.json and one chunk_NNNNNN.npz per finished chunk.
# --------------------------------------------------------------------------------------------
def open_checkpoint(
    path: Path, q: FloatArray, a: FloatArray, b: FloatArray, chunk_size: int, n_chunks: int
) -> _Checkpoint:
    """The checkpoint of a build of the grid ``q x a x b`` in chunks of ``chunk_size``.

    Creates the directory and its manifest, or checks that an existing one was made for the
    same build (``TableBuildError`` otherwise).
    """
    version = _solver_version()
    grid_sha = _grid_digest(q, a, b)
    fingerprint = hashlib.sha256(
        f"{TABLE_FORMAT_VERSION}|{version}|{grid_sha}|{chunk_size}".encode()
    ).hexdigest()
    manifest = {
        "format": _CHECKPOINT_NAME,
        "format_version": TABLE_FORMAT_VERSION,
        "fingerprint": fingerprint,
        "grid_sha256": grid_sha,
        "grid_shape": [q.size, a.size, b.size],
        "solver_version": version,
        "chunk_size": chunk_size,
        "n_chunks": n_chunks,
        "created": _utc_now(),
    }
    return _Checkpoint(path, manifest, fingerprint, n_chunks)


class _Checkpoint:
    def __init__(
        self, path: Path, manifest: dict[str, Any], fingerprint: str, n_chunks: int
    ) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.n_chunks = n_chunks
        path.mkdir(parents=True, exist_ok=True)
        mpath = path / "manifest.json"
        if mpath.exists():
            try:
                old = json.loads(mpath.read_text())
            except (OSError, ValueError) as exc:
                raise TableBuildError(
                    f"checkpoint {path}: manifest.json is unreadable ({exc}); delete the "
                    "directory or use another one"
                ) from exc
            self._check_manifest(old, manifest)
        else:
            if any(path.glob("chunk_*.npz")):
                raise TableBuildError(
                    f"checkpoint {path} holds chunk files but no manifest.json; delete them or "
                    "use another directory"
                )
            mpath.write_text(json.dumps(manifest, indent=1))

    def _check_manifest(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        if old.get("format") != _CHECKPOINT_NAME:
            raise TableBuildError(f"{self.path} is not a RadiusTable checkpoint directory")
        if old.get("format_version") != new["format_version"]:
            raise TableBuildError(
                f"checkpoint {self.path} has format version {old.get('format_version')!r}, "
                f"this hocert writes version {new['format_version']}; delete it or use "
                "another directory"
            )
        reasons = []
        if (
            old.get("grid_sha256") != new["grid_sha256"]
            or old.get("grid_shape") != new["grid_shape"]
        ):
            reasons.append(
                f"a different grid (shape {old.get('grid_shape')} vs {new['grid_shape']})"
            )
        if old.get("solver_version") != new["solver_version"]:
            reasons.append(
                f"solver version {old.get('solver_version')!r} (installed: "
                f"{new['solver_version']!r})"
            )
        if old.get("chunk_size") != new["chunk_size"]:
            reasons.append(f"chunk_size={old.get('chunk_size')} (requested: {new['chunk_size']})")
        if reasons or old.get("fingerprint") != new["fingerprint"]:
            why = "; ".join(reasons) or "different build parameters"
            raise TableBuildError(
                f"checkpoint {self.path} was made for {why}; it cannot be resumed by this "
                "build. Delete the directory or pass another checkpoint path."
            )

    def chunk_path(self, c: int) -> Path:
        return self.path / f"chunk_{c:06d}.npz"

    def load(self, c: int, size: int) -> tuple[FloatArray, Int8Array, FloatArray] | None:
        """The chunk's (radius, status, lam), or None (with a warning) to recompute it.

        Only reading is checked here; ``build`` verifies the contents before merging them.
        Warnings point at the caller of ``RadiusTable.build`` (through ``TableBuild``).
        """
        p = self.chunk_path(c)
        if not p.exists():
            return None
        try:
            with np.load(p, allow_pickle=False) as f:
                ok = str(f["fingerprint"]) == self.fingerprint and int(f["chunk"]) == c
                radius = np.array(f["radius"], dtype=np.float64)
                status = np.array(f["status"], dtype=np.int8)
                lam = np.array(f["lam"], dtype=np.float64)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            warnings.warn(
                f"checkpoint chunk {p} is unreadable ({exc}); recomputing it", stacklevel=4
            )
            return None
        if not ok or radius.shape != (size,) or status.shape != (size,) or lam.shape != (size, 3):
            warnings.warn(
                f"checkpoint chunk {p} does not match this build; recomputing it", stacklevel=4
            )
            return None
        return radius, status, lam

    def save(self, c: int, radius: FloatArray, status: Int8Array, lam: FloatArray) -> None:
        _atomic_write_npz(
            self.chunk_path(c),
            radius=radius,
            status=status,
            lam=lam,
            fingerprint=np.array(self.fingerprint),
            chunk=np.array(c),
        )
