"""Bayesian inverse planning (Baker, Saxe & Tenenbaum 2009): a closed-form posterior, planted goals and
rationality recovered from simulated agents, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from neurosafe.lossinfer import (
    Episode,
    GridWorld,
    PlanningError,
    Trajectories,
    boltzmann_policy,
    fit_rationality,
    goal_posterior,
    goal_q_values,
    random_maze,
    sample_episodes,
    shortest_path_q,
)

CORRIDOR = GridWorld.from_strings(("....S....",))


def test_posterior_after_one_step_in_a_corridor():
    """Start in the middle of a 1x9 corridor, goals at both ends, one step left. For the left goal
    Q(<) = -4, Q(>) = -6, Q(^) = Q(v) = -5 (a bump); mirrored for the right goal. Bayes with a uniform
    prior: P(left | <) = e^{-4b} / (e^{-4b} + e^{-6b})."""
    goals = [CORRIDOR.state(0, 0), CORRIDOR.state(0, 8)]
    step = Episode.from_path([(0, 4), (0, 3)], "<")
    for beta in (0.5, 1.0, 2.0):
        post = goal_posterior(CORRIDOR, step, goals, beta)
        np.testing.assert_allclose(post[0], [0.5, 0.5])
        np.testing.assert_allclose(post[1, 0], 1.0 / (1.0 + np.exp(-2.0 * beta)))
    skewed = goal_posterior(CORRIDOR, step, goals, 1.0, prior=[1.0, 3.0])
    np.testing.assert_allclose(skewed[1, 0], 1.0 / (1.0 + 3.0 * np.exp(-2.0)))


def test_walking_past_a_candidate_goal_rules_it_out():
    goals = [CORRIDOR.state(0, 3), CORRIDOR.state(0, 0)]
    walk = Episode.from_path([(0, 4), (0, 3), (0, 2)], "<<")
    post = goal_posterior(CORRIDOR, walk, goals, 1.0)
    assert post[1, 0] == pytest.approx(0.5)  # '<' is equally optimal for both goals
    assert post[2, 0] == 0.0 and post[2, 1] == pytest.approx(1.0)


def test_planted_goals_and_rationality_are_recovered():
    """Five random 11x11 mazes, a goal near each corner, 20 episodes each of a Boltzmann agent
    (beta = 2) starting near the centre: after half of each episode the true goal ranks first in >= 90%."""
    beta_true, hits, betas = 2.0, [], []
    corners = np.array([(0, 0), (0, 10), (10, 0), (10, 10)])
    for seed in range(5):
        world = GridWorld.from_strings(random_maze((11, 11), 0.12, seed=seed))
        goals = [int(np.argmin(np.abs(world.cells - c).sum(1))) for c in corners]
        centre = np.flatnonzero((np.abs(world.cells - 5) <= 1).all(1))
        q = goal_q_values(world, goals)
        rng = np.random.default_rng(seed)
        episodes, truth = [], []
        for i in range(20):
            g = i % 4
            agent = boltzmann_policy(q[g], beta_true)
            run = sample_episodes(world.with_goals([goals[g]]), agent, 1, seed=100 * seed + i,
                                  starts=rng.choice(centre, 1))
            episodes.append(run.episodes[0])
            truth.append(g)
        fit = fit_rationality(world, Trajectories(tuple(episodes)), goals)
        betas.append(fit.beta)
        assert not fit.at_bound
        for e, g in zip(episodes, truth, strict=True):
            hits.append(np.argmax(goal_posterior(world, e, goals, fit.beta)[len(e) // 2]) == g)
    assert np.mean(hits) >= 0.9
    np.testing.assert_allclose(np.mean(betas), beta_true, rtol=0.15)


def test_known_goal_rationality_of_a_shortest_path_agent():
    world = GridWorld.from_strings(random_maze((9, 9), 0.1, goal=True, seed=7))
    agent = boltzmann_policy(shortest_path_q(world), 1.5)
    demos = sample_episodes(world, agent, 200, seed=1, starts="random", max_steps=300)
    fit = fit_rationality(world, demos)
    np.testing.assert_allclose(fit.beta, 1.5, rtol=0.1)
    assert fit.n_steps == demos.n_steps and fit.log_likelihood < 0


def test_bad_inputs():
    goals = [CORRIDOR.state(0, 0), CORRIDOR.state(0, 8)]
    step = Episode.from_path([(0, 4), (0, 3)], "<")
    with pytest.raises(PlanningError, match="beta must be positive"):
        goal_posterior(CORRIDOR, step, goals, 0.0)
    with pytest.raises(PlanningError, match="state indices"):
        goal_posterior(CORRIDOR, step, [99], 1.0)
    with pytest.raises(PlanningError, match="prior"):
        goal_posterior(CORRIDOR, step, goals, 1.0, prior=[1.0])
    with pytest.raises(PlanningError, match="single GridWorld"):
        fit_rationality({"a": CORRIDOR}, Trajectories((step,)), goals)
    with pytest.raises(PlanningError, match="no candidate goal explains"):
        goal_posterior(CORRIDOR, Episode.from_path([(0, 4), (0, 3), (0, 2)], "<<"), [CORRIDOR.state(0, 3)], 1.0)
