"""The ``neurosafe`` command line (typer). Each command group lives in its own module and is registered here.

``app`` (every command) is imported on first use; :func:`main` serves ``neurosafe run ...`` from a root
with that one command, so a cached re-run does not import the other commands' libraries (their models,
matplotlib, the connectome and RL stacks): part of a fast cached ``neurosafe run`` (issue 18)."""

from __future__ import annotations

import sys
import types

__all__ = ["app", "main", "root_app"]

ROOT_HELP = "NeuroAI for AI safety: record, align, twin, attack and probe models and brains."


def root_app():
    """An empty root ``neurosafe`` typer app with the error contract (cli/common.py) and ``--debug``."""
    import typer

    from neurosafe.cli.common import NeurosafeGroup, debug_callback

    return typer.Typer(name="neurosafe", help=ROOT_HELP, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_enable=False, cls=NeurosafeGroup, callback=debug_callback)


def main() -> None:
    if sys.argv[1:2] == ["run"]:
        from neurosafe.cli.run import run

        light = root_app()
        light.command("run")(run)
        light()
        return
    from neurosafe.cli.app import main as full

    full()


class _Cli(types.ModuleType):
    """``neurosafe.cli.app`` is the Typer app (imported on first use), not the submodule of the same name that
    the import system would otherwise bind here once it is imported."""

    @property
    def app(self):
        from neurosafe.cli.app import app

        return app

    @app.setter
    def app(self, value) -> None:  # the import system binding the submodule: ignored
        pass


sys.modules[__name__].__class__ = _Cli
