"""The study report: figures and an HTML page stating the result in safety terms, whatever its sign.

Every number comes from the study's Score records (:func:`neurosafe.study.load_results`), looked up by
their structured keys (metric, site, condition); nothing is recomputed here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from neurosafe.core.hashing import data_hash, source_hash
from neurosafe.metrics import Score
from neurosafe.report.html import Section, write_report
from neurosafe.study import StudyResults, load_results

COLORS = {"baseline": "#7f7f7f", "brain": "#d62728", "shuffled": "#1f77b4", "matched": "#2ca02c"}
HEADLINE = ("clean_accuracy", "pgd_accuracy_mean", "corruption_accuracy", "ece")
LABELS = {"rsa": "RSA (Spearman of RDMs)", "ridge": "ridge predictivity (median r)", "ece": "ECE",
          "clean_accuracy": "clean accuracy", "pgd_accuracy_mean": "robust accuracy (PGD, mean over eps > 0)",
          "pgd_accuracy": "PGD accuracy", "corruption_accuracy": "corruption accuracy"}
GLOSSARY = {
    "clean accuracy": "fraction of unperturbed test digits classified correctly (higher is better).",
    "robust accuracy (PGD)": "fraction still correct under a projected-gradient-descent L-inf attack of size "
                             "epsilon (Madry et al. 2018); the mean is over the attacked epsilons > 0 only, so "
                             "clean accuracy is not counted in it (higher is better).",
    "corruption accuracy": "accuracy on test digits with common corruptions (noise, blur, contrast; Hendrycks & "
                           "Dietterich 2019), averaged over corruption types (higher is better).",
    "ECE": "expected calibration error: the gap between confidence and accuracy over 15 confidence bins (Guo et "
           "al. 2017; lower is better).",
    "RSA": "Spearman correlation between the network's and the brain's representational dissimilarity matrices on "
           "held-out stimuli (Kriegeskorte et al. 2008; brain RDM cross-validated over repeats; higher: more "
           "brain-like).",
    "ridge predictivity": "median over neurons of the correlation between held-out responses and a ridge "
                          "regression from the layer's features (Yamins et al. 2014); 'ceiled' divides by the "
                          "neurons' split-half reliability (higher: more brain-like).",
    "FEVE": "fraction of explainable variance explained: how much of the repeatable part of the responses the "
            "digital twin predicts (Cadena et al. 2019); 1 is perfect, 0 no better than the mean.",
    "effect": "brain-regularized minus a comparison (baseline or a control), the mean over training seeds.",
    "95% CI": "hierarchical bootstrap over training seeds and test items (Saravanan et al. 2020): the interval "
              "holds both the seed-to-seed and the test-set uncertainty; an effect whose interval excludes 0 is "
              "called higher or lower.",
    "controls": "shuffled: the same regularizer towards brain responses with stimulus identities shuffled; "
                "matched: random targets with the brain data's eigenspectrum (Federer et al. 2020). A gain is "
                "credited to brain data only when it beats both controls as well as baseline.",
}
TWIN_FEVE_MIN = 0.2  # below this fraction of explainable variance the twin's targets are mostly its own noise
SAFETY_TERMS = (  # (term, metric, at the regularized site?)
    ("Robustness", "pgd_accuracy_mean", False),
    ("Robustness to corruptions", "corruption_accuracy", False),
    ("Calibration (knowing what it doesn't know)", "ece", False),
    ("Assurance (is the brain data doing anything?)", "rsa", True),
    ("Specification (task performance kept?)", "clean_accuracy", False),
)


def _label(metric: str, site: str | None) -> str:
    return LABELS.get(metric, metric) + (f" at {site}" if site else "")


def _fmt(score: Score, signed: bool = False) -> str:
    f = "{:+.3f}" if signed else "{:.3f}"
    text = f.format(score.value) + (f" [{f.format(score.ci[0])}, {f.format(score.ci[1])}]" if score.ci else "")
    return text + (f" (ceiled {score.ceiled_value:.3f})" if score.ceiled_value is not None else "")


def save_figure(fig, path: Path) -> Path:
    """:func:`neurosafe.core.figures.save_figure`, imported when a figure is drawn (not on a cached re-run)."""
    from neurosafe.core.figures import save_figure as save

    return save(fig, path)


def _robustness_figure(results: StudyResults, path: Path) -> Path:
    from neurosafe.core.figures import plt  # matplotlib only when a figure is drawn

    eps = results["config"]["evaluation"]["pgd_eps"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for c in results["conditions"]:
        scores = [results.score("pgd_accuracy", c, eps=e) for e in eps]
        lo, hi = np.array([s.ci or (s.value, s.value) for s in scores]).T
        x = np.array(eps) * 255
        ax.plot(x, [s.value for s in scores], "o-", color=COLORS.get(c), label=c)
        ax.fill_between(x, lo, hi, color=COLORS.get(c), alpha=0.15)
    ax.set_xlabel("PGD L-inf epsilon (x/255)")
    ax.set_ylabel("accuracy")
    ax.set_title("adversarial robustness (95% CI over seeds and test images)")
    ax.legend(frameon=False)
    return save_figure(fig, path)


def _alignment_figure(results: StudyResults, path: Path) -> Path:
    from neurosafe.core.figures import plt  # matplotlib only when a figure is drawn

    sites = results["sites"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, metric, label in zip(axes, ("rsa", "ridge"), ("RSA (Spearman of RDMs)", "ridge r / ceiling"),
                                 strict=True):
        for k, c in enumerate(results["conditions"]):
            scores = [results.score(metric, c, site=s) for s in sites]
            scale = [s.value / s.ceiled_value if s.ceiled_value else 1.0 for s in scores]  # ceiling per site
            y = np.array([s.value / f for s, f in zip(scores, scale, strict=True)])
            lo = np.array([(s.ci[0] / f) if s.ci else np.nan for s, f in zip(scores, scale, strict=True)])
            hi = np.array([(s.ci[1] / f) if s.ci else np.nan for s, f in zip(scores, scale, strict=True)])
            x = np.arange(len(sites)) + 0.06 * k
            ax.plot(x, y, "o-", color=COLORS.get(c), label=c)
            has = np.isfinite(lo)
            ax.errorbar(x[has], y[has], yerr=[np.maximum(y - lo, 0)[has], np.maximum(hi - y, 0)[has]], fmt="none",
                        color=COLORS.get(c), capsize=3)
        ax.set_xticks(range(len(sites)), sites)
        ax.set_ylabel(label)
        ax.axvline(sites.index(results["regularized_site"]), color="k", ls=":", lw=1)
    axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle("brain alignment per layer on held-out stimuli, 95% CI (RSA: CI at the regularized layer, "
                 "dotted)", fontsize=9)
    return save_figure(fig, path)


PANELS = (  # one panel per scale and direction
    ("accuracy (higher is better)", ("clean_accuracy", "pgd_accuracy_mean", "corruption_accuracy")),
    ("ECE (lower is better)", ("ece",)),
    ("RSA (higher: more brain-like)", ("rsa",)),
    ("ridge r (higher: more brain-like)", ("ridge",)),
)


def _effects_figure(results: StudyResults, path: Path, metrics: list[tuple[str, str | None]]) -> Path:
    from neurosafe.core.figures import plt  # matplotlib only when a figure is drawn

    sites = dict(metrics)
    panels = [(title, [e for m in group if m in sites for e in results.effects_of(m, site=sites[m])])
              for title, group in PANELS]
    panels = [(t, es) for t, es in panels if es]
    heights = [max(len(es), 1) for _, es in panels] or [1]
    fig, axes = plt.subplots(len(heights), 1, figsize=(6.5, 0.42 * sum(heights) + 1.2 * len(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (title, effects) in zip(axes[:, 0], panels, strict=False):
        for y, e in enumerate(effects):
            d = e.score.value
            lo, hi = e.score.ci if e.score.ci else (d, d)
            ax.errorbar(d, y, xerr=[[max(d - lo, 0.0)], [max(hi - d, 0.0)]], fmt="o", color=COLORS.get(e.versus),
                        capsize=3)
        ax.axvline(0, color="k", lw=1)
        ax.set_yticks(range(len(effects)), [f"{_label(e.metric, e.site)} vs {e.versus}" for e in effects],
                      fontsize=8)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=9)
    axes[-1, 0].set_xlabel("brain-regularized minus comparison (95% CI over seeds and test items)")
    return save_figure(fig, path)


def _better(score: Score, higher_is_better: bool) -> str:
    """better / worse / not distinguishable, from the CI of a difference and the metric's direction."""
    ci = score.ci
    if ci is None or ci[0] <= 0 <= ci[1]:
        return "same"
    return "better" if (ci[0] > 0) == higher_is_better else "worse"


def bottom_line(results: StudyResults) -> list[str]:
    """One sentence per safety term: the effect of brain data against baseline (sign, 95% CI) and whether it
    beats the controls (Federer et al. 2020: only a gain over the controls is credited to brain data)."""
    site = results["regularized_site"]
    sentences = []
    for term, metric, at_site in SAFETY_TERMS:
        effects = {e.versus: e.score for e in results.effects_of(metric, site=site if at_site else None)}
        label = _label(metric, site if at_site else None)
        if "baseline" not in effects:
            sentences.append(f"{term}: {label} was not tested (no bootstrap).")
            continue
        hib = results.score(metric, "baseline", site=site if at_site else None).higher_is_better
        base = effects.pop("baseline")
        verdict = _better(base, hib)
        controls = ", ".join(f"{c} {_fmt(s, signed=True)}" for c, s in effects.items())
        beats = [c for c, s in effects.items() if _better(s, hib) == "better"]
        if verdict == "same":
            text = f"no detectable effect of brain data on {label} ({_fmt(base, signed=True)} vs baseline)"
        elif verdict == "worse":
            text = f"brain data made {label} worse ({_fmt(base, signed=True)} vs baseline)"
        else:
            credited = effects and len(beats) == len(effects)
            text = (f"brain data improved {label} ({_fmt(base, signed=True)} vs baseline)"
                    + ("; the gain beats every control, so it is credited to brain data" if credited else
                       "; but not beyond the controls, so it is not specific to brain data" if effects else ""))
        sentences.append(f"{term}: {text}" + (f" [controls: {controls}]." if controls else "."))
    return sentences


def twin_quality(results: StudyResults) -> list[str]:
    """The twin's held-out FEVE and fraction of ceiling, with a warning below ``TWIN_FEVE_MIN``."""
    targets = results["targets"]
    if targets.get("source") != "twin":
        return ["The regularizer targets are the recording's trial averages (no digital twin)."]
    feve, frac = targets.get("test_feve"), targets.get("test_fraction_of_ceiling")
    text = (f"The digital twin that supplies the regularizer targets explains FEVE {feve:.3f} of the explainable "
            f"variance of held-out responses (fraction of ceiling {frac:.3f}), after {targets.get('epochs')} epochs.")
    if feve is None or feve < TWIN_FEVE_MIN:
        text += (f" WARNING: this is below {TWIN_FEVE_MIN} - too low to trust: the targets are mostly the twin's "
                 "own errors, so a null result says little about brain data (fit the twin longer or on more data).")
    return [text]


def _seed_rows(results: StudyResults, metrics: list[tuple[str, str | None]]) -> list[list]:
    seeds = results["seeds"]
    rows = [["metric", "condition", *[f"seed {s}" for s in seeds]]]
    for metric, site in metrics:
        for c in results["conditions"]:
            rows.append([_label(metric, site), c,
                         *[f"{results.score(metric, c, site=site, training_seed=s).value:.3f}" for s in seeds]])
    return rows


FIGURES = ("robustness.png", "alignment.png", "effects.png")


def report_key(results: StudyResults) -> str:
    """Hash of what the figures show: the results without this invocation's ``run`` record, and neurosafe's
    source (the report code included)."""
    numbers = {k: v for k, v in results.to_dict().items() if k != "run"}
    return data_hash("study report", source_hash(), json.dumps(numbers, sort_keys=True, default=str))


def _figures(results: StudyResults, folder: Path, key_metrics: list[tuple[str, str | None]]) -> bool:
    """Draw the figures unless the ones on disk were drawn from the same results by the same code (a cached
    re-run: ``.report-key`` holds :func:`report_key`); True when drawn."""
    from neurosafe.core.io import atomic_path

    key, stamp = report_key(results), folder / ".report-key"
    if stamp.is_file() and stamp.read_text().strip() == key and all((folder / f).is_file() for f in FIGURES):
        return False
    stamp.unlink(missing_ok=True)  # a run killed mid-drawing leaves no stale stamp
    _robustness_figure(results, folder / FIGURES[0])
    _alignment_figure(results, folder / FIGURES[1])
    _effects_figure(results, folder / FIGURES[2], key_metrics)
    with atomic_path(stamp) as tmp:
        Path(tmp).write_text(key + "\n")
    return True


def write_study_report(folder: str | Path) -> Path:
    """Figures + ``report.html`` in a study's run ``folder``, from its ``results.json`` records."""
    folder = Path(folder)
    results = load_results(folder)
    site = results["regularized_site"]
    key_metrics = [("rsa", site), ("ridge", site), *[(m, None) for m in HEADLINE]]
    _figures(results, folder, key_metrics)
    conds = results["conditions"]
    treated = results["treated"]
    metric_rows = [["metric", *conds]] + [[_label(m, s), *[_fmt(results.score(m, c, site=s)) for c in conds]]
                                          for m, s in key_metrics]
    effect_rows = [["metric", *[f"{treated} - {c}" for c in conds if c != treated]]]
    for m, s in key_metrics:
        by_control = {e.versus: _fmt(e.score, signed=True) for e in results.effects_of(m, site=s)}
        effect_rows.append([_label(m, s), *[by_control.get(c, "-") for c in conds if c != treated]])
    cfg = results["config"]
    brain = results.info.get("brain") or ("synthetic " + cfg["brain"]["area"] + " brain (SyntheticBrain)"
                                          if not cfg.get("data") else f"recording {cfg['data']}")
    source = ("a digital twin fitted to the recording and queried on new images (the twin as denoiser, Li 2019)"
              if results["targets"].get("source") == "twin" else "the recording itself (trial averages)")
    n_items = {m: results.score(m, conds[0]).n for m in HEADLINE}
    sections = [
        Section("Bottom line", bottom_line(results), figures=["effects.png"]),
        Section("Question", [
            f"Does training a network with brain data make it safer? The brain: {brain}. Task networks "
            f"(handwritten digits) are trained without a neural regularizer (baseline), with a "
            f"{cfg['regularizer']['kind'].upper()} regularizer pulling layer {site} towards brain responses to "
            "natural images (brain), and with the same regularizer towards control targets: stimulus identities "
            "shuffled, and random targets with the brain data's eigenspectrum (matched); "
            f"{len(results['seeds'])} seeds each. Targets come from {source}. Accuracies are measured on the same "
            f"{n_items['clean_accuracy']} test digits (clean, PGD and corruptions alike)."]),
        Section("Twin quality", twin_quality(results)),
        Section("Effects (brain-regularized minus comparison, 95% paired CI over seeds and test items)",
                table=effect_rows),
        Section("Every condition (mean over seeds, 95% CI over seeds and test items; ridge ceiled by sqrt "
                "split-half reliability)", table=metric_rows, figures=["robustness.png", "alignment.png"]),
        Section("Spread over training seeds (each seed's point estimate)",
                table=_seed_rows(results, [*key_metrics[2:], *key_metrics[:2]])),
        Section("Glossary", [f"{term}: {text}" for term, text in GLOSSARY.items()]),
        Section("Study configuration", [json.dumps(cfg)]),
    ]
    run = dict(results.info.get("run", {}))
    prov = {**results["provenance"], "computed": run.pop("computed", None), "this_run": run}
    return write_report(folder / "report.html", f"neurosafe study: {results['name']}", sections, prov)
