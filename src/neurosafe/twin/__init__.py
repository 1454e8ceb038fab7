"""Sensory digital twins (paper section 2): core + readout models fit to recordings, judged against noise
ceilings, with scaling laws over recording time."""

from neurosafe.twin.config import FeatureCoreConfig, ReadoutConfig, StackedCoreConfig, TwinConfig, TwinTrainConfig
from neurosafe.twin.ensemble import TwinEnsemble
from neurosafe.twin.errors import TwinConfigError, TwinError
from neurosafe.twin.evaluate import TwinEvaluation, evaluate_twin
from neurosafe.twin.fragility import FragilityResult, twin_fragility
from neurosafe.twin.model import DigitalTwin
from neurosafe.twin.scaling import ScalingFit, fit_scaling_law, recording_time, scaling_sweep
from neurosafe.twin.train import EpochReport, fit_twin, transfer_twin
from neurosafe.twin.tuning import ReadoutTuning, tune_readout

load_twin = DigitalTwin.load
transfer = transfer_twin

__all__ = [
    "DigitalTwin",
    "EpochReport",
    "FeatureCoreConfig",
    "FragilityResult",
    "ReadoutConfig",
    "ReadoutTuning",
    "ScalingFit",
    "StackedCoreConfig",
    "TwinConfig",
    "TwinConfigError",
    "TwinEnsemble",
    "TwinError",
    "TwinEvaluation",
    "TwinTrainConfig",
    "evaluate_twin",
    "fit_scaling_law",
    "fit_twin",
    "load_twin",
    "recording_time",
    "scaling_sweep",
    "transfer",
    "transfer_twin",
    "tune_readout",
    "twin_fragility",
]
