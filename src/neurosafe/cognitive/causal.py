"""Causal queries on agent models with ChiRho: interventions (``do``) and counterfactuals.

ChiRho (Basis research; built on Pyro) represents a counterfactual as parallel worlds that share their
exogenous noise (``MultiWorldCounterfactual``; Pearl's twin-network construction, Balke & Pearl 1994). For
models whose exogenous sites are discrete with finite support, :func:`counterfactual_query` is exact: it
enumerates every joint assignment of the exogenous sites, runs the model under ChiRho's ``do`` and
multi-world handlers, weights each run by its prior probability in the factual world, keeps the runs that
agree with the evidence there (abduction), and reads the query in the intervened world (prediction).

:func:`foodtruck_scm` is a structural version of the food-truck agent for the question "would the agent have
walked past the first truck if the hidden spot had been visible?": the agent walks past the visible truck
to check the hidden spot iff it believes its favourite type is there, flipped by exogenous noise; its belief
about the hidden spot is the truth when the spot is visible and its own guess otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import product

import numpy as np

from neurosafe.cognitive.errors import ScenarioError

__all__ = ["AgentCounterfactual", "CausalResult", "agent_counterfactual", "counterfactual_query", "foodtruck_scm",
           "gumbel_posterior", "interventional_query"]


@dataclass
class CausalResult:
    """Posterior distribution of the query in the intervened world, its mean, and the trace: one row per
    exogenous assignment consistent with the evidence (assignment, posterior weight, factual and
    counterfactual values of every site)."""

    distribution: dict[float, float]
    mean: float
    traces: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"distribution": self.distribution, "mean": self.mean, "n_traces": len(self.traces)}


def _scalar(x) -> float:
    return float(np.asarray(x.detach().cpu()).reshape(-1)[0])


def counterfactual_query(model: Callable[[], object], supports: dict[str, Sequence], intervention: dict,
                         evidence: dict, query: str) -> CausalResult:
    """P(query in the world where ``intervention`` holds | ``evidence`` in the factual world), exactly.

    ``supports``: every stochastic site of ``model`` -> its finite support. ``intervention``: site -> value
    (``do``). ``evidence``: site -> value observed in the factual world (any site, also deterministic ones).
    """
    import pyro
    import torch
    from chirho.counterfactual.handlers import MultiWorldCounterfactual
    from chirho.indexed.ops import IndexSet, gather
    from chirho.interventional.handlers import do
    from chirho.observational.handlers import condition

    if not supports:
        raise ScenarioError("supports must name the model's stochastic sites")
    factual = IndexSet(**{name: {0} for name in intervention})
    other = IndexSet(**{name: {1} for name in intervention})
    actions = {k: torch.as_tensor(v, dtype=torch.get_default_dtype()) for k, v in intervention.items()}
    names = list(supports)
    rows, weights = [], []
    for values in product(*(supports[n] for n in names)):
        data = {n: torch.as_tensor(v) for n, v in zip(names, values, strict=True)}
        with MultiWorldCounterfactual(), do(actions=actions), condition(data=data):
            trace = pyro.poutine.trace(model).get_trace()
            missing = [n for n, site in trace.nodes.items()
                       if site["type"] == "sample" and not site["is_observed"] and n not in data]
            if missing:
                raise ScenarioError(f"supports must cover every stochastic site; missing {missing}")
            log_w = sum(_scalar(gather(site["fn"].log_prob(site["value"]), factual, event_dim=0).sum())
                        for n, site in trace.nodes.items() if site["type"] == "sample" and n in data)
            fact = {n: _scalar(gather(s["value"], factual, event_dim=0)) for n, s in trace.nodes.items()
                    if s["type"] == "sample"}
            cf = {n: _scalar(gather(s["value"], other, event_dim=0)) for n, s in trace.nodes.items()
                  if s["type"] == "sample"}
        if query not in cf:
            raise ScenarioError(f"query site {query!r} is not in the model (sites: {sorted(cf)})")
        unknown = set(evidence) - set(fact)
        if unknown:
            raise ScenarioError(f"evidence names unknown sites {sorted(unknown)}")
        if np.isfinite(log_w) and all(abs(fact[k] - float(v)) < 1e-9 for k, v in evidence.items()):
            rows.append({"assignment": dict(zip(names, values, strict=True)), "factual": fact,
                         "counterfactual": cf})
            weights.append(log_w)
    if not rows:
        raise ScenarioError("the evidence has probability zero under the model")
    w = np.exp(np.array(weights) - max(weights))
    w /= w.sum()
    dist: dict[float, float] = {}
    for row, p in zip(rows, w, strict=True):
        row["weight"] = float(p)
        dist[row["counterfactual"][query]] = dist.get(row["counterfactual"][query], 0.0) + float(p)
    return CausalResult(dist, float(sum(k * p for k, p in dist.items())), rows)


def interventional_query(model: Callable[[], object], supports: dict[str, Sequence], intervention: dict,
                         query: str) -> CausalResult:
    """P(query | do(intervention)): the intervened world with no evidence."""
    return counterfactual_query(model, supports, intervention, {}, query)


def foodtruck_scm(p_favourite: Sequence[float] = (1 / 3, 1 / 3, 1 / 3),
                  p_content: Sequence[float] = (1 / 3, 1 / 3, 1 / 3),
                  p_guess: Sequence[float] = (1 / 3, 1 / 3, 1 / 3), p_visible: float = 0.0,
                  noise: float = 0.1) -> tuple[Callable[[], object], dict[str, list]]:
    """The structural food-truck agent (module docstring) and its exogenous supports. Codes: favourite type
    0 = K (the visible truck), 1 = L, 2 = M; hidden-spot content and guess 0 = nothing, 1 = L, 2 = M.
    Deterministic sites: ``belief`` (believed content of the hidden spot) and ``walks_past`` (1: the agent
    walks past K to check the hidden spot)."""
    import pyro
    import pyro.distributions as dist
    import torch

    def model():
        favourite = pyro.sample("favourite", dist.Categorical(torch.tensor(p_favourite)))
        content = pyro.sample("content", dist.Categorical(torch.tensor(p_content)))
        guess = pyro.sample("guess", dist.Categorical(torch.tensor(p_guess)))
        visible = pyro.sample("visible", dist.Bernoulli(torch.tensor(float(p_visible))))
        flip = pyro.sample("flip", dist.Bernoulli(torch.tensor(float(noise))))
        belief = pyro.deterministic("belief", torch.where(visible.bool(), content, guess))
        wants = ((belief == favourite) & (favourite > 0)).float()
        return pyro.deterministic("walks_past", (wants + flip) % 2)

    supports = {"favourite": [0, 1, 2], "content": [0, 1, 2], "guess": [0, 1, 2], "visible": [0.0, 1.0],
                "flip": [0.0, 1.0]}
    return model, supports


@dataclass
class AgentCounterfactual:
    """A counterfactual (or interventional) query on the planning BToM agent (:func:`agent_counterfactual`).

    ``value``: the query's posterior probability (``eats:S``, ``looks:S``, ``detour``) or mean (``moves``) in
    the intervened world, with its Monte Carlo standard error; ``factual_value``: the same quantity in the
    factual world (for a counterfactual: what the observed path shows; for ``mode="interventional"``: without
    the intervention, on the same fresh noise). ``eats`` / ``factual_eats``: where the
    agent eats ("none": not within the horizon). ``queries``: every standard query (each spot's ``eats:`` and
    ``looks:``, ``detour``, ``moves``) -> factual and intervened value and standard error. ``samples``: per
    posterior draw, the latents, both worlds' outcomes and the intervened world's cells (n, horizon);
    ``trace``: the Pyro trace of the twin-world run
    (every site with its factual and intervened values; chirho's ``gather`` with ``IndexSet(site={0 or 1})``
    selects a world)."""

    query: str
    value: float
    stderr: float
    factual_value: float
    eats: dict[str, float]
    factual_eats: dict[str, float]
    intervention: dict
    n_samples: int
    mode: str = "counterfactual"
    queries: dict[str, dict[str, float]] = field(default_factory=dict)
    samples: dict[str, np.ndarray] = field(default_factory=dict)
    trace: object = None

    def to_dict(self) -> dict:
        return {"query": self.query, "mode": self.mode, "intervention": self.intervention, "value": self.value,
                "stderr": self.stderr, "factual_value": self.factual_value, "eats": self.eats,
                "factual_eats": self.factual_eats, "n_samples": self.n_samples, "queries": self.queries}


QUERIES = ("eats:<spot>", "looks:<spot>", "detour", "moves")


def _parse_intervention(program, intervention: dict) -> dict:
    """Intervention -> {site: value}: ``visible`` (every hidden spot) or ``visible_<spot>`` -> 0/1; ``desire``
    -> a utility vector (list, or {type: utility}) on the desire grid; ``belief`` -> a belief vector on the grid."""
    import torch

    if not isinstance(intervention, dict) or not intervention:
        raise ScenarioError("intervention must be a non-empty mapping, e.g. {'visible': 1}")
    scenario = program.scenario
    names = [lat.name for lat in program.visibility_latents]
    out: dict = {}
    for key, value in intervention.items():
        if key == "visible" or key in names:
            if not names:
                raise ScenarioError("no spot is hidden from the start: there is no visibility to intervene on")
            if value not in (0, 1, True, False):
                raise ScenarioError(f"{key} must be 0 or 1; got {value!r}")
            for n in names if key == "visible" else [key]:
                out[n] = torch.tensor(float(value), dtype=torch.float64)
        elif key in ("desire", "belief"):
            lat = program.desire_latent if key == "desire" else program.belief_latent
            if isinstance(value, dict) and key == "desire":
                unknown = set(value) - set(scenario.types)
                if unknown or len(value) != len(scenario.types):
                    raise ScenarioError(f"desire must give a utility for each type {scenario.types}; got {value}")
                value = [value[t] for t in scenario.types]
            try:
                vec = np.asarray(value, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError) as err:
                raise ScenarioError(f"{key} must be a list of numbers; got {value!r}") from err
            hits = (np.flatnonzero(np.all(np.abs(lat.support - vec) < 1e-9, axis=1))
                    if vec.shape == lat.support.shape[1:] else [])
            if not len(hits):
                raise ScenarioError(f"{key} {vec.tolist()} is not a point of the model's grid ({lat.domain})")
            out[key] = torch.tensor(int(hits[0]))
        else:
            raise ScenarioError(f"unknown intervention {key!r}; intervene on 'visible', "
                                f"{', '.join(repr(n) for n in names)}{', ' if names else ''}'desire' or 'belief'")
    return out


def _query_values(query: str, scenario, eats: np.ndarray, moves: np.ndarray, looked: np.ndarray,
                  distance: np.ndarray) -> np.ndarray:
    spots = scenario.spot_names
    if query == "moves":
        return moves.astype(float)
    if query == "detour":
        ok = eats >= 0
        return (ok & (moves > np.where(ok, distance[np.clip(eats, 0, None)], 0))).astype(float)
    kind, _, spot = query.partition(":")
    if kind not in ("eats", "looks") or spot not in spots:
        raise ScenarioError(f"unknown query {query!r}; choose one of {QUERIES} with a spot of {spots}")
    k = spots.index(spot)
    return (eats == k).astype(float) if kind == "eats" else ((looked.astype(np.int64) >> k) & 1).astype(float)


def gumbel_posterior(logits: np.ndarray, action: int, rng: np.random.Generator) -> np.ndarray:
    """Exogenous Gumbel noise g (n, K) drawn from its posterior given argmax(logits + g) = ``action``
    (top-down: the max is Gumbel(logsumexp(logits)); every other finite coordinate is a Gumbel truncated below
    it, -log(exp(-max) + exp(-G)); coordinates with -inf logits keep their prior). Maddison, Tarlow & Minka
    (2014), A* sampling; Oberst & Sontag (2019), Gumbel-max structural causal models."""
    from scipy.special import logsumexp

    finite = np.isfinite(logits)
    safe = np.where(finite, logits, 0.0)
    top = logsumexp(np.where(finite, logits, -np.inf), axis=-1) + rng.gumbel(size=logits.shape[:-1])
    prior = rng.gumbel(size=logits.shape)
    trunc = -np.logaddexp(-top[..., None], -(safe + prior))  # Gumbel(logit) truncated at top
    g = np.where(finite, trunc - safe, prior)
    g[..., action] = top - safe[..., action]
    return g


def agent_counterfactual(scenario, intervention: dict, query: str = "eats:A", n_samples: int = 2000,
                         seed: int = 0, horizon: int | None = None, model=None,
                         mode: str = "counterfactual") -> AgentCounterfactual:
    """Counterfactual query on the full planning BToM agent, e.g. "would the agent have walked over to look
    at the hidden spot if it had been visible from the start?": ``agent_counterfactual(scenario,
    {"visible": 1}, "looks:B")``.

    Twin-world counterfactual (Pearl's abduction, action, prediction; Balke & Pearl 1994) on the Pyro program
    of :class:`~neurosafe.cognitive.program.AgentProgram`. Abduction: ``n_samples`` (initial belief, desire)
    pairs are drawn from the exact posterior given the observed path (enumeration, :meth:`BToM.likelihood`),
    and each step's exogenous Gumbel noise from its exact posterior given the observed action
    (:func:`gumbel_posterior`; steps after the path keep their prior). Action and prediction: ChiRho's
    ``MultiWorldCounterfactual`` and ``do(intervention)`` run the program once with the factual and the
    intervened world side by side, sharing every exogenous site; a factor conditions the factual world on the
    observed path (it checks that each draw reproduces it). ``mode="interventional"``: the noise keeps its
    prior (P(query | do(intervention)) with the agent's posterior mental states).

    Queries on the intervened world: ``eats:S`` (it eats at spot S within the horizon), ``looks:S`` (before
    eating it enters a cell from which S is in line of sight on the real map, i.e. walks over to look),
    ``detour`` (it eats after more moves than the shortest path from the start to where it eats), ``moves``
    (mean moves before eating or the horizon). ``horizon`` (default: path length + rows + columns).
    """
    import pyro
    import torch
    from chirho.counterfactual.handlers import MultiWorldCounterfactual
    from chirho.indexed.ops import IndexSet, gather
    from chirho.interventional.handlers import do
    from chirho.observational.handlers import condition

    from neurosafe.cognitive.btom import BToM, step_distances
    from neurosafe.cognitive.program import AgentProgram, observed_actions, torch_threads
    from neurosafe.core.seeds import make_rng

    if mode not in ("counterfactual", "interventional"):
        raise ScenarioError(f"mode must be 'counterfactual' or 'interventional'; got {mode!r}")
    if n_samples < 1:
        raise ScenarioError(f"n_samples must be at least 1; got {n_samples}")
    model = model or BToM.variant("btom", scenario)
    acts = observed_actions(scenario)
    horizon = len(acts) + sum(scenario.world.shape) if horizon is None else int(horizon)
    if horizon < len(acts):
        raise ScenarioError(f"horizon {horizon} is shorter than the observed path ({len(acts)} actions)")
    probe = AgentProgram(model, scenario, beliefs=[0], desires=[0])
    sites = _parse_intervention(probe, intervention)
    _query_values(query, scenario, np.zeros(1, int), np.zeros(1), np.zeros(1), np.zeros(len(scenario.spots)))
    # abduction of the latents: exact posterior over (belief, desire) given the path
    table = model.likelihood(scenario)
    logp = table.loglik.sum(axis=-1) + np.log(table.belief_prior)[:, None] + np.log(table.desire_prior)[None]
    post = np.exp(logp - logp.max()).ravel()
    rng = make_rng(seed, "cognitive", "agent_counterfactual")
    flat = rng.choice(post.size, n_samples, p=post / post.sum())
    b, d = np.unravel_index(flat, logp.shape)
    extra_b = [int(sites["belief"])] if "belief" in sites else []
    extra_d = [int(sites["desire"])] if "desire" in sites else []
    program = AgentProgram(model, scenario, beliefs=np.concatenate([b, extra_b]).astype(int),
                           desires=np.concatenate([d, extra_d]).astype(int))
    # abduction of the exogenous noise: its posterior given each observed action
    cells, masks = program.path_states()
    noise = {}
    for t in range(horizon):
        if mode == "counterfactual" and t < len(acts):
            g = gumbel_posterior(program.logits(0, masks[t], cells[t], b, d), acts[t], rng)
        else:
            g = rng.gumbel(size=(n_samples, 5))
        noise[f"noise_{t}"] = torch.as_tensor(g)
    data = {"belief": torch.as_tensor(b), "desire": torch.as_tensor(d), **noise}
    observed = acts if mode == "counterfactual" else None
    with torch.no_grad(), torch_threads(1), MultiWorldCounterfactual(first_available_dim=-2), \
            do(actions=sites), condition(data=data):
        trace = pyro.poutine.trace(lambda: program(horizon, observed, particles=n_samples)).get_trace()
        names = list(sites)
        fact, other = IndexSet(**{n: {0} for n in names}), IndexSet(**{n: {1} for n in names})

        def world(site: str, index) -> np.ndarray:
            return gather(trace.nodes[site]["value"], index, event_dim=0).reshape(-1).numpy()

        out = {w: {s: world(s, ix) for s in ("eats", "moves", "looked")} for w, ix in (("f", fact), ("c", other))}
        paths = np.stack([world(f"cell_{t}", other) for t in range(horizon)]).astype(np.int64)
        if observed is not None:
            consistent = np.ones(n_samples, dtype=bool)
            for t in range(len(acts)):
                consistent &= world(f"action_{t}", fact) == acts[t]
            if not consistent.all():  # a draw whose factual world does not reproduce the path (a float tie)
                raise ScenarioError(f"{(~consistent).sum()} abduced draws do not reproduce the observed path")
    spot_cells = [scenario.world.index_of(c) for c in scenario.spots.values()]
    start = scenario.world.index_of(scenario.start)
    distance = np.array([step_distances(scenario, c)[start] for c in spot_cells])
    all_queries = [*(f"{k}:{s}" for k in ("eats", "looks") for s in scenario.spot_names), "detour", "moves"]
    table = {}
    for q in dict.fromkeys([query, *all_queries]):
        f, c = (_query_values(q, scenario, o["eats"].astype(int), o["moves"], o["looked"], distance)
                for o in (out["f"], out["c"]))
        se = float(c.std(ddof=1) / np.sqrt(n_samples)) if n_samples > 1 else float("nan")
        table[q] = {"factual": float(f.mean()), "intervened": float(c.mean()), "stderr": se}
    names_ = [*scenario.spot_names, "none"]

    def where(e: np.ndarray) -> dict[str, float]:
        return {n: float(np.mean(np.where(e < 0, len(names_) - 1, e) == i)) for i, n in enumerate(names_)}

    samples = {"belief": b, "desire": d, "cells_intervened": paths.T,
               **{f"{k}_{'factual' if w == 'f' else 'intervened'}": v for w, o in out.items() for k, v in o.items()}}
    row = table[query]
    return AgentCounterfactual(query, row["intervened"], row["stderr"], row["factual"],
                               where(out["c"]["eats"].astype(int)), where(out["f"]["eats"].astype(int)),
                               dict(intervention), n_samples, mode, table, samples, trace)
