import numpy as np
import pandas as pd
import pytest

from neurosafe.core.errors import DataValidationError
from neurosafe.data import StimulusSet, gratings, natural_patches, pink_noise, white_noise
from neurosafe.data.stimuli import make_stimuli
from neurosafe.data.synthetic import gabor


def test_stimulus_set_accepts_valid_images_and_subsets():
    imgs = np.random.default_rng(0).random((5, 1, 8, 8), dtype=np.float32)
    st = StimulusSet(imgs, [f"s{i}" for i in range(5)], pd.DataFrame({"k": range(5)}))
    assert len(st) == 5 and st.size == (8, 8)
    sub = st.select(["s3", "s1"])
    assert list(sub.ids) == ["s3", "s1"] and list(sub.metadata["k"]) == [3, 1]
    np.testing.assert_array_equal(sub.images[0], imgs[3])


@pytest.mark.parametrize(
    ("images", "ids", "message"),
    [
        (np.full((2, 1, 4, 4), 1.5, np.float32), None, "in \\[0, 1\\]"),
        (np.full((2, 1, 4, 4), -0.1, np.float32), None, "in \\[0, 1\\]"),
        (np.zeros((2, 4, 4, 4), np.float32), None, "channels"),
        (np.zeros((2, 4), np.float32), None, "shape"),
        (np.zeros((2, 1, 4, 4), np.uint8), None, "floating point"),
        (np.zeros((2, 1, 4, 4), np.float32), ["a", "a"], "duplicate stimulus ids: 'a'"),
        (np.zeros((2, 1, 4, 4), np.float32), ["a"], "2 images"),
        (np.zeros((0, 1, 4, 4), np.float32), None, "at least one"),
    ],
)
def test_stimulus_set_rejects_bad_input(images, ids, message):
    with pytest.raises(DataValidationError, match=message):
        StimulusSet(images, ids)


def test_stimulus_set_rejects_nan_and_names_id():
    imgs = np.zeros((3, 1, 4, 4), np.float32)
    imgs[1, 0, 0, 0] = np.nan
    with pytest.raises(DataValidationError, match="'b'"):
        StimulusSet(imgs, ["a", "b", "c"])


def test_select_unknown_id_is_clear():
    st = white_noise(3, 8)
    with pytest.raises(DataValidationError, match="not in the StimulusSet"):
        st.select(["nope"])


def test_natural_patches_seeded_and_shaped():
    a, b = natural_patches(20, 24, seed=3), natural_patches(20, 24, seed=3)
    c = natural_patches(20, 24, seed=4)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, c.images)
    assert a.shape == (20, 1, 24, 24)
    assert natural_patches(4, (16, 20), seed=0, color=True).shape == (4, 3, 16, 20)
    assert a.images.std(axis=(1, 2, 3)).mean() > 0.02  # real image structure, not flat grey


def test_grating_orientation_matches_gabor_convention():
    # a grating drives the Gabor of the same orientation and SF most (independent closed-form check)
    st = gratings(orientations=np.arange(0, 180, 15), spatial_frequencies=(0.1,), phases=(0.0,), size=32)
    g = gabor((32, 32), 15.5, 15.5, 4.0, 60.0, 0.1, 0.0)
    drive = (st.images[:, 0] - 0.5).reshape(len(st), -1) @ g.ravel()
    assert st.metadata["orientation"].iloc[int(np.argmax(drive))] == 60.0


def test_gratings_contrast_and_aperture():
    # 17 px with the centre at pixel 8 and an 8 px period samples the peaks exactly: span = contrast
    st = gratings(orientations=(0,), spatial_frequencies=(0.125,), phases=(0,), contrasts=(0.0, 0.5, 1.0), size=17)
    span = st.images.max(axis=(1, 2, 3)) - st.images.min(axis=(1, 2, 3))
    np.testing.assert_allclose(span, [0.0, 0.5, 1.0], atol=1e-6)
    windowed = gratings(orientations=(0,), phases=(0,), size=16, aperture=5)
    assert windowed.images[0, 0, 0, 0] == pytest.approx(0.5)  # outside the aperture: mean grey
    assert windowed.images[0, 0, 7, 7] != pytest.approx(0.5)
    with pytest.raises(DataValidationError, match="contrast"):
        gratings(contrasts=(1.5,))


def test_pink_noise_has_the_requested_spectral_slope():
    st = pink_noise(200, 64, seed=1, exponent=1.0, contrast=0.1)
    f = np.fft.fftshift(np.abs(np.fft.fft2(st.images[:, 0] - 0.5)) ** 2, axes=(-2, -1)).mean(0)
    y, x = np.indices(f.shape) - 32
    r = np.hypot(x, y).astype(int)
    radial = np.bincount(r.ravel(), f.ravel()) / np.bincount(r.ravel())
    k = np.arange(2, 25)
    slope = np.polyfit(np.log(k), np.log(radial[k]), 1)[0]
    assert slope == pytest.approx(-2.0, abs=0.2)  # power ~ 1/f^(2*exponent)


def test_white_noise_is_spatially_uncorrelated_and_seeded():
    st = white_noise(500, 16, seed=2, contrast=0.1)
    z = st.images[:, 0] - 0.5
    corr = np.corrcoef(z[:, 5, 5], z[:, 5, 6])[0, 1]
    assert abs(corr) < 0.1
    np.testing.assert_array_equal(st.images, white_noise(500, 16, seed=2, contrast=0.1).images)
    with pytest.raises(DataValidationError, match="distribution"):
        white_noise(2, 8, distribution="uniformish")


def test_make_stimuli_dispatch_and_error():
    assert len(make_stimuli("natural", 5, 16)) == 5
    with pytest.raises(DataValidationError, match="unknown stimulus kind"):
        make_stimuli("faces", 5)


def test_resized_grey_keeps_ids_and_range():
    st = natural_patches(6, 64, seed=0, color=True)
    small = st.resized(16, grey=True)
    assert small.shape == (6, 1, 16, 16) and list(small.ids) == list(st.ids)
    # block average of the grey image is close to the anti-aliased resize
    block = st.grey().reshape(6, 16, 4, 16, 4).mean(axis=(2, 4))
    assert np.abs(small.images[:, 0] - block).mean() < 0.03
    assert st.resized(64).images.shape == (6, 3, 64, 64)
