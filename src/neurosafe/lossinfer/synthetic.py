"""Ground truth first: random mazes, planted linear rewards and seeded demonstrations from a
Boltzmann-rational agent, on which every inference method is checked before it meets human data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from neurosafe.core.seeds import child_seed
from neurosafe.lossinfer.errors import MazeError
from neurosafe.lossinfer.gridworld import ACTIONS, GridWorld
from neurosafe.lossinfer.planning import boltzmann_policy, value_iteration
from neurosafe.lossinfer.trajectories import Episode, Trajectories

__all__ = ["PlantedTask", "planted_task", "random_maze", "sample_episodes"]


def random_maze(shape: tuple[int, int] = (10, 10), wall_fraction: float = 0.15, *, goal: bool = False,
                seed: int = 0) -> tuple[str, ...]:
    """A random maze: walls at ``wall_fraction`` of cells, cut off pockets walled in, ``S`` (and ``G``) placed
    at random free cells."""
    if not 0.0 <= wall_fraction < 0.7 or min(shape) < 2:
        raise MazeError(f"need wall_fraction in [0, 0.7) and a grid >= 2x2; got {wall_fraction}, {shape}")
    rng = np.random.default_rng(seed)
    free = rng.random(shape) >= wall_fraction
    labels, n = ndimage.label(free)
    if n == 0:
        raise MazeError("the random maze has no free cell; lower wall_fraction")
    largest = 1 + np.argmax(ndimage.sum(free, labels, index=np.arange(1, n + 1)))
    tiles = np.where(labels == largest, ".", "#")
    cells = np.argwhere(tiles == ".")
    picks = rng.choice(len(cells), 2 if goal else 1, replace=False)
    tiles[tuple(cells[picks[0]])] = "S"
    if goal:
        tiles[tuple(cells[picks[1]])] = "G"
    return tuple("".join(r) for r in tiles)


def sample_episodes(world: GridWorld, policy: np.ndarray, n_episodes: int, *, seed: int,
                    starts: np.ndarray | str | None = None, max_steps: int = 100, maze: str = "",
                    participant: str = "") -> Trajectories:
    """Roll out ``policy`` (S, A): episodes stop at a terminal goal or after ``max_steps``.

    ``starts``: None (the maze's ``S``), ``"random"`` (uniform over non-terminal states) or state indices.
    """
    rng = np.random.default_rng(seed)
    mdp = world.mdp
    if starts is None:
        s0 = np.full(n_episodes, world.start)
    elif isinstance(starts, str) and starts == "random":
        s0 = rng.choice(np.flatnonzero(~mdp.terminal), n_episodes)
    else:
        s0 = np.resize(np.asarray(starts, dtype=np.int64), n_episodes)
    episodes = []
    for i, s in enumerate(s0):
        path, actions = [int(s)], []
        while len(actions) < max_steps and not mdp.terminal[path[-1]]:
            a = rng.choice(len(ACTIONS), p=policy[path[-1]])
            k = rng.choice(mdp.next_states.shape[2], p=mdp.next_probs[path[-1], a])
            actions.append(ACTIONS[a])
            path.append(int(mdp.next_states[path[-1], a, k]))
        if actions:
            episodes.append(Episode.from_path(world.cells[path], actions, maze=maze, participant=participant,
                                              episode_id=f"{maze}/{participant}/{i}"))
    return Trajectories(tuple(episodes), {maze: world.rows} if maze else {})


@dataclass(frozen=True, eq=False)
class PlantedTask:
    """A maze, its features (S, k), planted weights and demonstrations of a Boltzmann-rational agent."""

    world: GridWorld
    features: np.ndarray
    weights: np.ndarray
    beta: float
    trajectories: Trajectories

    @property
    def reward(self) -> np.ndarray:
        return self.features @ self.weights


def planted_task(*, shape: tuple[int, int] = (10, 10), n_features: int = 4, n_episodes: int = 200,
                 episode_length: int = 15, beta: float = 5.0, discount: float = 0.9,
                 wall_fraction: float = 0.15, seed: int = 0) -> PlantedTask:
    """Random maze, Gaussian features, weights w ~ N(0, 1) scaled so the reward has unit spread, and
    episodes from random starts of an agent with pi(a|s) ~ exp(beta * Q*(s, a)) (optimal Q of the reward)."""
    rng = np.random.default_rng(seed)
    world = GridWorld.from_strings(random_maze(shape, wall_fraction, seed=seed), discount=discount)
    features = rng.normal(size=(world.n_states, n_features))
    weights = rng.normal(size=n_features)
    weights /= np.std(features @ weights)
    policy = boltzmann_policy(value_iteration(world, features @ weights).q, beta)
    demos = sample_episodes(world, policy, n_episodes, seed=child_seed(seed, "demonstrations"), starts="random",
                            max_steps=episode_length)
    return PlantedTask(world, features, weights, beta, demos)
