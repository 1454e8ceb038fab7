"""The twin training loop: translation augmentation that the Gaussian readout follows, validation every k
epochs, and progress reported through ``neurosafe.core.progress`` on a non-terminal stream."""

import io
import math

import numpy as np
import pytest
import torch

from neurosafe.core import progress
from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.twin import (
    FeatureCoreConfig,
    ReadoutConfig,
    StackedCoreConfig,
    TwinConfig,
    TwinConfigError,
    TwinTrainConfig,
    fit_twin,
    transfer_twin,
)
from neurosafe.twin.model import TwinNetwork, translate
from neurosafe.twin.train import masked_correlation


def test_translate_moves_each_image_by_its_shift_with_zero_fill():
    x = torch.arange(2 * 1 * 5 * 6, dtype=torch.float32).reshape(2, 1, 5, 6) + 1
    torch.manual_seed(0)
    out, shift = translate(x, 2)
    pixels = torch.round(shift * torch.tensor([(6 - 1) / 2, (5 - 1) / 2])).long()
    for b in range(2):
        dx, dy = pixels[b].tolist()
        for i in range(5):
            for j in range(6):
                si, sj = i - dy, j - dx  # independent reference: out[i, j] = x[i - dy, j - dx], else 0
                want = x[b, 0, si, sj] if 0 <= si < 5 and 0 <= sj < 6 else 0.0
                assert out[b, 0, i, j] == want
    assert pixels.abs().max() <= 2


def test_readout_shift_follows_the_translated_image():
    """A stacked core keeps the image grid, so translating the image and moving the Gaussian readout's
    positions by the same amount leaves interior neurons' predictions unchanged (and without the readout
    shift they change: the check can fail)."""
    torch.manual_seed(1)
    config = TwinConfig(core=StackedCoreConfig(channels=4, kernel_sizes=(3, 3)))
    net = TwinNetwork(config, 1, (24, 24), {"s": 30}).eval()
    with torch.no_grad():
        net.readouts["s"].mu.uniform_(-0.3, 0.3)  # >= 5 px from the border: conv reach 2 + shift 2 + bilinear 1
        for bn in (m for m in net.core.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            bn.running_mean.normal_(0, 0.1)
        x = torch.randn(16, 1, 24, 24)
        moved, shift = translate(x, 2)
        assert (shift.abs() > 0).any()
        base = net(x, "s")
        followed = net.from_encoded(net.core.encode(moved), "s", None, shift)
        ignored = net(moved, "s")
    torch.testing.assert_close(followed, base, rtol=1e-4, atol=1e-5)
    assert (ignored - base).abs().max() > 1e-2


def test_augmentation_refuses_readouts_that_cannot_follow_a_shift():
    aug = TwinTrainConfig(augment_shift=2)
    with pytest.raises(TwinConfigError, match="augment_shift needs the stacked core and the gaussian readout"):
        TwinConfig(readout=ReadoutConfig(kind="factorized"), train=aug)
    with pytest.raises(TwinConfigError, match="augment_shift"):
        TwinConfig(core=FeatureCoreConfig(site="conv1"), train=aug)
    with pytest.raises(TwinConfigError, match="augment_shift"):
        TwinTrainConfig(augment_shift=-1)
    assert TwinTrainConfig().augment_shift == 0  # off by default


def _test_r(twin, test, truth):
    pred = torch.from_numpy(twin.respond(test).values)
    target = torch.from_numpy(truth.transpose("stimulus", "neuron").values)
    return float(masked_correlation(pred, target, torch.ones_like(target, dtype=torch.bool)).median())


def test_augmentation_does_not_hurt_a_planted_brain_at_small_data():
    """Synthetic V1 (translation-equivariant Gabor units at planted positions): 150 images (120 to train),
    scored against the brain's noise-free responses to 200 new images, mean over two seeds; fixed epochs
    (patience = epochs) so that early stopping on 30 validation images adds no noise."""
    brain = SyntheticBrain(n_neurons=40, area="V1", seed=7, image_size=16, snr_range=(1.0, 3.0), n_calibration=300)
    stim, test = natural_patches(150, 16, seed=31), natural_patches(200, 16, seed=32)
    rec, truth = brain.record(stim, repeats=2, seed=33), brain.respond(test)
    scores = {}
    for shift in (0, 1):
        train = TwinTrainConfig(epochs=20, batch_size=16, progress=False, patience=20, val_fraction=0.2,
                                augment_shift=shift)
        config = TwinConfig(core=StackedCoreConfig(channels=6, kernel_sizes=(7, 3)), train=train)
        scores[shift] = np.mean([_test_r(fit_twin(stim, rec, config, seed=s), test, truth) for s in (0, 1)])
    print(f"\nmedian test r vs the noise-free responses, 120 training images: no augmentation {scores[0]:.3f}, "
          f"+-1 px translations {scores[1]:.3f}")
    assert scores[0] > 0.1  # the fits learn something: the comparison has power
    assert scores[1] >= scores[0] - 0.02


def test_validation_every_k_epochs(tiny_data, tiny_config):
    stim, rec, _, _ = tiny_data
    cfg = tiny_config.replace(train=TwinTrainConfig(epochs=5, batch_size=32, progress=False, patience=10,
                                                    val_every=2))
    seen = []
    twin = fit_twin(stim, rec, cfg, seed=0, callbacks=[seen.append])
    validated = [not math.isnan(h["val_correlation"]) for h in twin.history]
    assert validated == [True, True, False, True, True]  # the first, every 2nd, the last
    assert [r.epoch for r in seen] == [1, 2, 3, 4, 5]


@pytest.fixture()
def plain_stream():
    stream = io.StringIO()
    progress.configure(stream=stream, tty=False, interval=0.0)
    try:
        yield stream
    finally:
        progress.reset()


def test_fit_and_transfer_report_epochs_to_a_non_terminal_stream(tiny_data, tiny_config, plain_stream):
    stim, rec, _, _ = tiny_data
    cfg = tiny_config.replace(train=TwinTrainConfig(epochs=3, batch_size=32, patience=10))  # progress: None
    twin = fit_twin(stim, rec, cfg, seed=0)
    lines = plain_stream.getvalue().splitlines()
    assert lines[0].startswith("fit twin (12 neurons") and "started" in lines[0]
    assert any("1/3 items" in ln and "epoch 1, val r" in ln and "elapsed" in ln and "ETA" in ln for ln in lines)
    assert "3/3 items" in lines[-1] and lines[-1].endswith("(done)")
    transfer_twin(twin, stim, rec.isel(neuron=slice(0, 5)), seed=0)
    lines = plain_stream.getvalue().splitlines()
    assert any(ln.startswith("transfer twin (5 neurons") and "val r" in ln for ln in lines)


def test_progress_false_is_silent(tiny_data, tiny_config, plain_stream):
    stim, rec, _, _ = tiny_data
    fit_twin(stim, rec, tiny_config.replace(train=TwinTrainConfig(epochs=1, progress=False)), seed=0)
    assert plain_stream.getvalue() == ""


def test_bfloat16_precision_trains_in_bfloat16_and_predicts_in_float32(tiny_data, tiny_config):
    """Mixed precision: the training steps' convolutions run in bfloat16, the weights and the validation /
    prediction passes stay float32, and the fit is as good as the float32 one on held-out stimuli."""
    stim, rec, test, test_rec = tiny_data
    scores, dtypes = {}, {}
    for precision in ("float32", "bfloat16"):
        cfg = tiny_config.replace(train=TwinTrainConfig(epochs=20, batch_size=32, progress=False, patience=20,
                                                        precision=precision))
        seen: list[tuple[bool, torch.dtype]] = []
        original = torch.nn.Conv2d.forward

        def spy(self, x, original=original, seen=seen):
            out = original(self, x)
            seen.append((self.training, out.dtype))
            return out

        torch.nn.Conv2d.forward = spy
        try:
            twin = fit_twin(stim, rec, cfg, seed=0)
        finally:
            torch.nn.Conv2d.forward = original
        dtypes[precision] = ({d for t, d in seen if t}, {d for t, d in seen if not t})
        assert all(p.dtype == torch.float32 for p in twin.network.parameters())
        pred = twin.respond(test.aligned_to(test_rec)).transpose("stimulus", "neuron").values
        target = test_rec.mean("repeat").transpose("stimulus", "neuron").values
        r = [np.corrcoef(pred[:, i], target[:, i])[0, 1] for i in range(pred.shape[1])]
        scores[precision] = float(np.nanmedian(r))
    assert dtypes["float32"] == ({torch.float32}, {torch.float32})
    assert dtypes["bfloat16"] == ({torch.bfloat16}, {torch.float32})
    assert scores["float32"] > 0.15  # an untrained or diverged twin: ~0
    assert abs(scores["bfloat16"] - scores["float32"]) < 0.03, scores


def test_unknown_precision_is_one_clear_error():
    with pytest.raises(TwinConfigError, match="precision"):
        TwinTrainConfig(precision="float16")


def test_cpu_fit_trains_the_core_channels_last_and_returns_it_in_the_standard_layout(tiny_data, tiny_config):
    stim, rec, _, _ = tiny_data
    cfg = tiny_config.replace(train=tiny_config.train.model_copy(update={"epochs": 1, "device": "cpu"}))
    layouts = []
    original = torch.nn.Conv2d.forward

    def spy(conv, x):
        if conv.training:
            layouts.append(conv.weight.is_contiguous(memory_format=torch.channels_last))
        return original(conv, x)

    torch.nn.Conv2d.forward = spy
    try:
        twin = fit_twin(stim, rec, cfg, seed=0)
    finally:
        torch.nn.Conv2d.forward = original
    assert layouts and all(layouts)
    assert all(p.is_contiguous() for p in twin.network.parameters())
    x = torch.from_numpy(stim.images[:4])
    assert all(a.is_contiguous() for a in twin.activations(x, list(twin.network.core.sites)).values())
