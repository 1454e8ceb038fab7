"""OOD scores and detection metrics against closed forms and scikit-learn; bundled OOD sets."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp, softmax
from scipy.stats import norm
from sklearn.metrics import roc_auc_score, roc_curve

from neurosafe.core.errors import DataValidationError
from neurosafe.robust import OOD_SETS, auroc, energy_score, fpr_at_tpr, max_softmax_score, ood_images


def test_scores_closed_form():
    z = np.random.default_rng(0).normal(size=(20, 6))
    np.testing.assert_allclose(max_softmax_score(z), softmax(z, axis=1).max(1))
    np.testing.assert_allclose(energy_score(z, temperature=2.0), 2.0 * logsumexp(z / 2.0, axis=1))


def test_gaussian_separation_closed_form():
    # in ~ N(1, 1), out ~ N(0, 1): AUROC = Phi(1 / sqrt 2); 95%-TPR threshold 1 + Phi^-1(0.05)
    rng = np.random.default_rng(1)
    a, b = rng.normal(1, 1, 40_000), rng.normal(0, 1, 40_000)
    assert auroc(a, b) == pytest.approx(norm.cdf(1 / np.sqrt(2)), abs=0.005)
    assert fpr_at_tpr(a, b) == pytest.approx(norm.sf(1 + norm.ppf(0.05)), abs=0.01)


def test_match_sklearn_with_ties():
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 8, 333).astype(float), rng.integers(-2, 6, 250).astype(float)
    truth = np.r_[np.ones(len(a)), np.zeros(len(b))]
    scores = np.r_[a, b]
    assert auroc(a, b) == pytest.approx(roc_auc_score(truth, scores))
    fpr, tpr, _ = roc_curve(truth, scores)
    for level in (0.5, 0.8, 0.95):
        assert fpr_at_tpr(a, b, level) == pytest.approx(fpr[np.searchsorted(tpr, level - 1e-12)])


@pytest.mark.parametrize("kind", OOD_SETS)
def test_ood_images_follow_the_in_distribution_shape(kind):
    like = np.zeros((5, 3, 20, 24), np.float32)
    out = ood_images(kind, like, n=7, seed=1)
    assert out.shape == (7, 3, 20, 24) and out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(out, ood_images(kind, like, n=7, seed=1))


def test_bad_inputs():
    with pytest.raises(DataValidationError, match="unknown OOD set"):
        ood_images("cifar", np.zeros((1, 1, 8, 8)))
    with pytest.raises(DataValidationError, match="need in- and out"):
        auroc([], [1.0])
    with pytest.raises(DataValidationError, match="tpr"):
        fpr_at_tpr([1.0], [0.0], tpr=0)
    with pytest.raises(DataValidationError, match="temperature"):
        energy_score(np.zeros((2, 3)), temperature=0)
