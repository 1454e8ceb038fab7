"""Loaders read the published layouts; checked against values read independently from the files here."""

import numpy as np
import pytest
from scipy.io import loadmat

from neurosafe.core.errors import DataFileError
from neurosafe.data.datasets import load_cowley2023, load_ecker2010, load_kriegeskorte92


def test_cowley2023(cowley_dir):
    rec = load_cowley2023(cowley_dir)
    raw = np.load(cowley_dir / "responses_210325.npy")
    r = rec.responses
    assert r.dims == ("stimulus", "neuron", "repeat") and r.shape == (640, 50, 10)
    np.testing.assert_array_equal(r.values, raw.transpose(1, 0, 2))
    n_valid = np.isfinite(r.values[:, 0]).sum(axis=1)
    assert n_valid.min() >= 6 and n_valid.max() <= 10
    assert rec.stimuli.shape == (640, 3, 112, 112) and rec.stimuli.ids[0] == "image0001"
    assert 0 <= rec.stimuli.images.min() and rec.stimuli.images.max() <= 1


def test_kriegeskorte92(kriegeskorte_dir):
    rec = load_kriegeskorte92(kriegeskorte_dir)
    assert rec.stimuli.shape == (92, 3, 175, 175)
    hit = rec.extras["human_it"]
    assert hit.shape == (8, 92, 92) and set(hit.subject.values) == {"BE", "KO", "SN", "TI"}
    raw = loadmat(kriegeskorte_dir / "92_brainRDMs.mat")["RDMs"][0]
    np.testing.assert_array_equal(hit.values[0], raw[0, 0]["RDM"])
    mit = rec.extras["monkey_it"].values[0]
    np.testing.assert_allclose(mit, mit.T)
    assert np.all(np.diag(mit) == 0)
    assert rec.extras["behaviour"].shape == (16, 92, 92)
    assert rec.stimuli.metadata["face"].sum() == 24 and rec.stimuli.metadata["animate"].sum() == 48


def test_ecker2010(ecker_file):
    rec = load_ecker2010(ecker_file)
    data = loadmat(ecker_file)["data"].ravel()
    n_total = sum(d["spikes"][0, 0].shape[0] for d in data)
    r = rec.responses
    assert r.sizes["stimulus"] == 16 and r.sizes["neuron"] == n_total
    # neuron 0 of session 0, condition 0 (0 deg, low contrast), trial 0: bins with centre in [0, 500) ms
    spikes = data[0]["spikes"][0, 0].astype(float)
    times = data[0]["times"][0, 0].ravel()
    expect = spikes[0, 0, (times >= 0) & (times < 500), 0].sum()
    assert r.values[0, 0, 0] == expect
    assert r.orientation.values[0] == 0 and r.contrast_level.values[1] == "high"
    # sessions with 14 conditions lack 157.5 deg: NaN there
    short = [k for k, d in enumerate(data) if d["spikes"][0, 0].shape[1] == 14]
    first = int(np.flatnonzero(r.session.values == short[0])[0])
    assert np.isnan(r.values[-1, first]).all() and np.isfinite(r.values[0, first, 0])
    timed = load_ecker2010(ecker_file, window=None, session=0)
    assert timed.responses.dims == ("stimulus", "neuron", "repeat", "time") and timed.responses.sizes["time"] == 90


def test_loaders_give_clear_errors(tmp_path):
    with pytest.raises(DataFileError, match="not found"):
        load_cowley2023(tmp_path)
    with pytest.raises(DataFileError, match="not found"):
        load_kriegeskorte92(tmp_path)
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(DataFileError):
        load_ecker2010(bad)
    (tmp_path / "responses_210325.npy").write_bytes(b"nonsense")
    with pytest.raises(DataFileError):
        load_cowley2023(tmp_path)
