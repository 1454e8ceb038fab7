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

__all__ = ["CausalResult", "counterfactual_query", "foodtruck_scm", "interventional_query"]


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
