"""Maximum (causal) entropy IRL: exact gradient, Ziebart's feature-matching optimum, planted-reward
recovery from Boltzmann-rational demonstrations, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from neurosafe.lossinfer import (
    GridWorld,
    PlanningError,
    Trajectories,
    maxent_irl,
    navigation_features,
    planted_task,
    policy_agreement,
    random_maze,
    reward_correlation,
    sample_episodes,
    soft_value_iteration,
)
from neurosafe.lossinfer.maxent import CausalLikelihood


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_linear_reward_is_recovered(seed):
    """Random maze, known linear reward, 200 demonstrations of a Boltzmann-rational agent (optimal Q)."""
    task = planted_task(seed=seed, n_episodes=200)
    assert len(task.trajectories) == 200
    fit = maxent_irl(task.world, task.trajectories, task.features)
    assert fit.converged, fit.message
    assert reward_correlation(task.reward, fit.state_reward) >= 0.9
    assert policy_agreement(task.world, task.reward, fit.state_reward) >= 0.8


def test_undiscounted_goal_task_recovers_the_weights():
    """Soft-optimal demonstrator, terminal goal, no discount: the step cost and wall preference are
    identified (not only up to scale), and come back within 5% from 3000 episodes."""
    world = GridWorld.from_strings(random_maze((9, 9), 0.15, goal=True, seed=4))
    phi = navigation_features(world)[:, 1:]  # step, beside_wall (a goal reward only shifts every value)
    w_true = np.array([-2.5, 1.0])
    policy = soft_value_iteration(world, phi @ w_true).policy
    demos = sample_episodes(world, policy, 3000, seed=5, starts="random", max_steps=200)
    fit = maxent_irl(world, demos, phi, init=np.array([-2.0, 0.0]), l2=0.0)
    assert fit.converged
    np.testing.assert_allclose(fit.weights, w_true, rtol=0.05)


def test_gradient_matches_finite_differences():
    world = GridWorld.from_strings(random_maze((6, 6), 0.1, goal=True, seed=1), slip=0.1, discount=0.9)
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(world.n_states, 3))
    demos = sample_episodes(world, np.full((world.n_states, 4), 0.25), 20, seed=1, starts="random", max_steps=10)
    lik = CausalLikelihood(world, demos, phi)
    w = rng.normal(size=3)
    h = 1e-3  # central differences; smaller steps meet value iteration's tolerance
    numeric = [(lik(w + h * e)[0] - lik(w - h * e)[0]) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(lik(w)[1], numeric, rtol=1e-4, atol=1e-3)


def test_optimum_matches_feature_counts():
    """Ziebart et al. 2008: at the unregularized optimum, whole episodes from S to G under deterministic
    undiscounted dynamics have empirical feature counts equal to the model's expected counts from S."""
    world = GridWorld.from_strings(random_maze((7, 7), 0.1, goal=True, seed=2))
    phi = np.c_[navigation_features(world)[:, 1:], np.random.default_rng(3).random(world.n_states)]
    truth = soft_value_iteration(world, phi @ np.array([-3.0, 0.5, 1.0])).policy
    demos = sample_episodes(world, truth, 100, seed=3, max_steps=500)
    assert all(world.mdp.terminal[world.state(*e.next_states[-1])] for e in demos)
    fit = maxent_irl(world, demos, phi, init=np.array([-3.0, 0.0, 0.0]), l2=0.0, tol=1e-9)
    empirical = np.mean([phi[[world.state(*c) for c in np.r_[e.states, e.next_states[-1:]]]].sum(0)
                         for e in demos], axis=0)
    # expected counts by Monte Carlo under the fitted policy (independent of the solver's linear solve)
    rollouts = sample_episodes(world, fit.policy(world), 4000, seed=9, max_steps=500)
    expected = np.mean([phi[[world.state(*c) for c in np.r_[e.states, e.next_states[-1:]]]].sum(0)
                        for e in rollouts], axis=0)
    np.testing.assert_allclose(expected, empirical, rtol=0.05, atol=0.1)


def test_result_api_and_multiple_mazes():
    mazes = {"a": random_maze((6, 6), 0.1, goal=True, seed=10), "b": random_maze((6, 6), 0.1, goal=True, seed=11)}
    worlds = {k: GridWorld.from_strings(v, discount=0.95) for k, v in mazes.items()}
    episodes = []
    for k, w in worlds.items():
        pi = soft_value_iteration(w, navigation_features(w) @ np.array([1.0, -1.5, 0.5])).policy
        episodes += list(sample_episodes(w, pi, 30, seed=len(k), maze=k, participant=k))
    demos = Trajectories(tuple(episodes), mazes)
    fit = maxent_irl(worlds, demos, navigation_features, feature_names=("goal", "step", "wall"))
    assert set(fit.state_rewards) == {"a", "b"}
    assert fit.feature_names == ("goal", "step", "wall")
    np.testing.assert_allclose(fit.reward(worlds["a"]), fit.state_rewards["a"])
    np.testing.assert_allclose(fit.policy(worlds["b"]).sum(1), 1.0)
    assert fit.n_steps == demos.n_steps and fit.mean_log_likelihood < 0
    with pytest.raises(ValueError, match="2 mazes"):
        _ = fit.state_reward
    with pytest.raises(PlanningError, match="feature map for several mazes"):
        maxent_irl(worlds, demos, np.ones((worlds["a"].n_states, 2)))


def test_bad_inputs():
    world = GridWorld.from_strings(random_maze((5, 5), 0.1, goal=True, seed=0))
    demos = sample_episodes(world, np.full((world.n_states, 4), 0.25), 5, seed=0, max_steps=20)
    with pytest.raises(PlanningError, match="no finite soft values"):
        maxent_irl(world, demos, navigation_features)  # undiscounted, zero step cost
    with pytest.raises(PlanningError, match="init must have 3"):
        maxent_irl(world, demos, navigation_features, init=np.zeros(2))
    with pytest.raises(PlanningError, match="feature names"):
        maxent_irl(world, demos, navigation_features, feature_names=("a",), init=np.array([0, -2.0, 0]))
    with pytest.raises(PlanningError, match="l2"):
        maxent_irl(world, demos, navigation_features, l2=-1.0)
    with pytest.raises(Exception, match=r"\(\d+, k\) array"):
        maxent_irl(world, demos, np.ones((3, 2)))
