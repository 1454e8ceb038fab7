"""Neural regularizers: penalties that pull a network layer towards brain data, read through the
``DifferentiableSubject`` protocol (``activations``).

- :class:`RSARegularizer`: 1 - Pearson correlation between the layer's and the brain's correlation-distance
  RDMs on a batch of paired stimuli (Li et al. 2019, "Learning from brains how to regularize machines").
- :class:`CKARegularizer`: 1 - linear CKA between layer activations and neural responses (Kornblith et al.
  2019; used for brain alignment by Dapello et al. 2023).
- :class:`PredictionRegularizer`: a linear readout from the layer to the recorded neurons, trained jointly
  with the task on z-scored responses (multitask neural prediction, Safarani et al. 2021).

Each draws its own batch of target stimuli per step; weights may warm up linearly over epochs.
Targets come from a recording or from a digital twin queried on new stimuli (the twin as denoiser).
"""

from __future__ import annotations

import torch
from torch import nn

from neurosafe.core.errors import DataValidationError
from neurosafe.finetune.targets import NeuralTargets
from neurosafe.metrics import torch as tm
from neurosafe.subjects import SiteError, as_differentiable

__all__ = ["CKARegularizer", "PredictionRegularizer", "RSARegularizer", "make_regularizer"]

_EPS = 1e-8  # keeps correlation distances finite when a pattern in the batch is constant


class _SiteRegularizer:
    """Common part: a site, targets, a weight with optional linear warm-up, a batch size."""

    kind = "site"

    def __init__(self, model: nn.Module, site: str, targets: NeuralTargets, weight: float = 1.0,
                 batch_size: int = 32, warmup_epochs: int = 0):
        if weight < 0 or batch_size < 4 or warmup_epochs < 0:
            raise DataValidationError("need weight >= 0, batch_size >= 4, warmup_epochs >= 0; "
                                      f"got {weight}, {batch_size}, {warmup_epochs}")
        self.subject = as_differentiable(model, device="cpu")
        if site not in self.subject.sites:
            raise SiteError(f"unknown regularizer site {site!r}; sites include {list(self.subject.sites)[:12]}")
        self.site = site
        self.targets, self.weight, self.warmup = targets, weight, warmup_epochs
        self.batch_size = min(batch_size, len(targets))
        self.name = f"{self.kind}_{self.site}".replace(".", "_")

    def weight_at(self, epoch: int) -> float:
        return self.weight * (min(1.0, (epoch + 1) / self.warmup) if self.warmup else 1.0)

    def extra_modules(self) -> nn.ModuleDict:
        return nn.ModuleDict()

    def _batch(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randperm(len(self.targets), generator=generator)[: self.batch_size]
        device = next(self.subject.model.parameters()).device  # where the training loop put the model
        act = self.subject.activations(self.targets.stimuli[idx].to(device), [self.site])[self.site].flatten(1)
        return act, self.targets.responses[idx].to(device)


class RSARegularizer(_SiteRegularizer):
    kind = "rsa"

    def penalty(self, model: nn.Module, generator: torch.Generator) -> torch.Tensor:
        act, target = self._batch(generator)
        rdms = [tm.rdm(v, "correlation", eps=_EPS) for v in (act, target)]
        return 1 - tm.compare_rdms(*rdms, method="pearson")


class CKARegularizer(_SiteRegularizer):
    kind = "cka"

    def penalty(self, model: nn.Module, generator: torch.Generator) -> torch.Tensor:
        act, target = self._batch(generator)
        return 1 - tm.cka(act, target)


class PredictionRegularizer(_SiteRegularizer):
    kind = "prediction"

    def __init__(self, model: nn.Module, site: str, targets: NeuralTargets, **kwargs):
        super().__init__(model, site, targets, **kwargs)
        with torch.no_grad():
            width = self.subject.activations(targets.stimuli[:2], [self.site])[self.site].flatten(1).shape[1]
        g = torch.Generator().manual_seed(0)
        self.head = nn.Linear(width, targets.responses.shape[1])
        with torch.no_grad():
            self.head.weight.copy_(torch.randn(self.head.weight.shape, generator=g) / width**0.5)
            self.head.bias.zero_()
        r = targets.responses
        self._mean, self._sd = r.mean(0), r.std(0).clamp_min(1e-6)

    def extra_modules(self) -> nn.ModuleDict:
        return nn.ModuleDict({"head": self.head})

    def penalty(self, model: nn.Module, generator: torch.Generator) -> torch.Tensor:
        act, target = self._batch(generator)
        mean, sd = self._mean.to(target.device), self._sd.to(target.device)
        return nn.functional.mse_loss(self.head(act), (target - mean) / sd)


_KINDS = {"rsa": RSARegularizer, "cka": CKARegularizer, "prediction": PredictionRegularizer}


def make_regularizer(kind: str, model: nn.Module, site: str, targets: NeuralTargets, **kwargs):
    """Build a regularizer by name: ``rsa``, ``cka`` or ``prediction``."""
    if kind not in _KINDS:
        raise DataValidationError(f"unknown regularizer {kind!r}; choose from {sorted(_KINDS)}")
    return _KINDS[kind](model, site, targets, **kwargs)
