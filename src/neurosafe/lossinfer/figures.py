"""Figures: a maze (walls, obstacles, start, goal, some demonstrations) next to reward maps."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from neurosafe.core.figures import plt, save_figure
from neurosafe.lossinfer.gridworld import GridWorld
from neurosafe.lossinfer.trajectories import Episode

__all__ = ["reward_map_figure"]


def _draw_maze(ax, world: GridWorld, episodes: list[Episode]) -> None:
    tiles = world.tiles
    img = np.ones((*tiles.shape, 3))
    img[tiles == "#"] = 0.15
    digits = np.char.isdigit(tiles)
    img[digits] = plt.get_cmap("tab10")(tiles[digits].astype(int) % 10)[:, :3] * 0.7
    ax.imshow(img, interpolation="nearest")
    for sym, color in (("S", "tab:green"), ("G", "gold")):
        for r, c in np.argwhere(tiles == sym):
            ax.text(c, r, sym, ha="center", va="center", fontsize=9, weight="bold", color=color)
    for e in episodes:
        path = np.r_[e.states, e.next_states[-1:]]
        ax.plot(path[:, 1], path[:, 0], lw=1, alpha=0.35, color="tab:blue")
    ax.set_title("maze and demonstrations" if episodes else "maze")


def reward_map_figure(world: GridWorld, rewards: Mapping[str, np.ndarray], path: str | Path, *,
                      episodes: list[Episode] | None = None, title: str = "") -> Path:
    """Maze (with up to 20 episodes drawn) beside one reward map per entry of ``rewards`` (name -> (S,))."""
    episodes = list(episodes or [])[:20]
    fig, axes = plt.subplots(1, 1 + len(rewards), figsize=(3.6 * (1 + len(rewards)), 3.6))
    axes = np.atleast_1d(axes)
    _draw_maze(axes[0], world, episodes)
    for ax, (name, reward) in zip(axes[1:], rewards.items(), strict=True):
        cmap = plt.get_cmap("viridis").with_extremes(bad="0.3")
        im = ax.imshow(np.ma.masked_invalid(world.to_map(reward)), cmap=cmap, interpolation="nearest")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        ax.set_title(name)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
