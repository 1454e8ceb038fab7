"""Navigation on graphs: an MDP whose state is the directed edge just travelled (previous node -> current
node), whose actions are the current node's edges (a per-state action mask: no "stay put when walking into a
wall"), and whose state-action features say how each move turns relative to the heading (forward, left,
right, back), so a linear reward over them can express heading (Ziebart et al. 2008 on state-action
features; turn biases as in Rosenberg et al. 2021).

A :class:`NavigationGraph` holds nodes, undirected edges, optional 2-D coordinates (x right, y up; with y
down left and right swap) and optional per-edge headings (for corridors whose ends point differently from
the line between node centres, as in a labyrinth). A gridworld is such a graph with cells as nodes
(:meth:`NavigationGraph.from_grid`, with thin walls between cells; :meth:`NavigationGraph.from_gridworld`).
Walks are node sequences (:class:`Walk`); :func:`walk_steps` turns them into MDP state and action indices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from neurosafe.lossinfer.errors import MazeError, TrajectoryError
from neurosafe.lossinfer.gridworld import MOVES, GridWorld
from neurosafe.lossinfer.mdp import TabularMDP, stack_mdps

__all__ = [
    "TURNS",
    "GraphSteps",
    "NavigationGraph",
    "Walk",
    "turn_features",
    "walk_steps",
]

TURNS: tuple[str, ...] = ("forward", "left", "right", "back")
_START = len(TURNS)  # the turn code of a move from a start state (no heading yet)
_ILLEGAL = -1


class NavigationGraph:
    """An undirected graph as a navigation MDP (see module docstring).

    ``edges``: pairs of node numbers 0..n_nodes-1. ``coords`` (n_nodes, 2). ``headings``: optional mapping
    (u, v) -> (depart, arrive), the 2-D direction of motion on leaving u towards v and on reaching v's
    decision point (default both coords[v] - coords[u]). ``terminal``: nodes that end a walk (home, goal).
    ``discount`` of the MDP; ``n_actions`` a minimum number of action slots (so graphs stack). States: one
    per directed edge, then one start state per node (no heading).
    """

    def __init__(self, n_nodes: int, edges: Iterable[tuple[int, int]], *, coords: np.ndarray | None = None,
                 headings: Mapping[tuple[int, int], tuple[Sequence[float], Sequence[float]]] | None = None,
                 terminal: Iterable[int] = (), discount: float = 0.9, n_actions: int = 0) -> None:
        if n_nodes < 2:
            raise MazeError(f"a navigation graph needs at least 2 nodes, got {n_nodes}")
        pairs = np.asarray(list(edges), dtype=np.int64).reshape(-1, 2)
        if len(pairs) == 0:
            raise MazeError("a navigation graph needs at least one edge")
        if pairs.min() < 0 or pairs.max() >= n_nodes:
            raise MazeError(f"an edge names a node outside 0..{n_nodes - 1}")
        if (pairs[:, 0] == pairs[:, 1]).any():
            raise MazeError("self-loops are not moves; remove them")
        self.n_nodes = int(n_nodes)
        self.terminal_nodes = np.unique(np.asarray(list(terminal), dtype=np.int64))
        if self.terminal_nodes.size and (self.terminal_nodes.min() < 0 or self.terminal_nodes.max() >= n_nodes):
            raise MazeError("a terminal node is outside the graph")
        adj = [set() for _ in range(n_nodes)]
        for u, v in pairs:
            adj[u].add(int(v))
            adj[v].add(int(u))
        self.degree = np.array([len(a) for a in adj])
        self.n_actions = max(int(self.degree.max()), int(n_actions))
        self.neighbors = np.full((n_nodes, self.n_actions), -1, dtype=np.int64)
        for u, a in enumerate(adj):
            self.neighbors[u, :len(a)] = sorted(a)
        directed = np.argwhere(self.neighbors >= 0)  # (u, slot)
        self.edge_from = directed[:, 0]
        self.edge_to = self.neighbors[directed[:, 0], directed[:, 1]]
        n_edges = len(self.edge_from)
        self.edge_index = np.full((n_nodes, n_nodes), -1, dtype=np.int64)
        self.edge_index[self.edge_from, self.edge_to] = np.arange(n_edges)
        # states: directed edges, then start states
        self.state_prev = np.r_[self.edge_from, np.full(n_nodes, -1)]
        self.state_node = np.r_[self.edge_to, np.arange(n_nodes)]
        self.coords = None if coords is None else np.asarray(coords, dtype=float)
        if self.coords is not None and self.coords.shape != (n_nodes, 2):
            raise MazeError(f"coords must be ({n_nodes}, 2), got {self.coords.shape}")
        self.turns = self._turn_table(headings)
        nxt_node = self.neighbors[self.state_node]  # (S, A)
        legal = nxt_node >= 0
        nxt_state = np.where(legal, self.edge_index[self.state_node[:, None], np.maximum(nxt_node, 0)],
                             np.arange(self.n_states)[:, None])
        term = np.isin(self.state_node, self.terminal_nodes)
        self.mdp = TabularMDP(nxt_state[:, :, None], np.ones((*nxt_state.shape, 1)), term, discount, legal)

    @property
    def n_states(self) -> int:
        return len(self.state_node)

    @property
    def legal(self) -> np.ndarray:
        """(S, A): actions that follow an edge (terminal states offer none)."""
        return (self.neighbors[self.state_node] >= 0) & ~self.mdp.terminal[:, None]

    def __repr__(self) -> str:
        return f"NavigationGraph({self.n_nodes} nodes, {len(self.edge_from) // 2} edges, " \
               f"{len(self.terminal_nodes)} terminal, discount={self.mdp.discount})"

    def _turn_table(self, headings) -> np.ndarray:
        """(S, A) turn codes: index into TURNS, _START from a start state, _ILLEGAL for no edge."""
        nxt = self.neighbors[self.state_node]
        legal = nxt >= 0
        prev = self.state_prev[:, None]
        turns = np.where(legal, np.where(nxt == prev, TURNS.index("back"), TURNS.index("forward")), _ILLEGAL)
        turns[(self.state_prev < 0)[:, None] & legal] = _START
        if self.coords is None and not headings:
            return turns
        n_e = len(self.edge_from)
        depart = np.zeros((n_e, 2))
        arrive = np.zeros((n_e, 2))
        if self.coords is not None:
            depart = arrive = self.coords[self.edge_to] - self.coords[self.edge_from]
            arrive = arrive.copy()
        for (u, v), (dep, arr) in (headings or {}).items():
            e = self.edge_index[u, v] if 0 <= u < self.n_nodes and 0 <= v < self.n_nodes else -1
            if e < 0:
                raise MazeError(f"a heading is given for ({u}, {v}), which is not an edge")
            depart[e], arrive[e] = dep, arr
        if not (np.linalg.norm(depart, axis=1) > 0).all():
            raise MazeError("every edge needs a non-zero heading (give coords or headings for all edges)")
        s_edge = np.flatnonzero(self.state_prev >= 0)
        h_in = arrive[s_edge][:, None, :]  # heading on reaching the current node
        out_edge = self.edge_index[self.state_node[s_edge][:, None], np.maximum(nxt[s_edge], 0)]
        h_out = depart[out_edge]
        dot = (h_in * h_out).sum(-1) / (np.linalg.norm(h_in, axis=-1) * np.linalg.norm(h_out, axis=-1))
        cross = h_in[..., 0] * h_out[..., 1] - h_in[..., 1] * h_out[..., 0]
        code = np.where(dot > np.sqrt(0.5), 0, np.where(dot < -np.sqrt(0.5), 3, np.where(cross > 0, 1, 2)))
        code = np.where(nxt[s_edge] == self.state_prev[s_edge][:, None], 3, code)  # reversal is always back
        turns[s_edge] = np.where(legal[s_edge], code, _ILLEGAL)
        return turns

    def state_of(self, prev: int, node: int) -> int:
        """The state after moving prev -> node (prev = -1: the start state of node)."""
        if prev < 0:
            return len(self.edge_from) + int(node)
        e = int(self.edge_index[prev, node])
        if e < 0:
            raise TrajectoryError(f"nodes {prev} and {node} are not joined by an edge")
        return e

    @classmethod
    def from_grid(cls, passable: np.ndarray, *, walls: Iterable[tuple[tuple[int, int], tuple[int, int]]] = (),
                  terminal_cells: Iterable[tuple[int, int]] = (), discount: float = 0.9) -> NavigationGraph:
        """A 4-connected grid of passable cells as a graph; ``walls`` are thin walls between two adjacent
        cells (r, c) (the move between them is removed). Nodes number the passable cells row by row;
        coordinates are (x = col, y = -row), so "left" is the walker's left on the drawn maze."""
        passable = np.asarray(passable, dtype=bool)
        cells = np.argwhere(passable)
        index = np.full(passable.shape, -1)
        index[passable] = np.arange(len(cells))
        blocked = set()
        for a, b in walls:
            a, b = tuple(map(int, a)), tuple(map(int, b))
            if abs(a[0] - b[0]) + abs(a[1] - b[1]) != 1:
                raise MazeError(f"a thin wall must lie between adjacent cells, got {a} and {b}")
            blocked |= {(a, b), (b, a)}
        h, w = passable.shape
        edges = []
        for (r, c) in cells:
            for dr, dc in MOVES[[1, 3]]:  # down and right: each undirected edge once
                r2, c2 = r + dr, c + dc
                if r2 < h and c2 < w and passable[r2, c2] and ((r, c), (r2, c2)) not in blocked:
                    edges.append((index[r, c], index[r2, c2]))
        term = [index[r, c] for r, c in terminal_cells]
        if any(t < 0 for t in term):
            raise MazeError("a terminal cell is not passable")
        graph = cls(len(cells), edges, coords=np.c_[cells[:, 1], -cells[:, 0]], terminal=term, discount=discount,
                    n_actions=4)
        graph.cells = cells
        graph.cell_index = index
        return graph

    @classmethod
    def from_gridworld(cls, world: GridWorld, *, walls=(), discount: float | None = None) -> NavigationGraph:
        """A :class:`GridWorld` as a graph: its passable cells, goals terminal; moves into walls are gone."""
        return cls.from_grid(world.index >= 0, walls=walls, terminal_cells=[tuple(world.cells[g]) for g in world.goals],
                             discount=world.discount if discount is None and world.discount < 1 else (discount or 0.9))


@dataclass(frozen=True, eq=False)
class Walk:
    """A walk: the nodes visited in order; ``start_from`` the node it came from (-1: none, a start state);
    ``unit`` its resampling unit (bout, participant); ``graph`` the name of its graph when there are several."""

    nodes: np.ndarray
    unit: str = ""
    graph: str = ""
    start_from: int = -1
    walk_id: str = field(default="")

    def __post_init__(self) -> None:
        nodes = np.asarray(self.nodes)
        if nodes.ndim != 1 or len(nodes) < 2 or not np.issubdtype(nodes.dtype, np.integer):
            raise TrajectoryError(f"walk {self.walk_id!r}: nodes must be a 1-D integer sequence of length >= 2")
        object.__setattr__(self, "nodes", nodes.astype(np.int64))


@dataclass(frozen=True)
class GraphSteps:
    """Every step of walks as flat arrays: ``graph`` (position in the names list), ``state``, ``action``,
    ``walk`` number, ``unit`` label, ``n_legal`` (moves offered), ``turn`` code."""

    graph: np.ndarray
    state: np.ndarray
    action: np.ndarray
    walk: np.ndarray
    unit: np.ndarray
    n_legal: np.ndarray
    turn: np.ndarray

    def __len__(self) -> int:
        return len(self.state)

    @property
    def decision(self) -> np.ndarray:
        """Steps with more than one legal move (junctions), where a choice is made."""
        return self.n_legal > 1


def graphs_for(graphs: NavigationGraph | Mapping[str, NavigationGraph]) -> dict[str, NavigationGraph]:
    return {"": graphs} if isinstance(graphs, NavigationGraph) else dict(graphs)


def encode_walk(graph: NavigationGraph, walk: Walk) -> tuple[np.ndarray, np.ndarray]:
    """(states, actions) of a walk's moves; raises TrajectoryError naming the walk and step of a jump."""
    nodes = walk.nodes
    if nodes.min() < 0 or nodes.max() >= graph.n_nodes:
        raise TrajectoryError(f"walk {walk.walk_id!r}: a node is outside 0..{graph.n_nodes - 1}")
    prev = np.r_[walk.start_from, nodes[:-2]]
    cur, nxt = nodes[:-1], nodes[1:]
    slots = graph.neighbors[cur] == nxt[:, None]
    ok = slots.any(1)
    if not ok.all():
        t = int(np.argmin(ok))
        raise TrajectoryError(f"walk {walk.walk_id!r} step {t}: node {cur[t]} -> {nxt[t]} is not an edge")
    first = graph.state_of(int(walk.start_from) if walk.start_from >= 0 else -1, int(cur[0]))
    states = np.r_[first, graph.edge_index[prev[1:], cur[1:]]].astype(np.int64)
    term = graph.mdp.terminal[states]
    if term.any():
        t = int(np.argmax(term))
        raise TrajectoryError(f"walk {walk.walk_id!r} step {t}: the walk goes on after terminal node {cur[t]}")
    return states, slots.argmax(1)


def walk_steps(graphs: NavigationGraph | Mapping[str, NavigationGraph], walks: Sequence[Walk],
               names: Sequence[str] | None = None) -> GraphSteps:
    """Encode (and check) every walk's moves as flat step arrays (``names`` fixes the graph order)."""
    table = graphs_for(graphs)
    names = list(names) if names is not None else sorted(table)
    cols: dict[str, list] = {k: [] for k in ("graph", "state", "action", "walk", "unit", "n_legal", "turn")}
    if not walks:
        raise TrajectoryError("no walks")
    for i, walk in enumerate(walks):
        if walk.graph not in table:
            raise TrajectoryError(f"walk {walk.walk_id!r} names graph {walk.graph!r}, which was not given")
        g = table[walk.graph]
        s, a = encode_walk(g, walk)
        cols["graph"].append(np.full(len(s), names.index(walk.graph)))
        cols["state"].append(s)
        cols["action"].append(a)
        cols["walk"].append(np.full(len(s), i))
        cols["unit"].append(np.full(len(s), walk.unit, dtype=object))
        cols["n_legal"].append(g.legal[s].sum(1))
        cols["turn"].append(g.turns[s, a])
    return GraphSteps(**{k: np.concatenate(v) for k, v in cols.items()})


def turn_features(graph: NavigationGraph, context: np.ndarray | None = None, n_context: int | None = None,
                  node_features: np.ndarray | None = None) -> np.ndarray:
    """State-action features (S, A, k): one-hot turn type (forward, left, right, back, start) crossed with a
    per-state ``context`` (0..n_context-1; default one context), then ``node_features`` (n_nodes, m) of the
    node each move leads to, and 0 on illegal moves. Column order: context-major, then node features."""
    s_n, a_n = graph.n_states, graph.n_actions
    ctx = np.zeros(s_n, dtype=np.int64) if context is None else np.asarray(context, dtype=np.int64)
    n_ctx = int(ctx.max()) + 1 if n_context is None else int(n_context)
    if ctx.shape != (s_n,) or ctx.min() < 0 or ctx.max() >= n_ctx:
        raise MazeError(f"context must be ({s_n},) integers in 0..{n_ctx - 1}")
    n_turn = len(TURNS) + 1
    phi = np.zeros((s_n, a_n, n_ctx * n_turn))
    s_idx, a_idx = np.nonzero(graph.turns >= 0)
    phi[s_idx, a_idx, ctx[s_idx] * n_turn + graph.turns[s_idx, a_idx]] = 1.0
    if node_features is not None:
        nf = np.asarray(node_features, dtype=float)
        if nf.ndim != 2 or nf.shape[0] != graph.n_nodes:
            raise MazeError(f"node_features must be ({graph.n_nodes}, m), got {nf.shape}")
        nxt = graph.neighbors[graph.state_node]
        extra = np.where((nxt >= 0)[..., None], nf[np.maximum(nxt, 0)], 0.0)
        phi = np.concatenate([phi, extra], axis=2)
    return phi


def stacked(graphs: Mapping[str, NavigationGraph], names: Sequence[str]):
    """One block-diagonal MDP of several graphs (same number of actions), with state offsets."""
    a_max = max(graphs[n].n_actions for n in names)
    if any(graphs[n].n_actions != a_max for n in names):
        raise MazeError("stacked graphs must offer the same number of action slots")
    return stack_mdps([graphs[n].mdp for n in names])
