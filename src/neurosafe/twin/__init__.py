"""Sensory digital twins (paper section 2): core + readout models fit to recordings, judged against noise
ceilings, with scaling laws over recording time."""

from neurosafe.twin.config import FeatureCoreConfig, ReadoutConfig, StackedCoreConfig, TrainConfig, TwinConfig
from neurosafe.twin.errors import TwinConfigError, TwinError
from neurosafe.twin.evaluate import TwinEvaluation, evaluate_twin
from neurosafe.twin.model import DigitalTwin
from neurosafe.twin.train import EpochReport, fit_twin

__all__ = [
    "DigitalTwin",
    "EpochReport",
    "FeatureCoreConfig",
    "ReadoutConfig",
    "StackedCoreConfig",
    "TrainConfig",
    "TwinConfig",
    "TwinConfigError",
    "TwinError",
    "TwinEvaluation",
    "evaluate_twin",
    "fit_twin",
]
