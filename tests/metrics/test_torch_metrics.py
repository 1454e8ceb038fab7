"""Differentiable torch metrics: equal to the numpy versions (1e-5) and gradients checked in float64."""

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch.autograd import gradcheck

import neurosafe.metrics.torch as tm
from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.data import make_responses
from neurosafe.metrics import cka, compare_rdms, rdm, ridge_predictivity


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 7))
    return x, x @ rng.standard_normal((7, 5)) + rng.standard_normal((16, 5))


def _t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


@pytest.mark.parametrize("distance", ["correlation", "euclidean"])
def test_rdm_equals_numpy_and_has_gradients(data, distance):
    x, _ = data
    np.testing.assert_allclose(tm.rdm(_t(x), distance).numpy(), rdm(x, distance).values, atol=1e-10)
    assert gradcheck(lambda z: tm.rdm(z, distance), (_t(x, True),))


@pytest.mark.parametrize("method", ["pearson", "cosine", "spearman"])
def test_compare_rdms_equals_numpy_and_has_gradients(data, method):
    x, y = data
    ours = tm.compare_rdms(tm.rdm(_t(x)), tm.rdm(_t(y)), method, temperature=1e-9).item()
    assert ours == pytest.approx(compare_rdms(rdm(x).values, rdm(y).values, method), abs=1e-5)
    ry = tm.rdm(_t(y))
    assert gradcheck(lambda z: tm.compare_rdms(tm.rdm(z), ry, method, temperature=0.05), (_t(x, True),))


def test_soft_ranks_tend_to_exact_average_ranks_with_ties():
    v = torch.tensor([3.0, 1.0, 2.0, 2.0, 5.0, 1.0], dtype=torch.float64)
    np.testing.assert_allclose(tm.soft_rank(v, 1e-6).numpy(), [5, 1.5, 3.5, 3.5, 6, 1.5], atol=1e-9)
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(300), rng.standard_normal(300)
    errors = [abs(tm.pearson(tm.soft_rank(_t(a), t), tm.soft_rank(_t(b), t)).item() - spearmanr(a, b).statistic)
              for t in (1.0, 0.1, 0.01, 1e-6)]
    assert errors[-1] < 1e-5 and errors[0] > errors[-1]


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
@pytest.mark.parametrize("debiased", [False, True])
def test_cka_equals_numpy_and_has_gradients(data, kernel, debiased):
    x, y = data
    ours = tm.cka(_t(x), _t(y), kernel, debiased).item()
    assert ours == pytest.approx(cka(x, y, kernel, debiased, n_boot=0).value, abs=1e-5)
    assert gradcheck(lambda z: tm.cka(z, _t(y), kernel, debiased), (_t(x, True),))


@pytest.mark.parametrize(("n", "p"), [(16, 7), (16, 40)])
def test_ridge_predictivity_equals_numpy_and_has_gradients(n, p):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, p))
    y = x[:, :3] @ rng.standard_normal((3, 4)) + rng.standard_normal((n, 4))
    numpy_r = ridge_predictivity(x, make_responses(y, dims=("stimulus", "neuron")), alphas=[2.0], n_folds=4,
                                 seed=3, n_boot=0).per_unit.values
    torch_r = tm.ridge_predictivity(_t(x), _t(y), alpha=2.0, folds=4, seed=3).numpy()
    np.testing.assert_allclose(torch_r, numpy_r, atol=1e-5)
    assert gradcheck(lambda z: tm.ridge_predictivity(z, _t(y), alpha=2.0, folds=4), (_t(x, True),))


def test_gradients_drive_a_representation_towards_a_target():
    """A few steps of gradient ascent on CKA and RSA move a random representation towards a target."""
    rng = np.random.default_rng(4)
    target = torch.tensor(rng.standard_normal((20, 6)))
    z = torch.tensor(rng.standard_normal((20, 6)), requires_grad=True)
    opt = torch.optim.Adam([z], lr=0.05)
    start = tm.cka(z, target).item()
    for _ in range(60):
        opt.zero_grad()
        loss = -tm.cka(z, target) - tm.compare_rdms(tm.rdm(z), tm.rdm(target), "spearman", temperature=0.1)
        loss.backward()
        opt.step()
    assert tm.cka(z, target).item() > start + 0.3


def test_bad_inputs(data):
    x, y = data
    with pytest.raises(NeurosafeError, match="distance"):
        tm.rdm(_t(x), "cosine")
    with pytest.raises(NeurosafeError, match="method"):
        tm.compare_rdms(tm.rdm(_t(x)), tm.rdm(_t(y)), "kendall_tau_a")
    with pytest.raises(DataValidationError, match="different numbers"):
        tm.compare_rdms(tm.rdm(_t(x)), tm.rdm(_t(y[:10])))
    with pytest.raises(DataValidationError, match="same stimuli"):
        tm.cka(_t(x), _t(y[:10]))
    with pytest.raises(NeurosafeError, match="temperature"):
        tm.soft_rank(_t(x[:, 0]), 0.0)
    with pytest.raises(NeurosafeError, match="Tensor"):
        tm.rdm(x)
    with pytest.raises(DataValidationError, match="targets"):
        tm.ridge_predictivity(_t(x), _t(y[:5]))
