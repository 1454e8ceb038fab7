"""Receptive fields: the synthetic brain's Gabor filters, a planted linear cell in correlated noise, Gaussian fits."""

from __future__ import annotations

import numpy as np
import pytest

from neurosafe.core.errors import NeurosafeError
from neurosafe.data import make_responses, pink_noise, white_noise
from neurosafe.data.io import Recording
from neurosafe.interp import (
    InterpError,
    UnknownSiteError,
    fit_gaussian_2d,
    gradient_receptive_fields,
    receptive_fields,
    spike_triggered_average,
)
from tests.interp.helpers import corr_rows, tiny_net


def test_sta_recovers_simple_cell_filters(brain):
    """STA of expected responses to white noise; complex cells (energy model) have an STA of ~0 and are excluded."""
    ds = receptive_fields(brain, n_stimuli=6000, seed=1)
    truth = brain.ground_truth
    simple = truth["cell_type"].values == "simple"
    r = corr_rows(ds["rf"].values, truth["filter"].values)
    assert np.median(r[simple]) >= 0.8
    assert np.median(np.abs(r[~simple])) < 0.3


def test_sta_from_a_noisy_recording(brain):
    stimuli = white_noise(3000, 32, seed=2)
    recording = Recording(brain.record(stimuli, repeats=10, seed=3), stimuli)
    ds = receptive_fields(recording)
    simple = brain.ground_truth["cell_type"].values == "simple"
    reliable = simple & (brain.ground_truth["snr"].values > 0.5)
    assert np.median(corr_rows(ds["rf"].values, brain.ground_truth["filter"].values)[reliable]) > 0.5


def test_whitening_removes_stimulus_correlations():
    """A linear cell r = w.x + noise under pink (correlated) noise: the whitened STA recovers w, the raw STA is
    blurred by the stimulus covariance."""
    rng = np.random.default_rng(0)
    stimuli = pink_noise(3000, 16, seed=4)
    yy, xx = np.mgrid[0:16, 0:16]
    w = np.stack([np.exp(-((xx - 8) ** 2 + (yy - 7) ** 2) / 8.0) * np.cos(1.2 * xx),
                  np.sign(np.sin(0.9 * yy)) * np.exp(-((xx - 5) ** 2 + (yy - 9) ** 2) / 10.0)])
    x = stimuli.grey().reshape(3000, -1) - 0.5
    r = x @ w.reshape(2, -1).T + 0.05 * rng.standard_normal((3000, 2))
    responses = make_responses(r, stimuli.ids, ["a", "b"], dims=("stimulus", "neuron"))
    whitened = spike_triggered_average(responses, stimuli).values
    raw = (x - x.mean(0)).T @ (r - r.mean(0))
    assert corr_rows(whitened, w).min() > 0.95
    assert corr_rows(raw.T, w).max() < 0.9


def test_gaussian_fit_recovers_planted_parameters():
    yy, xx = np.mgrid[0:24, 0:24].astype(float)
    theta = np.deg2rad(30.0)
    u = np.cos(theta) * (xx - 10.3) + np.sin(theta) * (yy - 13.6)
    v = -np.sin(theta) * (xx - 10.3) + np.cos(theta) * (yy - 13.6)
    planted = 0.2 + 2.0 * np.exp(-0.5 * ((u / 3.0) ** 2 + (v / 1.5) ** 2))
    fit = fit_gaussian_2d(planted[None])
    expected = {"x": 10.3, "y": 13.6, "sigma_major": 3.0, "sigma_minor": 1.5, "angle": 30.0, "amplitude": 2.0}
    for key, value in expected.items():
        assert fit[key][0] == pytest.approx(value, abs=1e-4)
    assert fit["r2"][0] == pytest.approx(1.0)


def test_gradient_rfs_recover_filters_centres_and_sizes(brain):
    ds = receptive_fields(brain, method="gradient", n_samples=32)
    truth = brain.ground_truth
    simple = truth["cell_type"].values == "simple"
    assert np.median(corr_rows(ds["rf"].values, truth["filter"].values)[simple]) > 0.95
    centre = np.hypot(ds["rf_x"] - truth["rf_x"], ds["rf_y"] - truth["rf_y"]).values
    assert np.median(centre[simple]) < 1.0
    ratio = (ds["rf_size"] / truth["rf_size"]).values[simple]
    assert 0.85 < np.median(ratio) < 1.2


def test_gradient_rf_of_a_network_unit_lies_within_its_receptive_field():
    """Unit = channel at the centre of a conv5x5 -> conv3x3 stack: its gradient is zero outside the 7x7 window."""
    rf = gradient_receptive_fields(tiny_net(), "2", units=[0, 3], n_samples=8).values
    outside = np.ones((32, 32), bool)
    outside[13:20, 13:20] = False
    assert np.abs(rf[:, outside]).max() == 0
    assert np.abs(rf[:, ~outside]).max() > 0


def test_bad_inputs_raise_clear_errors(brain):
    with pytest.raises(InterpError, match="needs at least 1024 stimuli; got 500"):
        receptive_fields(brain, n_stimuli=500)
    small = white_noise(2000, 16, seed=0)
    with pytest.raises(NeurosafeError, match="32x32"):
        receptive_fields(brain, stimuli=small)
    with pytest.raises(InterpError, match="32x32"):
        receptive_fields(brain, method="gradient", image_shape=(1, 16, 16))
    with pytest.raises(UnknownSiteError, match=r"close matches: \['V1'\]"):
        receptive_fields(brain, "V2", method="gradient")
    with pytest.raises(InterpError, match="needs the stimuli"):
        receptive_fields(brain.record(white_noise(5, 32), repeats=1))
    with pytest.raises(InterpError, match="failed on input of shape"):
        receptive_fields(tiny_net(in_channels=3), "2", method="gradient", image_shape=(1, 32, 32))


def test_gaussian_fits_only_where_the_sta_is_significant(tmp_path, monkeypatch):
    """Issue 18: RF fits were drawn on pure-noise STAs. A planted linear cell (Gabor filter + noise) is significant
    and fitted at its planted centre; 200 cells of pure noise, independent of the stimuli, are significant at
    about the stated alpha at most (Bonferroni is conservative) and get no fit and no circle in the figure."""
    from neurosafe.interp import figures
    from neurosafe.interp.receptive_fields import STA_ALPHA

    n, s = 1500, 16
    stimuli = white_noise(n, s, seed=5)
    x = stimuli.grey().reshape(n, -1) - 0.5
    yy, xx = np.mgrid[0:s, 0:s]
    w = (np.exp(-((xx - 10) ** 2 + (yy - 5) ** 2) / 6.0) * np.cos(1.3 * xx)).ravel()
    rng = np.random.default_rng(6)
    signal = x @ w
    r = np.column_stack([signal + 0.5 * signal.std() * rng.standard_normal(n), rng.standard_normal((n, 200))])
    ids = ["real"] + [f"noise_{i}" for i in range(200)]
    ds = receptive_fields(Recording(make_responses(r, stimuli.ids, ids, dims=("stimulus", "neuron")), stimuli))
    assert bool(ds["significant"].values[0]) and ds["p_value"].values[0] < 1e-6
    assert abs(ds["rf_x"].values[0] - 10) < 1 and abs(ds["rf_y"].values[0] - 5) < 1
    noise = ds["significant"].values[1:]
    assert noise.mean() <= STA_ALPHA * 2
    assert np.isnan(ds["rf_size"].values[1:][~noise]).all()
    circles = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, path: circles.extend(
        len(ax.patches) for ax in fig.axes) or path)
    figures.plot_rfs(ds.isel(neuron=[0, 1, 2]), tmp_path / "rf.png")
    assert circles[:3] == [1, *(int(k) for k in noise[:2])]
