"""``neurosafe attack | corrupt``: adversarial robustness curves and common corruptions of a model."""

from __future__ import annotations

from enum import StrEnum
from fractions import Fraction
from pathlib import Path

import typer

from neurosafe.cli.common import (
    FigureAlias,
    JsonOpt,
    console,
    figure_path,
    handle_errors,
    out_folder,
    print_json,
    print_table,
)

MODEL_HELP = ("digits-cnn, synthetic-v1, synthetic-v4, a zoo name, package.module:factory or file.py:factory "
              "(imports and runs that code: trusted code only).")
DATA_HELP = "digits (held-out, labelled), natural (patches, unlabelled), or a .npz (images, labels) / .nc."


class Norm(StrEnum):
    linf = "linf"
    l2 = "l2"


class Method(StrEnum):
    pgd = "pgd"
    apgd = "apgd"
    fgsm = "fgsm"


def parse_eps(text: str) -> list[float]:
    """'1/255,2/255,0.1' -> [0.0039..., 0.0078..., 0.1]."""
    from neurosafe.robust import AttackError

    try:
        return [float(Fraction(part.strip())) for part in text.split(",") if part.strip()]
    except (ValueError, ZeroDivisionError) as err:
        raise AttackError(f"--eps must be comma-separated numbers or fractions like 2/255; got {text!r}") \
            from err


@handle_errors
def attack(
    model: str = typer.Option("digits-cnn", help=MODEL_HELP),
    weights: Path | None = typer.Option(None, help="State-dict file for the model (weights_only)."),
    data: str = typer.Option("digits", help=DATA_HELP),
    n: int = typer.Option(1000, "--n", min=1, help="Number of inputs to attack."),
    eps: str = typer.Option("1/255,2/255,4/255,8/255", help="Comma-separated budgets (fractions allowed)."),
    norm: Norm = typer.Option(Norm.linf, help="Threat model."),
    method: Method = typer.Option(Method.pgd, "--attack", help="Attack."),
    steps: int = typer.Option(20, min=1, help="Attack iterations (PGD, APGD)."),
    restarts: int = typer.Option(1, min=1, help="Random restarts (PGD, APGD)."),
    checks: bool = typer.Option(True, "--checks/--no-checks", help="Run the gradient-masking sanity checks."),
    out: Path = typer.Option(Path("runs/attack"), "--out", "-o",
                             help="Folder for the robustness curve, robustness_curve.png."),
    figure: Path | None = FigureAlias,
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    seed: int = typer.Option(0, min=0, help="Seed of the model, the data split and the random starts."),
    json_out: bool = JsonOpt,
) -> None:
    """Attack a model at each epsilon: accuracy (or, for a regression model such as the synthetic brain,
    the change of its predicted responses) under the attack and under random noise of the same size."""
    from neurosafe.core.devices import resolve_device
    from neurosafe.robust import robustness_report
    from neurosafe.robust.sources import MODELS, load_data, load_model

    budgets = parse_eps(eps)
    resolve_device(device)  # an unknown device is refused before the model is trained
    figure = figure_path(out, "robustness_curve.png", figure, json_out)
    _check_weights(model, weights)
    # a user or zoo spec is built (cheap) before the data are read; the built-in models that train (digits-cnn)
    # only after the data, so a bad file fails before training. Natural patches at the digits CNN's 16 pixels.
    net = None if model in MODELS else load_model(model, weights, seed=seed)
    x, y = load_data(data, n, size=16 if model == "digits-cnn" else 32, seed=seed)
    net = net if net is not None else load_model(model, weights, seed=seed)
    with console.status(f"{method.value} on {len(x)} inputs at {len(budgets)} budgets"):
        scores = robustness_report(net, x, y, eps=budgets, norm=norm.value, attack=method.value, steps=steps,
                                   restarts=restarts, parts=("adversarial",), checks=checks, seed=seed,
                                   device=device, n_boot=200)
    measure = "accuracy" if y is not None else "output_change"
    rows = [(e, scores[f"{measure}_{method.value}_{norm.value}_eps{e:.4g}"],
             scores[f"{measure}_noise_{norm.value}_eps{e:.4g}"]) for e in sorted(budgets)]
    found = rows[0][1].provenance.get("gradient_masking_checks", {})
    _curve_figure(rows, measure, figure, f"{model} on {data}, {norm.value}")
    if json_out:
        print_json({"model": model, "data": data, "n": len(x), "norm": norm.value, "attack": method.value,
                    "measure": measure, "scores": {k: s.to_dict() for k, s in scores.items()},
                    "checks": found, "figure": str(figure)})
        return
    clean = [("0 (clean)", f"{scores['accuracy_clean'].value:.3f}", "")] if "accuracy_clean" in scores else []
    print_table(f"{method.value} ({norm.value}) on {model}, {len(x)} inputs from {data}",
                ("epsilon", f"{measure} (attack)", f"{measure} (noise)"),
                clean + [(f"{e:.4g}", f"{att.value:.3f} [{att.ci[0]:.3f}, {att.ci[1]:.3f}]", f"{noise.value:.3f}")
                         for e, att, noise in rows])
    console.print(f"figure: [bold]{figure}[/]")
    for name, check in found.items():
        colour = "green" if check["passed"] else "bold red"
        console.print(f"[{colour}]{'pass' if check['passed'] else 'FAIL'}[/] {name}: {check['message']}")


def _curve_figure(rows: list, measure: str, path: Path, title: str) -> None:
    import xarray as xr

    from neurosafe.robust.figures import robustness_curve_figure

    eps = [r[0] for r in rows]
    curves = {label: xr.DataArray([r[i].value for r in rows], dims=("epsilon",), coords={"epsilon": eps},
                                  name=measure) for i, label in ((1, "attack"), (2, "random noise"))}
    robustness_curve_figure(curves, path, title)


def _check_weights(model: str | None, weights: Path | None) -> None:
    """A --weights file must belong to a model that takes one and be a readable state dict (before any work)."""
    from neurosafe.core.io import load_state
    from neurosafe.robust import AttackError
    from neurosafe.robust.sources import MODELS

    if weights is None:
        return
    if model is None:
        raise AttackError("--weights needs --model (the network the state dict belongs to)")
    if model in MODELS:
        raise AttackError(f"--weights applies to zoo or user models; {model} is built in and takes none")
    if not weights.is_file():
        raise AttackError(f"--weights: no such file: {weights}")
    load_state(weights)  # CorruptFileError (one line) when it is not a torch state file


@handle_errors
def corrupt(
    data: str = typer.Option("natural", help=DATA_HELP),
    out: Path = typer.Option(Path("runs/corrupt"), "--out", "-o",
                             help="Folder for corruptions.png (a path ending in .png: that file, as before)."),
    index: int | None = typer.Option(None, min=0, help="Which image to show (default: the one with the most "
                                     "contrast, so the corruptions are visible)."),
    kinds: str = typer.Option("all", help="Comma-separated corruption names, or 'all'."),
    model: str | None = typer.Option(None, help=f"Also evaluate this model: {MODEL_HELP}"),
    weights: Path | None = typer.Option(None, help="State-dict file for the model (weights_only)."),
    n: int = typer.Option(500, "--n", min=1, help="Number of inputs to evaluate the model on."),
    seed: int = typer.Option(0, min=0, help="Seed of the corruptions, the data and the model."),
    json_out: bool = JsonOpt,
) -> None:
    """Draw every corruption (Hendrycks & Dietterich 2019) at every severity on one image; with --model,
    measure accuracy (or output change) under each corruption."""
    from neurosafe.robust import CORRUPTIONS, AttackError, robustness_report
    from neurosafe.robust.figures import corruption_grid
    from neurosafe.robust.sources import load_data, load_model

    out = out if out.suffix.lower() == ".png" else out_folder(out) / "corruptions.png"
    out_folder(out.parent)
    names = list(CORRUPTIONS) if kinds == "all" else [k.strip() for k in kinds.split(",") if k.strip()]
    unknown = sorted(set(names) - set(CORRUPTIONS))
    if unknown or not names:
        raise AttackError(f"unknown corruptions {unknown}; choose from {', '.join(CORRUPTIONS)}")
    _check_weights(model, weights)
    net = load_model(model, weights, seed=seed) if model is not None else None  # a wrong spec: before any work
    x, y = load_data(data, n, seed=seed)
    if index is None:
        import numpy as np

        index = int(np.argmax(np.asarray(x).reshape(len(x), -1).std(axis=1)))  # not a near-black patch
    if index >= len(x):
        raise AttackError(f"--index {index} is out of range: {data} gives {len(x)} images")
    corruption_grid(x, out, index=index, kinds=names, seed=seed)
    result: dict = {"figure": str(out), "data": data, "corruptions": names, "seed": seed}
    if net is not None:
        with console.status(f"{len(names)} corruptions x 5 severities on {len(x)} inputs"):
            scores = robustness_report(net, x, y, parts=("corruption",), corruptions=names, seed=seed,
                                       n_boot=200)
        result |= {"model": model, "n": len(x), "scores": {k: s.to_dict() for k, s in scores.items()}}
    if json_out:
        print_json(result)
        return
    console.print(f"figure: [bold]{out}[/]")
    for name, score in result.get("scores", {}).items():
        console.print(f"{name}: {score['value']:.3f}")
        for kind, value in (score.get("per_unit") or {}).items():
            console.print(f"  {kind}: {value:.3f}")
