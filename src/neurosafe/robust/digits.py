"""A bundled reference task for robustness checks: scikit-learn's handwritten digits (Alpaydin & Kaynak
1998, 1,797 8x8 images shipped with scikit-learn, no download) and a small CNN trained on them in seconds.

It gives every command and test an undefended classifier to attack when the user brings none.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from neurosafe.core.seeds import child_seed
from neurosafe.subjects.training import TrainConfig, train_classifier

__all__ = ["DigitsCNN", "train_digits_cnn"]


class DigitsCNN(nn.Module):
    """Two conv-ReLU-max-pool stages and a two-layer classifier head; ``features`` and ``head`` are named
    so layers can be attacked (``Representation(net, "features.3")``)."""

    def __init__(self, size: int = 16, n_classes: int = 10, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * width * (size // 4) ** 2, 64), nn.ReLU(), nn.Linear(64, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train_digits_cnn(
    x: np.ndarray, y: np.ndarray, *, epochs: int = 30, batch_size: int = 64, lr: float = 3e-3, seed: int = 0
) -> DigitsCNN:
    """Train a ``DigitsCNN`` on (x, y) with ``neurosafe.subjects.train_classifier`` (Adam), on the CPU so the
    reference model is the same on every machine; seeded (initialisation, batch order); the global RNG is
    left untouched."""
    x_t, y_t = torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(np.asarray(y, np.int64))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(child_seed(seed, "init"))
        net = DigitsCNN(size=x_t.shape[-1], n_classes=int(y_t.max()) + 1)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, device="cpu", progress=False)
    return train_classifier(net, x_t, y_t, config=config, seed=seed).model
