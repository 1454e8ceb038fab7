"""Importance sampling and SVI (Pyro) agree with exact enumeration on a small world; the worked example's
qualitative result (Baker et al. 2017): an agent that checks the hidden spot, sees L and turns back to K
is judged to like M most and L least, and to have believed M was hidden."""

from __future__ import annotations

import numpy as np
import pytest

from neurosafe.cognitive import BToM, btom_importance, btom_infer, btom_smc, btom_svi, load_scenario
from neurosafe.cognitive.agent import BeliefSpacePlanner, SimplexGrid, UtilityGrid
from neurosafe.cognitive.btom import BToMPosterior
from tests.cognitive.test_btom_exact import TINY

MODEL = BToM(beliefs=SimplexGrid(4), desires=UtilityGrid((0.0, 5.0, 10.0), 1.0), planner=BeliefSpacePlanner(1.0))


@pytest.fixture(scope="module")
def exact():
    scenario = load_scenario(TINY)
    return scenario, MODEL.infer(scenario)


def test_importance_sampling_agrees_with_enumeration(exact):
    scenario, post = exact
    approx = btom_importance(scenario, n_beliefs=300, n_desires=300, seed=0, model=MODEL)
    # tolerance: 0.25 on the 0-10 utility scale and 0.05 on probabilities (Monte Carlo error ~ 0.1 / 0.02)
    np.testing.assert_allclose(approx.desire_mean[-1], post.desire_mean[-1], atol=0.25)
    np.testing.assert_allclose(approx.belief[-1], post.belief[-1], atol=0.05)


def test_smc_agrees_with_enumeration_at_every_step(exact):
    scenario, post = exact
    approx = btom_smc(scenario, n_particles=4000, seed=0, model=MODEL)
    # same tolerances as importance sampling, after every prefix of the path
    np.testing.assert_allclose(approx.desire_mean, post.desire_mean, atol=0.25)
    np.testing.assert_allclose(approx.belief, post.belief, atol=0.05)


def test_svi_agrees_with_enumeration(exact):
    scenario, post = exact
    approx = btom_svi(scenario, steps=60, lr=0.4, seed=0, model=MODEL)
    # the guide family contains the posterior: tolerance 0.05 utility (0-10 scale), 0.01 probability after 60
    # Adam steps (measured 0.030 and 0.0015)
    np.testing.assert_allclose(approx.desire_mean[-1], post.desire_mean[-1], atol=0.05)
    np.testing.assert_allclose(approx.belief[-1], post.belief[-1], atol=0.01)
    assert isinstance(approx, BToMPosterior)


def test_worked_example_infers_the_hidden_preference():
    from importlib.resources import files

    scenario = load_scenario(files("neurosafe.cognitive") / "scenarios" / "foodtruck.json")
    post = btom_infer(scenario)
    k, lo, m = post.desire_rating[-1]
    assert m > k > lo
    belief = dict(zip(post.options, post.belief[-1, 0], strict=True))
    assert belief["M"] > 0.5 and belief["M"] > belief["L"] + 0.3
    # the TrueBelief lesion cannot explain the detour: it does not rate M highest
    tb = btom_infer(scenario, "true_belief")
    assert tb.desire_rating[-1][2] < tb.desire_rating[-1][0]
