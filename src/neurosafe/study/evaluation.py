"""Evaluate one trained network for a study: per-image robustness outcomes and per-stimulus features.

Everything is kept per unit (image or stimulus), so ``neurosafe.study.effects`` scores every network with
``neurosafe.metrics`` on shared bootstrap resamples and pairs the differences between conditions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr
from torch import nn

from neurosafe.data.stimuli import StimulusSet
from neurosafe.metrics import align_features
from neurosafe.robust import corrupt, pgd
from neurosafe.subjects import TorchSubject

__all__ = ["EvaluationData", "evaluate_network"]


@dataclass(frozen=True)
class EvaluationData:
    """Task images/labels for robustness, held-out brain stimuli/responses for alignment."""

    x: torch.Tensor
    y: torch.Tensor
    stimuli: StimulusSet
    responses: xr.DataArray
    sites: tuple[str, ...]
    pgd_eps: tuple[float, ...]
    pgd_steps: int
    corruptions: tuple[str, ...]
    severity: int
    pool: int | None = None


@torch.no_grad()
def _correct_and_probs(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    probs = torch.softmax(model(x), dim=1)
    return (probs.argmax(1) == y).cpu().numpy(), probs.cpu().numpy()


def evaluate_network(model: nn.Module, data: EvaluationData, seed: int = 0, device: str | torch.device = "cpu"
                     ) -> dict[str, np.ndarray]:
    """Per-image correctness (clean, PGD at each eps, each corruption), clean probabilities and labels, and
    per site the features of the held-out brain stimuli (stimulus, feature) in the responses' order."""
    model = model.to(device).eval()
    x, y = data.x.to(device), data.y.to(device)
    correct, probs = _correct_and_probs(model, x, y)
    out: dict[str, np.ndarray] = {"correct_clean": correct, "probs": probs, "labels": data.y.numpy()}
    out["correct_pgd"] = np.stack([
        _correct_and_probs(model, x if eps == 0 else pgd(model, x, y, eps=eps, steps=data.pgd_steps, seed=seed), y)[0]
        for eps in data.pgd_eps])
    out["correct_corrupt"] = np.stack([
        _correct_and_probs(model, torch.as_tensor(corrupt(data.x, kind, data.severity, seed=seed)).to(device), y)[0]
        for kind in data.corruptions])
    subject = TorchSubject(model, device=device, pool=data.pool, progress=False)
    for site in data.sites:
        out[f"features/{site}"] = align_features(subject.respond(data.stimuli, site), data.responses)
    return out
