"""Readouts: per-neuron maps from a core's feature map (B, C, H, W) to one drive per neuron (B, N).

- :class:`GaussianReadout` (Lurz et al. 2021, ICLR): each neuron reads the feature vector at a learned
  position ``mu`` (grid units, [-1, 1] across the map, bilinear ``grid_sample`` with
  ``align_corners=True`` so -1 and 1 are the centres of the first and last pixels). During training the
  position is sampled from an isotropic Gaussian with learned extent ``sigma`` (a simplification of the
  paper's full covariance); at evaluation the mean is used. L1 penalty on the feature weights.
- :class:`FactorizedReadout` (Klindt et al. 2017, NeurIPS): a spatial mask times feature weights, both
  under an L1 penalty.
- :class:`LinearReadout`: a dense linear map from the (average-pooled) feature map, the linear probe of a
  core's features; :func:`neurosafe.twin.transfer_twin` fits it in closed form by ridge regression with
  leave-one-out CV over alphas per neuron (``neurosafe.metrics.RidgeCVMapping``), the floor a twin's
  trained readouts must beat.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from neurosafe.twin.config import ReadoutConfig

__all__ = ["FactorizedReadout", "GaussianReadout", "LinearReadout", "build_readout", "grid_to_pixels"]


def grid_to_pixels(grid: torch.Tensor, size: int) -> torch.Tensor:
    """Map ``grid_sample`` coordinates (align_corners=True) to pixel indices: -1 -> 0, 1 -> size - 1."""
    return (grid + 1) / 2 * (size - 1)


class GaussianReadout(nn.Module):
    """Feature weights read at a learned, jittered receptive-field position (Lurz 2021)."""

    def __init__(self, n_neurons: int, channels: int, config: ReadoutConfig):
        super().__init__()
        self.config = config
        r = config.init_mu_range
        self.mu = nn.Parameter(torch.empty(n_neurons, 2).uniform_(-r, r))
        self.log_sigma = nn.Parameter(torch.full((n_neurons, 1), float(torch.tensor(config.init_sigma).log())))
        self.features = nn.Parameter(torch.randn(n_neurons, channels) / channels)
        self.bias = nn.Parameter(torch.zeros(n_neurons))

    def forward(self, x: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        b, n = x.shape[0], self.mu.shape[0]
        grid = self.mu.expand(b, n, 2)
        if self.training:
            grid = grid + torch.randn(b, n, 2, device=x.device) * self.log_sigma.exp()
        if shift is not None:
            grid = grid + shift[:, None, :]
        sampled = F.grid_sample(x, grid.clamp(-1, 1)[:, :, None, :], align_corners=True)[..., 0]  # (B, C, N)
        return torch.einsum("bcn,nc->bn", sampled, self.features) + self.bias

    def positions(self, height: int, width: int) -> torch.Tensor:
        """Receptive-field centres (N, 2) as (x, y) pixel indices of the feature map."""
        mu = self.mu.detach().clamp(-1, 1)
        return torch.stack([grid_to_pixels(mu[:, 0], width), grid_to_pixels(mu[:, 1], height)], dim=1)

    def regularizer(self) -> torch.Tensor:
        return self.config.l1 * self.features.abs().sum()


class FactorizedReadout(nn.Module):
    """Spatial mask (N, H, W) times feature weights (N, C) (Klindt 2017)."""

    def __init__(self, n_neurons: int, channels: int, height: int, width: int, config: ReadoutConfig):
        super().__init__()
        self.config = config
        self.mask = nn.Parameter(torch.randn(n_neurons, height, width) / (height * width))
        self.features = nn.Parameter(torch.randn(n_neurons, channels) / channels)
        self.bias = nn.Parameter(torch.zeros(n_neurons))

    def forward(self, x: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        pooled = torch.einsum("bchw,nhw->bcn", x, self.mask)
        return torch.einsum("bcn,nc->bn", pooled, self.features) + self.bias

    def positions(self, height: int, width: int) -> torch.Tensor:
        """Centre of mass of each neuron's absolute mask (N, 2) as (x, y) pixel indices."""
        m = self.mask.detach().abs()
        m = m / m.sum(dim=(1, 2), keepdim=True)
        ys, xs = torch.arange(height, dtype=m.dtype), torch.arange(width, dtype=m.dtype)
        return torch.stack([(m.sum(1) * xs).sum(1), (m.sum(2) * ys).sum(1)], dim=1)

    def regularizer(self) -> torch.Tensor:
        return self.config.l1 * (self.mask.abs().sum() + self.features.abs().sum())


class LinearReadout(nn.Module):
    """Dense weights (N, C * H' * W') on the feature map average-pooled by ``config.pool``, plus a bias."""

    def __init__(self, n_neurons: int, channels: int, height: int, width: int, config: ReadoutConfig):
        super().__init__()
        self.config = config
        p = config.pool
        n_in = channels * max(height // p, 1) * max(width // p, 1)
        self.weight = nn.Parameter(torch.zeros(n_neurons, n_in))
        self.bias = nn.Parameter(torch.zeros(n_neurons))

    def flat(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled, flattened features the weights read."""
        p = self.config.pool
        return (F.avg_pool2d(x, p) if p > 1 and min(x.shape[-2:]) >= p else x).flatten(1)

    def forward(self, x: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        return self.flat(x) @ self.weight.T + self.bias

    def positions(self, height: int, width: int) -> torch.Tensor:
        """Centre of mass of each neuron's absolute weights over the pooled map, in map pixels."""
        p = self.config.pool
        h, w = max(height // p, 1), max(width // p, 1)
        m = self.weight.detach().abs().reshape(len(self.weight), -1, h, w).sum(1)
        m = m / m.sum(dim=(1, 2), keepdim=True).clamp_min(1e-12)
        ys = (torch.arange(h, dtype=m.dtype) + 0.5) * (height / h) - 0.5
        xs = (torch.arange(w, dtype=m.dtype) + 0.5) * (width / w) - 0.5
        return torch.stack([(m.sum(1) * xs).sum(1), (m.sum(2) * ys).sum(1)], dim=1)

    def regularizer(self) -> torch.Tensor:
        return self.config.l1 * self.weight.abs().sum()


def build_readout(config: ReadoutConfig, n_neurons: int, channels: int, height: int,
                  width: int) -> GaussianReadout | FactorizedReadout | LinearReadout:
    if config.kind == "gaussian":
        return GaussianReadout(n_neurons, channels, config)
    if config.kind == "linear":
        return LinearReadout(n_neurons, channels, height, width, config)
    return FactorizedReadout(n_neurons, channels, height, width, config)
