"""Planted ground truth for the navigation twins: a known biased walker, a known second-order Markov agent
and a known state-action reward, simulated on a graph; each fitted twin must recover its parameters and
reach the true model's held-out log-likelihood."""

import numpy as np
import pytest

from neurosafe.core.seeds import child_seed
from neurosafe.lossinfer.graph import NavigationGraph, Walk, walk_steps
from neurosafe.lossinfer.navigation import compare_twins
from neurosafe.lossinfer.planning import soft_value_iteration
from neurosafe.lossinfer.walkers import BiasedWalk, IRLWalk, LegalUniform, MarkovChain, degree_context, simulate


@pytest.fixture(scope="module")
def grid() -> NavigationGraph:
    passable = np.ones((5, 5), bool)
    passable[2, 2] = False
    return NavigationGraph.from_grid(passable, walls=[((0, 0), (0, 1))], discount=0.8)


class _Planted(LegalUniform):
    """A walker with a fixed (S, A) policy (the ground truth)."""

    name = "planted"

    def __init__(self, pi: np.ndarray) -> None:
        self.pi = pi

    def policy(self, graph):
        return self.pi


def _walks(twin, graph, n, seed, length=40):
    return [Walk(simulate(twin, graph, start_node=int(s), max_steps=length, seed=child_seed(seed, i)).nodes,
                 unit=f"u{i % 20}") for i, s in enumerate(np.random.default_rng(seed).integers(0, graph.n_nodes, n))]


def _mean_ll(twin, graph, walks):
    return float(np.mean(twin.log_probs(graph, walks)))


def test_biased_walk_recovers_planted_turn_biases_and_the_true_log_likelihood(grid):
    truth = BiasedWalk()
    _ctx, n_ctx = degree_context(grid)
    theta = np.zeros(n_ctx * 5)
    for c in range(n_ctx):  # forward, left, right, back, start
        theta[c * 5:(c + 1) * 5] = [1.5, 0.3, -0.4, -1.5, 0.0]
    truth.theta = theta
    train, test = _walks(truth, grid, 200, 1), _walks(truth, grid, 100, 2)
    fit = BiasedWalk().fit(grid, train)
    live = grid.legal.sum(1) > 1
    assert np.abs(fit.policy(grid) - truth.policy(grid))[live].max() < 0.06
    assert _mean_ll(fit, grid, test) == pytest.approx(_mean_ll(truth, grid, test), abs=0.01)
    assert _mean_ll(fit, grid, test) > _mean_ll(LegalUniform(), grid, test) + 0.2


def test_markov_chain_reaches_a_planted_second_order_agent(grid):
    rng = np.random.default_rng(5)
    logits = np.where(grid.legal, rng.normal(scale=1.5, size=grid.legal.shape), -np.inf)
    pi = np.exp(logits - logits.max(1, keepdims=True))
    pi = np.where(grid.legal.any(1, keepdims=True), pi / np.nansum(pi, 1, keepdims=True), 0.0)
    truth = _Planted(np.nan_to_num(pi))
    train, test = _walks(truth, grid, 300, 3), _walks(truth, grid, 100, 4)
    true_ll = _mean_ll(truth, grid, test)
    k2, k1 = MarkovChain(2, alpha=1.0).fit(grid, train), MarkovChain(1, alpha=1.0).fit(grid, train)
    assert _mean_ll(k2, grid, test) == pytest.approx(true_ll, abs=0.04)  # the state is (previous, current)
    assert _mean_ll(k1, grid, test) < true_ll - 0.1  # one node of history misses the dependence


def test_maxent_irl_recovers_a_planted_state_action_reward(grid):
    irl = IRLWalk()
    phi = irl.features(grid)
    w_true = np.zeros(phi.shape[-1])
    w_true[[0, 5, 10, 15]] = 1.0  # forward
    w_true[[3, 8, 13, 18]] = -2.0  # back
    w_true[[1, 6, 11, 16]] = 0.5  # left
    truth = _Planted(soft_value_iteration(grid.mdp, phi @ w_true).policy)
    train, test = _walks(truth, grid, 200, 6), _walks(truth, grid, 100, 7)
    fit = IRLWalk().fit(grid, train)
    steps = walk_steps(grid, test)
    used = np.unique(np.nonzero(phi[steps.state].sum((0, 1)))[0])
    # a reward is identified up to a shift per state, so compare differences between turn weights at
    # T-junctions (context 2) and crossings (context 3): forward - back and left - back
    for c in (2, 3):
        for turn in (0, 1):
            d_true = w_true[5 * c + turn] - w_true[5 * c + 3]
            assert fit.weights[5 * c + turn] - fit.weights[5 * c + 3] == pytest.approx(d_true, abs=0.4)
    assert used.size > 4
    assert _mean_ll(fit, grid, test) == pytest.approx(_mean_ll(truth, grid, test), abs=0.02)


def test_compare_twins_ranks_the_planted_model_above_uniform(grid):
    truth = BiasedWalk()
    truth.theta = np.tile([1.5, 0.0, 0.0, -1.5, 0.0], 4)
    walks = _walks(truth, grid, 60, 9, length=30)
    res = compare_twins({"biased_walk": BiasedWalk}, grid, walks, n_folds=3, n_boot=200)
    assert res.difference["biased_walk"].ci[0] > 0
    assert res.scores["legal_uniform"].value == pytest.approx(float(np.mean(-np.log(
        walk_steps(grid, walks).n_legal[walk_steps(grid, walks).decision]))), abs=1e-9)
