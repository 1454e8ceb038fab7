"""Study configuration: a YAML file validated by pydantic (unknown keys and wrong types are errors).

The default study (``neurosafe run`` with no file) asks the question of paper section 6: does training a
network with brain data make it safer? The synthetic brain is recorded, a digital twin is fitted to the
recording and used as a denoiser that supplies targets for new stimuli (Li et al. 2019), task networks are
trained as baseline, brain-regularized and controls (Federer et al. 2020), and every network is evaluated
for robustness and brain alignment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator

from neurosafe.core.errors import NeurosafeError
from neurosafe.finetune.config import RegularizerConfig
from neurosafe.subjects.config import TrainConfig
from neurosafe.twin.config import TwinConfig, TwinTrainConfig

__all__ = ["StudyConfig", "StudyConfigError", "load_study"]


class StudyConfigError(NeurosafeError):
    """A study file that is not valid YAML or breaks the schema; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BrainConfig(_Strict):
    area: Literal["V1", "V4"] = "V1"
    n_neurons: int = Field(100, ge=4)
    image_size: int = Field(32, ge=16)
    seed: int = 0


class RecordingConfig(_Strict):
    n_train: int = Field(1500, ge=50, description="stimuli recorded to fit the twin")
    repeats_train: int = Field(2, ge=1)
    n_test: int = Field(300, ge=20, description="held-out stimuli for alignment scores")
    repeats_test: int = Field(10, ge=2)


class TwinStageConfig(_Strict):
    """The twin stage: ``config`` is the twin package's own ``TwinConfig`` (as ``neurosafe twin fit`` reads it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    enabled: bool = True
    n_target_stimuli: int = Field(1000, ge=20, description="new stimuli the twin labels as regularizer targets")
    config: TwinConfig = TwinConfig(train=TwinTrainConfig(epochs=40, progress=False))

    @field_validator("config", mode="before")
    @classmethod
    def _twin(cls, v: object) -> TwinConfig:
        return v if isinstance(v, TwinConfig) else TwinConfig.from_dict(v)

    @field_serializer("config")
    def _dump(self, v: TwinConfig) -> dict:
        return v.to_dict()


class TaskConfig(_Strict):
    """The task networks: zoo ``model`` on ``dataset``, trained with finetune's ``train`` settings."""

    dataset: Literal["digits"] = "digits"
    model: str = "cnn_small"
    n_test: int = Field(500, ge=50)
    train: TrainConfig = TrainConfig(epochs=8, batch_size=64, lr=2e-3, progress=False)


class EvaluationConfig(_Strict):
    pgd_eps: list[float] = Field(default_factory=lambda: [0.0, 1 / 255, 2 / 255, 4 / 255, 8 / 255])
    pgd_steps: int = Field(10, ge=1)
    corruptions: list[str] = Field(default_factory=lambda: ["gaussian_noise", "gaussian_blur", "contrast"])
    severity: int = Field(3, ge=1, le=5)
    n_eval: int = Field(300, ge=20)
    n_boot: int = Field(500, ge=0)
    pool: int | None = Field(4, ge=1, description="adaptive average pooling of conv sites to k x k for "
                                                      "alignment (None: every unit)")

    @field_validator("pgd_eps")
    @classmethod
    def _eps(cls, v: list[float]) -> list[float]:
        if not v or any(e < 0 for e in v):
            raise ValueError("pgd_eps must be a non-empty list of non-negative numbers")
        return sorted(v)


class StudyConfig(_Strict):
    """The whole study. ``data`` replaces the synthetic brain by a real recording (.nc with stimuli).

    The ``twin.config``, ``task.train`` and ``regularizer`` sections are the path packages' own config models
    (``neurosafe.twin.TwinConfig``, ``neurosafe.finetune.TrainConfig``, ``neurosafe.finetune.RegularizerConfig``).
    ``device`` ("auto": a GPU when present) is where the networks are evaluated; the twin follows its own
    ``twin.config.train.device`` (also "auto" by default).
    """

    name: str = "default"
    seed: int = 0
    device: str = "auto"
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    data: Path | None = None
    brain: BrainConfig = BrainConfig()
    recording: RecordingConfig = RecordingConfig()
    twin: TwinStageConfig = TwinStageConfig()
    task: TaskConfig = TaskConfig()
    regularizer: RegularizerConfig = RegularizerConfig(weight=10.0)
    controls: list[Literal["shuffled", "matched"]] = Field(default_factory=lambda: ["shuffled", "matched"])
    evaluation: EvaluationConfig = EvaluationConfig()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v or "/" in v or v.startswith("."):
            raise ValueError("name must be a plain folder name")
        return v

    @field_validator("data")
    @classmethod
    def _data_exists(cls, v: Path | None) -> Path | None:
        if v is not None and not v.exists():
            raise ValueError(f"data file not found: {v}")
        return v


def _explain(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = "unknown key" if e["type"] in ("extra_forbidden", "unexpected_keyword_argument") else e["msg"]
        lines.append(f"{key}: {msg}")
    return "; ".join(lines)


def load_study(path: str | Path | None = None, **overrides) -> StudyConfig:
    """Read and validate a study YAML file (``None``: the default study); ``overrides`` set top-level keys."""
    raw: dict = {}
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise StudyConfigError(f"study file not found: {path}")
        try:
            raw = yaml.safe_load(path.read_text())
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise StudyConfigError(f"{path} is not valid YAML (a study file is YAML): {first}") from err
        if raw is None:
            raise StudyConfigError(f"{path} is empty; a study file holds study keys (name, seeds, brain, ...)")
        if not isinstance(raw, dict):
            raise StudyConfigError(f"{path} must hold a mapping of study keys; got {type(raw).__name__}")
        if raw.get("data") is not None:
            data = Path(raw["data"])
            raw["data"] = str(data if data.is_absolute() else (path.parent / data))
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return StudyConfig.model_validate(raw)
    except ValidationError as err:
        where = f"{path}: " if path else ""
        raise StudyConfigError(f"{where}invalid study: {_explain(err)}") from err
