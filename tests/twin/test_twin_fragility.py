import numpy as np
import pytest
import torch
from torch import nn

from neurosafe.data import StimulusSet
from neurosafe.twin import TwinError, fit_twin
from neurosafe.twin.fragility import twin_fragility


def _grey_stimuli(n=40, size=8, seed=0):
    rng = np.random.default_rng(seed)
    return StimulusSet(
        (0.5 + 0.1 * rng.standard_normal((n, 1, size, size))).clip(0.2, 0.8).astype(np.float32)
    )


def test_linear_model_matches_closed_form():
    """For f(x) = w.x the worst L-inf change is eps * ||w||_1; a random sign vector changes f by
    eps * |sum_i w_i s_i|, whose mean is about eps * ||w||_2 * sqrt(2 / pi)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 1, bias=False))
    stim = _grey_stimuli()
    eps = 0.01
    res = twin_fragility(model, stim, epsilon=eps, steps=10, n_random=400, seed=1)
    w = model[1].weight.detach().double().numpy().ravel()
    with torch.no_grad():
        sd = model(torch.from_numpy(stim.images)).double().numpy().std(ddof=1)
    np.testing.assert_allclose(res.adversarial, eps * np.abs(w).sum() / sd, rtol=1e-3)
    assert res.random.mean() == pytest.approx(eps * np.linalg.norm(w) * np.sqrt(2 / np.pi) / sd, rel=0.08)
    assert res.ratio == pytest.approx(np.abs(w).sum() / (np.linalg.norm(w) * np.sqrt(2 / np.pi)), rel=0.08)


def test_fitted_twin_is_more_fragile_to_worst_case_than_random_noise(tiny_data, tiny_config):
    stim, rec, test, _ = tiny_data
    twin = fit_twin(stim, rec, tiny_config)
    res = twin_fragility(twin, test[:20], epsilon=2 / 255, steps=5, n_random=4)
    assert res.adversarial.shape == (20,)
    assert (res.adversarial >= res.random).all()
    assert res.ratio > 1.5
    assert set(res.to_dict()) == {"epsilon", "adversarial_change", "random_change", "ratio", "n_stimuli"}


def test_bad_inputs():
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    with pytest.raises(TwinError, match="differentiable"):
        twin_fragility(object(), _grey_stimuli())
    with pytest.raises(TwinError, match="at least 2"):
        twin_fragility(model, _grey_stimuli(n=1))
    with pytest.raises(TwinError, match="epsilon"):
        twin_fragility(model, _grey_stimuli(), epsilon=0)
