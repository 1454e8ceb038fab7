"""Content-addressed cache of a study's expensive intermediates (recordings, twins, networks, scores).

A key is the sha256 of the stage name, its inputs (config subset, upstream keys, data hashed by content)
and the hash of neurosafe's source (``core.hashing.source_hash``), so changed inputs or edited code never
reuse a stale result, and a killed run resumes by finding its finished stages. Writes are atomic; an entry
that cannot be read back is reported in one line and recomputed. ``enabled=False`` (``--no-cache``)
recomputes everything, checkpoints included, and overwrites.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from neurosafe.core.checkpoint import read_or_none
from neurosafe.core.hashing import data_hash, file_hash, source_hash
from neurosafe.core.io import load_json, load_state, save_json, save_state

__all__ = ["StageCache", "cached_results", "save_study_entry", "scores_from_state", "scores_to_state", "study_key"]


class StageCache:
    """Files under ``root`` named ``<stage>-<key>.<ext>``."""

    def __init__(self, root: str | Path, enabled: bool = True):
        self.root = Path(root)
        self.enabled = enabled
        self.root.mkdir(parents=True, exist_ok=True)
        self.hits: list[str] = []

    @staticmethod
    def key(stage: str, **inputs: Any) -> str:
        return data_hash(stage, source_hash(), inputs)

    def path(self, stage: str, key: str, ext: str) -> Path:
        return self.root / f"{stage}-{key}.{ext}"

    def has(self, path: Path) -> bool:
        found = self.enabled and path.exists()
        if found:
            self.hits.append(path.name)
        return found

    def read(self, path: Path, reader: Callable[[Path], Any]) -> Any:
        """``reader(path)``, or None (one-line warning) when the entry is corrupt: the caller recomputes it."""
        value = read_or_none(path, reader)
        if value is None and path.name in self.hits:
            self.hits.remove(path.name)
        return value

    def load_json(self, path: Path) -> Any:
        return self.read(path, load_json)

    save_json = staticmethod(save_json)

    def load_state(self, path: Path) -> dict | None:
        return self.read(path, load_state)

    save_state = staticmethod(save_state)


def scores_to_state(scores: dict[tuple, Any]) -> dict:
    """A network's Scores ({(metric, site, eps): Score}) as a ``save_state`` dict: each Score's JSON record
    (``Score.to_dict(per_unit=False)``) and its bootstrap replicates (kept so that cached Scores still pair)."""
    import torch

    entries = []
    for key, score in scores.items():
        reps = None if score.replicates is None else torch.from_numpy(np.asarray(score.replicates, dtype=float))
        entries.append({"key": list(key), "score": json.dumps(score.to_dict(per_unit=False)), "replicates": reps})
    return {"scores": entries}


def scores_from_state(state: dict) -> dict[tuple, Any]:
    """The inverse of :func:`scores_to_state` (per-unit values are not cached)."""
    from neurosafe.study.results import score_from_dict

    out = {}
    for entry in state["scores"]:
        score = score_from_dict(json.loads(entry["score"]))
        reps = entry["replicates"]
        out[tuple(entry["key"])] = replace(score, replicates=None if reps is None else reps.numpy())
    return out


def study_key(cfg: Any) -> str:
    """Key of a whole study: its config, its data file by content and neurosafe's source. Every stage is a
    deterministic function of these, so a hit stands for every stage's hit (the fast path of a re-run)."""
    return StageCache.key("study", config=cfg.model_dump(mode="json"), data=file_hash(cfg.data) if cfg.data else None)


def save_study_entry(cache: StageCache, cfg: Any, results: Any) -> None:
    """Store a finished study's results (without this invocation's ``run`` record) under :func:`study_key`."""
    raw = results.to_dict()
    run = raw.pop("run", {})
    cache.save_json(cache.path("study", study_key(cfg), "json"), {"results": raw, "computed": run.get("computed")})


def cached_results(cfg: Any, folder: Path, backend: str = "local", workers: int | None = None,
                   started: float | None = None) -> Any:
    """A fully cached study without running a stage (nor importing the runner and its models): the stored
    results, ``run`` set for this invocation (the first computation's provenance kept in ``computed``), written
    to ``folder/results.json``. None when the study is not cached (or its entry cannot be read)."""
    import time

    start = time.perf_counter() if started is None else started
    cache = StageCache(folder / "cache")
    path = cache.path("study", study_key(cfg), "json")
    entry = cache.load_json(path) if cache.has(path) else None
    if not isinstance(entry, dict) or "results" not in entry:
        return None
    from neurosafe.study.results import StudyResults

    results = StudyResults.from_dict(entry["results"])
    results.info["run"] = {"wall_time_s": round(time.perf_counter() - start, 1), "cache_hits": len(cache.hits),
                           "backend": backend, "workers": workers, "computed": entry["computed"], "study_cache": True}
    results.save(folder / "results.json")
    return results
