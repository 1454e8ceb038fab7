"""The BToM agent as a Pyro program assembled from its modules' typed latents.

Baker, Jara-Ettinger, Saxe & Tenenbaum (2017), Nature Human Behaviour 1:0064. :class:`AgentProgram` turns a
:class:`~neurosafe.cognitive.btom.BToM` (percept, belief prior, belief update, desire prior, planner) and a
scenario into a generative Pyro program whose sample sites are the modules' declared latents
(:class:`~neurosafe.cognitive.agent.Latent`):

- ``visible_<spot>`` (percept): 0 = the spot is hidden from the start as the map's walls make it (the factual
  value, prior mass 1), 1 = it is in view from everywhere; the variable ``do`` interventions act on;
- ``belief`` (belief prior): index of the agent's initial belief on the discretized belief simplex;
- ``desire`` (desire prior): index of its utility vector on the desire grid;
- ``noise_<t>`` (planner): exogenous Gumbel(0, 1) noise per action at step t; the action ``action_<t>`` is
  argmax(beta * Q + noise), a structural equation whose marginal is the Boltzmann policy softmax(beta * Q)
  (the Gumbel-max trick; Oberst & Sontag 2019 use it to make counterfactuals of categorical choices
  well defined). With ``noise=False`` the action is a ``Categorical(logits=beta * Q)`` site instead (the
  same distribution; the form to enumerate or condition on an observed path).

The belief update (``BayesUpdate``) is deterministic and acts through the planner's information sets. The
numbers come from the modules' own numpy computations: the planner is solved once, before the program runs,
for every visibility setting, every information set and every (belief, desire) point the program may visit,
and the program looks the action values up (a thin layer: swapping a module changes the tables and the
latents, not this code). The trajectory runs until the agent eats or the horizon ends (``cell_<t>``: the cell
after step t); deterministic sites ``eats`` (spot index, -1: not within the horizon), ``moves`` and ``looked``
(bitmask of the spots whose line of sight on the real map the agent entered before eating) summarise it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from neurosafe.cognitive.agent import Latent, hidden_spots, info_key
from neurosafe.cognitive.btom import BToM
from neurosafe.cognitive.errors import ScenarioError
from neurosafe.cognitive.world import Scenario

__all__ = ["AgentProgram", "observed_actions", "torch_threads"]

EAT = 4


def observed_actions(scenario: Scenario) -> list[int]:
    """The path as action codes: 0-3 the moves of :data:`~neurosafe.cognitive.world.MOVES`, then 4 (eat) if
    the path is complete."""
    trans = scenario.world.transitions
    states = scenario.states()
    acts = [int(np.flatnonzero(trans[states[t]] == states[t + 1])[0]) for t in range(len(states) - 1)]
    return [*acts, EAT] if scenario.complete else acts


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Run torch on ``n`` threads inside the block (the program's small gathers are ~100x slower on a busy
    machine with torch's default thread pool), restoring the setting after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class _Tables:
    nv: np.ndarray  # (V, M, Bu, Du, C + 1) value of stepping onto each cell; last column -inf
    eat: np.ndarray  # (V, M, Du, C) utility of eating at each cell; -inf where there is nothing
    b_local: np.ndarray  # (B,) belief grid index -> Bu index (-1: not tabulated)
    d_local: np.ndarray  # (D,) desire grid index -> Du index
    vismask: np.ndarray  # (V, C) bitmask of the spots in view from each cell
    geometry: np.ndarray  # (C,) bitmask of the spots in line of sight on the real map
    trans_pad: np.ndarray  # (C, 4) next cell, C where blocked
    spot_of_cell: np.ndarray  # (C,) spot index or -1


class AgentProgram:
    """The agent model of ``model`` in ``scenario`` as a Pyro program (module docstring).

    ``beliefs`` / ``desires``: indices into the belief and desire grids to tabulate action values for (default:
    all of them; a counterfactual query passes only the posterior draws it needs).
    """

    def __init__(self, model: BToM, scenario: Scenario, beliefs: np.ndarray | None = None,
                 desires: np.ndarray | None = None):
        self.model, self.scenario = model, scenario
        world = scenario.world
        self.worlds = scenario.hypotheses()
        hits = np.flatnonzero((self.worlds == scenario.content()).all(axis=1))
        if not len(hits):
            raise ScenarioError("the true world is not among the agent's hypotheses")
        self.truth = int(hits[0])
        self.start = world.index_of(scenario.start, "start")
        self.belief_latent = _latent(model.beliefs, "belief", self.worlds, self.truth)
        self.desire_latent = _latent(model.desires, "desire", len(scenario.types))
        percept_latents = getattr(model.percept, "latents", None)
        self.visibility_latents: list[Latent] = percept_latents(world, self.start) if percept_latents else []
        self.hidden = hidden_spots(model.percept.visibility(world), self.start)
        if len(self.visibility_latents) != len(self.hidden):
            raise ScenarioError("the percept must declare one visibility latent per spot hidden from the start")
        n_b, n_d = len(self.belief_latent.prior), len(self.desire_latent.prior)
        b_idx = np.arange(n_b) if beliefs is None else np.unique(np.asarray(beliefs, dtype=np.int64))
        d_idx = np.arange(n_d) if desires is None else np.unique(np.asarray(desires, dtype=np.int64))
        self.tables = self._tabulate(b_idx, d_idx)
        self._torch = None

    @property
    def latents(self) -> list[Latent]:
        """Every latent the modules declare (the planner's noise for the first step stands for all steps)."""
        return [*self.visibility_latents, self.belief_latent, self.desire_latent, self.model.planner.noise_latent(0)]

    def _tabulate(self, b_idx: np.ndarray, d_idx: np.ndarray) -> _Tables:
        model, world = self.model, self.scenario.world
        base = model.percept.visibility(world)
        n_cells, n_spots = base.shape
        bits = 1 << np.arange(n_spots)
        n_v, n_m = 1 << len(self.hidden), 1 << n_spots
        trans_pad = np.where(world.transitions < 0, n_cells, world.transitions)
        cost = model.desires.cost
        nv = np.full((n_v, n_m, len(b_idx), len(d_idx), n_cells + 1), -np.inf)
        eat = np.full((n_v, n_m, len(d_idx), n_cells), -np.inf)
        vismask = np.zeros((n_v, n_cells), dtype=np.int64)
        b_grid, d_grid = self.belief_latent.support[b_idx], self.desire_latent.support[d_idx]
        for v in range(n_v):
            vis = base.copy()
            for j, k in enumerate(self.hidden):
                if v >> j & 1:
                    vis[:, k] = True
            vismask[v] = (vis * bits).sum(axis=1)
            plan = model.planner.plan(world, vis, self.worlds, b_grid, d_grid, cost, self.start)
            r0 = vismask[v, self.start]
            for m in range(n_m):
                key = info_key((m & bits) > 0, self.worlds[self.truth])
                if m & r0 != r0 or key not in plan.next_value:
                    continue
                nv[v, m] = plan.next_value[key]  # broadcasts a singleton (fully informed) belief axis
                eat[v, m] = plan.eat_value[key]
        b_local = np.full(len(self.belief_latent.prior), -1)
        b_local[b_idx] = np.arange(len(b_idx))
        d_local = np.full(len(self.desire_latent.prior), -1)
        d_local[d_idx] = np.arange(len(d_idx))
        spot_of_cell = np.full(n_cells, -1)
        for k, cell in enumerate(world.spots.values()):
            spot_of_cell[world.index_of(cell)] = k
        return _Tables(nv, eat, b_local, d_local, vismask, (world.visibility * bits).sum(axis=1), trans_pad,
                       spot_of_cell)

    def logits(self, v: int, mask: int, cell: int, b: np.ndarray, d: np.ndarray) -> np.ndarray:
        """beta * Q of the five actions for grid indices ``b``, ``d`` (arrays) in visibility setting ``v``,
        information set ``mask`` at ``cell`` (numpy; the same numbers the program computes)."""
        tb = self.tables
        bl, dl = tb.b_local[b], tb.d_local[d]
        qm = tb.nv[v, mask][bl, dl][..., tb.trans_pad[cell]] - self.model.desires.cost
        qe = tb.eat[v, mask][dl, cell]
        return self.model.planner.beta * np.concatenate([qm, qe[..., None]], axis=-1)

    def path_states(self) -> tuple[list[int], list[int]]:
        """Factual cells and information-set bitmasks (visibility setting 0) before each observed action."""
        tb, states = self.tables, self.scenario.states()
        cells, masks, mask = [], [], int(tb.vismask[0, states[0]])
        for t, a in enumerate(observed_actions(self.scenario)):
            cells.append(int(states[t]))
            masks.append(mask)
            if a != EAT:
                mask |= int(tb.vismask[0, states[t + 1]])
        return cells, masks

    def _tensors(self):
        import torch

        if self._torch is None:
            tb = self.tables
            self._torch = {name: torch.as_tensor(getattr(tb, name)) for name in tb.__dataclass_fields__}
        return self._torch

    def intervenable(self) -> list[str]:
        return [lat.name for lat in self.visibility_latents] + ["belief", "desire"]

    def __call__(self, horizon: int | None = None, observed: list[int] | None = None, particles: int | None = None,
                 noise: bool = True, enumerate_latents: bool = False):
        """Run the program. ``observed``: action codes to condition on (a ``Categorical`` observation when
        ``noise=False``; with noise, a factor that is 0 where the factual world's actions equal them and -inf
        elsewhere). ``particles``: a plate of that many independent agents (dim -1). ``enumerate_latents``:
        mark ``belief`` and ``desire`` for parallel enumeration."""
        import pyro
        import pyro.distributions as dist
        import torch
        from chirho.indexed.ops import IndexSet, gather

        tb = self._tensors()
        f64 = torch.float64
        horizon = len(observed) if horizon is None and observed is not None else horizon
        if horizon is None:
            raise ScenarioError("give a horizon or an observed path")
        v = torch.tensor(0)
        for j, lat in enumerate(self.visibility_latents):
            x = pyro.sample(lat.name, dist.Bernoulli(torch.tensor(float(lat.prior[1]), dtype=f64)))
            v = v + x.long() * (1 << j)
        plate = pyro.plate("particles", particles, dim=-1) if particles else contextlib.nullcontext()
        infer = {"enumerate": "parallel"} if enumerate_latents else {}
        with plate:  # the modules' own sites
            b = self.belief_latent.sample(infer)
            d = self.desire_latent.sample(infer)
        bl, dl = tb["b_local"][b], tb["d_local"][d]
        if (bl < 0).any() or (dl < 0).any():
            raise ScenarioError("a belief or desire outside the tabulated points reached the program")
        factual = IndexSet(**{name: {0} for name in self.intervenable()})
        cell = torch.tensor(self.start)
        mask = tb["vismask"][v, cell]
        looked = tb["geometry"][cell]
        done = torch.tensor(False)
        eaten, moves = torch.tensor(-1), torch.tensor(0)
        beta, cost = self.model.planner.beta, self.model.desires.cost
        for t in range(horizon):
            idx = tb["trans_pad"][cell]  # (..., 4)
            qm = tb["nv"][v[..., None], mask[..., None], bl[..., None], dl[..., None], idx] - cost
            qe = tb["eat"][v, mask, dl, cell][..., None]
            shape = torch.broadcast_shapes(qm.shape[:-1], qe.shape[:-1])
            logits = beta * torch.cat([qm.expand(*shape, 4), qe.expand(*shape, 1)], dim=-1)
            obs = None if observed is None or t >= len(observed) else torch.tensor(observed[t])
            if noise:
                with plate:
                    g = pyro.sample(f"noise_{t}", dist.Gumbel(torch.zeros(5, dtype=f64), 1.0).to_event(1))
                a = torch.where(done, -1, (logits + g).argmax(-1))
                pyro.deterministic(f"action_{t}", a.to(f64), event_dim=0)
                if obs is not None:
                    ok = gather(a, factual, event_dim=0) == obs
                    pyro.factor(f"observed_{t}", torch.where(ok, 0.0, -torch.inf).to(f64))
            else:
                with plate, pyro.poutine.mask(mask=~done):
                    a = pyro.sample(f"action_{t}", dist.Categorical(logits=logits), obs=obs)
                a = torch.where(done, -1, a)
            move = (a >= 0) & (a < EAT)
            nxt = torch.gather(idx.expand(*a.shape, 4), -1, a.clamp(0, 3)[..., None]).squeeze(-1)
            new_cell = torch.where(move & (nxt < len(tb["geometry"])), nxt, cell)
            ate = a == EAT
            eaten = torch.where(ate, tb["spot_of_cell"][cell], eaten)
            moves = moves + move.long()
            done = done | ate
            cell = new_cell
            pyro.deterministic(f"cell_{t}", cell.to(f64), event_dim=0)
            mask = mask | tb["vismask"][v, cell]
            looked = torch.where(done, looked, looked | tb["geometry"][cell])
        pyro.deterministic("eats", eaten.to(f64), event_dim=0)
        pyro.deterministic("moves", moves.to(f64), event_dim=0)
        pyro.deterministic("looked", looked.to(f64), event_dim=0)
        return eaten

    def enumerate_posterior(self) -> np.ndarray:
        """P(belief, desire | observed path) (B, D) by Pyro's parallel enumeration of the two latents in the
        program with ``Categorical`` actions observed along the path (no numpy likelihood involved)."""
        import pyro
        import torch

        if len(self.tables.b_local) != self.tables.nv.shape[2] or len(self.tables.d_local) != self.tables.nv.shape[3]:
            raise ScenarioError("enumeration needs action values for every belief and desire (default tables)")
        acts = observed_actions(self.scenario)
        program = pyro.poutine.enum(lambda: self(observed=acts, noise=False, enumerate_latents=True),
                                    first_available_dim=-1)
        with torch.no_grad(), torch_threads(1):
            trace = pyro.poutine.trace(program).get_trace()
            trace.compute_log_prob()
            total = sum(site["log_prob"] for site in trace.nodes.values() if site["type"] == "sample"
                        and "log_prob" in site)
        n_b, n_d = len(self.tables.b_local), len(self.tables.d_local)
        logp = torch.as_tensor(total).expand(n_d, n_b).T.numpy()  # belief at dim -1, desire at dim -2
        post = np.exp(logp - logp.max())
        return post / post.sum()


def _latent(module, name: str, *args) -> Latent:
    """A module's declared latent, or one built from its grid for a user module that declares none."""
    declare = getattr(module, "latent", None)
    if declare is not None:
        return declare(*args)
    grid, prior = module.grid(*args)
    return Latent(name, f"{name} grid point ({type(module).__name__})", grid, prior)
