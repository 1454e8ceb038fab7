"""How experiments reach subjects: the three differentiable adapters, units, sites and input checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurosafe.data import gratings
from neurosafe.interp import InterpError, UnitResponder, UnknownSiteError, differentiable_forward, stimulus_format
from neurosafe.interp._access import differentiable, measure
from neurosafe.subjects import TorchSubject
from tests.interp.helpers import tiny_net


def test_the_synthetic_brain_forward_is_its_module(brain):
    x = torch.rand(3, 1, 32, 32)
    torch.testing.assert_close(differentiable_forward(brain)(x), brain.module(x))
    stimuli = gratings(size=32)
    np.testing.assert_allclose(UnitResponder(differentiable(brain)).respond(stimuli).values,
                               brain.respond(stimuli).values, rtol=1e-6)


def test_torch_subject_transform_is_applied():
    net = tiny_net()
    subject = TorchSubject(net, transform=lambda x: 1 - x)
    x = torch.rand(2, 1, 32, 32)
    torch.testing.assert_close(differentiable_forward(subject, "0")(x), net[0](1 - x)[:, :, 16, 16])


def test_linear_sites_and_the_model_output():
    net = tiny_net()
    x = torch.rand(2, 1, 32, 32)
    torch.testing.assert_close(differentiable_forward(net, None)(x), net(x))
    torch.testing.assert_close(differentiable_forward(net, "5")(x), net[:6](x))


def test_measure_attaches_stimulus_parameters(brain):
    stimuli = gratings(size=32)
    responses = measure(brain, None, stimuli)
    np.testing.assert_array_equal(responses["orientation"].values, stimuli.metadata["orientation"].values)


def test_stimulus_format():
    assert stimulus_format(tiny_net(in_channels=3)) == (True, 32)
    assert stimulus_format(tiny_net(), 48) == (False, 48)


def test_errors_name_the_problem(brain):
    with pytest.raises(UnknownSiteError, match=r"unknown site 'conv' in Sequential; valid sites"):
        differentiable_forward(tiny_net(), "conv")
    with pytest.raises(UnknownSiteError, match=r"close matches: \['V1'\]"):
        measure(brain, "v1", gratings(size=32))
    with pytest.raises(InterpError, match=r"failed on input of shape \(1, 1, 32, 32\)"):
        differentiable_forward(tiny_net(in_channels=3), "0")(torch.rand(1, 1, 32, 32))
    with pytest.raises(InterpError, match="failed on stimuli of shape"):
        measure(TorchSubject(tiny_net(in_channels=3)), "0", gratings(size=32))
    with pytest.raises(InterpError, match="expected a recording"):
        measure(object(), None, gratings(size=32))
    with pytest.raises(InterpError, match="sees 32x32 images; got size=16"):
        stimulus_format(brain, 16)
