"""Calibration: does the model know what it doesn't know?

- Expected calibration error (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017, "On calibration of modern
  neural networks"): top-1 confidences binned into ``n_bins`` equal-width bins on [0, 1] (bin b holds
  confidences in ((b-1)/B, b/B], the first bin also 0);
  ECE = sum_b |B_b| / n * |accuracy(B_b) - confidence(B_b)|.
- Brier score (Brier 1950), multi-class: mean over examples of sum_k (p_k - 1[y = k])^2.
- Negative log-likelihood: mean -log p_y (probabilities clipped at 1e-12).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurosafe.core.errors import DataValidationError

__all__ = ["brier_score", "calibration_bins", "expected_calibration_error", "negative_log_likelihood"]


def _check(probs: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels)
    if p.ndim != 2 or p.shape[1] < 2 or len(p) == 0:
        raise DataValidationError(f"probs must have shape (n_examples, n_classes >= 2); got {p.shape}")
    if y.shape != (len(p),):
        raise DataValidationError(f"got labels of shape {y.shape} for {len(p)} rows of probabilities")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataValidationError(f"labels must be integer classes; got dtype {y.dtype}")
    if (y < 0).any() or (y >= p.shape[1]).any():
        raise DataValidationError(
            f"labels must lie in [0, {p.shape[1] - 1}]; got range [{y.min()}, {y.max()}]"
        )
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise DataValidationError(
            "probs must be finite and in [0, 1] (pass softmax probabilities, not logits)"
        )
    bad = np.abs(p.sum(axis=1) - 1) > 1e-3
    if bad.any():
        raise DataValidationError(
            f"each row of probs must sum to 1; rows {np.flatnonzero(bad)[:5].tolist()} do not "
            "(pass softmax probabilities, not logits)"
        )
    return p, y.astype(np.int64)


def calibration_bins(probs: Any, labels: Any, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Per confidence bin: ``count``, mean ``confidence`` and ``accuracy`` (NaN for empty bins), ``edges``."""
    if int(n_bins) != n_bins or n_bins < 1:
        raise DataValidationError(f"n_bins must be a positive integer; got {n_bins}")
    p, y = _check(probs, labels)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(which, weights=confidence, minlength=n_bins) / count
        acc = np.bincount(which, weights=correct, minlength=n_bins) / count
    return {"count": count, "confidence": conf, "accuracy": acc, "edges": edges}


def expected_calibration_error(probs: Any, labels: Any, n_bins: int = 15) -> float:
    """Binned ECE of the top-1 prediction (0 = calibrated; lower is better)."""
    bins = calibration_bins(probs, labels, n_bins)
    filled = bins["count"] > 0
    weights = bins["count"][filled] / bins["count"].sum()
    return float(np.sum(weights * np.abs(bins["accuracy"][filled] - bins["confidence"][filled])))


def brier_score(probs: Any, labels: Any) -> float:
    """Multi-class Brier score: mean squared distance of the probabilities from the one-hot label."""
    p, y = _check(probs, labels)
    onehot = np.eye(p.shape[1])[y]
    return float(((p - onehot) ** 2).sum(axis=1).mean())


def negative_log_likelihood(probs: Any, labels: Any) -> float:
    """Mean negative log-probability of the true class."""
    p, y = _check(probs, labels)
    return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean())
