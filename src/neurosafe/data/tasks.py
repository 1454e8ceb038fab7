"""Bundled image-classification tasks (no download): the reference tasks for training, attacks and studies.

``digits``: scikit-learn's handwritten digits (Alpaydin & Kaynak 1998; 1,797 8x8 grey images shipped with
scikit-learn). Chosen because it is the only image-classification set every install already has, it trains
in seconds on a CPU, and 8x8 up-sampled to 32x32 matches the synthetic brain's input size.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from neurosafe.core.errors import DataValidationError

__all__ = ["digits_dataset"]


def digits_dataset(size: int = 16, n_test: int = 1000, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): images (n, 1, size, size) float32 in [0, 1] (bilinear up-sampling
    of the 8x8 originals), int64 labels; a stratified, seeded split with ``n_test`` test images."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if size < 8:
        raise DataValidationError(f"digits are 8x8; size must be >= 8, got {size}")
    data = load_digits()
    if not 0 < n_test < len(data.target):
        raise DataValidationError(f"n_test must lie in [1, {len(data.target) - 1}]; got {n_test}")
    images = torch.from_numpy(data.images.astype(np.float32) / 16.0)[:, None]
    if size != 8:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    images = images.clamp(0, 1).numpy()
    labels = data.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(images, labels, test_size=n_test, stratify=labels, random_state=seed)
    return x_tr, y_tr, x_te, y_te
