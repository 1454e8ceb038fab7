"""Loader for the mouse labyrinth of Rosenberg, Zhang, Perona & Meister 2021 (eLife 10:e66175, "Mice in a
labyrinth show rapid learning, sudden insight, and efficient exploration"), as converted from the authors'
public repository (``markusmeister/Rosenberg-2021-Repository``) to ``maze.json`` + ``<animal>.npz``.

The maze is a binary tree of 127 corridor nodes (node k's children 2k+1 and 2k+2; 64 end nodes 63-126);
node 127 is "home" (outside the maze). A bout is one excursion: the nodes entered, starting at node 0 and
ending at home. Nothing here knows about MDPs; ``neurosafe.lossinfer.labyrinth`` builds the graph.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurosafe.core.errors import DataFileError

__all__ = ["HOME", "Labyrinth", "load_labyrinth"]

HOME = 127


@dataclass(frozen=True, eq=False)
class Labyrinth:
    """The maze and one animal's bouts.

    ``parent`` (127,), ``level`` (127,), ``cells`` a tuple of each node's cell numbers (from the parent's end
    outward), ``cell_xy`` (n_cells, 2) grid coordinates; ``bouts`` a tuple of node sequences (each from node 0
    to :data:`HOME`), ``bout_frames`` (n_bouts, 2) first and last video frame; ``animal`` its name.
    """

    parent: np.ndarray
    level: np.ndarray
    cells: tuple[np.ndarray, ...]
    cell_xy: np.ndarray
    bouts: tuple[np.ndarray, ...]
    bout_frames: np.ndarray
    animal: str

    @property
    def n_nodes(self) -> int:
        return len(self.parent)

    @property
    def end_nodes(self) -> np.ndarray:
        """The dead ends (deepest level)."""
        return np.flatnonzero(self.level == self.level.max())


def _maze(path: Path) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...], np.ndarray]:
    try:
        data = json.loads(path.read_text())
        nodes = sorted(data["nodes"], key=lambda n: n["node"])
        parent = np.array([n["parent"] for n in nodes], dtype=np.int64)
        level = np.array([n["level"] for n in nodes], dtype=np.int64)
        cells = tuple(np.asarray(n["cells"], dtype=np.int64) for n in nodes)
        table = sorted(data["cells"], key=lambda c: c["cell"])
        cell_xy = np.array([(c["x"], c["y"]) for c in table], dtype=float)
    except FileNotFoundError as err:
        raise DataFileError(f"maze file not found: {path}") from err
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise DataFileError(f"{path} is not a labyrinth maze.json (nodes with parent/level/cells, cells with "
                            f"x/y): {err}") from err
    n = len(parent)
    if n != HOME or not np.array_equal(parent[1:], (np.arange(1, n) - 1) // 2) or parent[0] != -1:
        raise DataFileError(f"{path}: expected a binary tree of {HOME} nodes with parent (k - 1) // 2")
    if any(len(c) == 0 or c.min() < 0 or c.max() >= len(cell_xy) for c in cells):
        raise DataFileError(f"{path}: a node has no cells or names a cell that is not in the cell table")
    return parent, level, cells, cell_xy


def load_labyrinth(directory: str | Path, animal: str = "D9b") -> Labyrinth:
    """One animal's bouts and the maze, from ``maze.json`` and ``<animal>.npz`` (no pickle).

    Checks every bout: it starts at node 0, ends at home, and each move joins a node to its parent or child.
    """
    directory = Path(directory)
    parent, level, cells, cell_xy = _maze(directory / "maze.json")
    path = directory / f"{animal}.npz"
    try:
        with np.load(path, allow_pickle=False) as npz:
            frames = np.asarray(npz["bout_frames"], dtype=np.int64)
            bouts = tuple(np.asarray(npz[f"node_{b:03d}"])[:, 0].astype(np.int64) for b in range(len(frames)))
    except FileNotFoundError as err:
        raise DataFileError(f"animal file not found: {path}") from err
    except (KeyError, ValueError, IndexError, OSError) as err:
        raise DataFileError(f"{path} is not a labyrinth trajectory file (bout_frames, node_BBB): {err}") from err
    for b, seq in enumerate(bouts):
        if len(seq) < 2 or seq[0] != 0 or seq[-1] != HOME:
            raise DataFileError(f"{path}: bout {b} must run from node 0 to home ({HOME}), got {seq[:1]}..{seq[-1:]}")
        inner = seq[:-1]
        if inner.min() < 0 or inner.max() >= HOME:
            raise DataFileError(f"{path}: bout {b} names a node outside 0..{HOME - 1} before its end")
        a, c = inner[:-1], inner[1:]
        par_c, par_a = parent[np.clip(c, 0, HOME - 1)], parent[np.clip(a, 0, HOME - 1)]
        joined = ((c >= 1) & (par_c == a)) | ((a >= 1) & (par_a == c))
        if not joined.all():
            t = int(np.argmin(joined))
            raise DataFileError(f"{path}: bout {b} step {t} jumps from node {a[t]} to {c[t]}, which are not joined")
    return Labyrinth(parent, level, cells, cell_xy, bouts, frames, animal)
