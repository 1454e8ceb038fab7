import numpy as np
import pytest
import torch
from scipy.signal import convolve2d
from torch import nn

from neurosafe.data import natural_patches
from neurosafe.twin import (
    DigitalTwin,
    FeatureCoreConfig,
    StackedCoreConfig,
    TwinConfig,
    TwinError,
    TwinTrainConfig,
    fit_twin,
)
from neurosafe.twin.cores import FeatureCore, StackedCore, build_core


class StandInSubject:
    """A duck-typed TorchSubject: ``model`` and differentiable ``activations(x, sites)`` by module name."""

    def __init__(self, seed: int = 0):
        torch.manual_seed(seed)
        self.model = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2),
            nn.ReLU(),
            nn.Conv2d(6, 8, 3, padding=1),
            nn.Flatten(),
            nn.Linear(8 * 16 * 16, 4),
        )

    def activations(self, x, sites):
        out, names = {}, dict(self.model.named_children())
        for name, layer in names.items():
            x = layer(x)
            if name in sites:
                out[name] = x
        return out


def test_stacked_core_keeps_the_image_grid():
    core = StackedCore(1, StackedCoreConfig(channels=5, kernel_sizes=(7, 3, 3)))
    assert core(torch.randn(2, 1, 20, 20)).shape == (2, 5, 20, 20)
    assert core.sites == ("core.layer0", "core.layer1", "core.layer2")
    assert set(core.forward_sites(torch.randn(2, 1, 20, 20))) == set(core.sites)


def test_final_nonlinearity_can_be_switched_off():
    x = torch.randn(8, 1, 10, 10) * 10
    with_elu = StackedCore(1, StackedCoreConfig(channels=4, kernel_sizes=(3,)))
    without = StackedCore(1, StackedCoreConfig(channels=4, kernel_sizes=(3,), final_nonlinearity=False))
    assert with_elu(x).min() >= -1
    assert without(x).min() < -1


def test_laplace_penalty_matches_scipy_convolution():
    core = StackedCore(2, StackedCoreConfig(channels=3, kernel_sizes=(5, 3), laplace=0.3))
    lap = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=float)
    w = core.layers[0][0].weight.detach().double().numpy()
    ref = 0.3 * sum((convolve2d(w[o, i], lap, mode="same") ** 2).sum() for o in range(3) for i in range(2))
    assert core.regularizer().item() == pytest.approx(ref, rel=1e-5)


def test_feature_core_reads_a_site_and_freezes_the_network():
    subject = StandInSubject()
    core = build_core(
        FeatureCoreConfig(site="2", pool=2, kernel_sizes=(3,), channels=5), 1, (16, 16), subject
    )
    assert isinstance(core, FeatureCore)
    assert core.sites == ("core.features", "core.layer0")
    x = torch.rand(3, 1, 16, 16, requires_grad=True)
    out = core(x)
    assert out.shape == (3, 5, 8, 8)
    assert not any(p.requires_grad for p in subject.model.parameters())
    assert all(not k.startswith("_subject") for k in core.state_dict())  # network weights are not the twin's
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # gradients reach the image (MEIs, attacks)


def test_feature_core_errors():
    with pytest.raises(TwinError, match="needs the subject"):
        build_core(FeatureCoreConfig(site="2"), 1, (16, 16))
    with pytest.raises(TwinError, match="spatial map"):
        build_core(FeatureCoreConfig(site="4"), 1, (16, 16), StandInSubject())
    with pytest.raises(TwinError, match="no activations"):
        build_core(FeatureCoreConfig(site="nope"), 1, (16, 16), StandInSubject())
    with pytest.raises(TwinError, match="activations"):
        build_core(FeatureCoreConfig(site="2"), 1, (16, 16), object())


def test_feature_core_twin_trains_only_its_own_weights(tiny_data, tmp_path):
    stim, rec, test, _ = tiny_data
    subject = StandInSubject()
    before = {k: v.clone() for k, v in subject.model.state_dict().items()}
    cfg = TwinConfig(core=FeatureCoreConfig(site="2"), train=TwinTrainConfig(epochs=2, progress=False))
    twin = fit_twin(stim, rec, cfg, subject=subject)
    for k, v in subject.model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert twin.sites == ("core.features", "readout.default")
    twin.save(tmp_path)
    with pytest.raises(TwinError, match="needs the subject"):
        DigitalTwin.load(tmp_path)
    again = DigitalTwin.load(tmp_path, subject=subject)
    np.testing.assert_allclose(again.respond(test).values, twin.respond(test).values, rtol=1e-6)


def test_feature_core_images_reach_the_network_unstandardised():
    """A task-trained network expects images in [0, 1]: the twin must not standardise them."""
    seen = []

    class Recorder(StandInSubject):
        def activations(self, x, sites):
            seen.append(x.detach().clone())
            return super().activations(x, sites)

    stim = natural_patches(40, 16, seed=0)
    from neurosafe.data import SyntheticBrain

    rec = SyntheticBrain(5, image_size=16, seed=0, n_calibration=100).record(stim, repeats=2)
    twin = fit_twin(
        stim,
        rec,
        TwinConfig(core=FeatureCoreConfig(site="0"), train=TwinTrainConfig(epochs=1, progress=False)),
        subject=Recorder(),
    )
    seen.clear()
    twin.respond(stim[:4])
    np.testing.assert_allclose(seen[-1].numpy(), stim.images[:4], rtol=1e-6)


def test_feature_core_reads_a_torch_subject(tiny_data):
    """The real TorchSubject (alignment package) as a frozen feature core."""
    from neurosafe.subjects import TorchSubject

    stim, rec, test, _ = tiny_data
    subject = TorchSubject(StandInSubject().model, device="cpu")
    cfg = TwinConfig(core=FeatureCoreConfig(site="2"), train=TwinTrainConfig(epochs=1, progress=False))
    twin = fit_twin(stim, rec, cfg, subject=subject)
    assert twin.respond(test).shape == (len(test), rec.sizes["neuron"])


def test_stacked_core_in_place_elu_matches_plain_elu_and_spares_tensors_outside_training():
    """In training the core's ELUs overwrite the batch norm's output: same values and gradients as torch's
    out-of-place ELU; in evaluation a tensor captured at a batch norm keeps its (negative) values."""
    torch.manual_seed(0)
    core = StackedCore(1, StackedCoreConfig(channels=4, kernel_sizes=(5, 3)))
    plain = StackedCore(1, StackedCoreConfig(channels=4, kernel_sizes=(5, 3)))
    plain.load_state_dict(core.state_dict())
    for block in plain.layers:
        block[2] = nn.ELU()
    x = torch.randn(8, 1, 12, 12)
    out, ref = core(x), plain(x)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    out.pow(2).sum().backward()
    ref.pow(2).sum().backward()
    for p, q in zip(core.parameters(), plain.parameters(), strict=True):
        # ELU's gradient from its output (alpha + out) vs from its input (alpha * exp(x)): float32 rounding
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-6 * float(q.grad.abs().max()))
    core.eval()
    seen = []
    core.layers[0][1].register_forward_hook(lambda m, i, o: seen.append(o))
    with torch.no_grad():
        core(x)
        expected = core.layers[0][1](core.layers[0][0](x))
    assert (expected < 0).any()
    torch.testing.assert_close(seen[0], expected, rtol=0, atol=0)


def test_stacked_core_channels_last_gives_the_same_maps_in_the_standard_layout_and_keeps_one_layout_backward():
    """A core with channels-last weights (how ``fit_twin`` trains on the CPU) computes the same maps and
    gradients as the standard one, returns a standard-layout (contiguous) map, and sends the gradient back
    channels-last (so batch norm and ELU see one layout in the backward pass)."""
    torch.manual_seed(0)
    config = StackedCoreConfig(channels=4, kernel_sizes=(5, 3))
    core, fast = StackedCore(1, config), StackedCore(1, config)
    fast.load_state_dict(core.state_dict())
    fast.to(memory_format=torch.channels_last)
    assert not fast.layers[1][0].weight.is_contiguous()
    grads = []

    def keep_gradient(module, inputs, output):
        output.register_hook(grads.append)

    fast.layers[-1].register_forward_hook(keep_gradient)
    x = torch.randn(8, 1, 12, 12)
    out, ref = fast(x), core(x)
    assert out.is_contiguous()
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    out.pow(2).sum().backward()
    ref.pow(2).sum().backward()
    assert grads[0].is_contiguous(memory_format=torch.channels_last) and not grads[0].is_contiguous()
    for p, q in zip(fast.parameters(), core.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5 * float(q.grad.abs().max()))
