"""Evaluation: reward correlation invariances, policy agreement, per-step scores against hand-computed
values, and random mazes that are connected."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from neurosafe.lossinfer import (
    Episode,
    GridWorld,
    PlanningError,
    Trajectories,
    action_scores,
    policy_agreement,
    random_maze,
    reward_correlation,
    shortest_path_policy,
    uniform_policy,
)

MAZE = GridWorld.from_strings(("S...", ".#..", "...G"))


def test_reward_correlation_ignores_scale_and_shift():
    r = np.random.default_rng(0).normal(size=20)
    assert reward_correlation(r, 3.0 * r - 7.0) == pytest.approx(1.0)
    assert reward_correlation(r, -r) == pytest.approx(-1.0)
    with pytest.raises(PlanningError, match="constant"):
        reward_correlation(r, np.ones(20))
    with pytest.raises(PlanningError, match="equal length"):
        reward_correlation(r, r[:5])


def test_policy_agreement():
    world = GridWorld.from_strings(MAZE.rows, discount=0.9)
    r = np.where(world.mdp.terminal, 0.0, -1.0)
    assert policy_agreement(world, r, r) == 1.0
    # a reward that prizes the start cell sends the greedy agent there instead of to the goal
    lure = r.copy()
    lure[world.start] = 5.0
    assert policy_agreement(world, r, lure) < 0.5


def _demos() -> Trajectories:
    a = Episode.from_path([(0, 0), (0, 1), (0, 2), (0, 3), (1, 3), (2, 3)], ">>>vv", participant="p1")
    b = Episode.from_path([(0, 0), (0, 0), (1, 0), (2, 0), (2, 1), (2, 2), (2, 3)], "^vv>>>", participant="p2")
    return Trajectories((a, b))


def test_uniform_and_shortest_path_scores_by_hand():
    demos = _demos()
    uni = action_scores(uniform_policy, MAZE, demos)
    assert uni["log_likelihood"].value == pytest.approx(np.log(0.25))
    assert uni["accuracy"].value == pytest.approx(0.25)
    sp = action_scores(shortest_path_policy(1.0), MAZE, demos)
    assert sp["log_likelihood"].value > uni["log_likelihood"].value
    lo, hi = sp["log_likelihood"].ci
    assert lo <= sp["log_likelihood"].value <= hi
    assert sp["log_likelihood"].provenance["n_steps"] == 11
    assert set(sp["log_likelihood"].per_unit.participant.values) == {"p1", "p2"}
    # a bump '^' at (0, 0): Q = -(1 + 5) = -6, against -5 for the two moves that shorten the path and
    # -6 for the other bump: p = e^-6 / (2 e^-5 + 2 e^-6)
    bump = Trajectories((Episode.from_path([(0, 0), (0, 0)], "^", participant="p"),))
    expected = -6.0 - np.log(2 * np.exp(-5.0) + 2 * np.exp(-6.0))
    assert action_scores(shortest_path_policy(1.0), MAZE, bump)["log_likelihood"].value == pytest.approx(expected)


def test_shortest_path_log_likelihood_by_hand():
    """Episode a only moves along shortest paths; at (0, 0) two moves shorten the path (right, down)."""
    a = Trajectories((_demos().episodes[0],))
    beta = 2.0
    sp = action_scores(shortest_path_policy(beta), MAZE, a)
    q_sets = [  # Q of (^, v, <, >) at each visited cell, distances to G at (2, 3)
        [-6, -5, -6, -5], [-5, -5, -6, -4], [-4, -3, -5, -3], [-3, -2, -4, -3], [-3, -1, -3, -2],
    ]
    taken = [3, 3, 3, 1, 1]
    expected = np.mean([beta * q[a] - np.log(np.sum(np.exp(beta * np.array(q)))) for q, a in
                        zip(q_sets, taken, strict=True)])
    assert sp["log_likelihood"].value == pytest.approx(expected)


def test_policy_shape_is_checked():
    with pytest.raises(PlanningError, match="policy must be"):
        action_scores(np.ones((3, 4)), MAZE, _demos())


@pytest.mark.parametrize("seed", range(5))
def test_random_mazes_are_connected(seed):
    rows = random_maze((12, 9), 0.3, goal=True, seed=seed)
    world = GridWorld.from_strings(rows)
    assert world.shape == (12, 9) and len(world.goals) == 1
    _, n_parts = ndimage.label(world.index >= 0)
    assert n_parts == 1
