"""How fragile is a twin? Worst-case vs random small perturbations of its input.

Brain models, twins included, can be moved far by tiny, targeted input changes that would barely move
a brain (McNeal & Ratan Murty 2025). :func:`twin_fragility` measures, per stimulus, how much the
predicted population response changes under an L-infinity perturbation of size ``epsilon`` found by
projected gradient ascent (Madry et al. 2018; a fixed-step PGD with a random start, not the stronger
attacks of ``neurosafe.robust``) and under random sign perturbations of the same L-infinity size.
The change is the root-mean-square over neurons of the response difference in units of each neuron's
standard deviation across the given stimuli, so 1 means "as much as a typical change of stimulus".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from neurosafe.core.hooks import eval_mode
from neurosafe.data.stimuli import StimulusSet
from neurosafe.subjects import DifferentiableSubject, NotDifferentiableError, as_differentiable, network
from neurosafe.twin.errors import TwinError

__all__ = ["FragilityResult", "twin_fragility"]


@dataclass(frozen=True)
class FragilityResult:
    """Per-stimulus response changes (adversarial, mean over random draws) and their ratio of means."""

    epsilon: float
    adversarial: np.ndarray
    random: np.ndarray

    @property
    def ratio(self) -> float:
        """Mean adversarial change / mean random change (> 1: directions exist that move the twin more)."""
        return float(self.adversarial.mean() / self.random.mean())

    def to_dict(self) -> dict:
        return {"epsilon": self.epsilon, "adversarial_change": float(self.adversarial.mean()),
                "random_change": float(self.random.mean()), "ratio": self.ratio, "n_stimuli": len(self.adversarial)}


def _responses(subject: DifferentiableSubject) -> Callable[[torch.Tensor], torch.Tensor]:
    """Images -> predicted responses (B, N): every readout site of a twin side by side, else the last site."""
    sites = [s for s in subject.sites if s.startswith("readout.")] or [tuple(subject.sites)[-1]]
    return lambda x: torch.cat([a.flatten(1) for a in subject.activations(x, sites).values()], dim=1)


def _sq_change(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, base: torch.Tensor,
               scale: torch.Tensor) -> torch.Tensor:
    """Mean over neurons of the squared, scaled response change, per stimulus."""
    return (((f(x) - base) / scale) ** 2).mean(1)


def twin_fragility(subject, stimuli: StimulusSet, epsilon: float = 2 / 255, steps: int = 10, n_random: int = 8,
                   seed: int = 0, batch_size: int = 64) -> FragilityResult:
    """Response change of ``subject`` (a DigitalTwin, any DifferentiableSubject, or a module images ->
    responses (B, N)) under a PGD L-inf perturbation of size ``epsilon`` vs random sign perturbations of the
    same size."""
    try:
        subject = as_differentiable(subject)
    except NotDifferentiableError as err:
        raise TwinError(f"fragility needs a differentiable twin or model: {err}") from err
    if not isinstance(stimuli, StimulusSet) or len(stimuli) < 2:
        raise TwinError("fragility needs a StimulusSet of at least 2 stimuli (to scale each neuron's response)")
    if not 0 < epsilon < 1 or steps < 1 or n_random < 1:
        raise TwinError(f"need 0 < epsilon < 1, steps >= 1, n_random >= 1; got {epsilon}, {steps}, {n_random}")
    model, device = _responses(subject), subject.device
    with eval_mode(network(subject)):
        images = torch.from_numpy(stimuli.images).to(device)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        with torch.no_grad():
            base = torch.cat([model(x) for x in images.split(batch_size)])
            scale = base.std(0).clamp_min(1e-8 * base.abs().max().clamp_min(1e-12))
        alpha = 2.5 * epsilon / steps
        adv, rnd = [], []
        for x, b in zip(images.split(batch_size), base.split(batch_size), strict=True):
            delta = ((torch.rand(x.shape, generator=gen) * 2 - 1) * epsilon).to(device)
            best = torch.zeros(len(x), device=device)
            for _ in range(steps):
                delta.requires_grad_(True)
                sq = _sq_change(model, (x + delta).clamp(0, 1), b, scale)
                (grad,) = torch.autograd.grad(sq.sum(), delta)
                with torch.no_grad():
                    best = torch.maximum(best, sq.detach())
                    delta = (delta + alpha * grad.sign()).clamp(-epsilon, epsilon)
            with torch.no_grad():
                best = torch.maximum(best, _sq_change(model, (x + delta).clamp(0, 1), b, scale))
                signs = [(torch.randint(0, 2, x.shape, generator=gen) * 2 - 1).to(device, x.dtype)
                         for _ in range(n_random)]
                draws = [_sq_change(model, (x + epsilon * sign).clamp(0, 1), b, scale) for sign in signs]
            adv.append(best.sqrt().cpu())
            rnd.append(torch.stack(draws).sqrt().mean(0).cpu())
        return FragilityResult(epsilon, torch.cat(adv).double().numpy(), torch.cat(rnd).double().numpy())
