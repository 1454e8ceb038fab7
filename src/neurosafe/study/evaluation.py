"""Evaluate one trained network for a study: per-image robustness outcomes and per-stimulus alignment data.

Everything is kept per unit (image or stimulus) so the study can bootstrap paired differences between
conditions (``neurosafe.study.effects``) instead of comparing summary numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr
from torch import nn

from neurosafe.data.recording import trial_average
from neurosafe.data.stimuli import StimulusSet
from neurosafe.metrics import RidgeCVMapping, cross_validated_predictions, rdm, stimulus_folds
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

    @property
    def brain_mean(self) -> np.ndarray:
        return trial_average(self.responses).values


@torch.no_grad()
def _correct_and_probs(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    probs = torch.softmax(model(x), dim=1)
    return (probs.argmax(1) == y).numpy(), probs.numpy()


def evaluate_network(model: nn.Module, data: EvaluationData, seed: int = 0) -> dict[str, np.ndarray]:
    """Per-image correctness (clean, PGD at each eps, each corruption), clean probabilities, and per site the
    model RDM (correlation distance) and cross-validated ridge predictions of the held-out brain responses."""
    model.eval()
    correct, probs = _correct_and_probs(model, data.x, data.y)
    out: dict[str, np.ndarray] = {"correct_clean": correct, "probs": probs}
    pgd_rows = []
    for eps in data.pgd_eps:
        x_adv = data.x if eps == 0 else pgd(model, data.x, data.y, eps=eps, steps=data.pgd_steps, seed=seed)
        pgd_rows.append(_correct_and_probs(model, x_adv, data.y)[0])
    out["correct_pgd"] = np.stack(pgd_rows)
    out["correct_corrupt"] = np.stack([
        _correct_and_probs(model, torch.as_tensor(corrupt(data.x, kind, data.severity, seed=seed)), data.y)[0]
        for kind in data.corruptions])
    subject = TorchSubject(model, device="cpu", pool=data.pool, progress=False)
    brain = data.brain_mean
    folds = stimulus_folds(len(brain), n_folds=5, seed=seed)
    for site in data.sites:
        feats = subject.respond(data.stimuli, site)
        out[f"rdm/{site}"] = rdm(feats, distance="correlation").values
        pred, _ = cross_validated_predictions(feats.values, brain, folds, RidgeCVMapping(cv="loo"))
        out[f"pred/{site}"] = pred
    return out
