"""Neural regularizers against independent numpy computations on the same batch, and their gradients."""

import numpy as np
import pytest
import torch

from neurosafe.core.errors import DataValidationError
from neurosafe.data import SyntheticBrain, natural_patches
from neurosafe.finetune import NeuralTargets, RegularizerConfig, make_regularizer
from neurosafe.subjects.zoo import get_model

SITE = "relu2"


@pytest.fixture(scope="module")
def targets():
    brain = SyntheticBrain(30, seed=0)
    st = natural_patches(64, 32, seed=1, color=False)
    return NeuralTargets.from_responses(st, brain.record(st, 4, seed=2))


def _batch(model, targets, seed: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The batch the regularizer draws with a generator seeded ``seed``: activations by a plain forward hook."""
    idx = torch.randperm(len(targets), generator=torch.Generator().manual_seed(seed))[:batch_size]
    seen = {}
    handle = dict(model.named_modules())[SITE].register_forward_hook(lambda m, i, o: seen.update(act=o))
    with torch.no_grad():
        model(targets.stimuli[idx])
    handle.remove()
    return seen["act"].flatten(1).double().numpy(), targets.responses[idx].double().numpy()


def _upper_corr_rdm(x: np.ndarray) -> np.ndarray:
    d = 1 - np.corrcoef(x)
    return d[np.triu_indices(len(x), k=1)]


def _linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x - x.mean(0), y - y.mean(0)
    return float(np.linalg.norm(y.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


@pytest.mark.parametrize("kind", ["rsa", "cka", "prediction"])
def test_penalty_equals_numpy_reference(targets, kind):
    model = get_model("cnn_small", seed=0, in_channels=1, n_classes=10).eval()
    reg = make_regularizer(kind, model, SITE, targets, batch_size=16)
    penalty = reg.penalty(model, torch.Generator().manual_seed(5)).item()
    act, tgt = _batch(model, targets, 5, 16)
    if kind == "rsa":  # Li et al. 2019: 1 - Pearson r of the correlation-distance RDMs
        expected = 1 - np.corrcoef(_upper_corr_rdm(act), _upper_corr_rdm(tgt))[0, 1]
    elif kind == "cka":  # Kornblith et al. 2019, linear CKA
        expected = 1 - _linear_cka(act, tgt)
    else:  # MSE of the linear head's prediction of the z-scored targets
        r = targets.responses.double().numpy()
        z = (tgt - r.mean(0)) / np.maximum(r.std(0, ddof=1), 1e-6)
        head = act @ reg.head.weight.detach().double().numpy().T + reg.head.bias.detach().double().numpy()
        expected = np.mean((head - z) ** 2)
    assert penalty == pytest.approx(expected, rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("kind", ["rsa", "cka"])
def test_gradient_steps_reduce_the_penalty(targets, kind):
    """Descending the penalty's gradient (same batch each step) brings the layer closer to the targets."""
    model = get_model("cnn_small", seed=1, in_channels=1, n_classes=10).eval()
    reg = make_regularizer(kind, model, SITE, targets, batch_size=24)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    values = []
    for _ in range(15):
        loss = reg.penalty(model, torch.Generator().manual_seed(7))
        values.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert values[-1] < values[0] - 0.02, values


def test_config_builds_the_regularizer_and_validates(targets):
    model = get_model("cnn_small", seed=0, in_channels=1, n_classes=10)
    reg = RegularizerConfig(kind="cka", weight=2.0, warmup_epochs=2).build(model, targets, site=SITE)
    assert reg.site == SITE and reg.weight_at(0) == pytest.approx(1.0) and reg.weight_at(5) == pytest.approx(2.0)
    with pytest.raises(DataValidationError, match="unknown regularizer"):
        make_regularizer("mse", model, SITE, targets)
    with pytest.raises(ValueError, match="weight"):
        RegularizerConfig(weight=-1)
