"""Loss-function inference (paper section 7; theory of mind as inverse planning, section 5): recover what
an agent optimizes from its behaviour, the specification side of AI safety.

Gridworld MDPs read from maze strings, soft and optimal value iteration, maximum (causal) entropy IRL
(Ziebart et al. 2008; Ziebart 2010), Bayesian inverse planning (Baker, Saxe & Tenenbaum 2009), a loader for
the Ho et al. 2022 human navigation data, and evaluation against uniform and shortest-path baselines.
Navigation on graphs (``graph``: per-state action masks, heading and turn features; ``walkers``: biased
walk, Markov chain, MaxEnt IRL and GRU twins; ``navigation``: cross-validated log-likelihood per decision;
``labyrinth``: the Rosenberg et al. 2021 maze and its exploration efficiency).
"""

from neurosafe.lossinfer.errors import MazeError, PlanningError, TrajectoryError
from neurosafe.lossinfer.evaluate import (
    HeldoutComparison,
    action_scores,
    heldout_comparison,
    legal_uniform_policy,
    policy_agreement,
    reward_correlation,
    shortest_path_policy,
    uniform_policy,
)
from neurosafe.lossinfer.features import NAVIGATION_FEATURES, feature_matrix, navigation_features, state_indicators
from neurosafe.lossinfer.graph import TURNS, NavigationGraph, Walk, turn_features, walk_steps
from neurosafe.lossinfer.gridworld import ACTIONS, GridWorld, build_worlds
from neurosafe.lossinfer.ho2022 import load_ho2022
from neurosafe.lossinfer.inverse_planning import RationalityFit, fit_rationality, goal_posterior, goal_q_values
from neurosafe.lossinfer.maxent import MaxEntResult, fit_linear_reward, maxent_irl
from neurosafe.lossinfer.navigation import NavigationComparison, compare_twins
from neurosafe.lossinfer.planning import (
    Plan,
    boltzmann_policy,
    expected_feature_counts,
    shortest_path_q,
    soft_value_iteration,
    value_iteration,
)
from neurosafe.lossinfer.synthetic import PlantedTask, planted_task, random_maze, sample_episodes
from neurosafe.lossinfer.trajectories import Episode, Trajectories, load_trajectories, save_trajectories
from neurosafe.lossinfer.walkers import BiasedWalk, GRUWalk, IRLWalk, LegalUniform, MarkovChain, simulate

__all__ = [
    "ACTIONS",
    "NAVIGATION_FEATURES",
    "TURNS",
    "BiasedWalk",
    "Episode",
    "GRUWalk",
    "GridWorld",
    "HeldoutComparison",
    "IRLWalk",
    "LegalUniform",
    "MarkovChain",
    "MaxEntResult",
    "MazeError",
    "NavigationComparison",
    "NavigationGraph",
    "Plan",
    "PlanningError",
    "PlantedTask",
    "RationalityFit",
    "Trajectories",
    "TrajectoryError",
    "Walk",
    "action_scores",
    "boltzmann_policy",
    "build_worlds",
    "compare_twins",
    "expected_feature_counts",
    "feature_matrix",
    "fit_linear_reward",
    "fit_rationality",
    "goal_posterior",
    "goal_q_values",
    "heldout_comparison",
    "legal_uniform_policy",
    "load_ho2022",
    "load_trajectories",
    "maxent_irl",
    "navigation_features",
    "planted_task",
    "policy_agreement",
    "random_maze",
    "reward_correlation",
    "sample_episodes",
    "save_trajectories",
    "shortest_path_policy",
    "shortest_path_q",
    "simulate",
    "soft_value_iteration",
    "state_indicators",
    "turn_features",
    "uniform_policy",
    "value_iteration",
    "walk_steps",
]
