"""Evaluating inferred objectives: reward recovery, policy agreement, and held-out action prediction
against two baselines, a uniformly random agent and a Boltzmann-softened shortest-path agent.

Reward recovery uses the Pearson correlation, which ignores the positive scaling and constant shift that
IRL cannot identify (Ng & Russell 2000; Ziebart et al. 2008). Held-out scores are per-step means over the
test episodes, with bootstrap confidence intervals that resample participants (so a participant's steps
stay together).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from neurosafe.lossinfer.errors import PlanningError
from neurosafe.lossinfer.features import NAVIGATION_FEATURES, FeatureMap, navigation_features
from neurosafe.lossinfer.gridworld import ACTIONS, MOVES, GridWorld
from neurosafe.lossinfer.inverse_planning import RationalityFit, fit_rationality
from neurosafe.lossinfer.maxent import MaxEntResult, maxent_irl
from neurosafe.lossinfer.planning import boltzmann_policy, shortest_path_q, value_iteration
from neurosafe.lossinfer.trajectories import Trajectories, pair_with_worlds, step_table
from neurosafe.metrics import Score, paired_difference, provenance
from neurosafe.metrics.bootstrap import bootstrap_weights

__all__ = [
    "HeldoutComparison",
    "action_scores",
    "heldout_comparison",
    "legal_uniform_policy",
    "policy_agreement",
    "reward_correlation",
    "shortest_path_policy",
    "uniform_policy",
    "unit_scores",
]

PolicyMap = Callable[[GridWorld], np.ndarray]


def reward_correlation(true_reward: np.ndarray, estimated_reward: np.ndarray) -> float:
    """Pearson correlation of two per-state rewards (invariant to the scale and shift IRL cannot identify)."""
    a, b = np.asarray(true_reward, dtype=float), np.asarray(estimated_reward, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise PlanningError(f"rewards must be 1-D arrays of equal length >= 2, got {a.shape} and {b.shape}")
    if np.std(a) == 0 or np.std(b) == 0:
        raise PlanningError("a constant reward has no correlation")
    return float(np.corrcoef(a, b)[0, 1])


def policy_agreement(world: GridWorld, true_reward: np.ndarray, estimated_reward: np.ndarray) -> float:
    """Fraction of non-terminal states whose greedy action under the estimate is optimal under the truth."""
    truth = value_iteration(world, true_reward)
    greedy = value_iteration(world, estimated_reward).q.argmax(1)
    live = ~world.mdp.terminal
    return float((truth.policy[np.arange(world.n_states), greedy] > 0)[live].mean())


def uniform_policy(world: GridWorld) -> np.ndarray:
    """Every action equally likely."""
    return np.full((world.n_states, len(ACTIONS)), 1.0 / len(ACTIONS))


def legal_uniform_policy(world: GridWorld) -> np.ndarray:
    """Every move that does not bump into a wall, an obstacle or the edge equally likely (a bump, which
    the data may hold, gets probability 0)."""
    h, w = world.shape
    target = world.cells[:, None, :] + MOVES[None, :, :]
    inside = (target >= 0).all(-1) & (target[..., 0] < h) & (target[..., 1] < w)
    legal = inside & (world.index[target[..., 0].clip(0, h - 1), target[..., 1].clip(0, w - 1)] >= 0)
    legal[~legal.any(1)] = True  # a walled-in cell: nothing is legal, keep the policy defined
    return legal / legal.sum(1, keepdims=True)


def shortest_path_policy(beta: float) -> PolicyMap:
    """The Boltzmann-softened shortest-path agent: pi ~ exp(beta * Q), Q = -(1 + steps to the goal)."""
    return lambda world: boltzmann_policy(shortest_path_q(world), beta)


def _step_scores(policy: PolicyMap | np.ndarray, world: GridWorld | Mapping[str, GridWorld],
                 trajectories: Trajectories) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(participants, each step's participant number, log pi(a_t|s_t), accuracy credit) over all steps."""
    pairs = pair_with_worlds(world, trajectories)
    steps = step_table(pairs)
    logp, acc = np.empty(len(steps)), np.empty(len(steps))
    for i, (_, w, _) in enumerate(pairs):
        pi = np.asarray(policy(w) if callable(policy) else policy, dtype=float)
        if pi.shape != (w.n_states, len(ACTIONS)):
            raise PlanningError(f"policy must be ({w.n_states}, {len(ACTIONS)}), got {pi.shape}")
        sel = np.flatnonzero(steps.world == i)
        rows = pi[steps.state[sel]]
        at = np.arange(len(sel)), steps.action[sel]
        best = np.isclose(rows, rows.max(1, keepdims=True), rtol=1e-12, atol=0)
        with np.errstate(divide="ignore"):
            logp[sel] = np.log(rows[at])
        acc[sel] = best[at] / best.sum(1)
    people, who = np.unique(steps.participant.astype(str), return_inverse=True)
    return people, who, logp, acc


def action_scores(policy: PolicyMap | np.ndarray, world: GridWorld | Mapping[str, GridWorld],
                  trajectories: Trajectories, *, n_boot: int = 1000, seed: int = 0,
                  name: str = "policy") -> dict[str, Score]:
    """Per-step action log-likelihood (nats) and accuracy of a policy on episodes.

    Accuracy credits a step 1/m when the taken action is one of m equally most probable actions. CIs are
    95% percentile bootstraps over participants; ``per_unit`` holds each participant's mean.
    """
    return _scores(*_step_scores(policy, world, trajectories), n_boot=n_boot, seed=seed, name=name)


def _scores(people: np.ndarray, who: np.ndarray, logp: np.ndarray, acc: np.ndarray, *, n_boot: int, seed: int,
            name: str) -> dict[str, Score]:
    return unit_scores(people, who, {"log_likelihood": logp, "accuracy": acc}, n_boot=n_boot, seed=seed,
                       name=name)


def unit_scores(units: np.ndarray, who: np.ndarray, metrics: dict[str, np.ndarray], *, n_boot: int, seed: int,
                name: str, unit_dim: str = "participant") -> dict[str, Score]:
    """Per-step means of each metric, with 95% percentile bootstrap CIs resampling units (participants,
    bouts) so a unit's steps stay together; the same resamples for every metric and every call with the
    same ``seed`` and units, so :func:`paired_difference` can compare models."""
    counts = np.bincount(who, minlength=len(units))
    weights = bootstrap_weights(len(units), n_boot, seed)  # resampled units; row 0 the data
    out = {}
    for metric, values in metrics.items():
        sums = np.bincount(who, weights=values, minlength=len(units))
        per = xr.DataArray(sums / np.maximum(counts, 1), dims=unit_dim, coords={unit_dim: units})
        out[metric] = Score.from_bootstrap(
            (weights @ sums) / (weights @ counts), len(units), per_unit=per,
            provenance=provenance(f"action_{metric}", {"policy": name, "n_boot": n_boot}, seed=seed,
                                  n_steps=len(values), **{f"n_{unit_dim}s": len(units)}))
    return out


@dataclass(frozen=True, eq=False)
class HeldoutComparison:
    """MaxEnt IRL fitted on training participants, scored with the baselines on held-out participants.

    ``difference_ci[baseline]``: 95% CI (participant bootstrap) of the per-step log-likelihood of MaxEnt
    minus the baseline's on the held-out steps. ``shortest_path_fit`` is None when no maze has a terminal
    goal (exploration): then only the uniform and legal-uniform agents are compared.
    """

    fit: MaxEntResult
    shortest_path_fit: RationalityFit | None
    scores: dict[str, dict[str, Score]]
    difference_ci: dict[str, tuple[float, float]]
    split: dict[str, int]

    def to_dict(self) -> dict:
        return {
            "weights": dict(zip(self.fit.feature_names, self.fit.weights.tolist(), strict=True)),
            "fit": {"converged": self.fit.converged, "n_iter": self.fit.n_iter,
                    "grad_norm": self.fit.grad_norm, "l2": self.fit.l2,
                    "train_log_likelihood_per_step": self.fit.mean_log_likelihood},
            "shortest_path_beta": None if self.shortest_path_fit is None else self.shortest_path_fit.beta,
            "heldout": {model: {k: s.to_dict(per_unit=False) for k, s in sc.items()}
                        for model, sc in self.scores.items()},
            "maxent_minus_baseline_log_likelihood_ci": self.difference_ci,
            "split": self.split,
        }


def heldout_comparison(worlds: Mapping[str, GridWorld], trajectories: Trajectories,
                       features: FeatureMap = navigation_features, *,
                       feature_names: Sequence[str] | None = NAVIGATION_FEATURES,
                       test_fraction: float = 0.25, seed: int = 0, l2: float = 1e-3,
                       init: np.ndarray | None = None, n_boot: int = 1000) -> HeldoutComparison:
    """Split participants, fit MaxEnt IRL and the shortest-path agent's beta on the training ones, and
    score both, the uniform agent and the legal-uniform agent (uniform over moves that do not bump) on the
    held-out ones.

    The shortest-path agent's Q is -(1 + steps to the goal) (no discount) and its beta the maximum-
    likelihood value on the training participants. Mazes without a terminal goal (exploration) have no
    shortest-path agent: it is left out.
    """
    train, test = trajectories.split_by_participant(test_fraction, seed)
    fit = maxent_irl(worlds, train, features, feature_names=feature_names, l2=l2, init=init)
    used = {e.maze for e in trajectories} if not isinstance(worlds, GridWorld) else set()
    has_goal = all(w.mdp.terminal.any() for k, w in (worlds.items() if not isinstance(worlds, GridWorld)
                                                      else [("", worlds)]) if not used or k in used)
    sp_fit = fit_rationality(worlds, train) if has_goal else None
    policies = {"maxent": fit.policy, "uniform": uniform_policy, "legal_uniform": legal_uniform_policy}
    if sp_fit is not None:
        policies["shortest_path"] = shortest_path_policy(sp_fit.beta)
    steps = {m: _step_scores(p, worlds, test) for m, p in policies.items()}
    if not np.isfinite(steps["legal_uniform"][2]).all():  # held-out bumps: the legal-uniform agent cannot score
        del steps["legal_uniform"]
    scores = {m: _scores(*st, n_boot=n_boot, seed=seed, name=m) for m, st in steps.items()}
    difference_ci = {base: paired_difference(scores["maxent"]["log_likelihood"], scores[base]["log_likelihood"]).ci
                     for base in scores if base != "maxent"}
    split = {"train_participants": len(train.participants), "test_participants": len(test.participants),
             "train_episodes": len(train), "test_episodes": len(test), "train_steps": train.n_steps,
             "test_steps": test.n_steps}
    return HeldoutComparison(fit, sp_fit, scores, difference_ci, split)
