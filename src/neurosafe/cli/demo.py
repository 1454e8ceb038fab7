"""``neurosafe demo``: the main job until the full default study exists: record the synthetic brain,
measure reliability and write a small HTML report."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from neurosafe.cli.common import JsonOpt, console, handle_errors, print_json


@handle_errors
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Output folder."),
    neurons: int = typer.Option(100, min=1, help="Simulated V1 neurons."),
    n_stimuli: int = typer.Option(500, "--n-stimuli", min=1, help="Natural image patches."),
    repeats: int = typer.Option(10, min=1, help="Repeats per stimulus."),
    seed: int = typer.Option(0, min=0, help="Seed of everything."),
    json_out: bool = JsonOpt,
) -> None:
    """Record the synthetic V1, check reliability against ground truth, write report.html."""
    from neurosafe.report.demo import run_demo

    with console.status("recording the synthetic brain and measuring reliability"):
        result = run_demo(out, n_neurons=neurons, n_stimuli=n_stimuli, repeats=repeats, seed=seed)
    if json_out:
        print_json(result)
        return
    console.print(json.dumps({k: v for k, v in result.items() if k != "reliability"}, indent=2))
    console.print(f"report: [bold]{result['report']}[/]")
