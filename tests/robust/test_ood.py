"""OOD scores against closed forms; bundled OOD sets (AUROC / FPR: tests/metrics/test_detection.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp, softmax

from neurosafe.core.errors import DataValidationError
from neurosafe.robust import OOD_SETS, energy_score, max_softmax_score, ood_images


def test_scores_closed_form():
    z = np.random.default_rng(0).normal(size=(20, 6))
    np.testing.assert_allclose(max_softmax_score(z), softmax(z, axis=1).max(1))
    np.testing.assert_allclose(energy_score(z, temperature=2.0), 2.0 * logsumexp(z / 2.0, axis=1))


@pytest.mark.parametrize("kind", OOD_SETS)
def test_ood_images_follow_the_in_distribution_shape(kind):
    like = np.zeros((5, 3, 20, 24), np.float32)
    out = ood_images(kind, like, n=7, seed=1)
    assert out.shape == (7, 3, 20, 24) and out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(out, ood_images(kind, like, n=7, seed=1))


def test_bad_inputs():
    with pytest.raises(DataValidationError, match="unknown OOD set"):
        ood_images("cifar", np.zeros((1, 1, 8, 8)))
    with pytest.raises(DataValidationError, match="temperature"):
        energy_score(np.zeros((2, 3)), temperature=0)
