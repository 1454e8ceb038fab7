"""Errors of the digital-twin package (all are :class:`neurosafe.core.errors.NeurosafeError`)."""

from neurosafe.core.errors import NeurosafeError


class TwinError(NeurosafeError):
    """Bad input to a twin: data it cannot fit, stimuli it cannot see, a checkpoint that does not match."""


class TwinConfigError(TwinError):
    """An invalid twin configuration (unknown option, out-of-range value)."""
