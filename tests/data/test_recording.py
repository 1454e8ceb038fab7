import numpy as np
import pytest
import xarray as xr

from neurosafe.core.errors import DataValidationError
from neurosafe.data import make_responses, trial_average, validate_responses
from neurosafe.data.recording import check_repeats


def _resp(shape=(4, 3, 5), **kw):
    return make_responses(np.random.default_rng(0).random(shape), **kw)


def test_make_responses_builds_canonical_array():
    r = make_responses(np.zeros((3, 2, 4)), dims=("neuron", "repeat", "stimulus"), stimulus_ids=list("abcd"))
    assert r.dims == ("stimulus", "neuron", "repeat")
    assert list(r.stimulus_id.values) == list("abcd")


def test_wrong_and_missing_dims():
    with pytest.raises(DataValidationError, match="missing \\['neuron'\\]"):
        validate_responses(xr.DataArray(np.zeros((2, 2)), dims=("stimulus", "cell")))
    with pytest.raises(DataValidationError, match="unknown \\['trial'\\]"):
        validate_responses(xr.DataArray(np.zeros((2, 2, 2)), dims=("stimulus", "neuron", "trial")))
    with pytest.raises(DataValidationError, match="have 2 dims"):
        make_responses(np.zeros((2, 2)), dims=("stimulus", "neuron", "repeat"))


def test_non_float_dtype():
    da = xr.DataArray(np.zeros((2, 2), int), dims=("stimulus", "neuron"),
                      coords={"stimulus_id": ("stimulus", ["a", "b"]), "neuron_id": ("neuron", ["x", "y"])})
    with pytest.raises(DataValidationError, match="floating point"):
        validate_responses(da)


def test_missing_id_coordinate():
    da = xr.DataArray(np.zeros((2, 2)), dims=("stimulus", "neuron"), coords={"neuron_id": ("neuron", ["x", "y"])})
    with pytest.raises(DataValidationError, match="'stimulus_id'"):
        validate_responses(da)


def test_inf_names_the_neuron_and_stimulus():
    v = np.zeros((3, 2, 2))
    v[1, 0, 1] = np.inf
    with pytest.raises(DataValidationError, match="inf: neurons 'n0', stimuli 's1'"):
        make_responses(v, ["s0", "s1", "s2"], ["n0", "n1"])


def test_all_nan_neuron_and_stimulus():
    v = np.ones((3, 2, 2))
    v[:, 1] = np.nan
    with pytest.raises(DataValidationError, match="neurons with no valid response.*'n1'"):
        make_responses(v, neuron_ids=["n0", "n1"])
    v = np.ones((3, 2, 2))
    v[2] = np.nan
    with pytest.raises(DataValidationError, match="stimuli with no valid response.*'s2'"):
        make_responses(v, stimulus_ids=["s0", "s1", "s2"])


def test_duplicate_ids():
    with pytest.raises(DataValidationError, match="duplicate neuron ids: 'x'"):
        make_responses(np.ones((2, 2, 2)), neuron_ids=["x", "x"])
    with pytest.raises(DataValidationError, match="duplicate stimulus ids: 'a'"):
        make_responses(np.ones((2, 2, 2)), stimulus_ids=["a", "a"])


def test_too_few_repeats_for_a_ceiling():
    v = np.ones((4, 2, 3))
    v[:, 1, 1:] = np.nan  # neuron n1 has a single valid repeat everywhere
    r = make_responses(v, neuron_ids=["n0", "n1"])
    with pytest.raises(DataValidationError, match="at least 2 valid repeats.*'n1'"):
        validate_responses(r, min_repeats=2)
    with pytest.raises(DataValidationError, match="no 'repeat' dim"):
        check_repeats(r.isel(repeat=0, drop=True))


def test_empty_responses():
    with pytest.raises(DataValidationError, match="empty"):
        make_responses(np.zeros((0, 2, 2)))


def test_trial_average_ignores_missing_repeats():
    v = np.array([[[1.0, 3.0, np.nan]], [[2.0, 2.0, 5.0]]])
    avg = trial_average(make_responses(v))
    np.testing.assert_allclose(avg.values[:, 0], [2.0, 3.0])
    assert avg.dims == ("stimulus", "neuron")
