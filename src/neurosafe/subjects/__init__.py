"""Subjects: anything that responds to stimuli, behind one protocol."""

from neurosafe.core.hooks import SiteError
from neurosafe.subjects import zoo
from neurosafe.subjects.base import Subject
from neurosafe.subjects.torch import ActivationMemoryError, TorchSubject, model_hash

__all__ = ["ActivationMemoryError", "SiteError", "Subject", "TorchSubject", "model_hash", "zoo"]
