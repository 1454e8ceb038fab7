"""Calibration: expected calibration error (Guo et al. 2017) as a bias-corrected bootstrap Score.

Minimal placeholder with the names and signatures of the one ECE of neurosafe (helper "stats" writes the
full module): top-1 confidences in ``n_bins`` equal-width bins on [0, 1]; ECE = sum over bins of the bin's
share of samples times |accuracy - mean confidence|. Resampling inflates binned ECE, so the Score's value
and CI are bias-corrected (:func:`neurosafe.metrics.bootstrap.bias_corrected`) and lie in the CI.
"""

from __future__ import annotations

import numpy as np

from neurosafe.core.errors import DataValidationError
from neurosafe.metrics.bootstrap import bias_corrected, bootstrap_statistic
from neurosafe.metrics.score import Score, provenance

__all__ = ["calibration_score", "expected_calibration_error"]


def _correct(probs: np.ndarray, correct_or_labels: np.ndarray) -> np.ndarray:
    """Correctness per sample: a boolean array as given, integer labels compared with the top-1 class."""
    v = np.asarray(correct_or_labels)
    if probs.ndim != 2 or v.shape != (len(probs),):
        raise DataValidationError(f"need probs (n, classes) and n labels; got {probs.shape} and {v.shape}")
    return v.astype(float) if v.dtype == bool else (probs.argmax(1) == v).astype(float)


def expected_calibration_error(probs, correct_or_labels, n_bins: int = 15) -> float:
    """Binned ECE of class probabilities ``probs`` (n, classes) given correctness (bool) or labels (int)."""
    probs = np.asarray(probs, dtype=float)
    correct = _correct(probs, correct_or_labels)
    conf = probs.max(1)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    gap = np.bincount(which, correct - conf, minlength=n_bins)  # per bin: count * (accuracy - confidence)
    return float(np.abs(gap[count > 0]).sum() / len(conf))


def calibration_score(probs, labels, seed: int = 0, n_boot: int = 1000, n_bins: int = 15,
                      level: float = 0.95) -> Score:
    """ECE with a bias-corrected percentile bootstrap CI over samples; lower is better. The replicates
    are shifted by the same bias, so paired differences of two networks' ECE stay centred on their value."""
    probs = np.asarray(probs, dtype=float)
    correct = _correct(probs, labels)
    reps = bootstrap_statistic(lambda ix: expected_calibration_error(probs[ix], correct[ix] > 0, n_bins),
                               len(probs), n_boot, seed)
    value, ci = bias_corrected(reps[0], reps[1:], level) if n_boot > 0 else (float(reps[0]), None)
    shifted = reps[1:] - (reps[0] - value) if n_boot > 0 else None
    return Score(value=value, ci=ci, higher_is_better=False, n=len(probs), replicates=shifted,
                 method="bias_corrected_percentile" if n_boot > 0 else None,
                 provenance=provenance("ece", {"n_bins": n_bins, "n_boot": n_boot, "ci_level": level},
                                       seed=seed, plug_in=float(reps[0])))
