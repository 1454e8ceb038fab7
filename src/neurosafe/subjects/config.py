"""Training settings without torch: a study's configuration is read (and its cache key computed) without
importing the training loop (:mod:`neurosafe.subjects.training`), which is what a cached re-run needs."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from neurosafe.core.config import StrictConfig
from neurosafe.core.errors import DataValidationError, NeurosafeError

__all__ = ["TrainConfig"]


class TrainConfig(StrictConfig):
    """Optimisation settings shared by every training loop (Adam): ``epochs`` (the maximum, where a loop
    stops early), ``batch_size``, ``lr``, ``weight_decay``, ``device`` (``"auto"``: a CUDA GPU when
    present) and ``progress`` (False: silent; otherwise :mod:`neurosafe.core.progress`, off under
    ``--json``). Frozen; bad values raise ``error``."""

    error: ClassVar[type[NeurosafeError]] = DataValidationError

    epochs: int = Field(10, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    device: str = "auto"
    progress: bool | None = None

    @field_validator("device")
    @classmethod
    def _known_device(cls, v: str) -> str:
        if v.split(":")[0] not in ("auto", "cpu", "cuda", "mps"):
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda[:N]' or 'mps'; got {v!r}")
        return v
