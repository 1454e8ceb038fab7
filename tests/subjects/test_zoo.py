"""Zoo networks: shapes, seeding, a fixed Gabor front end with known tuning, trainability, loading."""

import numpy as np
import pytest
import torch

from neurosafe.core.errors import NeurosafeError
from neurosafe.data import gratings
from neurosafe.subjects import TorchSubject, zoo


@pytest.mark.parametrize("name", ["cnn_small", "cnn_medium", "v1_frontend"])
@pytest.mark.parametrize(("channels", "size"), [(1, 32), (3, 48), (3, 112)])
def test_every_model_takes_grey_or_rgb_at_any_size(name, channels, size):
    model = zoo.get_model(name, in_channels=channels, n_classes=7)
    assert model(torch.rand(2, channels, size, size)).shape == (2, 7)


def test_registry_and_errors():
    assert {"cnn_small", "cnn_medium", "v1_frontend"} <= set(zoo.list_models())
    with pytest.raises(NeurosafeError, match="cnn_small"):
        zoo.get_model("cnn_smal")
    with pytest.raises(NeurosafeError, match="in_channels"):
        zoo.get_model("cnn_small", in_channels=2)
    with pytest.raises(NeurosafeError, match="n_classes"):
        zoo.get_model("v1_frontend", n_classes=0)


def test_seeding_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = zoo.get_model("cnn_small", seed=5)
    after = torch.rand(1)
    b = zoo.get_model("cnn_small", seed=5)
    c = zoo.get_model("cnn_small", seed=6)
    assert torch.equal(before, after)
    assert torch.equal(a.conv1.weight, b.conv1.weight)
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


def test_v1_frontend_gabor_bank_is_fixed_and_orientation_tuned():
    model = zoo.get_model("v1_frontend", in_channels=1, orientations=8, spatial_frequencies=(0.1,))
    assert not any("gabor" in name for name, _ in model.named_parameters())  # buffers, never trained
    # full-field gratings at the bank's spatial frequency: each complex channel peaks at its own orientation
    stim = gratings(orientations=np.arange(0, 180, 22.5), spatial_frequencies=(0.1,), phases=(0, 90, 180, 270),
                    size=48)
    resp = TorchSubject(model, device="cpu").respond(stim, "complex").values.reshape(len(stim), 8, 24, 24)
    centre = resp[:, :, 8:16, 8:16].mean(axis=(2, 3))
    per_orientation = centre.reshape(8, 4, 8).mean(axis=1)  # (grating orientation, channel)
    np.testing.assert_array_equal(per_orientation.argmax(axis=0), np.arange(8))
    # complex cells are phase invariant, simple cells are not
    complex_phase = centre.reshape(8, 4, 8)[np.arange(8), :, np.arange(8)]
    assert complex_phase.std(axis=1).max() / complex_phase.mean() < 0.05
    simple = TorchSubject(model, device="cpu").respond(stim, "simple").values.reshape(len(stim), 32, 24, 24)
    simple_phase = simple[:, :8, 12, 12].reshape(8, 4, 8)[np.arange(8), :, np.arange(8)]
    assert (simple_phase.std(axis=1) / (simple_phase.mean(axis=1) + 1e-9)).min() > 0.5


def test_divisive_normalization_saturates_with_contrast():
    model = zoo.get_model("v1_frontend", in_channels=1, spatial_frequencies=(0.1,))
    stim = gratings(orientations=(0.0,), spatial_frequencies=(0.1,), phases=(0.0,), contrasts=(0.1, 0.3, 0.9),
                    size=32)
    subject = TorchSubject(model, device="cpu")
    raw = subject.respond(stim, "complex").values.max(axis=1)
    normalized = subject.respond(stim, "normalize").values.max(axis=1)
    np.testing.assert_allclose(raw / raw[0], [1, 3, 9], rtol=1e-3)  # linear energy before normalization
    assert normalized[2] / normalized[1] < 1.5 < raw[2] / raw[1]


def test_cnn_small_trains_on_cpu():
    """Vertical vs horizontal gratings: a few Adam steps drive the loss down."""
    stim = gratings(orientations=(0.0, 90.0), spatial_frequencies=(0.06, 0.12, 0.2), phases=(0, 90, 180, 270),
                    contrasts=(0.5, 1.0), size=32)
    x = torch.from_numpy(stim.images)
    y = torch.tensor((stim.metadata["orientation"] == 90.0).to_numpy(), dtype=torch.long)
    model = zoo.get_model("cnn_small", seed=0, in_channels=1, n_classes=2)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 < losses[0]
