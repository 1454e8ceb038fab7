"""Subjects: anything that responds to stimuli, behind one protocol."""

from neurosafe.subjects import zoo
from neurosafe.subjects.base import Subject
from neurosafe.subjects.torch import ActivationMemoryError, SiteError, TorchSubject, resolve_device

__all__ = ["ActivationMemoryError", "SiteError", "Subject", "TorchSubject", "resolve_device", "zoo"]
