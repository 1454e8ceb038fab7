"""A study's ``results.json``: Score records keyed by (metric, site, eps, condition, training seed), and the
paired effects of brain-data training (records with ``versus``), read back by :func:`load_results`.

The file's layout is ``results.schema.json`` (JSON Schema, shipped with the package). Readers look scores
up by their structured keys; nothing parses metric names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from neurosafe.core.errors import DataFileError
from neurosafe.core.io import load_json, save_json
from neurosafe.metrics import Score

__all__ = ["SCHEMA", "ScoreRecord", "StudyResults", "load_results", "results_schema", "score_from_dict"]

SCHEMA = "neurosafe.study.results/1"


def results_schema() -> dict:
    """The JSON Schema of ``results.json``."""
    return json.loads(resources.files("neurosafe.study").joinpath("results.schema.json").read_text())


def score_from_dict(d: dict) -> Score:
    """A Score from its ``to_dict`` record (no per-unit values, no replicates)."""
    nan = float("nan")
    return Score(value=nan if d["value"] is None else d["value"], ceiling=d.get("ceiling"),
                 ceiled_value=d.get("ceiled_value"), ci=None if d.get("ci") is None else tuple(d["ci"]),
                 higher_is_better=d.get("higher_is_better", True), provenance=d.get("provenance") or {},
                 n=d.get("n"), method=d.get("method"), plugin=d.get("plugin"))


@dataclass(frozen=True)
class ScoreRecord:
    """One metric of one condition: a single network (``training_seed``) or the mean over seeds (None); with
    ``versus``, an effect: ``condition`` minus ``versus`` (means over seeds) with a paired-bootstrap CI."""

    metric: str
    condition: str
    score: Score
    site: str | None = None
    eps: float | None = None
    training_seed: int | None = None
    versus: str | None = None

    def to_dict(self) -> dict:
        return {**{k: getattr(self, k) for k in _KEYS}, "score": self.score.to_dict(per_unit=False)}

    @classmethod
    def from_dict(cls, d: dict) -> ScoreRecord:
        return cls(score=score_from_dict(d["score"]), **{k: d.get(k) for k in _KEYS})


_KEYS = ("metric", "condition", "site", "eps", "training_seed", "versus")


def _match(record: ScoreRecord, metric: str, site: str | None, eps: float | None) -> bool:
    return (record.metric == metric and record.site == site
            and (eps is None if record.eps is None else eps is not None and abs(record.eps - eps) < 1e-12))


@dataclass(frozen=True)
class StudyResults:
    """What a study found: ``scores`` and ``effects`` records plus the run's description (``info``: name,
    seeds, conditions, sites, targets, config, provenance, run)."""

    scores: list[ScoreRecord]
    effects: list[ScoreRecord]
    info: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.info[key]

    def score(self, metric: str, condition: str, site: str | None = None, eps: float | None = None,
              training_seed: int | None = None) -> Score:
        """The Score of ``condition`` on ``metric`` (the mean over seeds unless ``training_seed``)."""
        for r in self.scores:
            if _match(r, metric, site, eps) and r.condition == condition and r.training_seed == training_seed:
                return r.score
        raise KeyError(f"no score {metric} (site={site}, eps={eps}) for {condition}, seed {training_seed}")

    def effects_of(self, metric: str, site: str | None = None, eps: float | None = None) -> list[ScoreRecord]:
        """The effects on ``metric``, one per control condition (empty when the study had no bootstrap)."""
        return [e for e in self.effects if _match(e, metric, site, eps)]

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, **self.info, "scores": [r.to_dict() for r in self.scores],
                "effects": [e.to_dict() for e in self.effects]}

    def save(self, path: str | Path) -> Path:
        save_json(Path(path), self.to_dict())
        return Path(path)

    @classmethod
    def from_dict(cls, raw: dict) -> StudyResults:
        """The inverse of :meth:`to_dict`."""
        info = {k: v for k, v in raw.items() if k not in ("schema", "scores", "effects")}
        return cls([ScoreRecord.from_dict(d) for d in raw["scores"]],
                   [ScoreRecord.from_dict(d) for d in raw["effects"]], info)


def load_results(folder_or_file: str | Path) -> StudyResults:
    """Read a study's ``results.json`` (or the run folder holding it) into typed records."""
    path = Path(folder_or_file)
    path = path / "results.json" if path.is_dir() else path
    if not path.is_file():
        raise DataFileError(f"no study results at {path}")
    raw = load_json(path)  # invalid JSON: CorruptFileError, a DataFileError
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise DataFileError(f"{path} is not a study results file of schema {SCHEMA}")
    return StudyResults.from_dict(raw)
