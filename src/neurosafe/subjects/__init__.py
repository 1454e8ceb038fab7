"""Subjects: anything that responds to stimuli, behind one protocol."""

from neurosafe.subjects.base import Subject

__all__ = ["Subject"]
