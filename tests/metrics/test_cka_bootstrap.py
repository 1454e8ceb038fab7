"""CKA's bootstrap by index (Gram / distance matrices computed once) equals recomputing every resample."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from neurosafe.metrics import cka
from neurosafe.metrics.bootstrap import bootstrap_indices


def _reference(a, b, kernel, debiased, sigma=None):
    """Straight from the definitions (Kornblith 2019; Song 2012), on the resampled rows."""
    def gram(x):
        if kernel == "linear":
            return x @ x.T
        d = squareform(pdist(x))
        s = np.median(d[np.triu_indices(len(x), 1)]) if sigma is None else sigma
        return np.exp(-(d**2) / (2 * s**2))

    def h(k, l):  # noqa: E741
        n = len(k)
        if not debiased:
            c = np.eye(n) - 1 / n
            return np.trace(k @ c @ l @ c)
        k, l = k - np.diag(np.diag(k)), l - np.diag(np.diag(l))  # noqa: E741
        one = np.ones(n)
        return np.trace(k @ l) + one @ k @ one * (one @ l @ one) / ((n - 1) * (n - 2)) - 2 * one @ k @ l @ one / (n - 2)

    k, l = gram(a), gram(b)  # noqa: E741
    return h(k, l) / np.sqrt(h(k, k) * h(l, l))


@pytest.mark.parametrize(("kernel", "sigma"), [("linear", None), ("rbf", None), ("rbf", 3.0)])
@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("n", [40, 42])  # an even and an odd number of pairs (the median's two cases)
def test_replicates_equal_recomputed_resamples(kernel, sigma, debiased, n):
    rng = np.random.default_rng(n)
    a = rng.normal(size=(n, 7))
    b = a @ rng.normal(size=(7, 5)) + rng.normal(size=(n, 5))
    score = cka(a, b, kernel=kernel, debiased=debiased, sigma=sigma, n_boot=15, seed=3)
    idx = bootstrap_indices(n, 15, 3)
    expected = [_reference(a[i], b[i], kernel, debiased, sigma) for i in idx[1:]]
    np.testing.assert_allclose(score.replicates, expected, rtol=1e-8)
    assert score.value == pytest.approx(_reference(a, b, kernel, debiased, sigma), rel=1e-10)
