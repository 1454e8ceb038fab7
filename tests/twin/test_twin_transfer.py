"""Multi-session twins, transfer of a frozen core to a new session, the honest comparison, linear output,
per-session normalisation and the ceiling-free evaluation."""

import numpy as np
import pytest
from sklearn.linear_model import RidgeCV

from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.data.io import Recording
from neurosafe.metrics import DEFAULT_ALPHAS
from neurosafe.twin import (
    ReadoutConfig,
    StackedCoreConfig,
    TwinConfig,
    TwinConfigError,
    TwinError,
    TwinTrainConfig,
    fit_twin,
    transfer_twin,
)
from neurosafe.twin.compare import median_difference
from neurosafe.twin.evaluate import evaluate_predictions
from neurosafe.twin.runs import compare_recordings, transfer_run

SIZE = 16


def _config(epochs=12, **train):
    return TwinConfig(core=StackedCoreConfig(channels=8, kernel_sizes=(9, 3)),
                      readout=ReadoutConfig(kind="gaussian", l1=1e-4),
                      train=TwinTrainConfig(epochs=epochs, batch_size=32, progress=False, patience=5, **train))


@pytest.fixture(scope="module")
def planted():
    """One synthetic V1 (shared 'core'); session A: 40 neurons x 400 stimuli; session B: 16 other neurons
    with only 60 training stimuli; 200 held-out stimuli of B with repeats."""
    brain = SyntheticBrain(n_neurons=56, area="V1", seed=5, image_size=SIZE, snr_range=(2.0, 4.0),
                           n_calibration=300)
    stim_a, stim_b, test = (natural_patches(n, SIZE, seed=s) for n, s in ((400, 21), (60, 22), (200, 23)))
    rec_a = brain.record(stim_a, repeats=4, seed=31).isel(neuron=slice(0, 40))
    rec_b = brain.record(stim_b, repeats=4, seed=32).isel(neuron=slice(40, 56))
    test_b = brain.record(test, repeats=6, seed=33).isel(neuron=slice(40, 56))
    twin_a = fit_twin(stim_a, {"a": rec_a}, _config(lr=1e-2), seed=0)
    return brain, twin_a, (stim_b, rec_b), (test, test_b)


def test_transfer_beats_a_from_scratch_fit_on_the_same_images(planted):
    """Planted: B's neurons share A's brain, so A's frozen core + a new (linear, ridge-CV) readout fitted on
    60 images must beat a whole twin fitted on those 60 images alone."""
    _, twin_a, (stim_b, rec_b), (test, test_b) = planted
    moved = transfer_twin(twin_a, stim_b, rec_b, session="b", seed=0, readout=ReadoutConfig(kind="linear", pool=2))
    scratch = fit_twin(stim_b, {"b": rec_b}, _config(), seed=0)
    r_moved = evaluate_predictions(moved.respond(test), test_b, n_boot=0).correlation.per_unit.values
    r_scratch = evaluate_predictions(scratch.respond(test), test_b, n_boot=0).correlation.per_unit.values
    diff = median_difference(r_moved, r_scratch, seed=0, n_boot=500)
    assert diff.ci[0] > 0, (np.median(r_moved), np.median(r_scratch))
    # the core really is frozen: its weights are A's
    for k, v in twin_a.network.core.state_dict().items():
        assert np.array_equal(v.numpy(), moved.network.core.state_dict()[k].numpy()), k
    assert moved.sessions == ("b",)
    # a trained (gaussian) readout on the frozen core: the core stays A's
    trained = transfer_twin(twin_a, stim_b, rec_b, session="b", seed=0)
    for k, v in twin_a.network.core.state_dict().items():
        assert np.array_equal(v.numpy(), trained.network.core.state_dict()[k].numpy()), k


def test_linear_transfer_is_ridge_on_the_core_features(planted):
    """The linear readout equals scikit-learn's RidgeCV (alpha per neuron, LOO) on the pooled core output."""
    _, twin_a, (stim_b, rec_b), (test, _) = planted
    moved = transfer_twin(twin_a, stim_b, rec_b, session="b", readout=ReadoutConfig(kind="linear", pool=2))
    assert moved.config.output == "linear"
    import torch

    with torch.no_grad():
        net = twin_a.network.eval()
        feats = lambda s: torch.nn.functional.avg_pool2d(net.core(net.preprocess(torch.from_numpy(s.images))), 2)  # noqa: E731
        x_tr, x_te = feats(stim_b).flatten(1).double().numpy(), feats(test).flatten(1).double().numpy()
    ref = RidgeCV(alphas=DEFAULT_ALPHAS, alpha_per_target=True).fit(x_tr, rec_b.mean("repeat").values)
    np.testing.assert_allclose(moved.respond(test).values, ref.predict(x_te), rtol=1e-3, atol=1e-4)


def test_multi_session_fit_and_normalisation(tiny_data):
    """Two sessions (different neurons and images): one core, a readout each; with per-neuron loss
    normalisation the session with 100x larger rates does not swamp the other."""
    stim, rec, _, _ = tiny_data
    big = rec.isel(neuron=slice(0, 6)) * 100
    big = big.assign_coords(neuron_id=("neuron", [f"big{i}" for i in range(6)]))
    cfg = _config(epochs=3, normalize=True)
    twin = fit_twin({"s1": stim, "s2": stim}, {"s1": rec.isel(neuron=slice(6, 12)), "s2": big}, cfg, seed=0)
    assert twin.sessions == ("s1", "s2") and len(twin.network.readouts) == 2
    out = twin.respond(stim)
    assert list(out.neuron_id.values[-6:]) == [f"big{i}" for i in range(6)]


def test_linear_output_and_gaussian_loss_fit_signed_data(tiny_data):
    stim, rec, _, _ = tiny_data
    signed = rec - rec.mean()
    with pytest.raises(TwinConfigError, match="gaussian"):
        TwinConfig(output="linear")
    with pytest.raises(TwinError, match="non-negative"):
        fit_twin(stim, signed, _config(epochs=1), seed=0)
    cfg = _config(epochs=2, loss="gaussian").replace(output="linear")
    twin = fit_twin(stim, signed, cfg, seed=0)
    assert (twin.respond(stim).values < 0).any()


def test_ceiling_free_evaluation_without_repeats(tiny_data):
    *_, test_rec = tiny_data
    avg = test_rec.mean("repeat")
    rng = np.random.default_rng(0)
    pred = avg + rng.normal(0, 0.3, avg.shape)
    ev = evaluate_predictions(pred, avg, n_boot=20)
    assert ev.ceiling_free and ev.feve is None and ev.ceiling is None
    y, x = avg.values, pred.values
    for n in range(y.shape[1]):
        assert ev.correlation.per_unit.values[n] == pytest.approx(np.corrcoef(x[:, n], y[:, n])[0, 1], abs=1e-9)
        ev_n = 1 - ((y[:, n] - x[:, n]) ** 2).sum() / ((y[:, n] - y[:, n].mean()) ** 2).sum()
        assert ev.explained_variance.per_unit.values[n] == pytest.approx(ev_n, abs=1e-9)
    assert ev.to_dict()["ceiling_free"] is True


def test_compare_and_transfer_runs(planted, tmp_path):
    """compare: ridge rows equal scikit-learn RidgeCV on standardised features; twin row equals numpy r."""
    brain, _, _, _ = planted
    stim = natural_patches(60, SIZE, seed=41)
    recs = [Recording(brain.record(stim, repeats=3, seed=42).isel(neuron=slice(0, 10)), stim),
            Recording(brain.record(stim, repeats=3, seed=43).isel(neuron=slice(10, 20))
                      .mean("repeat").assign_attrs(session="avg"), stim)]
    recs[0].responses.attrs["session"] = "rep"
    result = compare_recordings(recs, tmp_path / "cmp", config=_config(epochs=1), n_boot=100)
    assert (tmp_path / "cmp" / "results.json").exists() and (tmp_path / "cmp" / "compare.png").exists()
    rep, avg = result["sessions"]["rep"], result["sessions"]["avg"]
    assert not rep["models"]["twin"]["ceiling_free"] and avg["models"]["twin"]["ceiling_free"]
    assert "feve_pooled" in rep["models"]["ridge_pixels"] and "feve_pooled" not in avg["models"]["twin"]
    # independent reference for the pixel ridge on the "avg" session
    from neurosafe.twin.runs import holdout_split

    tr, te = holdout_split(stim.ids, 0.2, seed=0)
    pos = {i: k for k, i in enumerate(stim.ids.astype(str))}
    px = np.einsum("bchw,c->bhw", stim.images.astype(float), [0.299, 0.587, 0.114])
    px = px.repeat(2, axis=1).repeat(2, axis=2).reshape(len(stim), -1)  # pixel_features: 32 px (area, 2x)
    itr, ite = [pos[i] for i in tr], [pos[i] for i in te]
    mu, sd = px[itr].mean(0), px[itr].std(0)
    y = recs[1].responses.values
    ref = RidgeCV(alphas=DEFAULT_ALPHAS, alpha_per_target=True).fit((px[itr] - mu) / sd, y[itr])
    r_ref = [np.corrcoef(ref.predict((px[ite] - mu) / sd)[:, n], y[ite, n])[0, 1] for n in range(10)]
    assert avg["models"]["ridge_pixels"]["median_r"] == pytest.approx(np.median(r_ref), abs=2e-3)
    # transfer of the saved twin of a run folder to a session without repeats: ceiling-free scores
    from neurosafe.twin.runs import fit_recordings

    fit_recordings(recs[:1], tmp_path / "run", _config(epochs=1))
    moved = transfer_run(tmp_path / "run", recs[1], tmp_path / "moved")
    assert moved["ceiling_free"] and "feve_median" not in moved and (tmp_path / "moved" / "twin").is_dir()


def test_ridge_and_paired_difference_helpers():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.4, 0.1, 50), rng.normal(0.2, 0.1, 50)
    d = median_difference(a, b, n_boot=500)
    assert d.value == pytest.approx(np.median(a) - np.median(b)) and d.ci[0] > 0
    same = median_difference(a, a, n_boot=200)
    assert same.value == 0 and same.ci == (0, 0)
    with pytest.raises(TwinError, match="2 neurons"):
        median_difference(a[:1], b[:1])


def test_ensemble_is_the_mean_of_its_twins(planted):
    from neurosafe.twin import TwinEnsemble

    _, twin_a, (stim_b, rec_b), (test, _) = planted
    members = [transfer_twin(twin_a, stim_b, rec_b, session="b", readout=ReadoutConfig(kind="linear", pool=p))
               for p in (1, 2)]
    ens = TwinEnsemble(members).respond(test)
    np.testing.assert_allclose(ens.values, (members[0].respond(test).values + members[1].respond(test).values) / 2)
    with pytest.raises(TwinError, match="same sessions"):
        TwinEnsemble([members[0], twin_a])
