"""The agent model as swappable modules: percept, belief prior and update, desire, planner.

Baker, Jara-Ettinger, Saxe & Tenenbaum (2017), "Rational quantitative attribution of beliefs, desires and
percepts in human mentalizing", Nature Human Behaviour 1:0064. An agent perceives the spots in its line of
sight (:class:`LineOfSight`), starts from a belief over the possible worlds (a point of the belief simplex,
:class:`SimplexGrid`), updates it by Bayes' rule on what it sees (:class:`BayesUpdate`), values truck types by
a utility and pays a cost per step (:class:`UtilityGrid`), and chooses actions Boltzmann-rationally on the
values of a POMDP solved in belief space (:class:`BeliefSpacePlanner`). Each is a small class; a variant
model swaps one: :class:`TrueBeliefPrior` (the agent knows the world: the paper's TrueBelief model) or
``UtilityGrid(cost=0)`` (NoCost).

The planner is exact value iteration on the belief MDP. Observations are deterministic (a visible spot shows
its content), so the belief at any time is the initial belief conditioned on the revealed contents; the
belief MDP's states are (cell, information set) pairs, solved from the most to the least informed set. A
fully observed world is the special case of a singleton information set (computed once per desire and
shared by all initial beliefs). Simplification (named): after an observation of zero prior probability the
agent's belief becomes uniform over the worlds consistent with what it has seen.

Typed latents: each module declares the latent variables it contributes to the agent's Pyro program
(:mod:`neurosafe.cognitive.program`) as :class:`Latent` records (site name, domain, finite support and prior):
the desire prior a utility vector on a grid (``desire``), the belief prior a point of the discretized belief
simplex (``belief``), the percept one switch per spot hidden from the start (``visible_<spot>``, factually 0;
intervening on it sets the spot in view), the planner one exogenous Gumbel vector per step (``noise_<t>``,
continuous) that makes its Boltzmann choice a structural equation (Gumbel-max). The belief update has none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from typing import Protocol

import numpy as np
from scipy.special import logsumexp

from neurosafe.cognitive.errors import ScenarioError
from neurosafe.cognitive.world import EMPTY, GridWorld

__all__ = [
    "BayesUpdate",
    "BeliefPrior",
    "BeliefSpacePlanner",
    "DesirePrior",
    "Latent",
    "LineOfSight",
    "Omniscient",
    "Percept",
    "PlanResult",
    "SimplexGrid",
    "TrueBeliefPrior",
    "UtilityGrid",
    "info_key",
    "simplex_grid",
]


@dataclass(frozen=True)
class Latent:
    """A module's latent variable: Pyro site ``name``, its ``domain`` in words, and for a finite domain its
    ``support`` (K, ...) values and ``prior`` (K,) weights (``None`` for a continuous exogenous site)."""

    name: str
    domain: str
    support: np.ndarray | None = None
    prior: np.ndarray | None = None

    def sample(self, infer: dict | None = None):
        """The Pyro sample site: the index of a support point (finite domain) drawn from the prior (``infer``:
        Pyro's site options, e.g. ``{"enumerate": "parallel"}``)."""
        import pyro
        import pyro.distributions as dist
        import torch

        if self.prior is None:
            raise ScenarioError(f"latent {self.name!r} has no finite support to sample an index from")
        return pyro.sample(self.name, dist.Categorical(torch.as_tensor(self.prior, dtype=torch.float64)),
                           infer=infer or {})


def hidden_spots(vis: np.ndarray, start: int) -> np.ndarray:
    """Indices of the spots not in view from the start."""
    return np.flatnonzero(~vis[start])


class Percept(Protocol):
    """Which spots an agent standing on each free cell sees: (n_cells, n_spots) bool."""

    def visibility(self, world: GridWorld) -> np.ndarray: ...


@dataclass(frozen=True)
class LineOfSight:
    """Sees every spot in unobstructed line of sight (walls block)."""

    def visibility(self, world: GridWorld) -> np.ndarray:
        return world.visibility

    def latents(self, world: GridWorld, start: int) -> list[Latent]:
        """One switch per spot hidden from the start: 0 (factual: hidden) or 1 (in view from everywhere)."""
        names = list(world.spots)
        return [Latent(f"visible_{names[k]}", "bool: the spot is in view (1) or hidden by walls (0)",
                       np.array([0.0, 1.0]), np.array([1.0, 0.0]))
                for k in hidden_spots(self.visibility(world), start)]


@dataclass(frozen=True)
class Omniscient:
    """Sees every spot from everywhere (a lesion: the world is fully observed)."""

    def visibility(self, world: GridWorld) -> np.ndarray:
        return np.ones((len(world.cells), len(world.spots)), dtype=bool)

    def latents(self, world: GridWorld, start: int) -> list[Latent]:
        return []  # nothing is hidden


class BeliefPrior(Protocol):
    """The observer's prior over the agent's initial beliefs: a grid (n_beliefs, n_worlds) with weights."""

    def grid(self, worlds: np.ndarray, truth: int) -> tuple[np.ndarray, np.ndarray]: ...


def simplex_grid(n_worlds: int, resolution: int) -> np.ndarray:
    """All points of the probability simplex over ``n_worlds`` with coordinates in steps of 1/resolution."""
    points = [c for c in product(range(resolution + 1), repeat=n_worlds - 1) if sum(c) <= resolution]
    grid = np.array([[*c, resolution - sum(c)] for c in points], dtype=np.float64)
    return grid / resolution


@dataclass(frozen=True)
class SimplexGrid:
    """Uniform prior over the discretized belief simplex (steps of 1/``resolution``)."""

    resolution: int = 10

    def grid(self, worlds: np.ndarray, truth: int) -> tuple[np.ndarray, np.ndarray]:
        g = simplex_grid(len(worlds), self.resolution)
        return g, np.full(len(g), 1.0 / len(g))

    def latent(self, worlds: np.ndarray, truth: int) -> Latent:
        g, p = self.grid(worlds, truth)
        return Latent("belief", f"point of the belief simplex over {len(worlds)} worlds, step 1/{self.resolution}",
                      g, p)


@dataclass(frozen=True)
class TrueBeliefPrior:
    """The agent believes the true world from the start (the paper's TrueBelief model)."""

    def grid(self, worlds: np.ndarray, truth: int) -> tuple[np.ndarray, np.ndarray]:
        return np.eye(len(worlds))[[truth]], np.ones(1)

    def latent(self, worlds: np.ndarray, truth: int) -> Latent:
        g, p = self.grid(worlds, truth)
        return Latent("belief", "the vertex of the belief simplex at the true world (a point mass)", g, p)


class DesirePrior(Protocol):
    """The observer's prior over desires: utilities (n_desires, n_types), weights, and the step cost."""

    cost: float

    def grid(self, n_types: int) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class UtilityGrid:
    """Each type's utility takes each of ``levels`` independently (uniform prior); ``cost`` per step.
    ``distinct``: only utility vectors without ties (a strict ranking of the types)."""

    levels: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0, 20.0)
    cost: float = 1.0
    distinct: bool = False

    def grid(self, n_types: int) -> tuple[np.ndarray, np.ndarray]:
        g = np.array([u for u in product(self.levels, repeat=n_types)
                      if not self.distinct or len(set(u)) == n_types], dtype=np.float64)
        return g, np.full(len(g), 1.0 / len(g))

    def latent(self, n_types: int) -> Latent:
        g, p = self.grid(n_types)
        kind = "strict rankings in" if self.distinct else ""
        return Latent("desire", f"utility vector over {n_types} types {kind} {list(self.levels)}^{n_types} "
                      f"(step cost {self.cost})".replace("  ", " "), g, p)


@dataclass(frozen=True)
class BayesUpdate:
    """Bayes' rule with deterministic observations: condition the belief on the worlds consistent with what
    was seen; uniform over them when the belief gave them no mass."""

    def condition(self, beliefs: np.ndarray, members: np.ndarray) -> np.ndarray:
        b = np.where(members, beliefs, 0.0)
        mass = b.sum(axis=-1, keepdims=True)
        uniform = members / members.sum()
        return np.where(mass > 0, b / np.where(mass > 0, mass, 1.0), uniform)


@dataclass
class PlanResult:
    """Values of the belief MDP: for each information set key, ``next_value[key]`` (B or 1, D, n_cells + 1):
    the value of stepping onto each cell (the expected value over what is seen there), last column -inf."""

    keys: dict[tuple, np.ndarray] = field(default_factory=dict)  # key -> members (n_worlds,) bool
    next_value: dict[tuple, np.ndarray] = field(default_factory=dict)
    eat_value: dict[tuple, np.ndarray] = field(default_factory=dict)  # key -> (D, n_cells) utility, -inf: no eat
    iterations: int = 0


def info_key(revealed: np.ndarray, world: np.ndarray) -> tuple:
    return tuple(int(w) if r else None for r, w in zip(revealed, world, strict=True))


@dataclass(frozen=True)
class BeliefSpacePlanner:
    """Boltzmann-rational agent on exact belief-space value iteration (see the module docstring).

    Values are optimal (hard max) given the agent's belief; actions are chosen with probability proportional
    to exp(beta * Q) (Baker et al. 2017). Vectorised over every (initial belief, desire) pair at once. Within
    an information set, moves are deterministic, so value iteration's fixed point is the best target (an
    exit cell where something new comes into view, or a truck to eat at) minus the step cost times its
    shortest distance; ``method="distance"`` computes it directly, ``"sweeps"`` by Bellman sweeps.

    ``myopic=True`` swaps in a motion-heuristic agent (our simplification of the paper's cue-based comparison
    model, as an agent): it heads for the best truck in view by shortest distance, assigns no value to
    looking (spots not yet seen count as empty) and replans when a new spot comes into view.
    """

    beta: float = 1.0
    update: BayesUpdate = field(default_factory=BayesUpdate)
    method: str = "distance"  # or "sweeps": textbook synchronous Bellman sweeps (the reference; slower)
    myopic: bool = False  # a motion-heuristic agent: no value of information (see the class docstring)

    def noise_latent(self, t: int) -> Latent:
        """The exogenous noise of step ``t``: the action is argmax(beta * Q + noise) (Gumbel-max), which is a
        draw from the Boltzmann policy softmax(beta * Q)."""
        return Latent(f"noise_{t}", "Gumbel(0, 1) per action (up, down, left, right, eat): exogenous")

    @staticmethod
    def _sweeps(nxt: np.ndarray, eat: np.ndarray, trans_pad: np.ndarray, cells: np.ndarray,
                cost: float) -> np.ndarray:
        """Hard-max value iteration over the region's cells until no value changes."""
        tr, eat_r = trans_pad[cells], eat[:, cells][None]
        v = np.full((*nxt.shape[:2], len(cells)), -np.inf)
        for _ in range(nxt.shape[-1] + 2):  # a deterministic graph converges within n_cells sweeps
            new = np.maximum(nxt[:, :, tr].max(axis=-1) - cost, eat_r)
            if np.array_equal(new, v):
                break
            v = new
            nxt[:, :, cells] = v
        return v

    def plan(self, world: GridWorld, vis: np.ndarray, worlds: np.ndarray, beliefs: np.ndarray,
             utilities: np.ndarray, cost: float, start: int, needed: np.ndarray | None = None) -> PlanResult:
        """Solve the belief MDP for every belief (B, W) and utility vector (D, T) from ``start``.

        ``needed`` (n_cells,) bool: cells where values of belief-dependent (non-singleton) information sets
        are wanted (default all); the cells where something new comes into view are always added, since
        less informed sets look them up."""
        trans = world.transitions
        n_cells, n_spots = vis.shape
        spot_cell = np.array([world.index_of(c) for c in world.spots.values()])
        trans_pad = np.where(trans < 0, n_cells, trans)
        util_pad = np.concatenate([utilities, np.full((len(utilities), 1), -np.inf)], axis=1)  # EMPTY -> -inf
        out = PlanResult()
        r0 = vis[start]
        needed = np.ones(n_cells, dtype=bool) if needed is None else needed | (vis & ~r0).any(axis=1)
        # revealed sets reachable from the start, most revealed first
        free = np.flatnonzero(~r0)
        subsets = [r0 | np.isin(np.arange(n_spots), free[list(m)]) for n in range(len(free), -1, -1)
                   for m in _combinations(len(free), n)]
        for revealed in subsets:
            patterns: dict[tuple, np.ndarray] = {}
            for i, w in enumerate(worlds):
                patterns.setdefault(info_key(revealed, w), np.zeros(len(worlds), dtype=bool))[i] = True
            for key, members in patterns.items():
                self._solve(out, key, members, revealed, worlds, beliefs, util_pad, cost, vis, trans_pad,
                            spot_cell, n_cells, needed)
        return out

    def _solve(self, out: PlanResult, key, members, revealed, worlds, beliefs, util_pad, cost, vis, trans_pad,
               spot_cell, n_cells, needed) -> None:
        single = members.sum() == 1
        n_b = 1 if single else len(beliefs)
        n_d = len(util_pad)
        region = np.ones(n_cells, dtype=bool) if self.myopic else ~(vis & ~revealed).any(axis=1)
        nxt = np.full((n_b, n_d, n_cells + 1), -np.inf)
        # exits: stepping there reveals more; the value is the expectation over what is seen
        b_here = self.update.condition(beliefs, members) if not single else None
        for cell in np.flatnonzero(~region):
            rev2 = revealed | vis[cell]
            total = np.zeros((n_b, n_d))
            for child_key in {info_key(rev2, w) for w in worlds[members]}:
                child = out.keys[child_key]
                v = out.next_value[child_key][:, :, cell]  # (1 or B, D): the child's value of standing there
                if single:
                    total = total + v
                else:
                    prob = (b_here * child).sum(axis=1)[:, None]
                    total = total + np.where(prob > 0, prob * v, 0.0)
            nxt[:, :, cell] = total
        eat = np.full((n_d, n_cells), -np.inf)
        content = worlds[np.flatnonzero(members)[0]]
        for k, cell in enumerate(spot_cell):
            if revealed[k] and content[k] != EMPTY:
                eat[:, cell] = util_pad[:, content[k]]
        cells = np.flatnonzero(region & (needed | single))
        if self.method == "sweeps":
            v = self._sweeps(nxt, eat, trans_pad, np.flatnonzero(region), cost)
            nxt[:, :, np.flatnonzero(region)] = v
            out.keys[key], out.next_value[key], out.eat_value[key] = members, nxt, eat
            return
        # The fixed point of hard-max value iteration on a deterministic graph: the best target (an exit cell,
        # or eating at a spot) minus the step cost times its shortest distance through the region.
        dist = _region_distances(trans_pad[:, :4], region, cells)  # (len(cells), n_cells)
        targets = np.flatnonzero((~region | np.isfinite(eat).any(axis=0)) & np.isfinite(dist).any(axis=0))
        value = np.where(region[targets], eat[None, :, targets], nxt[:, :, targets])  # (n_b, n_d, J)
        d = dist[:, targets]  # (n_cells_needed, J)
        with np.errstate(invalid="ignore"):
            step = np.where(np.isfinite(d), -cost * np.where(np.isfinite(d), d, 0.0), -np.inf)
        v = np.full((n_b, n_d, len(cells)), -np.inf)
        for chunk in np.array_split(np.arange(n_b), max(1, n_b * n_d * d.size // 4_000_000)):
            v[chunk] = (value[chunk][:, :, None, :] + step[None, None]).max(axis=-1)
        nxt[:, :, cells] = v
        out.keys[key], out.next_value[key], out.eat_value[key] = members, nxt, eat

    @staticmethod
    def q_values(plan: PlanResult, key: tuple, cell: int, trans: np.ndarray, cost: float) -> np.ndarray:
        """(B or 1, D, 5) action values at ``cell`` in information set ``key``: four moves (-inf where
        blocked), then eating (-inf where there is nothing to eat)."""
        nxt, eat = plan.next_value[key], plan.eat_value[key]
        tr = np.where(trans[cell] < 0, nxt.shape[-1] - 1, trans[cell])
        return np.concatenate([nxt[:, :, tr] - cost, np.broadcast_to(eat[None, :, cell, None],
                                                                     (*nxt.shape[:2], 1))], axis=-1)

    def step_log_likelihood(self, plan: PlanResult, world: GridWorld, vis: np.ndarray, worlds: np.ndarray,
                            truth: int, states: np.ndarray, complete: bool, cost: float,
                            n_beliefs: int) -> np.ndarray:
        """(B, D, n_actions) log-probability of each observed action (moves, then eating if ``complete``)."""
        trans = world.transitions
        revealed = vis[states[0]].copy()
        steps = []
        for t in range(len(states) - 1 + int(complete)):
            q = self.q_values(plan, info_key(revealed, worlds[truth]), int(states[t]), trans, cost)
            chosen = 4 if t == len(states) - 1 else int(np.flatnonzero(trans[states[t]] == states[t + 1])[0])
            bq = self.beta * q
            with np.errstate(invalid="ignore"):
                lp = bq[..., chosen] - logsumexp(bq, axis=-1)
            if not np.isfinite(lp).any():
                raise ScenarioError(f"path step {t} is impossible for every agent the model considers")
            steps.append(np.broadcast_to(lp, (n_beliefs, lp.shape[1])))
            if t + 1 < len(states):
                revealed |= vis[states[t + 1]]
        return np.stack(steps, axis=-1) if steps else np.zeros((n_beliefs, plan_desires(plan), 0))


def _region_distances(trans: np.ndarray, region: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Shortest step counts from each region cell to every cell, moving only through region cells (the target
    itself may lie outside: stepping onto it ends the region); inf where unreachable."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import shortest_path

    n = len(trans)
    src, dst = np.nonzero(trans[:n] < n)
    dst = trans[src, dst]
    keep = region[src]
    graph = csr_matrix((np.ones(keep.sum()), (src[keep], dst[keep])), shape=(n, n))
    return shortest_path(graph, method="D", directed=True, unweighted=True, indices=cells)


def plan_desires(plan: PlanResult) -> int:
    return next(iter(plan.eat_value.values())).shape[0]


def _combinations(n: int, k: int):
    from itertools import combinations

    return combinations(range(n), k)
