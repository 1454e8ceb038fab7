"""Detection quality of a score that should be higher for in-distribution inputs than for others (OOD
detection, Hendrycks & Gimpel 2017): AUROC and the false-positive rate at 95% true-positive rate, both
from scikit-learn's ROC (``roc_auc_score``: Mann-Whitney U, ties count one half; ``roc_curve``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from neurosafe.core.errors import DataValidationError

__all__ = ["auroc", "fpr_at_tpr"]


def _labelled(scores_in: Any, scores_out: Any) -> tuple[np.ndarray, np.ndarray]:
    """(label: 1 in-distribution, 0 other; score) of both sets."""
    a = np.asarray(scores_in, dtype=np.float64).ravel()
    b = np.asarray(scores_out, dtype=np.float64).ravel()
    if len(a) == 0 or len(b) == 0:
        raise DataValidationError(f"need in- and out-of-distribution scores; got {len(a)} and {len(b)}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise DataValidationError("detection scores must be finite")
    return np.r_[np.ones(len(a)), np.zeros(len(b))], np.r_[a, b]


def auroc(scores_in: Any, scores_out: Any) -> float:
    """Probability that an in-distribution input scores above an OOD input (ties count 1/2)."""
    return float(roc_auc_score(*_labelled(scores_in, scores_out)))


def fpr_at_tpr(scores_in: Any, scores_out: Any, tpr: float = 0.95) -> float:
    """Fraction of OOD inputs accepted at the highest threshold that accepts >= ``tpr`` of in-distribution."""
    if not 0 < tpr <= 1:
        raise DataValidationError(f"tpr must lie in (0, 1]; got {tpr}")
    fpr, tprs, _ = roc_curve(*_labelled(scores_in, scores_out), drop_intermediate=False)
    return float(fpr[np.searchsorted(tprs, tpr - 1e-12, side="left")])
