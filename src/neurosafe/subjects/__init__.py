"""Subjects: anything that responds to stimuli, behind one protocol; what can be differentiated behind a second.

``resolve(spec)`` turns a model named by the user (zoo name, ``package.module:factory``, ``file.py:factory``)
into a module or subject: it imports and runs the user's code. ``as_differentiable(obj)`` turns a subject, a
module or a function into a ``DifferentiableSubject``.
"""

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

__all__ = [
    "OUTPUT",
    "ActivationMemoryError",
    "DifferentiableSubject",
    "ModelSpecError",
    "NotDifferentiableError",
    "SiteError",
    "Subject",
    "TorchSubject",
    "as_differentiable",
    "model_hash",
    "network",
    "resolve",
    "zoo",
]
