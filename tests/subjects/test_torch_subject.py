"""TorchSubject: hooks, shapes, reductions, memory guard and cache, checked against direct module calls."""

import mmap

import numpy as np
import pytest
import torch
from torch import nn

from neurosafe.core.errors import NeurosafeError
from neurosafe.data import natural_patches
from neurosafe.subjects import ActivationMemoryError, SiteError, Subject, TorchSubject, zoo


@pytest.fixture(scope="module")
def stimuli():
    return natural_patches(20, 32, seed=3)


@pytest.fixture
def net():
    return zoo.get_model("cnn_small", seed=0, in_channels=1, n_classes=4)


def _images(stimuli):
    return torch.from_numpy(stimuli.images)


def test_sites_are_named_modules_without_root_and_the_output(net):
    subject = TorchSubject(net, device="cpu")
    assert subject.sites == (*(n for n, _ in net.named_modules() if n), "output")
    assert subject.default_site == "output"
    assert subject.top_level_sites == tuple(n for n, _ in net.named_children())
    assert isinstance(subject, Subject)
    assert subject.device == torch.device("cpu")


def test_activations_keep_shapes_match_direct_calls_and_are_differentiable(net, stimuli):
    subject = TorchSubject(net, device="cpu")
    x = _images(stimuli)[:4].clone().requires_grad_(True)
    acts = subject.activations(x, ["conv1", "pool2", "fc"])
    assert acts["conv1"].shape == (4, 16, 32, 32)
    assert acts["pool2"].shape == (4, 32, 8, 8)
    torch.testing.assert_close(acts["conv1"], net.conv1(x))
    torch.testing.assert_close(acts["pool2"], net[:6](x))
    acts["pool2"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_transform_is_applied_inside_activations(net, stimuli):
    subject = TorchSubject(net, transform=lambda x: 2 * x - 1, device="cpu")
    x = _images(stimuli)[:3]
    torch.testing.assert_close(subject.activations(x, ["conv1"])["conv1"], net.conv1(2 * x - 1))


class _Boom(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Conv2d(1, 2, 3)
        self.second = nn.ReLU()

    def forward(self, x):
        self.second(self.first(x))
        raise RuntimeError("forward failed")


def test_hooks_removed_after_success_and_after_an_exception(net, stimuli):
    subject = TorchSubject(net, device="cpu")
    subject.activations(_images(stimuli)[:2], ["conv1", "relu2"])
    assert all(not m._forward_hooks for m in net.modules())
    boom = _Boom()
    bad = TorchSubject(boom, device="cpu")
    with pytest.raises(RuntimeError, match="forward failed"):
        bad.activations(_images(stimuli)[:2], ["first", "second"])
    assert all(not m._forward_hooks for m in boom.modules())


def test_unknown_site_lists_close_names(net, stimuli):
    subject = TorchSubject(net, device="cpu")
    with pytest.raises(SiteError, match="conv1"):
        subject.respond(stimuli, "conv_1")
    with pytest.raises(SiteError, match="unknown site"):
        subject.activations(_images(stimuli)[:2], ["nothing_like_it"])


def test_respond_is_flattened_activations_with_ids(net, stimuli):
    subject = TorchSubject(net, device="cpu", batch_size=7)
    da = subject.respond(stimuli, "relu3")
    assert da.dims == ("stimulus", "neuron")
    assert list(da.stimulus_id.values) == list(stimuli.ids)
    assert da.neuron_id.values[0] == "relu3:0" and da.sizes["neuron"] == 64 * 8 * 8
    with torch.no_grad():
        direct = net[:8](_images(stimuli)).flatten(1).numpy()
    np.testing.assert_allclose(da.values, direct, rtol=1e-5, atol=1e-6)


def test_respond_uses_eval_mode_and_restores_training():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, 8), nn.Dropout(0.5))
    model.train()
    subject = TorchSubject(model, device="cpu")
    stim = natural_patches(6, 32, seed=0)
    a, b = subject.respond(stim), subject.respond(stim)
    np.testing.assert_array_equal(a.values, b.values)  # dropout off
    assert model.training


def test_pooling_options(net, stimuli):
    x = _images(stimuli)
    with torch.no_grad():
        relu1 = net[:2](x)
    avg = TorchSubject(net, device="cpu", pool="avg").respond(stimuli, "relu1")
    np.testing.assert_allclose(avg.values, relu1.mean(dim=(2, 3)).numpy(), rtol=1e-5, atol=1e-6)
    mx = TorchSubject(net, device="cpu", pool="max").respond(stimuli, "relu1")
    np.testing.assert_allclose(mx.values, relu1.amax(dim=(2, 3)).numpy(), rtol=1e-6)
    grid = TorchSubject(net, device="cpu", pool=4).respond(stimuli, "relu1")
    np.testing.assert_allclose(grid.values, nn.functional.avg_pool2d(relu1, 8).flatten(1).numpy(), rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(NeurosafeError, match="pool"):
        TorchSubject(net, pool="median")


def test_random_projection_is_seeded_and_preserves_geometry(net, stimuli):
    full = TorchSubject(net, device="cpu").respond(stimuli, "relu1").values
    a = TorchSubject(net, device="cpu", projection=2000, seed=1).respond(stimuli, "relu1").values
    b = TorchSubject(net, device="cpu", projection=2000, seed=1).respond(stimuli, "relu1").values
    c = TorchSubject(net, device="cpu", projection=2000, seed=2).respond(stimuli, "relu1").values
    assert a.shape == (20, 2000)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    # Johnson-Lindenstrauss: pairwise distances kept within a few percent
    iu = np.triu_indices(20, 1)
    d_full = np.linalg.norm(full[:, None] - full[None], axis=-1)[iu]
    d_proj = np.linalg.norm(a[:, None] - a[None], axis=-1)[iu]
    assert np.abs(d_proj / d_full - 1).max() < 0.1
    narrow = TorchSubject(net, device="cpu", projection=2000).respond(stimuli, "fc")
    assert narrow.sizes["neuron"] == 4  # narrower sites are not projected


def _memory_mapped(array) -> bool:
    while isinstance(array, np.ndarray):
        if isinstance(array, np.memmap):
            return True
        array = array.base
    return isinstance(array, mmap.mmap)


def test_memory_guard_refuses_with_numbers_and_streams_to_disk(net, stimuli, tmp_path):
    tiny = TorchSubject(net, device="cpu", max_memory_gb=1e-5)
    assert tiny.estimate_bytes(stimuli, ["relu1"]) == 4 * 20 * 16 * 32 * 32
    with pytest.raises(ActivationMemoryError, match=r"GiB.*cache_dir"):
        tiny.respond(stimuli, "relu1")
    streamed = TorchSubject(net, device="cpu", max_memory_gb=1e-5, cache_dir=tmp_path).respond(stimuli, "relu1")
    in_memory = TorchSubject(net, device="cpu").respond(stimuli, "relu1")
    assert _memory_mapped(streamed.values)
    np.testing.assert_array_equal(streamed.values, in_memory.values)
    assert not list(tmp_path.glob(".*tmp*"))


class _Counting(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(32 * 32, 5)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.layer(x.flatten(1))


def test_cache_is_keyed_by_weights_stimuli_and_transform(stimuli, tmp_path):
    torch.manual_seed(0)
    model = _Counting()
    subject = TorchSubject(model, device="cpu", cache_dir=tmp_path)
    first = subject.respond(stimuli, "layer")
    calls = model.calls
    again = subject.respond(stimuli, "layer")
    assert model.calls == calls  # served from the cache
    np.testing.assert_array_equal(first.values, again.values)
    assert len(list(tmp_path.glob("*.npy"))) == 1
    subject.extract(stimuli, ["layer"], use_cache=False)
    assert model.calls > calls  # --no-cache recomputes
    key = subject.cache_key(stimuli, "layer")
    assert subject.cache_key(stimuli[:10], "layer") != key
    with torch.no_grad():
        model.layer.weight.add_(1.0)
    assert subject.cache_key(stimuli, "layer") != key
    assert TorchSubject(model, transform=lambda x: x * 0.5, device="cpu").cache_key(stimuli, "layer") != key
    scale = 0.5
    closure = TorchSubject(model, transform=lambda x: x * scale, device="cpu", cache_dir=tmp_path)
    assert closure.cache_key(stimuli, "layer") is None  # captured state: not cached
    named = TorchSubject(model, transform=lambda x: x * scale, transform_key="half", device="cpu")
    assert named.cache_key(stimuli, "layer") is not None


def test_cache_recovers_from_a_truncated_file_and_follows_the_source(stimuli, tmp_path, monkeypatch):
    from neurosafe.core.checkpoint import StaleCheckpointWarning
    from neurosafe.subjects import torch as torch_subject

    model = _Counting()
    subject = TorchSubject(model, device="cpu", cache_dir=tmp_path)
    first = subject.respond(stimuli, "layer").values.copy()
    (file,) = tmp_path.glob("*.npy")
    file.write_bytes(file.read_bytes()[:100])
    calls = model.calls
    with pytest.warns(StaleCheckpointWarning, match="unreadable"):
        again = subject.respond(stimuli, "layer")
    assert model.calls > calls  # recomputed, and the file rewritten whole
    np.testing.assert_array_equal(again.values, first)
    np.testing.assert_array_equal(np.load(file), first)
    key = subject.cache_key(stimuli, "layer")
    monkeypatch.setattr(torch_subject, "source_hash", lambda: "edited")
    assert subject.cache_key(stimuli, "layer") != key  # edited code: other key


def test_bad_arguments(net):
    with pytest.raises(NeurosafeError, match="nn.Module"):
        TorchSubject("not a model")
    with pytest.raises(NeurosafeError, match="batch_size"):
        TorchSubject(net, batch_size=0)
    with pytest.raises(NeurosafeError, match="projection"):
        TorchSubject(net, projection=0)
    with pytest.raises(NeurosafeError, match="StimulusSet"):
        TorchSubject(net).respond(np.zeros((2, 1, 32, 32)))
