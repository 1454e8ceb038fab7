"""``neurosafe probe sae | patch | controversial``: sparse dictionaries, causal interventions and controversial
stimuli (registered on the ``probe`` group; commands only parse and call ``neurosafe.interp``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from neurosafe.cli.common import JsonOpt, handle_errors, report
from neurosafe.cli.probe import (
    AreaOpt,
    NeuronsOpt,
    OutOpt,
    SeedOpt,
    SiteOpt,
    SubjectOpt,
    app,
    parse_units,
    probe_out,
    probe_subject,
)
from neurosafe.core.errors import NeurosafeError
from neurosafe.core.seeds import child_seed
from neurosafe.subjects import network


class DictMethod(StrEnum):
    sae = "sae"
    topk = "topk"
    dictionary_learning = "dictionary_learning"
    minibatch_dictionary_learning = "minibatch_dictionary_learning"
    ica = "ica"


def _progress(json_out: bool) -> bool | None:
    return False if json_out else None


@app.command("sae")
@handle_errors
def sae(subject: str = SubjectOpt, site: str | None = SiteOpt, neurons: int = NeuronsOpt, area: str = AreaOpt,
        seed: int = SeedOpt, method: DictMethod = typer.Option(DictMethod.sae, help="Dictionary method."),
        n_features: int = typer.Option(64, "--features", min=1, help="Dictionary size."),
        n_stimuli: int = typer.Option(2000, "--n-stimuli", min=1,
                                      help="Natural patches whose activations are learned."),
        epochs: int = typer.Option(30, min=1, help="SAE epochs."),
        l1: float = typer.Option(1.0, min=0, help="SAE L1 coefficient."),
        k: int = typer.Option(4, min=1, help="TopK SAE: active features per sample."),
        cards: int = typer.Option(0, min=0,
                                  help="Write unit cards for this many of the most active features (SAE only)."),
        steps: int = typer.Option(200, min=1, help="Unit cards: MEI gradient steps."),
        toy: bool = typer.Option(False, "--toy", help="Instead: planted superposition (20 features in 8 dims), "
                                 "feature recovery vs density for the TopK and ReLU SAEs (interp.superposition."
                                 "TOY_SAE settings), sklearn dictionary learning and ICA."),
        seeds: int = typer.Option(5, "--seeds", min=1, help="--toy: seeds per density."),
        out: Path | None = OutOpt, json_out: bool = JsonOpt) -> None:
    """Sparse dictionary of a site's activations (or a recording's responses): FVE, L0, dead/dense features (+ figure,
    optional feature unit cards); with --toy, the planted-superposition recovery curve with baselines."""
    from neurosafe.interp.dictionary import SAEConfig

    folder = probe_out(out, "sae")
    config = SAEConfig(epochs=epochs, l1=l1, k=k)
    if toy:
        return _toy(folder, seeds, seed, json_out)
    from neurosafe.data import natural_patches
    from neurosafe.data.io import Recording
    from neurosafe.interp import stimulus_format
    from neurosafe.interp.dictionary import dictionary_metrics, learn_dictionary, site_samples
    from neurosafe.interp.figures import plt

    subj = probe_subject(subject, neurons, area, seed)
    stimuli = None
    if not isinstance(subj, Recording):
        color, size = stimulus_format(subj)
        stimuli = natural_patches(n_stimuli, size, seed=child_seed(seed, "stimuli"), color=color)
    x = site_samples(subj, site, stimuli)
    d = learn_dictionary(x, method.value, n_features, seed=seed, config=config, progress=_progress(json_out))
    metrics = dictionary_metrics(d, x)
    from neurosafe.core.figures import save_figure

    freq = (abs(d.encode(x)) > 1e-8).mean(0)
    fig, ax = plt.subplots(1, 2, figsize=(9, 3))
    ax[0].hist(freq, bins=30)
    ax[0].set_xlabel("feature firing frequency")
    ax[0].set_title(f"FVE {metrics['fve']:.3f}, L0 {metrics['l0']:.2f}", fontsize=9)
    loss = d.history.get("loss", [])
    ax[1].plot(loss) if loss else ax[1].axis("off")
    ax[1].set_xlabel("epoch")
    ax[1].set_ylabel("training loss")
    summary = {"method": method.value, "n_samples": len(x), "metrics": metrics,
               "figure": str(save_figure(fig, folder / "sae.png"))}
    if stimuli is not None and site is not None and network(subj) is not None \
            and site in dict(network(subj).named_modules()):
        summary["downstream"] = _downstream(subj, site, d, stimuli[:256])
    if cards:
        if d.module is None or stimuli is None:
            raise NeurosafeError("--cards needs an SAE (--method sae/topk) trained on a model or the synthetic brain")
        import numpy as np

        from neurosafe.interp.features import FEATURE_SITE, feature_subject
        from neurosafe.report.unit_cards import write_unit_cards

        top = [int(i) for i in np.argsort(-freq)[:cards]]
        fs = feature_subject(subj, site, d)
        from neurosafe.interp import AscentConfig

        summary["cards"] = str(write_unit_cards(folder / "feature_cards.html", fs, FEATURE_SITE, top, seed=seed,
                                                natural=stimuli, config=AscentConfig(steps=steps)))
    report(summary, json_out, [f"{method.value}: {n_features} features on {len(x)} samples: FVE {metrics['fve']:.3f}, "
                               f"L0 {metrics['l0']:.2f}, dead {metrics['dead_fraction']:.2f}, "
                               f"dense {metrics['dense_fraction']:.2f}; results in {folder}/"])


def _downstream(subj, site: str, d, probe) -> dict:
    """Output change when the site is replaced by its reconstruction: MSE to the clean output (clean = 0), next to
    zeroing the site; ``loss_recovered`` = 1 - spliced / zeroed (Bricken et al. 2023)."""
    import torch

    from neurosafe.interp.dictionary import downstream_loss, site_samples
    from neurosafe.subjects import as_differentiable

    out_site = tuple(as_differentiable(subj).sites)[-1]
    ref = torch.as_tensor(site_samples(subj, out_site, probe), dtype=torch.float64)

    def mse(out):
        return ((out.flatten(1).double().cpu() - ref) ** 2).mean()
    return downstream_loss(subj, site, d, probe, mse)


def _toy(folder: Path, seeds: int, seed: int, json_out: bool) -> None:
    from neurosafe.interp.figures import plot_recovery_curve
    from neurosafe.interp.results import save_result
    from neurosafe.interp.superposition import recovery_curve

    curve = recovery_curve((0.01, 0.03, 0.05, 0.1, 0.2, 0.4), ("topk", "sae", "minibatch_dictionary_learning", "ica"),
                           n_seeds=seeds, seed=seed)
    rows = {m: {f"{p:g}": {"mmcs": float(curve["mmcs"].sel(dictionary=m, p=p)),
                          "ci": [float(curve["ci_low"].sel(dictionary=m, p=p)),
                                 float(curve["ci_high"].sel(dictionary=m, p=p))]}
                for p in curve["p"].values} for m in curve["dictionary"].values}
    summary = {"recovery": rows, "result": str(save_result(curve, folder / "recovery.nc")),
               "figure": str(plot_recovery_curve(curve, folder / "recovery.png"))}
    report(summary, json_out, [f"{m} p={p}: MMCS {v['mmcs']:.3f} [{v['ci'][0]:.3f}, {v['ci'][1]:.3f}]"
                               for m, r in rows.items() for p, v in r.items()])


@app.command("patch")
@handle_errors
def patch(subject: str = typer.Option("planted", "--subject", "-s", help="'planted' (a network with a planted "
                                      "circuit) or a model spec as for the other probe commands."),
          site: str | None = typer.Option(None, "--site", help="Site to patch (planted: act1 or act2)."),
          units: str | None = typer.Option(None, help="Comma-separated units to patch (planted: the planted path)."),
          readout: int = typer.Option(0, min=0, help="Output unit whose change is measured."),
          pairs: int = typer.Option(200, min=1, help="Base/source input pairs."), seed: int = SeedOpt,
          doses: str = typer.Option("0,0.5,1,2,4", help="Stimulation doses (comma-separated)."),
          out: Path | None = OutOpt, json_out: bool = JsonOpt) -> None:
    """Activation patching of a path vs a random path of the same size, causal mediation (total, direct, indirect)
    and a stimulation dose-response curve, all with bootstrap CIs over input pairs (+ figure)."""
    import numpy as np

    from neurosafe.core import progress as display
    from neurosafe.interp.causal import (
        PlantedCircuit,
        mediation,
        patching_effect,
        planted_pairs,
        random_units,
        stimulate,
    )
    from neurosafe.interp.figures import plot_patching

    try:
        dose_list = [float(d) for d in doses.split(",") if d.strip()]
    except ValueError as err:
        raise NeurosafeError(f"--doses must be comma-separated numbers; got {doses!r}") from err
    if not dose_list or not all(np.isfinite(dose_list)):
        raise NeurosafeError(f"--doses must be comma-separated finite numbers; got {doses!r}")
    folder = probe_out(out, "patch")
    if subject == "planted":
        model = PlantedCircuit(seed=seed)
        site = site or "act1"
        if site not in model.path:
            raise NeurosafeError(f"the planted circuit's sites are {list(model.path)}; got {site!r}")
        path = parse_units(units) or model.path[site]
        width = model.widths[site]
        base, source = planted_pairs(pairs, seed=seed)
    else:
        from neurosafe.data import natural_patches
        from neurosafe.interp import stimulus_format
        from neurosafe.interp.dictionary import site_samples

        model = probe_subject(subject, 100, "V1", seed)
        if site is None or not units:
            raise NeurosafeError("patching a model needs --site and --units")
        color, size = stimulus_format(model)
        images = natural_patches(2 * pairs, size, seed=child_seed(seed, "stimuli"), color=color)
        base, source = images.images[:pairs], images.images[pairs:]
        path = parse_units(units)
        width = site_samples(model, site, images[:1]).shape[1]
    control = random_units(width, len(path), exclude=path, seed=child_seed(seed, "random path"))
    with display.stage("patching, mediation and stimulation", total=4, unit="step", show=not json_out) as steps:
        found = patching_effect(model, site, base, source, units=path, readout=readout, seed=seed)
        steps.advance()
        rand = patching_effect(model, site, base, source, units=control, readout=readout, seed=seed)
        steps.advance()
        med = mediation(model, site, base, source, units=path, readout=readout, seed=seed)
        steps.advance()
        curve = stimulate(model, site, None, base, dose_list, units=path, readout=readout, seed=seed)
        steps.advance()
    summary = {"site": site, "path": [int(u) for u in path], "random_path": control,
               "path_effect": found.to_dict(per_unit=False), "random_effect": rand.to_dict(per_unit=False),
               "mediation": {k: v.to_dict(per_unit=False) for k, v in med.items()},
               "stimulation": [{"dose": float(d), "effect": float(e), "ci": [float(lo), float(hi)]} for d, e, lo, hi in
                               zip(curve["dose"].values, curve["effect"].values, curve["ci_low"].values,
                                   curve["ci_high"].values, strict=True)],
               "figure": str(plot_patching(found, rand, med, curve, folder / "patch.png"))}
    excl = lambda s: s.ci is not None and not (s.ci[0] <= 0 <= s.ci[1])  # noqa: E731
    report(summary, json_out, [f"path {path}: effect {found.value:+.4g} CI {np.round(found.ci, 4).tolist()} "
                               f"({'excludes' if excl(found) else 'covers'} 0)",
                               f"random {control}: effect {rand.value:+.4g} CI {np.round(rand.ci, 4).tolist()} "
                               f"({'excludes' if excl(rand) else 'covers'} 0)",
                               *[f"{k} effect {v.value:+.4g} CI {np.round(v.ci, 4).tolist()}" for k, v in med.items()],
                               f"figure {summary['figure']}"])


@app.command("controversial")
@handle_errors
def controversial(neurons: int = typer.Option(16, "--neurons", min=1, help="Neurons of the synthetic brain."),
                  seed: int = SeedOpt, steps: int = typer.Option(100, min=1, help="Gradient steps per image."),
                  seeds: int = typer.Option(2, min=1, help="Random starts per image."),
                  repeats: int = typer.Option(4, min=1, help="Trials recorded per stimulus."),
                  out: Path | None = OutOpt, json_out: bool = JsonOpt) -> None:
    """Controversial stimuli (Golan et al. 2020) between a twin of the synthetic brain and a wrong model (its
    complex cells made simple): does the brain's response tell them apart better than on natural images? (+ figure)"""
    from neurosafe.interp import AscentConfig
    from neurosafe.interp.controversial import discrimination_experiment, twin_and_wrong_model
    from neurosafe.interp.figures import plot_images

    folder = probe_out(out, "controversial")
    brain, twin, wrong = twin_and_wrong_model(neurons, seed)
    res = discrimination_experiment(brain, twin, wrong, repeats=repeats, n_seeds=seeds,
                                    config=AscentConfig(steps=steps), seed=seed)
    ds = res["stimuli"]
    titles = [f"{t} {d}" for t, d in zip(ds["target_id"].values, ds["direction"].values, strict=True)]
    summary = {k: res[k].to_dict(per_unit=False) for k in ("controversial", "natural", "difference")} | {
        "figure": str(plot_images(ds["image"].values[:16], titles[:16], folder / "controversial.png"))}
    d = res["difference"]
    report(summary, json_out, [f"evidence for the twin over the wrong model (LLR/trial): controversial "
                               f"{res['controversial'].value:.4f}, natural {res['natural'].value:.4f}; difference "
                               f"{d.value:+.4f} CI [{d.ci[0]:+.4f}, {d.ci[1]:+.4f}]; figure {summary['figure']}"])
