"""Feature maps: a function of a maze giving each state a feature vector, so a linear reward r = Phi w
carries over from the mazes it was fitted on to new ones (Ng & Russell 2000; Ziebart et al. 2008)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neurosafe.lossinfer.errors import MazeError
from neurosafe.lossinfer.gridworld import MOVES, GridWorld

__all__ = ["NAVIGATION_FEATURES", "FeatureMap", "feature_matrix", "navigation_features", "state_indicators"]

FeatureMap = Callable[[GridWorld], np.ndarray]

NAVIGATION_FEATURES: tuple[str, ...] = ("goal", "step", "beside_wall")


def state_indicators(world: GridWorld) -> np.ndarray:
    """One indicator per state: a free (tabular) reward for a single maze."""
    return np.eye(world.n_states)


def navigation_features(world: GridWorld) -> np.ndarray:
    """Maze-general navigation features (columns :data:`NAVIGATION_FEATURES`).

    ``goal``: 1 on terminal goals; ``step``: 1 elsewhere (its weight is the cost of a step); ``beside_wall``:
    the fraction of the four neighbours that are walls, obstacles or the grid's edge.
    """
    padded = np.pad(world.index >= 0, 1, constant_values=False)
    rows, cols = world.cells[:, 0] + 1, world.cells[:, 1] + 1
    blocked = np.stack([~padded[rows + dr, cols + dc] for dr, dc in MOVES], axis=1).mean(1)
    goal = world.mdp.terminal.astype(float)
    return np.c_[goal, 1.0 - goal, blocked]


def feature_matrix(features: FeatureMap | np.ndarray, world: GridWorld) -> np.ndarray:
    """Evaluate and check a feature map (or a fixed (S, k) array) on a world: finite, one row per state."""
    phi = np.asarray(features(world) if callable(features) else features, dtype=float)
    if phi.ndim != 2 or phi.shape[0] != world.n_states or phi.shape[1] == 0:
        raise MazeError(f"features must be an ({world.n_states}, k) array for this maze, got {phi.shape}")
    if not np.isfinite(phi).all():
        raise MazeError("features must be finite")
    return phi
