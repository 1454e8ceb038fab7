"""Files of installed data packages, located through their installed-files record (the package is never
imported) and read with clear errors for a missing package or a malformed file."""

from __future__ import annotations

import csv
import importlib.metadata
import json
from pathlib import Path

from neurosafe.core.errors import DataFileError

__all__ = ["MissingDataPackageError", "package_file", "read_csv_rows", "read_json"]


class MissingDataPackageError(DataFileError):
    """A connectome's data package is not installed (or lacks the expected file)."""


def package_file(distribution: str, relative: str) -> Path:
    """Path of a file installed by ``distribution`` (looked up in its installed-files record, so the package
    itself is never imported)."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as err:
        raise MissingDataPackageError(
            f"the data package {distribution!r} is not installed; install it without its heavy dependencies "
            f"with `pip install --no-deps {distribution}` (see README, 'Connectomes')"
        ) from err
    for f in dist.files or []:
        if f.as_posix() == relative:
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                return path
    raise MissingDataPackageError(
        f"{distribution} {dist.version} has no file {relative!r}; reinstall it with "
        f"`pip install --no-deps --force-reinstall {distribution}`"
    )


def read_json(path: Path) -> dict:
    """A JSON object from ``path``; a missing, unreadable or non-object file raises :class:`DataFileError`."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataFileError(f"cannot read connectome file {path}: {err}") from err
    if not isinstance(data, dict):
        raise DataFileError(f"connectome file {path} must hold a JSON object; got {type(data).__name__}")
    return data


def read_csv_rows(path: Path, columns: tuple[str, ...]) -> list[dict]:
    """Rows of a CSV file as dicts; the file must have the given ``columns``."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise DataFileError(f"{path} lacks the columns {missing} (has {reader.fieldnames})")
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataFileError(f"cannot read {path}: {err}") from err
