"""Which training objective made a representation? Task-driven model comparison with model recovery first
(Mineault et al. 2024, section 7, way 1): an objective zoo, a multi-metric comparison engine, and the
identifiability of objectives on synthetic brains that are themselves trained networks."""

from neurosafe.objectives.train import (
    DEFAULT_WIDTHS,
    OBJECTIVES,
    ObjectiveConfig,
    ObjectiveError,
    TrainedObjective,
    build_network,
    model_name,
    objective_of,
    train_objective,
    train_zoo,
)

__all__ = [
    "DEFAULT_WIDTHS", "OBJECTIVES", "ObjectiveConfig", "ObjectiveError", "TrainedObjective", "build_network",
    "model_name", "objective_of", "train_objective", "train_zoo",
]
