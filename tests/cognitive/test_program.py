"""The BToM agent as a Pyro program built from its modules' typed latents: Pyro's own enumeration of the
program equals the exact numpy enumeration, for the full model and for swapped modules; the program's
Gumbel-max actions follow the Boltzmann policy (closed form softmax)."""

from __future__ import annotations

import numpy as np
import pytest

from neurosafe.cognitive import BToM, load_scenario
from neurosafe.cognitive.agent import (
    BeliefSpacePlanner,
    Omniscient,
    SimplexGrid,
    TrueBeliefPrior,
    UtilityGrid,
)
from neurosafe.cognitive.program import AgentProgram, observed_actions
from tests.cognitive.test_btom_exact import TINY

BACK = [[1, 3], [0, 3], [0, 2], [0, 1], [0, 0]]
PLANNER = BeliefSpacePlanner(1.3)


@pytest.mark.parametrize("model", [
    BToM(beliefs=SimplexGrid(3), desires=UtilityGrid((0.0, 5.0, 10.0), 1.0), planner=PLANNER),
    BToM(beliefs=TrueBeliefPrior(), desires=UtilityGrid((0.0, 5.0, 10.0), 1.0), planner=PLANNER),  # TrueBelief
    BToM(beliefs=SimplexGrid(3), desires=UtilityGrid((0.0, 5.0, 10.0), 0.0), planner=PLANNER),  # NoCost
    BToM(percept=Omniscient(), beliefs=SimplexGrid(2), desires=UtilityGrid((2.0, 9.0), 1.0), planner=PLANNER),
    BToM(beliefs=SimplexGrid(2), desires=UtilityGrid((2.0, 9.0), 1.0), planner=BeliefSpacePlanner(1.3, myopic=True)),
], ids=["btom", "true_belief", "no_cost", "omniscient", "motion"])
@pytest.mark.parametrize("path", [TINY["path"], BACK])
def test_pyro_enumeration_equals_exact_enumeration(model, path):
    scenario = load_scenario({**TINY, "path": path})
    program = AgentProgram(model, scenario)
    table = model.likelihood(scenario)
    logp = table.loglik.sum(axis=-1) + np.log(table.belief_prior)[:, None] + np.log(table.desire_prior)[None]
    exact = np.exp(logp - logp.max())
    np.testing.assert_allclose(program.enumerate_posterior(), exact / exact.sum(), rtol=0, atol=1e-9)


def test_modules_declare_typed_latents():
    scenario = load_scenario(TINY)
    full = AgentProgram(BToM(beliefs=SimplexGrid(2), desires=UtilityGrid((2.0, 9.0), 1.0), planner=PLANNER), scenario)
    kinds = {lat.name: lat for lat in full.latents}
    assert set(kinds) == {"visible_B", "belief", "desire", "noise_0"}  # B is the spot hidden from the start
    assert kinds["belief"].support.shape == (6, 3) and np.allclose(kinds["belief"].support.sum(axis=1), 1)
    assert kinds["desire"].support.shape == (8, 3) and kinds["desire"].prior.sum() == pytest.approx(1)
    assert kinds["noise_0"].support is None and "Gumbel" in kinds["noise_0"].domain
    assert "simplex" in kinds["belief"].domain and "utility" in kinds["desire"].domain
    lesion = AgentProgram(BToM(percept=Omniscient(), beliefs=TrueBeliefPrior(), planner=PLANNER), scenario)
    assert {lat.name for lat in lesion.latents} == {"belief", "desire", "noise_0"}  # nothing hidden
    assert len(lesion.belief_latent.prior) == 1


def test_gumbel_max_actions_follow_the_boltzmann_policy():
    import pyro
    import torch

    from neurosafe.cognitive.program import torch_threads

    scenario = load_scenario({**TINY, "path": BACK})
    program = AgentProgram(BToM(beliefs=SimplexGrid(2), desires=UtilityGrid((2.0, 9.0), 1.0), planner=PLANNER),
                           scenario)
    b, d, n = 4, 5, 20000
    pyro.set_rng_seed(0)
    data = {"belief": torch.full((n,), b), "desire": torch.full((n,), d)}
    with torch.no_grad(), torch_threads(1), pyro.poutine.condition(data=data):
        trace = pyro.poutine.trace(lambda: program(horizon=1, particles=n)).get_trace()
    first = trace.nodes["action_0"]["value"].numpy()
    logits = program.logits(0, *program.path_states()[1][:1], program.path_states()[0][0], np.array([b]),
                            np.array([d]))[0]
    policy = np.exp(logits - logits.max())
    policy /= policy.sum()
    freq = np.bincount(first.astype(int), minlength=5) / n
    np.testing.assert_allclose(freq, policy, atol=4 * np.sqrt(0.25 / n))  # 4 binomial standard errors
    assert observed_actions(scenario) == [1, 0, 2, 2, 2, 4]


def test_motion_heuristic_agent_values_in_closed_form():
    # the myopic agent heads for K in view at A (0, 0), three moves left of the start (0, 3), and puts no value on
    # looking behind the wall: Q(left) = u_K - 3 (two more moves, then eat), Q(down) = u_K - 5 (four more moves)
    scenario = load_scenario({**TINY, "path": BACK})
    model = BToM(beliefs=SimplexGrid(2), desires=UtilityGrid((2.0, 9.0), 1.0),
                 planner=BeliefSpacePlanner(1.3, myopic=True))
    program = AgentProgram(model, scenario)
    cells, masks = program.path_states()
    utilities = program.desire_latent.support
    for d, u in enumerate(utilities):
        got = program.logits(0, masks[0], cells[0], np.array([0]), np.array([d]))[0] / 1.3
        np.testing.assert_allclose(got, [-np.inf, u[0] - 5, u[0] - 3, -np.inf, -np.inf])


def test_pyro_importance_sampling_of_the_program_agrees_with_enumeration():
    # the same program under a plate of agents drawn from the modules' priors, weighted by the observed actions'
    # likelihood (self-normalised importance sampling): within 4 Monte Carlo standard errors of the exact posterior
    import pyro
    import torch

    from neurosafe.cognitive.program import torch_threads

    scenario = load_scenario({**TINY, "path": BACK})
    model = BToM(beliefs=SimplexGrid(2), desires=UtilityGrid((2.0, 9.0), 1.0), planner=PLANNER)
    program = AgentProgram(model, scenario)
    n = 40000
    pyro.set_rng_seed(0)
    with torch.no_grad(), torch_threads(1):
        trace = pyro.poutine.trace(lambda: program(observed=observed_actions(scenario), particles=n,
                                                   noise=False)).get_trace()
        trace.compute_log_prob()
    logw = sum(s["log_prob"] for name, s in trace.nodes.items() if name.startswith("action_")).numpy()
    w = np.exp(logw - logw.max())
    w /= w.sum()
    b, d = trace.nodes["belief"]["value"].numpy(), trace.nodes["desire"]["value"].numpy()
    exact = program.enumerate_posterior()
    for marginal, index in ((exact.sum(axis=1), b), (exact.sum(axis=0), d)):
        estimate = np.bincount(index, weights=w, minlength=len(marginal))
        ess = 1 / (w**2).sum()
        np.testing.assert_allclose(estimate, marginal, atol=4 * np.sqrt(0.25 / ess))
