import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosafe.core.errors import DataFileError, DataValidationError
from neurosafe.data import StimulusSet, make_responses
from neurosafe.data.io import (
    Recording,
    atomic_path,
    export_nwb,
    import_nwb,
    load_netcdf,
    load_npz,
    load_recording,
    save_netcdf,
)

odd_ids = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)


@st.composite
def recordings(draw):
    n_s = draw(st.integers(2, 6))
    n_n = draw(st.integers(1, 5))
    n_r = draw(st.integers(2, 4))
    sids = draw(st.lists(odd_ids, min_size=n_s, max_size=n_s, unique=True))
    nids = draw(st.lists(odd_ids, min_size=n_n, max_size=n_n, unique=True))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    v = rng.poisson(3.0, (n_s, n_n, n_r)).astype(float)
    holes = rng.random(v.shape) < 0.3
    holes[:, :, 0] = False  # keep every neuron and stimulus alive
    v[holes] = np.nan
    attrs = {"area": draw(odd_ids), "units": "spike count", "nested": {"seed": seed}, "flag": True}
    resp = make_responses(v, sids, nids, attrs=attrs, neuron_coords={"depth": rng.random(n_n)})
    images = rng.random((n_s, draw(st.sampled_from([1, 3])), 4, 5)).astype(np.float32)
    stim = StimulusSet(images, sids, pd.DataFrame({"label": [f"l{i}" for i in range(n_s)], "x": rng.random(n_s)}))
    return Recording(resp, stim)


def _assert_same(a: Recording, b: Recording):
    xr.testing.assert_identical(a.responses, b.responses)
    assert a.responses.attrs == b.responses.attrs
    np.testing.assert_array_equal(a.stimuli.images, b.stimuli.images)
    assert list(a.stimuli.ids) == list(b.stimuli.ids)
    pd.testing.assert_frame_equal(a.stimuli.metadata, b.stimuli.metadata, check_dtype=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rec=recordings())
def test_netcdf_round_trip_is_exact(rec, tmp_path):
    path = save_netcdf(rec, tmp_path / "r.nc")
    _assert_same(rec, load_netcdf(path))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rec=recordings())
def test_nwb_round_trip_is_exact(rec, tmp_path):
    path = export_nwb(rec, tmp_path / "r.nwb")
    _assert_same(rec, import_nwb(path))


def test_netcdf_keeps_extras_and_recording_attrs(tmp_path):
    rdm = xr.DataArray(np.arange(9.0).reshape(1, 3, 3), dims=("rdm", "stimulus_a", "stimulus_b"),
                       coords={"rdm": ["m"], "stimulus_a": list("abc"), "stimulus_b": list("abc")})
    rec = Recording(None, None, {"rdms": rdm}, {"source": "test"})
    back = load_netcdf(save_netcdf(rec, tmp_path / "x.nc"))
    xr.testing.assert_identical(back.extras["rdms"], rdm)
    assert back.attrs == {"source": "test"} and back.responses is None


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(DataFileError, match="no such file"):
        load_netcdf(tmp_path / "nope.nc")
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"not a netcdf file at all")
    with pytest.raises(DataFileError, match="not a readable netCDF"):
        load_netcdf(bad)
    other = tmp_path / "other.nc"
    xr.Dataset({"a": ("x", [1.0])}).to_netcdf(other, engine="h5netcdf")
    with pytest.raises(DataFileError, match="not a neurosafe recording"):
        load_netcdf(other)
    badnwb = tmp_path / "bad.nwb"
    badnwb.write_bytes(b"garbage")
    with pytest.raises(DataFileError):
        import_nwb(badnwb)
    with pytest.raises(DataFileError, match="unknown recording file type"):
        load_recording(tmp_path / "x.csv")


def test_npz_import_and_refuses_pickles(tmp_path):
    v = np.random.default_rng(0).poisson(2.0, (5, 3, 4))
    np.savez(tmp_path / "ok.npz", responses=v, neuron_ids=np.array(["a", "b", "c"]),
             images=np.zeros((5, 1, 4, 4), np.uint8))
    rec = load_npz(tmp_path / "ok.npz")
    assert rec.responses.dtype == np.float64 and list(rec.responses.neuron_id.values) == ["a", "b", "c"]
    assert rec.stimuli.shape == (5, 1, 4, 4)
    np.savez(tmp_path / "obj.npz", responses=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataFileError, match="pickles"):
        load_npz(tmp_path / "obj.npz")
    np.savez(tmp_path / "nokey.npz", data=v)
    with pytest.raises(DataFileError, match="no array 'responses'"):
        load_npz(tmp_path / "nokey.npz")


def test_stimuli_must_match_recording_ids():
    resp = make_responses(np.ones((2, 1, 2)), ["a", "b"])
    with pytest.raises(DataValidationError, match="not in the StimulusSet"):
        Recording(resp, StimulusSet(np.zeros((2, 1, 2, 2), np.float32), ["a", "c"]))


def test_atomic_path_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_extras_sharing_dim_names_stay_separate(tmp_path):
    def rdms(k, label):
        return xr.DataArray(np.random.default_rng(k).random((k, 3, 3)), dims=("rdm", "a", "b"),
                            coords={"rdm": [f"{label}{i}" for i in range(k)], "subject": ("rdm", ["s"] * k)})

    rec = Recording(None, None, {"one": rdms(1, "m"), "eight": rdms(8, "h")})
    back = load_netcdf(save_netcdf(rec, tmp_path / "e.nc"))
    for name in ("one", "eight"):
        xr.testing.assert_identical(back.extras[name], rec.extras[name])
