"""Tuning curves and indices: closed forms, the synthetic brain's ground truth, and one table for brains and nets."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurosafe.core.errors import NeurosafeError
from neurosafe.data import gratings, make_responses
from neurosafe.interp import (
    InterpError,
    contrast_response,
    direction_tuning,
    naka_rushton,
    orientation_tuning,
    phase_tuning,
    tuning,
    tuning_curves,
)
from neurosafe.subjects import TorchSubject
from tests.interp.helpers import tiny_net


def _circular_error(a: np.ndarray, b: np.ndarray, period: float = 180.0) -> np.ndarray:
    return np.abs((a - b + period / 2) % period - period / 2)


def _recording(curves: np.ndarray, angles: np.ndarray, coord: str = "orientation") -> xr.DataArray:
    """A recording (stimulus, neuron) whose stimulus coord carries the angle."""
    return make_responses(curves.T, [f"s{i}" for i in range(len(angles))], None, dims=("stimulus", "neuron"),
                          stimulus_coords={coord: angles})


def test_indices_match_closed_forms():
    angles = np.arange(0.0, 180.0, 22.5)
    mu = np.array([0.0, 45.0, 112.5])
    # r = 1 + cos(2(theta - mu)): vector sum n/2 exp(2 i mu), sum n -> circular variance 1/2; orthogonal response 0
    curves = 1 + np.cos(np.deg2rad(2 * (angles[None] - mu[:, None])))
    ds = orientation_tuning(_recording(curves, angles))
    np.testing.assert_allclose(ds["preferred_orientation"], mu, atol=1e-9)
    np.testing.assert_allclose(ds["circular_variance"], 0.5, atol=1e-12)
    np.testing.assert_allclose(ds["osi"], 1.0, atol=1e-12)


def test_bandwidth_is_the_von_mises_half_width():
    angles = np.arange(0.0, 180.0, 5.0)
    kappa = np.array([1.0, 3.0, 8.0])
    curves = 0.5 + 2 * np.exp(kappa[:, None] * (np.cos(np.deg2rad(2 * (angles[None] - 60.0))) - 1))
    ds = orientation_tuning(_recording(curves, angles))
    expected = np.rad2deg(np.arccos(1 - np.log(2) / kappa)) / 2  # exp(k (cos 2d - 1)) = 1/2
    np.testing.assert_allclose(ds["bandwidth"], expected, rtol=1e-3)
    np.testing.assert_allclose(ds["preferred_orientation"], 60.0, atol=1e-6)


def test_direction_selectivity_closed_form():
    angles = np.arange(0.0, 360.0, 45.0)
    # r = 2 + cos(theta - 90): preferred 90 (3), opposite 270 (1) -> DSI 0.5; orthogonal 0/180 (2) -> OSI 0.2
    curves = 2 + np.cos(np.deg2rad(angles - 90.0))[None]
    ds = direction_tuning(_recording(curves, angles, "direction"))
    np.testing.assert_allclose(ds["preferred_direction"], 90.0, atol=1e-9)
    np.testing.assert_allclose(ds["dsi"], 0.5)
    np.testing.assert_allclose(ds["osi"], 0.2)


def test_orientation_tuning_recovers_ground_truth(brain):
    ds = orientation_tuning(brain)
    truth = brain.ground_truth
    well = ds["osi"].values >= 0.5
    err = _circular_error(ds["preferred_orientation"].values, truth["preferred_orientation"].values)
    assert well.mean() > 0.8
    assert np.median(err[well]) < 10.0
    assert ds["preferred_orientation"].min() >= 0 and ds["preferred_orientation"].max() < 180


def test_orientation_tuning_of_a_noisy_recording(brain):
    stimuli = gratings(orientations=tuple(np.arange(0, 180, 15.0)), spatial_frequencies=(0.04, 0.08, 0.16), size=32)
    recording = brain.record(stimuli, repeats=8, seed=3)
    ds = orientation_tuning(recording, stimuli=stimuli)
    well = ds["osi"].values >= 0.5
    err = _circular_error(ds["preferred_orientation"].values, brain.ground_truth["preferred_orientation"].values)
    assert np.median(err[well]) < 10.0


def test_phase_tuning_separates_simple_from_complex_cells(brain):
    ds = phase_tuning(brain)
    simple = brain.ground_truth["cell_type"].values == "simple"
    assert ((ds["f1_f0"].values > 1) == simple).mean() >= 0.95


def test_naka_rushton_recovers_planted_parameters():
    c = np.array([0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0])
    params = np.array([[10.0, 0.15, 2.0, 1.0], [4.0, 0.3, 1.5, 0.2], [25.0, 0.08, 3.0, 0.0]])
    curves = np.stack([naka_rushton(c, *p) for p in params])
    rec = make_responses(curves.T, [f"c{i}" for i in range(len(c))], None, dims=("stimulus", "neuron"),
                         stimulus_coords={"contrast": c})
    ds = contrast_response(rec)
    got = np.stack([ds[k].values for k in ("r_max", "c50", "exponent", "baseline")], axis=1)
    np.testing.assert_allclose(got, params, rtol=1e-3, atol=1e-4)


def test_contrast_exponent_of_the_brain_is_its_nonlinearity(brain):
    """A V1 cell's drive to a grating of contrast c is (c A)^n / (sigma^n + (c^2 E)^(n/2)): exactly Naka-Rushton in c
    with exponent n (the cell's ``exponent``) for complex cells, up to the phase-dependence of E for simple cells."""
    ds = contrast_response(brain)
    err = np.abs(ds["exponent"].values - brain.ground_truth["exponent"].values)
    assert np.median(err) < 0.05
    assert np.nanmin(ds["fit_r2"]) > 0.99


def test_tuning_to_spatial_frequency_picks_the_nearest_grid_value(brain):
    sfs = (0.03, 0.05, 0.08, 0.12, 0.18)
    ds = tuning(brain, "spatial_frequency", stimuli=gratings(spatial_frequencies=sfs, size=32))
    true = brain.ground_truth["preferred_sf"].values
    nearest = np.array(sfs)[np.argmin(np.abs(np.log(np.array(sfs))[None] - np.log(true)[:, None]), axis=1)]
    assert (ds["preferred_spatial_frequency"].values == nearest).mean() > 0.7


def test_the_same_table_for_a_network_a_torch_subject_and_a_recording(brain):
    stimuli = gratings(size=32, spatial_frequencies=(0.04, 0.08))
    from_recording = orientation_tuning(brain.record(stimuli, repeats=2, seed=1), stimuli=stimuli)
    from_module = orientation_tuning(tiny_net(), "3")
    from_subject = orientation_tuning(TorchSubject(tiny_net()), "3")
    for ds in (from_module, from_subject):
        assert set(ds.data_vars) == set(from_recording.data_vars)
        assert {k: v.dims for k, v in ds.data_vars.items()} == {k: v.dims for k, v in from_recording.data_vars.items()}
    assert from_module.sizes["neuron"] == 6  # a conv site's units are its channels (at the centre)
    assert from_subject.sizes["neuron"] == 6 * 32 * 32  # a Subject's units are whatever respond() returns


def test_select_and_condition(brain):
    stimuli = gratings(size=32, spatial_frequencies=(0.04, 0.16))
    one = tuning_curves(brain, "orientation", stimuli=stimuli, select={"spatial_frequency": 0.04})
    assert set(one["condition"].values) == {"all"}
    mean = tuning_curves(brain, "orientation", stimuli=stimuli, condition="mean")
    both = [tuning_curves(brain, "orientation", stimuli=stimuli, select={"spatial_frequency": f}) for f in (0.04, 0.16)]
    np.testing.assert_allclose(mean.values, (both[0].values + both[1].values) / 2)


def test_bad_inputs_raise_clear_errors(brain):
    stimuli = gratings(size=32)
    with pytest.raises(InterpError, match="no parameter 'size'"):
        tuning_curves(brain, "size", stimuli=stimuli)
    with pytest.raises(InterpError, match="cannot select on 'colour'"):
        orientation_tuning(brain, select={"colour": "red"})
    with pytest.raises(InterpError, match="direction_tuning"):
        orientation_tuning(_recording(np.ones((1, 4)), np.array([0.0, 90.0, 180.0, 270.0])))
    with pytest.raises(InterpError, match="at least 5 numeric"):
        contrast_response(brain, stimuli=gratings(size=32, contrasts=(0.5, 1.0)))
    with pytest.raises(NeurosafeError, match="32x32"):
        orientation_tuning(brain, stimuli=gratings(size=16))
