"""Test helpers: a tiny conv net and a row-wise correlation."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def tiny_net(seed: int = 0, in_channels: int = 1) -> nn.Module:
    """conv5x5(8) - ReLU - conv3x3(6) - ReLU - global pool - linear(4), seeded."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Conv2d(in_channels, 8, 5, padding=2), nn.ReLU(), nn.Conv2d(8, 6, 3, padding=1),
                             nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4))


def corr_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of matching rows (written here, independent of the package)."""
    a = a.reshape(len(a), -1) - a.reshape(len(a), -1).mean(1, keepdims=True)
    b = b.reshape(len(b), -1) - b.reshape(len(b), -1).mean(1, keepdims=True)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))
