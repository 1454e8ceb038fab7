"""Checkpoints that resume only the run that wrote them, and cache reads that survive corrupt files.

A checkpoint stores a fingerprint of its run (configuration, data, seed and neurosafe's source, see
:func:`fingerprint`). :func:`load_checkpoint` returns it only under the same fingerprint; a checkpoint of
another run, or one that is truncated or corrupt, is not resumed: the run starts fresh after a one-line
:class:`StaleCheckpointWarning` (the new run then overwrites it). :func:`read_or_none` gives cache readers
the same recovery: an unreadable entry is reported in one line and recomputed, never a traceback.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from neurosafe.core.errors import DataFileError
from neurosafe.core.hashing import data_hash, source_hash
from neurosafe.core.io import load_state, save_state

__all__ = ["StaleCheckpointWarning", "fingerprint", "load_checkpoint", "read_or_none", "save_checkpoint"]

T = TypeVar("T")
KEY = "fingerprint"


class StaleCheckpointWarning(UserWarning):
    """A checkpoint or cache entry that was not used (another run's, or unreadable); it is recomputed."""


def fingerprint(*parts: Any) -> str:
    """Identity of a run: a hash of ``parts`` (config, data, seed; anything ``data_hash`` takes) and of the
    package source, so a checkpoint written by other code or for other inputs never resumes."""
    return data_hash("neurosafe-checkpoint", source_hash(), *parts)


def save_checkpoint(path: str | os.PathLike, state: dict, fingerprint: str) -> Path:
    """Write ``state`` (tensors and plain values) with its run's ``fingerprint``, atomically."""
    return save_state(path, {**state, KEY: fingerprint})


def read_or_none(path: str | os.PathLike, reader: Callable[[Path], T], what: str = "cache entry") -> T | None:
    """``reader(path)``; None with a one-line warning when the file is corrupt (a ``DataFileError``, e.g.
    :class:`~neurosafe.core.io.CorruptFileError`), so the caller recomputes it."""
    try:
        return reader(Path(path))
    except DataFileError as err:
        warnings.warn(f"{what} {path} is unreadable and will be recomputed: {str(err).splitlines()[0]}",
                      StaleCheckpointWarning, stacklevel=3)
        return None


def load_checkpoint(path: str | os.PathLike, fingerprint: str, map_location: Any = "cpu") -> dict | None:
    """The state saved at ``path`` when it exists, is readable and carries ``fingerprint``; else None (a
    missing file silently; an unreadable one or another run's with a one-line warning)."""
    path = Path(path)
    if not path.exists():
        return None
    state = read_or_none(path, lambda p: load_state(p, map_location=map_location), "checkpoint")
    if state is None:
        return None
    if not isinstance(state, dict) or state.get(KEY) != fingerprint:
        warnings.warn(f"checkpoint {path} belongs to another run (its configuration, data, seed or code "
                      "differ); starting fresh", StaleCheckpointWarning, stacklevel=2)
        return None
    return state
