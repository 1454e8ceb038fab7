"""Loader for the human maze-navigation data of Ho et al. 2022 (Nature 606, 129-136: "People construct
simplified mental representations to plan"), experiment 1, as published (code MIT, data OSF zpq69).

Layout, worked out from the data (every rule below holds for all 46,437 steps and is checked on load):

- ``mazes_*.json``: name -> 11 (or 13) row strings; experiment 1 uses ``grid-{n}-0`` for n = 0..11.
- ``navtrials_exp1.json.zip`` holds ``navtrials.json``: a pandas-style dict of columns, each a dict from
  row number (a string) to value, one row per step.
- A position is ``[x, y]``: x the column, y the row counted from the bottom (string index = height-1-y),
  the convention of the msdm GridWorld the experiment was built with.
- Column ``grid`` (n) and ``trans`` (``base``, ``hflip``: x -> W-1-x, ``vflip``: y -> H-1-y, ``rot180``: both)
  say which maze was shown and how it was flipped; ``gridname`` is ``grid-{n}-0-{trans}``.
- ``state`` is the position in the untransformed maze (``state_type`` is its tile there); ``trans_state``,
  ``action`` (``< > ^ v``, ``^`` = up on screen) and ``nextstate`` are on screen, in the flipped maze.
  Moving into a wall (``#``), an obstacle (digit) or the edge leaves the position unchanged.
- An episode is one ``(sessionId, round)``; ``trialnum`` numbers its steps from 0. It starts on ``S`` and
  ends on entering ``G``. ``sessionId`` identifies the participant.

Episodes are returned in the on-screen frame: each names its flipped maze (``gridname``), whose rows are
in ``Trajectories.mazes``, and its cells are (row, col) with row 0 at the top.
"""

from __future__ import annotations

import itertools
import json
import zipfile
from pathlib import Path

import numpy as np

from neurosafe.core.errors import DataFileError
from neurosafe.lossinfer.errors import MazeError, TrajectoryError
from neurosafe.lossinfer.gridworld import build_worlds
from neurosafe.lossinfer.trajectories import Episode, Trajectories, pair_with_worlds, step_table

__all__ = ["load_ho2022", "read_ho2022_mazes", "read_ho2022_steps", "transform_maze"]

_COLUMNS = ("state", "action", "nextstate", "trans_state", "state_type", "sessionId", "round", "trialnum",
            "grid", "trans", "gridname")
_FLIPS = {"base": (False, False), "hflip": (True, False), "vflip": (False, True), "rot180": (True, True)}


def transform_maze(rows: tuple[str, ...], trans: str) -> tuple[str, ...]:
    """The maze as shown on screen under ``trans`` (base, hflip, vflip or rot180)."""
    if trans not in _FLIPS:
        raise DataFileError(f"unknown maze transformation {trans!r}; expected one of {sorted(_FLIPS)}")
    flip_x, flip_y = _FLIPS[trans]
    out = [r[::-1] if flip_x else r for r in rows]
    return tuple(out[::-1] if flip_y else out)


def read_ho2022_mazes(*paths: str | Path) -> dict[str, tuple[str, ...]]:
    """Maze layouts (name -> rows) from one or more ``mazes_*.json`` files."""
    mazes: dict[str, tuple[str, ...]] = {}
    for path in paths:
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError as err:
            raise DataFileError(f"maze file not found: {path}") from err
        except json.JSONDecodeError as err:
            raise DataFileError(f"{path} is not JSON: {err}") from err
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise DataFileError(f"{path} must map maze names to lists of row strings")
        mazes.update({str(k): tuple(v) for k, v in data.items()})
    return mazes


def _columns(path: Path) -> dict[str, list]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith(".json")]
            if len(names) != 1:
                raise DataFileError(f"{path} should hold exactly one .json file, holds {zf.namelist()}")
            data = json.loads(zf.read(names[0]))
    except FileNotFoundError as err:
        raise DataFileError(f"step file not found: {path}") from err
    except (zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise DataFileError(f"{path} is not a zipped JSON file: {err}") from err
    missing = [c for c in _COLUMNS if not isinstance(data, dict) or not isinstance(data.get(c), dict)]
    if missing:
        raise DataFileError(f"{path}: columns missing or not row-number -> value dicts: {missing}")
    rows = sorted(data[_COLUMNS[0]], key=int)
    if any(data[c].keys() != data[_COLUMNS[0]].keys() for c in _COLUMNS):
        raise DataFileError(f"{path}: the columns do not share the same row numbers")
    return {c: [data[c][r] for r in rows] for c in _COLUMNS}


def _screen_cell(xy: np.ndarray, height: int) -> np.ndarray:
    """[x, y] (y up from the bottom) -> (row, col) with row 0 at the top."""
    return np.c_[height - 1 - xy[:, 1], xy[:, 0]]


def read_ho2022_steps(path: str | Path, mazes: dict[str, tuple[str, ...]]) -> Trajectories:
    """Episodes (one per participant and round) from a ``navtrials*.json.zip`` and the base mazes."""
    path = Path(path)
    raw = _columns(path)
    try:
        cols = {c: np.asarray(raw[c], dtype=np.int64) for c in ("state", "nextstate", "trans_state", "round",
                                                                 "trialnum", "grid")}
    except (TypeError, ValueError) as err:
        raise DataFileError(f"{path}: positions, rounds, trials and grids must be integers: {err}") from err
    if any(cols[c].shape != (len(cols["grid"]), 2) for c in ("state", "nextstate", "trans_state")):
        raise DataFileError(f"{path}: every position must be an [x, y] pair")
    cols.update({c: np.asarray(raw[c], dtype=str) for c in ("action", "state_type", "sessionId", "trans",
                                                             "gridname")})
    order = np.lexsort((cols["trialnum"], cols["round"], cols["sessionId"]))
    key = np.char.add(np.char.add(cols["sessionId"][order], "/"), cols["round"][order].astype(str))
    bounds = np.flatnonzero(np.r_[True, key[1:] != key[:-1], True])
    shown: dict[str, tuple[str, ...]] = {}
    episodes = []
    for lo, hi in itertools.pairwise(bounds):
        idx = order[lo:hi]
        first, eid = idx[0], str(key[lo])
        base_name, trans = f"grid-{cols['grid'][first]}-0", cols["trans"][first]
        gridname = cols["gridname"][first]
        if base_name not in mazes:
            raise DataFileError(f"episode {eid}: maze {base_name!r} is not in the maze files")
        if (cols["gridname"][idx] != gridname).any() or gridname != f"{base_name}-{trans}":
            raise DataFileError(f"episode {eid}: gridname {gridname!r} does not match grid/trans or changes")
        if not np.array_equal(cols["trialnum"][idx], np.arange(len(idx))):
            raise DataFileError(f"episode {eid}: trialnum is not 0..{len(idx) - 1}")
        base = mazes[base_name]
        height = len(base)
        state = _screen_cell(cols["state"][idx], height)
        if [base[r][c] for r, c in state] != cols["state_type"][idx].tolist():
            raise DataFileError(f"episode {eid}: state_type disagrees with the maze at the recorded states")
        screen = _screen_cell(cols["trans_state"][idx], height)
        flip_x, flip_y = _FLIPS.get(trans, (False, False))
        expected = np.c_[height - 1 - state[:, 0] if flip_y else state[:, 0],
                         len(base[0]) - 1 - state[:, 1] if flip_x else state[:, 1]]
        if not np.array_equal(screen, expected):
            raise DataFileError(f"episode {eid}: trans_state is not state flipped by {trans!r}")
        shown.setdefault(gridname, transform_maze(base, trans))
        try:
            episodes.append(Episode(screen, tuple(cols["action"][idx]),
                                    _screen_cell(cols["nextstate"][idx], height), maze=gridname,
                                    participant=str(cols["sessionId"][first]), episode_id=eid))
        except TrajectoryError as err:
            raise DataFileError(f"{path}: {err}") from err
    trajectories = Trajectories(tuple(episodes), shown)
    try:  # every step must be a legal move (or a bump) in the maze on screen
        step_table(pair_with_worlds(build_worlds(shown), trajectories))
    except (TrajectoryError, MazeError) as err:
        raise DataFileError(f"{path}: {err}") from err
    return trajectories


def load_ho2022(directory: str | Path, experiment: int = 1) -> Trajectories:
    """Experiment ``experiment``'s episodes from the published folder (``mazes_*.json`` and
    ``navtrials_exp{experiment}.json.zip``), in the on-screen frame; see the module docstring."""
    directory = Path(directory)
    maze_files = sorted(directory.glob("mazes_*.json"))
    if not maze_files:
        raise DataFileError(f"no mazes_*.json files in {directory}")
    mazes = read_ho2022_mazes(*maze_files)
    return read_ho2022_steps(directory / f"navtrials_exp{experiment}.json.zip", mazes)
