"""Exception types shared by every package: one family, so callers can catch neurosafe's own errors."""


class NeurosafeError(ValueError):
    """Base class of every error neurosafe raises on bad input."""


class DataValidationError(NeurosafeError):
    """Recordings, stimuli or files that break the data model (wrong dims, NaN, duplicates, ...)."""


class DataFileError(NeurosafeError):
    """A file that is missing, corrupt or not in the layout its loader expects."""
