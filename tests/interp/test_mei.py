"""Most-exciting, most-inhibitory and diverse inputs: the synthetic brain's RFs, natural images, the three adapters."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurosafe.data import natural_patches
from neurosafe.interp import (
    AscentConfig,
    InterpError,
    UnknownSiteError,
    differentiable_forward,
    diverse_exciting_inputs,
    mei_vs_natural,
    most_exciting_inputs,
    most_inhibitory_inputs,
)
from neurosafe.subjects import TorchSubject
from tests.interp.helpers import corr_rows, tiny_net

FAST = AscentConfig(steps=100)


@pytest.fixture(scope="module")
def natural():
    return natural_patches(500, 32, seed=11)


@pytest.fixture(scope="module")
def simple_meis(brain):
    simple = np.flatnonzero(brain.ground_truth["cell_type"].values == "simple")[:12]
    return most_exciting_inputs(brain, units=simple, n_seeds=2, config=FAST)


def test_simple_cell_meis_match_their_receptive_fields(brain, simple_meis):
    """Signed correlation: a simple cell's drive is relu(filter . x), so its MEI has the filter's sign and phase
    (no sign ambiguity to remove). The MEI is broader than the filter (the normalization pool penalises contrast
    inside it), so r < 1."""
    filters = brain.ground_truth["filter"].values[simple_meis["unit_index"].values]
    r = corr_rows(simple_meis["image"].values[:, 0] - 0.5, filters)
    assert np.median(r) >= 0.7


def test_meis_drive_units_more_than_their_best_natural_image(brain, simple_meis, natural):
    comparison = mei_vs_natural(brain, simple_meis, natural)
    assert (comparison["ratio"].values >= 1).all()
    direct = brain.respond(natural).values[:, simple_meis["unit_index"].values].max(0)
    np.testing.assert_allclose(comparison["natural_max"].values, direct, rtol=1e-5)
    norms = np.linalg.norm((simple_meis["image"].values - 0.5).reshape(len(direct), -1), axis=1)
    assert norms.max() <= simple_meis.attrs["norm"] * (1 + 1e-5)  # within the contrast budget


def test_most_inhibitory_inputs_silence_the_drive(brain, natural):
    """V1 cells here are rectified: the least they can do is their baseline (gain x offset), which a blank natural
    patch reaches too. Simple cells reach it exactly; a complex cell's energy has a vanishing gradient at zero, so
    the ascent stops within 1 % of it."""
    units = np.arange(6)
    mii = most_inhibitory_inputs(brain, units=units, n_seeds=1, config=FAST)
    baseline = brain.ground_truth["baseline"].values[units]
    np.testing.assert_allclose(mii["activation"].values, baseline, rtol=0.01)
    assert (mii["activation"].values <= 1.01 * brain.respond(natural).values[:, units].min(0)).all()


def test_diverse_inputs_reveal_phase_invariance_of_complex_cells(brain):
    """A complex cell responds to its preferred grating at any phase: its diverse inputs spread over phase (the angle
    of their projections on the even and odd Gabor) and are dissimilar; a simple cell's cannot."""
    truth = brain.ground_truth
    cell_type = truth["cell_type"].values
    units = np.concatenate([np.flatnonzero(cell_type == "simple")[:5], np.flatnonzero(cell_type == "complex")[:5]])
    ds = diverse_exciting_inputs(brain, units=units, n_images=3, n_seeds=1, config=AscentConfig(steps=60))
    assert np.median(ds["fraction"].values) >= 0.85 and ds["fraction"].min() >= 0.8
    contrast = ds["image"].values[:, :, 0] - 0.5
    even = np.einsum("nkyx,nyx->nk", contrast, truth["filter"].values[units])
    odd = np.einsum("nkyx,nyx->nk", contrast, truth["filter_quadrature"].values[units])
    spread = 1 - np.abs(np.exp(1j * np.arctan2(odd, even)).mean(1))
    assert np.median(spread[5:]) > 0.3 > 0.05 > np.median(spread[:5])
    assert np.median(ds["similarity"].values[5:]) < np.median(ds["similarity"].values[:5])


def test_batching_does_not_change_the_result():
    net = tiny_net()
    config = AscentConfig(steps=20)
    batched = most_exciting_inputs(net, "2", [0, 1, 2], n_seeds=2, config=config, seed=5)
    one_by_one = most_exciting_inputs(net, "2", [0, 1, 2], n_seeds=2, config=config, seed=5, batch_size=1)
    np.testing.assert_allclose(one_by_one["seed_activation"], batched["seed_activation"], rtol=1e-4, atol=1e-6)
    duck = most_exciting_inputs(TorchSubject(net), "2", [0, 1, 2], n_seeds=2, config=config, seed=5)
    np.testing.assert_allclose(duck["image"].values, batched["image"].values, atol=1e-5)
    assert list(batched["neuron_id"].values) == ["2:0", "2:1", "2:2"]


def test_a_conv_unit_is_its_channel_at_the_centre():
    net = tiny_net()
    x = torch.rand(4, 1, 32, 32)
    expected = net[:3](x)[:, :, 16, 16]
    for subject in (net, TorchSubject(net)):
        torch.testing.assert_close(differentiable_forward(subject, "2")(x), expected)


def test_bad_inputs_raise_clear_errors(brain):
    with pytest.raises(UnknownSiteError, match=r"close matches: \['2'"):
        most_exciting_inputs(tiny_net(), "22", [0])
    with pytest.raises(InterpError, match="out of range: the site has 6 units"):
        most_exciting_inputs(tiny_net(), "2", [6])
    with pytest.raises(InterpError, match="unknown unit 'v1_9999'"):
        most_exciting_inputs(brain, units=["v1_9999"])
    with pytest.raises(InterpError, match="sees 32x32 images"):
        most_exciting_inputs(brain, units=[0], image_shape=(1, 64, 64))
    with pytest.raises(InterpError, match="invalid MEI settings"):
        AscentConfig(rms_contrast=0.0)
    with pytest.raises(InterpError, match="needs a differentiable model"):
        most_exciting_inputs(object(), None, [0])
