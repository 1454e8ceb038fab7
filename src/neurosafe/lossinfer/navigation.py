"""Held-out comparison of navigation twins on walks: cross-validated log-likelihood per decision (nats),
with bootstrap CIs over units (bouts or participants), each twin against the legal-uniform agent; behaviour
windows for a Turing test (real versus simulated walks).

Cross-validation splits units into ``n_folds`` folds; each twin is fitted on the other folds and scores the
held-out fold, so every walk is scored once, by a model that never saw it. Only decisions (steps with more
than one legal move) count: a dead end's forced reversal says nothing about a model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from neurosafe.core.seeds import make_rng
from neurosafe.lossinfer.errors import TrajectoryError
from neurosafe.lossinfer.evaluate import unit_scores
from neurosafe.lossinfer.graph import TURNS, NavigationGraph, Walk, graphs_for, walk_steps
from neurosafe.metrics import Score, paired_difference

__all__ = ["WINDOW_FEATURES", "NavigationComparison", "compare_twins", "window_features"]

TwinFactory = Callable[[], object]


@dataclass(frozen=True, eq=False)
class NavigationComparison:
    """``scores[twin]``: held-out log-likelihood per decision; ``difference[twin]``: twin minus legal-uniform
    on the same bootstrap resamples of units; ``n_decisions``, ``n_units``, ``n_folds``."""

    scores: dict[str, Score]
    difference: dict[str, Score]
    n_decisions: int
    n_units: int
    n_folds: int
    log_probs: dict[str, np.ndarray]

    def to_dict(self) -> dict:
        return {
            "unit": "nats per decision",
            "n_decisions": self.n_decisions, "n_units": self.n_units, "n_folds": self.n_folds,
            "twins": {k: {"log_likelihood": float(s.value), "ci": list(s.ci),
                          "minus_legal_uniform": float(self.difference[k].value),
                          "minus_legal_uniform_ci": list(self.difference[k].ci)} for k, s in self.scores.items()},
        }

    def table(self) -> str:
        rows = [f"{'twin':>16}  {'LL/decision':>11}  {'95% CI':>18}  {'minus uniform':>13}  {'95% CI':>18}"]
        for k, s in self.scores.items():
            d = self.difference[k]
            rows.append(f"{k:>16}  {s.value:11.4f}  [{s.ci[0]:7.4f}, {s.ci[1]:7.4f}]  {d.value:13.4f}  "
                        f"[{d.ci[0]:7.4f}, {d.ci[1]:7.4f}]")
        return "\n".join(rows)


def compare_twins(twins: Mapping[str, TwinFactory], graphs: NavigationGraph | Mapping[str, NavigationGraph],
                  walks: Sequence[Walk], *, n_folds: int = 5, seed: int = 0, n_boot: int = 1000,
                  progress: Callable[[str], None] | None = None) -> NavigationComparison:
    """Cross-validated log-likelihood per decision of each twin (fresh from its factory per fold), with
    bootstrap CIs over units and each twin's paired difference from the legal-uniform agent."""
    from neurosafe.lossinfer.walkers import LegalUniform

    table = graphs_for(graphs)
    walks = list(walks)
    units = np.array(sorted({w.unit for w in walks}))
    if len(units) < max(2, n_folds):
        raise TrajectoryError(f"need at least {max(2, n_folds)} units (bouts/participants) for {n_folds} folds, "
                              f"got {len(units)}")
    steps = walk_steps(table, walks)
    perm = make_rng(seed, "navigation folds").permutation(len(units))
    fold_of_unit = dict(zip(units[perm].tolist(), np.arange(len(units)) % n_folds, strict=True))
    walk_fold = np.array([fold_of_unit[w.unit] for w in walks])
    # each walk's steps are contiguous in walk_steps order
    bounds = np.r_[0, np.cumsum(np.bincount(steps.walk, minlength=len(walks)))]
    models = {"legal_uniform": LegalUniform, **dict(twins)}
    log_probs = {k: np.empty(len(steps)) for k in models}
    for f in range(n_folds):
        train = [w for w, wf in zip(walks, walk_fold, strict=True) if wf != f]
        test_idx = np.flatnonzero(walk_fold == f)
        test = [walks[i] for i in test_idx]
        rows = np.concatenate([np.arange(bounds[i], bounds[i + 1]) for i in test_idx])
        for name, factory in models.items():
            if progress:
                progress(f"fold {f + 1}/{n_folds}: {name}")
            log_probs[name][rows] = factory().fit(table, train).log_probs(table, test)
    dec = steps.decision
    unit_ids = np.searchsorted(units, steps.unit[dec].astype(str))
    scores = {k: unit_scores(units, unit_ids, {"log_likelihood": lp[dec]}, n_boot=n_boot, seed=seed, name=k,
                             unit_dim="unit")["log_likelihood"] for k, lp in log_probs.items()}
    base = scores["legal_uniform"]
    difference = {k: paired_difference(s, base) for k, s in scores.items()}
    return NavigationComparison(scores, difference, int(dec.sum()), len(units), n_folds,
                                {k: v[dec] for k, v in log_probs.items()})


WINDOW_FEATURES: tuple[str, ...] = (*(f"frac_{t}" for t in TURNS), "max_depth", "mean_depth", "revisit_frac",
                                    "end_node_frac")


def window_features(graph: NavigationGraph, walks: Sequence[Walk], window: int = 20,
                    depth: np.ndarray | None = None, end_nodes: np.ndarray | None = None) -> np.ndarray:
    """(n_windows, len(WINDOW_FEATURES)): each walk cut into non-overlapping windows of ``window`` moves;
    fraction of moves of each turn type, deepest and mean depth (``depth`` per node, default the graph
    distance from the first walk's start), fraction of moves into a node already visited in the window,
    fraction of moves into an end node (``end_nodes``, default degree-1 nodes)."""
    if depth is None:
        depth = np.zeros(graph.n_nodes)
    end = np.isin(np.arange(graph.n_nodes), graph.degree == 1 if end_nodes is None else end_nodes) \
        if end_nodes is not None else graph.degree == 1
    out = []
    for w in walks:
        steps = walk_steps(graph, [w])
        turns = steps.turn
        nxt = w.nodes[1:]
        for lo in range(0, len(turns) - window + 1, window):
            t = turns[lo:lo + window]
            nodes = nxt[lo:lo + window]
            seen, revisit = set(), 0
            for n in nodes.tolist():
                revisit += n in seen
                seen.add(n)
            out.append([*(np.mean(t == i) for i in range(len(TURNS))), depth[nodes].max(), depth[nodes].mean(),
                        revisit / window, end[nodes].mean()])
    return np.asarray(out, dtype=float).reshape(-1, len(WINDOW_FEATURES))
