"""score_layers: per-site table, a layer committed on held-out stimuli, any metric or subject."""

import numpy as np
import pytest
import xarray as xr

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.metrics import cka, paired_difference, rdm, ridge_predictivity, score_layers
from neurosafe.metrics.layers import plot_layer_profile
from neurosafe.subjects import SiteError, TorchSubject, zoo

SITES = ["gabor", "complex", "normalize"]


@pytest.fixture(scope="module")
def setup():
    brain = SyntheticBrain(30, "V1", seed=1, noise="gaussian")
    stimuli = natural_patches(240, 32, seed=2)
    subject = TorchSubject(zoo.get_model("v1_frontend", in_channels=1), pool=8)
    return brain, stimuli, brain.record(stimuli, repeats=8, seed=3), subject


@pytest.fixture(scope="module")
def ridge_layers(setup):
    _, stimuli, recording, subject = setup
    return score_layers(subject, stimuli, recording, "ridge", sites=SITES, seed=4, n_boot=50)


def test_layer_is_committed_on_the_selection_split_and_scored_on_the_rest(setup, ridge_layers):
    _, stimuli, recording, subject = setup
    result = ridge_layers
    prov = result.committed.provenance
    selection = prov["selection_scores"]
    assert result.committed_site == max(selection, key=selection.get)
    assert list(result.table["site"]) == SITES and result.table["committed"].sum() == 1
    # recompute the committed number independently on the held-out stimuli
    order = np.random.default_rng(4).permutation(len(stimuli))
    test = np.sort(order[prov["n_selection"]:])
    features = subject.respond(stimuli, result.committed_site).isel(stimulus=test)
    direct = ridge_predictivity(features, recording.isel(stimulus=test), seed=4, n_boot=50)
    assert result.committed.value == pytest.approx(direct.value)
    assert result.committed.ceiling == pytest.approx(direct.ceiling)
    assert prov["n_test"] == len(test) == 120


def test_v1_like_sites_beat_the_raw_filter_bank(ridge_layers):
    # linear Gabor outputs cannot make rectified/energy cells: the paired bootstrap CI of the difference
    # (same test stimuli, same resamples) excludes 0
    diff = paired_difference(ridge_layers.scores["normalize"], ridge_layers.scores["gabor"])
    assert diff.ci[0] > 0 and diff.value > 0.05


def test_other_metrics_and_subjects(setup, ridge_layers, tmp_path):
    brain, stimuli, recording, subject = setup
    shape = score_layers(subject, stimuli, recording, "shape", sites=SITES, n_boot=0)
    assert not shape.committed.higher_is_better
    assert shape.committed_site == min(shape.committed.provenance["selection_scores"],
                                       key=shape.committed.provenance["selection_scores"].get)
    custom = score_layers(subject, stimuli, recording, lambda f, r, seed: cka(f, r, n_boot=0), sites=SITES)
    assert custom.committed.provenance["metric"] == "cka"
    # the synthetic brain is a Subject without extract(): scoring it against its own recording
    itself = score_layers(brain, stimuli, recording, "ridge", n_boot=0)
    assert itself.committed_site == "V1" and itself.committed.value > ridge_layers.committed.value + 0.1
    # RSA against RDMs (two "subjects": odd and even repeats) with a noise ceiling
    halves = xr.concat([rdm(recording.isel(repeat=slice(k, None, 2))) for k in (0, 1)], dim="rdm")
    rsa = score_layers(subject, stimuli, halves, "rsa", sites=SITES, n_boot=20)
    assert rsa.committed.ceiling is not None and np.isfinite(rsa.table["value"]).all()
    path = plot_layer_profile(rsa, tmp_path / "layers.png")
    assert path.stat().st_size > 1000


def test_json_ready(ridge_layers):
    import json

    out = ridge_layers.to_dict()
    json.dumps(out)
    assert out["committed_site"] in SITES and len(out["sites"]) == 3


def test_bad_inputs(setup):
    _, stimuli, recording, subject = setup
    with pytest.raises(NeurosafeError, match="metric"):
        score_layers(subject, stimuli, recording, "mutual_information", sites=SITES)
    with pytest.raises(NeurosafeError, match="selection_fraction"):
        score_layers(subject, stimuli, recording, sites=SITES, selection_fraction=1.0)
    with pytest.raises(SiteError, match="normalize"):
        score_layers(subject, stimuli, recording, sites=["normalise"])
    with pytest.raises(DataValidationError, match="too few"):
        score_layers(subject, stimuli, recording.isel(stimulus=slice(0, 5)), sites=SITES)
    with pytest.raises(DataValidationError, match="not in the StimulusSet"):
        score_layers(subject, stimuli[:100], recording, sites=SITES)
    with pytest.raises(DataValidationError, match="reference"):
        score_layers(subject, stimuli, xr.DataArray(np.zeros((3, 3)), dims=("a", "b")), sites=SITES)
