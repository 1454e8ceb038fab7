"""Content hashes for provenance and cache keys: arrays and DataArrays by value, files by bytes, code by source.

A cache key built from these never matches a result computed from other data, other code or another
configuration: files are hashed by their content (not path and size), and :func:`source_hash` covers
every ``.py`` file of the installed package, so editing the code invalidates every cached stage.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["data_hash", "file_hash", "source_hash", "stable_int", "state_hash"]

_CHUNK = 1 << 20


def _update(h, a: Any) -> None:
    # xarray and torch are looked up, not imported: an object of theirs exists only once they are imported, and
    # hashing a config (a cached re-run's key) then needs neither (issue 18)
    if (xr := sys.modules.get("xarray")) is not None and isinstance(a, xr.DataArray):
        h.update(b"xr")
        _update(h, np.asarray(a.values))
        for name in sorted(a.coords):
            h.update(str(name).encode())
            h.update(np.asarray(a[name].values).astype(str).tobytes())
    elif isinstance(a, np.ndarray):
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    elif (torch := sys.modules.get("torch")) is not None and isinstance(a, torch.Tensor):
        t = a.detach().cpu().contiguous()
        h.update(str(t.dtype).encode() + str(tuple(t.shape)).encode())
        h.update(t.flatten().view(torch.uint8).numpy().tobytes())  # any dtype, bit for bit
    elif isinstance(a, dict | list | tuple | str | int | float | bool) or a is None:
        h.update(json.dumps(a, sort_keys=True, default=str).encode())
    else:
        h.update(repr(a).encode())


def data_hash(*objects: Any, length: int = 16) -> str:
    """Short sha256 of arrays, DataArrays (values and coords), tensors and JSON-able values, in order."""
    h = hashlib.sha256()
    for a in objects:
        h.update(b"|")
        _update(h, a)
    return h.hexdigest()[:length]


def state_hash(state: dict, length: int = 16) -> str:
    """Hash of a ``state_dict`` (names, dtypes and bytes of every tensor)."""
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        _update(h, state[name])
    return h.hexdigest()[:length]


def file_hash(path: str | os.PathLike, length: int = 16) -> str:
    """sha256 of a file's bytes, or of every file below a folder (relative names and bytes)."""
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda fh=fh: fh.read(_CHUNK), b""):
                h.update(chunk)
    return h.hexdigest()[:length]


@functools.cache
def source_hash(length: int = 16) -> str:
    """Hash of the installed neurosafe package's source (every ``.py`` file and the data files shipped with it,
    such as schemas and scenarios; not byte code), computed once per process."""
    return _tree_hash(Path(__file__).resolve().parents[1], length)


def _tree_hash(root: Path, length: int = 16) -> str:
    h = hashlib.sha256()
    for f in sorted(f for f in root.rglob("*") if f.is_file() and "__pycache__" not in f.parts
                    and f.suffix not in (".pyc", ".pyo")):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:length]


def stable_int(*parts: Any) -> int:
    """A 63-bit integer that depends only on ``parts`` (stable across processes, unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little") & (2**63 - 1)
