"""Atomic writes and safe reads: a file or folder is either the old one or the whole new one, never half.

Files go to a temporary name beside the target, are flushed to disk (fsync) and renamed over it; multi-file
artifacts are written into a temporary folder that is renamed into place. Torch state is read with
``weights_only=True`` (never unpickling code), and an unreadable file raises :class:`CorruptFileError`
with one line naming it, so callers (caches, checkpoints) can recompute instead of crashing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from neurosafe.core.errors import DataFileError

__all__ = [
    "CorruptFileError", "atomic_dir", "atomic_path", "load_json", "load_state", "save_json", "save_state",
]


class CorruptFileError(DataFileError):
    """A file that exists but cannot be read back (truncated, corrupt or of another format)."""


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems cannot fsync a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        fh.flush()
        os.fsync(fh.fileno())


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _readable(path: Path, folder: bool = False) -> None:
    """The mode an ordinary ``open`` would give (0644 / 0755 under the usual umask), not mkstemp's 0600."""
    if path.exists():
        os.chmod(path, (0o777 if folder or path.is_dir() else 0o666) & ~_umask())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it and rename it over ``path`` (mode 0644
    under the usual umask, as a plain write would give)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _readable(tmp_path)
        _fsync_file(tmp_path)
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success its files are fsynced and it replaces ``path``.

    A folder already at ``path`` is moved aside first and deleted only after the rename, so a crash leaves
    either the old folder or the new one (plus a hidden leftover that the next write cleans up).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    old = path.parent / f".{path.name}.old"
    try:
        yield tmp
        _readable(tmp, folder=True)
        for f in tmp.rglob("*"):
            if f.is_file():
                _fsync_file(f)
        shutil.rmtree(old, ignore_errors=True)
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def save_json(path: str | os.PathLike, obj: Any, indent: int | None = 1) -> Path:
    """Write ``obj`` as JSON atomically (keys sorted, so equal objects give equal files)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=indent, sort_keys=True))
    return Path(path)


def load_json(path: str | os.PathLike) -> Any:
    """Read JSON; a truncated or invalid file raises :class:`CorruptFileError`."""
    try:
        return json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CorruptFileError(f"{path}: not valid JSON ({err.msg if hasattr(err, 'msg') else err})") from err


def save_state(path: str | os.PathLike, state: dict) -> Path:
    """``torch.save`` a dict of tensors and plain values atomically."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return Path(path)


def load_state(path: str | os.PathLike, map_location: Any = "cpu") -> dict:
    """``torch.load`` with ``weights_only=True`` (no code is unpickled); unreadable files raise
    :class:`CorruptFileError`, a missing one :class:`FileNotFoundError`."""
    import torch

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises RuntimeError, EOFError, UnpicklingError, zipfile errors ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CorruptFileError(f"{path}: cannot be read as a torch state file ({first})") from err
