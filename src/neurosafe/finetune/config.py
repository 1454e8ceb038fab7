"""A regularizer's settings without torch: a study's configuration is read (and its cache key computed)
without importing the regularizers (:mod:`neurosafe.finetune.regularizers`), which is what a cached re-run
needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from torch import nn

    from neurosafe.finetune.targets import NeuralTargets

__all__ = ["RegularizerConfig"]


class RegularizerConfig(BaseModel):
    """A regularizer's settings (the ``regularizer:`` section of a study); ``site`` None: the caller's default."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["rsa", "cka", "prediction"] = "rsa"
    site: str | None = Field(None, description="layer to regularize")
    weight: float = Field(1.0, ge=0)
    batch_size: int = Field(32, ge=4)
    warmup_epochs: int = Field(0, ge=0)

    def build(self, model: nn.Module, targets: NeuralTargets, site: str | None = None):
        """The regularizer on ``model`` (at ``self.site``, else ``site``) towards ``targets``."""
        from neurosafe.finetune.regularizers import make_regularizer

        return make_regularizer(self.kind, model, self.site or site, targets, weight=self.weight,
                                batch_size=self.batch_size, warmup_epochs=self.warmup_epochs)
