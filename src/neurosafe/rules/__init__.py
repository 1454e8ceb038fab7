"""Learning-rule inference from activity (paper section 7, way 3): which rule trains a network, and what
plasticity rule produced a recorded trajectory.

- :mod:`~neurosafe.rules.simulate`: many small networks trained at once under SGD, momentum, Adam, feedback
  alignment and a Hebbian (Oja) rule, with observables logged over training (Nayebi et al. 2020).
- :mod:`~neurosafe.rules.identify`: a classifier on aggregate statistics; accuracy under unit subsampling,
  measurement noise, sparse sampling in time and on held-out architectures.
- :mod:`~neurosafe.rules.fit`: a Taylor-series plasticity rule fitted through simulated activity
  (Confavreux et al. 2020; Jordan et al. 2021), with its degeneracy (profile likelihood).
"""

from neurosafe.rules.fit import (
    PlasticityFit,
    PlasticityRuleError,
    TaylorRule,
    fit_plasticity_rule,
    oja_coefficients,
    profile_likelihood,
    simulate_plasticity,
)
from neurosafe.rules.identify import (
    FEATURE_SETS,
    RuleIdentificationError,
    accuracy_curves,
    identify_rules,
    rule_features,
)
from neurosafe.rules.networks import RULES, Architecture, BatchedNet
from neurosafe.rules.simulate import RuleSimulationError, SimulationConfig, load_observables, simulate_rules

__all__ = [
    "FEATURE_SETS", "RULES", "Architecture", "BatchedNet", "PlasticityFit", "PlasticityRuleError",
    "RuleIdentificationError", "RuleSimulationError", "SimulationConfig", "TaylorRule", "accuracy_curves",
    "fit_plasticity_rule", "identify_rules", "load_observables", "oja_coefficients", "profile_likelihood",
    "rule_features", "simulate_plasticity", "simulate_rules",
]
