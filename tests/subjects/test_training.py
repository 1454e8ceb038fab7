"""The one classifier-training loop: a plain PyTorch loop run side by side, planted regularizer optima,
resume-equals-uninterrupted, and one-line configuration errors."""

import pytest
import torch
from torch import nn

from neurosafe.core.checkpoint import StaleCheckpointWarning
from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.core.io import load_state
from neurosafe.core.seeds import torch_generator
from neurosafe.data.tasks import digits_dataset
from neurosafe.subjects import TrainConfig, evaluate_accuracy, train_classifier


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(8 * 8 * 8, 10))


@pytest.fixture(scope="module")
def digits():
    return digits_dataset(size=16, n_test=400, seed=0)


def test_trains_digits_to_high_accuracy(digits):
    x, y, xt, yt = digits
    res = train_classifier(_net(), x, y, config=TrainConfig(epochs=8, progress=False), seed=0)
    assert evaluate_accuracy(res.model, xt, yt) > 0.9
    assert len(res.history) == 8 and res.history[-1]["task_loss"] < res.history[0]["task_loss"]


def test_equals_a_plain_pytorch_loop_with_the_same_batches(digits):
    """Adam + cross-entropy over shuffled mini-batches, written out by hand: the same weights."""
    x, y, _, _ = digits
    x, y = torch.as_tensor(x[:300]), torch.as_tensor(y[:300])
    config = TrainConfig(epochs=2, batch_size=32, lr=1e-3, weight_decay=1e-4, device="cpu", progress=False)
    ours = train_classifier(_net(), x, y, config=config, seed=3).model
    ref = _net()
    opt = torch.optim.Adam(ref.parameters(), lr=1e-3, weight_decay=1e-4)
    gen = torch_generator(3, "batches")
    for _ in range(2):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            nn.functional.cross_entropy(ref(x[idx]), y[idx].long()).backward()
            opt.step()
    for a, b in zip(ours.state_dict().values(), ref.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


class _PullHead:
    """A regularizer with one trainable head parameter c and penalty (c - 3)^2: its optimum is c = 3."""

    name = "pull"

    def __init__(self):
        self.head = nn.Module()
        self.head.c = nn.Parameter(torch.zeros(()))
        self.calls = 0

    def weight_at(self, epoch):
        return 10.0 if epoch > 0 else 0.0  # a schedule: off in the first epoch

    def penalty(self, model, generator):
        self.calls += 1
        return (self.head.c - 3.0) ** 2

    def extra_modules(self):
        return nn.ModuleDict({"head": self.head})


def test_regularizer_heads_are_trained_and_weighted_by_their_schedule(digits):
    x, y, _, _ = digits
    reg = _PullHead()
    res = train_classifier(_net(), x[:256], y[:256], [reg],
                           TrainConfig(epochs=1, batch_size=64, lr=0.1, progress=False), seed=0)
    assert reg.calls == 4 and reg.head.c.item() == 0.0  # weight 0 in epoch 0: no gradient reaches c
    assert res.history[0]["pull_penalty"] == pytest.approx(9.0)
    train_classifier(_net(), x[:256], y[:256], [reg], TrainConfig(epochs=40, batch_size=64, lr=0.1, progress=False))
    assert reg.head.c.item() == pytest.approx(3.0, abs=0.05)


def _forward_counter(model):
    calls = []
    model.register_forward_pre_hook(lambda *_: calls.append(1))
    return calls


def test_resume_gives_identical_weights(digits, tmp_path):
    x, y, _, _ = digits
    quiet = {"progress": False}
    full = train_classifier(_net(), x, y, config=TrainConfig(epochs=3, **quiet), seed=5).model
    ckpt = tmp_path / "ckpt.pt"
    first = _net()
    batches = _forward_counter(first)
    train_classifier(first, x, y, config=TrainConfig(epochs=1, **quiet), seed=5, checkpoint=ckpt)
    assert load_state(ckpt)["epoch"] == 1  # weights-only readable
    model = _net()
    calls = _forward_counter(model)
    resumed = train_classifier(model, x, y, config=TrainConfig(epochs=3, **quiet), seed=5, checkpoint=ckpt)
    assert len(calls) == 2 * len(batches)  # resumed after epoch 1: two epochs left, not three
    for a, b in zip(full.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert len(resumed.history) == 3


def test_checkpoint_of_another_run_or_corrupt_is_not_resumed(digits, tmp_path):
    """A checkpoint of a run that differs in one input (caller's fingerprint, seed, initial weights), or a
    truncated one, is ignored with a warning: the run equals one that never saw it."""
    x, y, _, _ = digits
    cfg, one = TrainConfig(epochs=2, progress=False), TrainConfig(epochs=1, progress=False)
    reference = train_classifier(_net(), x, y, config=cfg, seed=5, fingerprint="a").model.state_dict()
    others = [(_net(), 5, "b"), (_net(), 6, "a"), (_net(seed=1), 5, "a")]
    for i, (model, seed, fp) in enumerate(others):
        ckpt = tmp_path / f"other{i}.pt"
        train_classifier(model, x, y, config=one, seed=seed, checkpoint=ckpt, fingerprint=fp)
        with pytest.warns(StaleCheckpointWarning, match="another run"):
            got = train_classifier(_net(), x, y, config=cfg, seed=5, checkpoint=ckpt, fingerprint="a")
        assert all(torch.equal(v, reference[k]) for k, v in got.model.state_dict().items())
    ckpt = tmp_path / "own.pt"
    train_classifier(_net(), x, y, config=one, seed=5, checkpoint=ckpt, fingerprint="a")
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    with pytest.warns(StaleCheckpointWarning, match="unreadable"):
        got = train_classifier(_net(), x, y, config=cfg, seed=5, checkpoint=ckpt, fingerprint="a")
    assert all(torch.equal(v, reference[k]) for k, v in got.model.state_dict().items())


def test_bad_task_data():
    with pytest.raises(DataValidationError, match="same|labels"):
        train_classifier(_net(), torch.zeros(4, 1, 16, 16), torch.zeros(3, dtype=torch.long))
    with pytest.raises(DataValidationError, match="\\[0, 1\\]"):
        train_classifier(_net(), torch.full((4, 1, 16, 16), 2.0), torch.zeros(4, dtype=torch.long))


@pytest.mark.parametrize(("options", "fragment"), [
    ({"epochs": 0}, "epochs"), ({"lr": -1}, "lr"), ({"device": "tpu"}, "device"), ({"epoch": 3}, "unknown option"),
])
def test_bad_config_raises_one_line_error(options, fragment):
    with pytest.raises(DataValidationError, match=fragment) as err:
        TrainConfig(**options)
    assert isinstance(err.value, NeurosafeError) and "\n" not in str(err.value)


def test_config_is_frozen_and_round_trips():
    config = TrainConfig(epochs=3, lr=1e-3)
    assert TrainConfig.model_validate(config.model_dump()) == config
    with pytest.raises(Exception, match="frozen"):
        config.epochs = 4


def test_progress_reports_epochs_loss_and_resume_as_plain_lines(digits, tmp_path, progress_lines):
    """Not a terminal: plain lines (epochs done of total, the loss); a resumed run says where it resumed."""
    x, y, _, _ = digits
    x, y = x[:64], y[:64]
    config = TrainConfig(epochs=1, batch_size=32, device="cpu")
    train_classifier(_net(), x, y, config=config, seed=0, checkpoint=tmp_path / "c.pt")
    train_classifier(_net(), x, y, config=TrainConfig(epochs=2, batch_size=32, device="cpu"), seed=0,
                     checkpoint=tmp_path / "c.pt")
    lines = progress_lines()
    assert lines[0] == "training: started, 1 epoch" and "1/1 epoch," in lines[1] and ", loss " in lines[1]
    assert lines[-3] == "training: started, 2 epochs, resumed at 1"
    assert lines[-1].startswith("training: 2/2 epochs") and lines[-1].endswith("(done)")
    train_classifier(_net(), x, y, config=TrainConfig(epochs=1, device="cpu", progress=False), seed=0)
    assert len(progress_lines()) == len(lines)  # progress=False: silent
