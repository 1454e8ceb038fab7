"""Gridworld MDPs read from maze strings (the layout convention of Ho et al. 2022, Nature).

Symbols: ``S`` start, ``G`` goal (terminal), ``#`` wall, a digit ``0``-``9`` an obstacle (impassable, like a
wall, but it keeps its id so features and analyses can tell obstacles apart), ``.`` free. States are the
passable cells, numbered row by row; cells are addressed as (row, col) with row 0 the top string. Actions
are ``^ v < >`` (up, down, left, right). A move into a wall, an obstacle or off the grid leaves the agent
where it is. With ``slip`` > 0 the intended move happens with probability 1 - slip, and with probability
``slip`` a uniformly random one of the four moves happens instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from neurosafe.lossinfer.errors import MazeError, TrajectoryError
from neurosafe.lossinfer.mdp import TabularMDP

if TYPE_CHECKING:
    from neurosafe.lossinfer.trajectories import Episode

__all__ = ["ACTIONS", "MOVES", "EncodedSteps", "GridWorld", "build_worlds"]

ACTIONS: tuple[str, ...] = ("^", "v", "<", ">")
MOVES = np.array([(-1, 0), (1, 0), (0, -1), (0, 1)])
_PASSABLE = frozenset(".SG")
_SYMBOLS = _PASSABLE | frozenset("#0123456789")


def cell_str(cell) -> str:
    """A cell as '(row, col)' for messages."""
    return f"({int(cell[0])}, {int(cell[1])})"


@dataclass(frozen=True)
class EncodedSteps:
    """Steps of one episode as state and action indices of a world."""

    states: np.ndarray
    actions: np.ndarray
    next_states: np.ndarray


class GridWorld:
    """A maze as a tabular MDP: walls, obstacles, terminal goals, slippery moves, discount.

    Build it with :meth:`from_strings`. ``cells`` (S, 2) gives each state's (row, col); ``index`` (H, W) maps
    a cell to its state or -1 (wall/obstacle); ``start`` is the state of ``S``; ``goals`` the states of ``G``.
    """

    def __init__(self, tiles: np.ndarray, *, slip: float = 0.0, discount: float = 1.0) -> None:
        tiles = np.asarray(tiles, dtype=str)
        if tiles.ndim != 2 or tiles.size == 0:
            raise MazeError(f"tiles must be a non-empty 2-D array of maze symbols, got shape {tiles.shape}")
        bad = np.argwhere(~np.isin(tiles, list(_SYMBOLS)))
        if bad.size:
            r, c = bad[0]
            raise MazeError(f"unknown maze symbol {str(tiles[r, c])!r} at row {r}, col {c}; allowed: S G # . 0-9")
        starts = np.argwhere(tiles == "S")
        if len(starts) != 1:
            where = [tuple(map(int, s)) for s in starts]
            raise MazeError(f"a maze needs exactly one start 'S'; found {len(starts)} at {where}")
        if not 0.0 <= slip < 1.0:
            raise MazeError(f"slip must lie in [0, 1), got {slip}")
        self.tiles = tiles
        self.slip = float(slip)
        self.discount = float(discount)
        passable = np.isin(tiles, list(_PASSABLE))
        self.cells = np.argwhere(passable)
        self.index = np.full(tiles.shape, -1, dtype=np.int64)
        self.index[passable] = np.arange(len(self.cells))
        self.start = int(self.index[tuple(starts[0])])
        self.goals = self.index[tiles == "G"]
        self.mdp = TabularMDP(*self._dynamics(), terminal=np.isin(np.arange(len(self.cells)), self.goals),
                              discount=self.discount)

    @classmethod
    def from_strings(cls, rows: Sequence[str], *, slip: float = 0.0, discount: float = 1.0) -> GridWorld:
        """Read a maze from equal-length strings (``S`` start, ``G`` goal, ``#`` wall, digits obstacles,
        ``.`` free)."""
        if isinstance(rows, str) or not rows or not all(isinstance(r, str) for r in rows):
            raise MazeError("a maze is a non-empty sequence of strings, one per row")
        widths = {len(r) for r in rows}
        if len(widths) != 1 or 0 in widths:
            raise MazeError(f"maze rows must be non-empty and of equal length; got {[len(r) for r in rows]}")
        return cls(np.array([list(r) for r in rows]), slip=slip, discount=discount)

    @property
    def shape(self) -> tuple[int, int]:
        return self.tiles.shape

    @property
    def rows(self) -> tuple[str, ...]:
        return tuple("".join(r) for r in self.tiles)

    @property
    def n_states(self) -> int:
        return len(self.cells)

    def __repr__(self) -> str:
        return f"GridWorld({self.shape[0]}x{self.shape[1]}, {self.n_states} states, slip={self.slip}, " \
               f"discount={self.discount})"

    def _dynamics(self) -> tuple[np.ndarray, np.ndarray]:
        h, w = self.shape
        target = self.cells[:, None, :] + MOVES[None, :, :]  # (S, A, 2)
        inside = (target >= 0).all(-1) & (target[..., 0] < h) & (target[..., 1] < w)
        idx = np.where(inside, self.index[target[..., 0].clip(0, h - 1), target[..., 1].clip(0, w - 1)], -1)
        moved = np.where(idx >= 0, idx, np.arange(self.n_states)[:, None])  # bump: stay
        if self.slip == 0.0:
            return moved[:, :, None], np.ones((*moved.shape, 1))
        n_a = len(ACTIONS)
        next_states = np.broadcast_to(moved[:, None, :], (self.n_states, n_a, n_a)).copy()
        probs = np.full((self.n_states, n_a, n_a), self.slip / n_a) + (1 - self.slip) * np.eye(n_a)
        return next_states, probs

    def state(self, row: int, col: int) -> int:
        """The state index of a passable cell."""
        h, w = self.shape
        if not (0 <= row < h and 0 <= col < w):
            raise MazeError(f"cell ({row}, {col}) is outside the {h}x{w} grid")
        if self.index[row, col] < 0:
            raise MazeError(f"cell ({row}, {col}) is a wall/obstacle {str(self.tiles[row, col])!r}, not a state")
        return int(self.index[row, col])

    def to_map(self, values: np.ndarray) -> np.ndarray:
        """Per-state values as an (H, W) image, NaN on walls and obstacles."""
        values = np.asarray(values, dtype=float)
        if values.shape != (self.n_states,):
            raise MazeError(f"expected {self.n_states} per-state values, got shape {values.shape}")
        out = np.full(self.shape, np.nan)
        out[self.cells[:, 0], self.cells[:, 1]] = values
        return out

    def with_goals(self, goals: Iterable[int]) -> GridWorld:
        """A copy whose terminal goals are the given states (a goal hypothesis for inverse planning)."""
        tiles = np.where(self.tiles == "G", ".", self.tiles)
        for s in goals:
            r, c = self.cells[s]
            if tiles[r, c] == "S":
                raise MazeError(f"goal hypothesis at the start cell ({r}, {c})")
            tiles[r, c] = "G"
        return GridWorld(tiles, slip=self.slip, discount=self.discount)

    def encode(self, episode: Episode) -> EncodedSteps:
        """An episode's cells and action symbols as state/action indices, checked against this maze.

        Raises :class:`TrajectoryError` naming the episode and step if a cell lies outside the grid or on a
        wall/obstacle, a step could not have happened under the maze's dynamics, or the episode goes on
        after a terminal goal.
        """
        h, w = self.shape
        name = f"episode {episode.episode_id!r}" + (f" (maze {episode.maze!r})" if episode.maze else "")
        for label, cells in (("state", episode.states), ("next state", episode.next_states)):
            outside = ~((cells >= 0).all(1) & (cells[:, 0] < h) & (cells[:, 1] < w))
            if outside.any():
                t = int(np.argmax(outside))
                raise TrajectoryError(f"{name} step {t}: {label} {cell_str(cells[t])} leaves the {h}x{w} grid")
            blocked = self.index[cells[:, 0], cells[:, 1]] < 0
            if blocked.any():
                t = int(np.argmax(blocked))
                r, c = cells[t]
                raise TrajectoryError(f"{name} step {t}: {label} ({r}, {c}) walks through a wall/obstacle "
                                      f"{str(self.tiles[r, c])!r}")
        states = self.index[episode.states[:, 0], episode.states[:, 1]]
        nexts = self.index[episode.next_states[:, 0], episode.next_states[:, 1]]
        actions = np.array([ACTIONS.index(a) for a in episode.actions], dtype=np.int64)
        after_goal = self.mdp.terminal[states]
        if after_goal.any():
            t = int(np.argmax(after_goal))
            raise TrajectoryError(f"{name} step {t}: the episode goes on after reaching the goal at "
                                  f"{cell_str(episode.states[t])}")
        possible = ((self.mdp.next_states[states, actions] == nexts[:, None])
                    & (self.mdp.next_probs[states, actions] > 0)).any(1)
        if not possible.all():
            t = int(np.argmin(possible))
            raise TrajectoryError(f"{name} step {t}: action {episode.actions[t]!r} from "
                                  f"{cell_str(episode.states[t])} cannot lead to "
                                  f"{cell_str(episode.next_states[t])} (a jump or a move through a wall)")
        return EncodedSteps(states, actions, nexts)


def build_worlds(mazes: Mapping[str, Sequence[str]], **kwargs) -> dict[str, GridWorld]:
    """A GridWorld per named maze layout (``kwargs`` go to :meth:`GridWorld.from_strings`)."""
    out = {}
    for name, rows in mazes.items():
        try:
            out[name] = GridWorld.from_strings(rows, **kwargs)
        except MazeError as err:
            raise MazeError(f"maze {name!r}: {err}") from err
    return out
