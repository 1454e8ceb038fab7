"""Neuro-interpretability (paper section 8): in-silico electrophysiology for any subject or recording.

Tuning curves and their indices, receptive fields, most-exciting inputs, lesions with dose-response curves,
population geometry and linear probes (unit cards, which combine them, are in :mod:`neurosafe.report`); sparse
dictionaries (SAEs, dictionary learning) with planted-superposition benchmarks, causal interventions (activation
patching, mediation, stimulation) and controversial stimuli (``dictionary``, ``superposition``, ``features``,
``causal``, ``controversial``).
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
from neurosafe.interp.causal import (
    PlantedCircuit,
    mediation,
    patch,
    patching_effect,
    planted_pairs,
    random_units,
    stimulate,
)
from neurosafe.interp.controversial import (
    controversial_classes,
    controversial_stimuli,
    discrimination_experiment,
    model_discrimination,
)
from neurosafe.interp.dictionary import (
    Dictionary,
    SAEConfig,
    SparseAutoencoder,
    dictionary_metrics,
    downstream_loss,
    fit_sae,
    learn_dictionary,
    site_samples,
)
from neurosafe.interp.features import feature_subject, top_natural_images
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
from neurosafe.interp.superposition import (
    MixedSelectivityBrain,
    dictionary_vs_neurons,
    latent_recovery,
    mean_max_cosine,
    recovery_curve,
    toy_superposition,
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
    "Dictionary",
    "InterpError",
    "MixedSelectivityBrain",
    "PlantedCircuit",
    "ProbeResult",
    "SAEConfig",
    "SparseAutoencoder",
    "UnitResponder",
    "UnknownSiteError",
    "ablate",
    "accuracy_score",
    "alignment_score",
    "category_selectivity",
    "contrast_response",
    "controversial_classes",
    "controversial_stimuli",
    "cross_validated_spectrum",
    "decoding_score",
    "dictionary_metrics",
    "dictionary_vs_neurons",
    "differentiable",
    "differentiable_forward",
    "direction_tuning",
    "discrimination_experiment",
    "diverse_exciting_inputs",
    "dose_response",
    "downstream_loss",
    "eigenspectrum_alpha",
    "face_stimuli",
    "feature_subject",
    "fit_gaussian_2d",
    "fit_sae",
    "gradient_receptive_fields",
    "input_shape",
    "latent_recovery",
    "learn_dictionary",
    "linear_probe",
    "mean_max_cosine",
    "mediation",
    "mei_vs_natural",
    "model_discrimination",
    "most_exciting_inputs",
    "most_inhibitory_inputs",
    "naka_rushton",
    "orientation_decoding",
    "orientation_tuning",
    "participation_ratio",
    "patch",
    "patching_effect",
    "pca_spectrum",
    "phase_tuning",
    "planted_pairs",
    "power_law_exponent",
    "random_units",
    "receptive_fields",
    "recovery_curve",
    "rf_envelope",
    "site_samples",
    "spike_triggered_average",
    "stimulate",
    "stimulus_format",
    "top_natural_images",
    "toy_superposition",
    "tuning",
    "tuning_curves",
    "unit_ablation_effects",
]
