"""``neurosafe score``: how brain-like is each layer of a network? (predictivity, RSA, CKA, shape)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from neurosafe.cli.common import JsonOpt, console, handle_errors, print_json, print_table, to_jsonable


class Metric(StrEnum):
    ridge = "ridge"
    pls = "pls"
    rsa = "rsa"
    cka = "cka"
    shape = "shape"


def _pool(value: str | None) -> str | int | None:
    if value is None or value == "none":
        return None
    return int(value) if value.isdigit() else value


def _metric_kwargs(metric: Metric, n_boot: int, method: str, distance: str, groups: str | None) -> dict:
    kwargs: dict = {"n_boot": n_boot}
    if metric == Metric.rsa:
        kwargs.update(method=method, distance=distance, groups=groups)
    return kwargs


@handle_errors
def score(
    model: str = typer.Option(..., help="A zoo name (cnn_small, cnn_medium, v1_frontend), package.module:factory "
                               "or FILE.py:factory (imports and runs that code: trusted code only)."),
    data: Path = typer.Option(..., help="A recording with stimuli (.nc or .nwb), e.g. from `neurosafe import`."),
    metric: Metric = typer.Option(Metric.ridge, help="ridge / pls predictivity, rsa, cka or shape (distance)."),
    sites: list[str] = typer.Option(None, "--sites", help="Sites (module names); repeat or comma-separate. "
                                    "Default: the model's top-level modules."),
    reference: str | None = typer.Option(None, help="Score against this extra array of the file (e.g. the RDMs "
                                         "'human_it' of kriegeskorte92) instead of its responses."),
    groups: str | None = typer.Option(None, help="rsa: coordinate of the reference RDMs left out together in "
                                      "the noise ceiling (e.g. subject)."),
    method: str = typer.Option("spearman", help="rsa: RDM comparison (spearman, pearson, kendall_tau_a, cosine, "
                               "whitened_pearson)."),
    distance: str = typer.Option("correlation", help="rsa: RDM distance (correlation, euclidean, cosine)."),
    weights: Path | None = typer.Option(None, help="State-dict file for the model (torch.load weights_only)."),
    n_classes: int = typer.Option(10, min=1, help="Classifier outputs of the model (must match --weights)."),
    pool: str | None = typer.Option(None, help="Reduce spatial dims: none, avg, max or an int k (k x k)."),
    projection: int | None = typer.Option(None, min=1, help="Randomly project wider sites to this many dims (seeded)."),
    batch_size: int = typer.Option(64, min=1, help="Stimuli per forward pass."),
    selection_fraction: float = typer.Option(0.5, min=0, max=1,
                                             help="Fraction of stimuli used to choose the committed layer."),
    n_boot: int = typer.Option(200, min=0, help="Bootstrap samples over stimuli for the CIs."),
    seed: int = typer.Option(0, min=0, help="Seed of the weights, folds, split, projection and bootstrap."),
    out: Path = typer.Option(Path("runs/score"), help="Folder for layers.png and scores.json."),
    cache_dir: Path | None = typer.Option(None, help="Activation cache (keyed by content); default OUT/cache."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write cached activations."),
    json_out: bool = JsonOpt,
) -> None:
    """Score every site of a network against brain data: a table per site, a layer-profile figure, JSON.

    The committed layer is chosen on a held-out part of the stimuli and scored on the rest.
    """
    from neurosafe.core.errors import DataValidationError
    from neurosafe.core.io import atomic_path
    from neurosafe.data.io import load_recording
    from neurosafe.metrics.layers import plot_layer_profile, score_layers
    from neurosafe.subjects import TorchSubject, resolve

    rec = load_recording(data)
    if rec.stimuli is None:
        raise DataValidationError(f"{data} holds no stimuli; the network needs the images")
    if reference is not None:
        if reference not in rec.extras:
            raise DataValidationError(f"{data} has no extra array {reference!r}; it has {sorted(rec.extras)}")
        ref = rec.extras[reference]
    elif rec.responses is None:
        raise DataValidationError(f"{data} holds no responses; pick one of its extras with --reference "
                                  f"({sorted(rec.extras)})")
    else:
        ref = rec.responses
    net = resolve(model, weights, seed=seed, in_channels=rec.stimuli.shape[1], n_classes=n_classes)
    subject = TorchSubject(net, batch_size=batch_size, pool=_pool(pool), projection=projection, seed=seed,
                           cache_dir=None if no_cache else cache_dir or out / "cache")
    chosen = [s for item in sites or [] for s in item.split(",") if s] or list(subject.top_level_sites)
    result = score_layers(subject, rec.stimuli, ref, metric=metric.value, sites=chosen, seed=seed,
                          selection_fraction=selection_fraction,
                          **_metric_kwargs(metric, n_boot, method, distance, groups))
    figure = plot_layer_profile(result, out / "layers.png", title=f"{model} on {data.name}: {metric.value}")
    summary = {"model": model, "data": str(data), "metric": metric.value, **result.to_dict(),
               "figure": str(figure), "scores_file": str(out / "scores.json")}
    with atomic_path(out / "scores.json") as tmp:
        tmp.write_text(json.dumps(to_jsonable(summary), indent=2))
    if json_out:
        print_json(summary)
        return
    rows = [(row.site + (" *" if row.committed else ""), f"{row.selection_value:.3f}", f"{row.value:.3f}",
             "" if row.ci_low != row.ci_low else f"[{row.ci_low:.3f}, {row.ci_high:.3f}]",
             "" if row.ceiling != row.ceiling else f"{row.ceiling:.3f}",
             "" if row.ceiled_value != row.ceiled_value else f"{row.ceiled_value:.3f}")
            for row in result.table.itertuples()]
    print_table(f"{model} vs {data.name} ({metric.value}; committed: {result.committed_site})",
                ("site", "selection", "test", "95% CI", "ceiling", "ceiled"), rows)
    console.print(f"figure: {figure}; scores: {out / 'scores.json'}")
