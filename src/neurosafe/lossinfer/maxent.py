"""Maximum (causal) entropy inverse reinforcement learning with a linear state reward r = Phi w.

Ziebart, Maas, Bagnell & Dey 2008 (AAAI), "Maximum entropy inverse reinforcement learning"; Ziebart 2010
(PhD thesis, CMU), "Modeling purposeful adaptive behavior with the principle of maximum causal entropy".
The demonstrator is modelled as the soft-optimal policy pi_w(a|s) = exp(Q_w(s, a) - V_w(s)) of soft value
iteration, and w maximizes the causal log-likelihood of the demonstrated actions sum_t log pi_w(a_t|s_t)
minus an L2 penalty. Its gradient, sum_t [dQ(s_t, a_t)/dw - dV(s_t)/dw], is computed exactly from the
expected feature counts Psi = dV/dw (one sparse solve); for whole episodes that end in a terminal goal
under deterministic dynamics and no discount it telescopes to Ziebart's feature-matching gradient
(empirical minus expected feature counts). Optimization: L-BFGS (scipy).

The same likelihood takes state-action features phi(s, a) (S, A, k) on any :class:`TabularMDP`, e.g. a
graph with per-state action masks (``neurosafe.lossinfer.graph``), so a reward can express heading and turn
direction; :meth:`CausalLikelihood.from_steps` builds it from state and action indices directly.

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
from neurosafe.lossinfer.mdp import TabularMDP, stack_mdps
from neurosafe.lossinfer.planning import expected_feature_counts, soft_value_iteration
from neurosafe.lossinfer.trajectories import Trajectories, pair_with_worlds, step_table

__all__ = ["CausalLikelihood", "LinearRewardFit", "MaxEntResult", "fit_linear_reward", "maxent_irl"]


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
        if any(p.shape[1] != self.phis[0].shape[1] for p in self.phis):
            raise PlanningError("the feature map gives different numbers of features on different mazes")
        mdp, offsets = stack_mdps([w.mdp for _, w, _ in self.pairs])
        steps = step_table(self.pairs)
        self._setup(mdp, np.concatenate(self.phis), steps.state + offsets[steps.world], steps.action)

    def _setup(self, mdp: TabularMDP, phi: np.ndarray, states: np.ndarray, actions: np.ndarray) -> None:
        phi = np.asarray(phi, dtype=float)
        if phi.shape[:-1] not in ((mdp.n_states,), (mdp.n_states, mdp.n_actions)) or phi.ndim not in (2, 3):
            raise PlanningError(f"features must be (S, k) or (S, A, k) for an MDP of {mdp.n_states} states and "
                                f"{mdp.n_actions} actions, got {phi.shape}")
        if not np.isfinite(phi).all():
            raise PlanningError("features must be finite")
        states, actions = np.asarray(states, dtype=np.int64), np.asarray(actions, dtype=np.int64)
        if states.shape != actions.shape or states.ndim != 1 or len(states) == 0:
            raise PlanningError("states and actions must be equal-length non-empty 1-D index arrays")
        if mdp.legal is not None and not mdp.legal[states, actions].all():
            raise PlanningError("a demonstrated action is illegal in its state")
        self.mdp, self.phi, self.states, self.actions = mdp, phi, states, actions
        self.n_features, self.n_steps = phi.shape[-1], len(states)
        self._v: np.ndarray | None = None  # warm start for the next call

    @classmethod
    def from_steps(cls, mdp: TabularMDP, phi: np.ndarray, states: np.ndarray,
                   actions: np.ndarray) -> CausalLikelihood:
        """The likelihood of demonstrated (state, action) indices on any MDP, with state (S, k) or
        state-action (S, A, k) features."""
        self = cls.__new__(cls)
        self.pairs, self.phis = [], []
        self._setup(mdp, phi, states, actions)
        return self

    def features_of(self, s: np.ndarray, a: np.ndarray) -> np.ndarray:
        """phi(s_t) or phi(s_t, a_t) for each step."""
        return self.phi[s, a] if self.phi.ndim == 3 else self.phi[s]

    def __call__(self, weights: np.ndarray) -> tuple[float, np.ndarray]:
        """(log-likelihood, gradient) at ``weights``; raises PlanningError if soft values are unbounded."""
        w = np.asarray(weights, dtype=float)
        if w.shape != (self.n_features,):
            raise PlanningError(f"expected {self.n_features} weights, got shape {w.shape}")
        s, a = self.states, self.actions
        plan = soft_value_iteration(self.mdp, self.phi @ w, v0=self._v)
        self._v = plan.v
        psi = expected_feature_counts(self.mdp, plan.policy, self.phi)  # dV/dw
        dq = self.features_of(s, a) + self.mdp.discount * self.mdp.expect(psi)[s, a]  # dQ(s_t, a_t)/dw
        log_pi = plan.q[s, a] - logsumexp(plan.q[s], axis=1)  # exact even where pi underflows; -inf = illegal
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
    fit = fit_linear_reward(likelihood, l2=l2, init=init, max_iter=max_iter, tol=tol)
    weights = fit.weights
    rewards = {name: p @ weights for (name, _, _), p in zip(likelihood.pairs, likelihood.phis, strict=True)}
    return MaxEntResult(weights=weights, feature_names=names, state_rewards=rewards,
                        log_likelihood=fit.log_likelihood, n_steps=n, converged=fit.converged, n_iter=fit.n_iter,
                        grad_norm=fit.grad_norm, message=fit.message, l2=l2, features=features)


@dataclass(frozen=True)
class LinearRewardFit:
    """Weights maximizing a :class:`CausalLikelihood` minus ``l2/2 |w|^2``, with L-BFGS's diagnostics."""

    weights: np.ndarray
    log_likelihood: float
    converged: bool
    n_iter: int
    grad_norm: float
    message: str


def fit_linear_reward(likelihood: CausalLikelihood, *, l2: float = 1e-3, init: np.ndarray | None = None,
                      max_iter: int = 500, tol: float = 1e-6) -> LinearRewardFit:
    """Maximize the per-step causal log-likelihood minus ``l2/2 |w|^2`` by L-BFGS (Ziebart 2010).

    Points with unbounded soft values count as infinitely bad, so the line search steps back from them.
    """
    if l2 < 0:
        raise PlanningError(f"l2 must be >= 0, got {l2}")
    k, n = likelihood.n_features, likelihood.n_steps
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
    ll, grad = likelihood(res.x)
    return LinearRewardFit(res.x, ll, bool(res.success), int(res.nit),
                           float(np.abs(-grad / n + l2 * res.x).max()), str(res.message))
