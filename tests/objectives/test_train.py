import numpy as np
import pytest
import torch
import torch.nn.functional as F

from neurosafe.core.seeds import torch_generator
from neurosafe.objectives import ObjectiveConfig, ObjectiveError, model_name, objective_of, train_objective
from neurosafe.objectives.augment import augment, translated_pairs
from neurosafe.objectives.train import nt_xent


def test_nt_xent_matches_the_written_out_formula():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    z = F.normalize(torch.cat([a, b]), dim=1).numpy().astype(np.float64)
    t, n = 0.5, 5
    losses = []
    for i in range(2 * n):
        pos = (i + n) % (2 * n)
        sims = np.array([z[i] @ z[k] / t for k in range(2 * n) if k != i])
        losses.append(-(z[i] @ z[pos] / t) + np.log(np.exp(sims).sum()))
    assert float(nt_xent(a, b, t)) == pytest.approx(np.mean(losses), rel=1e-5)


def test_translated_pairs_are_one_window_moved_by_a_few_pixels():
    h = w = 24
    ramp = torch.arange(h * w, dtype=torch.float64).view(1, 1, h, w).repeat(6, 1, 1, 1)
    first, second = translated_pairs(ramp, 16, torch_generator(0, "t"), max_shift=4)
    delta = second - first  # a window moved by (dy, dx) adds dy * w + dx everywhere
    assert torch.all(delta == delta[:, :, :1, :1])
    d = delta[:, 0, 0, 0].long()
    dy, dx = torch.div(d + 4 * w + 4, w, rounding_mode="floor") - 4, (d + 4 * w + 4) % w - 4
    assert torch.all(dy.abs() <= 4) and torch.all(dx.abs() <= 4) and torch.all(dy.abs() + dx.abs() > 0)


def test_augment_is_seeded_and_stays_in_range():
    x = torch.rand(8, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    v1, v2 = augment(x, torch_generator(3, "v")), augment(x, torch_generator(3, "v"))
    assert torch.equal(v1, v2) and v1.shape == x.shape
    assert v1.min() >= 0 and v1.max() <= 1 and not torch.allclose(v1, x, atol=0.05)


@pytest.mark.parametrize("objective", ["predictive", "sparse"])
def test_resumed_training_equals_uninterrupted(objective, tiny_config, tmp_path):
    two = tiny_config.model_copy(update={"epochs": 2})
    whole = train_objective(objective, 0, two).model.state_dict()
    ckpt = tmp_path / "run.ckpt"
    train_objective(objective, 0, tiny_config, checkpoint=ckpt)
    resumed = train_objective(objective, 0, two, checkpoint=ckpt)
    assert len(resumed.history) == 2
    for k, v in whole.items():
        torch.testing.assert_close(resumed.model.state_dict()[k], v)


def test_names_and_bad_settings():
    assert model_name("contrastive", 3) == "objective:contrastive:seed3"
    assert objective_of(model_name("sparse", 1, (24, 48, 96))) == "sparse"
    with pytest.raises(ObjectiveError, match="unknown objective"):
        train_objective("telepathy")
    with pytest.raises(ObjectiveError, match="widths"):
        ObjectiveConfig(widths=(4, 8))
    with pytest.raises(ObjectiveError, match="multiple of 8"):
        ObjectiveConfig(image_size=20)
