"""Errors of the loss-inference package: bad mazes, bad trajectories, planning that cannot converge."""

from neurosafe.core.errors import DataValidationError, NeurosafeError


class MazeError(DataValidationError):
    """A maze layout that cannot be read (ragged rows, unknown symbols, no start, ...)."""


class TrajectoryError(DataValidationError):
    """A trajectory that breaks its maze: leaves the grid, walks through a wall, an unknown action, ..."""


class PlanningError(NeurosafeError):
    """Value iteration that cannot converge (e.g. undiscounted rewards that grow without bound)."""
