"""``neurosafe twin fit | transfer | compare | eval | scaling``: sensory digital twins from recordings."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from neurosafe.cli.common import JsonOpt, handle_errors, print_json, print_table, report

app = typer.Typer(help="Sensory digital twins: fit core + readout models to recordings, evaluate, scaling laws.",
                  no_args_is_help=True)


class Readout(StrEnum):
    gaussian = "gaussian"
    factorized = "factorized"


class TransferReadout(StrEnum):
    gaussian = "gaussian"
    factorized = "factorized"
    linear = "linear"


class Recipe(StrEnum):
    stacked = "stacked"
    frontend = "frontend"


class Precision(StrEnum):
    float32 = "float32"
    bfloat16 = "bfloat16"


PRECISION_HELP = ("Training arithmetic: float32, or bfloat16 (mixed precision: the training forward pass under "
                  "autocast, about 1.3-1.9x faster on CPUs with AMX / AVX-512 BF16 and on recent GPUs).")


class Backend(StrEnum):
    local = "local"
    ray = "ray"


def _config(config: Path | None, epochs: int | None, readout: Readout | None, channels: int | None,
            image_size: int | None, recipe: Recipe = Recipe.stacked, base: dict | None = None,
            precision: Precision | None = None):
    """A TwinConfig from the recipe, an optional JSON/YAML file (or ``base``, the options a resumed fit started
    with), then the command-line overrides; the twin's own progress bar is off (the CLI shows one display)."""
    import yaml

    from neurosafe.twin import TwinConfig
    from neurosafe.twin.errors import TwinConfigError

    data: dict = dict(base or {})
    if recipe == Recipe.frontend and base is None:
        from neurosafe.twin.compare import frontend_twin_config

        data = frontend_twin_config().to_dict()
    if config is not None:
        if not config.exists():
            raise TwinConfigError(f"no such config file: {config}")
        given = yaml.safe_load(config.read_text()) or {}  # YAML is a superset of JSON
        if not isinstance(given, dict):
            raise TwinConfigError(f"{config} must hold a mapping of options")
        for key, value in given.items():
            data[key] = {**data[key], **value} if isinstance(value, dict) and isinstance(data.get(key), dict) else value
    if epochs is not None:
        data.setdefault("train", {})["epochs"] = epochs
    if readout is not None:
        data.setdefault("readout", {})["kind"] = readout.value
    if channels is not None:
        data.setdefault("core", {})["channels"] = channels
    if image_size is not None:
        data["image_size"] = image_size
    if precision is not None:
        data.setdefault("train", {})["precision"] = precision.value
    data.setdefault("train", {})["progress"] = False
    return TwinConfig.from_dict(data)


def _ints(text: str | None) -> list[int] | None:
    from neurosafe.twin.errors import TwinError

    if text is None:
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise TwinError(f"expected comma-separated integers; got {text!r}") from err


TUNE_HELP = ("PENALTY=V1,V2,... (repeatable; penalties: l1, smooth, position_prior, init_sigma): choose the new "
             "readout's penalties on a validation fifth of the training stimuli (every combination), then refit "
             "(Klindt et al. 2017); not for the linear readout, which ridge CV tunes.")


def _grid(items: list[str]) -> dict[str, list[float]]:
    """--tune PENALTY=V1,V2 items -> the grid of ``tune_readout`` (one-line errors)."""
    from neurosafe.twin.errors import TwinConfigError

    grid: dict[str, list[float]] = {}
    for item in items:
        name, eq, values = item.partition("=")
        if not eq or not name.strip() or not values.strip():
            raise TwinConfigError(f"--tune must be PENALTY=V1,V2,...; got {item!r}")
        if name.strip() in grid:
            raise TwinConfigError(f"--tune {name.strip()} given twice: list its values once")
        try:
            grid[name.strip()] = [float(v) for v in values.split(",") if v.strip()]
        except ValueError as err:
            raise TwinConfigError(f"--tune {item!r}: values must be numbers") from err
    return grid


FIT_OPTIONS = "fit_config.json"  # the options a fit started with: `--resume` continues with the same ones
CONFIG_HELP = "JSON or YAML file of TwinConfig options (core, readout, train, output, image_size, ...)."


RECIPE_HELP = ("stacked: a conv core trained from pixels; frontend: the frozen V1 front end + a small trained "
               "core + factorized readouts (wins on small natural-image data; see docs).")


@app.command("fit")
@handle_errors
def fit(
    data: list[Path] = typer.Argument(..., help="Recording(s) with stimuli (.nc or .nwb); several: one core "
                                                "shared across the sessions, one readout each."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the twin, its test split and checkpoints."),
    recipe: Recipe = typer.Option(Recipe.stacked, help=RECIPE_HELP),
    config: Path | None = typer.Option(None, help=CONFIG_HELP),
    epochs: int | None = typer.Option(None, min=1, help="Maximum number of epochs."),
    readout: Readout | None = typer.Option(None, help="Readout kind."),
    channels: int | None = typer.Option(None, min=1, help="Channels per core layer."),
    image_size: int | None = typer.Option(None, "--image-size", min=8, help="Resize stimuli to this many pixels."),
    precision: Precision | None = typer.Option(None, help=PRECISION_HELP),
    test_fraction: float = typer.Option(0.2, min=0, max=1, help="Fraction of stimuli held out for `twin eval`."),
    seed: int = typer.Option(0, min=0, help="Seed of the split, the initialisation and the training order."),
    resume: bool = typer.Option(False, help="Continue an interrupted fit from OUT/checkpoint, with the options it "
                                "was started with (--epochs etc. override them)."),
    json_out: bool = JsonOpt,
) -> None:
    """Fit a digital twin (core + readout per session) to one or several recordings and save it."""
    from neurosafe.core import progress
    from neurosafe.core.io import load_json, save_json
    from neurosafe.data.io import load_recording
    from neurosafe.twin.runs import fit_recording, fit_recordings

    started = out / FIT_OPTIONS
    base = load_json(started) if resume and config is None and started.exists() else None  # the epochs it began with
    cfg = _config(config, epochs, readout, channels, image_size, recipe, base=base, precision=precision)
    recs = [load_recording(d) for d in data]
    save_json(started, cfg.to_dict())
    with progress.switched(False if json_out else None):  # fit_twin reports epochs, val r, elapsed and ETA
        if len(recs) == 1 and recipe == Recipe.stacked:
            summary = fit_recording(recs[0], out, cfg, test_fraction=test_fraction, seed=seed, resume=resume)
        else:
            summary = fit_recordings(recs, out, cfg, test_fraction=test_fraction, seed=seed, resume=resume)
    report(summary, json_out, [f"twin saved to [bold]{out}[/]: {summary['n_neurons']} neurons, {summary['epochs']} "
                               f"epochs, best validation r {summary['best_val_correlation']:.3f} "
                               f"(epoch {summary['best_epoch']})"])


@app.command("transfer")
@handle_errors
def transfer(
    run: Path = typer.Argument(..., help="Folder written by `neurosafe twin fit`."),
    data: Path = typer.Argument(..., help="A new session's recording with stimuli (with or without repeats)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the transferred twin and its split."),
    readout: TransferReadout | None = typer.Option(None, help="New readout kind (default: the twin's); linear: "
                                                              "ridge with LOO CV on the core's features."),
    test_fraction: float = typer.Option(0.2, min=0, max=1,
                                        help="Fraction of the new session's stimuli held out for scoring."),
    tune: list[str] = typer.Option([], "--tune", metavar="PENALTY=V1,V2", help=TUNE_HELP),
    seed: int = typer.Option(0, min=0, help="Seed of the split and the readout's fit."),
    json_out: bool = JsonOpt,
) -> None:
    """Freeze a twin's core, fit a new readout on a new session's training stimuli, score held-out ones."""
    from neurosafe.data.io import load_recording
    from neurosafe.twin import ReadoutConfig
    from neurosafe.twin.runs import transfer_run

    grid = _grid(tune)
    kind = None if readout is None else ReadoutConfig(kind=readout.value, pool=2 if readout.value == "linear" else 1)
    result = transfer_run(run, load_recording(data), out, readout=kind, test_fraction=test_fraction, seed=seed,
                          grid=grid)
    lines = [f"transferred twin saved to [bold]{out}[/] (session {result['session']}, {result['readout']} readout): "
             f"median test r {result['median_r']:.3f}, mean {result['mean_r']:.3f} over {result['n_neurons']} neurons"]
    if "tuning" in result:
        chosen = ", ".join(f"{k}={v:g}" for k, v in result["tuning"]["chosen"].items())
        best = max(row["val_median_r"] for row in result["tuning"]["table"])
        lines.append(f"penalties chosen on {result['tuning']['n_validation']} validation stimuli: {chosen} (median "
                     f"validation r {best:.3f} of {len(result['tuning']['table'])} candidates)")
    if result["ceiling_free"]:
        lines.append("no repeats: ceiling-free scores only (no FEVE or fraction of ceiling)")
    else:
        lines.append(f"FEVE median {result['feve_median']:.3f}, pooled {result['feve_pooled']:.3f}; fraction of "
                     f"ceiling {result['fraction_of_ceiling']:.3f}")
    report(result, json_out, lines)


@app.command("compare")
@handle_errors
def compare(
    data: list[Path] = typer.Argument(..., help="Recordings with stimuli (.nc or .nwb), one per session."),
    out: Path = typer.Option(Path("runs/twin-compare"), "--out", "-o", help="Folder for results.json and the figure."),
    twin: Path | None = typer.Option(None, help="A fitted twin folder to transfer to each session (default: fit "
                                                "one core shared across the given sessions)."),
    recipe: Recipe = typer.Option(Recipe.frontend, help=RECIPE_HELP),
    config: Path | None = typer.Option(None, help=CONFIG_HELP),
    epochs: int | None = typer.Option(None, min=1, help="Maximum number of epochs."),
    precision: Precision | None = typer.Option(None, help=PRECISION_HELP),
    test_fraction: float = typer.Option(0.2, min=0, max=1, help="Fraction of stimuli held out per session."),
    n_boot: int = typer.Option(2000, min=0, help="Bootstrap resamples of neurons for the paired CIs."),
    seed: int = typer.Option(0, min=0, help="Seed of the split, the twin and the bootstrap."),
    json_out: bool = JsonOpt,
) -> None:
    """Ridge on pixels, on the V1 front end and on the twin core vs the twin, on one split per session."""
    from neurosafe.data.io import load_recording
    from neurosafe.twin.runs import compare_recordings

    cfg = None if twin is not None else _config(config, epochs, None, None, None, recipe, precision=precision)
    result = compare_recordings([load_recording(d) for d in data], out, twin_dir=twin, config=cfg,
                                test_fraction=test_fraction, seed=seed, n_boot=n_boot)
    if json_out:
        print_json(result)
        return
    rows = []
    for name, sess in result["sessions"].items():
        for model, sc in sess["models"].items():
            diff = sc.get("minus_ridge_v1_front_end")
            ci = ("" if not diff or diff["ci"] is None
                  else f"{diff['value']:+.3f} [{diff['ci'][0]:+.3f}, {diff['ci'][1]:+.3f}]")
            feve = "no repeats" if sc["ceiling_free"] else f"{sc['feve_pooled']:.3f}"
            rows.append((name, model, f"{sc['median_r']:.3f}", f"{sc['mean_r']:.3f}", ci, feve))
    print_table(f"twin compare ({result['mode']}; figure {result['figure']})",
                ("session", "model", "median r", "mean r", "vs ridge V1 (95% CI over neurons)", "pooled FEVE"), rows)


@app.command("eval")
@handle_errors
def evaluate(
    run: Path = typer.Argument(..., help="Folder written by `neurosafe twin fit`."),
    data: Path = typer.Argument(..., help="Recording with repeats (.nc or .nwb)."),
    all_stimuli: bool = typer.Option(False, "--all-stimuli", help="Score every stimulus, ignoring the test split."),
    seed: int = typer.Option(0, min=0, help="Seed of the bootstrap and the split-halves."),
    n_boot: int = typer.Option(200, min=0, help="Bootstrap resamples for the CIs."),
    json_out: bool = JsonOpt,
) -> None:
    """Score a twin: correlation to the average, single-trial correlation, FEVE, fraction of ceiling."""
    from neurosafe.data.io import load_recording
    from neurosafe.twin.runs import evaluate_run

    result = evaluate_run(run, load_recording(data), all_stimuli=all_stimuli, seed=seed, n_boot=n_boot)
    if json_out:
        print_json(result)
        return
    print_table(f"twin {run} on {data.name} ({result['stimuli']}, {result['n_stimuli']} stimuli)",
                ("measure", "median over neurons", "95% CI"),
                [(key, f"{score['value']:.3f}", "" if score["ci"] is None else
                  f"[{score['ci'][0]:.3f}, {score['ci'][1]:.3f}]") for key, score in result["scores"].items()])


@app.command("scaling")
@handle_errors
def scaling(
    data: Path = typer.Argument(..., help="Recording with stimuli and repeats (.nc or .nwb)."),
    out: Path = typer.Option(Path("runs/twin-scaling"), "--out", "-o", help="Folder for results.json and the figure."),
    stimuli: str | None = typer.Option(None, help="Comma-separated numbers of training stimuli (default: 5 budgets)."),
    repeats: str | None = typer.Option(None, help="Comma-separated numbers of repeats (default: all)."),
    neurons: str | None = typer.Option(None, help="Comma-separated numbers of neurons (default: all)."),
    seeds: str = typer.Option("0", help="Comma-separated seeds (one twin per seed and cell)."),
    trial_duration: float = typer.Option(1.0, min=1e-9,
                                         help="Seconds per trial (recording time = stimuli x repeats x this)."),
    fraction: float = typer.Option(0.9, min=0, max=1,
                                   help="Report the recording time to reach this fraction of the asymptote."),
    n_boot: int = typer.Option(200, min=0, help="Bootstrap resamples of the cells for the fits' CIs."),
    config: Path | None = typer.Option(None, help=CONFIG_HELP),
    epochs: int | None = typer.Option(None, min=1, help="Maximum number of epochs per twin."),
    test_fraction: float = typer.Option(0.2, min=0, max=1, help="Fraction of stimuli held out for scoring."),
    backend: Backend = typer.Option(Backend.local, help="Where the sweep's cells run."),
    seed: int = typer.Option(0, min=0, help="Seed of the test split and the bootstrap."),
    json_out: bool = JsonOpt,
) -> None:
    """Twin accuracy vs recording time (and neurons): sigmoid and power-law fits, CIs, a figure."""
    from neurosafe.core import progress
    from neurosafe.core.executor import get_executor
    from neurosafe.data.io import load_recording
    from neurosafe.twin.runs import scaling_recording

    cfg = _config(config, epochs, None, None, None)
    with progress.switched(False if json_out else None):
        result = scaling_recording(load_recording(data), out, n_stimuli=_ints(stimuli), repeats=_ints(repeats),
                                   n_neurons=_ints(neurons), seeds=_ints(seeds) or [0], config=cfg,
                                   test_fraction=test_fraction, trial_duration=trial_duration, fraction=fraction,
                                   n_boot=n_boot, executor=get_executor(backend.value), seed=seed)
    report(result, json_out, [f"{name}: asymptote {fit['params']['asymptote']:.3f}, {fit['fraction']:.0%} of it after "
                              f"{fit['time_to_fraction']:.0f} s (rmse {fit['rmse']:.3f})"
                              for name, fit in result["fits"].items()] + [f"figure: {result['figure']}"])
