"""Parametric plasticity rules: a truncated polynomial in pre, post and weight, fitted through simulated activity.

The rule (the Taylor-series parametrisation of Confavreux, Zenke, Agnes, Lillicrap & Vogels 2020, NeurIPS,
and Jordan, Schmidt, Senn & Petrovici 2021, eLife) changes the synapse from input ``j`` to unit ``i`` by

    dw_ij = eta * sum_{a,b,c} theta_abc  x_j^a  y_i^b  w_ij^c,      a, b, c in {0, ..., max_power}

with ``y_i = w_i . x`` (linear units). Oja's rule (Oja 1982), ``dw = eta (x y - y^2 w)``, is
``theta_110 = 1, theta_021 = -1`` and every other coefficient 0.

Fitting: the inputs ``x(t)`` and the initial weights are known, the units' activity ``y(t)`` is recorded (with
noise); ``theta`` minimises the squared error between recorded activity and the activity the rule produces
when simulated from the same start. The derivative of the whole simulated trajectory with respect to
``theta`` is propagated forward through the simulation (the sensitivity equations, i.e. forward-mode
differentiation written out for the polynomial; checked against ``torch.func.jacfwd`` in the tests), and
the fit is Levenberg-Marquardt (damped Gauss-Newton gradient steps), which needs a handful of trajectory
simulations instead of thousands of plain gradient steps. Simplification, named: the initial
weights are taken as known (a recording before learning), and units are linear.

Degeneracy (different rules, same activity) is reported two ways: the eigen-decomposition of the
Gauss-Newton matrix ``J^T J`` (its weakest directions are the combinations of terms the activity barely
constrains) and the profile likelihood of chosen coefficients (each fixed on a grid, the others
re-fitted; Gaussian noise of unknown variance gives the deviance ``n log(RSS / RSS_min)``, and the 95%
profile interval is where it stays under the chi-square(1) quantile 3.84; Raue et al. 2009).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import torch

from neurosafe.core.errors import NeurosafeError
from neurosafe.core.seeds import torch_generator

__all__ = ["PlasticityFit", "PlasticityRuleError", "TaylorRule", "fit_plasticity_rule", "oja_coefficients",
           "profile_likelihood", "simulate_plasticity"]

CHI2_95 = 3.841458820694124


class PlasticityRuleError(NeurosafeError):
    """Invalid data or settings for plasticity-rule fitting."""


@dataclass(frozen=True)
class TaylorRule:
    """The terms ``x^a y^b w^c`` of a truncated Taylor-series rule (``a, b, c <= max_power``) and the rate."""

    max_power: int = 2
    eta: float = 0.01

    @property
    def terms(self) -> list[tuple[int, int, int]]:
        return list(itertools.product(range(self.max_power + 1), repeat=3))

    @property
    def names(self) -> list[str]:
        return [f"x^{a} y^{b} w^{c}" for a, b, c in self.terms]

    def index(self, a: int, b: int, c: int) -> int:
        return self.terms.index((a, b, c))

    def coefficients(self, **named: float) -> np.ndarray:
        """A coefficient vector from keywords such as ``x1y1w0=1.0``."""
        theta = np.zeros(len(self.terms))
        for key, value in named.items():
            a, b, c = int(key[1]), int(key[3]), int(key[5])
            theta[self.index(a, b, c)] = value
        return theta


def oja_coefficients(rule: TaylorRule) -> np.ndarray:
    """Oja's rule ``x y - y^2 w`` in ``rule``'s terms."""
    return rule.coefficients(x1y1w0=1.0, x0y2w1=-1.0)


def _powers(v: torch.Tensor, p: int) -> torch.Tensor:
    out = [torch.ones_like(v), v]
    for _ in range(p - 1):
        out.append(out[-1] * v)
    return torch.stack(out[:p + 1])


def _trajectory(theta: torch.Tensor, x: torch.Tensor, w0: torch.Tensor, rule: TaylorRule) -> torch.Tensor:
    """Activity (T, N) of N linear units with weights w0 (N, n_in) under the rule, inputs x (T, n_in)."""
    p = rule.max_power
    th = theta.reshape(p + 1, p + 1, p + 1)  # (a, b, c)
    w, ys = w0, []
    for t in range(len(x)):
        xt = x[t]
        y = w @ xt
        ys.append(y)
        xy = _powers(xt, p)[:, None, None, :] * _powers(y, p)[None, :, :, None]  # (A, B, N, n_in)
        dw = (torch.tensordot(th, _powers(w, p), dims=([2], [0])) * xy).sum((0, 1))
        w = w + rule.eta * dw
    return torch.stack(ys)


def _trajectory_and_jacobian(theta: torch.Tensor, x: torch.Tensor, w0: torch.Tensor, rule: TaylorRule
                             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Activity (T, N) and its Jacobian with respect to theta (T, N, K), by the forward sensitivity equations:
    with ``S = dW/dtheta`` (K, N, n_in), ``dy/dtheta = S x`` and ``S' = S (1 + eta D_w) + eta (phi + D_y dy/dtheta)``,
    ``phi_k`` the terms and ``D_y, D_w`` the rule's partial derivatives in y and w (exact for polynomials)."""
    p = rule.max_power
    th = theta.reshape(p + 1, p + 1, p + 1)
    k_terms = th.numel()
    pw = torch.arange(p + 1, dtype=theta.dtype)
    w = w0.clone()
    sens = torch.zeros(k_terms, *w0.shape, dtype=theta.dtype)
    ys = torch.empty(len(x), w0.shape[0], dtype=theta.dtype)
    jacs = torch.empty(len(x), k_terms, w0.shape[0], dtype=theta.dtype)
    eta = rule.eta
    for t in range(len(x)):
        xt = x[t]
        y = w @ xt
        ys[t] = y
        dy = torch.matmul(sens, xt, out=jacs[t])  # (K, N)
        xp, yp, wp = _powers(xt, p), _powers(y, p), _powers(w, p)
        # k * v^(k-1) at index k: the derivatives of the powers
        yd = torch.cat([torch.zeros_like(y)[None], yp[:-1]]) * pw[:, None]
        wd = torch.cat([torch.zeros_like(w)[None], wp[:-1]]) * pw[:, None, None]
        xy = xp[:, None, None, :] * yp[None, :, :, None]  # (A, B, N, n)
        m = torch.tensordot(th, wp, dims=([2], [0]))  # (A, B, N, n): sum_c theta_abc w^c
        dw = (m * xy).sum((0, 1))
        d_y = (m * (xp[:, None, None, :] * yd[None, :, :, None])).sum((0, 1))
        d_w = (torch.tensordot(th, xy, dims=([0, 1], [0, 1])) * wd).sum(0)
        sens.mul_(1 + eta * d_w)
        sens.addcmul_(dy[:, :, None], (eta * d_y)[None])
        sens.view(p + 1, p + 1, p + 1, *w.shape).addcmul_(xy[:, :, None], wp[None, None], value=eta)
        w = w + eta * dw
    return ys, jacs.transpose(1, 2)


def simulate_plasticity(theta: np.ndarray, *, n_units: int = 200, n_inputs: int = 10, steps: int = 1000,
                        rule: TaylorRule = TaylorRule(), noise: float = 0.01, seed: int = 0
                        ) -> dict[str, np.ndarray]:
    """Activity generated by the rule ``theta``: inputs ``x`` (steps, n_inputs), zero-mean Gaussian with a
    spread of variances (so a principal component exists to learn); initial weights ``w0`` (n_units,
    n_inputs); recorded activity ``y`` (steps, n_units) with Gaussian noise of ``noise`` x its spread."""
    theta = _check_theta(theta, rule)
    g = torch_generator(seed, "plasticity", "inputs")
    scales = torch.linspace(1.0, 0.3, n_inputs, dtype=torch.float64)
    basis = torch.linalg.qr(torch.randn(n_inputs, n_inputs, generator=g, dtype=torch.float64))[0]
    x = (torch.randn(steps, n_inputs, generator=g, dtype=torch.float64) * scales) @ basis.T
    w0 = torch.randn(n_units, n_inputs, generator=torch_generator(seed, "plasticity", "w0"),
                     dtype=torch.float64) / n_inputs ** 0.5
    y = _trajectory(torch.from_numpy(theta), x, w0, rule)
    if not torch.isfinite(y).all():
        raise PlasticityRuleError("the rule's simulated weights diverge; use smaller coefficients or eta")
    g_noise = torch_generator(seed, "plasticity", "noise")
    y_obs = y + noise * y.std() * torch.randn(y.shape, generator=g_noise, dtype=torch.float64)
    return {"x": x.numpy(), "w0": w0.numpy(), "y": y_obs.numpy(), "theta": theta}


def _check_theta(theta: np.ndarray, rule: TaylorRule) -> np.ndarray:
    theta = np.asarray(theta, dtype=np.float64).ravel()
    if theta.shape != (len(rule.terms),) or not np.isfinite(theta).all():
        raise PlasticityRuleError(f"need {len(rule.terms)} finite coefficients for max_power={rule.max_power}; "
                                  f"got shape {theta.shape}")
    return theta


def _check_data(x: np.ndarray, w0: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, ...]:
    x, w0, y = (np.asarray(v, dtype=np.float64) for v in (x, w0, y))
    if x.ndim != 2 or w0.ndim != 2 or y.ndim != 2:
        raise PlasticityRuleError(f"need x (steps, inputs), w0 (units, inputs), y (steps, units); got shapes "
                                  f"{x.shape}, {w0.shape}, {y.shape}")
    if x.shape[0] != y.shape[0] or w0.shape != (y.shape[1], x.shape[1]):
        raise PlasticityRuleError(f"shapes disagree: x {x.shape}, w0 {w0.shape}, y {y.shape}")
    if x.shape[0] < 2 or not all(np.isfinite(v).all() for v in (x, w0, y)):
        raise PlasticityRuleError("x, w0 and y must be finite, with at least 2 steps")
    return tuple(torch.from_numpy(v) for v in (x, w0, y))


@dataclass
class PlasticityFit:
    """A fitted rule: coefficients, residual sum of squares, the Gauss-Newton matrix's spectrum (degeneracy)."""

    rule: TaylorRule
    theta: np.ndarray
    rss: float
    n: int
    iterations: int
    eigenvalues: np.ndarray = field(repr=False)
    eigenvectors: np.ndarray = field(repr=False)

    def named(self) -> dict[str, float]:
        return dict(zip(self.rule.names, self.theta.tolist(), strict=True))

    def weakest_directions(self, k: int = 3) -> list[dict]:
        """The ``k`` combinations of terms the activity constrains least (smallest ``J^T J`` eigenvalues)."""
        out = []
        for i in range(min(k, len(self.eigenvalues))):
            vec = self.eigenvectors[:, i]
            top = np.argsort(-np.abs(vec))[:4]
            out.append({"eigenvalue": float(self.eigenvalues[i]),
                        "relative": float(self.eigenvalues[i] / self.eigenvalues[-1]),
                        "terms": {self.rule.names[j]: float(vec[j]) for j in top}})
        return out

    def to_dict(self) -> dict:
        return {"coefficients": self.named(), "rss": self.rss, "n": self.n, "iterations": self.iterations,
                "max_power": self.rule.max_power, "eta": self.rule.eta,
                "condition_number": float(self.eigenvalues[-1] / max(self.eigenvalues[0], 1e-300)),
                "weakest_directions": self.weakest_directions()}


def _lm(residual, theta: torch.Tensor, free: torch.Tensor, max_iter: int, tol: float, xtol: float = 1e-4
        ) -> tuple[torch.Tensor, float, int, torch.Tensor]:
    """Levenberg-Marquardt on the free coefficients; ``residual(theta, jacobian)`` returns the residuals (and
    their Jacobian when asked). Stops when the RSS falls by less than ``tol`` (relative) or no coefficient
    moves by ``xtol``. Returns theta, RSS, iterations and the last Jacobian."""
    def rss_of(th):
        r = residual(th, False)[0]
        return float((r ** 2).sum()) if torch.isfinite(r).all() else float("inf")

    damping, rss = 1e-3, rss_of(theta)
    if not np.isfinite(rss):
        raise PlasticityRuleError("the starting rule diverges on these data; start from smaller coefficients")
    jac, iterations = None, 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 (returned)
        r, jac = residual(theta, True)
        jac = jac[:, free]
        jtj, jtr = jac.T @ jac, jac.T @ r
        improved = converged = False
        for _ in range(20):
            step = torch.linalg.solve(jtj + damping * torch.diag(torch.diag(jtj) + 1e-12), -jtr)
            trial = theta.clone()
            trial[free] = theta[free] + step
            new = rss_of(trial)
            if new < rss:
                improved = True
                converged = (rss - new) <= tol * rss or float(step.abs().max()) < xtol
                theta, rss, damping = trial, new, max(damping / 10, 1e-12)
                break
            damping *= 10
        if not improved or converged:
            break
    return theta, rss, iterations, jac


def _residual(theta, x, w0, y, rule, jacobian):
    if jacobian:
        y_sim, jac = _trajectory_and_jacobian(theta, x, w0, rule)
        return (y_sim - y).reshape(-1), jac.reshape(-1, len(theta))
    return (_trajectory(theta, x, w0, rule) - y).reshape(-1), None


def fit_plasticity_rule(x: np.ndarray, w0: np.ndarray, y: np.ndarray, *, rule: TaylorRule = TaylorRule(),
                        theta0: np.ndarray | None = None, max_iter: int = 30, tol: float = 1e-8,
                        warm_units: int | None = 25) -> PlasticityFit:
    """Fit the Taylor-series rule's coefficients to recorded activity ``y`` (steps, units) given inputs ``x``
    (steps, inputs) and initial weights ``w0`` (units, inputs), starting from ``theta0`` (default: no
    plasticity). With more than ``warm_units`` units the fit first runs on that many units (cheap
    Jacobians for the iterations far from the optimum), then is refined on all of them."""
    xt, w0t, yt = _check_data(x, w0, y)
    theta = torch.zeros(len(rule.terms), dtype=torch.float64) if theta0 is None else \
        torch.from_numpy(_check_theta(theta0, rule).copy())
    free = torch.ones(len(theta), dtype=torch.bool)
    iterations = 0
    if warm_units is not None and yt.shape[1] > warm_units:
        def warm(th, jacobian):
            return _residual(th, xt, w0t[:warm_units], yt[:, :warm_units], rule, jacobian)

        theta, _, iterations, _ = _lm(warm, theta, free, max_iter, tol, xtol=1e-2)

    def residual(th, jacobian):
        return _residual(th, xt, w0t, yt, rule, jacobian)

    theta, rss, it, jac = _lm(residual, theta, free, max_iter, tol, xtol=1e-3)  # J at the last iterate
    evals, evecs = torch.linalg.eigh(jac.T @ jac)
    return PlasticityFit(rule, theta.numpy(), rss, yt.numel(), iterations + it, evals.numpy(), evecs.numpy())


def profile_likelihood(fit: PlasticityFit, x: np.ndarray, w0: np.ndarray, y: np.ndarray, term: str,
                       values: np.ndarray, max_iter: int = 8) -> dict:
    """Profile of coefficient ``term``: at each of ``values`` it is fixed and the others re-fitted (warm start
    from the best fit). Returns the values, deviance ``n log(RSS / RSS_min)`` and a bracket of the 95% profile
    interval (the grid points just outside the values whose deviance is below 3.84; None where the region
    reaches the grid's edge)."""
    if term not in fit.rule.names:
        raise PlasticityRuleError(f"unknown term {term!r}; terms are {fit.rule.names}")
    k = fit.rule.names.index(term)
    xt, w0t, yt = _check_data(x, w0, y)

    def residual(th, jacobian):
        return _residual(th, xt, w0t, yt, fit.rule, jacobian)

    free = torch.ones(len(fit.theta), dtype=torch.bool)
    free[k] = False
    rss = []
    for v in np.asarray(values, dtype=float):
        th = torch.from_numpy(fit.theta.copy())
        th[k] = v
        try:
            _, r, _, _ = _lm(residual, th, free, max_iter, 1e-10)
        except PlasticityRuleError:
            r = float("inf")
        rss.append(r)
    rss = np.array(rss)
    best = min(fit.rss, float(np.min(rss)))
    deviance = fit.n * np.log(rss / best)
    inside = np.flatnonzero(deviance < CHI2_95)
    interval = None
    if len(inside):  # the grid points just outside the region below the threshold bracket the 95% interval
        lo, hi = inside.min(), inside.max()
        interval = [None if lo == 0 else float(values[lo - 1]),
                    None if hi == len(values) - 1 else float(values[hi + 1])]
    return {"term": term, "values": np.asarray(values, dtype=float), "deviance": deviance, "interval": interval,
            "estimate": float(fit.theta[k])}
