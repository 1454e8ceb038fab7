"""Shifter and modulator, on synthetic-brain variants with planted eye-position shifts and behaviour gains."""

import numpy as np
import pytest
import torch

from neurosafe.data import StimulusSet, SyntheticBrain, make_responses, natural_patches
from neurosafe.twin import ReadoutConfig, StackedCoreConfig, TwinConfig, TwinTrainConfig, fit_twin

SIZE = 16


@pytest.fixture(scope="module")
def brain():
    return SyntheticBrain(
        n_neurons=16, area="V1", seed=4, image_size=SIZE, snr_range=(2.0, 4.0), n_calibration=300
    )


def _config(**kw):
    return TwinConfig(
        core=StackedCoreConfig(channels=6, kernel_sizes=(7, 3)),
        readout=ReadoutConfig(init_mu_range=0.3),
        train=TwinTrainConfig(epochs=kw.pop("epochs", 10), progress=False, lr=1e-2),
        **kw,
    )


def _gain_recording(brain, stim, gains, seed, repeats=8):
    """Trials with a per-trial behaviour b in [0, 1] that multiplies each neuron's rate by 1 + a_n b."""
    rng = np.random.default_rng(seed)
    b = rng.uniform(0, 1, (len(stim), repeats))
    mean = brain.respond(stim).values[:, :, None] * (1 + gains[None, :, None] * b[:, None, :])
    return make_responses(rng.poisson(mean).astype(float), stim.ids, brain.neuron_ids).assign_coords(
        running=(("stimulus", "repeat"), b)
    )


def test_modulator_learns_the_behaviour_gain(brain):
    gains = np.linspace(0, 2, 16)[np.random.default_rng(0).permutation(16)]
    stim, test = natural_patches(200, SIZE, seed=1), natural_patches(20, SIZE, seed=2)
    rec = _gain_recording(brain, stim, gains, 3)
    twin = fit_twin(stim, rec, _config(modulator=("running",), epochs=12), seed=0)
    query = _gain_recording(brain, test, gains, 4, repeats=1)
    at = {
        v: twin.predict_trials(test, query.assign_coords(running=query.running * 0 + v)).values
        for v in (0.2, 0.8)
    }
    learned = (at[0.8] / at[0.2]).mean(axis=(0, 2))  # the gain is multiplicative: same ratio for every image
    true = (1 + 0.8 * gains) / (1 + 0.2 * gains)
    assert np.corrcoef(learned, true)[0, 1] > 0.8
    assert np.median(np.abs(learned - true)) < 0.15


def _shift_recording(brain, stim, seed, repeats=4):
    """Trials whose image is displaced by 2 px per unit of eye position (integer shifts, wrap-around)."""
    rng = np.random.default_rng(seed)
    eye = rng.integers(-1, 2, (len(stim), repeats, 2)).astype(float)
    counts = np.empty((len(stim), brain.n_neurons, repeats))
    for r in range(repeats):
        shifted = np.stack(
            [
                np.roll(img, (2 * int(ey), 2 * int(ex)), axis=(-2, -1))
                for img, (ex, ey) in zip(stim.images, eye[:, r], strict=True)
            ]
        )
        counts[:, :, r] = rng.poisson(brain.respond(StimulusSet(shifted)).values)
    return make_responses(counts, stim.ids, brain.neuron_ids).assign_coords(
        eye_x=(("stimulus", "repeat"), eye[..., 0]), eye_y=(("stimulus", "repeat"), eye[..., 1])
    )


def test_shifter_learns_the_eye_position_shift(brain):
    stim = natural_patches(400, SIZE, seed=5)
    twin = fit_twin(
        stim, _shift_recording(brain, stim, 7), _config(shifter=("eye_x", "eye_y"), epochs=12), seed=0
    )
    shifter = twin.network.shifters["default"]
    with torch.no_grad():
        grid = shifter(torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]), 4)
    px = grid.numpy() * (SIZE - 1) / 2
    # content displaced by +2 px looks like receptive fields displaced by -2 px
    dx, dy = (px[0] - px[1]) / 2, (px[2] - px[3]) / 2
    np.testing.assert_allclose([dx[0], dy[1]], [-2, -2], atol=0.7)
    assert abs(dx[1]) < 0.7 and abs(dy[0]) < 0.7
