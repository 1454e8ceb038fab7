"""Data: validated responses and stimuli, file I/O, public-dataset loaders, the synthetic brain."""

from neurosafe.data.datasets import cowley2023_sessions, load_cowley2023, load_ecker2010, load_kriegeskorte92
from neurosafe.data.labyrinth import Labyrinth, load_labyrinth
from neurosafe.data.recording import make_responses, trial_average, validate_responses
from neurosafe.data.stimuli import StimulusSet, gratings, natural_patches, pink_noise, white_noise
from neurosafe.data.synthetic import SyntheticBrain

__all__ = [
    "Labyrinth",
    "StimulusSet",
    "SyntheticBrain",
    "cowley2023_sessions",
    "gratings",
    "load_cowley2023",
    "load_ecker2010",
    "load_kriegeskorte92",
    "load_labyrinth",
    "make_responses",
    "natural_patches",
    "pink_noise",
    "trial_average",
    "validate_responses",
    "white_noise",
]
