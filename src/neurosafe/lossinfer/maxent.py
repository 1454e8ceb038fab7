"""Maximum (causal) entropy inverse reinforcement learning with a linear state reward r = Phi w.

Ziebart, Maas, Bagnell & Dey 2008 (AAAI), "Maximum entropy inverse reinforcement learning"; Ziebart 2010
(PhD thesis, CMU), "Modeling purposeful adaptive behavior with the principle of maximum causal entropy".
The demonstrator is modelled as the soft-optimal policy pi_w(a|s) = exp(Q_w(s, a) - V_w(s)) of soft value
iteration, and w maximizes the causal log-likelihood of the demonstrated actions sum_t log pi_w(a_t|s_t)
minus an L2 penalty. Its gradient, sum_t [dQ(s_t, a_t)/dw - dV(s_t)/dw], is computed exactly from the
expected feature counts Psi = dV/dw (one sparse solve); for whole episodes that end in a terminal goal
under deterministic dynamics and no discount it telescopes to Ziebart's feature-matching gradient
(empirical minus expected feature counts). Optimization: L-BFGS (scipy).

Simplifications: only the causal variant is fitted (it equals the 2008 model for deterministic dynamics;
for stochastic ones it avoids the 2008 model's optimism about transitions); the reward is linear in given
features (no neural reward); several mazes are fitted jointly by stacking them into one MDP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from neurosafe.lossinfer.errors import PlanningError
from neurosafe.lossinfer.features import FeatureMap, feature_matrix, state_indicators
from neurosafe.lossinfer.gridworld import GridWorld
from neurosafe.lossinfer.mdp import stack_mdps
from neurosafe.lossinfer.planning import expected_feature_counts, soft_value_iteration
from neurosafe.lossinfer.trajectories import Trajectories, pair_with_worlds, step_table

__all__ = ["CausalLikelihood", "MaxEntResult", "maxent_irl"]


@dataclass(frozen=True, eq=False)
class MaxEntResult:
    """Fitted reward weights and per-state rewards, with the fit's diagnostics.

    ``state_rewards`` maps each maze name to its (S,) reward (key ``""`` when one GridWorld was given);
    ``log_likelihood`` is the summed log-probability of the ``n_steps`` training actions.
    """

    weights: np.ndarray
    feature_names: tuple[str, ...]
    state_rewards: dict[str, np.ndarray]
    log_likelihood: float
    n_steps: int
    converged: bool
    n_iter: int
    grad_norm: float
    message: str
    l2: float
    features: FeatureMap | np.ndarray = field(repr=False)

    @property
    def state_reward(self) -> np.ndarray:
        """The per-state reward when exactly one maze was fitted."""
        if len(self.state_rewards) != 1:
            raise ValueError(f"{len(self.state_rewards)} mazes were fitted; use state_rewards[name]")
        return next(iter(self.state_rewards.values()))

    @property
    def mean_log_likelihood(self) -> float:
        """Training log-likelihood per step (nats)."""
        return self.log_likelihood / self.n_steps

    def reward(self, world: GridWorld) -> np.ndarray:
        """The fitted reward on any maze the feature map applies to."""
        return feature_matrix(self.features, world) @ self.weights

    def policy(self, world: GridWorld) -> np.ndarray:
        """The fitted soft-optimal policy (S, A) on a maze."""
        return soft_value_iteration(world, self.reward(world)).policy


class CausalLikelihood:
    """log P(demonstrated actions | w) = sum_t log pi_w(a_t|s_t) under the soft-optimal policy of r = Phi w,
    and its exact gradient; several mazes are stacked into one MDP and solved in one sweep.

    ``world``: one maze, or maze name -> maze for episodes that name their maze. ``features``: a feature map
    (world -> (S, k)) or a fixed (S, k) array for one maze.
    """

    def __init__(self, world: GridWorld | Mapping[str, GridWorld], trajectories: Trajectories,
                 features: FeatureMap | np.ndarray) -> None:
        self.pairs = pair_with_worlds(world, trajectories)
        if not callable(features) and len(self.pairs) > 1:
            raise PlanningError("a fixed feature array fits one maze; pass a feature map for several mazes")
        self.phis = [feature_matrix(features, w) for _, w, _ in self.pairs]
        self.n_features = self.phis[0].shape[1]
        if any(p.shape[1] != self.n_features for p in self.phis):
            raise PlanningError("the feature map gives different numbers of features on different mazes")
        self.mdp, offsets = stack_mdps([w.mdp for _, w, _ in self.pairs])
        self.phi = np.concatenate(self.phis)
        steps = step_table(self.pairs)
        self.states, self.actions = steps.state + offsets[steps.world], steps.action
        self.n_steps = len(steps)
        self._v: np.ndarray | None = None  # warm start for the next call

    def __call__(self, weights: np.ndarray) -> tuple[float, np.ndarray]:
        """(log-likelihood, gradient) at ``weights``; raises PlanningError if soft values are unbounded."""
        w = np.asarray(weights, dtype=float)
        if w.shape != (self.n_features,):
            raise PlanningError(f"expected {self.n_features} weights, got shape {w.shape}")
        s, a = self.states, self.actions
        plan = soft_value_iteration(self.mdp, self.phi @ w, v0=self._v)
        self._v = plan.v
        psi = expected_feature_counts(self.mdp, plan.policy, self.phi)  # dV/dw
        dq = self.phi[s] + self.mdp.discount * self.mdp.expect(psi)[s, a]  # dQ(s_t, a_t)/dw
        log_pi = plan.q[s, a] - logsumexp(plan.q[s], axis=1)  # exact even where pi underflows
        return float(log_pi.sum()), (dq - psi[s]).sum(0)


def maxent_irl(world: GridWorld | Mapping[str, GridWorld], trajectories: Trajectories,
               features: FeatureMap | np.ndarray | None = None, *, feature_names: Sequence[str] | None = None,
               l2: float = 1e-3, init: np.ndarray | None = None, max_iter: int = 500,
               tol: float = 1e-6) -> MaxEntResult:
    """Fit a linear reward to demonstrations by maximum causal entropy IRL (Ziebart 2008, 2010).

    ``world``: one maze, or maze name -> maze for episodes that name their maze. ``features``: a feature map
    (world -> (S, k)) or a fixed (S, k) array for one maze; default one indicator per state (tabular
    reward). ``l2``: penalty ``l2/2 |w|^2`` on the per-step mean log-likelihood. ``init``: starting weights
    (default zeros; undiscounted mazes need a start whose soft values are finite, e.g. a step cost).
    ``converged`` is L-BFGS's own success flag (projected gradient of the penalized per-step objective
    below ``tol``); ``grad_norm`` is that gradient's largest entry at the returned weights.
    """
    if l2 < 0:
        raise PlanningError(f"l2 must be >= 0, got {l2}")
    features = state_indicators if features is None else features
    likelihood = CausalLikelihood(world, trajectories, features)
    k, n = likelihood.n_features, likelihood.n_steps
    names = tuple(feature_names) if feature_names is not None else tuple(f"f{i}" for i in range(k))
    if len(names) != k:
        raise PlanningError(f"{len(names)} feature names for {k} features")
    w0 = np.zeros(k) if init is None else np.asarray(init, dtype=float)
    if w0.shape != (k,):
        raise PlanningError(f"init must have {k} weights, got shape {w0.shape}")

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = likelihood(w)
        return -ll / n + 0.5 * l2 * w @ w, -grad / n + l2 * w

    try:
        loss(w0)
    except PlanningError as err:
        raise PlanningError(f"the starting weights give no finite soft values ({err}); pass init with a step "
                            f"cost or use discount < 1") from err

    def safe_loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            return loss(w)
        except PlanningError:  # unbounded soft values: an infinitely bad point, the line search steps back
            likelihood._v = None
            return np.inf, np.zeros(k)

    res = minimize(safe_loss, w0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter, "gtol": tol})
    weights = res.x
    ll, grad = likelihood(weights)
    rewards = {name: p @ weights for (name, _, _), p in zip(likelihood.pairs, likelihood.phis, strict=True)}
    return MaxEntResult(weights=weights, feature_names=names, state_rewards=rewards, log_likelihood=ll,
                        n_steps=n, converged=bool(res.success), n_iter=int(res.nit),
                        grad_norm=float(np.abs(-grad / n + l2 * weights).max()), message=str(res.message),
                        l2=l2, features=features)
