"""End-to-end IRL runs behind ``neurosafe irl fit``: read demonstrations, fit, score, draw.

Two cases. With a steps file: the mazes it names are built, MaxEnt IRL is fitted on a random share of the
participants and scored on the others against the uniform and shortest-path agents
(:func:`heldout_comparison`). Without one: a planted task (ground truth first) whose recovered reward is
compared with the planted one, and whose held-out demonstrations are scored against the uniform agent and
the true agent.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from neurosafe.core.errors import DataFileError
from neurosafe.core.seeds import child_seed
from neurosafe.lossinfer.errors import PlanningError
from neurosafe.lossinfer.evaluate import (
    action_scores,
    heldout_comparison,
    policy_agreement,
    reward_correlation,
    uniform_policy,
)
from neurosafe.lossinfer.features import NAVIGATION_FEATURES, navigation_features, state_indicators
from neurosafe.lossinfer.figures import reward_map_figure
from neurosafe.lossinfer.gridworld import build_worlds
from neurosafe.lossinfer.ho2022 import read_ho2022_mazes, read_ho2022_steps
from neurosafe.lossinfer.maxent import maxent_irl
from neurosafe.lossinfer.planning import boltzmann_policy, value_iteration
from neurosafe.lossinfer.synthetic import planted_task, sample_episodes
from neurosafe.lossinfer.trajectories import Trajectories, load_trajectories

__all__ = ["read_demonstrations", "run_irl_fit", "run_planted_fit"]

# a step cost below -log(4) keeps undiscounted soft values finite at the start of the fit
_NAVIGATION_INIT = np.array([0.0, -2.0, 0.0])


def read_demonstrations(path: str | Path, maze_files: Sequence[str | Path] = ()) -> Trajectories:
    """A neurosafe trajectories JSON, or Ho et al. 2022 zipped steps (then ``maze_files`` are required)."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        if not maze_files:
            raise DataFileError(f"{path} holds Ho et al. 2022 steps: pass the maze files (mazes_*.json) too")
        return read_ho2022_steps(path, read_ho2022_mazes(*maze_files))
    trajectories = load_trajectories(path)
    if maze_files:
        extra = read_ho2022_mazes(*maze_files)
        trajectories = Trajectories(trajectories.episodes, {**trajectories.mazes, **extra})
    if not trajectories.mazes:
        raise DataFileError(f"{path} names no maze layouts: pass --mazes")
    return trajectories


def run_irl_fit(trajectories: Trajectories, figure: str | Path, *, features: str = "navigation",
                discount: float = 0.99, slip: float = 0.0, l2: float = 1e-3, test_fraction: float = 0.25,
                seed: int = 0, maze: str | None = None) -> dict:
    """Held-out comparison on demonstrations (see :func:`heldout_comparison`), plus a reward-map figure."""
    worlds = build_worlds({k: trajectories.mazes[k] for k in {e.maze for e in trajectories}},
                          discount=discount, slip=slip)
    choices = {"navigation": (navigation_features, NAVIGATION_FEATURES, _NAVIGATION_INIT),
               "indicators": (state_indicators, None, None)}
    if features not in choices:
        raise PlanningError(f"unknown feature map {features!r}; choose one of {sorted(choices)}")
    fmap, names, init = choices[features]
    result = heldout_comparison(worlds, trajectories, fmap, feature_names=names, test_fraction=test_fraction,
                                seed=seed, l2=l2, init=init)
    shown = maze or sorted(worlds)[0]
    if shown not in worlds:
        raise DataFileError(f"maze {shown!r} has no episodes; choose one of {sorted(worlds)[:5]}...")
    world = worlds[shown]
    reward_map_figure(world, {"recovered reward": result.fit.reward(world)}, figure,
                      episodes=[e for e in trajectories if e.maze == shown],
                      title=f"maximum-entropy IRL, maze {shown}")
    return {**result.to_dict(), "figure": str(figure), "figure_maze": shown, "features": features,
            "discount": discount, "slip": slip}


def run_planted_fit(figure: str | Path, *, seed: int = 0, l2: float = 1e-3, n_episodes: int = 200) -> dict:
    """Recover a planted linear reward from Boltzmann-rational demonstrations (ground-truth check)."""
    task = planted_task(seed=seed, n_episodes=n_episodes)
    fit = maxent_irl(task.world, task.trajectories, task.features, l2=l2)
    true_policy = boltzmann_policy(value_iteration(task.world, task.reward).q, task.beta)
    heldout = sample_episodes(task.world, true_policy, n_episodes, seed=child_seed(seed, "held-out episodes"),
                              starts="random", max_steps=15)
    policies = {"maxent": fit.policy(task.world), "true_agent": true_policy,
                "uniform": uniform_policy(task.world)}
    scores = {name: action_scores(p, task.world, heldout, seed=seed, name=name)["log_likelihood"]
              for name, p in policies.items()}
    reward_map_figure(task.world, {"planted reward": task.reward, "recovered reward": fit.state_reward},
                      figure, episodes=list(task.trajectories), title="planted reward recovery")
    return {
        "task": {"maze": list(task.world.rows), "n_states": task.world.n_states, "beta": task.beta,
                 "n_episodes": len(task.trajectories), "n_steps": task.trajectories.n_steps, "seed": seed},
        "true_weights": task.weights.tolist(), "weights": fit.weights.tolist(),
        "reward_correlation": reward_correlation(task.reward, fit.state_reward),
        "policy_agreement": policy_agreement(task.world, task.reward, fit.state_reward),
        "fit": {"converged": fit.converged, "n_iter": fit.n_iter, "grad_norm": fit.grad_norm,
                "train_log_likelihood_per_step": fit.mean_log_likelihood},
        "heldout_log_likelihood": {k: v.to_dict(per_unit=False) for k, v in scores.items()},
        "figure": str(figure),
    }
