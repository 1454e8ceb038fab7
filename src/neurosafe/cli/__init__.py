"""The ``neurosafe`` command line (typer). Each command group lives in its own module and is registered here."""

from neurosafe.cli.app import app, main

__all__ = ["app", "main"]
