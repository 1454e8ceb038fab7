"""Subjects: anything that responds to stimuli, behind one protocol."""

from neurosafe.core.hooks import SiteError
from neurosafe.subjects import zoo
from neurosafe.subjects.base import Subject
from neurosafe.subjects.torch import ActivationMemoryError, TorchSubject, model_hash
from neurosafe.subjects.training import TrainConfig, TrainResult, evaluate_accuracy, train_classifier

__all__ = [
    "ActivationMemoryError", "SiteError", "Subject", "TorchSubject", "TrainConfig", "TrainResult",
    "evaluate_accuracy", "model_hash", "train_classifier", "zoo",
]
