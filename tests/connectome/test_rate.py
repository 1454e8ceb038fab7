"""Rate network: Euler closed forms, steady states, gap junctions, gradients, Subject."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from neurosafe.connectome import Connectome, RateModel, currents_to_stimuli
from neurosafe.core.errors import DataValidationError
from neurosafe.subjects import Subject


def _chain(gap: float = 0.0) -> Connectome:
    """a -> b (3 synapses, excitatory), c -| b (2 synapses, inhibitory); a and c share a gap junction."""
    chemical = sp.csr_array(([3.0, 2.0], ([0, 2], [1, 1])), shape=(3, 3))
    sign = sp.csr_array(([1.0, -1.0], ([0, 2], [1, 1])), shape=(3, 3))
    electrical = sp.csr_array(([gap, gap], ([0, 2], [2, 0])), shape=(3, 3)) if gap else sp.csr_array((3, 3))
    return Connectome("chain", ["a", "b", "c"], ["S", "I", "S"], chemical, sign, electrical)


def test_isolated_neurons_follow_the_euler_closed_form():
    c = _chain()
    model = RateModel(
        c, tau={"S": 5.0, "I": 20.0}, activation="relu", dt=1.0, strength=1e-9, dtype=torch.float64
    )
    currents = torch.tensor([[2.0, 0.7, 0.0]], dtype=torch.float64)
    rates = model(currents, steps=30)[0].detach().numpy()
    t = np.arange(1, 31)[:, None]
    decay = np.array([1 - 1 / 5, 1 - 1 / 20, 1 - 1 / 5])
    np.testing.assert_allclose(rates, np.array([2.0, 0.7, 0.0]) * (1 - decay**t), atol=1e-7)


def test_steady_state_of_the_signed_chain():
    # relu with non-negative drive is linear: b* = relu(s * (3 a* - 2 c*) + I_b)
    model = RateModel(_chain(), tau=2.0, dt=0.5, strength=0.25, activation="relu", dtype=torch.float64)
    final = model(torch.tensor([[1.0, 1.0, 0.5]], dtype=torch.float64), steps=400)[0, -1].detach().numpy()
    np.testing.assert_allclose(final, [1.0, 1.0 + 0.25 * (3 * 1.0 - 2 * 0.5), 0.5], atol=1e-9)
    # the effective weights are sign * count * strength, [pre, post]
    np.testing.assert_allclose(model.effective_chemical().toarray(), [[0, 0.75, 0], [0, 0, 0], [0, -0.5, 0]])


def test_gap_junction_steady_state():
    # a <-> c with conductance g*n: a* = I (1 + k) / (1 + 2k), c* = I k / (1 + 2k), k = g * n
    model = RateModel(
        _chain(gap=2.0), tau=3.0, dt=1.0, strength=1e-12, gap_strength=0.25, dtype=torch.float64
    )
    final = model(torch.tensor([[1.2, 0.0, 0.0]], dtype=torch.float64), steps=600)[0, -1].detach().numpy()
    k = 0.25 * 2.0
    np.testing.assert_allclose(final[[0, 2]], [1.2 * (1 + k) / (1 + 2 * k), 1.2 * k / (1 + 2 * k)], atol=1e-8)


def test_time_varying_input_and_gradients(varshney):
    model = RateModel(varshney, activation="tanh", gap_strength=0.01, duration=20.0, dt=2.0)
    constant = torch.rand(2, varshney.n_neurons, generator=torch.Generator().manual_seed(0))
    steps = round(model.duration / model.dt)
    assert torch.allclose(model(constant), model(constant[:, None].expand(-1, steps, -1)))
    model(constant)[:, -1].pow(2).sum().backward()
    for name in ("log_tau", "bias", "log_strength", "log_gap"):
        grad = getattr(model, name).grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name
    assert len(model.type_pairs) == model.log_strength.numel() == varshney.summary()["n_type_edges"]


def test_tau_is_clamped_to_dt_and_bad_arguments_raise(varshney):
    model = RateModel(_chain(), tau=0.1, dt=1.0)
    assert torch.all(model.tau == 1.0)
    with pytest.raises(DataValidationError, match="activation"):
        RateModel(varshney, activation="step")
    with pytest.raises(DataValidationError, match="no value for the cell types"):
        RateModel(_chain(), tau={"S": 3.0})
    with pytest.raises(DataValidationError, match="currents must be"):
        RateModel(_chain())(torch.zeros(1, 4))
    with pytest.raises(DataValidationError, match="need dt > 0"):
        RateModel(_chain(), dt=0)


def test_respond_is_a_subject(varshney):
    touch = ["ALML", "ALMR", "AVM", "PLML", "PLMR"]
    model = RateModel(varshney, input_neurons=touch, duration=40.0, dt=2.0)
    assert isinstance(model, Subject) and "AVA" in model.sites
    stimuli = currents_to_stimuli(np.array([[1, 1, 1, 0, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 0]], float))
    responses = model.respond(stimuli)
    assert responses.dims == ("stimulus", "neuron") and responses.sizes["neuron"] == varshney.n_neurons
    assert (responses.values[2] == 0).all() and responses.values[0].max() > 0
    ava = model.respond(stimuli, site="AVA")
    assert set(ava.neuron_id.values) == {"AVAL", "AVAR"}
    assert (ava.cell_type.values == "AVA").all()


def test_rate_model_is_a_differentiable_subject():
    """Gradients of steady rates w.r.t. the input currents equal central finite differences (float64)."""
    from neurosafe.subjects import DifferentiableSubject

    model = RateModel(_chain(), tau=2.0, dt=0.5, strength=0.25, activation="softplus", dtype=torch.float64,
                      duration=20.0)
    assert isinstance(model, DifferentiableSubject) and model.device == torch.device("cpu")
    x = torch.tensor([[[[0.3, 0.6, 0.2]]]], dtype=torch.float64)
    acts = model.activations(x, ["all", "I"])
    expected = model.respond(currents_to_stimuli([[0.3, 0.6, 0.2]])).values
    np.testing.assert_allclose(acts["all"].detach().numpy(), expected)
    assert acts["I"].shape == (1, 1)
    f = lambda v: model.activations(v, ["I"])["I"].sum()  # noqa: E731
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(xg), xg)
    h = 1e-6
    for i in range(3):
        e = torch.zeros_like(x)
        e[..., i] = 1.0
        with torch.no_grad():
            fd = (f(x + h * e) - f(x - h * e)) / (2 * h)
        assert float(grad[..., i]) == pytest.approx(float(fd), rel=1e-6, abs=1e-10)
    assert float(grad[..., 0]) > 0 > float(grad[..., 2])  # a excites b, c inhibits it
    with pytest.raises(DataValidationError, match="unknown site"):
        model.activations(x, ["nope"])
