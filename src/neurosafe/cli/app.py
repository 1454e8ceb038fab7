"""Root typer app: registers every command module."""

from __future__ import annotations

import typer

from neurosafe.cli import (
    connectome,
    data_commands,
    demo,
    embodied,
    irl,
    objectives,
    probe,
    results,
    robust,
    rules,
    run,
    score,
    tom,
    twin,
)
from neurosafe.cli.common import NeurosafeGroup, debug_callback

app = typer.Typer(
    name="neurosafe",
    help="NeuroAI for AI safety: record, align, twin, attack and probe models and brains.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=NeurosafeGroup,  # the error contract for every command (cli/common.py)
    callback=debug_callback,
)
app.command("record")(data_commands.record)
app.command("import")(data_commands.import_dataset)
app.command("info")(data_commands.info)
app.command("reliability")(data_commands.reliability)
app.command("demo")(demo.demo)
app.command("run")(run.run)
app.add_typer(irl.app, name="irl")
app.add_typer(connectome.app, name="connectome")
app.command("score")(score.score)
app.command("attack")(robust.attack)
app.command("corrupt")(robust.corrupt)
app.add_typer(probe.app, name="probe")
import neurosafe.cli.probe_sparse  # noqa: E402,F401,I001  (adds probe sae, patch, controversial)
app.add_typer(twin.app, name="twin")
app.add_typer(embodied.app, name="embodied")
app.add_typer(rules.app, name="rules")
app.add_typer(objectives.app, name="objectives")
app.command("results")(results.results)
app.add_typer(tom.app, name="tom")
app.command("rsa-game")(tom.rsa_game)


def main() -> None:
    app()
