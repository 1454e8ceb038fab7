"""AUROC and FPR at 95% TPR against closed forms (Gaussian scores) and brute-force definitions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from neurosafe.core.errors import DataValidationError
from neurosafe.metrics import auroc, fpr_at_tpr


def test_gaussian_separation_closed_form():
    # in ~ N(d, 1), out ~ N(0, 1): AUROC = Phi(d / sqrt 2); the 95%-TPR threshold is d + Phi^-1(0.05)
    rng = np.random.default_rng(1)
    for d in (0.5, 1.0, 2.0):
        a, b = rng.normal(d, 1, 40_000), rng.normal(0, 1, 40_000)
        assert auroc(a, b) == pytest.approx(norm.cdf(d / np.sqrt(2)), abs=0.005)
        assert fpr_at_tpr(a, b) == pytest.approx(norm.sf(d + norm.ppf(0.05)), abs=0.01)


def test_brute_force_definitions_with_ties():
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 8, 333).astype(float), rng.integers(-2, 6, 250).astype(float)
    # AUROC = P(in > out) + P(in = out) / 2 over all pairs
    pairs = a[:, None] - b[None, :]
    assert auroc(a, b) == pytest.approx((pairs > 0).mean() + 0.5 * (pairs == 0).mean())
    for level in (0.5, 0.8, 0.95, 1.0):
        # the highest threshold that accepts >= level of the in-distribution scores
        threshold = max(t for t in np.unique(a) if (a >= t).mean() >= level - 1e-12)
        assert fpr_at_tpr(a, b, level) == pytest.approx((b >= threshold).mean())


def test_bad_inputs():
    with pytest.raises(DataValidationError, match="need in- and out"):
        auroc([], [1.0])
    with pytest.raises(DataValidationError, match="finite"):
        auroc([np.nan], [1.0])
    with pytest.raises(DataValidationError, match="tpr"):
        fpr_at_tpr([1.0], [0.0], tpr=0)
