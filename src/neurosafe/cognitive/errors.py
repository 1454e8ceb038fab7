"""Errors of the cognitive package: unreadable scenarios, paths that break their world, bad games or tables."""

from neurosafe.core.errors import DataValidationError


class ScenarioError(DataValidationError):
    """A scenario that cannot be read: cells off the grid, a path through a wall, an unknown truck type, ..."""


class GameError(DataValidationError):
    """A reference game (RSA) that cannot be read: ragged semantics, an utterance true of nothing, ..."""


class JudgementError(DataValidationError):
    """A human-judgement table that cannot be read: missing columns, unknown scenarios, non-numeric ratings."""
