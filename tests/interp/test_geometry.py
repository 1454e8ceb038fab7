"""Population geometry and probes on planted data: known spectra, known dimensionality, known labels."""

from __future__ import annotations

import numpy as np
import pytest

from neurosafe.data import make_responses
from neurosafe.interp import (
    InterpError,
    cross_validated_spectrum,
    eigenspectrum_alpha,
    linear_probe,
    participation_ratio,
    pca_spectrum,
)
from tests.interp.helpers import tiny_net


def _power_law_population(alpha: float, n_stimuli: int = 1000, n_neurons: int = 200, noise: float = 0.05,
                          repeats: int = 2, seed: int = 0):
    """Signal with covariance eigenvalues n^-alpha in a random basis, plus independent trial noise."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((n_neurons, n_neurons)))
    signal = (rng.standard_normal((n_stimuli, n_neurons)) * np.arange(1, n_neurons + 1) ** (-alpha / 2)) @ basis.T
    trials = signal[..., None] + noise * rng.standard_normal((n_stimuli, n_neurons, repeats))
    dims = ("stimulus", "neuron", "repeat") if repeats > 1 else ("stimulus", "neuron")
    return make_responses(trials if repeats > 1 else trials[..., 0], dims=dims)


@pytest.mark.parametrize("alpha", [0.8, 1.0, 1.4])
def test_cross_validated_alpha_recovers_the_planted_exponent(alpha):
    score = eigenspectrum_alpha(_power_law_population(alpha), n_splits=2)
    assert abs(score.value - alpha) < 0.1
    assert score.provenance["params"]["cross_validated"]


def test_alpha_of_noise_free_responses_and_its_ci():
    score = eigenspectrum_alpha(_power_law_population(1.0, n_stimuli=800, n_neurons=200, repeats=1), n_boot=20)
    assert abs(score.value - 1.0) < 0.1
    assert not score.provenance["params"]["cross_validated"]
    assert score.ci[0] <= score.value <= score.ci[1]


def test_cross_validation_removes_the_noise_floor():
    """Pure noise has no signal variance: the cross-validated spectrum is ~0 while plain PCA sees the noise."""
    rng = np.random.default_rng(1)
    noise = make_responses(rng.standard_normal((300, 50, 4)))
    cv = cross_validated_spectrum(noise).values
    plain = pca_spectrum(noise).values
    assert np.abs(cv).sum() < 0.1 * plain.sum()


def test_participation_ratio_closed_form():
    rng = np.random.default_rng(2)
    lam = np.array([4.0, 2.0, 1.0, 1.0, 0.5])
    q, _ = np.linalg.qr(rng.standard_normal((200, 5)))
    q -= q.mean(0)  # centred orthogonal-ish scores
    u, _, _ = np.linalg.svd(q, full_matrices=False)
    x = u * np.sqrt(lam * 199) @ np.linalg.qr(rng.standard_normal((5, 5)))[0]
    pr = participation_ratio(make_responses(x, dims=("stimulus", "neuron")))
    assert pr == pytest.approx(lam.sum() ** 2 / (lam**2).sum(), rel=1e-6)


def test_linear_probe_with_a_control_task():
    """Two classes 4 noise s.d. apart along one direction (ideal single-trial accuracy Phi(2) = 0.977): the probe
    decodes them; the control task (random label per stimulus) can only be learnt by memorising stimuli."""
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1], 20)
    means = rng.standard_normal((40, 30)) * 0.3
    means[:, 0] += 4.0 * labels
    trials = means[..., None] + rng.standard_normal((40, 30, 6))
    result = linear_probe(make_responses(trials), labels, n_boot=200)
    assert result.accuracy.value > 0.93
    assert result.selectivity > 0.25
    assert result.chance == pytest.approx(0.5)
    lo, hi = result.accuracy.ci
    assert lo <= result.accuracy.value <= hi
    null = linear_probe(make_responses(rng.standard_normal((40, 30, 6))), labels, n_boot=0)
    assert null.accuracy.value < 0.7


def test_geometry_of_a_network_site():
    from neurosafe.data import natural_patches

    stimuli = natural_patches(200, 32, seed=0)
    spectrum = pca_spectrum(tiny_net(), "2", stimuli)
    assert len(spectrum) == 6 and (np.diff(spectrum.values) <= 1e-12).all()


def test_bad_inputs_raise_clear_errors():
    x = make_responses(np.random.default_rng(0).standard_normal((10, 5)), dims=("stimulus", "neuron"))
    with pytest.raises(InterpError, match="needs a 'repeat' dim"):
        cross_validated_spectrum(x)
    with pytest.raises(InterpError, match="fewer than 3 positive eigenvalues"):
        eigenspectrum_alpha(x, fit_range=(4, 5))
    with pytest.raises(InterpError, match="no stimulus coord 'orientation'"):
        linear_probe(x, "orientation")
    with pytest.raises(InterpError, match="needs >= 2 classes"):
        linear_probe(x, np.zeros(10))
