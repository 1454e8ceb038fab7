"""Graph MDPs: action masks, turn types, masked soft value iteration against a loop-by-loop reference,
heldout_comparison without a goal, the discovery curve against brute force, the labyrinth loader's errors."""

import numpy as np
import pytest
from scipy.special import logsumexp

from neurosafe.core.errors import DataFileError
from neurosafe.data.labyrinth import load_labyrinth
from neurosafe.lossinfer import GridWorld, heldout_comparison, sample_episodes, uniform_policy
from neurosafe.lossinfer.graph import TURNS, NavigationGraph, Walk, turn_features, walk_steps
from neurosafe.lossinfer.labyrinth import discovery_curve, visits_to_discover
from neurosafe.lossinfer.planning import soft_value_iteration
from neurosafe.lossinfer.trajectories import Trajectories


def test_gridworld_as_graph_has_no_moves_into_walls_and_thin_walls_cut_edges():
    world = GridWorld.from_strings(["S..", ".#.", "..G"])
    g = NavigationGraph.from_gridworld(world)
    assert g.n_nodes == 8 and len(g.edge_from) == 2 * 8  # a ring of 8 cells
    assert (g.legal.sum(1)[~g.mdp.terminal] == 2).all()  # every ring cell offers exactly its 2 neighbours
    thin = NavigationGraph.from_grid(np.ones((2, 2), bool), walls=[((0, 0), (0, 1))])
    assert thin.edge_index[0, 1] == -1 and thin.edge_index[0, 2] >= 0


def test_turn_types_follow_the_heading():
    g = NavigationGraph.from_grid(np.ones((3, 3), bool))  # node = 3 * row + col; y up = -row
    def turn(prev, cur, nxt):
        s = g.state_of(prev, cur)
        return TURNS[g.turns[s, list(g.neighbors[cur]).index(nxt)]]
    # moving right from (1,0) to (1,1): up (row 0) is left, down is right, (1,2) forward, back to (1,0)
    assert turn(3, 4, 1) == "left" and turn(3, 4, 7) == "right"
    assert turn(3, 4, 5) == "forward" and turn(3, 4, 3) == "back"


def _reference_soft_q(g: NavigationGraph, r: np.ndarray, n_iter: int = 150) -> np.ndarray:
    """Soft Q by explicit loops over states and legal moves (independent of the vectorized planner)."""
    v = np.zeros(g.n_states)
    q = np.full(r.shape, -np.inf)
    for _ in range(n_iter):
        for s in range(g.n_states):
            if g.mdp.terminal[s]:
                continue
            for a in range(g.n_actions):
                nxt = g.neighbors[g.state_node[s], a]
                if nxt >= 0:
                    q[s, a] = r[s, a] + g.mdp.discount * v[g.state_of(g.state_node[s], nxt)]
            v[s] = logsumexp(q[s][np.isfinite(q[s])])
    return q


def test_masked_state_action_soft_value_iteration_matches_loops():
    g = NavigationGraph(5, [(0, 1), (1, 2), (1, 3), (3, 4)], coords=np.array([[0, 0], [1, 0], [2, 0], [1, 1], [1, 2]]),
                        terminal=[4], discount=0.8)
    r = np.random.default_rng(0).normal(size=(g.n_states, g.n_actions))
    plan = soft_value_iteration(g.mdp, r)
    ref = _reference_soft_q(g, r)
    live = ~g.mdp.terminal
    assert np.allclose(np.where(g.legal, plan.q, 0)[live], np.where(g.legal, ref, 0)[live], atol=1e-8)
    assert (plan.policy[~g.legal & live[:, None]] == 0).all()


def test_turn_features_are_one_hot_on_legal_moves():
    g = NavigationGraph.from_grid(np.ones((3, 3), bool))
    phi = turn_features(g)
    assert np.array_equal(phi.sum(-1), g.legal.astype(float))


def test_walk_through_a_non_edge_is_a_one_line_error():
    g = NavigationGraph.from_grid(np.ones((2, 2), bool))
    with pytest.raises(Exception, match="step 0: node 0 -> 3 is not an edge"):
        walk_steps(g, [Walk(np.array([0, 3]), walk_id="w")])


def test_heldout_comparison_without_a_terminal_goal():
    world = GridWorld.from_strings(["S...", ".#..", "...."], discount=0.9)
    eps = sample_episodes(world, uniform_policy(world), 40, seed=1, starts="random", max_steps=12)
    traj = Trajectories(tuple(type(e)(e.states, e.actions, e.next_states, participant=f"p{i % 8}")
                              for i, e in enumerate(eps)))
    from neurosafe.lossinfer import state_indicators

    res = heldout_comparison(world, traj, state_indicators, feature_names=None, n_boot=200)
    assert res.shortest_path_fit is None and "shortest_path" not in res.scores
    assert {"maxent", "uniform"} <= set(res.scores)


def test_discovery_curve_matches_brute_force():
    visits = np.random.default_rng(3).integers(0, 10, 60)
    curve = discovery_curve(visits)
    brute = [np.mean([len(set(visits[i:i + n])) for i in range(len(visits) - n + 1)]) for n in range(1, 61)]
    assert np.allclose(curve, brute)
    assert visits_to_discover(curve, 5) == float(np.argmax(np.array(brute) >= 5) + 1)


def test_labyrinth_loader_errors(tmp_path):
    with pytest.raises(DataFileError, match="maze file not found"):
        load_labyrinth(tmp_path)
    (tmp_path / "maze.json").write_text("{}")
    with pytest.raises(DataFileError, match="not a labyrinth maze.json"):
        load_labyrinth(tmp_path)
