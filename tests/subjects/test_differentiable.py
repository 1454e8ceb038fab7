"""The DifferentiableSubject protocol and the one adapter: who implements it, and that its gradients are right
(checked against the module called directly and against central finite differences in float64)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from neurosafe.data import SyntheticBrain
from neurosafe.subjects import (
    DifferentiableSubject,
    NotDifferentiableError,
    SiteError,
    TorchSubject,
    as_differentiable,
    network,
    zoo,
)


def directional_fd(f, x: torch.Tensor, v: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """Central difference of the scalar function f along v (written here, independent of autograd)."""
    with torch.no_grad():
        return (f(x + h * v) - f(x - h * v)) / (2 * h)


def grad_along(f, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x)
    return (g * v).sum()


def test_torch_subject_gradients_equal_the_module_called_directly():
    net = zoo.get_model("cnn_small", seed=0, in_channels=1, n_classes=4)
    subject = TorchSubject(net, device="cpu")
    assert isinstance(subject, DifferentiableSubject) and subject.sites[-1] == "output"
    x = torch.rand(3, 1, 32, 32, requires_grad=True)
    acts = subject.activations(x, ["relu2", "output"])
    assert acts["relu2"].shape == (3, 32, 16, 16)  # original shapes
    w = torch.randn(acts["relu2"].shape, generator=torch.Generator().manual_seed(0))  # a random readout
    (ours,) = torch.autograd.grad((acts["relu2"] * w).sum(), x)
    x2 = x.detach().clone().requires_grad_(True)
    (direct,) = torch.autograd.grad((net[:5](x2) * w).sum(), x2)  # conv1 relu1 pool1 conv2 relu2
    assert direct.abs().sum() > 0
    torch.testing.assert_close(ours, direct)
    torch.testing.assert_close(acts["output"], net(x))


def test_synthetic_brain_matches_finite_differences():
    brain = SyntheticBrain(n_neurons=6, area="V1", seed=3)
    assert isinstance(brain, DifferentiableSubject) and brain.device == torch.device("cpu")
    brain.module.double()
    gen = torch.Generator().manual_seed(0)
    x = (0.5 + 0.2 * torch.randn(1, 1, 32, 32, generator=gen, dtype=torch.float64)).clamp(0, 1)
    for unit in range(3):
        f = lambda v, u=unit: brain.activations(v, ["V1"])["V1"][0, u]  # noqa: E731
        for _ in range(2):
            d = torch.randn(x.shape, generator=gen, dtype=torch.float64)
            assert float(grad_along(f, x, d)) == pytest.approx(float(directional_fd(f, x, d)), rel=1e-5, abs=1e-9)
    with pytest.raises(Exception, match="unknown site 'V4'"):
        brain.activations(x, ["V4"])


def test_as_differentiable_passes_subjects_through_and_wraps_modules_and_functions():
    brain = SyntheticBrain(n_neurons=4, seed=0)
    assert as_differentiable(brain) is brain
    assert network(brain) is brain.module
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).double()
    wrapped = as_differentiable(net)
    assert isinstance(wrapped, TorchSubject) and network(wrapped) is net
    assert wrapped.device == torch.device("cpu")  # "auto" follows the module's parameters
    x = torch.rand(2, 1, 4, 4, dtype=torch.float64)
    torch.testing.assert_close(wrapped.activations(x, ["output"])["output"], net(x))
    fn = as_differentiable(lambda v: v.flatten(1).sum(1, keepdim=True) ** 2)
    assert fn.sites == ("output",)
    f = lambda v: fn.activations(v, ["output"])["output"].sum()  # noqa: E731
    d = torch.randn_like(x)
    assert float(grad_along(f, x, d)) == pytest.approx(float(directional_fd(f, x, d)), rel=1e-6)
    with pytest.raises(NotDifferentiableError, match="a int is not differentiable"):
        as_differentiable(3)


def test_output_site_does_not_shadow_a_module_named_output():
    net = nn.Sequential()
    net.add_module("hidden", nn.Linear(4, 4))
    net.add_module("output", nn.Linear(4, 2))
    subject = TorchSubject(net, device="cpu")
    assert subject.sites == ("hidden", "output")
    x = torch.rand(3, 4)
    torch.testing.assert_close(subject.activations(x, ["output"])["output"], net(x))
    with pytest.raises(SiteError, match="unknown site 'outptu'"):
        subject.activations(x, ["outptu"])


def test_model_is_not_moved_or_copied_by_the_adapter():
    net = zoo.get_model("cnn_small", seed=1, in_channels=1)
    before = copy.deepcopy(net.state_dict())
    subject = as_differentiable(net)
    subject.activations(torch.rand(1, 1, 32, 32), ["fc"])
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
