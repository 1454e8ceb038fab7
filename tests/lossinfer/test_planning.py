"""Planning checked against independent references: the linear partition-function solve of soft values,
scipy's graph shortest paths, pymdptoolbox's policy iteration, and a plain-python soft sweep."""

from __future__ import annotations

import mdptoolbox.mdp
import numpy as np
import pytest
from scipy.sparse.csgraph import shortest_path

from neurosafe.lossinfer import (
    GridWorld,
    PlanningError,
    boltzmann_policy,
    expected_feature_counts,
    random_maze,
    shortest_path_q,
    soft_value_iteration,
    value_iteration,
)

MAZE = (
    "S....#....",
    ".##..#.1..",
    "..#....11.",
    "..#..#....",
    "....##..G.",
)


def _dense_transitions(world: GridWorld) -> np.ndarray:
    """P[a, s, s'] from the outcome table."""
    mdp = world.mdp
    p = np.zeros((mdp.n_actions, mdp.n_states, mdp.n_states))
    for a in range(mdp.n_actions):
        np.add.at(p[a], (np.repeat(np.arange(mdp.n_states), mdp.next_states.shape[2]),
                         mdp.next_states[:, a].ravel()), mdp.next_probs[:, a].ravel())
    return p


def test_soft_values_equal_the_linear_partition_function():
    """Undiscounted, deterministic: z = exp(V) solves z(s) = e^r(s) sum_a z(s'(s, a)), z(goal) = e^r(goal)
    (Ziebart et al. 2008, backward pass), a linear system solved here directly."""
    world = GridWorld.from_strings(MAZE)
    rng = np.random.default_rng(0)
    r = -2.0 - rng.random(world.n_states)
    r[world.goals] = 0.5
    adjacency = _dense_transitions(world).sum(0)
    live = ~world.mdp.terminal
    system = np.eye(world.n_states) - np.exp(r)[:, None] * adjacency * live[:, None]
    z = np.linalg.solve(system, np.where(live, 0.0, np.exp(r)))
    plan = soft_value_iteration(world, r)
    np.testing.assert_allclose(plan.v, np.log(z), atol=1e-8)
    np.testing.assert_allclose(plan.policy.sum(1), 1.0)


def _python_soft_vi(world: GridWorld, r: np.ndarray, sweeps: int) -> np.ndarray:
    mdp = world.mdp
    v = [0.0] * mdp.n_states
    for _ in range(sweeps):
        new = []
        for s in range(mdp.n_states):
            if mdp.terminal[s]:
                new.append(r[s])
                continue
            qs = [r[s] + mdp.discount * sum(p * v[n] for n, p in zip(mdp.next_states[s, a], mdp.next_probs[s, a],
                                                                     strict=True))
                  for a in range(mdp.n_actions)]
            new.append(float(np.log(np.sum(np.exp(qs)))))
        v = new
    return np.array(v)


def test_soft_values_with_slip_and_discount_match_a_python_loop():
    world = GridWorld.from_strings(MAZE, slip=0.2, discount=0.8)
    r = np.random.default_rng(1).normal(size=world.n_states)
    np.testing.assert_allclose(soft_value_iteration(world, r).v, _python_soft_vi(world, r, 150), atol=1e-9)


def test_optimal_values_are_minus_shortest_path_lengths():
    world = GridWorld.from_strings(MAZE)
    adjacency = (_dense_transitions(world).sum(0) > 0).astype(float)
    np.fill_diagonal(adjacency, 0)
    dist = shortest_path(adjacency, directed=True, unweighted=True)[:, world.goals[0]]
    plan = value_iteration(world, np.where(world.mdp.terminal, 0.0, -1.0))
    np.testing.assert_allclose(plan.v, -dist)
    np.testing.assert_allclose(shortest_path_q(world).max(1), -dist)
    # the greedy policy only picks moves that shorten the path by one
    for s in np.flatnonzero(~world.mdp.terminal):
        for a in np.flatnonzero(plan.policy[s]):
            assert dist[world.mdp.next_states[s, a, 0]] == dist[s] - 1


def test_optimal_values_match_pymdptoolbox_policy_iteration():
    world = GridWorld.from_strings(random_maze((7, 7), 0.15, seed=3), slip=0.3, discount=0.9)
    r = np.random.default_rng(2).normal(size=world.n_states)
    peer = mdptoolbox.mdp.PolicyIteration(_dense_transitions(world), np.repeat(r[:, None], 4, axis=1), 0.9)
    peer.run()
    np.testing.assert_allclose(value_iteration(world, r).v, np.asarray(peer.V), atol=1e-7)


def test_expected_feature_counts_match_the_power_series():
    world = GridWorld.from_strings(MAZE, slip=0.1, discount=0.9)
    rng = np.random.default_rng(3)
    phi = rng.normal(size=(world.n_states, 3))
    pi = boltzmann_policy(rng.normal(size=(world.n_states, 4)), 1.0)
    p_pi = np.einsum("sa,ast->st", pi, _dense_transitions(world))
    p_pi[world.mdp.terminal] = 0.0
    psi, term = np.zeros_like(phi), phi.copy()
    for _ in range(400):  # sum_t (0.9 P_pi)^t phi
        psi += term
        term = 0.9 * p_pi @ term
    np.testing.assert_allclose(expected_feature_counts(world, pi, phi), psi, atol=1e-10)


def test_boltzmann_policy_limits():
    q = np.array([[0.0, -1.0, -1.0, -3.0]])
    np.testing.assert_allclose(boltzmann_policy(q, 0.0), 0.25)
    assert boltzmann_policy(q, 50.0)[0, 0] > 0.999
    expected = np.exp(2 * q) / np.exp(2 * q).sum()
    np.testing.assert_allclose(boltzmann_policy(q, 2.0), expected)


def test_planning_errors():
    no_goal = GridWorld.from_strings(("S...", "...."))
    with pytest.raises(PlanningError, match="did not converge in 500"):
        soft_value_iteration(no_goal, -np.ones(no_goal.n_states), max_iter=500)
    with pytest.raises(PlanningError, match="diverges"):
        value_iteration(no_goal, -np.ones(no_goal.n_states))
    with pytest.raises(PlanningError, match="terminal goal"):
        shortest_path_q(no_goal)
    world = GridWorld.from_strings(MAZE)
    with pytest.raises(PlanningError, match="diverges"):
        soft_value_iteration(world, np.zeros(world.n_states))  # undiscounted, no step cost: infinite paths
    with pytest.raises(PlanningError, match="finite per-state values"):
        value_iteration(world, np.zeros(3))
    with pytest.raises(PlanningError, match="finite"):
        value_iteration(world, np.full(world.n_states, np.nan))
    with pytest.raises(PlanningError, match="never reaches a terminal"):
        stay = np.zeros((world.n_states, 4))
        stay[:, 0] = 1.0  # always push up: stuck against the top edge forever
        expected_feature_counts(world, stay, np.ones((world.n_states, 1)))
