"""LIF network: equal spike times to Brian2 (numpy target), closed forms, Poisson input, Subject."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from neurosafe.connectome import SHIU2024, LIFNetwork, LIFParams, currents_to_stimuli, random_connectome
from neurosafe.connectome.reference import simulate_brian2
from neurosafe.core.errors import DataValidationError
from neurosafe.subjects import Subject

DT = 0.1


def _assert_same_spikes(ours: dict, reference: dict, dt: float) -> int:
    """Same neurons fire, equally often, at times within one step; returns the number of spikes."""
    assert set(ours) == set(reference)
    for k in reference:
        assert len(ours[k]) == len(reference[k]), f"neuron {k}: {len(ours[k])} vs {len(reference[k])} spikes"
        assert np.abs(ours[k] - reference[k]).max() <= dt + 1e-9
    return sum(len(v) for v in reference.values())


def _inputs(n: int, duration: float, fraction: float, rate: float, seed: int) -> np.ndarray:
    """Pre-drawn Poisson spike trains (bool (steps, n)) onto a random fraction of the neurons."""
    rng = np.random.default_rng(seed)
    targets = rng.random(n) < fraction
    return (rng.random((round(duration / DT), n)) < rate * DT / 1000) & targets


def test_random_network_equals_brian2(random1000):
    duration = 100.0
    rng = np.random.default_rng(1)
    current = rng.uniform(0, 8, random1000.n_neurons)
    spikes = _inputs(random1000.n_neurons, duration, 0.1, 150.0, seed=2)
    net = LIFNetwork(random1000, SHIU2024, dt=DT)
    ours = net.simulate(duration, current=current, input_spikes=spikes).spike_trains()
    reference, _ = simulate_brian2(random1000, SHIU2024, DT, duration, current=current, input_spikes=spikes)
    n_spikes = _assert_same_spikes(ours, reference, DT)
    assert n_spikes > 2000 and len(reference) > 500
    # the recurrent synapses matter: without them most spike trains change
    isolated = net.with_params(weight_per_synapse=0.0).simulate(
        duration, current=current, input_spikes=spikes
    )
    changed = [k for k in reference if not np.array_equal(isolated.spike_trains().get(k, []), reference[k])]
    assert len(changed) > 300


def test_c_elegans_with_gap_junctions_equals_brian2(cook_herm):
    duration = 200.0
    params = replace(SHIU2024, weight_per_synapse=1.0, gap_weight=0.05)
    rng = np.random.default_rng(3)
    current = rng.uniform(0, 6, cook_herm.n_neurons)
    spikes = _inputs(cook_herm.n_neurons, duration, 0.2, 100.0, seed=4)
    ours = LIFNetwork(cook_herm, params, dt=DT).simulate(duration, current=current, input_spikes=spikes)
    reference, _ = simulate_brian2(cook_herm, params, DT, duration, current=current, input_spikes=spikes)
    assert _assert_same_spikes(ours.spike_trains(), reference, DT) > 500
    assert ours.counts.sum() == sum(len(v) for v in reference.values())


def test_delta_synapses_without_delay_equal_brian2(varshney):
    duration = 100.0
    params = replace(SHIU2024, synapse="delta", delay=0.0, weight_per_synapse=2.0, refractory=1.0)
    current = np.random.default_rng(5).uniform(0, 7.5, varshney.n_neurons)
    spikes = _inputs(varshney.n_neurons, duration, 0.3, 80.0, seed=6)
    ours = LIFNetwork(varshney, params, dt=DT).simulate(duration, current=current, input_spikes=spikes)
    reference, _ = simulate_brian2(varshney, params, DT, duration, current=current, input_spikes=spikes)
    assert _assert_same_spikes(ours.spike_trains(), reference, DT) > 200


def _isolated(n: int):
    return random_connectome(n, 0.5, seed=0), replace(SHIU2024, weight_per_synapse=0.0)


def _closed_form_spike_times(drive: float, p: LIFParams, dt: float, duration: float) -> np.ndarray:
    """From rest, v(t) = v_rest + I (1 - exp(-t / tau_m)) crosses threshold at t*; a step records the spike at
    its start, then the neuron is reset and silent for the refractory steps."""
    t_star = -p.tau_m * math.log(1 - (p.v_threshold - p.v_rest) / drive)
    first = math.floor(t_star / dt)
    period = round(p.refractory / dt) + first
    return np.arange(first, round(duration / dt), period) * dt


@pytest.mark.parametrize("simulator", ["torch", "brian2"])
def test_constant_current_spike_times_follow_the_closed_form(simulator):
    connectome, params = _isolated(4)
    drive = np.array([7.5, 9.0, 15.0, 40.0])  # mV above rest; threshold is 7 mV above rest
    duration = 60.0
    if simulator == "torch":
        trains = LIFNetwork(connectome, params, dt=DT).simulate(duration, current=drive).spike_trains()
    else:
        trains, _ = simulate_brian2(connectome, params, DT, duration, current=drive)
    for i, d in enumerate(drive):
        np.testing.assert_allclose(trains[i], _closed_form_spike_times(d, params, DT, duration), atol=1e-9)
    assert len(trains[3]) > len(trains[0])


def test_poisson_input_rate_and_seed():
    connectome, params = _isolated(200)
    net = LIFNetwork(connectome, params, dt=DT)
    a = net.simulate(500.0, poisson_rate=150.0, seed=7, record_spikes=False)
    # every input spike (68.75 mV, no refractory period) fires the neuron at the next step unless it arrives
    # in the step the neuron fires: rate = 150 Hz x (1 - p), p = 150 Hz x dt
    expected = 150.0 * (1 - 150.0 * DT / 1000)
    assert a.rates().mean() == pytest.approx(expected, rel=0.04)
    assert torch.equal(a.counts, net.simulate(500.0, poisson_rate=150.0, seed=7, record_spikes=False).counts)
    assert not torch.equal(
        a.counts, net.simulate(500.0, poisson_rate=150.0, seed=8, record_spikes=False).counts
    )


def test_batch_equals_separate_runs(varshney):
    net = LIFNetwork(varshney, replace(SHIU2024, weight_per_synapse=1.0, gap_weight=0.05), dt=DT)
    currents = np.random.default_rng(0).uniform(0, 9, (3, varshney.n_neurons))
    batched = net.simulate(50.0, current=currents)
    for b in range(3):
        single = net.simulate(50.0, current=currents[b])
        assert torch.equal(batched.spikes[:, b], single.spikes[:, 0])
    assert torch.equal(batched.counts, batched.spikes.sum(0))


def test_respond_is_a_subject_with_closed_form_rates():
    connectome, params = _isolated(3)
    net = LIFNetwork(
        connectome, params, dt=DT, duration=100.0, input_neurons=["n00000", "n00001"], input_scale=20.0
    )
    assert isinstance(net, Subject)
    stimuli = currents_to_stimuli(np.array([[0.5, 1.0], [0.0, 0.45]]))
    rates = net.respond(stimuli)
    assert rates.dims == ("stimulus", "neuron") and rates.attrs["units"] == "Hz"
    expected = [len(_closed_form_spike_times(d, params, DT, 100.0)) * 10.0 for d in (10.0, 20.0)]
    np.testing.assert_allclose(rates.values[0, :2], expected)
    assert rates.values[1, 0] == 0 and rates.values[1, 1] > 0 and (rates.values[:, 2] == 0).all()
    assert net.respond(stimuli, site="excitatory").sizes["neuron"] <= 3
    with pytest.raises(DataValidationError, match="unknown site"):
        net.respond(stimuli, site="cortex")
    with pytest.raises(DataValidationError, match="2 input neurons"):
        net.respond(currents_to_stimuli(np.ones((1, 3))))


def test_bad_arguments_raise(varshney):
    net = LIFNetwork(varshney, dt=DT)
    with pytest.raises(DataValidationError, match="current must be"):
        net.simulate(10.0, current=np.ones(5))
    with pytest.raises(DataValidationError, match="input_spikes must be"):
        net.simulate(10.0, input_spikes=np.zeros((3, varshney.n_neurons), bool))
    with pytest.raises(DataValidationError, match="at most 1 spike per step"):
        net.simulate(10.0, poisson_rate=20000.0)
    with pytest.raises(DataValidationError, match="shorter than one step"):
        net.simulate(0.01)
    with pytest.raises(DataValidationError, match="synapse must be"):
        LIFParams(synapse="alpha")
    with pytest.raises(DataValidationError, match="tau_m > 0"):
        LIFParams(tau_m=0)
    with pytest.raises(DataValidationError, match="no neuron or cell type"):
        LIFNetwork(varshney, input_neurons=["NOPE"])
    with pytest.raises(DataValidationError, match="spikes were not recorded"):
        net.simulate(1.0, record_spikes=False).spike_trains()
