"""Neuro-interpretability (paper section 8): in-silico electrophysiology for any subject or recording.

Tuning curves and their indices, receptive fields, most-exciting inputs, lesions with dose-response curves,
population geometry and linear probes (unit cards, which combine them, are in :mod:`neurosafe.report`).
Every experiment takes a recording (a response DataArray
whose stimulus coords carry the stimulus parameters), a Subject + site (the synthetic brain, a TorchSubject, a
twin) or a plain ``torch.nn.Module`` + site name, and returns xarray with the recording's coords, so brains and
models are analysed by the same code. Methods are validated on the synthetic brain's ground truth first.
"""

from neurosafe.interp._access import (
    InterpError,
    UnitResponder,
    UnknownSiteError,
    differentiable,
    differentiable_forward,
    input_shape,
    stimulus_format,
)
from neurosafe.interp.category import category_selectivity, face_stimuli
from neurosafe.interp.geometry import (
    cross_validated_spectrum,
    eigenspectrum_alpha,
    participation_ratio,
    pca_spectrum,
    power_law_exponent,
)
from neurosafe.interp.lesion import (
    ablate,
    accuracy_score,
    alignment_score,
    decoding_score,
    dose_response,
    orientation_decoding,
    unit_ablation_effects,
)
from neurosafe.interp.mei import (
    AscentConfig,
    diverse_exciting_inputs,
    mei_vs_natural,
    most_exciting_inputs,
    most_inhibitory_inputs,
)
from neurosafe.interp.probes import ProbeResult, linear_probe
from neurosafe.interp.receptive_fields import (
    fit_gaussian_2d,
    gradient_receptive_fields,
    receptive_fields,
    rf_envelope,
    spike_triggered_average,
)
from neurosafe.interp.tuning import (
    contrast_response,
    direction_tuning,
    naka_rushton,
    orientation_tuning,
    phase_tuning,
    tuning,
    tuning_curves,
)

__all__ = [
    "AscentConfig",
    "InterpError",
    "ProbeResult",
    "UnitResponder",
    "UnknownSiteError",
    "ablate",
    "accuracy_score",
    "alignment_score",
    "category_selectivity",
    "contrast_response",
    "cross_validated_spectrum",
    "decoding_score",
    "differentiable",
    "differentiable_forward",
    "direction_tuning",
    "diverse_exciting_inputs",
    "dose_response",
    "eigenspectrum_alpha",
    "face_stimuli",
    "fit_gaussian_2d",
    "gradient_receptive_fields",
    "input_shape",
    "linear_probe",
    "mei_vs_natural",
    "most_exciting_inputs",
    "most_inhibitory_inputs",
    "naka_rushton",
    "orientation_decoding",
    "orientation_tuning",
    "participation_ratio",
    "pca_spectrum",
    "phase_tuning",
    "power_law_exponent",
    "receptive_fields",
    "rf_envelope",
    "spike_triggered_average",
    "stimulus_format",
    "tuning",
    "tuning_curves",
    "unit_ablation_effects",
]
