"""Cognitive architectures (paper section 5): Bayesian theory of mind, pragmatics and causal queries as
composable probabilistic models, fit to people.

- :mod:`~neurosafe.cognitive.world`, :mod:`~neurosafe.cognitive.agent`: the food-truck world and the agent
  model as swappable modules (percept, belief prior/update, desire, belief-space planner).
- :mod:`~neurosafe.cognitive.btom`: Bayesian theory of mind (Baker et al. 2017) by exact enumeration, importance
  sampling, SMC or SVI (Pyro), and the TrueBelief, NoCost and motion-heuristic comparison models.
- :mod:`~neurosafe.cognitive.rsa`: Rational Speech Acts (Frank & Goodman 2012) and instruction following.
- :mod:`~neurosafe.cognitive.program`: the agent as a Pyro program built from the modules' typed latents.
- :mod:`~neurosafe.cognitive.causal`: ``do`` and counterfactual queries with ChiRho, on structural models and
  on the full planning agent (:func:`agent_counterfactual`).
- :mod:`~neurosafe.cognitive.fitting`: fitting models to trial-level human judgements.
- :mod:`~neurosafe.cognitive.planted`, :mod:`~neurosafe.cognitive.safety`: planted agents; recovery,
  calibration and clarification-asking evaluations.
"""

from neurosafe.cognitive.agent import (
    BayesUpdate,
    BeliefSpacePlanner,
    LineOfSight,
    Omniscient,
    SimplexGrid,
    TrueBeliefPrior,
    UtilityGrid,
    simplex_grid,
)
from neurosafe.cognitive.btom import (
    MODELS,
    BToM,
    BToMPosterior,
    LikelihoodTable,
    btom_importance,
    btom_infer,
    btom_smc,
    btom_svi,
    motion_heuristic,
)
from neurosafe.cognitive.causal import AgentCounterfactual, agent_counterfactual
from neurosafe.cognitive.errors import GameError, JudgementError, ScenarioError
from neurosafe.cognitive.program import AgentProgram
from neurosafe.cognitive.world import GridWorld, ModelSettings, Scenario, load_scenario

__all__ = [
    "MODELS", "AgentCounterfactual", "AgentProgram", "BToM", "BToMPosterior", "BayesUpdate", "BeliefSpacePlanner",
    "GameError", "GridWorld", "JudgementError", "LikelihoodTable", "LineOfSight", "ModelSettings", "Omniscient",
    "Scenario", "ScenarioError", "SimplexGrid", "TrueBeliefPrior", "UtilityGrid", "agent_counterfactual",
    "btom_importance", "btom_infer", "btom_smc", "btom_svi", "load_scenario", "motion_heuristic", "simplex_grid",
]
