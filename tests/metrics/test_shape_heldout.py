"""Held-out shape distances (``LinearShapeMetric``) against closed forms, planted copies and an explicit
scipy construction of Williams et al. (2021)'s partial whitening + orthogonal Procrustes."""

import numpy as np
import pytest
from scipy.linalg import fractional_matrix_power, orthogonal_procrustes
from scipy.stats import ortho_group
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.metrics import LinearShapeMetric, shape_distance


def _split(x, y, n_train):
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def _reference(x, y, xt, yt, alpha):
    """Explicit feature-space construction: C_alpha^(-1/2) per side, zero-padding, scipy Procrustes."""
    width = max(x.shape[1], y.shape[1])
    x, xt, y, yt = (np.pad(a, ((0, 0), (0, width - a.shape[1]))) for a in (x, xt, y, yt))
    mx, my = x.mean(0), y.mean(0)

    def whitening(a):
        c = np.cov(a, rowvar=False, bias=True)
        return np.real(fractional_matrix_power(alpha * np.eye(width) + (1 - alpha) * c, -0.5))

    wx, wy = whitening(x), whitening(y)
    r, _ = orthogonal_procrustes((x - mx) @ wx, (y - my) @ wy)
    a, b = (xt - mx) @ wx @ r, (yt - my) @ wy
    angle = np.arccos(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return angle, np.linalg.norm(a - b) / np.sqrt(len(a))


@pytest.mark.parametrize(("alpha", "q"), [(1.0, 6), (0.3, 6), (0.3, 4), (0.0, 6)])
def test_heldout_distance_equals_explicit_whitening_and_scipy_procrustes(alpha, q):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 6)) * [3, 2, 1, 1, 0.5, 0.2]
    y = x[:, :q] @ rng.standard_normal((q, q)) + rng.standard_normal((100, q))
    x_tr, y_tr, x_te, y_te = _split(x, y, 60)
    angle, euclid = _reference(x_tr, y_tr, x_te, y_te, alpha)
    fitted = LinearShapeMetric(alpha).fit(x_tr, y_tr)
    assert fitted.score(x_te, y_te) == pytest.approx(angle, abs=1e-9)
    euclidean = LinearShapeMetric(alpha, score_method="euclidean").fit(x_tr, y_tr)
    assert euclidean.score(x_te, y_te) == pytest.approx(euclid, rel=1e-8)


def test_alignment_is_scipy_orthogonal_procrustes():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((40, 6)), rng.standard_normal((40, 6))
    fitted = LinearShapeMetric(alpha=1.0).fit(x, y)
    r, _ = orthogonal_procrustes(x - x.mean(0), y - y.mean(0))
    np.testing.assert_allclose(fitted.map_x_ @ fitted.map_y_.T, r, atol=1e-10)
    np.testing.assert_allclose(fitted.mean_x_, x.mean(0), atol=1e-14)


def test_heldout_rotated_scaled_and_linear_copies_are_at_distance_zero():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((200, 8)) * np.linspace(0.3, 3, 8)
    rotation = ortho_group.rvs(8, random_state=3)
    x_tr, x_te = x[:120], x[120:]
    for alpha in (0.0, 0.5, 1.0):  # a rotated, shifted copy: every alpha, both scores
        for method in ("angular", "euclidean"):
            m = LinearShapeMetric(alpha, method).fit(x_tr, x_tr @ rotation + 4)
            assert m.score(x_te, x_te @ rotation + 4) < 1e-6
    scaled = LinearShapeMetric(1.0).fit(x_tr, 2.5 * x_tr @ rotation)  # angular ignores scale
    assert scaled.score(x_te, 2.5 * x_te @ rotation) < 1e-6
    linear = rng.standard_normal((8, 8))
    assert LinearShapeMetric(0.0).fit(x_tr, x_tr @ linear).score(x_te, x_te @ linear) < 1e-6  # CCA
    assert LinearShapeMetric(1.0).fit(x_tr, x_tr @ linear).score(x_te, x_te @ linear) > 0.1  # rotations only
    latent = rng.standard_normal((200, 5))  # wide, low-rank layers (p > n_train): the held-out data
    wide = latent @ rng.standard_normal((5, 300))  # lie in the training span
    wide_rotated = np.hstack([wide, np.zeros((200, 20))]) @ ortho_group.rvs(320, random_state=4)  # wider
    m = LinearShapeMetric(1.0).fit(wide[:100], wide_rotated[:100])
    assert m.score(wide[100:], wide_rotated[100:]) < 1e-6


@pytest.mark.parametrize("method", ["angular", "euclidean"])
def test_heldout_distance_is_symmetric(method):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((90, 5))
    y = np.tanh(x @ rng.standard_normal((5, 7))) + 0.5 * rng.standard_normal((90, 7))
    x_tr, y_tr, x_te, y_te = _split(x, y, 50)
    xy = LinearShapeMetric(0.5, method).fit(x_tr, y_tr).score(x_te, y_te)
    yx = LinearShapeMetric(0.5, method).fit(y_tr, x_tr).score(y_te, x_te)
    assert xy == pytest.approx(yx, abs=1e-10) and xy > 0.1


def test_independent_representations_are_orthogonal_held_out_but_not_in_sample():
    """For independent X and Y the fitted rotation is independent of new stimuli, so the held-out aligned
    inner product has mean 0: angle -> pi/2 (sd ~ 1/sqrt(n_test p) = 0.006 here). In-sample the rotation
    fits the noise, so the angle is biased low (by about sum of singular values / (n p) ~ 0.05)."""
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((5200, 5)), rng.standard_normal((5200, 5))
    m = LinearShapeMetric(1.0).fit(x[:200], y[:200])
    assert m.score(x[200:], y[200:]) == pytest.approx(np.pi / 2, abs=0.025)
    assert m.score(x[:200], y[:200]) < np.pi / 2 - 0.03
    assert shape_distance(x[:200], y[:200], n_boot=0).value == pytest.approx(m.score(x[:200], y[:200]), abs=1e-12)


def test_parameters_are_kept_verbatim_and_checked_at_fit():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((30, 4)), rng.standard_normal((30, 3))
    bad = LinearShapeMetric(alpha=1.5, score_method="cosine")
    assert clone(bad).get_params() == {"alpha": 1.5, "score_method": "cosine"}
    with pytest.raises(NeurosafeError, match="metric"):
        bad.fit(x, y)
    with pytest.raises(NeurosafeError, match="alpha"):
        LinearShapeMetric(alpha=-0.1).fit(x, y)
    with pytest.raises(NotFittedError):
        LinearShapeMetric().score(x, y)
    fitted = LinearShapeMetric().fit(x, y)
    with pytest.raises(DataValidationError, match="units"):
        fitted.score(y, x)
    with pytest.raises(DataValidationError, match="same stimuli"):
        fitted.fit(x, y[:10])
