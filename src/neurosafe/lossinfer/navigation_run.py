"""End-to-end runs behind ``neurosafe irl navigation``: twins of real navigation (Rosenberg et al. 2021 mice,
Ho et al. 2022 humans) scored held out against the legal-uniform agent, the labyrinth's exploration
efficiency against random walks, and a Turing test (C2ST and MMD, ``neurosafe.metrics.two_sample``) of
real against simulated behaviour windows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np

from neurosafe.core.figures import plt, save_figure
from neurosafe.core.seeds import child_seed
from neurosafe.data.labyrinth import HOME, Labyrinth
from neurosafe.lossinfer.errors import TrajectoryError
from neurosafe.lossinfer.graph import NavigationGraph, Walk, turn_features
from neurosafe.lossinfer.gridworld import build_worlds
from neurosafe.lossinfer.labyrinth import (
    discovery_curve,
    end_node_visits,
    labyrinth_context,
    labyrinth_graph,
    labyrinth_irl_features,
    labyrinth_walks,
    visits_to_discover,
)
from neurosafe.lossinfer.navigation import WINDOW_FEATURES, NavigationComparison, compare_twins, window_features
from neurosafe.lossinfer.trajectories import Trajectories
from neurosafe.lossinfer.walkers import BiasedWalk, GRUWalk, IRLWalk, LegalUniform, MarkovChain, simulate

__all__ = ["gridworld_graphs", "labyrinth_twins", "run_ho2022_navigation", "run_labyrinth"]

Progress = Callable[[str], None] | None


def labyrinth_twins(gru: bool = True, seed: int = 0) -> dict[str, Callable[[], object]]:
    """The labyrinth twins: biased walk (4 node types x 4 turns), Markov chains (depth 1-3, back-off), IRL,
    and (optionally) the GRU."""
    twins: dict[str, Callable[[], object]] = {
        "biased_walk": lambda: BiasedWalk(context=labyrinth_context),
        "markov_k1": lambda: MarkovChain(1, alpha=2.0),
        "markov_k2": lambda: MarkovChain(2, alpha=2.0),
        "markov_k3": lambda: MarkovChain(3, alpha=2.0),
        "maxent_irl": lambda: IRLWalk(labyrinth_irl_features),
    }
    if gru:
        twins["gru"] = lambda: GRUWalk(seed=seed)
    return twins


def heldout_figure(comparison: NavigationComparison, path: str | Path, title: str) -> Path:
    """Each twin's held-out log-likelihood per decision minus the legal-uniform agent's, with 95% CIs."""
    names = list(comparison.scores)
    d = [comparison.difference[k] for k in names]
    fig, ax = plt.subplots(figsize=(5.5, 0.45 * len(names) + 1.2))
    y = np.arange(len(names))
    ax.errorbar([x.value for x in d], y, xerr=np.abs(np.array([x.ci for x in d]).T - [x.value for x in d]),
                fmt="o", capsize=3)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel("held-out log-likelihood per decision minus legal-uniform (nats)")
    ax.set_title(title)
    return save_figure(fig, Path(path))


def _turing(graph: NavigationGraph, real: list[Walk], fitted: dict[str, object], *, seed: int, depth: np.ndarray,
            end_nodes: np.ndarray, window: int = 20, n_perm: int = 500) -> dict:
    from neurosafe.metrics.two_sample import c2st, mmd

    x = window_features(graph, real, window, depth, end_nodes)
    out = {"features": list(WINDOW_FEATURES), "window_moves": window, "n_real_windows": len(x)}
    for name, twin in fitted.items():
        sims = [simulate(twin, graph, start_node=int(w.nodes[0]), start_from=w.start_from, max_steps=len(w.nodes) - 1,
                         seed=child_seed(seed, f"turing {name} {i}")) for i, w in enumerate(real)]
        y = window_features(graph, sims, window, depth, end_nodes)
        if len(y) < 4:
            out[name] = {"error": f"the twin's walks give only {len(y)} windows of {window} moves"}
            continue
        c, m = c2st(x, y, seed=seed, n_perm=n_perm), mmd(x, y, seed=seed, n_perm=n_perm)
        give = dict(zip(WINDOW_FEATURES, np.round(c.feature_auroc, 3).tolist(), strict=True)) \
            if c.feature_auroc is not None else {}
        out[name] = {"c2st_accuracy": c.statistic, "c2st_ci": list(c.ci) if c.ci else None,
                     "c2st_p": c.p_value, "mmd2": m.statistic, "mmd_p": m.p_value, "n_twin_windows": len(y),
                     "indistinguishable": bool(c.indistinguishable() and m.indistinguishable()),
                     "feature_auroc": give}
    return out


def run_labyrinth(maze: Labyrinth, out: str | Path, *, seed: int = 0, n_folds: int = 5, gru: bool = True,
                  turing: bool = True, n_boot: int = 1000, progress: Progress = None) -> dict:
    """Held-out twins, exploration efficiency (figure ``efficiency.png``) and Turing test on one animal."""
    out = Path(out)
    graph = labyrinth_graph(maze)
    walks = labyrinth_walks(maze)
    twins = labyrinth_twins(gru, seed)
    comparison = compare_twins(twins, graph, walks, n_folds=n_folds, seed=seed, n_boot=n_boot, progress=progress)
    # efficiency: mouse vs unbiased and fitted-biased random walks, same number of end-node visits x 3
    if progress:
        progress("exploration efficiency")
    ends = maze.end_nodes
    mouse = end_node_visits(walks, ends)
    biased = BiasedWalk(context=labyrinth_context).fit(graph, walks)
    walkers = {"random walk": LegalUniform(), "biased walk (fitted)": biased}
    curves = {"mouse": discovery_curve(mouse, 2000)}
    for name, twin in walkers.items():
        visits, i = [], 0
        while sum(len(v) for v in visits) < 3 * len(mouse) and i < 100_000:
            w = simulate(twin, graph, start_node=0, start_from=HOME, max_steps=5000,
                         seed=child_seed(seed, f"efficiency {name} {i}"))
            visits.append(end_node_visits([w], ends))
            i += 1
        curves[name] = discovery_curve(np.concatenate(visits), 2000)
    n32 = {k: visits_to_discover(c, len(ends) / 2) for k, c in curves.items()}
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for k, c in curves.items():
        ax.plot(np.arange(1, len(c) + 1), c, label=f"{k} (N32 = {n32[k]:.0f})")
    ax.axhline(len(ends) / 2, color="grey", lw=0.5, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("end nodes visited")
    ax.set_ylabel("distinct end nodes discovered")
    ax.set_title(f"exploration efficiency, mouse {maze.animal} (Rosenberg et al. 2021, Fig. 7)")
    ax.legend(frameon=False)
    fig_path = save_figure(fig, out / "efficiency.png")
    result = {
        "data": {"animal": maze.animal, "n_bouts": len(walks), "n_moves": int(sum(len(w.nodes) - 1 for w in walks)),
                 "n_end_node_visits": len(mouse)},
        "heldout": comparison.to_dict(),
        "efficiency": {"visits_to_discover_32": n32,
                       "efficiency_32_over_n32": {k: (32 / v if np.isfinite(v) else 0.0) for k, v in n32.items()},
                       "mouse_over_random_walk": n32["random walk"] / n32["mouse"]},
        "biased_walk_probabilities": _bias_table(biased, graph),
        "figures": {"efficiency": str(fig_path),
                    "heldout": str(heldout_figure(comparison, out / "heldout.png", f"mouse {maze.animal}, "
                                                  f"{comparison.n_folds}-fold CV over bouts"))},
    }
    if turing:
        if progress:
            progress("Turing test")
        fitted = {k: f().fit(graph, walks) for k, f in twins.items()}
        fitted["random_walk"] = LegalUniform()
        depth = np.r_[np.floor(np.log2(np.arange(HOME) + 1)), -1.0]
        result["turing"] = _turing(graph, walks, fitted, seed=seed, depth=depth, end_nodes=ends)
    return result


def _bias_table(biased: BiasedWalk, graph: NavigationGraph) -> dict:
    """The fitted biased walk's move probabilities by node type and turn (on the first state of each type)."""
    from neurosafe.lossinfer.graph import TURNS
    from neurosafe.lossinfer.labyrinth import LABYRINTH_CONTEXTS

    ctx, _ = labyrinth_context(graph)
    pol = biased.policy(graph)
    out = {}
    for c, cname in enumerate(LABYRINTH_CONTEXTS):
        states = np.flatnonzero((ctx == c) & graph.legal.any(1))
        if not len(states):
            continue
        s = states[0]
        out[cname] = {TURNS[t] if t < len(TURNS) else "start": round(float(p), 4)
                      for t, p, ok in zip(graph.turns[s], pol[s], graph.legal[s], strict=True) if ok}
    return out


def gridworld_graphs(trajectories: Trajectories,
                     discount: float = 0.9) -> tuple[dict[str, NavigationGraph], list[Walk]]:
    """Each maze as a graph (goals terminal) and each episode as a walk of cells (bumps dropped: the graph
    has no move into a wall); unit = participant."""
    worlds = build_worlds({k: trajectories.mazes[k] for k in {e.maze for e in trajectories}})
    graphs = {k: NavigationGraph.from_gridworld(w, discount=discount) for k, w in worlds.items()}
    walks = []
    for e in trajectories:
        g = graphs[e.maze]
        cells = np.r_[e.states, e.next_states[-1:]]
        keep = np.r_[True, (cells[1:] != cells[:-1]).any(1)]
        nodes = g.cell_index[cells[keep, 0], cells[keep, 1]]
        if len(nodes) >= 2:
            walks.append(Walk(nodes, unit=e.participant, graph=e.maze, walk_id=e.episode_id))
    if not walks:
        raise TrajectoryError("no episode moves at all")
    return graphs, walks


def goal_distance(graph: NavigationGraph) -> np.ndarray:
    """Graph distance of every node to the nearest terminal node (BFS; n_nodes where unreachable)."""
    dist = np.full(graph.n_nodes, graph.n_nodes, dtype=float)
    queue = deque(graph.terminal_nodes.tolist())
    dist[graph.terminal_nodes] = 0
    while queue:
        u = queue.popleft()
        for v in graph.neighbors[u]:
            if v >= 0 and dist[v] > dist[u] + 1:
                dist[v] = dist[u] + 1
                queue.append(v)
    return dist


def grid_irl_features(graph: NavigationGraph) -> np.ndarray:
    """Turn type per node degree, plus the target node's distance to the goal (scaled) and reaching the goal."""
    deg = np.clip(graph.degree[graph.state_node] - 1, 0, 3)
    d = goal_distance(graph)
    nf = np.c_[d / max(1.0, d[d < graph.n_nodes].max()), np.isin(np.arange(graph.n_nodes), graph.terminal_nodes)]
    return turn_features(graph, deg, 4, node_features=nf)


def run_ho2022_navigation(trajectories: Trajectories, out: str | Path, *, seed: int = 0, n_folds: int = 5,
                          n_boot: int = 1000, progress: Progress = None) -> dict:
    """Held-out twins of the Ho et al. 2022 humans on their mazes as graphs (participants as units)."""
    graphs, walks = gridworld_graphs(trajectories)
    twins = {"biased_walk": lambda: BiasedWalk(),
             "markov_k1": lambda: MarkovChain(1, alpha=2.0),
             "markov_k2": lambda: MarkovChain(2, alpha=2.0),
             "maxent_irl": lambda: IRLWalk(grid_irl_features)}
    comparison = compare_twins(twins, graphs, walks, n_folds=n_folds, seed=seed, n_boot=n_boot, progress=progress)
    fig = heldout_figure(comparison, Path(out) / "heldout.png", f"Ho et al. 2022, {n_folds}-fold CV over participants")
    return {"data": {"n_walks": len(walks), "n_participants": len({w.unit for w in walks}), "n_mazes": len(graphs)},
            "heldout": comparison.to_dict(), "figures": {"heldout": str(fig)}}
