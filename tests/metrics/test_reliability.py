"""Reliability metrics against independent plain-numpy references written here and against closed forms."""

import json
import warnings

import numpy as np
import pytest

from neurosafe.core.errors import DataValidationError
from neurosafe.data import SyntheticBrain, make_responses, natural_patches
from neurosafe.metrics import Score, correlation_ceiling, fev, feve, oracle_correlation, split_half_reliability


def _gaussian(n_stim=400, n_neurons=6, repeats=8, signal_sd=1.0, noise_sd=1.0, seed=0, holes=0.0):
    rng = np.random.default_rng(seed)
    mu = rng.normal(0, signal_sd, (n_stim, n_neurons))
    x = mu[..., None] + rng.normal(0, noise_sd, (n_stim, n_neurons, repeats))
    if holes:
        drop = rng.random(x.shape) < holes
        drop[..., :2] = False
        x[drop] = np.nan
    return make_responses(x), mu


def _reference_split_half(x, n_splits, rng):
    """Loop version: per split, per stimulus, shuffle valid repeats and halve them."""
    s, n, _ = x.shape
    rs = np.zeros((n_splits, n))
    for k in range(n_splits):
        a = np.full((s, n), np.nan)
        b = np.full((s, n), np.nan)
        for i in range(s):
            perm = rng.permutation(x.shape[2])
            for j in range(n):
                vals = x[i, j, perm]
                vals = vals[np.isfinite(vals)]
                h = len(vals) // 2
                if h >= 1:
                    a[i, j], b[i, j] = vals[:h].mean(), vals[h:].mean()
        for j in range(n):
            ok = np.isfinite(a[:, j]) & np.isfinite(b[:, j])
            rs[k, j] = np.corrcoef(a[ok, j], b[ok, j])[0, 1]
    r = rs.mean(0)
    return 2 * r / (1 + r)


def test_split_half_matches_loop_reference_with_missing_repeats():
    resp, _ = _gaussian(n_stim=150, holes=0.25, seed=1)
    ours = split_half_reliability(resp, n_splits=200, seed=0, n_boot=0).per_unit.values
    ref = _reference_split_half(resp.values, 200, np.random.default_rng(123))
    np.testing.assert_allclose(ours, ref, atol=0.02)  # different random splits: Monte-Carlo tolerance


def test_split_half_closed_form():
    # signal var 1, noise var 4, 8 repeats: reliability of the 8-trial mean = 1 / (1 + 4/8) = 2/3
    resp, _ = _gaussian(n_stim=4000, n_neurons=4, repeats=8, noise_sd=2.0, seed=2)
    s = split_half_reliability(resp, n_splits=20, n_boot=100)
    np.testing.assert_allclose(s.per_unit.values, 2 / 3, atol=0.03)
    assert s.ci[0] < s.value < s.ci[1]
    assert s.provenance["metric"] == "split_half_reliability" and "data_hash" in s.provenance


def test_split_half_uncorrected_option():
    resp, _ = _gaussian(n_stim=4000, n_neurons=3, repeats=8, noise_sd=2.0, seed=3)
    raw = split_half_reliability(resp, n_splits=20, n_boot=0, correct=False).value
    assert raw == pytest.approx(1 / (1 + 4 / 4), abs=0.03)  # 4-trial half means


def test_oracle_matches_loop_reference():
    resp, _ = _gaussian(n_stim=80, holes=0.2, seed=4)
    x = resp.values
    ref = []
    for j in range(x.shape[1]):
        obs, loo = [], []
        for i in range(x.shape[0]):
            v = x[i, j][np.isfinite(x[i, j])]
            for k in range(len(v)):
                obs.append(v[k])
                loo.append(np.delete(v, k).mean())
        ref.append(np.corrcoef(obs, loo)[0, 1])
    np.testing.assert_allclose(oracle_correlation(resp, n_boot=0).per_unit.values, ref, atol=1e-10)


def test_fev_closed_form_and_loop_reference():
    resp, _ = _gaussian(n_stim=3000, noise_sd=1.0, seed=5)
    np.testing.assert_allclose(fev(resp, n_boot=0).per_unit.values, 0.5, atol=0.03)
    small, _ = _gaussian(n_stim=30, holes=0.3, seed=6)
    x = small.values
    ref = []
    for j in range(x.shape[1]):
        trials = x[:, j][np.isfinite(x[:, j])]
        noise = np.mean([np.var(r[np.isfinite(r)], ddof=1) for r in x[:, j]])
        ref.append(1 - noise / np.var(trials, ddof=1))
    np.testing.assert_allclose(fev(small, n_boot=0).per_unit.values, ref, atol=1e-10)


def test_feve_of_true_mean_is_one_and_of_constant_is_about_zero():
    resp, mu = _gaussian(n_stim=3000, seed=7)
    assert feve(resp, mu, n_boot=0).value == pytest.approx(1.0, abs=0.03)
    const = np.broadcast_to(np.nanmean(resp.values, axis=(0, 2)), mu.shape)
    assert feve(resp, const, n_boot=0).value == pytest.approx(0.0, abs=0.03)
    # closed form: prediction = half the signal -> MSE excess = var(mu)/4 -> FEVE = 0.75
    assert feve(resp, 0.5 * mu, n_boot=0).value == pytest.approx(0.75, abs=0.04)


def test_feve_checks_prediction():
    resp, mu = _gaussian(n_stim=20, seed=8)
    with pytest.raises(DataValidationError, match="shape"):
        feve(resp, mu[:5])
    bad = mu.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataValidationError, match="NaN"):
        feve(resp, bad)
    other = make_responses(mu, stimulus_ids=[f"x{i}" for i in range(20)], dims=("stimulus", "neuron"))
    with pytest.raises(DataValidationError, match="different stimulus_ids"):
        feve(resp, other)


def test_constant_neuron_warns_and_is_excluded():
    resp, _ = _gaussian(n_stim=50, seed=9)
    v = resp.values.copy()
    v[:, 0] = 3.0
    with pytest.warns(RuntimeWarning, match="1 of 6 neurons"):
        s = split_half_reliability(make_responses(v), n_splits=5, n_boot=0)
    assert np.isnan(s.per_unit.values[0]) and np.isfinite(s.value)


def test_needs_repeats():
    resp, _ = _gaussian(n_stim=10, repeats=1, seed=10)
    with pytest.raises(DataValidationError, match="at least 2 valid repeats"):
        split_half_reliability(resp)


def test_score_to_dict_is_json():
    resp, _ = _gaussian(n_stim=40, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = split_half_reliability(resp, n_splits=5, n_boot=20).to_dict()
    text = json.dumps(d)
    assert "per_unit" in d and len(d["per_unit"]) == 6 and "NaN" not in text
    assert isinstance(split_half_reliability(resp, n_splits=2, n_boot=0), Score)


def test_correlation_ceiling_is_the_noise_free_correlation_with_the_average():
    """Planted truth: the synthetic brain's noise-free response correlates with the repeat average at
    sqrt(reliability), per neuron (Spearman 1904)."""
    brain = SyntheticBrain(40, "V1", seed=0)
    stimuli = natural_patches(300, 32, seed=1)
    recording = brain.record(stimuli, repeats=10, seed=2)
    signal = brain.respond(stimuli).transpose("stimulus", "neuron").values
    average = recording.mean("repeat").transpose("stimulus", "neuron").values
    truth = np.array([np.corrcoef(signal[:, i], average[:, i])[0, 1] for i in range(40)])
    ceiling = correlation_ceiling(recording, seed=3)
    assert np.nanmedian(truth / ceiling) == pytest.approx(1, abs=0.02)
    # the ratio to the reliability itself (Brain-Score's convention) would overshoot
    assert np.nanmedian(truth / ceiling**2) > 1.05
