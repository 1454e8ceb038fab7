"""Taylor-series plasticity rules: exact trajectory Jacobian, Oja's rule recovered, profile likelihood."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurosafe.core.errors import NeurosafeError
from neurosafe.rules.fit import (
    TaylorRule,
    _trajectory,
    _trajectory_and_jacobian,
    fit_plasticity_rule,
    oja_coefficients,
    profile_likelihood,
    simulate_plasticity,
)

RULE = TaylorRule()


def test_sensitivity_jacobian_matches_autodiff():
    g = torch.Generator().manual_seed(0)
    theta = torch.from_numpy(oja_coefficients(RULE)) + 0.1 * torch.randn(27, generator=g, dtype=torch.float64)
    x = torch.randn(12, 4, generator=g, dtype=torch.float64)
    w0 = 0.5 * torch.randn(5, 4, generator=g, dtype=torch.float64)
    y, jac = _trajectory_and_jacobian(theta, x, w0, RULE)
    ref = torch.func.jacfwd(lambda t: _trajectory(t, x, w0, RULE))(theta)
    torch.testing.assert_close(y, _trajectory(theta, x, w0, RULE))
    torch.testing.assert_close(jac, ref, rtol=1e-9, atol=1e-12)


def test_oja_trajectory_converges_to_the_principal_component():
    """Planted check of the simulator itself: Oja's rule (Oja 1982) drives w to the top eigenvector."""
    d = simulate_plasticity(oja_coefficients(TaylorRule(eta=0.05)), n_units=3, steps=3000,
                            rule=TaylorRule(eta=0.05), noise=0.0, seed=1)
    evecs = np.linalg.eigh(np.cov(d["x"].T))[1]
    # the last activity divided by the input: regress y on x over the last 300 steps
    w_end = np.linalg.lstsq(d["x"][-300:], d["y"][-300:], rcond=None)[0].T
    cos = np.abs(w_end @ evecs[:, -1]) / np.linalg.norm(w_end, axis=1)
    # (the top two input variances are close, 1 and 0.85, so alignment is slow; a random direction gives ~0.3)
    assert (cos > 0.9).all() and np.allclose(np.linalg.norm(w_end, axis=1), 1, atol=0.1)


def test_oja_rule_recovered_within_5_percent():
    """Acceptance (issue 15): 200 units x 1,000 steps of Oja activity -> Oja's coefficients within 5%."""
    true = oja_coefficients(RULE)
    d = simulate_plasticity(true, n_units=200, steps=1000, rule=RULE, noise=0.01, seed=0)
    fit = fit_plasticity_rule(d["x"], d["w0"], d["y"], rule=RULE)
    nz = np.flatnonzero(true)
    assert np.all(np.abs(fit.theta[nz] - true[nz]) / np.abs(true[nz]) < 0.05), fit.named()
    assert np.max(np.abs(np.delete(fit.theta, nz))) < 0.05
    assert fit.eigenvalues[0] / fit.eigenvalues[-1] < 1e-3  # some directions are barely constrained


def test_profile_likelihood_brackets_the_truth():
    true = oja_coefficients(RULE)
    d = simulate_plasticity(true, n_units=8, steps=200, rule=RULE, noise=0.05, seed=2)
    fit = fit_plasticity_rule(d["x"], d["w0"], d["y"], rule=RULE)
    term = "x^1 y^1 w^0"
    prof = profile_likelihood(fit, d["x"], d["w0"], d["y"], term, np.array([0.7, 1.0, 1.3]), max_iter=4)
    assert prof["deviance"][1] < prof["deviance"][0] and prof["deviance"][1] < prof["deviance"][2]
    assert prof["deviance"][0] > 3.84 and prof["deviance"][2] > 3.84


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(NeurosafeError, match="coefficients"):
        simulate_plasticity(np.zeros(5))
    with pytest.raises(NeurosafeError, match="shapes disagree"):
        fit_plasticity_rule(np.zeros((10, 3)), np.zeros((4, 3)), np.zeros((10, 5)))
