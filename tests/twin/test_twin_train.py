import numpy as np
import pytest
import torch
import xarray as xr

from neurosafe.core.checkpoint import StaleCheckpointWarning
from neurosafe.core.errors import DataValidationError
from neurosafe.data import natural_patches
from neurosafe.twin import TwinConfig, TwinError, TwinTrainConfig, fit_twin
from neurosafe.twin.train import CHECKPOINT, _State, _step, masked_correlation


class Interrupt(Exception):
    pass


def _stop_after(k):
    def callback(report):
        if report.epoch == k:
            raise Interrupt

    return callback


def _weights(twin):
    return {k: v.clone() for k, v in twin.network.state_dict().items()}


def test_resumed_fit_ends_with_the_same_weights(tiny_data, tiny_config, tmp_path):
    stim, rec, _, _ = tiny_data
    cfg = tiny_config.replace(train=TwinTrainConfig(epochs=4, batch_size=32, progress=False, patience=10))
    full = _weights(fit_twin(stim, rec, cfg, seed=5))
    with pytest.raises(Interrupt):
        fit_twin(stim, rec, cfg, seed=5, checkpoint_dir=tmp_path, callbacks=[_stop_after(2)])
    assert (tmp_path / CHECKPOINT).exists()
    epochs = []
    resumed = fit_twin(
        stim,
        rec,
        cfg,
        seed=5,
        checkpoint_dir=tmp_path,
        resume=True,
        callbacks=[lambda r: epochs.append(r.epoch)],
    )
    assert epochs == [3, 4]  # continued, not restarted
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    got = _weights(resumed)
    assert got.keys() == full.keys()
    for k in full:
        assert torch.equal(got[k], full[k]), k
    # a different seed gives different weights: the comparison above can fail
    other = _weights(fit_twin(stim, rec, cfg, seed=6))
    assert not all(torch.equal(other[k], full[k]) for k in full)


def test_resume_ignores_a_checkpoint_of_another_fit(tiny_data, tiny_config, tmp_path):
    """Another fit's checkpoint (other seed) or a corrupt one is not resumed: a warning, then a fresh fit."""
    stim, rec, _, _ = tiny_data
    cfg = tiny_config.replace(train=TwinTrainConfig(epochs=1, progress=False))
    fit_twin(stim, rec, cfg, checkpoint_dir=tmp_path)
    seed0 = torch.load(tmp_path / CHECKPOINT, weights_only=True)["fingerprint"]
    fresh = _weights(fit_twin(stim, rec, cfg, seed=1))
    with pytest.warns(StaleCheckpointWarning, match="another run"):
        other = fit_twin(stim, rec, cfg, seed=1, checkpoint_dir=tmp_path, resume=True)
    assert all(torch.equal(v, fresh[k]) for k, v in _weights(other).items())
    assert torch.load(tmp_path / CHECKPOINT, weights_only=True)["fingerprint"] != seed0  # overwritten
    (tmp_path / CHECKPOINT).write_bytes(b"garbage")
    with pytest.warns(StaleCheckpointWarning, match="unreadable"):
        again = fit_twin(stim, rec, cfg, seed=1, checkpoint_dir=tmp_path, resume=True)
    assert all(torch.equal(v, fresh[k]) for k, v in _weights(again).items())


def test_fit_leaves_the_global_rng_alone(tiny_data, tiny_config):
    stim, rec, _, _ = tiny_data
    torch.manual_seed(123)
    state = torch.get_rng_state()
    fit_twin(stim, rec, tiny_config.replace(train=TwinTrainConfig(epochs=1, progress=False)))
    assert torch.equal(torch.get_rng_state(), state)


def test_best_epoch_is_restored(tiny_data, tiny_config, tmp_path):
    stim, rec, _, _ = tiny_data
    twin = fit_twin(stim, rec, tiny_config, checkpoint_dir=tmp_path)
    ckpt = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    best = max(twin.history, key=lambda h: h["val_correlation"])["epoch"]
    assert ckpt["best_epoch"] == best
    for k, v in twin.network.state_dict().items():
        assert torch.equal(v, ckpt["best_state"][k]), k


def test_early_stopping_and_lr_decay_rule():
    """Documented rule: decay after more than lr_patience flat epochs, stop after patience flat epochs or
    more than max_lr_decays decays."""
    cfg = TwinConfig(train=TwinTrainConfig(lr=1.0, patience=5, lr_patience=1, lr_decay=0.5, max_lr_decays=10))
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    state, lrs, stopped = _State(), [], None
    for epoch, score in enumerate([0.1, 0.2, 0.2, 0.1, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3], start=1):
        state.epoch = epoch
        _step(state, score, opt, cfg)
        lrs.append(opt.param_groups[0]["lr"])
        if state.finished and stopped is None:
            stopped = epoch
    assert lrs == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125]
    assert state.best_epoch == 5 and stopped == 10


def test_masked_correlation_matches_numpy():
    rng = np.random.default_rng(0)
    p, t = rng.standard_normal((30, 4)), rng.standard_normal((30, 4))
    mask = rng.random((30, 4)) > 0.2
    mask[:, 3] = False
    mask[:2, 3] = True  # too few rows: undefined
    r = masked_correlation(torch.from_numpy(p), torch.from_numpy(t), torch.from_numpy(mask)).numpy()
    for j in range(3):
        m = mask[:, j]
        assert r[j] == pytest.approx(np.corrcoef(p[m, j], t[m, j])[0, 1], abs=1e-10)
    assert np.isnan(r[3])


def test_missing_repeats_are_masked_not_zero(tiny_data, tiny_config):
    stim, rec, test, _ = tiny_data
    holes = rec.copy()
    holes[:, :, 1] = np.nan  # every stimulus keeps repeat 0
    holes[:50, :3, 0] = np.nan  # and some neurons miss stimuli entirely
    twin = fit_twin(stim, holes, tiny_config)
    assert np.isfinite(twin.respond(test).values).all()
    assert np.isfinite([h["val_correlation"] for h in twin.history]).all()


def test_several_sessions_share_one_core(tiny_data, tiny_config):
    stim, rec, test, _ = tiny_data
    a = rec.isel(neuron=slice(0, 5))
    b = rec.isel(neuron=slice(5, None), stimulus=slice(0, 200))
    twin = fit_twin(stim, {"s1": a, "s2": b}, tiny_config)
    assert set(twin.network.readouts) == {"s1", "s2"}
    assert twin.sites[-2:] == ("readout.s1", "readout.s2")
    out = twin.respond(test)
    assert list(out.neuron_id.values) == list(rec.neuron_id.values)
    assert list(out.session.values) == ["s1"] * 5 + ["s2"] * 7
    assert twin.respond(test, site="readout.s2").shape == (len(test), 7)
    with pytest.raises(TwinError, match="unique across sessions"):
        fit_twin(stim, {"s1": a, "s2": a}, tiny_config)


def test_bad_inputs_raise_clear_errors(tiny_data, tiny_config):
    stim, rec, _, _ = tiny_data
    with pytest.raises(TwinError, match="non-negative"):
        fit_twin(stim, rec - 5, tiny_config)
    fit_twin(
        stim, rec - 5, tiny_config.replace(train=TwinTrainConfig(epochs=1, loss="gaussian", progress=False))
    )
    with pytest.raises(TwinError, match="at least 10"):
        fit_twin(stim, rec.isel(stimulus=slice(0, 6)), tiny_config)
    with pytest.raises(DataValidationError, match="not in the StimulusSet"):
        fit_twin(natural_patches(20, 16, seed=99), rec, tiny_config)
    with pytest.raises(TwinError, match="TwinConfig"):
        fit_twin(stim, rec, {"train": {}})
    with pytest.raises(TwinError, match="time"):
        fit_twin(
            stim, rec.expand_dims(time=[0]).transpose("stimulus", "neuron", "repeat", "time"), tiny_config
        )
    with pytest.raises(TwinError, match="no coordinate 'running'"):
        fit_twin(stim, rec, tiny_config.replace(modulator=("running",)))
    with pytest.raises(TwinError, match="session names"):
        fit_twin(stim, {"a.b": rec}, tiny_config)
    with pytest.raises(DataValidationError):
        fit_twin(stim, xr.DataArray(np.ones((3, 3))), tiny_config)
