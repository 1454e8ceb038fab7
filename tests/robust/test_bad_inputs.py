"""Every bad input to an attack gets a clear neurosafe error naming the problem."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.robust import AttackError, apgd, fgsm, pgd, random_noise, robustness_report
from neurosafe.subjects import NotDifferentiableError

ATTACKS = {"pgd": lambda *a, **k: pgd(*a, steps=2, **k), "fgsm": fgsm, "apgd": lambda *a, **k: apgd(*a, steps=2, **k)}


@pytest.fixture(scope="module")
def batch(digits):
    return digits[2][:8], digits[3][:8]


@pytest.mark.parametrize("name", ATTACKS)
def test_pixels_outside_unit_range(net, batch, name):
    x, y = batch
    bad = x.clone()
    bad[3, 0, 2, 2] = 1.5
    with pytest.raises(DataValidationError, match=r"must lie in \[0, 1\].*examples 3"):
        ATTACKS[name](net, bad, y, eps=0.1)
    with pytest.raises(DataValidationError, match="NaN"):
        ATTACKS[name](net, x * torch.nan, y, eps=0.1)


@pytest.mark.parametrize("name", ATTACKS)
@pytest.mark.parametrize("eps", [-0.1, float("nan"), "big"])
def test_bad_epsilon(net, batch, name, eps):
    with pytest.raises(AttackError, match="epsilon"):
        ATTACKS[name](net, *batch, eps=eps)


def test_bad_norm_steps_and_objective(net, batch):
    with pytest.raises(AttackError, match="unknown norm"):
        pgd(net, *batch, eps=0.1, norm="l1")
    with pytest.raises(AttackError, match="steps"):
        pgd(net, *batch, eps=0.1, steps=0)
    with pytest.raises(AttackError, match="unknown objective"):
        pgd(net, *batch, eps=0.1, objective="hinge")
    with pytest.raises(AttackError, match="one value per example"):
        pgd(net, *batch, eps=0.1, steps=1, objective=lambda out, y: out.sum())
    with pytest.raises(AttackError, match="random_start=True"):
        pgd(net, batch[0], None, eps=0.1, random_start=False)
    with pytest.raises(AttackError, match="random_start=True"):
        fgsm(net, batch[0], None, eps=0.1)


@pytest.mark.parametrize("model", [
    pytest.param(lambda net: (lambda x: net(x).detach()), id="detached"),
    pytest.param(lambda net: (lambda x: torch.from_numpy(net(x).detach().numpy())), id="through-numpy"),
    pytest.param(lambda net: torch.no_grad()(net.forward), id="no-grad"),
])
def test_model_without_gradients(net, batch, model):
    with pytest.raises(AttackError, match="no gradient"):
        pgd(model(net), *batch, eps=0.1, steps=1)


def test_models_that_cannot_be_attacked(net, batch):
    x, y = batch
    with pytest.raises(NotDifferentiableError, match="a object is not differentiable"):
        pgd(object(), x, y, eps=0.1)
    with pytest.raises(AttackError, match="returned ndarray, not a tensor"):
        pgd(lambda v: net(v).detach().numpy(), x, y, eps=0.1)
    with pytest.raises(AttackError, match="does not depend on its input"):
        pgd(lambda v: net.head[-1].bias.expand(len(v), -1), x, y, eps=0.1, steps=1)
    with pytest.raises(AttackError, match="failed on inputs of shape"):
        pgd(net, x[:, :, :8, :8], y, eps=0.1)


def test_mismatched_or_malformed_labels(net, batch):
    x, y = batch
    with pytest.raises(DataValidationError, match="7 labels/targets for 8 inputs"):
        pgd(net, x, y[:7], eps=0.1)
    with pytest.raises(DataValidationError, match="integer classes"):
        pgd(net, x, y.float(), eps=0.1)
    with pytest.raises(DataValidationError, match=r"labels must lie in \[0, 9\]"):
        pgd(net, x, y + 10, eps=0.1, steps=1)
    with pytest.raises(AttackError, match="needs labels"):
        pgd(net, x, None, eps=0.1, objective="ce")
    with pytest.raises(DataValidationError, match="7 labels"):
        robustness_report(net, x.numpy(), np.arange(7), parts=("adversarial",))


def test_all_errors_are_neurosafe_errors(batch):
    with pytest.raises(NeurosafeError):
        random_noise(batch[0].int(), eps=0.1)
