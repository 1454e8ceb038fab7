"""Out-of-distribution detection from a classifier's outputs, and OOD sets made from bundled data.

Scores (higher = more in-distribution): maximum softmax probability (Hendrycks & Gimpel 2017, "A baseline
for detecting misclassified and out-of-distribution examples") and negative free energy
T logsumexp(z / T) (Liu et al. 2020, "Energy-based out-of-distribution detection"). Detection quality
(AUROC, FPR at 95% TPR) is :mod:`neurosafe.metrics.detection`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from neurosafe.core.errors import DataValidationError

__all__ = ["OOD_SETS", "energy_score", "max_softmax_score", "ood_images"]

OOD_SETS = ("uniform_noise", "gaussian_noise", "pink_noise", "natural")


def max_softmax_score(logits: Any) -> np.ndarray:
    """Maximum softmax probability per example."""
    z = torch.as_tensor(np.asarray(logits, dtype=np.float64))
    return torch.softmax(z, dim=1).amax(dim=1).numpy()


def energy_score(logits: Any, temperature: float = 1.0) -> np.ndarray:
    """Negative free energy T logsumexp(z / T) per example."""
    if temperature <= 0:
        raise DataValidationError(f"temperature must be > 0; got {temperature}")
    z = torch.as_tensor(np.asarray(logits, dtype=np.float64))
    return (temperature * torch.logsumexp(z / temperature, dim=1)).numpy()


def ood_images(kind: str, like: np.ndarray, n: int | None = None, seed: int = 0) -> np.ndarray:
    """``n`` OOD images with the channels and size of ``like`` (n, c, h, w): ``uniform_noise``,
    ``gaussian_noise`` (white, grey-centred), ``pink_noise`` (1/f), ``natural`` (patches of scikit-image's
    bundled photographs)."""
    from neurosafe.data import natural_patches, pink_noise, white_noise

    like = np.asarray(like)
    if like.ndim != 4:
        raise DataValidationError(f"`like` must be images (n, c, h, w); got shape {like.shape}")
    n = len(like) if n is None else n
    _, c, h, w = like.shape
    color = c == 3
    if kind == "uniform_noise":
        images = np.random.default_rng(seed).uniform(0, 1, (n, c, h, w)).astype(np.float32)
    elif kind == "gaussian_noise":
        images = white_noise(n, (h, w), seed=seed, color=color).images
    elif kind == "pink_noise":
        images = pink_noise(n, (h, w), seed=seed, color=color).images
    elif kind == "natural":
        images = natural_patches(n, (h, w), seed=seed, color=color).images
    else:
        raise DataValidationError(f"unknown OOD set {kind!r}; choose from {', '.join(OOD_SETS)}")
    if images.shape[1] != c:
        raise DataValidationError(f"OOD images need 1 or 3 channels like the in-distribution set; got {c}")
    return images
