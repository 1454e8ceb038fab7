"""Attacks on regression objectives: the synthetic brain (a ground-truth stand-in for a fitted twin) and a
layer representation. A 2/255 L-inf attack must change predictions far more than random noise of the same
size."""

from __future__ import annotations

import torch

from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.robust import Representation, apgd, pgd, random_noise, robustness_curve


def _change(model, x, x_adv):
    with torch.no_grad():
        return (model(x_adv) - model(x)).flatten(1).norm(dim=1)


def test_attack_on_synthetic_brain_beats_noise():
    brain = SyntheticBrain(n_neurons=40, area="V1", seed=0)
    x = torch.from_numpy(natural_patches(64, 32, seed=1).images)
    eps = 2 / 255
    adv = pgd(brain, x, None, eps=eps, steps=10)  # a subject: attacked through its differentiable .module
    noise = random_noise(x, eps=eps, seed=3)
    assert float((adv - x).abs().max()) <= eps + 1e-6
    attacked, noisy = _change(brain.module, x, adv), _change(brain.module, x, noise)
    assert attacked.mean() > 3 * noisy.mean()
    assert (attacked > noisy).float().mean() >= 0.95
    # APGD on the same objective is at least as strong on average
    assert _change(brain.module, x, apgd(brain, x, None, eps=eps, steps=10)).mean() >= 0.95 * attacked.mean()


def test_attack_on_a_layer_representation(net, digits):
    x = digits[2][:100]
    layer = Representation(net, "features.5")  # the last pooled conv features
    adv = pgd(layer, x, None, eps=0.03, steps=10)
    noise = random_noise(x, eps=0.03, seed=1)
    assert _change(layer, x, adv).mean() > 2 * _change(layer, x, noise).mean()


def test_regression_curve_grows_with_epsilon():
    brain = SyntheticBrain(n_neurons=20, area="V1", seed=2)
    x = natural_patches(24, 32, seed=4).images
    curve = robustness_curve(brain, x, None, eps=[0, 1 / 255, 4 / 255], steps=5)
    assert curve.name == "objective" and curve.dims == ("epsilon",)
    assert curve.sel(epsilon=0).item() == 0
    assert curve[1] < curve[2]
