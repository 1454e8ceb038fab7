"""Bayesian theory of mind: joint inference of an agent's desires and initial beliefs from its path.

Baker, Jara-Ettinger, Saxe & Tenenbaum (2017), Nature Human Behaviour 1:0064 (the food-truck paradigm).
The observer inverts the agent model of :mod:`neurosafe.cognitive.agent`:
P(belief, desire | path) ∝ P(belief) P(desire) prod_t pi(a_t | s_t, belief_t, desire), by exact enumeration
over the discretized belief simplex and the desire grid (:func:`btom_infer`), by importance sampling from the
prior (:func:`btom_importance`), sequential Monte Carlo along the path (:func:`btom_smc`) or by stochastic
variational inference in Pyro (:func:`btom_svi`).

Comparison models (the paper's lesions): ``"true_belief"`` (the agent knows the world), ``"no_cost"`` (steps
are free) and ``"motion"`` (:func:`motion_heuristic`, a cue-based model with no mental states; our
simplification: desire ratings from how much the path approached each truck, the eaten one rated highest,
and the hidden-spot belief tilted towards well-rated types when the agent first headed for the hidden spot).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp

from neurosafe.cognitive.agent import (
    BeliefPrior,
    BeliefSpacePlanner,
    DesirePrior,
    LineOfSight,
    Percept,
    SimplexGrid,
    TrueBeliefPrior,
    UtilityGrid,
)
from neurosafe.cognitive.errors import ScenarioError
from neurosafe.cognitive.world import EMPTY, Scenario
from neurosafe.core.seeds import make_rng

__all__ = [
    "MODELS", "BToM", "BToMPosterior", "LikelihoodTable", "btom_importance", "btom_infer", "btom_smc", "btom_svi",
    "motion_heuristic", "step_distances",
]

MODELS = ("btom", "true_belief", "no_cost", "motion")
RATING = (1.0, 7.0)


@dataclass
class LikelihoodTable:
    """Step log-likelihoods ``loglik`` (B, D, n_actions) of the path under each (initial belief, desire)."""

    beliefs: np.ndarray  # (B, W)
    belief_prior: np.ndarray  # (B,)
    desires: np.ndarray  # (D, T)
    desire_prior: np.ndarray  # (D,)
    loglik: np.ndarray  # (B, D, n_actions)
    worlds: np.ndarray  # (W, n_spots)
    truth: int
    seconds: float = 0.0
    iterations: int = 0


@dataclass(frozen=True)
class BToM:
    """The observer's model: swap any module (see :mod:`neurosafe.cognitive.agent`)."""

    percept: Percept = field(default_factory=LineOfSight)
    beliefs: BeliefPrior = field(default_factory=SimplexGrid)
    desires: DesirePrior = field(default_factory=UtilityGrid)
    planner: BeliefSpacePlanner = field(default_factory=BeliefSpacePlanner)

    @classmethod
    def variant(cls, name: str, scenario: Scenario, beta: float | None = None) -> BToM:
        """The full model or a lesion (``"btom"``, ``"true_belief"``, ``"no_cost"``) with the scenario's settings."""
        s = scenario.model
        beta = s.beta if beta is None else beta
        desires = UtilityGrid(tuple(s.desire_levels), 0.0 if name == "no_cost" else s.cost)
        beliefs = TrueBeliefPrior() if name == "true_belief" else SimplexGrid(s.belief_resolution)
        if name not in ("btom", "true_belief", "no_cost"):
            raise ScenarioError(f"unknown model {name!r}; choose one of {MODELS}")
        return cls(beliefs=beliefs, desires=desires, planner=BeliefSpacePlanner(beta=beta))

    def likelihood(self, scenario: Scenario, beliefs: np.ndarray | None = None,
                   desires: np.ndarray | None = None) -> LikelihoodTable:
        """Step log-likelihoods of the scenario's path on the prior grids (or on given belief/desire points)."""
        t0 = time.perf_counter()
        world, worlds = scenario.world, scenario.hypotheses()
        truth_row = scenario.content()
        hits = np.flatnonzero((worlds == truth_row).all(axis=1))
        if not len(hits):
            raise ScenarioError("the true world is not among the agent's hypotheses (two trucks of one type, or "
                                "no truck at all?)")
        truth = int(hits[0])
        b_grid, b_prior = self.beliefs.grid(worlds, truth)
        d_grid, d_prior = self.desires.grid(len(scenario.types))
        if beliefs is not None:
            b_grid, b_prior = beliefs, np.full(len(beliefs), 1.0 / len(beliefs))
        if desires is not None:
            d_grid, d_prior = desires, np.full(len(desires), 1.0 / len(desires))
        vis = self.percept.visibility(world)
        states = scenario.states()
        needed = np.zeros(len(world.cells), dtype=bool)
        needed[states] = True
        needed[world.transitions[states][world.transitions[states] >= 0]] = True
        plan = self.planner.plan(world, vis, worlds, b_grid, d_grid, self.desires.cost, int(states[0]), needed)
        loglik = self.planner.step_log_likelihood(plan, world, vis, worlds, truth, states, scenario.complete,
                                                  self.desires.cost, len(b_grid))
        return LikelihoodTable(b_grid, b_prior, d_grid, d_prior, loglik, worlds, truth,
                               time.perf_counter() - t0, plan.iterations)

    def infer(self, scenario: Scenario) -> BToMPosterior:
        return BToMPosterior.from_table(scenario, self.likelihood(scenario))


@dataclass
class BToMPosterior:
    """Joint posterior over (initial belief, desire) and its summaries, after every prefix of the path.

    ``desire_mean[t]`` (n_steps + 1, T): expected utility of each type after t actions; ``desire_rating``:
    the same on the 1-7 rating scale of the experiment; ``belief[t]`` (n_steps + 1, n_hidden, n_options):
    expected initial belief about each spot hidden at the start; ``top_desire[t]`` (T): posterior probability
    that each type is (jointly) the most liked.
    """

    scenario: str
    types: list[str]
    hidden_spots: list[str]
    options: list[str]
    joint: np.ndarray  # (B, D) final posterior
    desire_mean: np.ndarray
    desire_rating: np.ndarray
    belief: np.ndarray
    top_desire: np.ndarray
    desires: np.ndarray
    beliefs: np.ndarray
    seconds: float = 0.0
    model: str = "btom"

    @classmethod
    def from_table(cls, scenario: Scenario, table: LikelihoodTable, model: str = "btom") -> BToMPosterior:
        cum = np.concatenate([np.zeros((*table.loglik.shape[:2], 1)), np.cumsum(table.loglik, axis=-1)], axis=-1)
        logp = cum + np.log(table.belief_prior)[:, None, None] + np.log(table.desire_prior)[None, :, None]
        post = np.exp(logp - logsumexp(logp, axis=(0, 1), keepdims=True))  # (B, D, n_steps + 1)
        return cls._summarise(scenario, table.worlds, table.beliefs, table.desires, post, table.seconds, model)

    @classmethod
    def _summarise(cls, scenario, worlds, beliefs, desires, post, seconds, model) -> BToMPosterior:
        p_d = post.sum(axis=0)  # (D, n)
        p_b = post.sum(axis=1)  # (B, n)
        desire_mean = (desires.T @ p_d).T
        lo, hi = min(scenario.model.desire_levels), max(scenario.model.desire_levels)
        rating = RATING[0] + (RATING[1] - RATING[0]) * (desire_mean - lo) / (hi - lo)
        top = (desires == desires.max(axis=1, keepdims=True)).astype(float)
        top = top / top.sum(axis=1, keepdims=True)
        hidden, options, belief = _belief_marginals(scenario, worlds, beliefs, p_b)
        return cls(scenario.name, list(scenario.types), hidden, options, post[..., -1], desire_mean, rating,
                   belief, (top.T @ p_d).T, desires, beliefs, seconds, model)

    def to_dict(self) -> dict:
        final = {
            "desire_mean": dict(zip(self.types, self.desire_mean[-1].tolist(), strict=True)),
            "desire_rating": dict(zip(self.types, self.desire_rating[-1].tolist(), strict=True)),
            "top_desire": dict(zip(self.types, self.top_desire[-1].tolist(), strict=True)),
            "belief": {s: dict(zip(self.options, self.belief[-1, i].tolist(), strict=True))
                       for i, s in enumerate(self.hidden_spots)},
        }
        return {"scenario": self.scenario, "model": self.model, "seconds": self.seconds, **final,
                "over_time": {"desire_rating": self.desire_rating.tolist(), "belief": self.belief.tolist()}}

    def judgements(self) -> dict[tuple[str, str], float]:
        """Model predictions on the experiment's 1-7 scales: ("desire", type) and ("belief", option)."""
        out = {("desire", t): float(r) for t, r in zip(self.types, self.desire_rating[-1], strict=True)}
        for i in range(len(self.hidden_spots)):
            for j, o in enumerate(self.options):
                out[("belief", o)] = float(RATING[0] + (RATING[1] - RATING[0]) * self.belief[-1, i, j])
        return out


def _belief_marginals(scenario: Scenario, worlds, beliefs, p_b) -> tuple[list[str], list[str], np.ndarray]:
    names = scenario.spot_names
    vis0 = scenario.world.visibility[scenario.world.index_of(scenario.start)]
    hidden = [k for k in range(len(names)) if not vis0[k]]
    options = [*scenario.types, "none"]
    expected_b = p_b.T @ beliefs  # (n, W)
    out = np.zeros((p_b.shape[1], len(hidden), len(options)))
    for i, k in enumerate(hidden):
        for w, row in enumerate(worlds):
            j = len(scenario.types) if row[k] == EMPTY else int(row[k])
            out[:, i, j] += expected_b[:, w]
    return [names[k] for k in hidden], options, out


def btom_infer(scenario: Scenario, model: str = "btom", beta: float | None = None) -> BToMPosterior:
    """Posterior of the named model (``MODELS``) for one scenario, by exact enumeration."""
    if model == "motion":
        return motion_heuristic(scenario)
    t0 = time.perf_counter()
    out = BToM.variant(model, scenario, beta).infer(scenario)
    out.seconds, out.model = time.perf_counter() - t0, model
    return out


def btom_importance(scenario: Scenario, n_beliefs: int = 64, n_desires: int = 64, seed: int = 0,
                    model: BToM | None = None) -> BToMPosterior:
    """Self-normalised importance sampling with the prior as proposal: ``n_beliefs`` initial beliefs and
    ``n_desires`` desires drawn independently from the prior grids, weighted on every pair by the path's
    likelihood (the planner runs only on the drawn points)."""
    model = model or BToM.variant("btom", scenario)
    worlds = scenario.hypotheses()
    b_grid, b_prior = model.beliefs.grid(worlds, 0)
    d_grid, d_prior = model.desires.grid(len(scenario.types))
    rng = make_rng(seed, "btom", "importance")
    bs = b_grid[rng.choice(len(b_grid), n_beliefs, p=b_prior)]
    ds = d_grid[rng.choice(len(d_grid), n_desires, p=d_prior)]
    table = model.likelihood(scenario, beliefs=bs, desires=ds)
    return BToMPosterior.from_table(scenario, table, model="importance")


def btom_smc(scenario: Scenario, n_particles: int = 2000, seed: int = 0, model: BToM | None = None,
             ess_fraction: float = 0.5) -> BToMPosterior:
    """Sequential Monte Carlo over the path: particles (initial belief, desire) drawn from the prior are
    reweighted by each action's likelihood in turn and resampled (multinomial) when the effective sample size
    falls below ``ess_fraction`` of the particles; the posterior after every prefix is the weighted particle
    set. The latents are static, so there is no move step (Chopin 2002's resample-move without the move)."""
    model = model or BToM.variant("btom", scenario)
    worlds = scenario.hypotheses()
    b_grid, b_prior = model.beliefs.grid(worlds, 0)
    d_grid, d_prior = model.desires.grid(len(scenario.types))
    rng = make_rng(seed, "btom", "smc")
    bi = rng.choice(len(b_grid), n_particles, p=b_prior)
    di = rng.choice(len(d_grid), n_particles, p=d_prior)
    ub, b_inv = np.unique(bi, return_inverse=True)
    ud, d_inv = np.unique(di, return_inverse=True)
    table = model.likelihood(scenario, beliefs=b_grid[ub], desires=d_grid[ud])
    steps = table.loglik[b_inv, d_inv]  # (n_particles, n_actions)
    logw = np.zeros(n_particles)
    particles = np.arange(n_particles)
    post = np.zeros((len(ub), len(ud), steps.shape[1] + 1))
    for t in range(steps.shape[1] + 1):
        w = np.exp(logw - logsumexp(logw))
        np.add.at(post[..., t], (b_inv[particles], d_inv[particles]), w)
        if t == steps.shape[1]:
            break
        logw = logw + steps[particles, t]
        w = np.exp(logw - logsumexp(logw))
        if 1.0 / (w**2).sum() < ess_fraction * n_particles:
            particles = particles[rng.choice(n_particles, n_particles, p=w)]
            logw = np.zeros(n_particles)
    return BToMPosterior._summarise(scenario, table.worlds, table.beliefs, table.desires, post, table.seconds,
                                    "smc")


def btom_svi(scenario: Scenario, steps: int = 300, lr: float = 0.1, seed: int = 0,
             model: BToM | None = None) -> BToMPosterior:
    """Stochastic variational inference in Pyro: a guide q(belief) q(desire | belief) of categoricals, fit by
    maximising the ELBO with the guide's sites enumerated exactly (``TraceEnum_ELBO``) and Adam."""
    import pyro
    import pyro.distributions as dist
    import torch
    from pyro.infer import SVI, TraceEnum_ELBO
    from pyro.optim import Adam

    from neurosafe.core.seeds import child_seed

    model = model or BToM.variant("btom", scenario)
    table = model.likelihood(scenario)
    total = torch.as_tensor(table.loglik.sum(axis=-1), dtype=torch.float64)
    log_b = torch.as_tensor(np.log(table.belief_prior), dtype=torch.float64)
    log_d = torch.as_tensor(np.log(table.desire_prior), dtype=torch.float64)
    n_b, n_d = total.shape

    def prob_model():
        b = pyro.sample("belief", dist.Categorical(logits=log_b))
        d = pyro.sample("desire", dist.Categorical(logits=log_d))
        pyro.factor("path", total[b, d])

    def guide():
        phi_b = pyro.param("phi_b", torch.zeros(n_b, dtype=torch.float64))
        phi_d = pyro.param("phi_d", torch.zeros(n_b, n_d, dtype=torch.float64))
        b = pyro.sample("belief", dist.Categorical(logits=phi_b), infer={"enumerate": "parallel"})
        pyro.sample("desire", dist.Categorical(logits=phi_d[b]), infer={"enumerate": "parallel"})

    pyro.clear_param_store()
    pyro.set_rng_seed(child_seed(seed, "btom", "svi"))
    svi = SVI(prob_model, guide, Adam({"lr": lr}), loss=TraceEnum_ELBO(max_plate_nesting=0))
    for _ in range(steps):
        svi.step()
    with torch.no_grad():
        q_b = torch.softmax(pyro.param("phi_b"), 0)
        q = (q_b[:, None] * torch.softmax(pyro.param("phi_d"), 1)).numpy()
    pyro.clear_param_store()
    post = q[:, :, None]
    return BToMPosterior._summarise(scenario, table.worlds, table.beliefs, table.desires, post, 0.0, "svi")


def step_distances(scenario: Scenario, target: int) -> np.ndarray:
    """Shortest-path step counts from every free cell to ``target`` (BFS; inf where unreachable)."""
    trans = scenario.world.transitions
    dist = np.full(len(trans), np.inf)
    dist[target] = 0
    queue = deque([target])
    while queue:
        s = queue.popleft()
        for n in trans[s]:
            if n >= 0 and dist[n] == np.inf:
                dist[n] = dist[s] + 1
                queue.append(n)
    return dist


def motion_heuristic(scenario: Scenario) -> BToMPosterior:
    """The motion-cue comparison model (see the module docstring): no beliefs or planning, only approach."""
    t0 = time.perf_counter()
    world, states = scenario.world, scenario.states()
    truth = scenario.content()
    n_types, n = len(scenario.types), len(states)
    score = np.zeros((n, n_types))
    hidden_score = np.zeros(n)
    vis0 = world.visibility[states[0]]
    for k, name in enumerate(scenario.spot_names):
        dist = step_distances(scenario, world.index_of(scenario.spots[name]))
        approach = (dist[states[0]] - dist[states]) / np.maximum(1, np.arange(n))
        if truth[k] != EMPTY:
            score[:, truth[k]] = approach
        if not vis0[k]:
            seen = np.cumsum(world.visibility[states, k]) > 0
            hidden_score = np.where(seen, hidden_score, approach)
    if scenario.complete:
        eaten = truth[next(k for k, name in enumerate(scenario.spot_names)
                       if tuple(scenario.spots[name]) == tuple(scenario.path[-1] if scenario.path
                                                               else scenario.start))]
        score[-1, eaten] = 1.0
    score = np.clip(score, -1, 1)
    lo, hi = min(scenario.model.desire_levels), max(scenario.model.desire_levels)
    mean = lo + (hi - lo) * (score + 1) / 2
    rating = RATING[0] + (RATING[1] - RATING[0]) * (score + 1) / 2
    top = np.exp(5 * score) / np.exp(5 * score).sum(axis=1, keepdims=True)
    hidden = [s for k, s in enumerate(scenario.spot_names) if not vis0[k]]
    options = [*scenario.types, "none"]
    logits = np.concatenate([score, np.zeros((n, 1))], axis=1) * np.maximum(hidden_score, 0)[:, None] * 5
    belief = np.exp(logits - logits.max(axis=1, keepdims=True))
    belief = np.repeat((belief / belief.sum(axis=1, keepdims=True))[:, None], len(hidden), axis=1)
    return BToMPosterior(scenario.name, list(scenario.types), hidden, options, np.ones((1, 1)), mean, rating,
                         belief, top, np.zeros((1, n_types)), np.zeros((1, 1)), time.perf_counter() - t0, "motion")
