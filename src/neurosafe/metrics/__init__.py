"""Metrics: reliability and noise ceilings, predictivity, RSA, CKA and shape metrics, calibration and detection;
every one returns a Score, every CI comes from :mod:`neurosafe.metrics.bootstrap`.

Differentiable torch versions live in :mod:`neurosafe.metrics.torch`.
"""

from neurosafe.metrics.calibration import (
    brier_score,
    calibration_bins,
    calibration_score,
    expected_calibration_error,
    negative_log_likelihood,
)
from neurosafe.metrics.cka import cka, hsic, paired_representations
from neurosafe.metrics.detection import auroc, fpr_at_tpr
from neurosafe.metrics.layers import LayerScores, score_layers
from neurosafe.metrics.predictivity import (
    DEFAULT_ALPHAS,
    PLSMapping,
    RidgeCVMapping,
    align_features,
    cross_validated_predictions,
    ridge_predictivity,
    stimulus_folds,
)
from neurosafe.metrics.reliability import (
    correlation_ceiling,
    fev,
    feve,
    fraction_of_ceiling,
    median_ceiling,
    oracle_correlation,
    pooled_feve,
    reliability_summary,
    spearman_brown,
    split_half_reliability,
)
from neurosafe.metrics.rsa import compare_rdms, rdm, rsa_noise_ceiling, rsa_score
from neurosafe.metrics.score import Score, average_scores, mean_score, paired_difference, provenance
from neurosafe.metrics.shape import (
    LinearShapeMetric,
    canonical_correlations,
    cca_similarity,
    permutation_distance,
    shape_distance,
    whiten,
)
from neurosafe.metrics.two_sample import TwoSampleTest, c2st, mmd

__all__ = [
    "DEFAULT_ALPHAS", "LayerScores", "LinearShapeMetric", "PLSMapping", "RidgeCVMapping", "Score", "TwoSampleTest",
    "align_features", "auroc", "average_scores", "brier_score", "c2st", "calibration_bins", "calibration_score",
    "canonical_correlations", "cca_similarity", "cka", "compare_rdms", "correlation_ceiling",
    "cross_validated_predictions", "expected_calibration_error", "fev", "feve", "fpr_at_tpr",
    "fraction_of_ceiling", "hsic", "mean_score", "median_ceiling", "mmd", "negative_log_likelihood",
    "oracle_correlation", "paired_difference",
    "paired_representations", "permutation_distance", "pooled_feve", "provenance", "rdm", "reliability_summary",
    "ridge_predictivity", "rsa_noise_ceiling", "rsa_score", "score_layers", "shape_distance", "spearman_brown",
    "split_half_reliability", "stimulus_folds", "whiten",
]
