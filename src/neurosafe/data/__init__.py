"""Data: validated responses and stimuli, file I/O, public-dataset loaders, the synthetic brain."""

from neurosafe.data.recording import make_responses, trial_average, validate_responses
from neurosafe.data.stimuli import StimulusSet, gratings, natural_patches, pink_noise, white_noise
from neurosafe.data.synthetic import SyntheticBrain

__all__ = [
    "StimulusSet",
    "SyntheticBrain",
    "gratings",
    "make_responses",
    "natural_patches",
    "pink_noise",
    "trial_average",
    "validate_responses",
    "white_noise",
]
