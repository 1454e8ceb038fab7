"""Shape metrics against explicit scipy Procrustes, repsim's CCA, brute-force permutations and invariances."""

from itertools import permutations

import numpy as np
import pytest
import repsim
from scipy.linalg import orthogonal_procrustes
from scipy.stats import ortho_group

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.metrics import cca_similarity, permutation_distance, shape_distance


@pytest.fixture(scope="module")
def reps():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 6))
    return x, x @ rng.standard_normal((6, 6)) + 0.8 * rng.standard_normal((40, 6)), rng.standard_normal((40, 9))


def test_procrustes_equals_explicit_scipy_orthogonal_procrustes(reps):
    x, y, _ = reps
    xc, yc = x - x.mean(0), y - y.mean(0)
    r, _ = orthogonal_procrustes(xc, yc)
    angle = np.arccos(np.sum((xc @ r) * yc) / (np.linalg.norm(xc) * np.linalg.norm(yc)))
    assert shape_distance(x, y, alpha=1, n_boot=0).value == pytest.approx(angle, abs=1e-10)
    euclid = np.linalg.norm(xc @ r - yc) / np.sqrt(len(x))
    assert shape_distance(x, y, alpha=1, metric="euclidean", n_boot=0).value == pytest.approx(euclid, abs=1e-10)


def test_cca_similarity_equals_repsim(reps):
    x, y, wide = reps
    for a, b in ((x, y), (x, wide)):
        assert cca_similarity(a, b, "mean_sq_corr") == pytest.approx(repsim.cca([a, b], "yanai")[0, 1], abs=1e-10)
        assert cca_similarity(a, b, "mean_corr") == pytest.approx(repsim.cca([a, b], "pillai")[0, 1], abs=1e-10)


def test_alpha_zero_is_the_cca_angle(reps):
    x, y, _ = reps
    assert np.cos(shape_distance(x, y, alpha=0, n_boot=0).value) == pytest.approx(
        repsim.cca([x, y], "pillai")[0, 1], abs=1e-10)


def test_invariances_planted():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 5))
    rotated = 2.5 * x @ ortho_group.rvs(5, random_state=2) + 4
    assert shape_distance(x, rotated, alpha=1, n_boot=0).value < 1e-6
    linear = x @ rng.standard_normal((5, 5))
    assert shape_distance(x, linear, alpha=0, n_boot=0).value < 1e-6  # CCA: any invertible map
    assert shape_distance(x, linear, alpha=1, n_boot=0).value > 0.1  # Procrustes: only rotations
    padded = np.hstack([x, np.zeros((50, 3))]) @ ortho_group.rvs(8, random_state=3)
    assert shape_distance(x, padded, alpha=1, n_boot=0).value < 1e-6  # unequal widths: zero-padding


def test_angular_shape_distance_is_a_metric():
    rng = np.random.default_rng(4)
    reps = [rng.standard_normal((30, 4)) @ rng.standard_normal((4, 4)) for _ in range(5)]
    for alpha in (0.0, 0.5, 1.0):
        d = np.array([[shape_distance(a, b, alpha=alpha, n_boot=0).value for b in reps] for a in reps])
        np.testing.assert_allclose(d, d.T, atol=1e-10)
        assert np.all(d[:, :, None] <= d[:, None, :] + d.T[None, :, :] + 1e-9)  # triangle inequality


def test_permutation_distance_equals_brute_force():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((25, 5)), rng.standard_normal((25, 5))
    xc, yc = x - x.mean(0), y - y.mean(0)
    best = min(np.linalg.norm(xc[:, list(p)] - yc) for p in permutations(range(5)))
    ours = permutation_distance(x, y, metric="euclidean", n_boot=0).value
    assert ours == pytest.approx(best / np.sqrt(25), abs=1e-10)
    shuffled = x[:, rng.permutation(5)]
    assert permutation_distance(x, shuffled, metric="euclidean", n_boot=0).value < 1e-10
    assert permutation_distance(x, x @ ortho_group.rvs(5, random_state=6), n_boot=0).value > 0.1


def test_scores_carry_direction_and_ci(reps):
    x, y, _ = reps
    score = shape_distance(x, y, n_boot=50)
    assert not score.higher_is_better and score.ci[0] < score.ci[1]


def test_bad_inputs(reps):
    x, y, _ = reps
    with pytest.raises(NeurosafeError, match="alpha"):
        shape_distance(x, y, alpha=1.5)
    with pytest.raises(NeurosafeError, match="metric"):
        shape_distance(x, y, metric="cosine")
    with pytest.raises(DataValidationError, match="constant"):
        shape_distance(np.ones((40, 3)), y, n_boot=0)
    with pytest.raises(DataValidationError, match="same stimuli"):
        permutation_distance(x, y[:10])
    with pytest.raises(NeurosafeError, match="summary"):
        cca_similarity(x, y, "pillai")
