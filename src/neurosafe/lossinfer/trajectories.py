"""Demonstrations: episodes of (state cell, action, next state cell), grouped with the mazes they ran in.

An :class:`Episode` stores cells as (row, col) and actions as the symbols ``^ v < >``, so it is readable
without its maze; a maze's :meth:`GridWorld.encode` turns it into state indices and checks it. A
:class:`Trajectories` holds episodes plus the maze layouts they name, and splits them by participant.
Files are column-oriented JSON (one list per column, like the Ho et al. 2022 data), written atomically.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurosafe.core.errors import DataFileError
from neurosafe.core.io import atomic_path
from neurosafe.lossinfer.errors import TrajectoryError
from neurosafe.lossinfer.gridworld import ACTIONS, GridWorld, cell_str

__all__ = [
    "Episode", "StepTable", "Trajectories", "load_trajectories", "pair_with_worlds", "save_trajectories",
    "step_table",
]

_FORMAT = "neurosafe-trajectories-1"
_COLUMNS = ("episode", "episode_id", "participant", "maze", "row", "col", "action", "next_row", "next_col")


def _cells(values, name: str, episode_id: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise TrajectoryError(f"episode {episode_id!r}: {name} must be a non-empty (T, 2) array of "
                              f"(row, col), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr.astype(float))) or not np.all(arr == np.round(arr)):
            raise TrajectoryError(f"episode {episode_id!r}: {name} must hold integer cells")
        arr = arr.astype(np.int64)
    return arr.astype(np.int64)


@dataclass(frozen=True, eq=False)
class Episode:
    """One episode: ``states`` and ``next_states`` (T, 2) cells as (row, col), ``actions`` T symbols."""

    states: np.ndarray
    actions: tuple[str, ...]
    next_states: np.ndarray
    maze: str = ""
    participant: str = ""
    episode_id: str = ""

    def __post_init__(self) -> None:
        eid = self.episode_id
        object.__setattr__(self, "states", _cells(self.states, "states", eid))
        object.__setattr__(self, "next_states", _cells(self.next_states, "next_states", eid))
        object.__setattr__(self, "actions", tuple(self.actions))
        n = len(self.states)
        if len(self.actions) != n or len(self.next_states) != n:
            raise TrajectoryError(f"episode {eid!r}: {n} states, {len(self.actions)} actions and "
                                  f"{len(self.next_states)} next states must be equal in number")
        for t, a in enumerate(self.actions):
            if a not in ACTIONS:
                raise TrajectoryError(f"episode {eid!r} step {t}: unknown action symbol {a!r}; "
                                      f"expected one of {' '.join(ACTIONS)}")
        broken = (self.next_states[:-1] != self.states[1:]).any(1)
        if broken.any():
            t = int(np.argmax(broken))
            raise TrajectoryError(f"episode {eid!r} step {t + 1}: starts at {cell_str(self.states[t + 1])} but "
                                  f"the previous step ended at {cell_str(self.next_states[t])}")

    @classmethod
    def from_path(cls, cells, actions: Sequence[str], **kwargs) -> Episode:
        """An episode from its T + 1 visited cells and T actions."""
        cells = np.asarray(cells)
        if cells.ndim != 2 or len(cells) < 2:
            raise TrajectoryError(f"a path needs at least two (row, col) cells, got shape {cells.shape}")
        return cls(cells[:-1], tuple(actions), cells[1:], **kwargs)

    def __len__(self) -> int:
        return len(self.actions)

    def prefix(self, n_steps: int) -> Episode:
        """The first ``n_steps`` steps (at least one)."""
        n = max(1, min(n_steps, len(self)))
        return Episode(self.states[:n], self.actions[:n], self.next_states[:n], self.maze, self.participant,
                       self.episode_id)


@dataclass(frozen=True, eq=False)
class Trajectories:
    """Episodes and the maze layouts (name -> rows) they name in ``Episode.maze``."""

    episodes: tuple[Episode, ...]
    mazes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "episodes", tuple(self.episodes))
        object.__setattr__(self, "mazes", {k: tuple(v) for k, v in self.mazes.items()})
        if not self.episodes:
            raise TrajectoryError("no episodes")
        if self.mazes:
            missing = sorted({e.maze for e in self.episodes} - set(self.mazes))
            if missing:
                raise TrajectoryError(f"episodes name mazes without a layout: {missing[:5]}")

    def __len__(self) -> int:
        return len(self.episodes)

    def __iter__(self) -> Iterator[Episode]:
        return iter(self.episodes)

    @property
    def n_steps(self) -> int:
        return sum(len(e) for e in self.episodes)

    @property
    def participants(self) -> list[str]:
        return sorted({e.participant for e in self.episodes})

    def subset(self, keep) -> Trajectories:
        """The episodes for which ``keep(episode)`` is true (same mazes)."""
        return Trajectories(tuple(e for e in self.episodes if keep(e)), self.mazes)

    def split_by_participant(self, test_fraction: float = 0.25,
                             seed: int = 0) -> tuple[Trajectories, Trajectories]:
        """(train, test): a seeded random ``test_fraction`` of participants is held out, all episodes."""
        people = self.participants
        if not 0.0 < test_fraction < 1.0 or len(people) < 2:
            raise TrajectoryError(f"need test_fraction in (0, 1) and >= 2 participants; got {test_fraction} "
                                  f"and {len(people)} participant(s)")
        n_test = min(len(people) - 1, max(1, round(test_fraction * len(people))))
        test = set(np.random.default_rng(seed).choice(people, n_test, replace=False).tolist())
        return self.subset(lambda e: e.participant not in test), self.subset(lambda e: e.participant in test)


def save_trajectories(trajectories: Trajectories, path: str | Path) -> Path:
    """Write episodes (one column list per field) and maze layouts as JSON, atomically."""
    cols: dict[str, list] = {c: [] for c in _COLUMNS}
    for i, e in enumerate(trajectories):
        n = len(e)
        cols["episode"] += [i] * n
        cols["episode_id"] += [e.episode_id] * n
        cols["participant"] += [e.participant] * n
        cols["maze"] += [e.maze] * n
        cols["row"] += e.states[:, 0].tolist()
        cols["col"] += e.states[:, 1].tolist()
        cols["action"] += list(e.actions)
        cols["next_row"] += e.next_states[:, 0].tolist()
        cols["next_col"] += e.next_states[:, 1].tolist()
    payload = {"format": _FORMAT, "mazes": {k: list(v) for k, v in trajectories.mazes.items()}, "steps": cols}
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload))
    return path


def load_trajectories(path: str | Path) -> Trajectories:
    """Read a file written by :func:`save_trajectories` (an episode's steps contiguous and in order)."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise DataFileError(f"trajectory file not found: {path}") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataFileError(f"{path} is not JSON: {err}") from err
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise DataFileError(f"{path} is not a {_FORMAT} file (no matching 'format' field)")
    steps = payload.get("steps", {})
    missing = [c for c in _COLUMNS if c not in steps]
    if missing or len({len(steps[c]) for c in _COLUMNS}) != 1:
        raise DataFileError(f"{path}: step columns missing {missing} or of unequal length")
    ids = np.asarray(steps["episode"])
    if not len(ids):
        raise DataFileError(f"{path}: no steps")
    bounds = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1], True])
    episodes = []
    for lo, hi in itertools.pairwise(bounds):
        col = {c: steps[c][lo:hi] for c in _COLUMNS}
        episodes.append(Episode(np.c_[col["row"], col["col"]], col["action"],
                                np.c_[col["next_row"], col["next_col"]], maze=str(col["maze"][0]),
                                participant=str(col["participant"][0]),
                                episode_id=str(col["episode_id"][0])))
    if len(set(ids[bounds[:-1]].tolist())) != len(episodes):
        raise DataFileError(f"{path}: the steps of an episode are not contiguous")
    return Trajectories(tuple(episodes), payload.get("mazes", {}))


def pair_with_worlds(world: GridWorld | Mapping[str, GridWorld],
                     trajectories: Trajectories) -> list[tuple[str, GridWorld, list[Episode]]]:
    """(maze name, world, its episodes) for each maze that has episodes.

    A single ``GridWorld`` takes every episode (name ``""``); a mapping is looked up by ``Episode.maze``.
    """
    if isinstance(world, GridWorld):
        return [("", world, list(trajectories))]
    groups: dict[str, list[Episode]] = {}
    for e in trajectories:
        groups.setdefault(e.maze, []).append(e)
    missing = sorted(set(groups) - set(world))
    if missing:
        raise TrajectoryError(f"episodes name mazes that were not given: {missing[:5]}")
    return [(name, world[name], eps) for name, eps in groups.items()]


@dataclass(frozen=True)
class StepTable:
    """Every step of paired episodes as flat arrays: ``world`` (position in the pairs list), local ``state``,
    ``action`` and ``next_state`` indices, a running ``episode`` number and the ``participant``."""

    world: np.ndarray
    state: np.ndarray
    action: np.ndarray
    next_state: np.ndarray
    episode: np.ndarray
    participant: np.ndarray

    def __len__(self) -> int:
        return len(self.state)


def step_table(pairs: Sequence[tuple[str, GridWorld, Sequence[Episode]]]) -> StepTable:
    """Encode (and so check) every episode in its world and flatten the steps."""
    names = ("world", "state", "action", "next_state", "episode", "participant")
    cols: dict[str, list] = {k: [] for k in names}
    n_episodes = 0
    for w, (_, world, episodes) in enumerate(pairs):
        for e in episodes:
            enc = world.encode(e)
            n = len(e)
            cols["world"].append(np.full(n, w))
            cols["state"].append(enc.states)
            cols["action"].append(enc.actions)
            cols["next_state"].append(enc.next_states)
            cols["episode"].append(np.full(n, n_episodes))
            cols["participant"].append(np.full(n, e.participant, dtype=object))
            n_episodes += 1
    return StepTable(**{k: np.concatenate(v) for k, v in cols.items()})
