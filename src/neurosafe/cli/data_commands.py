"""``neurosafe record | import | info | reliability``: recordings in, reliability out."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import numpy as np
import typer

from neurosafe.cli.common import (
    FigureAlias,
    JsonOpt,
    console,
    figure_path,
    handle_errors,
    print_json,
    print_table,
    report,
)
from neurosafe.core.seeds import child_seed


class StimulusKind(StrEnum):
    natural = "natural"
    gratings = "gratings"
    white_noise = "white_noise"
    pink_noise = "pink_noise"


class Dataset(StrEnum):
    cowley2023 = "cowley2023"
    kriegeskorte92 = "kriegeskorte92"
    ecker2010 = "ecker2010"


@handle_errors
def record(
    out: Path = typer.Option(Path("runs/record/recording.nc"), "--out", "-o", help="netCDF file to write."),
    neurons: int = typer.Option(100, min=1, help="Number of simulated neurons."),
    area: str = typer.Option("V1", help="Simulated area: V1 or V4."),
    stimuli: StimulusKind = typer.Option(StimulusKind.natural, help="Stimulus family."),
    n_stimuli: int = typer.Option(500, "--n-stimuli", min=1, help="Number of stimuli (gratings: ignored, full set)."),
    size: int = typer.Option(32, min=8, help="Image size in pixels."),
    repeats: int = typer.Option(10, min=1, help="Repeats per stimulus."),
    seed: int = typer.Option(0, min=0, help="Seed of the brain, the stimuli and the noise."),
    json_out: bool = JsonOpt,
) -> None:
    """Record the synthetic ground-truth brain's responses to stimuli and save them (with the stimuli)."""
    from neurosafe.data import SyntheticBrain
    from neurosafe.data.io import Recording, save_netcdf
    from neurosafe.data.stimuli import make_stimuli

    stim = make_stimuli(stimuli.value, n_stimuli, size, seed=child_seed(seed, "stimuli"))
    brain = SyntheticBrain(n_neurons=neurons, area=area, seed=seed, image_size=size)
    with console.status(f"recording {len(stim)} stimuli x {neurons} neurons x {repeats} repeats"):
        responses = brain.record(stim, repeats=repeats, seed=child_seed(seed, "trials"))
        save_netcdf(Recording(responses, stim), out)
    summary = {"file": str(out), "stimuli": len(stim), "neurons": neurons, "repeats": repeats, "area": area,
               "seed": seed, "mean_count": float(responses.mean())}
    report(summary, json_out, [f"wrote [bold]{out}[/]: {len(stim)} stimuli x {neurons} neurons x {repeats} repeats "
                               f"({area})"])


@handle_errors
def import_dataset(
    dataset: Dataset = typer.Argument(..., help="Which public dataset layout to read."),
    path: Path = typer.Argument(..., help="The dataset's folder (ecker2010: its .mat file)."),
    out: Path = typer.Option(..., "--out", "-o", help="netCDF file to write."),
    session: str | None = typer.Option(None, help="cowley2023: which session (e.g. 210325, 190925, 210224); "
                                                  "default 210325, the one with repeats."),
    json_out: bool = JsonOpt,
) -> None:
    """Convert a downloaded public dataset into a neurosafe netCDF recording."""
    from neurosafe.core.errors import DataFileError
    from neurosafe.data import datasets
    from neurosafe.data.io import save_netcdf

    if session is not None and dataset.value != "cowley2023":
        raise DataFileError(f"--session applies to cowley2023 only; {dataset.value} has no sessions to choose")
    if not path.exists():
        raise DataFileError(f"no such file or folder: {path}")
    if not out.parent.is_dir():
        raise DataFileError(f"no such folder for --out: {out.parent} (create it first)")
    loader = {"cowley2023": datasets.load_cowley2023, "kriegeskorte92": datasets.load_kriegeskorte92,
              "ecker2010": datasets.load_ecker2010}[dataset.value]
    rec = loader(path, session=session) if session is not None else loader(path)
    save_netcdf(rec, out)
    summary = {"file": str(out), "dataset": dataset.value, **_describe(rec)}
    report(summary, json_out, [f"wrote [bold]{out}[/] from {dataset.value}"])


def _describe(rec) -> dict:
    out: dict = {}
    if rec.responses is not None:
        r = rec.responses
        valid = ~np.isnan(r.values).reshape(r.sizes["stimulus"], r.sizes["neuron"], -1)
        out["responses"] = {"dims": dict(r.sizes), "attrs": dict(r.attrs),
                            "missing_fraction": float(np.isnan(r.values).mean()),
                            "dead_neurons": [str(n) for n in r.neuron_id.values[~valid.any(axis=(0, 2))]],
                            "dead_stimuli": [str(n) for n in r.stimulus_id.values[~valid.any(axis=(1, 2))]]}
    if rec.stimuli is not None:
        out["stimuli"] = {"n": len(rec.stimuli), "shape": list(rec.stimuli.shape[1:]),
                          "metadata": list(rec.stimuli.metadata.columns)}
    out["extras"] = {k: dict(v.sizes) for k, v in rec.extras.items()}
    return out


@handle_errors
def info(
    file: Path = typer.Argument(..., help="A neurosafe netCDF (.nc), NWB (.nwb) or .npz recording."),
    json_out: bool = JsonOpt,
) -> None:
    """Describe a recording file: dims, attributes, missing data, stimuli and extra arrays."""
    from neurosafe.data.io import load_recording

    desc = _describe(load_recording(file, allow_dead=True))
    if desc.get("responses", {}).get("missing_fraction") == 1.0:  # some dead neurons are flagged; all dead: refused
        from neurosafe.core.errors import DataValidationError

        raise DataValidationError(f"{file} holds no valid response at all (every value is NaN)")
    if json_out:
        print_json({"file": str(file), **desc})
        return
    print_table(str(file), ("part", "description"), [(part, str(value)) for part, value in desc.items()])
    dead = desc.get("responses", {})
    for kind in ("neurons", "stimuli"):
        if dead.get(f"dead_{kind}"):
            console.print(f"warning: {len(dead[f'dead_{kind}'])} {kind} with no valid response (all NaN): "
                          f"{', '.join(dead[f'dead_{kind}'][:10])}; other commands reject this file until they "
                          "are removed")


@handle_errors
def reliability(
    file: Path = typer.Argument(..., help="A recording with repeats (.nc or .nwb)."),
    n_splits: int = typer.Option(100, min=1, help="Random split-halves averaged per neuron."),
    seed: int = typer.Option(0, min=0, help="Seed of the splits and the bootstrap."),
    out: Path = typer.Option(Path("runs/reliability"), "--out", "-o",
                             help="Folder for the histogram, <file>_reliability.png."),
    figure: Path | None = FigureAlias,
    json_out: bool = JsonOpt,
) -> None:
    """Split-half reliability (Spearman-Brown corrected), oracle correlation and FEV per neuron."""
    from neurosafe.data.io import load_recording
    from neurosafe.metrics import reliability_summary
    from neurosafe.report.figures import reliability_histogram

    fig_path = figure_path(out, f"{file.stem}_reliability.png", figure, json_out)  # never beside the input
    rec = load_recording(file)
    if rec.responses is None:
        from neurosafe.core.errors import DataValidationError

        raise DataValidationError(f"{file} holds no responses (only stimuli/extras)")
    summary = reliability_summary(rec.responses, n_splits=n_splits, seed=seed)
    reliability_histogram(summary, fig_path)
    summary["figure"] = str(fig_path)
    if json_out:
        print_json(summary)
        return
    rows = [(key, f"{summary[key]['value']:.3f}", f"[{summary[key]['ci'][0]:.3f}, {summary[key]['ci'][1]:.3f}]")
            for key in ("split_half", "oracle", "fev")]
    print_table(f"reliability of {file.name} ({summary['n_neurons']} neurons)", ("measure", "median", "95% CI"), rows)
    console.print(f"histogram: {fig_path}")
