"""Planning in tabular MDPs: soft (maximum-entropy) and optimal value iteration, Boltzmann policies,
expected feature counts.

Soft value iteration is the backward pass of maximum causal entropy IRL (Ziebart 2010, PhD thesis,
Algorithm 9.1; Ziebart et al. 2008 for deterministic dynamics, where the two coincide):
``Q(s, a) = r(s) + discount * E[V(s') | s, a]``, ``V(s) = log sum_a exp Q(s, a)`` and ``pi(a|s) =
exp(Q(s, a) - V(s))``; optimal value iteration replaces the log-sum-exp by a max (Bellman 1957). Rewards
are per state (S,) and earned on leaving it, a terminal state's value being its own reward; or per
state-action (S, A), ``Q(s, a) = r(s, a) + discount * E[V(s')]`` (Ziebart 2010, ch. 9 allows any reward of
the state-action pair), a terminal state's value then being 0 (reward for ending lies on the action that
ends). Actions an MDP marks illegal get Q = -inf, so the policy never takes them.
Every backup is one gather over an (S, A, K) outcome table, so a sweep over a 100x100 maze is a handful of
numpy calls.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from neurosafe.lossinfer.errors import PlanningError
from neurosafe.lossinfer.gridworld import GridWorld
from neurosafe.lossinfer.mdp import TabularMDP

__all__ = [
    "Plan",
    "boltzmann_policy",
    "expected_feature_counts",
    "optimal_sweep",
    "shortest_path_q",
    "soft_sweep",
    "soft_value_iteration",
    "value_iteration",
]


@dataclass(frozen=True)
class Plan:
    """Action values ``q`` (S, A), state values ``v`` (S,), the planner's ``policy`` (S, A), sweeps used."""

    q: np.ndarray
    v: np.ndarray
    policy: np.ndarray
    n_iter: int


def _mdp(model: TabularMDP | GridWorld) -> TabularMDP:
    return model.mdp if isinstance(model, GridWorld) else model


@dataclass(frozen=True)
class _Reward:
    """A checked reward: ``am`` (S,) or action-major (A, S), and the terminal states' values."""

    am: np.ndarray
    terminal_value: np.ndarray


def _reward(mdp: TabularMDP, reward) -> _Reward:
    if isinstance(reward, _Reward):
        return reward
    r = np.asarray(reward, dtype=float)
    if r.shape not in ((mdp.n_states,), (mdp.n_states, mdp.n_actions)) or not np.isfinite(r).all():
        raise PlanningError(f"reward must be {mdp.n_states} finite per-state values or an ({mdp.n_states}, "
                            f"{mdp.n_actions}) state-action array, got shape {r.shape}")
    if r.ndim == 1:
        return _Reward(r, r[mdp.terminal])
    return _Reward(np.ascontiguousarray(r.T), np.zeros(int(mdp.terminal.sum())))


def _q_action_major(mdp: TabularMDP, r: _Reward, v: np.ndarray) -> np.ndarray:
    """Q as (A, S): r + discount * E[V(s')], -inf on illegal actions, the terminal value on terminal states."""
    q = mdp.expect_action_major(v)
    q *= mdp.discount
    q += r.am
    if mdp._illegal_am is not None:
        q[mdp._illegal_am] = -np.inf
    q[:, mdp.terminal] = r.terminal_value
    return q


def _logsumexp_actions(q: np.ndarray) -> np.ndarray:
    """log sum_a exp q over the first axis of an (A, S) array (overwrites q)."""
    m = q.max(axis=0)
    q -= m
    np.exp(q, out=q)
    return m + np.log(q.sum(axis=0))


def soft_sweep(mdp: TabularMDP, reward: np.ndarray, v: np.ndarray) -> np.ndarray:
    """One soft Bellman sweep: V(s) = log sum_a exp(r(s) + discount * E[V(s')]); terminal states keep r."""
    r = _reward(mdp, reward)
    v_new = _logsumexp_actions(_q_action_major(mdp, r, v))
    v_new[mdp.terminal] = r.terminal_value
    return v_new


def optimal_sweep(mdp: TabularMDP, reward: np.ndarray, v: np.ndarray) -> np.ndarray:
    """One Bellman optimality sweep: V(s) = max_a r(s) + discount * E[V(s')]; terminal states keep r."""
    return _q_action_major(mdp, _reward(mdp, reward), v).max(axis=0)


def _iterate(sweep, mdp: TabularMDP, r: _Reward, v0, tol: float, max_iter: int,
             name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Sweep to convergence; returns (Q (S, A) from the final V, V, sweeps)."""
    v = np.zeros(mdp.n_states) if v0 is None else np.asarray(v0, dtype=float).copy()
    # every `every` sweeps the change per sweep must have shrunk: a contraction's steps shrink, unbounded
    # values keep a steady step. Longer than any shortest path, so values still flowing in from a far goal
    # (a steady step of one reward per sweep) are not taken for divergence.
    every, checkpoint = max(1000, 2 * mdp.n_states), np.inf
    for it in range(1, max_iter + 1):
        v_new = sweep(mdp, r, v)
        if not np.isfinite(v_new).all():
            raise PlanningError(f"{name} overflowed after {it} sweeps: rewards too large for discount "
                                f"{mdp.discount} (without discount, rewards off the goals must be negative)")
        delta = np.abs(v_new - v).max()
        v = v_new
        if delta <= tol * max(1.0, np.abs(v).max()):
            return _q_action_major(mdp, r, v).T.copy(), v, it
        if it % every == 0:
            if delta >= checkpoint:
                raise PlanningError(f"{name} diverges: values still change by {delta:.3g} per sweep after {it} "
                                    f"sweeps (discount {mdp.discount}); rewards off the goals are too high")
            checkpoint = delta
    raise PlanningError(f"{name} did not converge in {max_iter} sweeps (last change {delta:.3g}); with "
                        f"discount {mdp.discount}, rewards may grow without bound or need more sweeps")


def soft_value_iteration(model: TabularMDP | GridWorld, reward, *, tol: float = 1e-10,
                         max_iter: int = 100_000, v0: np.ndarray | None = None) -> Plan:
    """Soft value iteration (Ziebart 2010, Alg. 9.1): the maximum causal entropy policy for a state reward.

    Stops when the largest change in V is below ``tol`` (relative to max |V| when that exceeds 1); raises
    :class:`PlanningError` when it does not converge (e.g. undiscounted rewards with unbounded soft values).
    """
    mdp = _mdp(model)
    q, v, n = _iterate(soft_sweep, mdp, _reward(mdp, reward), v0, tol, max_iter, "soft value iteration")
    return Plan(q, v, boltzmann_policy(q, 1.0), n)


def value_iteration(model: TabularMDP | GridWorld, reward, *, tol: float = 1e-10, max_iter: int = 100_000,
                    v0: np.ndarray | None = None) -> Plan:
    """Optimal value iteration (Bellman 1957); ``policy`` spreads evenly over the optimal actions."""
    mdp = _mdp(model)
    q, v, n = _iterate(optimal_sweep, mdp, _reward(mdp, reward), v0, tol, max_iter, "value iteration")
    best = np.isclose(q, v[:, None], rtol=0, atol=1e-9 * max(1.0, np.abs(v).max())) & np.isfinite(q)
    return Plan(q, v, best / best.sum(1, keepdims=True), n)


def boltzmann_policy(q: np.ndarray, beta: float) -> np.ndarray:
    """pi(a|s) proportional to exp(beta * Q(s, a)): Boltzmann rationality with inverse temperature beta
    (actions with Q = -inf, illegal ones, get probability 0 for any beta)."""
    q = np.asarray(q, dtype=float)
    z = np.where(np.isfinite(q), beta * np.where(np.isfinite(q), q, 0.0), -np.inf)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def shortest_path_q(model: TabularMDP | GridWorld) -> np.ndarray:
    """Optimal Q of an agent that pays 1 per step until a terminal goal: -(expected steps to the goal).

    Planned without discount, whatever the model's discount: the agent minimizes the number of steps.
    """
    mdp = _mdp(model)
    if not mdp.terminal.any():
        raise PlanningError("the shortest-path agent needs a terminal goal")
    return value_iteration(replace(mdp, discount=1.0), np.where(mdp.terminal, 0.0, -1.0)).q


def expected_feature_counts(model: TabularMDP | GridWorld, policy: np.ndarray,
                            features: np.ndarray) -> np.ndarray:
    """Discounted expected feature counts from every state under ``policy`` (S, k).

    Psi(s) = phi(s) + discount * E_pi[Psi(s')], Psi(terminal) = phi(terminal): solved as one sparse linear
    system (I - discount * P_pi) Psi = Phi. For soft value iteration, Psi = dV/dw when r = Phi w, which
    turns Ziebart's feature-matching gradient into one solve. State-action features (S, A, k) count
    phi(s, a) under the policy's actions, and 0 on terminal states.
    """
    mdp = _mdp(model)
    features = np.asarray(features, dtype=float)
    if features.ndim == 3:
        pi = np.where(mdp.legal, policy, 0.0) if mdp.legal is not None else policy
        features = np.einsum("sa,sak->sk", pi, features)
        features[mdp.terminal] = 0.0
    system = (sp.identity(mdp.n_states, format="csc") - mdp.discount * mdp.policy_matrix(policy)).tocsc()
    try:
        psi = spla.splu(system).solve(np.asarray(features, dtype=float))
    except RuntimeError:  # exactly singular
        psi = np.full(np.shape(features), np.inf)
    if not np.isfinite(psi).all():
        raise PlanningError("expected feature counts are infinite: the policy never reaches a terminal goal "
                            "and the discount is 1")
    return psi
