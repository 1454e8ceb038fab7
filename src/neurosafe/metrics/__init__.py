"""Metrics: reliability and noise ceilings, predictivity, RSA, CKA and shape metrics; every one returns a Score.

Differentiable torch versions live in :mod:`neurosafe.metrics.torch`.
"""

from neurosafe.metrics.cka import cka, hsic, paired_representations
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
    fev,
    feve,
    oracle_correlation,
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

__all__ = [
    "DEFAULT_ALPHAS",
    "LayerScores",
    "LinearShapeMetric",
    "PLSMapping",
    "RidgeCVMapping",
    "Score",
    "align_features",
    "average_scores",
    "canonical_correlations",
    "cca_similarity",
    "cka",
    "compare_rdms",
    "cross_validated_predictions",
    "fev",
    "feve",
    "hsic",
    "mean_score",
    "oracle_correlation",
    "paired_difference",
    "paired_representations",
    "permutation_distance",
    "provenance",
    "rdm",
    "reliability_summary",
    "ridge_predictivity",
    "rsa_noise_ceiling",
    "rsa_score",
    "score_layers",
    "shape_distance",
    "spearman_brown",
    "split_half_reliability",
    "stimulus_folds",
    "whiten",
]
