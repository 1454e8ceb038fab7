"""Root typer app: registers every command module."""

from __future__ import annotations

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
    root_app,
    rules,
    run,
    score,
    tom,
    twin,
)

app = root_app()  # the error contract for every command (cli/common.py), --debug
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
