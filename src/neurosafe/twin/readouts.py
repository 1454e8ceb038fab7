"""Readouts: per-neuron maps from a core's feature map (B, C, H, W) to one drive per neuron (B, N).

- :class:`GaussianReadout` (Lurz et al. 2021, ICLR, "Generalization in data-driven models of primary
  visual cortex"; neuralpredictors' ``FullGaussian2d``): each neuron reads the feature vector at a learned
  position ``mu`` (grid units, [-1, 1] across the map, bilinear ``grid_sample`` with
  ``align_corners=True`` so -1 and 1 are the centres of the first and last pixels). During training the
  position is sampled from a Gaussian around ``mu`` with a learned extent: isotropic (one ``sigma`` per
  neuron) or, with ``gauss_type="full"``, a learned 2x2 matrix per neuron (the paper's full
  covariance); at evaluation the mean is used. L1 penalty on the feature weights. With
  ``position_prior`` > 0 the positions share a learned population prior (:class:`PositionPrior`): a 2-D
  Gaussian whose mean and covariance are learned jointly, with the negative log-likelihood of every
  neuron's ``mu`` added to the penalty. Simplification of the paper's shared position prediction: Lurz
  et al. predict ``mu`` from each neuron's cortical coordinates with a network shared across neurons
  (``grid_mean_predictor``); Cowley et al.'s V4 data (Utah arrays) give no per-neuron position, so
  the shared part here is the population's learned mean and covariance (a hierarchical Gaussian prior),
  which pulls poorly constrained neurons towards where the population's receptive fields lie.
- :class:`FactorizedReadout` (Klindt et al. 2017, NeurIPS, "Neural system identification for large
  populations separating what and where"): a spatial mask times feature weights, both under an L1
  (sparsity) penalty ``l1``, and a Laplacian smoothness penalty ``smooth`` on the masks (Klindt et al.
  put their Laplacian smoothness penalty on the convolutional filters; here it is applied to the
  spatial masks, as the readout's smoothness prior). ``neurosafe.twin.tune_readout`` picks the
  strengths on a validation split of the training images.
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
from neurosafe.twin.errors import TwinError

__all__ = ["FactorizedReadout", "GaussianReadout", "LinearReadout", "PositionPrior", "build_readout",
           "grid_to_pixels", "laplacian_penalty"]

_LAPLACE = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]])
_PRIOR_FLOOR = 0.02  # smallest prior s.d. (grid units): keeps the learned covariance from collapsing


def grid_to_pixels(grid: torch.Tensor, size: int) -> torch.Tensor:
    """Map ``grid_sample`` coordinates (align_corners=True) to pixel indices: -1 -> 0, 1 -> size - 1."""
    return (grid + 1) / 2 * (size - 1)


class PositionPrior(nn.Module):
    """A learned 2-D Gaussian over a population's readout positions (grid units): mean ``mean`` and
    covariance ``L L^T`` with ``L`` lower triangular (diagonal ``_PRIOR_FLOOR + softplus``, so the
    covariance cannot collapse onto the positions and drive the log-likelihood to infinity)."""

    def __init__(self, spread: float):
        super().__init__()
        self.mean = nn.Parameter(torch.zeros(2))
        raw = float(torch.log(torch.expm1(torch.tensor(max(spread, 2 * _PRIOR_FLOOR) - _PRIOR_FLOOR))))
        self.raw_scale = nn.Parameter(torch.full((2,), raw))
        self.shear = nn.Parameter(torch.zeros(()))

    def tril(self) -> torch.Tensor:
        d = _PRIOR_FLOOR + F.softplus(self.raw_scale)
        zero = torch.zeros((), dtype=d.dtype, device=d.device)
        return torch.stack([torch.stack([d[0], zero]), torch.stack([self.shear, d[1]])])

    def covariance(self) -> torch.Tensor:
        lo = self.tril()
        return lo @ lo.T

    def nll(self, mu: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of each position (N, 2), up to the constant log(2 pi): (N,)."""
        lo = self.tril()
        z = torch.linalg.solve_triangular(lo, (mu - self.mean).T, upper=False)
        return 0.5 * z.pow(2).sum(0) + torch.log(torch.diagonal(lo)).sum()


class GaussianReadout(nn.Module):
    """Feature weights read at a learned, jittered receptive-field position (Lurz 2021), optionally under
    a learned population prior on the positions."""

    def __init__(self, n_neurons: int, channels: int, config: ReadoutConfig):
        super().__init__()
        self.config = config
        r = config.init_mu_range
        self.mu = nn.Parameter(torch.empty(n_neurons, 2).uniform_(-r, r))
        if config.gauss_type == "full":
            self.sigma = nn.Parameter(torch.eye(2).repeat(n_neurons, 1, 1) * config.init_sigma)
        else:
            self.log_sigma = nn.Parameter(torch.full((n_neurons, 1), float(torch.tensor(config.init_sigma).log())))
        self.features = nn.Parameter(torch.randn(n_neurons, channels) / channels)
        self.bias = nn.Parameter(torch.zeros(n_neurons))
        self.prior = PositionPrior(max(r, 0.1)) if config.position_prior > 0 else None

    def jitter(self, batch: int, device: torch.device) -> torch.Tensor:
        """Position noise (B, N, 2) of one training step: isotropic, or through each neuron's 2x2 matrix."""
        z = torch.randn(batch, self.mu.shape[0], 2, device=device)
        if self.config.gauss_type == "full":
            return torch.einsum("nij,bnj->bni", self.sigma, z)
        return z * self.log_sigma.exp()

    def forward(self, x: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        b, n = x.shape[0], self.mu.shape[0]
        grid = self.mu.expand(b, n, 2)
        if self.training:
            grid = grid + self.jitter(b, x.device)
        if shift is not None:
            grid = grid + shift[:, None, :]
        sampled = F.grid_sample(x, grid.clamp(-1, 1)[:, :, None, :], align_corners=True)[..., 0]  # (B, C, N)
        return torch.einsum("bcn,nc->bn", sampled, self.features) + self.bias

    def positions(self, height: int, width: int) -> torch.Tensor:
        """Receptive-field centres (N, 2) as (x, y) pixel indices of the feature map."""
        mu = self.mu.detach().clamp(-1, 1)
        return torch.stack([grid_to_pixels(mu[:, 0], width), grid_to_pixels(mu[:, 1], height)], dim=1)

    def prior_positions(self, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The learned population prior in feature-map pixels: mean (x, y) and 2x2 covariance."""
        if self.prior is None:
            raise TwinError("this readout has no position prior (readout.position_prior = 0)")
        scale = self.mu.new_tensor([(width - 1) / 2, (height - 1) / 2]).detach()
        cov = self.prior.covariance().detach() * scale[:, None] * scale[None, :]
        return (self.prior.mean.detach() + 1) * scale, cov

    def regularizer(self) -> torch.Tensor:
        penalty = self.config.l1 * self.features.abs().sum()
        if self.prior is not None:
            penalty = penalty + self.config.position_prior * self.prior.nll(self.mu).sum()
        return penalty


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
        penalty = self.config.l1 * (self.mask.abs().sum() + self.features.abs().sum())
        if self.config.smooth > 0:
            penalty = penalty + self.config.smooth * laplacian_penalty(self.mask)
        return penalty


def laplacian_penalty(maps: torch.Tensor) -> torch.Tensor:
    """Sum of squared discrete Laplacians of maps (N, H, W) (zero padding): a smoothness penalty."""
    kernel = _LAPLACE.to(maps)[None, None]
    return F.conv2d(maps[:, None], kernel, padding=1).pow(2).sum()


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
