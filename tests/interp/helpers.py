"""Test helpers: a tiny conv net, a duck-typed stand-in for ``TorchSubject`` and a row-wise correlation."""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr
from torch import nn

from neurosafe.data import make_responses


def tiny_net(seed: int = 0, in_channels: int = 1) -> nn.Module:
    """conv5x5(8) - ReLU - conv3x3(6) - ReLU - global pool - linear(4), seeded."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Conv2d(in_channels, 8, 5, padding=2), nn.ReLU(), nn.Conv2d(8, 6, 3, padding=1),
                             nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4))


class StandInTorchSubject:
    """The parts of ``neurosafe.subjects.TorchSubject`` that interp relies on: ``model``, ``transform``, ``sites``,
    ``respond`` (flattened activations) and differentiable ``activations(x, sites)`` read with forward hooks."""

    def __init__(self, model: nn.Module, transform=None):
        self.model, self.transform = model, transform
        self._modules = dict(model.named_modules())

    @property
    def sites(self) -> tuple[str, ...]:
        return tuple(n for n in self._modules if n)

    def activations(self, x: torch.Tensor, sites) -> dict[str, torch.Tensor]:
        out = {}
        handles = [self._modules[s].register_forward_hook(lambda _m, _i, o, s=s: out.__setitem__(s, o)) for s in sites]
        try:
            self.model(x if self.transform is None else self.transform(x))
        finally:
            for h in handles:
                h.remove()
        return out

    @torch.no_grad()
    def respond(self, stimuli, site=None) -> xr.DataArray:
        site = site or self.sites[-1]
        act = self.activations(torch.from_numpy(stimuli.images), [site])[site].flatten(1).numpy()
        return make_responses(act.astype(np.float64), stimuli.ids, [f"{site}:{i}" for i in range(act.shape[1])],
                              dims=("stimulus", "neuron"))


def corr_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of matching rows (written here, independent of the package)."""
    a = a.reshape(len(a), -1) - a.reshape(len(a), -1).mean(1, keepdims=True)
    b = b.reshape(len(b), -1) - b.reshape(len(b), -1).mean(1, keepdims=True)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))
