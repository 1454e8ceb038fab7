"""Neural targets for brain-data finetuning, and the controls every such experiment needs.

Federer et al. 2020 showed that regularizing towards random targets with the same statistics can help as
much as real brain data, so an effect of brain data only counts when it beats: targets with stimulus
identities permuted (``shuffled``), targets with the same eigenspectrum and neuron covariance but random
stimulus structure (``statistics_matched``), and no regularizer at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import xarray as xr

from neurosafe.core.errors import DataValidationError
from neurosafe.data.recording import trial_average
from neurosafe.data.stimuli import StimulusSet

__all__ = ["CONTROLS", "NeuralTargets", "make_control", "shuffled", "statistics_matched"]

CONTROLS = ("shuffled", "matched")


@dataclass(frozen=True)
class NeuralTargets:
    """Paired stimuli (n, C, H, W) and target responses (n, neurons), both float32 tensors."""

    stimuli: torch.Tensor
    responses: torch.Tensor
    source: str = "recording"

    def __post_init__(self) -> None:
        if self.stimuli.ndim != 4 or self.responses.ndim != 2 or len(self.stimuli) != len(self.responses):
            raise DataValidationError(
                f"targets need stimuli (n, C, H, W) and responses (n, neurons) with the same n; got "
                f"{tuple(self.stimuli.shape)} and {tuple(self.responses.shape)}"
            )
        if len(self.stimuli) < 4:
            raise DataValidationError(f"need at least 4 target stimuli; got {len(self.stimuli)}")
        if not torch.isfinite(self.responses).all():
            raise DataValidationError("target responses contain NaN or inf")

    @classmethod
    def from_responses(cls, stimuli: StimulusSet, responses: xr.DataArray, source: str = "recording") -> NeuralTargets:
        """Targets from a recording (repeats averaged) or a subject's responses, aligned by stimulus id."""
        mean = trial_average(responses)
        stimuli = stimuli.aligned_to(mean)
        return cls(torch.from_numpy(stimuli.images.copy()), torch.as_tensor(mean.values, dtype=torch.float32), source)

    def __len__(self) -> int:
        return len(self.stimuli)


def shuffled(targets: NeuralTargets, seed: int = 0) -> NeuralTargets:
    """Control: the same target rows, assigned to permuted stimuli (one fixed permutation)."""
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(targets), generator=g)
    return NeuralTargets(targets.stimuli, targets.responses[perm], "shuffled")


def statistics_matched(targets: NeuralTargets, seed: int = 0) -> NeuralTargets:
    """Control: R' = mean + U' S V^T with U' a random orthonormal basis: same mean, neuron covariance and
    eigenspectrum as the targets, but stimulus structure unrelated to the images."""
    r = targets.responses.double()
    mean = r.mean(0, keepdim=True)
    _, s, vt = torch.linalg.svd(r - mean, full_matrices=False)
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(r.shape[0], len(s), generator=g, dtype=torch.float64)
    z = z - z.mean(0, keepdim=True)  # keep the random basis orthogonal to the constant vector
    q, _ = torch.linalg.qr(z)
    return NeuralTargets(targets.stimuli, (mean + q @ torch.diag(s) @ vt).float(), "matched")


def make_control(kind: str, targets: NeuralTargets, seed: int = 0) -> NeuralTargets:
    """``shuffled`` or ``matched`` control targets."""
    if kind == "shuffled":
        return shuffled(targets, seed)
    if kind == "matched":
        return statistics_matched(targets, seed)
    raise DataValidationError(f"unknown control {kind!r}; choose from {CONTROLS}")
