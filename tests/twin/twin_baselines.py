"""Baselines for the real-data test: ridge regression on pixels and on a V1-like Gabor-energy front end
(quadrature pairs -> rectified simple and energy (complex) channels; Adelson & Bergen 1985). The front
end doubles as a frozen network for a feature-core twin, so twin and ridge read identical features.
Test helpers only: the zoo's V1 front end is the product version."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from neurosafe.data.synthetic import gabor


class GaborFrontEnd(nn.Module):
    """Grey images (B, 1, H, W) in [0, 1] -> (B, 3 * orientations * wavelengths, H, W) Gabor responses.

    Duck-types the part of ``TorchSubject`` a feature core uses: ``model`` and ``activations``."""

    def __init__(self, wavelengths=(4.0, 8.0, 16.0), n_orientations: int = 8):
        super().__init__()
        self.n_orientations = n_orientations
        oris = np.arange(n_orientations) * 180 / n_orientations
        for i, lam in enumerate(wavelengths):
            k = int(2 * round(lam) + 1)
            c = (k - 1) / 2
            pair = [gabor((k, k), c, c, 0.5 * lam, o, 1 / lam, p) for p in (0, -90) for o in oris]
            self.register_buffer(f"bank{i}", torch.from_numpy(np.stack(pair)[:, None].astype(np.float32)))
        self.n_banks = len(wavelengths)

    @property
    def model(self) -> nn.Module:
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x - 0.5
        maps = []
        for i in range(self.n_banks):
            bank = getattr(self, f"bank{i}")
            r = F.conv2d(x, bank, padding=bank.shape[-1] // 2)
            e, o = r[:, : self.n_orientations], r[:, self.n_orientations :]
            maps += [torch.relu(e), torch.relu(-e), (e**2 + o**2 + 1e-8).sqrt()]
        return torch.cat(maps, 1)

    def activations(self, x: torch.Tensor, sites) -> dict[str, torch.Tensor]:
        return {site: self(x) for site in sites}


def gabor_energy(images: np.ndarray, pool: int = 8) -> np.ndarray:
    """Grey images (n, h, w) -> GaborFrontEnd maps average-pooled to pool x pool, flattened (n, features)."""
    with torch.no_grad():
        maps = GaborFrontEnd()(torch.from_numpy(images[:, None].astype(np.float32)))
        return F.adaptive_avg_pool2d(maps, pool).flatten(1).double().numpy()


def ridge_correlations(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray
) -> np.ndarray:
    """Per-neuron test correlation of sklearn RidgeCV (standardised features, alpha per neuron by LOO)."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-1, 6, 15), alpha_per_target=True))
    pred = model.fit(train_x, train_y).predict(test_x)
    pc, tc = pred - pred.mean(0), test_y - test_y.mean(0)
    return (pc * tc).sum(0) / np.sqrt((pc**2).sum(0) * (tc**2).sum(0))
