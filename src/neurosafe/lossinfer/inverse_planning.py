"""Bayesian inverse planning: which goal is an agent heading for? (Baker, Saxe & Tenenbaum 2009,
Cognition 113, "Action understanding as inverse planning").

The agent is Boltzmann-rational: for goal g it pays 1 per step and picks a with probability proportional
to exp(beta * Q_g(s, a)), Q_g the optimal action value of reaching g. Observing steps (s_t, a_t) updates a
prior over candidate goals by Bayes' rule; an agent standing on a candidate goal would have stopped, so
walking on past it rules that goal out. The rationality beta is fitted by maximizing the marginal
likelihood of whole episodes (goals summed out), with a bounded 1-D search over log beta.

Simplification: Baker et al.'s first model only (one goal per episode; no goal switching or subgoals).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

from neurosafe.lossinfer.errors import PlanningError
from neurosafe.lossinfer.gridworld import GridWorld
from neurosafe.lossinfer.planning import shortest_path_q
from neurosafe.lossinfer.trajectories import Episode, Trajectories, pair_with_worlds, step_table

__all__ = ["RationalityFit", "fit_rationality", "goal_posterior", "goal_q_values"]


@dataclass(frozen=True)
class RationalityFit:
    """The fitted inverse temperature ``beta`` and the marginal log-likelihood of ``n_steps`` steps."""

    beta: float
    log_likelihood: float
    n_steps: int
    at_bound: bool


def goal_q_values(world: GridWorld, goals: Sequence[int]) -> np.ndarray:
    """Q_g (G, S, A) of the step-cost agent for each candidate goal state g."""
    goals = _goals(world, goals)
    return np.stack([shortest_path_q(world.with_goals([g])) for g in goals])


def _goals(world: GridWorld, goals: Sequence[int]) -> np.ndarray:
    goals = np.asarray(goals, dtype=np.int64)
    if goals.ndim != 1 or goals.size == 0 or goals.min() < 0 or goals.max() >= world.n_states:
        raise PlanningError(f"goals must be a non-empty list of state indices in 0..{world.n_states - 1}")
    return goals


def _prior(prior, n_goals: int) -> np.ndarray:
    p = np.full(n_goals, 1.0 / n_goals) if prior is None else np.asarray(prior, dtype=float)
    if p.shape != (n_goals,) or (p < 0).any() or p.sum() <= 0:
        raise PlanningError(f"prior must be {n_goals} non-negative weights, not all zero")
    return p / p.sum()


def _step_log_probs(q: np.ndarray, goals: np.ndarray | None, states: np.ndarray, actions: np.ndarray,
                    beta: float) -> np.ndarray:
    """log pi_g(a_t|s_t) (G, N); -inf where the agent walks on from goal g itself."""
    z = beta * q[:, states]  # (G, N, A)
    lp = z[:, np.arange(len(states)), actions] - logsumexp(z, axis=2)
    if goals is not None:
        lp[states[None, :] == goals[:, None]] = -np.inf
    return lp


def goal_posterior(world: GridWorld, episode: Episode, goals: Sequence[int], beta: float,
                   prior: Sequence[float] | None = None) -> np.ndarray:
    """P(goal | first t steps) for t = 0..T as a (T + 1, G) array (row 0 is the prior)."""
    if beta <= 0:
        raise PlanningError(f"beta must be positive, got {beta}")
    goals = _goals(world, goals)
    enc = world.encode(episode)
    lp = _step_log_probs(goal_q_values(world, goals), goals, enc.states, enc.actions, beta)
    log_post = np.log(_prior(prior, len(goals)))[None, :] + np.r_[np.zeros((1, len(goals))),
                                                                   np.cumsum(lp.T, axis=0)]
    norm = logsumexp(log_post, axis=1, keepdims=True)
    if not np.isfinite(norm).all():
        raise PlanningError(f"episode {episode.episode_id!r}: no candidate goal explains the steps")
    return np.exp(log_post - norm)


def fit_rationality(world: GridWorld | Mapping[str, GridWorld], trajectories: Trajectories,
                    goals: Sequence[int] | None = None, prior: Sequence[float] | None = None, *,
                    bounds: tuple[float, float] = (1e-2, 1e2)) -> RationalityFit:
    """Maximum-likelihood beta of the Boltzmann step-cost agent, goals summed out under ``prior``.

    ``goals=None`` uses each maze's own terminal goals (a known goal: the agent is then the Boltzmann-
    softened shortest-path agent); otherwise candidate goal states of the single ``world``.
    """
    if goals is not None and not isinstance(world, GridWorld):
        raise PlanningError("candidate goals are state indices of one maze; pass a single GridWorld")
    pairs = pair_with_worlds(world, trajectories)
    steps = step_table(pairs)
    blocks = []
    for i, (_, w, _) in enumerate(pairs):
        sel = steps.world == i
        g = None if goals is None else _goals(w, goals)
        q = shortest_path_q(w)[None] if g is None else goal_q_values(w, g)
        blocks.append((q, g, steps.state[sel], steps.action[sel], steps.episode[sel]))
    n_goals = blocks[0][0].shape[0]
    log_prior = np.log(_prior(prior, n_goals))
    n_episodes = int(steps.episode.max()) + 1

    def neg_ll(log_beta: float) -> float:
        per_episode = np.zeros((n_goals, n_episodes))
        for q, g, s, a, e in blocks:
            lp = _step_log_probs(q, g, s, a, np.exp(log_beta))
            for k in range(n_goals):
                per_episode[k] += np.bincount(e, weights=lp[k], minlength=n_episodes)
        total = logsumexp(per_episode + log_prior[:, None], axis=0).sum()
        return -total if np.isfinite(total) else np.inf

    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    if not lo < hi:
        raise PlanningError(f"bounds must be increasing positive numbers, got {bounds}")
    res = minimize_scalar(neg_ll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})
    if not np.isfinite(res.fun):
        raise PlanningError("no candidate goal explains some episode at any beta")
    at_bound = bool(min(res.x - lo, hi - res.x) < 1e-3)
    return RationalityFit(float(np.exp(res.x)), float(-res.fun), len(steps), at_bound)
