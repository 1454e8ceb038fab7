"""``neurosafe connectome info | simulate``: published connectomes and the networks built on them."""

from __future__ import annotations

from enum import Enum, StrEnum
from pathlib import Path

import typer

from neurosafe.cli.common import FigureAlias, JsonOpt, console, figure_path, handle_errors, print_json, print_table
from neurosafe.connectome.loaders import CONNECTOMES

app = typer.Typer(help="Connectome-constrained models: load real connectomes, simulate rate and LIF networks.",
                  no_args_is_help=True)

ConnectomeName = Enum("ConnectomeName", {name: name for name in CONNECTOMES}, type=str)


class Model(StrEnum):
    lif = "lif"
    rate = "rate"


EXTENT_HELP = "flyvis_optic_lobe only: lattice radius in columns (15 = the paper's 721 columns)."


def _load(name: ConnectomeName, extent: int):
    from neurosafe.connectome import load_connectome

    kwargs = {"extent": extent} if name.value == "flyvis_optic_lobe" else {}
    return load_connectome(name.value, **kwargs)


def _format(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_format(v)}" for k, v in value.items())
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@app.command()
@handle_errors
def info(
    name: ConnectomeName = typer.Argument(..., help="Which connectome."),
    extent: int = typer.Option(15, min=1, help=EXTENT_HELP),
    json_out: bool = JsonOpt,
) -> None:
    """Neurons, cell types, synapse counts, sign balance, reciprocity and degree statistics."""
    connectome = _load(name, extent)
    summary = {**connectome.summary(), "citation": connectome.metadata.get("citation", "")}
    if json_out:
        print_json(summary)
        return
    print_table(f"{name.value}: {summary['citation']}", ("statistic", "value"),
                [(key, _format(value)) for key, value in summary.items()])


@app.command()
@handle_errors
def simulate(
    name: ConnectomeName = typer.Argument(..., help="Which connectome."),
    inputs: list[str] = typer.Option(..., "--input", "-i",
                                     help="Neurons or cell types that receive input (comma-separated or repeated)."),
    model: Model = typer.Option(Model.lif, help="lif: spiking (Shiu et al. 2024 preset); rate: rate network."),
    duration: float = typer.Option(200.0, min=0.001, help="Simulated time (ms)."),
    dt: float | None = typer.Option(None, min=1e-6, help="Time step (ms); default 0.1 (lif) or 1 (rate)."),
    current: float = typer.Option(0.0, help="Constant input to the input neurons (lif: mV of drive; rate: a.u.)."),
    poisson_rate: float = typer.Option(150.0, min=0,
                                       help="lif: Poisson input rate (Hz) to the input neurons (0: none)."),
    weight_per_synapse: float = typer.Option(0.275, help="lif: mV per synapse (Shiu et al. 2024: 0.275)."),
    gap_weight: float = typer.Option(0.0, min=0,
                                     help="lif: gap-junction conductance per contact, relative to the leak."),
    seed: int = typer.Option(0, min=0, help="Seed of the Poisson input."),
    out: Path = typer.Option(Path("runs/connectome"), "--out", "-o",
                             help="Folder for the figure, <name>_<model>.png: a raster (lif) or rate traces (rate)."),
    figure: Path | None = FigureAlias,
    extent: int = typer.Option(15, min=1, help=EXTENT_HELP),
    json_out: bool = JsonOpt,
) -> None:
    """Simulate a connectome with input to chosen neurons; print the most active neurons and save a figure."""
    from dataclasses import replace

    from neurosafe.connectome import SHIU2024, simulate_connectome

    fig_path = figure_path(out, f"{name.value}_{model.value}.png", figure, json_out)
    connectome = _load(name, extent)
    names = [x.strip() for item in inputs for x in item.split(",") if x.strip()]
    params = replace(SHIU2024, weight_per_synapse=weight_per_synapse, gap_weight=gap_weight)
    summary = simulate_connectome(connectome, names, model=model.value, duration=duration, dt=dt, current=current,
                                  poisson_rate=poisson_rate if model is Model.lif else 0.0, seed=seed, params=params,
                                  figure=fig_path)
    if json_out:
        print_json(summary)
        return
    key = "top_rates_hz" if model is Model.lif else "top_rates"
    print_table(f"{name.value}, {model.value} model, {duration:g} ms: most active neurons",
                ("neuron", "type", "rate (Hz)" if model is Model.lif else "rate (a.u.)"),
                [(row["neuron"], row["type"], f"{row['value']:.3g}") for row in summary[key]])
    if summary["top_downstream"]:
        print_table("most active downstream neurons (not driven directly)",
                    ("neuron", "type", "rate (Hz)" if model is Model.lif else "rate (a.u.)"),
                    [(row["neuron"], row["type"], f"{row['value']:.3g}") for row in summary["top_downstream"]])
    console.print(f"{summary['active_neurons']} of {summary['n_neurons']} neurons active, "
                  f"{summary['downstream_active']} of them downstream of the input "
                  f"({len(summary['downstream_types'])} cell types); figure: {summary['figure']}")
    if not summary["downstream_active"]:
        console.print("no neuron beyond the driven ones responded: the inputs' synapses may be inhibitory onto "
                      "neurons at rest (try other inputs, e.g. R7,R8 or L2 on flyvis_optic_lobe)")
