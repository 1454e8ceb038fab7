"""Metrics: reliability and noise ceilings (this issue), alignment metrics later; every one returns a Score."""

from neurosafe.metrics.reliability import (
    fev,
    feve,
    oracle_correlation,
    reliability_summary,
    spearman_brown,
    split_half_reliability,
)
from neurosafe.metrics.score import Score, data_hash, provenance

__all__ = [
    "Score",
    "data_hash",
    "fev",
    "feve",
    "oracle_correlation",
    "provenance",
    "reliability_summary",
    "spearman_brown",
    "split_half_reliability",
]
