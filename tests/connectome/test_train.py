"""Training a connectome-constrained rate model: the C. elegans touch-withdrawal task."""

import numpy as np
import pytest
import torch

from neurosafe.connectome import RateModel, classification_accuracy, train_rate_model
from neurosafe.core.errors import DataValidationError

ANTERIOR, POSTERIOR = (
    ["ALML", "ALMR", "AVM"],
    ["PLML", "PLMR"],
)  # gentle-touch receptors (Chalfie et al. 1985)
OUTPUTS = [["AVAL", "AVAR"], ["AVBL", "AVBR"]]  # backward / forward command interneurons


def _touch_task(connectome, n: int, seed: int):
    """Anterior touch -> backward (AVA, label 0), posterior touch -> forward (AVB, label 1), with random
    amplitudes and noise on every touch receptor."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    currents = np.zeros((n, connectome.n_neurons))
    receptors = connectome.indices(ANTERIOR + POSTERIOR)
    currents[:, receptors] = rng.normal(0, 0.1, (n, len(receptors)))
    for i, label in enumerate(labels):
        currents[i, connectome.indices(ANTERIOR if label == 0 else POSTERIOR)] += rng.uniform(0.5, 1.5)
    return currents, labels


def _model(connectome):
    return RateModel(connectome, activation="tanh", gap_strength=0.01, dt=2.0, duration=40.0)


def test_touch_withdrawal_is_learned_with_fixed_wiring_and_signs(varshney):
    train_x, train_y = _touch_task(varshney, 32, seed=0)
    test_x, test_y = _touch_task(varshney, 128, seed=1)
    model = _model(varshney)
    before = model.effective_chemical()
    untrained = classification_accuracy(model, test_x, test_y, OUTPUTS)
    result = train_rate_model(model, train_x, train_y, OUTPUTS, epochs=40, lr=0.05)
    trained = classification_accuracy(model, test_x, test_y, OUTPUTS)
    assert untrained <= 0.6  # the untrained wiring does not solve it
    assert trained >= 0.9, f"held-out accuracy {trained:.3f}"
    assert result.losses[-1] < 0.5 * result.losses[0]
    after = model.effective_chemical()
    # connectivity pattern and signs are those of the connectome, before and after training
    for w in (before, after):
        assert (w != 0).astype(int).toarray().tolist() == (varshney.chemical != 0).astype(
            int
        ).toarray().tolist()
        np.testing.assert_array_equal(np.sign(w.toarray()), varshney.sign.toarray())
    assert not np.allclose(before.toarray(), after.toarray())  # the strengths did move


def test_checkpoint_resume_equals_an_uninterrupted_run(varshney, tmp_path):
    x, y = _touch_task(varshney, 16, seed=2)
    straight = _model(varshney)
    full = train_rate_model(straight, x, y, OUTPUTS, epochs=4, lr=0.05, batch_size=8, seed=3)
    resumed = _model(varshney)
    ckpt = tmp_path / "ckpt.pt"
    train_rate_model(
        resumed, x, y, OUTPUTS, epochs=2, lr=0.05, batch_size=8, seed=3, checkpoint=ckpt, checkpoint_every=1
    )
    again = train_rate_model(
        _model(varshney),
        x,
        y,
        OUTPUTS,
        epochs=4,
        lr=0.05,
        batch_size=8,
        seed=3,
        checkpoint=ckpt,
        checkpoint_every=1,
    )
    np.testing.assert_allclose(again.losses, full.losses, rtol=1e-5)
    assert torch.load(ckpt, weights_only=True)["epoch"] == 4


def test_bad_tasks_raise(varshney):
    model = _model(varshney)
    x, y = _touch_task(varshney, 4, seed=0)
    with pytest.raises(DataValidationError, match="labels must index"):
        train_rate_model(model, x, y + 5, OUTPUTS, epochs=1)
    with pytest.raises(DataValidationError, match="need currents"):
        train_rate_model(model, x[:3], y, OUTPUTS, epochs=1)
    with pytest.raises(DataValidationError, match="no neuron or cell type"):
        train_rate_model(model, x, y, [["AVAL"], ["NOBODY"]], epochs=1)
    with pytest.raises(DataValidationError, match="lr > 0"):
        train_rate_model(model, x, y, OUTPUTS, lr=0)
