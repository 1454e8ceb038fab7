"""The planted animal: its CPG locks to the gait's phase lags (the coupled oscillators' fixed point), its
spikes are Poisson with the planted rates, and its ground-truth table says what each unit encodes."""

from __future__ import annotations

import numpy as np
import pytest

from neurosafe.embodied import BodyConfig, EmbodiedError, PlantedAnimal


def test_cpg_locks_to_gait_lags(animal, trials):
    behaviour, _, _ = trials
    phase = behaviour.central[:, 40:, : animal.n_act]  # after 2 s of locking
    rel = np.angle(np.exp(1j * (phase - phase[..., :1] - (animal.lags - animal.lags[0]))))
    assert np.abs(rel).max() < 0.05


def test_animal_walks_forward_without_falling(trials):
    behaviour, _, _ = trials
    speed = behaviour.kinematics[..., -3].mean(axis=1)
    assert (speed > 0).all() and speed.mean() > 0.2
    assert np.abs(behaviour.kinematics[..., -1]).max() < 1.2


def test_spike_counts_are_poisson_with_planted_rates(animal, trials):
    behaviour, _, _ = trials
    rec = animal.record(behaviour, repeats=6, seed=1)
    counts = rec.responses.transpose("stimulus", "time", "neuron", "repeat").values
    expected = animal.firing_rates(behaviour) * behaviour.dt
    # mean over repeats and bins against the planted expectation; Fano factor of Poisson counts is 1
    np.testing.assert_allclose(counts.mean(axis=(0, 1, 3)), expected.mean(axis=(0, 1)), rtol=0.08)
    resid = counts - expected[..., None]
    fano = (resid**2).mean(axis=(0, 1, 3)) / expected.mean(axis=(0, 1))
    np.testing.assert_allclose(np.median(fano), 1.0, atol=0.08)
    assert rec.responses.dims == ("stimulus", "neuron", "repeat", "time")
    np.testing.assert_allclose(rec.responses["time"].values[:3], [0, 0.05, 0.1])


def test_ground_truth_table_names_what_units_encode(animal, trials):
    """Each intention unit's rate follows its planted weighting of (speed, stride); each CPG unit's follows
    the cosine of its oscillator's phase (lead steps ahead) at its preferred phase."""
    behaviour, _, _ = trials
    gt = animal.ground_truth
    rates = np.log(animal.firing_rates(behaviour)).reshape(-1, gt.sizes["neuron"])
    intention = behaviour.intention.reshape(-1, 2)
    for k in np.flatnonzero(gt.population.values == "intention"):
        drive = intention @ np.array([gt.weight_speed.values[k], gt.weight_stride.values[k]])
        assert np.corrcoef(drive, rates[:, k])[0, 1] > 0.95  # log-linear up to the rate clipping
    ahead = behaviour.extras["central_ahead"].reshape(-1, behaviour.central.shape[-1])
    for k in np.flatnonzero(gt.population.values == "cpg"):
        j = int(gt.joint.values[k])
        assert np.corrcoef(np.cos(ahead[:, j] - gt.preferred_phase.values[k]), rates[:, k])[0, 1] > 0.9
    assert set(gt.population.values) == {"cpg", "intention", "reflex", "motor"}


def test_bad_inputs():
    with pytest.raises(EmbodiedError, match="gaits"):
        PlantedAnimal(BodyConfig(body="rodent"))
    with pytest.raises(EmbodiedError, match="n_trials"):
        PlantedAnimal().simulate(0, 10)
