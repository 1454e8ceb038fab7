"""Subjects: anything that responds to stimuli (``Subject``), what can be differentiated
(``DifferentiableSubject``; ``as_differentiable`` adapts modules and functions), and ``resolve``, which turns a
model named by the user into a module or subject: it imports and runs the user's code."""

from neurosafe.core.hooks import SiteError
from neurosafe.subjects import zoo
from neurosafe.subjects.base import DifferentiableSubject, Subject
from neurosafe.subjects.loading import ModelSpecError, resolve
from neurosafe.subjects.torch import (
    OUTPUT,
    ActivationMemoryError,
    NotDifferentiableError,
    TorchSubject,
    as_differentiable,
    model_hash,
    network,
)
from neurosafe.subjects.training import TrainConfig, TrainResult, evaluate_accuracy, train_classifier

__all__ = [
    "OUTPUT", "ActivationMemoryError", "DifferentiableSubject", "ModelSpecError", "NotDifferentiableError",
    "SiteError", "Subject", "TorchSubject", "TrainConfig", "TrainResult", "as_differentiable", "evaluate_accuracy",
    "model_hash", "network", "resolve", "train_classifier", "zoo",
]
