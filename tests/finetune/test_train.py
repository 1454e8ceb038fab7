import pytest
import torch
from torch import nn

from neurosafe.core.checkpoint import StaleCheckpointWarning
from neurosafe.core.errors import DataValidationError
from neurosafe.data.tasks import digits_dataset
from neurosafe.finetune.train import TrainConfig, evaluate_accuracy, train_classifier


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(8 * 8 * 8, 10))


@pytest.fixture(scope="module")
def digits():
    return digits_dataset(size=16, n_test=400, seed=0)


def test_trains_digits_to_high_accuracy(digits):
    x, y, xt, yt = digits
    res = train_classifier(_net(), x, y, config=TrainConfig(epochs=8), seed=0, progress=False)
    assert evaluate_accuracy(res.model, xt, yt) > 0.9
    assert len(res.history) == 8 and res.history[-1]["task_loss"] < res.history[0]["task_loss"]


def _forward_counter(model):
    calls = []
    model.register_forward_pre_hook(lambda *_: calls.append(1))
    return calls


def test_resume_gives_identical_weights(digits, tmp_path):
    x, y, _, _ = digits
    full = train_classifier(_net(), x, y, config=TrainConfig(epochs=3), seed=5, progress=False).model
    ckpt = tmp_path / "ckpt.pt"
    first = _net()
    batches = _forward_counter(first)
    train_classifier(first, x, y, config=TrainConfig(epochs=1), seed=5, checkpoint=ckpt, progress=False)
    model = _net()
    calls = _forward_counter(model)
    resumed = train_classifier(model, x, y, config=TrainConfig(epochs=3), seed=5, checkpoint=ckpt, progress=False)
    assert len(calls) == 2 * len(batches)  # resumed after epoch 1: two epochs left, not three
    for a, b in zip(full.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert len(resumed.history) == 3


def test_checkpoint_of_another_run_or_corrupt_is_not_resumed(digits, tmp_path):
    """A checkpoint of a run that differs in one input (caller's fingerprint, seed, initial weights), or a
    truncated one, is ignored with a warning: the run equals one that never saw it."""
    x, y, _, _ = digits
    cfg = TrainConfig(epochs=2)
    reference = train_classifier(_net(), x, y, config=cfg, seed=5, progress=False, fingerprint="a").model.state_dict()
    others = [(_net(), 5, "b"), (_net(), 6, "a"), (_net(seed=1), 5, "a")]
    for i, (model, seed, fp) in enumerate(others):
        ckpt = tmp_path / f"other{i}.pt"
        train_classifier(model, x, y, config=TrainConfig(epochs=1), seed=seed, checkpoint=ckpt, progress=False,
                         fingerprint=fp)
        with pytest.warns(StaleCheckpointWarning, match="another run"):
            got = train_classifier(_net(), x, y, config=cfg, seed=5, checkpoint=ckpt, progress=False, fingerprint="a")
        assert all(torch.equal(v, reference[k]) for k, v in got.model.state_dict().items())
    ckpt = tmp_path / "own.pt"
    train_classifier(_net(), x, y, config=TrainConfig(epochs=1), seed=5, checkpoint=ckpt, progress=False,
                     fingerprint="a")
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    with pytest.warns(StaleCheckpointWarning, match="unreadable"):
        got = train_classifier(_net(), x, y, config=cfg, seed=5, checkpoint=ckpt, progress=False, fingerprint="a")
    assert all(torch.equal(v, reference[k]) for k, v in got.model.state_dict().items())


def test_bad_task_data():
    with pytest.raises(DataValidationError, match="same|labels"):
        train_classifier(_net(), torch.zeros(4, 1, 16, 16), torch.zeros(3, dtype=torch.long))
    with pytest.raises(DataValidationError, match="\\[0, 1\\]"):
        train_classifier(_net(), torch.full((4, 1, 16, 16), 2.0), torch.zeros(4, dtype=torch.long))
    with pytest.raises(DataValidationError, match="epochs"):
        TrainConfig(epochs=0)
