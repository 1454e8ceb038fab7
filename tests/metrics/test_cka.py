"""CKA against repsim run side by side, and its closed-form invariances."""

import numpy as np
import pytest
import repsim
from scipy.stats import ortho_group

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.data import make_responses
from neurosafe.metrics import cka


@pytest.fixture(scope="module")
def reps():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 8))
    return x, x @ rng.standard_normal((8, 12)) + rng.standard_normal((60, 12)), rng.standard_normal((60, 90))


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_biased_cka_equals_repsim(reps, kernel):
    x, y, wide = reps
    for a, b in ((x, y), (x, wide), (wide, y)):
        assert cka(a, b, kernel=kernel, n_boot=0).value == pytest.approx(repsim.cka([a, b], kernel, "gretton")[0, 1],
                                                                        abs=1e-10)


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_debiased_cka_equals_cka_from_repsims_unbiased_hsic(reps, kernel):
    """Debiased CKA = unbiased HSIC(K, L) / sqrt(unbiased HSIC(K, K) unbiased HSIC(L, L)) (Song et al. 2012).

    (repsim's own cka(..., 'song') divides by the biased self-HSICs, so its HSIC matrix is the reference.)
    """
    x, y, _ = reps
    h = repsim.hsic([x, y], kernel, "song")
    assert cka(x, y, kernel=kernel, debiased=True, n_boot=0).value == pytest.approx(
        h[0, 1] / np.sqrt(h[0, 0] * h[1, 1]), abs=1e-10)


def test_linear_cka_invariances(reps):
    """Invariant to orthogonal transforms, isotropic scaling and translation; not to anisotropic scaling."""
    x, y, _ = reps
    q = ortho_group.rvs(12, random_state=1)
    base = cka(x, y, n_boot=0).value
    assert cka(x, 3 * y @ q + 7, n_boot=0).value == pytest.approx(base, abs=1e-12)
    assert cka(x, x, n_boot=0).value == pytest.approx(1.0)
    assert cka(x, y * np.linspace(0.1, 5, 12), n_boot=0).value != pytest.approx(base, abs=1e-3)


def test_debiasing_removes_the_high_dimensional_bias():
    """Independent wide random representations: biased CKA is far from 0, debiased CKA is near 0."""
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((50, 500)), rng.standard_normal((50, 500))
    assert cka(a, b, n_boot=0).value > 0.4
    assert abs(cka(a, b, debiased=True, n_boot=0).value) < 0.05


def test_dataarrays_matched_by_stimulus_id_with_repeats_averaged(reps):
    x, y, _ = reps
    ids = [f"s{i}" for i in range(60)]
    fx = make_responses(x, ids, dims=("stimulus", "neuron"))
    rng = np.random.default_rng(3)
    trials = make_responses(y[..., None] + 0 * rng.standard_normal((60, 12, 3)), ids)
    shuffled = fx.isel(stimulus=rng.permutation(60))
    score = cka(shuffled, trials, n_boot=50)
    assert score.value == pytest.approx(cka(x, y, n_boot=0).value, abs=1e-12)
    assert score.ci[0] <= score.value <= score.ci[1]


def test_bad_inputs(reps):
    x, y, _ = reps
    with pytest.raises(DataValidationError, match="same stimuli"):
        cka(x, y[:50])
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataValidationError, match="NaN"):
        cka(bad, y)
    with pytest.raises(DataValidationError, match="constant"):
        cka(np.ones((60, 3)), y, n_boot=0)
    with pytest.raises(NeurosafeError, match="kernel"):
        cka(x, y, kernel="poly")
    ids = [f"s{i}" for i in range(60)]
    fx = make_responses(x, ids, dims=("stimulus", "neuron"))
    fy = make_responses(y, [f"t{i}" for i in range(60)], dims=("stimulus", "neuron"))
    with pytest.raises(DataValidationError, match="different stimulus ids"):
        cka(fx, fy)
