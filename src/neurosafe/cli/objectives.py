"""``neurosafe objectives train | compare | recover``: which training objective made a representation?"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from neurosafe.cli.common import JsonOpt, console, handle_errors, out_folder, print_json, print_table, to_jsonable

app = typer.Typer(help="Objective zoo, multi-metric objective comparison and model recovery.", no_args_is_help=True)

STORE_HELP = "Folder of trained networks (default: $NEUROSAFE_MODEL_STORE or runs/models)."


def _list(text: str | None, cast=str) -> list | None:
    from neurosafe.objectives import ObjectiveError

    if text is None:
        return None
    try:
        items = [cast(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise ObjectiveError(f"expected a comma-separated list; got {text!r}") from err
    if not items:
        raise ObjectiveError(f"empty list: {text!r}")
    return items


def _config(widths: str | None, epochs: int, n_images: int, image_size: int):
    from neurosafe.objectives import DEFAULT_WIDTHS, ObjectiveConfig

    return ObjectiveConfig(widths=tuple(_list(widths, int) or DEFAULT_WIDTHS), epochs=epochs, n_images=n_images,
                           image_size=image_size)


def _write(out: Path, name: str, payload: dict) -> Path:
    from neurosafe.core.io import atomic_path

    with atomic_path(out / name) as tmp:
        tmp.write_text(json.dumps(to_jsonable(payload), indent=2))
    return out / name


@app.command("train")
@handle_errors
def train(
    objectives: str | None = typer.Option(None, help="Comma-separated objectives (default: all)."),
    seeds: str = typer.Option("0,1,2", help="Comma-separated training seeds."),
    widths: str | None = typer.Option(None, help="Three channel widths, e.g. 16,32,64 (the default)."),
    epochs: int = typer.Option(3, min=1, help="Training epochs."),
    n_images: int = typer.Option(2000, min=1, help="Natural patches to train on."),
    image_size: int = typer.Option(16, min=8, help="Patch size in px (a multiple of 8)."),
    store: Path | None = typer.Option(None, help=STORE_HELP),
    checkpoints: Path | None = typer.Option(None, help="Folder for resumable per-network checkpoints."),
    backend: str = typer.Option("local", help="Executor for the sweep: local or ray."),
    json_out: bool = JsonOpt,
) -> None:
    """Train the objective zoo and store each network by name (objective:NAME:seedK), usable as --model."""
    from neurosafe.objectives import OBJECTIVES, train_zoo

    for option, folder in (("--store", store), ("--checkpoints", checkpoints)):
        if folder is not None:
            out_folder(folder, option)  # written after training: refused now, not after it
    config = _config(widths, epochs, n_images, image_size)
    names = train_zoo(tuple(_list(objectives) or OBJECTIVES), tuple(_list(seeds, int)), config, store, checkpoints,
                      backend=backend, progress=None if not json_out else False)
    if json_out:
        print_json({"models": names})
    else:
        console.print("stored: " + ", ".join(names))


@app.command("compare")
@handle_errors
def compare(
    data: Path = typer.Argument(..., help="A recording with stimuli (.nc or .nwb), e.g. from `neurosafe import`."),
    models: str | None = typer.Option(None, help="Comma-separated stored networks (default: every objective:* "
                                      "network of the store with the default widths)."),
    reference: str | None = typer.Option(None, help="Compare with this extra array of RDMs (e.g. human_it) "
                                         "instead of the responses."),
    groups: str | None = typer.Option(None, help="RSA ceiling: coordinate of the RDMs left out together."),
    metrics: str | None = typer.Option(None, help="Comma-separated metrics (ridge, rsa, rsa_pearson, cka, shape); "
                                       "default: every metric the data allow."),
    image_size: int = typer.Option(16, min=8, help="Stimuli are resized (grey) to this size, the networks' input."),
    n_boot: int = typer.Option(200, min=1, help="Bootstrap samples over test stimuli."),
    seed: int = typer.Option(0, min=0, help="Seed of the layer-selection split, folds and bootstrap."),
    store: Path | None = typer.Option(None, help=STORE_HELP),
    out: Path = typer.Option(Path("runs/objectives"), "--out", "-o",
                             help="Folder for comparison.json and comparison.png."),
    json_out: bool = JsonOpt,
) -> None:
    """Score every stored network against a recording with several metrics; which objective wins, and do
    the metrics agree (Kendall's W)?"""
    from neurosafe.core.errors import DataValidationError
    from neurosafe.data.io import load_recording
    from neurosafe.objectives import ObjectiveError, objective_of
    from neurosafe.objectives.engine import compare_objectives, plot_comparison
    from neurosafe.subjects import resolve
    from neurosafe.subjects.store import list_stored, load_stored

    rec = load_recording(data)
    if rec.stimuli is None:
        raise DataValidationError(f"{data} holds no stimuli; the networks need the images")
    rdms = None
    if reference is not None:
        if reference not in rec.extras:
            raise DataValidationError(f"{data} has no extra array {reference!r}; it has {sorted(rec.extras)}")
        rdms = rec.extras[reference]
    elif rec.responses is None:
        raise DataValidationError(f"{data} holds no responses; pick one of its extras with --reference "
                                  f"({sorted(rec.extras)})")
    names = _list(models) or [n for n in list_stored(store) if n.count(":") == 2]
    if not names:
        raise ObjectiveError("no stored objective networks: run `neurosafe objectives train` first")
    candidates = {}
    for name in names:
        objective = objective_of(name)
        candidates[name] = (objective, load_stored(name, 1, store) if store is not None
                            else resolve(name, in_channels=1))
    stimuli = rec.stimuli.resized(image_size, grey=True)
    result = compare_objectives(candidates, stimuli, None if rdms is not None else rec.responses, rdms,
                                metrics=_list(metrics), groups=groups, n_boot=n_boot, seed=seed,
                                progress=None if not json_out else False)
    figure = plot_comparison(result, out / "comparison.png", title=f"{data.name}")
    summary = {"data": str(data), **result.to_dict(), "figure": str(figure)}
    summary["file"] = str(_write(out, "comparison.json", summary))
    if json_out:
        print_json(summary)
        return
    rows = [(r.objective, r.metric, f"{r.value:.3f}",
             "" if r.ci_low != r.ci_low else f"[{r.ci_low:.3f}, {r.ci_high:.3f}]",
             "" if r.ceiling != r.ceiling else f"{r.ceiling:.3f}",
             "" if r.ceiled_value != r.ceiled_value else f"{r.ceiled_value:.3f}")
            for r in result.objective_table.itertuples()]
    print_table(f"objectives vs {data.name}", ("objective", "metric", "value", "95% CI", "ceiling", "ceiled"), rows)
    w = "n/a" if result.kendall_w is None else f"{result.kendall_w:.2f}" + (
        "" if result.kendall_w_ci is None else f" [{result.kendall_w_ci[0]:.2f}, {result.kendall_w_ci[1]:.2f}]")
    console.print(f"winners: {result.winners}; consensus: {result.consensus}; Kendall's W {w}")
    console.print(f"figure: {figure}; table: {out / 'comparison.json'}")


@app.command("recover")
@handle_errors
def recover(
    objectives: str | None = typer.Option(None, help="Comma-separated objectives (default: all)."),
    candidate_seeds: str = typer.Option("0,1,2", help="Training seeds of the candidate networks."),
    brain_seeds: str = typer.Option("100,101,102,103,104", help="Training seeds of the synthetic brains."),
    brain_widths: str = typer.Option("24,48,96", help="Channel widths of the brains (held out: not the "
                                     "candidates' widths)."),
    dev_seeds: str = typer.Option("300,301,302,303", help="Training seeds of the development brains, on which "
                                  "the decision rule is chosen and fitted before it is reported on the "
                                  "--brain-seeds brains; 'none': no fitted rule, the metrics' consensus."),
    rules: str | None = typer.Option(None, help="Decision rules to choose among on the development brains "
                                     "(mean:, max:, profile:, pattern: + metrics joined by '+'; default: every "
                                     "kind on each metric and on all)."),
    n_stimuli: str = typer.Option("100,300,1000,2000", help="Numbers of stimuli recorded (curve)."),
    n_neurons: str = typer.Option("50,200", help="Numbers of neurons recorded."),
    repeats: int = typer.Option(4, min=1, help="Repeats per stimulus."),
    noise: str = typer.Option("poisson", help="Trial noise: poisson or gaussian."),
    metrics: str = typer.Option("ridge,rsa,cka,shape", help="Metrics the engine combines."),
    epochs: int = typer.Option(3, min=1, help="Training epochs of every network."),
    n_images: int = typer.Option(2000, min=1, help="Natural patches to train on."),
    seed: int = typer.Option(0, min=0, help="Seed of the stimuli, neuron choice, noise and splits."),
    store: Path | None = typer.Option(None, help="Folder of the networks it trains (default: "
                                      "$NEUROSAFE_MODEL_STORE, else OUT/models)."),
    out: Path = typer.Option(Path("runs/objectives-recovery"), "--out", "-o",
                             help="Folder for recovery.json, figures and (by default) the networks."),
    json_out: bool = JsonOpt,
) -> None:
    """Model recovery: brains that are networks trained with known objectives; does the engine pick them?"""
    import os

    from neurosafe.cli.common import out_folder
    from neurosafe.objectives import OBJECTIVES, ObjectiveConfig, ObjectiveError, objective_of, train_zoo
    from neurosafe.objectives.recovery import (
        default_rules,
        parse_rule,
        plot_confusion,
        plot_identifiability,
        recovery_experiment,
        select_rule,
        with_rules,
    )
    from neurosafe.subjects.store import STORE_ENV, load_stored

    out_folder(out)
    if store is not None:
        out_folder(store, "--store")
    if store is None and not os.environ.get(STORE_ENV):
        store = out / "models"  # the networks it trains are this run's cache: under --out, not runs/models
    objs = tuple(_list(objectives) or OBJECTIVES)
    unknown = sorted(set(objs) - set(OBJECTIVES))
    if unknown:
        raise ObjectiveError(f"unknown objectives {unknown}; choose from {', '.join(OBJECTIVES)}")
    cand_seeds, brain_seed_list = tuple(_list(candidate_seeds, int)), tuple(_list(brain_seeds, int))
    dev_list = () if dev_seeds.strip().lower() == "none" else tuple(_list(dev_seeds, int))
    if set(dev_list) & set(brain_seed_list):
        raise ObjectiveError(f"--dev-seeds and --brain-seeds share {sorted(set(dev_list) & set(brain_seed_list))}: "
                             "the brains a rule is reported on must be held out from those it is fitted on")
    ns, nn_, metric_list = _list(n_stimuli, int), _list(n_neurons, int), tuple(_list(metrics))
    from neurosafe.objectives.engine import METRICS

    if set(metric_list) - set(METRICS):
        raise ObjectiveError(f"unknown metrics {sorted(set(metric_list) - set(METRICS))}; choose from "
                             f"{', '.join(METRICS)}")
    if noise not in ("poisson", "gaussian"):
        raise ObjectiveError(f"--noise must be poisson or gaussian; got {noise!r}")
    rule_list = _list(rules) or default_rules(metric_list)
    for r in rule_list:  # a malformed rule fails now, not after every network is trained and scored
        parse_rule(r, metric_list)
    cand_cfg = ObjectiveConfig(epochs=epochs, n_images=n_images)
    brain_cfg = ObjectiveConfig(epochs=epochs, n_images=n_images, widths=tuple(_list(brain_widths, int)),
                                data_seed=1)
    if brain_cfg.widths == cand_cfg.widths:
        raise ObjectiveError("the brains must be held out: give --brain-widths other than the candidates' "
                             f"{cand_cfg.widths}")
    quiet = False if json_out else None
    cand = train_zoo(objs, cand_seeds, cand_cfg, store, progress=quiet)
    brains = train_zoo(objs, brain_seed_list, brain_cfg, store, progress=quiet)
    candidates = {n: (objective_of(n), load_stored(n, 1, store)) for n in cand}
    brain_nets = [(objective_of(n), load_stored(n, 1, store)) for n in brains]
    options = {"repeats": repeats, "noise": noise, "metrics": metric_list, "seed": seed,
               "image_size": cand_cfg.image_size, "progress": quiet}
    result = recovery_experiment(candidates, brain_nets, ns, nn_, **options)
    big_s, big_n = max(ns), max(nn_)
    rule, development = "consensus", None
    if dev_list:
        dev_names = train_zoo(objs, dev_list, brain_cfg, store, progress=quiet)
        dev = recovery_experiment(candidates, [(objective_of(n), load_stored(n, 1, store)) for n in dev_names],
                                  ns, nn_, first_brain=len(brain_nets), **options)
        rule, table = select_rule(dev, rule_list, big_s, big_n)
        result = with_rules(result, rule_list, development=dev)
        development = {"seeds": list(dev_list), "n_brains": len(dev_names), "rules": table.to_dict(orient="records")}
    figures = {"confusion": str(plot_confusion(result, big_s, big_n, out / "confusion.png", rule)),
               "identifiability": str(plot_identifiability(result, out / "identifiability.png", rule))}
    summary = {**result.to_dict(rule), "rule": rule, "development": development, "figures": figures}
    summary["file"] = str(_write(out, "recovery.json", summary))
    if json_out:
        print_json(summary)
        return
    acc = result.accuracy(rule)
    title = ("consensus of metrics" if rule == "consensus" else
             f"rule {rule}, chosen on {len(dev_list)} development seeds; held-out brains")
    print_table(f"model recovery ({title})", ("stimuli", "neurons", "accuracy", "95% CI", "brains"),
                [(str(r.n_stimuli), str(r.n_neurons), f"{r.accuracy:.2f}", f"[{r.ci_low:.2f}, {r.ci_high:.2f}]",
                  str(r.n_brains)) for r in acc.itertuples()])
    console.print(f"confusion at {big_s} stimuli x {big_n} neurons:\n{result.confusion(big_s, big_n, rule)}")
    console.print(f"figures: {figures['confusion']}, {figures['identifiability']}")
