"""``neurosafe probe tuning | rf | mei | lesion | geometry | cards``: in-silico electrophysiology of any subject."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from neurosafe.cli.common import JsonOpt, handle_errors, make_out_dir, report
from neurosafe.core.errors import NeurosafeError
from neurosafe.core.seeds import child_seed

app = typer.Typer(help="In-silico electrophysiology: tuning, receptive fields, MEIs, lesions, population geometry.",
                  no_args_is_help=True)

SUBJECT_HELP = ("'synthetic' (the ground-truth brain; see --area, --neurons, --seed), a recording file (.nc/.nwb), "
                "or a model: a zoo name, package.module:factory or file.py:factory (imports and runs that code: "
                "trusted code only).")
SITE_HELP = "Site: a layer name from named_modules() for networks; the area for the synthetic brain; none for files."


class RFMethod(StrEnum):
    sta = "sta"
    gradient = "gradient"


class Ablation(StrEnum):
    zero = "zero"
    mean = "mean"
    resample = "resample"


def probe_subject(spec: str, neurons: int, area: str, seed: int):
    """Resolve --subject into a SyntheticBrain, a Recording, or a model via ``neurosafe.subjects.resolve``."""
    if spec == "synthetic":
        from neurosafe.data import SyntheticBrain

        return SyntheticBrain(n_neurons=neurons, area=area, seed=seed)
    if Path(spec).suffix in (".nc", ".nwb"):
        from neurosafe.data.io import load_recording

        return load_recording(spec)
    from neurosafe.subjects import resolve

    return resolve(spec, seed=seed)


def probe_out(out: Path | None, name: str) -> Path:
    return make_out_dir(out or Path("runs") / "probe" / name)  # removed again when the command fails


def parse_units(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(u) for u in text.split(",")]
    except ValueError as err:
        raise NeurosafeError(f"--units must be comma-separated integers; got {text!r}") from err


def _select(pairs: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise NeurosafeError(f"--select takes key=value; got {pair!r}")
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value
    return out


SubjectOpt = typer.Option("synthetic", "--subject", "-s", help=SUBJECT_HELP)
SiteOpt = typer.Option(None, "--site", help=SITE_HELP)
NeuronsOpt = typer.Option(100, "--neurons", min=1, help="Neurons of the synthetic brain.")
AreaOpt = typer.Option("V1", "--area", help="Area of the synthetic brain: V1 or V4.")
SeedOpt = typer.Option(0, "--seed", min=0, help="Seed of the brain, the stimuli and the optimisation.")
OutOpt = typer.Option(None, "--out", "-o", help="Output folder (default runs/probe/<command>/).")


@app.command("tuning")
@handle_errors
def tuning(subject: str = SubjectOpt, site: str | None = SiteOpt, neurons: int = NeuronsOpt, area: str = AreaOpt,
           seed: int = SeedOpt,
           select: list[str] = typer.Option([], "--select", help="Keep stimuli with coord=value (repeatable), "
                                            "e.g. contrast_level=high."),
           out: Path | None = OutOpt, json_out: bool = JsonOpt) -> None:
    """Orientation tuning: preferred orientation, OSI, circular variance, bandwidth per neuron (+ figure)."""
    from neurosafe.interp import orientation_tuning
    from neurosafe.interp.figures import plot_tuning_summary
    from neurosafe.interp.results import save_result, tuning_summary

    folder = probe_out(out, "tuning")
    ds = orientation_tuning(probe_subject(subject, neurons, area, seed), site, select=_select(select) or None)
    summary = tuning_summary(ds) | {"result": str(save_result(ds, folder / "tuning.nc")),
                                    "figure": str(plot_tuning_summary(ds, folder / "tuning.png"))}
    osi = summary["osi"]
    report(summary, json_out, [f"{summary['n_neurons']} neurons: OSI median {osi['q50']:.3f} "
                               f"(IQR {osi['q25']:.3f}-{osi['q75']:.3f}); results in {folder}/"])


@app.command("rf")
@handle_errors
def rf(subject: str = SubjectOpt, site: str | None = SiteOpt, neurons: int = NeuronsOpt, area: str = AreaOpt,
       seed: int = SeedOpt, method: RFMethod = typer.Option(RFMethod.sta, help="sta (white noise) or gradient."),
       n_stimuli: int | None = typer.Option(None, "--n-stimuli", min=1,
                                             help="White-noise images (default 8 per pixel)."),
       units: str | None = typer.Option(None, help="Gradient method: comma-separated unit indices (default all)."),
       out: Path | None = OutOpt, json_out: bool = JsonOpt) -> None:
    """Receptive fields by noise-corrected STA or input gradients, with 2D Gaussian centre/size fits (+ figure)."""
    from neurosafe.interp import receptive_fields
    from neurosafe.interp.figures import plot_rfs
    from neurosafe.interp.results import rf_summary, save_result

    folder = probe_out(out, "rf")
    ds = receptive_fields(probe_subject(subject, neurons, area, seed), site, method=method.value, n_stimuli=n_stimuli,
                          units=parse_units(units), seed=seed)
    summary = rf_summary(ds) | {"result": str(save_result(ds, folder / "rf.nc")),
                                "figure": str(plot_rfs(ds, folder / "rf.png"))}
    size, r2 = summary["rf_size"]["q50"], summary["fit_r2"]["q50"]
    fitted = (f"median size {size:.2f} px, median fit R2 {r2:.3f}" if size is not None else "no Gaussian fits")
    report(summary, json_out, [f"{summary['n_neurons']} RFs ({method.value}), {summary['n_fitted']} significant and "
                               f"fitted: {fitted}; results in {folder}/"])


@app.command("mei")
@handle_errors
def mei(subject: str = SubjectOpt, site: str | None = SiteOpt, neurons: int = NeuronsOpt, area: str = AreaOpt,
        seed: int = SeedOpt, units: str | None = typer.Option("0,1,2,3,4,5,6,7", help="Comma-separated unit indices."),
        steps: int = typer.Option(200, min=1, help="Gradient steps."),
        seeds: int = typer.Option(4, min=1, help="Starts per unit."),
        rms_contrast: float = typer.Option(0.1, "--rms-contrast", min=0, help="Contrast budget (RMS contrast)."),
        n_natural: int = typer.Option(1000, "--n-natural", min=0, help="Natural patches to compare against."),
        out: Path | None = OutOpt, json_out: bool = JsonOpt) -> None:
    """Most-exciting inputs (Walker et al. 2019), compared with each unit's best natural image (+ figure)."""
    from neurosafe.data import natural_patches
    from neurosafe.interp import AscentConfig, mei_vs_natural, most_exciting_inputs
    from neurosafe.interp.figures import plot_mei_vs_natural
    from neurosafe.interp.results import mei_summary, save_result

    folder = probe_out(out, "mei")
    subj = probe_subject(subject, neurons, area, seed)
    meis = most_exciting_inputs(subj, site, parse_units(units), n_seeds=seeds, seed=seed,
                                config=AscentConfig(steps=steps, rms_contrast=rms_contrast))
    c, h, _ = meis["image"].shape[1:]
    natural = natural_patches(n_natural, h, seed=child_seed(seed, "stimuli"), color=c == 3)
    comparison = mei_vs_natural(subj, meis, natural, site)
    position = {str(s): i for i, s in enumerate(natural.ids)}
    best = natural.images[[position[b] for b in comparison["best_natural"].values]]
    summary = mei_summary(meis, comparison) | {
        "result": str(save_result(meis, folder / "mei.nc")),
        "figure": str(plot_mei_vs_natural(meis, comparison, best, folder / "mei.png"))}
    report(summary, json_out, [f"{summary['n_units']} MEIs: MEI / best natural response median "
                               f"{summary['ratio']['q50']:.2f} (min {comparison['ratio'].min().item():.2f}); "
                               f"results in {folder}/"])


@app.command("lesion")
@handle_errors
def lesion(subject: str = SubjectOpt, site: str | None = SiteOpt, neurons: int = NeuronsOpt, area: str = AreaOpt,
           seed: int = SeedOpt, method: Ablation = typer.Option(Ablation.zero, help="zero, mean or resample."),
           fractions: str = typer.Option("0,0.1,0.25,0.5,0.75,1", help="Comma-separated fractions to ablate."),
           draws: int = typer.Option(5, min=1, help="Random unit subsets per fraction."),
           read_site: str | None = typer.Option(None, "--read-site", help="Site decoded from (default: --site)."),
           out: Path | None = OutOpt, json_out: bool = JsonOpt) -> None:
    """Dose-response of orientation-decoding accuracy to ablating a fraction of a site's units (+ figure)."""
    from neurosafe.data import natural_patches
    from neurosafe.interp import dose_response, orientation_decoding, stimulus_format
    from neurosafe.interp.figures import plot_dose_response
    from neurosafe.interp.results import dose_summary, save_result

    folder = probe_out(out, "lesion")
    subj = probe_subject(subject, neurons, area, seed)
    score = orientation_decoding(subj, read_site or site, seed=seed)
    color, size = stimulus_format(subj)
    reference = None if method == Ablation.zero else natural_patches(200, size, seed=child_seed(seed, "stimuli"),
                                                                     color=color)
    fr = [float(f) for f in fractions.split(",")]
    ds = dose_response(subj, site, score, fractions=fr, method=method.value, reference=reference, n_draws=draws,
                       seed=seed)
    summary = dose_summary(ds) | {"result": str(save_result(ds, folder / "lesion.nc")),
                                  "figure": str(plot_dose_response(ds, folder / "lesion.png",
                                                                   "orientation decoding accuracy"))}
    report(summary, json_out, [f"fraction {c['fraction']:.2f}: accuracy {c['score']:.3f} "
                               f"[{c['ci'][0]:.3f}, {c['ci'][1]:.3f}]" for c in summary["curve"]])


@app.command("geometry")
@handle_errors
def geometry(subject: str = SubjectOpt, site: str | None = SiteOpt, neurons: int = NeuronsOpt, area: str = AreaOpt,
             seed: int = SeedOpt,
             n_stimuli: int = typer.Option(2000, "--n-stimuli", min=1, help="Natural patches shown."),
             repeats: int = typer.Option(2, min=1, help="Synthetic brain: repeats recorded (cross-validated PCA)."),
             n_boot: int = typer.Option(100, "--n-boot", min=0, help="Bootstrap samples of the alpha CI."),
             out: Path | None = OutOpt, json_out: bool = JsonOpt) -> None:
    """Eigenspectrum power-law alpha (cross-validated PCA, Stringer 2019) and participation ratio (+ figure)."""
    import numpy as np

    from neurosafe.data import SyntheticBrain, natural_patches
    from neurosafe.interp import eigenspectrum_alpha, participation_ratio, stimulus_format
    from neurosafe.interp.figures import plot_spectrum

    folder = probe_out(out, "geometry")
    subj = probe_subject(subject, neurons, area, seed)
    stimuli = None
    if not hasattr(subj, "responses"):
        color, size = stimulus_format(subj)
        stimuli = natural_patches(n_stimuli, size, seed=child_seed(seed, "stimuli"), color=color)
    if isinstance(subj, SyntheticBrain):
        subj, stimuli = subj.record(stimuli, repeats=repeats, seed=child_seed(seed, "trials")), None
    score = eigenspectrum_alpha(subj, site, stimuli, n_boot=n_boot, seed=seed)
    spectrum = np.asarray(score.provenance["spectrum"])
    fit_range = tuple(score.provenance["params"]["fit_range"])
    summary = {"alpha": score.value, "alpha_ci": score.ci, "fit_range": fit_range,
               "cross_validated": score.provenance["params"]["cross_validated"],
               "participation_ratio": participation_ratio(subj, site, stimuli), "n_components": len(spectrum),
               "figure": str(plot_spectrum(spectrum, score.value, fit_range, folder / "spectrum.png"))}
    ci = "none" if score.ci is None else f"[{score.ci[0]:.3f}, {score.ci[1]:.3f}]"
    report(summary, json_out, [f"alpha = {score.value:.3f} (95% CI {ci}), participation ratio "
                               f"{summary['participation_ratio']:.1f}; figure {summary['figure']}"])


@app.command("cards")
@handle_errors
def cards(subject: str = SubjectOpt, site: str | None = SiteOpt, neurons: int = NeuronsOpt, area: str = AreaOpt,
          seed: int = SeedOpt, units: str = typer.Option("0,1,2,3", help="Comma-separated unit indices."),
          steps: int = typer.Option(200, min=1, help="MEI gradient steps."), out: Path | None = OutOpt,
          json_out: bool = JsonOpt) -> None:
    """Unit cards (MEI, tuning curve, RF, ablation effect per unit) as an HTML report."""
    from neurosafe.interp import AscentConfig
    from neurosafe.report.unit_cards import write_unit_cards

    folder = probe_out(out, "cards")
    path = write_unit_cards(folder / "cards.html", probe_subject(subject, neurons, area, seed), site,
                            parse_units(units), config=AscentConfig(steps=steps), seed=seed)
    report({"report": str(path)}, json_out, [f"unit cards: {path}"])
