"""Content-addressed cache of a study's expensive intermediates (recordings, twins, networks, scores).

A key is the sha256 of the stage name, its inputs (config subset, upstream keys) and the package version,
so a changed input never reuses a stale result, and a killed run resumes by finding its finished stages.
Writes are atomic; ``enabled=False`` (``--no-cache``) recomputes everything and overwrites.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

import neurosafe
from neurosafe.core.io import atomic_path

__all__ = ["StageCache"]


class StageCache:
    """Files under ``root`` named ``<stage>-<key>.<ext>``."""

    def __init__(self, root: str | Path, enabled: bool = True):
        self.root = Path(root)
        self.enabled = enabled
        self.root.mkdir(parents=True, exist_ok=True)
        self.hits: list[str] = []

    @staticmethod
    def key(stage: str, **inputs: Any) -> str:
        payload = json.dumps({"stage": stage, "version": neurosafe.__version__, **inputs}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def path(self, stage: str, key: str, ext: str) -> Path:
        return self.root / f"{stage}-{key}.{ext}"

    def has(self, path: Path) -> bool:
        found = self.enabled and path.exists()
        if found:
            self.hits.append(path.name)
        return found

    def load_json(self, path: Path) -> Any:
        return json.loads(path.read_text())

    def save_json(self, path: Path, obj: Any) -> None:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(obj, indent=1, sort_keys=True))

    def load_state(self, path: Path) -> dict:
        return torch.load(path, weights_only=True)

    def save_state(self, path: Path, state: dict) -> None:
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
