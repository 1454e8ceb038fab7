"""Behavioural twins of navigating animals on a :class:`NavigationGraph`: models that give each move of a
walk a probability and can walk the graph themselves.

- :class:`LegalUniform`: every legal move equally likely (the baseline).
- :class:`BiasedWalk`: a biased random walk, P(move) proportional to exp(theta[context, turn]) over the legal
  moves: fitted turn biases (forward, left, right, back) per node type, as the four biases of Rosenberg et
  al. 2021 (eLife 10:e66175, Fig. 10: going forward versus reversing, and which branch, from the stem or a
  branch of a T-junction). Fitted by maximum likelihood (a conditional logit, L-BFGS).
- :class:`MarkovChain`: Rosenberg et al. 2021's Markov-chain model of the next node given the last ``depth``
  nodes (Methods, "Markov chain models"). Their fixed-depth model with pseudocounts, and their variable-depth
  remedy for sparse histories, here as interpolated back-off: p_k(x | h) = (n(h, x) + alpha p_(k-1)(x | h'))
  / (n(h) + alpha), h' the history shortened by its oldest node, p_0 uniform over legal moves.
  Simplification: the article picks, per history, the longest depth with enough counts; we interpolate
  (no threshold to choose) and pick ``depth`` by cross-validation.
- :class:`IRLWalk`: the soft-optimal policy of maximum causal entropy IRL (Ziebart et al. 2008; Ziebart 2010)
  on the graph MDP, reward linear in state-action features (turn type per context, features of the node a
  move leads to), discounted (exploration has no terminal goal).
- :class:`GRUWalk`: a small GRU (Cho et al. 2014) reading the node sequence (node and turn embeddings) and
  predicting the next move over the legal ones, trained by Adam on the training walks (torch).

Every twin implements ``fit(graphs, walks)``, ``log_probs(graphs, walks)`` (log-probability of each move, in
:func:`walk_steps` order) and ``next_probs(graph, nodes, start_from, carry)`` for simulation (:func:`simulate`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from neurosafe.core.seeds import make_rng
from neurosafe.lossinfer.errors import PlanningError, TrajectoryError
from neurosafe.lossinfer.graph import NavigationGraph, Walk, encode_walk, graphs_for, stacked, turn_features, walk_steps
from neurosafe.lossinfer.maxent import CausalLikelihood, fit_linear_reward
from neurosafe.lossinfer.planning import soft_value_iteration

__all__ = [
    "BiasedWalk",
    "GRUWalk",
    "IRLWalk",
    "LegalUniform",
    "MarkovChain",
    "simulate",
]

Graphs = NavigationGraph | Mapping[str, NavigationGraph]
ContextFn = Callable[[NavigationGraph], tuple[np.ndarray, int]]


def degree_context(graph: NavigationGraph) -> tuple[np.ndarray, int]:
    """Node type = number of moves the current node offers (1 dead end, 2 corridor, 3 T, 4 crossing)."""
    return np.clip(graph.degree[graph.state_node] - 1, 0, 3), 4


def _masked_log_softmax(logits: np.ndarray, legal: np.ndarray) -> np.ndarray:
    legal = legal | ~legal.any(-1, keepdims=True)  # a terminal state offers nothing: keep its row finite
    z = np.where(legal, logits, -np.inf)
    return z - logsumexp(z, axis=-1, keepdims=True)


class _TableTwin:
    """A twin whose move probabilities depend only on the MDP state: a (S, A) policy per graph."""

    name = "table"

    def policy(self, graph: NavigationGraph) -> np.ndarray:
        raise NotImplementedError

    def log_probs(self, graphs: Graphs, walks: Sequence[Walk]) -> np.ndarray:
        table = graphs_for(graphs)
        names = sorted(table)
        steps = walk_steps(table, walks, names)
        out = np.empty(len(steps))
        for i, n in enumerate(names):
            sel = steps.graph == i
            if sel.any():
                with np.errstate(divide="ignore"):
                    out[sel] = np.log(self.policy(table[n])[steps.state[sel], steps.action[sel]])
        return out

    def next_probs(self, graph: NavigationGraph, nodes: Sequence[int], start_from: int = -1,
                   carry: Any = None) -> tuple[np.ndarray, Any]:
        prev = nodes[-2] if len(nodes) > 1 else start_from
        if carry is None or carry[0] is not graph:
            carry = (graph, self.policy(graph))
        return carry[1][graph.state_of(int(prev), int(nodes[-1]))], carry


class LegalUniform(_TableTwin):
    """Every legal move equally likely."""

    name = "legal_uniform"

    def fit(self, graphs: Graphs, walks: Sequence[Walk]) -> LegalUniform:
        return self

    def policy(self, graph: NavigationGraph) -> np.ndarray:
        legal = graph.legal.astype(float)
        return legal / np.maximum(legal.sum(1, keepdims=True), 1)


class BiasedWalk(_TableTwin):
    """Biased random walk: P(move) ~ exp(theta[context, turn]) over legal moves (see module docstring).

    ``context``: graph -> ((S,) node-type codes, number of types); default the node's degree.
    ``l2`` keeps never-seen biases finite.
    """

    name = "biased_walk"

    def __init__(self, context: ContextFn = degree_context, l2: float = 1e-4) -> None:
        self.context, self.l2 = context, l2
        self.theta: np.ndarray | None = None

    def _features(self, graph: NavigationGraph) -> np.ndarray:
        ctx, n_ctx = self.context(graph)
        return turn_features(graph, ctx, n_ctx)

    def fit(self, graphs: Graphs, walks: Sequence[Walk]) -> BiasedWalk:
        table = graphs_for(graphs)
        names = sorted(table)
        steps = walk_steps(table, walks, names)
        phis = {n: self._features(table[n]) for n in names}
        x = np.concatenate([phis[n][steps.state[steps.graph == i]] for i, n in enumerate(names)])
        legal = np.concatenate([table[n].legal[steps.state[steps.graph == i]] for i, n in enumerate(names)])
        act = np.concatenate([steps.action[steps.graph == i] for i, n in enumerate(names)])
        rows = np.arange(len(act))
        n = len(act)

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            logp = _masked_log_softmax(x @ theta, legal)
            p = np.exp(logp)
            grad = x[rows, act] - np.einsum("na,nak->nk", p, x)
            return -logp[rows, act].sum() / n + 0.5 * self.l2 * theta @ theta, -grad.sum(0) / n + self.l2 * theta

        res = minimize(loss, np.zeros(x.shape[-1]), jac=True, method="L-BFGS-B")
        self.theta = res.x
        return self

    def policy(self, graph: NavigationGraph) -> np.ndarray:
        if self.theta is None:
            raise PlanningError("fit the biased walk first")
        return np.exp(_masked_log_softmax(self._features(graph) @ self.theta, graph.legal))


class IRLWalk(_TableTwin):
    """The soft-optimal policy of MaxEnt IRL on the graph MDP (see module docstring).

    ``features``: graph -> (S, A, k) state-action features (default: turn type per node type, as
    :class:`BiasedWalk`, plus ``node_features`` of the node a move leads to). ``discount`` overrides the
    graphs' discount when given.
    """

    name = "maxent_irl"

    def __init__(self, features: Callable[[NavigationGraph], np.ndarray] | None = None, *,
                 discount: float | None = None, l2: float = 1e-3) -> None:
        self.features = features or (lambda g: turn_features(g, *degree_context(g)))
        self.discount, self.l2 = discount, l2
        self.weights: np.ndarray | None = None
        self.fit_info: dict = {}

    def _graph(self, graph: NavigationGraph) -> NavigationGraph:
        if self.discount is None or self.discount == graph.mdp.discount:
            return graph
        from dataclasses import replace

        clone = object.__new__(NavigationGraph)
        clone.__dict__.update(graph.__dict__)
        clone.mdp = replace(graph.mdp, discount=self.discount)
        return clone

    def fit(self, graphs: Graphs, walks: Sequence[Walk]) -> IRLWalk:
        table = {k: self._graph(g) for k, g in graphs_for(graphs).items()}
        names = sorted(table)
        steps = walk_steps(table, walks, names)
        mdp, offsets = stacked(table, names)
        phi = np.concatenate([self.features(table[n]) for n in names])
        likelihood = CausalLikelihood.from_steps(mdp, phi, steps.state + offsets[steps.graph], steps.action)
        fit = fit_linear_reward(likelihood, l2=self.l2)
        self.weights = fit.weights
        self.fit_info = {"converged": fit.converged, "n_iter": fit.n_iter, "grad_norm": fit.grad_norm,
                         "train_log_likelihood_per_step": fit.log_likelihood / likelihood.n_steps}
        return self

    def reward(self, graph: NavigationGraph) -> np.ndarray:
        if self.weights is None:
            raise PlanningError("fit the IRL twin first")
        return self.features(graph) @ self.weights

    def policy(self, graph: NavigationGraph) -> np.ndarray:
        g = self._graph(graph)
        return soft_value_iteration(g.mdp, self.reward(g)).policy


class MarkovChain:
    """Next node given the last ``depth`` nodes, with interpolated back-off (see module docstring)."""

    def __init__(self, depth: int = 2, alpha: float = 1.0) -> None:
        if depth < 1 or alpha <= 0:
            raise PlanningError(f"depth must be >= 1 and alpha > 0, got {depth} and {alpha}")
        self.depth, self.alpha = depth, alpha
        self.counts: list[dict] = []
        self.name = f"markov_k{depth}"

    @staticmethod
    def _history(walk: Walk) -> np.ndarray:
        return np.r_[walk.start_from, walk.nodes] if walk.start_from >= 0 else np.r_[-1, walk.nodes]

    def fit(self, graphs: Graphs, walks: Sequence[Walk]) -> MarkovChain:
        table = graphs_for(graphs)
        self.counts = [defaultdict(lambda: defaultdict(float)) for _ in range(self.depth + 1)]
        for w in walks:
            encode_walk(table[w.graph], w)  # checks the walk
            hist = self._history(w)
            for t in range(1, len(hist) - 1):
                nxt = int(hist[t + 1])
                for k in range(1, self.depth + 1):
                    key = (w.graph, *hist[max(0, t + 1 - k):t + 1].tolist())
                    self.counts[k][key][nxt] += 1.0
        return self

    def _probs(self, graph: NavigationGraph, gname: str, hist: Sequence[int]) -> np.ndarray:
        cur = int(hist[-1])
        nbrs = graph.neighbors[cur]
        legal = nbrs >= 0
        p = legal / legal.sum()
        for k in range(1, self.depth + 1):
            if k > len(hist):
                break
            c = self.counts[k].get((gname, *map(int, hist[-k:])))
            if not c:
                break  # a longer history that was never seen adds nothing
            n = np.array([c.get(int(x), 0.0) if ok else 0.0 for x, ok in zip(nbrs, legal, strict=True)])
            p = (n + self.alpha * p) / (n.sum() + self.alpha)
        return p

    def log_probs(self, graphs: Graphs, walks: Sequence[Walk]) -> np.ndarray:
        table = graphs_for(graphs)
        out = []
        for w in walks:
            g = table[w.graph]
            _, actions = encode_walk(g, w)
            hist = self._history(w).tolist()
            for t, a in enumerate(actions):
                out.append(np.log(self._probs(g, w.graph, hist[max(0, t + 1 - self.depth):t + 2])[a]))
        return np.asarray(out)

    def next_probs(self, graph: NavigationGraph, nodes: Sequence[int], start_from: int = -1,
                   carry: Any = None, graph_name: str = "") -> tuple[np.ndarray, Any]:
        hist = [start_from, *nodes][-self.depth:]
        return self._probs(graph, graph_name, hist), carry


class GRUWalk:
    """A GRU over node and turn embeddings predicting the next move among the legal ones (torch).

    One graph at a time (node embeddings are graph-specific). Trained by Adam, full-batch, ``epochs``
    passes, on the walks cut into chunks of ``chunk`` moves (truncated backpropagation through time: the
    hidden state starts afresh in each chunk; scoring and simulation run whole walks), with early stopping:
    a seeded ``val_fraction`` of the training walks is held back and the weights with the best validation
    log-likelihood (checked every ``check_every`` epochs) are kept; seeded through ``neurosafe.core.seeds``.
    """

    name = "gru"

    def __init__(self, hidden: int = 32, embed: int = 16, epochs: int = 80, lr: float = 1e-2,
                 weight_decay: float = 1e-4, chunk: int = 25, val_fraction: float = 0.2, check_every: int = 4,
                 seed: int = 0) -> None:
        self.hidden, self.embed, self.epochs, self.lr = hidden, embed, epochs, lr
        self.wd, self.seed = weight_decay, seed
        self.chunk, self.val_fraction, self.check_every = chunk, val_fraction, check_every
        self.best_epoch = 0
        self.net = None

    def _graph(self, graphs: Graphs) -> tuple[str, NavigationGraph]:
        table = graphs_for(graphs)
        if len(table) != 1:
            raise PlanningError("the GRU twin models one graph; fit one per graph")
        return next(iter(table.items()))

    def _inputs(self, graph: NavigationGraph, walks: Sequence[Walk], chunk: int | None = None):
        import torch

        seqs = []
        for w in walks:
            states, actions = encode_walk(graph, w)
            node = graph.state_node[states]
            prev_turn = np.r_[5, graph.turns[states[:-1], actions[:-1]]]
            prev_turn = np.where(prev_turn < 0, 5, prev_turn)
            seq = (node, prev_turn, graph.legal[states], actions)
            step = chunk or len(node)
            seqs += [tuple(x[lo:lo + step] for x in seq) for lo in range(0, len(node), step)]
        t_max = max(len(s[0]) for s in seqs)
        n = len(seqs)
        node = torch.zeros(n, t_max, dtype=torch.long)
        turn = torch.full((n, t_max), 5, dtype=torch.long)
        legal = torch.ones(n, t_max, graph.n_actions, dtype=torch.bool)
        act = torch.full((n, t_max), -100, dtype=torch.long)
        for i, (nd, tu, lg, ac) in enumerate(seqs):
            m = len(nd)
            node[i, :m], turn[i, :m] = torch.as_tensor(nd), torch.as_tensor(tu)
            legal[i, :m], act[i, :m] = torch.as_tensor(lg), torch.as_tensor(ac)
        return node, turn, legal, act, [len(s[0]) for s in seqs]

    def _build(self, graph: NavigationGraph):
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self, n_nodes: int, n_actions: int, embed: int, hidden: int) -> None:
                super().__init__()
                self.node = nn.Embedding(n_nodes, embed)
                self.turn = nn.Embedding(6, embed)
                self.gru = nn.GRU(embed, hidden, batch_first=True)
                self.head = nn.Linear(hidden + embed, n_actions)

            def forward(self, node, turn, legal, h=None):
                e = self.node(node) + self.turn(turn)
                out, h = self.gru(e, h)
                logits = self.head(torch.cat([out, self.node(node)], -1))
                return torch.log_softmax(logits.masked_fill(~legal, -1e9), -1), h

        return Net(graph.n_nodes, graph.n_actions, self.embed, self.hidden)

    def fit(self, graphs: Graphs, walks: Sequence[Walk]) -> GRUWalk:
        import torch

        from neurosafe.core.seeds import torch_generator

        _, graph = self._graph(graphs)
        gen = torch_generator(self.seed, "gru twin init")
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        self.net = self._build(graph)
        walks = list(walks)
        n_val = round(self.val_fraction * len(walks)) if len(walks) >= 5 else 0
        order = make_rng(self.seed, "gru twin validation").permutation(len(walks))
        val = [walks[i] for i in order[:n_val]]
        train = [walks[i] for i in order[n_val:]]
        node, turn, legal, act, _ = self._inputs(graph, train, self.chunk)
        val_inputs = self._inputs(graph, val) if val else None
        nll = torch.nn.functional.nll_loss
        opt = torch.optim.Adam(self.net.parameters(), lr=self.lr, weight_decay=self.wd)
        best, best_state = np.inf, None
        for epoch in range(1, self.epochs + 1):
            self.net.train()
            opt.zero_grad()
            logp, _ = self.net(node, turn, legal)
            loss = nll(logp.reshape(-1, logp.shape[-1]), act.reshape(-1), ignore_index=-100)
            loss.backward()
            opt.step()
            if val_inputs is not None and (epoch % self.check_every == 0 or epoch == self.epochs):
                with torch.no_grad():
                    vl, _ = self.net(*val_inputs[:3])
                    v = float(nll(vl.reshape(-1, vl.shape[-1]), val_inputs[3].reshape(-1), ignore_index=-100))
                if v < best:
                    best, self.best_epoch = v, epoch
                    best_state = {k: t.clone() for k, t in self.net.state_dict().items()}
        if best_state is not None:
            self.net.load_state_dict(best_state)
        self.net.eval()
        return self

    def log_probs(self, graphs: Graphs, walks: Sequence[Walk]) -> np.ndarray:
        import torch

        if self.net is None:
            raise PlanningError("fit the GRU twin first")
        _, graph = self._graph(graphs)
        node, turn, legal, act, lengths = self._inputs(graph, walks)
        with torch.no_grad():
            logp, _ = self.net(node, turn, legal)
            taken = logp.gather(-1, act.clamp(min=0)[..., None])[..., 0].numpy()
        return np.concatenate([taken[i, :m] for i, m in enumerate(lengths)])

    def next_probs(self, graph: NavigationGraph, nodes: Sequence[int], start_from: int = -1,
                   carry: Any = None) -> tuple[np.ndarray, Any]:
        import torch

        prev = nodes[-2] if len(nodes) > 1 else start_from
        state = graph.state_of(int(prev), int(nodes[-1]))
        h, last_turn = (None, 5) if carry is None else carry
        with torch.no_grad():
            logp, h = self.net(torch.tensor([[int(nodes[-1])]]), torch.tensor([[last_turn]]),
                               torch.as_tensor(graph.legal[state])[None, None], h)
        p = logp[0, 0].exp().numpy().astype(float)
        p = np.where(graph.legal[state], p, 0.0)
        p /= p.sum()
        return p, (h, state)  # the caller passes back the chosen slot via _advance

    @staticmethod
    def advance(graph: NavigationGraph, carry: Any, action: int) -> Any:
        h, state = carry
        turn = int(graph.turns[state, action])
        return h, (5 if turn < 0 else turn)


def simulate(twin, graph: NavigationGraph, *, start_node: int, start_from: int = -1, max_steps: int = 1000,
             seed: int = 0, purpose: str = "simulate", graph_name: str = "") -> Walk:
    """One walk of a twin on a graph from ``start_node`` until a terminal node or ``max_steps`` moves."""
    rng = make_rng(seed, purpose)
    nodes = [int(start_node)]
    carry = None
    for _ in range(max_steps):
        prev = nodes[-2] if len(nodes) > 1 else start_from
        if graph.mdp.terminal[graph.state_of(int(prev), nodes[-1])]:
            break
        if isinstance(twin, MarkovChain):
            p, carry = twin.next_probs(graph, nodes, start_from, carry, graph_name=graph_name)
        else:
            p, carry = twin.next_probs(graph, nodes, start_from, carry)
        a = int(rng.choice(len(p), p=p))
        if isinstance(twin, GRUWalk):
            carry = GRUWalk.advance(graph, carry, a)
        nodes.append(int(graph.neighbors[nodes[-1], a]))
    if len(nodes) < 2:
        raise TrajectoryError("the simulated walk starts on a terminal node")
    return Walk(np.asarray(nodes), start_from=start_from, graph=graph_name)
