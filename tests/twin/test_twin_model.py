import numpy as np
import pytest
import torch

from neurosafe.data import natural_patches
from neurosafe.subjects import Subject
from neurosafe.twin import DigitalTwin, TwinError, fit_twin


@pytest.fixture(scope="module")
def tiny_twin(tiny_data):
    from neurosafe.twin import StackedCoreConfig, TwinConfig, TwinTrainConfig

    stim, rec, _, _ = tiny_data
    cfg = TwinConfig(
        core=StackedCoreConfig(channels=4, kernel_sizes=(5, 3)),
        train=TwinTrainConfig(epochs=2, progress=False),
    )
    return fit_twin(stim, rec, cfg, seed=0)


def test_twin_is_a_subject(tiny_twin, tiny_data):
    _, rec, test, _ = tiny_data
    assert isinstance(tiny_twin, Subject)
    assert tiny_twin.sites == ("core.layer0", "core.layer1", "readout.default")
    out = tiny_twin.respond(test)
    assert out.dims == ("stimulus", "neuron")
    assert list(out.stimulus_id.values) == list(test.ids)
    assert list(out.neuron_id.values) == list(rec.neuron_id.values)
    assert (out.values > 0).all()  # ELU + 1 rates
    np.testing.assert_array_equal(tiny_twin.respond(test, site="readout.default").values, out.values)


def test_core_sites_flatten_feature_maps(tiny_twin, tiny_data):
    test = tiny_data[2]
    layer = tiny_twin.respond(test[:3], site="core.layer1")
    assert layer.shape == (3, 4 * 16 * 16)
    assert layer.neuron_id.values[0] == "c0_y0_x0"
    acts = tiny_twin.activations(torch.from_numpy(test.images[:3]), ["core.layer1"])["core.layer1"]
    np.testing.assert_allclose(layer.values, acts.detach().flatten(1).numpy(), rtol=1e-6)


def test_respond_rejects_bad_stimuli_and_sites(tiny_twin):
    with pytest.raises(TwinError, match="16x16"):
        tiny_twin.respond(natural_patches(3, 20, seed=0))
    with pytest.raises(TwinError, match="unknown site"):
        tiny_twin.respond(natural_patches(3, 16, seed=0), site="V1")
    with pytest.raises(TwinError, match="unknown session"):
        tiny_twin.readout_positions("other")


def test_rgb_stimuli_are_converted_to_luminance(tiny_twin):
    grey = natural_patches(4, 16, seed=5)
    rgb = natural_patches(4, 16, seed=5, color=True)
    luma = np.tensordot(np.array([0.299, 0.587, 0.114], np.float32), rgb.images, axes=([0], [1]))[:, None]
    from neurosafe.data import StimulusSet

    np.testing.assert_allclose(
        tiny_twin.respond(rgb).values, tiny_twin.respond(StimulusSet(luma)).values, rtol=1e-5
    )
    assert grey.shape[1] == 1


def test_save_load_round_trip(tiny_twin, tiny_data, tmp_path):
    test = tiny_data[2]
    tiny_twin.save(tmp_path / "twin")
    assert sorted(p.name for p in (tmp_path / "twin").iterdir()) == ["twin.json", "weights.pt"]
    again = DigitalTwin.load(tmp_path / "twin")
    np.testing.assert_array_equal(again.respond(test).values, tiny_twin.respond(test).values)
    assert again.config == tiny_twin.config and again.history == tiny_twin.history


def test_save_replaces_the_folder_atomically(tiny_twin, tiny_data, tmp_path, monkeypatch):
    """A save that dies half-way leaves the previous twin whole; a folder holding other files is refused."""
    from neurosafe.twin import model as twin_model

    test = tiny_data[2]
    folder = tmp_path / "twin"
    tiny_twin.save(folder)
    before = tiny_twin.respond(test).values
    changed = DigitalTwin.load(folder)
    with torch.no_grad():
        for p in changed.network.parameters():
            p.add_(1.0)
    monkeypatch.setattr(twin_model, "save_json", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):  # killed after the new weights were written, before twin.json
        changed.save(folder)
    np.testing.assert_array_equal(DigitalTwin.load(folder).respond(test).values, before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["twin"]  # no half-written folder left beside it
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(TwinError, match="other files"):
        tiny_twin.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_load_errors(tiny_twin, tmp_path):
    with pytest.raises(TwinError, match="missing"):
        DigitalTwin.load(tmp_path / "nothing")
    tiny_twin.save(tmp_path)
    (tmp_path / "weights.pt").write_bytes(b"not a torch file")
    with pytest.raises(TwinError, match="weights"):
        DigitalTwin.load(tmp_path)
    (tmp_path / "twin.json").write_text("{")
    with pytest.raises(TwinError, match="JSON"):
        DigitalTwin.load(tmp_path)
    (tmp_path / "twin.json").write_text('{"format": "other"}')
    with pytest.raises(TwinError, match="not a neurosafe twin"):
        DigitalTwin.load(tmp_path)


def test_readout_positions_map_to_stimulus_pixels(tiny_twin):
    pos = tiny_twin.readout_positions()
    assert pos.dims == ("neuron", "axis") and list(pos.axis.values) == ["x", "y"]
    mu = tiny_twin.network.readouts["default"].mu.detach().clamp(-1, 1).numpy()
    np.testing.assert_allclose(pos.values, (mu + 1) / 2 * 15, rtol=1e-5, atol=1e-5)


def test_twin_is_a_differentiable_subject(tiny_twin, tiny_data):
    """Its activations differentiate like the network it is built from, called directly."""
    from neurosafe.subjects import DifferentiableSubject

    assert isinstance(tiny_twin, DifferentiableSubject)
    x = torch.from_numpy(tiny_data[2].images[:2]).to(tiny_twin.device).requires_grad_(True)
    acts = tiny_twin.activations(x, ["core.layer0", "readout.default"])
    assert acts["readout.default"].shape == (2, len(tiny_twin.neuron_ids["default"]))
    assert acts["core.layer0"].ndim == 4  # original shapes
    (ours,) = torch.autograd.grad(acts["readout.default"][:, 1].sum(), x)
    x2 = x.detach().clone().requires_grad_(True)
    net = tiny_twin.network
    (direct,) = torch.autograd.grad(net.from_features(net.core(net.preprocess(x2)), "default")[:, 1].sum(), x2)
    assert direct.abs().sum() > 0
    torch.testing.assert_close(ours, direct)
