import pytest
import torch

from neurosafe.subjects import ModelSpecError, resolve
from neurosafe.subjects.store import STORE_ENV, StoredModelError, list_stored, save_stored
from neurosafe.subjects.zoo import conv_net


@pytest.fixture
def stored(tmp_path, monkeypatch):
    monkeypatch.setenv(STORE_ENV, str(tmp_path))
    torch.manual_seed(0)
    net = conv_net((4, 8, 8), 1, 6).eval()
    save_stored("objective:sparse:seed7", net, (4, 8, 8), 1, 6, meta={"objective": "sparse"})
    return net


def test_a_stored_network_resolves_by_name(stored):
    assert list_stored() == ["objective:sparse:seed7"]
    x = torch.rand(3, 1, 16, 16)
    loaded = resolve("objective:sparse:seed7", in_channels=1, n_classes=10)  # n_classes: the stored one wins
    torch.testing.assert_close(loaded(x), stored(x))


def test_grey_network_reads_the_luminance_of_rgb(stored):
    rgb = torch.rand(2, 3, 16, 16)
    luma = (rgb * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    torch.testing.assert_close(resolve("objective:sparse:seed7", in_channels=3)(rgb), stored(luma))


def test_missing_or_bad_names(stored):
    with pytest.raises(StoredModelError, match="no stored network 'objective:nope:seed0'.*objectives train"):
        resolve("objective:nope:seed0")
    with pytest.raises(StoredModelError, match="letters"):
        resolve("objective:../../etc")
    with pytest.raises(ModelSpecError):
        resolve("objectives_nope")
