import numpy as np
import pytest

from neurosafe.data.stimuli import natural_patches
from neurosafe.objectives.recovery import (
    ObjectiveBrain,
    RecoveryError,
    plot_confusion,
    plot_identifiability,
    recovery_experiment,
)


def test_brain_rates_and_poisson_noise(tiny_nets):
    brain = ObjectiveBrain(tiny_nets["a"], "alpha", n_neurons=20, site="relu3", mean_rate=6.0, seed=0,
                           image_size=16)
    stimuli = natural_patches(30, 16, seed=9)
    expected = brain.expected(stimuli)
    rec = brain.record(stimuli, repeats=400, seed=1)
    assert rec.dims == ("stimulus", "neuron", "repeat") and rec.shape == (30, 20, 400)
    np.testing.assert_allclose(rec.mean("repeat").values, expected, atol=5 * np.sqrt(expected.max() / 400) + 1e-9)
    np.testing.assert_allclose(rec.var("repeat").values, expected, rtol=0.35, atol=0.2)  # Poisson: var = mean
    with pytest.raises(RecoveryError, match="responsive units"):
        ObjectiveBrain(tiny_nets["a"], "alpha", n_neurons=10_000, image_size=16)
    many = ObjectiveBrain(tiny_nets["a"], "alpha", n_neurons=100, site="relu3", image_size=16, allow_repeats=True)
    assert len(set(many.units)) < 100 and many.record(stimuli[:5], 2).sizes["neuron"] == 100  # ids stay unique


def test_recovery_of_brains_that_are_the_candidates(tiny_nets, tmp_path):
    candidates = {"a0": ("alpha", tiny_nets["a"]), "b0": ("beta", tiny_nets["b"]), "c0": ("gamma", tiny_nets["c"])}
    brains = [("alpha", tiny_nets["a"]), ("beta", tiny_nets["b"]), ("gamma", tiny_nets["c"])]
    result = recovery_experiment(candidates, brains, n_stimuli=(60, 120), n_neurons=(24,), repeats=3,
                                 metrics=("ridge",), image_size=16, seed=0, noise="gaussian", noise_sd=0.5)
    acc = result.accuracy("consensus", n_boot=200)
    assert list(acc.n_stimuli) == [60, 120] and (acc.accuracy == 1.0).all() and (acc.chance == 1 / 3).all()
    conf = result.confusion(120, 24)
    assert np.array_equal(conf.values, np.eye(3, dtype=int))
    assert plot_confusion(result, 120, 24, tmp_path / "c.png").exists()
    assert plot_identifiability(result, tmp_path / "i.png").exists()
    assert result.to_dict()["confusion"]["n_stimuli"] == 120
    with pytest.raises(RecoveryError, match="no candidate has"):
        recovery_experiment(candidates, [("delta", tiny_nets["a"])], image_size=16)
