"""Sensory digital twins (paper section 2): core + readout models fit to recordings, judged against noise
ceilings, with scaling laws over recording time."""

from neurosafe.core.lazy import lazy_exports

# public names import their module on first use (a cached `neurosafe run` needs few of them: issue 18)
__getattr__, __dir__ = lazy_exports(__name__, {
    "neurosafe.twin.config": [
        "FeatureCoreConfig", "ReadoutConfig", "StackedCoreConfig", "TwinConfig", "TwinTrainConfig",
    ],
    "neurosafe.twin.ensemble": ["TwinEnsemble"],
    "neurosafe.twin.errors": ["TwinConfigError", "TwinError"],
    "neurosafe.twin.evaluate": ["TwinEvaluation", "evaluate_twin"],
    "neurosafe.twin.fragility": ["FragilityResult", "twin_fragility"],
    "neurosafe.twin.model": ["DigitalTwin", "load_twin=DigitalTwin.load"],
    "neurosafe.twin.scaling": ["ScalingFit", "fit_scaling_law", "recording_time", "scaling_sweep"],
    "neurosafe.twin.train": ["EpochReport", "fit_twin", "transfer_twin", "transfer=transfer_twin"],
    "neurosafe.twin.tuning": ["ReadoutTuning", "tune_readout"],
})

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
