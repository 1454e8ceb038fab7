"""Ablations through forward hooks (closed forms on small networks) and dose-response curves with CIs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from neurosafe.data import natural_patches
from neurosafe.interp import (
    InterpError,
    UnknownSiteError,
    ablate,
    accuracy_score,
    alignment_score,
    dose_response,
    orientation_decoding,
    unit_ablation_effects,
)
from neurosafe.subjects import TorchSubject
from tests.interp.helpers import tiny_net


class _MLP(nn.Module):
    """Images (B, 1, 1, 5) -> Linear(5, 7) - ReLU - Linear(7, 3); sites ``net.0``, ``net.1``, ``net.2``."""

    def __init__(self):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self.net = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))

    def forward(self, x):
        return self.net(x.flatten(1))

    def hidden(self, x):
        return torch.relu(self.net[0](x.flatten(1)))


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 1, 1, 5, generator=torch.Generator().manual_seed(seed))


def _record_input(module: nn.Module) -> dict:
    """What ``module`` receives (downstream of any ablation hook on the module before it)."""
    store: dict = {}
    module.register_forward_pre_hook(lambda _m, args: store.__setitem__("x", args[0]))
    return store


def test_zero_ablation_removes_the_units_contribution():
    model, x = _MLP(), _images(10, 0)
    keep = torch.ones(7)
    keep[[1, 4]] = 0
    readout = model.net[2]
    with ablate(model, "net.1", [1, 4]):
        torch.testing.assert_close(model(x), (model.hidden(x) * keep) @ readout.weight.T + readout.bias)
    torch.testing.assert_close(model(x), model.hidden(x) @ readout.weight.T + readout.bias)  # hook removed


def test_mean_ablation_uses_the_reference_mean():
    model, x, ref = _MLP(), _images(6, 0), _images(40, 1)
    store = _record_input(model.net[2])
    with ablate(model, "net.1", [2], method="mean", reference=ref):
        model(x)
    torch.testing.assert_close(store["x"][:, 2], model.hidden(ref)[:, 2].mean().expand(6))
    torch.testing.assert_close(store["x"][:, 0], model.hidden(x)[:, 0])


def test_resample_ablation_draws_whole_reference_inputs():
    model, x, ref = _MLP(), _images(6, 0), _images(40, 1)
    store = _record_input(model.net[2])
    with ablate(model, "net.1", [2, 3], method="resample", reference=ref, seed=1):
        model(x)
    ref_hidden = model.hidden(ref)[:, [2, 3]]
    for row in store["x"][:, [2, 3]]:
        assert torch.isclose(ref_hidden, row).all(1).any()


def test_channel_and_site_ablation_of_a_conv_net():
    net, x = tiny_net(), torch.rand(3, 1, 32, 32)
    store = _record_input(net[3])
    with ablate(net, "2", [1, 5]):
        net(x)
    assert (store["x"][:, [1, 5]] == 0).all() and (store["x"][:, 0] != 0).any()
    with ablate(TorchSubject(net), "2"):  # the whole site, through the TorchSubject's model
        net(x)
    assert (store["x"] == 0).all()


def test_ablating_brain_neurons_sets_their_responses_to_zero(brain):
    stimuli = natural_patches(5, 32, seed=0)
    with ablate(brain, None, [0, 3]):
        ablated = brain.respond(stimuli).values
    intact = brain.respond(stimuli).values
    assert (ablated[:, [0, 3]] == 0).all()
    np.testing.assert_array_equal(ablated[:, 1], intact[:, 1])


def test_dose_response_of_orientation_decoding(brain):
    ds = dose_response(brain, None, orientation_decoding(brain, None), fractions=(0, 0.5, 0.9, 1.0), n_draws=2,
                       n_boot=200)
    score = ds["score"].values
    assert score[0] > 0.8 and score[-1] < 0.2 and score[0] > score[2] > score[-1]
    assert (ds["ci_low"].values <= score + 1e-12).all() and (score <= ds["ci_high"].values + 1e-12).all()
    np.testing.assert_array_equal(ds["n_ablated"].values, [0, 20, 36, 40])
    assert ds.attrs["intact"] == pytest.approx(score[0])


def test_alignment_and_accuracy_scores(brain):
    """Brain alignment: a network that reads the brain's own neurons predicts a recording of them; accuracy: a
    classifier equals the closed-form argmax rule."""
    stimuli = natural_patches(120, 32, seed=5)
    recording = brain.record(stimuli, repeats=4, seed=6)
    score = alignment_score(brain, None, stimuli, recording)
    r = score()
    assert r.shape == (40,) and np.nanmedian(r) > 0.5
    with ablate(brain, None):  # no features left: CV predictions are training means, never positively aligned
        assert np.nanmax(score()) < 0.05
    net, x = tiny_net(), torch.rand(20, 1, 32, 32)
    labels = net(x).argmax(1).numpy()
    labels[:5] = (labels[:5] + 1) % 4
    np.testing.assert_array_equal(accuracy_score(net, x, labels)(), np.r_[np.zeros(5), np.ones(15)])


def test_unit_ablation_effects_have_paired_cis(brain):
    effects = unit_ablation_effects(brain, None, [0, 1], orientation_decoding(brain, None), n_boot=100)
    assert list(effects["neuron_id"].values) == ["v1_0000", "v1_0001"]
    assert (effects["ci_low"] <= effects["effect"]).all() and (effects["effect"] <= effects["ci_high"]).all()


def test_bad_inputs_raise_clear_errors(brain):
    net = tiny_net()
    with pytest.raises(UnknownSiteError, match=r"close matches: \['2'"):
        with ablate(net, "22"):
            pass
    with pytest.raises(InterpError, match="needs reference inputs"):
        with ablate(net, "2", method="mean"):
            pass
    with pytest.raises(InterpError, match="method must be one of"):
        with ablate(net, "2", method="shuffle"):
            pass
    with pytest.raises(InterpError, match=r"lie in \[0, 6\)"):
        with ablate(net, "2", [6]):
            net(torch.rand(1, 1, 32, 32))
    with pytest.raises(InterpError, match="reference images of the same size"):
        with ablate(net, "2", [0], method="mean", reference=torch.rand(4, 1, 16, 16)):
            net(torch.rand(1, 1, 32, 32))
    with pytest.raises(InterpError, match=r"fractions must lie in \[0, 1\]"):
        dose_response(brain, None, orientation_decoding(brain, None), fractions=(0, 1.5))


def test_single_unit_ablation_moves_the_fixed_readout_margin(brain):
    """Issue 18: every unit card showed +0.0000 [+0.0000, +0.0000]. A refitted probe's 0/1 accuracy on 40 cells
    does not move when one cell goes (the bug's cause, kept here as the contrast); the fixed readout's margin does,
    for tuned cells, with a CI that excludes 0."""
    refit = unit_ablation_effects(brain, None, [0, 3], orientation_decoding(brain, None), n_boot=50)
    np.testing.assert_array_equal(refit["effect"].values, 0.0)
    fixed = unit_ablation_effects(brain, None, [0, 3], orientation_decoding(brain, None, margin=True), n_boot=200)
    assert (fixed["effect"].values < 0).all() and (fixed["ci_high"].values < 0).all()
