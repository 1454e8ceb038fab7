"""Corruptions: seeded, in [0, 1], farther from the clean image at each severity, and the parameterised
ones equal to their closed forms (Hendrycks & Dietterich 2019's CIFAR-10-C settings)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage.filters import gaussian

from neurosafe.core.errors import DataValidationError
from neurosafe.data import StimulusSet, natural_patches
from neurosafe.robust import CORRUPTIONS, AttackError, corrupt

RANDOM = ("gaussian_noise", "shot_noise", "impulse_noise", "motion_blur", "fog", "elastic_transform")


@pytest.fixture(scope="module", params=[False, True], ids=["grey", "rgb"])
def patches(request):
    return natural_patches(24, 32, seed=5, color=request.param).images


def _distance(a, b):
    return float(np.sqrt(((a - b) ** 2).sum(axis=(1, 2, 3))).mean())


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_range_determinism_and_monotone_severity(patches, kind):
    out = [corrupt(patches, kind, s, seed=11) for s in range(1, 6)]
    for o in out:
        assert o.shape == patches.shape and o.dtype == np.float32
        assert o.min() >= 0 and o.max() <= 1
    np.testing.assert_array_equal(out[2], corrupt(patches, kind, 3, seed=11))
    if kind in RANDOM:
        assert not np.array_equal(out[2], corrupt(patches, kind, 3, seed=12))
    distances = [_distance(o, patches) for o in out]
    assert distances[0] > 0
    assert all(b > a for a, b in pairwise(distances)), distances


def test_contrast_and_brightness_closed_form():
    x = natural_patches(6, 32, seed=2).images
    mean = x.mean(axis=(2, 3), keepdims=True)
    np.testing.assert_allclose(corrupt(x, "contrast", 2), np.clip((x - mean) * 0.5 + mean, 0, 1), atol=1e-6)
    np.testing.assert_allclose(corrupt(x, "brightness", 5), np.clip(x + 0.3, 0, 1), atol=1e-6)


def test_gaussian_blur_matches_skimage():
    x = natural_patches(3, 64, seed=2).images
    sigma = 1.0 * 64 / 32  # severity 5 at twice CIFAR's resolution
    expected = np.stack([gaussian(img[0], sigma=sigma, mode="nearest", preserve_range=True) for img in x])[:, None]
    np.testing.assert_allclose(corrupt(x, "gaussian_blur", 5), expected, atol=1e-5)


def test_noise_statistics():
    grey = np.full((200, 1, 32, 32), 0.5, np.float32)
    residual = corrupt(grey, "gaussian_noise", 3) - grey
    assert residual.std() == pytest.approx(0.08, rel=0.02)
    shot = corrupt(grey, "shot_noise", 5)  # Poisson(0.5 * 50) / 50: mean 0.5, variance 0.5 / 50
    assert shot.mean() == pytest.approx(0.5, abs=0.002)
    assert shot.var() == pytest.approx(0.01, rel=0.03)
    impulse = corrupt(grey, "impulse_noise", 5)
    changed = impulse != grey
    assert changed.mean() == pytest.approx(0.07, abs=0.003)
    assert (impulse[changed] == 1).mean() == pytest.approx(0.5, abs=0.03)


def test_defocus_disk_is_normalised_blur():
    """A constant image is unchanged by every blur (kernels sum to one, borders mirrored)."""
    flat = np.full((2, 1, 32, 32), 0.4, np.float32)
    for kind in ("gaussian_blur", "defocus_blur", "motion_blur", "pixelate", "elastic_transform"):
        np.testing.assert_allclose(corrupt(flat, kind, 5), flat, atol=1e-5)
    edge = np.zeros((1, 1, 32, 32), np.float32)
    edge[..., 16:] = 1
    blurred = corrupt(edge, "defocus_blur", 5)[0, 0]
    assert 0 < blurred[10, 15] < 1 and blurred[10, 0] == 0  # blurred across the edge, not far from it
    assert ndimage.sum(blurred) == pytest.approx(edge.sum(), rel=0.01)


def test_types_are_preserved():
    x = natural_patches(2, 32, seed=2)
    assert isinstance(corrupt(x, "fog", 2), StimulusSet)
    t = torch.from_numpy(x.images)
    assert isinstance(corrupt(t, "fog", 2), torch.Tensor)


def test_bad_input():
    x = natural_patches(2, 32, seed=2).images
    with pytest.raises(AttackError, match="unknown corruption"):
        corrupt(x, "snow", 1)
    for severity in (0, 6, 2.5, True):
        with pytest.raises(AttackError, match="severity"):
            corrupt(x, "fog", severity)
    with pytest.raises(DataValidationError, match=r"\[0, 1\]"):
        corrupt(x * 2, "fog", 1)
    with pytest.raises(AttackError, match="channels"):
        corrupt(x[:, 0], "fog", 1)
