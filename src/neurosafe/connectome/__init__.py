"""Connectome-constrained models (paper section 4): real connectomes, rate and spiking networks built on them.

- :func:`load_connectome` reads published connectomes from data packages (C. elegans from ``cect``, the fly
  optic lobe from ``flyvis``) into a typed sparse :class:`Connectome`.
- :class:`RateModel` and :class:`LIFNetwork` simulate them in torch (CPU or GPU) and are Subjects.
- :func:`train_rate_model` fits the free parameters with connectivity and signs fixed.
"""

from neurosafe.connectome.files import MissingDataPackageError
from neurosafe.connectome.graph import Connectome, random_connectome
from neurosafe.connectome.lif import SHIU2024, LIFNetwork, LIFParams, SpikeResult
from neurosafe.connectome.loaders import CONNECTOMES, load_connectome
from neurosafe.connectome.rate import RateModel
from neurosafe.connectome.runs import simulate_connectome
from neurosafe.connectome.subject import currents_to_stimuli
from neurosafe.connectome.train import TrainingResult, classification_accuracy, train_rate_model

__all__ = [
    "CONNECTOMES",
    "SHIU2024",
    "Connectome",
    "LIFNetwork",
    "LIFParams",
    "MissingDataPackageError",
    "RateModel",
    "SpikeResult",
    "TrainingResult",
    "classification_accuracy",
    "currents_to_stimuli",
    "load_connectome",
    "random_connectome",
    "simulate_connectome",
    "train_rate_model",
]
