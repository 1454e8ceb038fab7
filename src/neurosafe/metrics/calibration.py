"""Calibration: does the model know what it doesn't know? The one ECE of neurosafe.

- Expected calibration error (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017, "On calibration of modern
  neural networks"): top-1 confidences binned into ``n_bins`` (15) equal-width bins on [0, 1], right-closed
  as in Guo et al. and scikit-learn's ``calibration_curve`` (bin b holds confidences in ((b-1)/B, b/B], the
  first bin also 0); ECE = sum_b |B_b| / n * |accuracy(B_b) - confidence(B_b)|.
  :func:`calibration_score` adds a bootstrap over items. The binned ECE is biased upward (the absolute
  value of each bin's noisy gap), and resampling inflates it once more, so the plug-in value can lie
  below its own percentile interval; the Score is therefore bias-corrected
  (:func:`neurosafe.metrics.bootstrap.bias_corrected`).
- Brier score (Brier 1950), multi-class: mean over examples of sum_k (p_k - 1[y = k])^2.
- Negative log-likelihood: mean -log p_y (probabilities clipped at 1e-12).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurosafe.core.errors import DataValidationError
from neurosafe.metrics.bootstrap import bootstrap_weights
from neurosafe.metrics.score import Score, provenance

__all__ = [
    "brier_score", "calibration_bins", "calibration_score", "expected_calibration_error", "negative_log_likelihood",
]


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
        raise DataValidationError(f"labels must lie in [0, {p.shape[1] - 1}]; got range [{y.min()}, {y.max()}]")
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise DataValidationError("probs must be finite and in [0, 1] (pass softmax probabilities, not logits)")
    bad = np.abs(p.sum(axis=1) - 1) > 1e-3
    if bad.any():
        raise DataValidationError(f"each row of probs must sum to 1; rows {np.flatnonzero(bad)[:5].tolist()} do "
                                  "not (pass softmax probabilities, not logits)")
    return p, y.astype(np.int64)


def _confidence_correct(probs: Any, correct_or_labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """(top-1 confidence, correctness) from probabilities (n, classes) and integer labels or boolean
    correctness, or from confidences (n,) and boolean correctness."""
    truth = np.asarray(correct_or_labels)
    if truth.dtype != bool:
        p, y = _check(probs, truth)
        return p.max(axis=1), (p.argmax(axis=1) == y).astype(np.float64)
    p = np.asarray(probs, dtype=np.float64)
    conf = p.max(axis=1) if p.ndim == 2 else p
    if conf.ndim != 1 or len(conf) == 0 or truth.shape != conf.shape:
        raise DataValidationError(f"need probabilities (n, classes) or confidences (n,) with n correctness "
                                  f"flags; got shapes {p.shape} and {truth.shape}")
    if not np.isfinite(conf).all() or (conf < 0).any() or (conf > 1).any():
        raise DataValidationError("confidences must be finite and in [0, 1] (pass softmax probabilities, not logits)")
    return conf, truth.astype(np.float64)


def _bin_of(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    """Right-closed equal-width bin of each confidence: ((b-1)/B, b/B], the first bin also 0."""
    if int(n_bins) != n_bins or n_bins < 1:
        raise DataValidationError(f"n_bins must be a positive integer; got {n_bins}")
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    return np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, int(n_bins) - 1)


def _weighted_ece(weights: np.ndarray, confidence: np.ndarray, correct: np.ndarray, n_bins: int) -> np.ndarray:
    """ECE for each row of item weights (R, n): sum over bins of |weighted sum of (correct - confidence)|
    over the total weight."""
    gaps = np.zeros((len(confidence), int(n_bins)))
    gaps[np.arange(len(confidence)), _bin_of(confidence, n_bins)] = correct - confidence
    return np.abs(weights @ gaps).sum(axis=1) / weights.sum(axis=1)


def calibration_bins(probs: Any, labels: Any, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Per confidence bin: ``count``, mean ``confidence`` and ``accuracy`` (NaN for empty bins), ``edges``."""
    confidence, correct = _confidence_correct(probs, labels)
    which = _bin_of(confidence, n_bins)
    count = np.bincount(which, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(which, weights=confidence, minlength=n_bins) / count
        acc = np.bincount(which, weights=correct, minlength=n_bins) / count
    return {"count": count, "confidence": conf, "accuracy": acc, "edges": np.linspace(0.0, 1.0, n_bins + 1)}


def expected_calibration_error(probs: Any, correct_or_labels: Any, n_bins: int = 15) -> float:
    """Binned ECE of the top-1 prediction (0 = calibrated; lower is better); see the module docstring.

    ``probs``: probabilities (n, classes) with integer labels or boolean correctness, or top-1 confidences
    (n,) with boolean correctness.
    """
    confidence, correct = _confidence_correct(probs, correct_or_labels)
    return float(_weighted_ece(np.ones((1, len(confidence))), confidence, correct, n_bins)[0])


def calibration_score(probs: Any, labels: Any, seed: int | None = 0, n_boot: int = 1000, n_bins: int = 15,
                      level: float = 0.95) -> Score:
    """ECE as a Score: bootstrap over items (the shared resamples of ``seed``), bias-corrected so that the
    estimate lies inside its CI (with ``n_boot=0`` the plug-in ECE without CI). ``labels``: integer labels
    or boolean correctness, as :func:`expected_calibration_error`."""
    confidence, correct = _confidence_correct(probs, labels)
    values = _weighted_ece(bootstrap_weights(len(confidence), n_boot, seed), confidence, correct, n_bins)
    params = {"n_bins": n_bins, "n_boot": n_boot, "ci_level": level}
    return Score.from_bootstrap(values, len(confidence), level, method="bias_corrected", higher_is_better=False,
                                provenance=provenance("expected_calibration_error", params, seed=seed))


def brier_score(probs: Any, labels: Any) -> float:
    """Multi-class Brier score: mean squared distance of the probabilities from the one-hot label."""
    p, y = _check(probs, labels)
    onehot = np.eye(p.shape[1])[y]
    return float(((p - onehot) ** 2).sum(axis=1).mean())


def negative_log_likelihood(probs: Any, labels: Any) -> float:
    """Mean negative log-probability of the true class."""
    p, y = _check(probs, labels)
    return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean())
