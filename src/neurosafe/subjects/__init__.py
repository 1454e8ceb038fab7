"""Subjects: anything that responds to stimuli (``Subject``), what can be differentiated
(``DifferentiableSubject``; ``as_differentiable`` adapts modules and functions), and ``resolve``, which turns a
model named by the user into a module or subject: it imports and runs the user's code."""

from neurosafe.core.lazy import lazy_exports

# public names import their module on first use (a cached `neurosafe run` needs few of them: issue 18)
__getattr__, __dir__ = lazy_exports(__name__, {
    "neurosafe.core.hooks": ["SiteError"],
    "neurosafe.subjects.zoo": ["zoo"],
    "neurosafe.subjects.base": ["DifferentiableSubject", "Subject"],
    "neurosafe.subjects.loading": ["ModelSpecError", "resolve"],
    "neurosafe.subjects.torch": [
        "OUTPUT", "ActivationMemoryError", "NotDifferentiableError", "TorchSubject", "as_differentiable",
        "model_hash", "network",
    ],
    "neurosafe.subjects.config": ["TrainConfig"],
    "neurosafe.subjects.training": ["TrainResult", "evaluate_accuracy", "train_classifier"],
})

__all__ = [
    "OUTPUT", "ActivationMemoryError", "DifferentiableSubject", "ModelSpecError", "NotDifferentiableError",
    "SiteError", "Subject", "TorchSubject", "TrainConfig", "TrainResult", "as_differentiable", "evaluate_accuracy",
    "model_hash", "network", "resolve", "train_classifier", "zoo",
]
