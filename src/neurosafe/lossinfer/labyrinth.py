"""The binary-tree labyrinth of Rosenberg et al. 2021 (eLife 10:e66175) as a :class:`NavigationGraph`, its
bouts as walks, and the article's exploration-efficiency measure.

Nodes 0-126 are corridors, node 127 home (terminal). A move's turn is read from the corridors' cells: on
reaching node c's T-junction from its parent the heading is c's run outward; from a child, it is the step
out of that child's first cell. So parent -> child moves are left or right turns, child -> sibling moves go
forward (straight through the T's bar), child -> parent moves turn into the stem, and reversals are back.

Efficiency (the article's Fig. 7): in the sequence of end-node visits, the mean number of distinct end nodes
among n consecutive visits, as a function of n; the article summarizes it by the number of visits needed to
discover half (32) of the 64 end nodes, and compares mouse with random walk.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurosafe.data.labyrinth import HOME, Labyrinth
from neurosafe.lossinfer.errors import MazeError
from neurosafe.lossinfer.graph import NavigationGraph, Walk

__all__ = [
    "LABYRINTH_CONTEXTS",
    "discovery_curve",
    "end_node_visits",
    "labyrinth_context",
    "labyrinth_graph",
    "labyrinth_irl_features",
    "labyrinth_node_features",
    "labyrinth_walks",
    "visits_to_discover",
]

LABYRINTH_CONTEXTS: tuple[str, ...] = ("from_stem", "from_branch", "end_node", "start")


def labyrinth_graph(maze: Labyrinth, discount: float = 0.9) -> NavigationGraph:
    """The tree of corridors plus home (terminal), with headings from the corridors' cells."""
    n = maze.n_nodes
    xy = maze.cell_xy
    first = np.array([xy[c[0]] for c in maze.cells])
    last = np.array([xy[c[-1]] for c in maze.cells])
    home_xy = 2 * first[0] - (xy[maze.cells[0][1]] if len(maze.cells[0]) > 1 else first[0] + [1, 0])

    def before_last(k: int) -> np.ndarray:  # the cell one step back from node k's junction end
        cells = maze.cells[k]
        if len(cells) > 1:
            return xy[cells[-2]]
        return last[maze.parent[k]] if maze.parent[k] >= 0 else home_xy

    edges = [(HOME, 0)]
    headings = {(HOME, 0): (first[0] - home_xy, last[0] - before_last(0)),
                (0, HOME): (before_last(0) - last[0], before_last(0) - last[0])}
    for c in range(1, n):
        p = int(maze.parent[c])
        d = first[c] - last[p]  # the step from p's junction into c
        edges.append((p, c))
        headings[(p, c)] = (d, last[c] - before_last(c))  # reach c's junction heading along c outward
        headings[(c, p)] = (before_last(c) - last[c], -d)  # back along c, reach p's junction from a branch
    return NavigationGraph(n + 1, edges, headings=headings, terminal=[HOME], discount=discount)


def labyrinth_context(graph: NavigationGraph) -> tuple[np.ndarray, int]:
    """Per-state node type (:data:`LABYRINTH_CONTEXTS`): arrived from the stem (parent or home), from a
    branch (a child), standing in an end node, or a start state."""
    prev, node = graph.state_prev, graph.state_node
    is_child_of = (prev >= 1) & (prev < HOME) & ((np.maximum(prev, 1) - 1) // 2 == node)
    ctx = np.where(prev < 0, 3, np.where(graph.degree[node] == 1, 2, np.where(is_child_of, 1, 0)))
    return ctx, len(LABYRINTH_CONTEXTS)


def labyrinth_node_features(graph: NavigationGraph) -> np.ndarray:
    """Per-node features of the node a move leads to: depth in the tree (level / 6) and home (leaving)."""
    n = graph.n_nodes
    level = np.floor(np.log2(np.arange(n) + 1))
    level[HOME] = 0
    return np.c_[level / 6.0, np.arange(n) == HOME]


def labyrinth_irl_features(graph: NavigationGraph) -> np.ndarray:
    """The IRL twin's state-action features: turn type per node type (:data:`LABYRINTH_CONTEXTS`), depth
    and home of the node a move leads to, and turn type per level of the current node (mice turn back more
    in some levels than others)."""
    from neurosafe.lossinfer.graph import turn_features

    level = np.floor(np.log2(np.arange(graph.n_nodes) + 1)).astype(int)
    level[HOME] = 7
    return np.concatenate([
        turn_features(graph, *labyrinth_context(graph), node_features=labyrinth_node_features(graph)),
        turn_features(graph, level[graph.state_node], 8)], axis=2)


def labyrinth_walks(maze: Labyrinth) -> list[Walk]:
    """Each bout as a walk from node 0 (entered from home) back home; unit = bout number."""
    return [Walk(b, unit=f"bout{i:03d}", start_from=HOME, walk_id=f"{maze.animal}/bout{i:03d}")
            for i, b in enumerate(maze.bouts)]


def end_node_visits(walks: Sequence[Walk], end_nodes: np.ndarray) -> np.ndarray:
    """The end nodes entered, in order, over all walks."""
    seq = np.concatenate([w.nodes for w in walks])
    return seq[np.isin(seq, end_nodes)]


def discovery_curve(visits: np.ndarray, max_window: int | None = None) -> np.ndarray:
    """curve[n - 1] = mean number of distinct end nodes among n consecutive visits (all windows; Rosenberg
    et al. 2021, Fig. 7)."""
    visits = np.asarray(visits)
    m = len(visits)
    if m == 0:
        raise MazeError("no end-node visits")
    n_max = m if max_window is None else min(m, max_window)
    # first-occurrence trick: a visit at j is new in window [i, i+n) iff the previous visit to the same node
    # is before i; so distinct(i, n) = #{j in [i, i+n): prev[j] < i}
    prev = np.full(m, -1)
    last: dict[int, int] = {}
    for j, v in enumerate(visits.tolist()):
        prev[j] = last.get(v, -1)
        last[v] = j
    curve = np.empty(n_max)
    starts = np.arange(m)
    count = np.zeros(m)
    for n in range(1, n_max + 1):
        j = starts + n - 1
        ok = j < m
        count[ok] += prev[j[ok]] < starts[ok]
        curve[n - 1] = count[: m - n + 1].mean()
    return curve


def visits_to_discover(curve: np.ndarray, target: float = 32) -> float:
    """The smallest window (end-node visits) whose mean discovery reaches ``target``; inf if none does."""
    hit = np.flatnonzero(np.asarray(curve) >= target)
    return float(hit[0] + 1) if hit.size else float("inf")
