"""Readouts with priors on a planted synthetic V4 (Lurz et al. 2021 learned position prior; Klindt et al.
2017 penalties tuned by validation). The frozen core is the brain's own V4 feature maps, so the planted
receptive-field positions (``ground_truth.rf_x``, ``rf_y``) are where a perfect readout reads."""

import numpy as np
import pytest
import torch

from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.twin import (
    FeatureCoreConfig,
    ReadoutConfig,
    TwinConfig,
    TwinConfigError,
    TwinTrainConfig,
    compare,
    fit_twin,
    tune_readout,
)
from neurosafe.twin.readouts import GaussianReadout, laplacian_penalty

SIZE = 32


class _BrainMaps:
    """The planted brain's V4 feature maps (its 'core') as a frozen subject for a feature core."""

    device = torch.device("cpu")

    def __init__(self, brain):
        self.brain = brain

    def activations(self, x, sites):
        with torch.no_grad():
            maps = self.brain.module.feature_maps(x)
        return {s: maps for s in sites}


@pytest.fixture(scope="module")
def planted():
    brain = SyntheticBrain(n_neurons=40, area="V4", seed=4, image_size=SIZE, snr_range=(2, 4), n_calibration=300)
    stim, test = natural_patches(200, SIZE, seed=1), natural_patches(200, SIZE, seed=3)
    return brain, (stim, brain.record(stim, repeats=2, seed=2)), (test, brain.record(test, repeats=4, seed=4))


def _config(readout, epochs=40, batch_size=32):
    return TwinConfig(core=FeatureCoreConfig(site="V4"), readout=readout,
                      train=TwinTrainConfig(epochs=epochs, batch_size=batch_size, lr=1e-2, patience=8, progress=False))


def test_learned_prior_gaussian_readout_recovers_planted_positions(planted):
    brain, (stim, rec), _ = planted
    ro = ReadoutConfig(kind="gaussian", gauss_type="full", position_prior=0.01, l1=1e-4)
    twin = fit_twin(stim, rec, _config(ro), seed=0, subject=_BrainMaps(brain))
    truth = brain.ground_truth
    pos = twin.readout_positions()
    err = np.hypot(pos.sel(axis="x").values - truth.rf_x.values, pos.sel(axis="y").values - truth.rf_y.values)
    # image px; reading every neuron at the planted population mean would miss by about 4 px
    at_mean = np.hypot(truth.rf_x.values - truth.rf_x.values.mean(), truth.rf_y.values - truth.rf_y.values.mean())
    assert np.median(err) < 2.5 and np.median(err) < 0.6 * np.median(at_mean), (np.median(err), np.median(at_mean))
    # the learned population prior sits on the planted population of RF centres
    readout = twin.network.readouts["default"]
    h, w = twin.network.map_size
    mean, cov = readout.prior_positions(h, w)
    scale = SIZE / w  # map px -> image px, as readout_positions
    planted_mean = np.array([truth.rf_x.values.mean(), truth.rf_y.values.mean()])
    np.testing.assert_allclose((mean.numpy() + 0.5) * scale - 0.5, planted_mean, atol=1.0)
    sd = np.sqrt(np.diag(cov.numpy())) * scale
    planted_sd = np.array([truth.rf_x.values.std(), truth.rf_y.values.std()])
    assert np.all((sd > 0.5 * planted_sd) & (sd < 1.5 * planted_sd)), (sd, planted_sd)


def test_full_covariance_jitter_and_prior_penalty():
    ro = GaussianReadout(3, 2, ReadoutConfig(gauss_type="full", position_prior=2.0, l1=0.0))
    with torch.no_grad():
        ro.sigma.copy_(torch.tensor([[1.0, 0.0], [0.5, 0.0]]).repeat(3, 1, 1))  # rank 1: jitter on one line
    jit = ro.jitter(2000, torch.device("cpu")).detach()
    np.testing.assert_allclose(jit[..., 1].numpy(), 0.5 * jit[..., 0].numpy(), atol=1e-6)
    # penalty = strength * sum of Gaussian negative log-likelihoods (scipy as the reference)
    from scipy.stats import multivariate_normal

    cov = ro.prior.covariance().detach().numpy()
    ref = -multivariate_normal(ro.prior.mean.detach().numpy(), cov).logpdf(ro.mu.detach().numpy()) - np.log(2 * np.pi)
    assert float(ro.regularizer().detach()) == pytest.approx(2.0 * ref.sum(), rel=1e-5)


def test_laplacian_penalty_matches_explicit_stencil():
    m = torch.randn(2, 5, 6)
    p = torch.nn.functional.pad(m, (1, 1, 1, 1))
    lap = 4 * p[:, 1:-1, 1:-1] - p[:, :-2, 1:-1] - p[:, 2:, 1:-1] - p[:, 1:-1, :-2] - p[:, 1:-1, 2:]
    assert float(laplacian_penalty(m)) == pytest.approx(float(lap.pow(2).sum()), rel=1e-5)
    assert float(laplacian_penalty(torch.ones(1, 1, 1) * torch.zeros(1, 4, 4))) == 0.0


def test_validation_tuning_beats_both_extremes_on_held_out_images(planted):
    """60 single-trial training images for a factorized readout (256 mask + 32 feature weights per neuron):
    no penalty overfits, a huge one underfits; the value picked on a validation split of the TRAINING images beats
    both on the held-out test images."""
    brain, (stim, _), (test, test_rec) = planted
    subject = _BrainMaps(brain)
    small_rec = brain.record(stim, repeats=1, seed=5).isel(stimulus=slice(0, 60))
    small = stim.aligned_to(small_rec)
    grid = {"l1": [0.0, 0.03, 1.0]}
    cfg = _config(ReadoutConfig(kind="factorized", l1=0.0), epochs=30)
    twin, tuning = tune_readout(small, small_rec, grid, cfg, subject=subject, seed=0)
    assert tuning.chosen == {"l1": 0.03}, tuning.table
    assert tuning.n_validation == 12 and tuning.n_train == 48
    r = {}
    for l1 in grid["l1"]:
        model = twin if l1 == 0.03 else fit_twin(small, small_rec, cfg.replace(
            readout=ReadoutConfig(kind="factorized", l1=l1)), seed=0, subject=subject)
        r[l1] = np.nanmedian(compare.test_correlation(model.respond(test).values, test_rec))
    assert r[0.03] > r[0.0] + 0.01 and r[0.03] > r[1.0] + 0.1, r


def test_tuning_rejects_bad_grids(planted):
    _, (stim, rec), _ = planted
    cfg = _config(ReadoutConfig(kind="factorized"))
    with pytest.raises(TwinConfigError, match="tunable"):
        tune_readout(stim, rec, {"kind": ["gaussian"]}, cfg)
    with pytest.raises(TwinConfigError, match="non-empty"):
        tune_readout(stim, rec, {"l1": []}, cfg)
    with pytest.raises(TwinConfigError, match=">= 0"):
        tune_readout(stim, rec, {"smooth": [-1.0]}, cfg)
    with pytest.raises(TwinConfigError, match="gauss_type"):
        ReadoutConfig(gauss_type="diagonal")
