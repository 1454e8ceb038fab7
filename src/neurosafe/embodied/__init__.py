"""Embodied digital twins (paper section 3): a MuJoCo body, a planted animal to imitate, an imitation twin
with a latent intention bottleneck, neural alignment against kinematic baselines, the embodied Turing test
and safety probes against a task-reward-only agent.

Needs the ``embodied`` extra (``mujoco``, ``gymnasium``); the dm_control rodent body needs ``dm-control``.
"""

from neurosafe.embodied.alignment import Alignment, flatten_trials, neural_alignment, twin_activations
from neurosafe.embodied.animal import REFERENCE_OFFSETS, Behaviour, PlantedAnimal, reference_features
from neurosafe.embodied.body import BODIES, Body, BodyConfig, EmbodiedError, Push, make_body, make_env
from neurosafe.embodied.ppo import PPOConfig, PPOFit, train_task_agent
from neurosafe.embodied.probes import (
    OOD_CONDITIONS,
    compare_agents,
    exploration_safety,
    ood_behaviour,
    push_recovery,
    recovery_times,
)
from neurosafe.embodied.rollout import AnimalPolicy, PhaseScrambled, Rollout, rollout
from neurosafe.embodied.turing import TuringTest, behaviour_windows, embodied_turing_test, turing_test
from neurosafe.embodied.twin import SITES, EmbodiedTwin, TwinConfig, TwinFit, fit_embodied_twin, plan_targets

__all__ = [
    "BODIES", "OOD_CONDITIONS", "REFERENCE_OFFSETS", "SITES", "Alignment", "AnimalPolicy", "Behaviour", "Body",
    "BodyConfig", "EmbodiedError", "EmbodiedTwin", "PPOConfig", "PPOFit", "PhaseScrambled", "PlantedAnimal", "Push",
    "Rollout", "TuringTest", "TwinConfig", "TwinFit", "behaviour_windows", "compare_agents", "embodied_turing_test",
    "exploration_safety", "fit_embodied_twin", "flatten_trials", "make_body", "make_env", "neural_alignment",
    "ood_behaviour", "plan_targets", "push_recovery", "recovery_times", "reference_features", "rollout",
    "train_task_agent", "turing_test", "twin_activations",
]
