"""Real data: on the Rosenberg et al. 2021 mouse, MaxEnt IRL on the graph MDP and the Markov-chain twin
predict held-out decisions better than a uniform choice among legal moves (CI over bouts excludes 0)."""

import pytest

from neurosafe.data.labyrinth import load_labyrinth
from neurosafe.lossinfer.labyrinth import labyrinth_graph, labyrinth_irl_features, labyrinth_walks
from neurosafe.lossinfer.navigation import compare_twins
from neurosafe.lossinfer.walkers import IRLWalk, MarkovChain


@pytest.mark.real
def test_irl_and_markov_twins_beat_legal_uniform_on_the_mouse(labyrinth_dir):
    maze = load_labyrinth(labyrinth_dir)
    assert len(maze.bouts) == 48 and len(maze.end_nodes) == 64
    twins = {"maxent_irl": lambda: IRLWalk(labyrinth_irl_features), "markov_k2": lambda: MarkovChain(2, alpha=2.0)}
    res = compare_twins(twins, labyrinth_graph(maze), labyrinth_walks(maze), n_folds=4, n_boot=500)
    assert res.scores["legal_uniform"].value == pytest.approx(-1.0986, abs=1e-3)  # every junction is a T
    for name in ("maxent_irl", "markov_k2"):
        assert res.difference[name].ci[0] > 0, (name, res.difference[name])
