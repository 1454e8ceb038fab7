"""The fraction of ceiling with a CI over stimuli and neurons, against direct computations."""

import numpy as np
import pytest
import xarray as xr

from neurosafe.core.errors import DataValidationError
from neurosafe.metrics import fraction_of_ceiling, median_ceiling, split_half_reliability
from neurosafe.metrics.bootstrap import bootstrap_indices


@pytest.fixture(scope="module")
def population():
    """40 neurons, 120 stimuli, 6 repeats (a few NaN-padded): signal + noise of varied reliability; a
    prediction that is the signal plus independent error."""
    rng = np.random.default_rng(0)
    s, n, r = 120, 40, 6
    signal = rng.normal(size=(s, n)) * rng.uniform(0.2, 1.5, n)
    y = signal[..., None] + rng.normal(size=(s, n, r))
    y[rng.random((s, n, r)) < 0.05] = np.nan
    resp = xr.DataArray(y, dims=("stimulus", "neuron", "repeat"),
                        coords={"stimulus_id": ("stimulus", [f"s{i}" for i in range(s)]),
                                "neuron_id": ("neuron", [f"n{i}" for i in range(n)])})
    pred = signal + rng.normal(size=(s, n)) * 0.5
    return resp, pred


def _r(pred, resp):
    avg = np.nanmean(resp.values, axis=2)
    return np.array([np.corrcoef(pred[:, i], avg[:, i])[0, 1] for i in range(pred.shape[1])])


def test_point_estimate_is_median_r_over_the_one_aggregate_ceiling(population):
    resp, pred = population
    score = fraction_of_ceiling(resp, pred, n_boot=50)
    r = _r(pred, resp)
    assert score.value == pytest.approx(np.median(r) / median_ceiling(resp), rel=1e-9)
    rel = split_half_reliability(resp, n_boot=0).per_unit.values
    np.testing.assert_allclose(score.per_unit.values, r / np.sqrt(np.where(rel > 0, rel, np.nan)), rtol=1e-9)
    assert score.ci[0] < score.value < score.ci[1]


def test_neuron_resamples_are_the_statistic_on_resampled_neurons(population):
    """over='neurons': each replicate is median(r[idx]) / sqrt(median(R[idx])) on the shared resamples."""
    resp, pred = population
    score = fraction_of_ceiling(resp, pred, n_boot=30, over="neurons")
    r = _r(pred, resp)
    rel = split_half_reliability(resp, n_boot=0).per_unit.values
    idx = bootstrap_indices(len(r), 30, 0, "fraction_of_ceiling", "neurons")[1:]
    expected = [np.median(r[i]) / np.sqrt(max(np.median(rel[i]), 0)) for i in idx]
    np.testing.assert_allclose(score.replicates, expected, rtol=1e-9)


def test_resampling_both_is_wider_than_either_and_covers_the_truth(population):
    resp, pred = population
    both = fraction_of_ceiling(resp, pred, n_boot=200, over="both")
    width = {o: np.diff(fraction_of_ceiling(resp, pred, n_boot=200, over=o).ci)[0] for o in ("stimuli", "neurons")}
    assert np.diff(both.ci)[0] > max(width.values())
    # a perfect prediction of the signal is at the ceiling (r = sqrt(R) per neuron): the CI covers 1
    rng = np.random.default_rng(1)
    s, n = pred.shape
    truth = rng.normal(size=(s, n)) * rng.uniform(0.3, 1.5, n)
    perfect = resp.copy(data=truth[..., None] + rng.normal(size=(s, n, 6)))
    score = fraction_of_ceiling(perfect, truth, n_boot=200)
    assert score.ci[0] < 1 < score.ci[1], score
    assert abs(score.value - 1) < 0.1


def test_bad_input_is_one_line_error(population):
    resp, pred = population
    with pytest.raises(DataValidationError, match="over"):
        fraction_of_ceiling(resp, pred, over="images")
    with pytest.raises(DataValidationError, match="shape"):
        fraction_of_ceiling(resp, pred[:, :3])
