"""The study report: figures and an HTML page stating the result in safety terms, whatever its sign.

Every number comes from the study's Score records (:func:`neurosafe.study.load_results`), looked up by
their structured keys (metric, site, condition); nothing is recomputed here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from neurosafe.core.figures import plt, save_figure
from neurosafe.metrics import Score
from neurosafe.report.html import Section, write_report
from neurosafe.study import StudyResults, load_results

COLORS = {"baseline": "#7f7f7f", "brain": "#d62728", "shuffled": "#1f77b4", "matched": "#2ca02c"}
HEADLINE = ("clean_accuracy", "pgd_accuracy_mean", "corruption_accuracy", "ece")
LABELS = {"rsa": "RSA (Spearman of RDMs)", "ridge": "ridge predictivity (median r)", "ece": "ECE",
          "clean_accuracy": "clean accuracy", "pgd_accuracy_mean": "PGD accuracy (mean over eps)",
          "corruption_accuracy": "corruption accuracy"}


def _label(metric: str, site: str | None) -> str:
    return LABELS.get(metric, metric) + (f" at {site}" if site else "")


def _fmt(score: Score, signed: bool = False) -> str:
    f = "{:+.3f}" if signed else "{:.3f}"
    text = f.format(score.value) + (f" [{f.format(score.ci[0])}, {f.format(score.ci[1])}]" if score.ci else "")
    return text + (f" (ceiled {score.ceiled_value:.3f})" if score.ceiled_value is not None else "")


def _robustness_figure(results: StudyResults, path: Path) -> Path:
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
    ax.set_title("adversarial robustness (95% CI over test images)")
    ax.legend(frameon=False)
    return save_figure(fig, path)


def _alignment_figure(results: StudyResults, path: Path) -> Path:
    sites = results["sites"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, metric, label in zip(axes, ("rsa", "ridge"), ("RSA (Spearman of RDMs)", "ridge r / ceiling"),
                                 strict=True):
        for k, c in enumerate(results["conditions"]):
            scores = [results.score(metric, c, site=s) for s in sites]
            y = [s.ceiled_value if s.ceiled_value is not None else s.value for s in scores]
            ax.plot(np.arange(len(sites)) + 0.05 * k, y, "o-", color=COLORS.get(c), label=c)
        ax.set_xticks(range(len(sites)), sites)
        ax.set_ylabel(label)
        ax.axvline(sites.index(results["regularized_site"]), color="k", ls=":", lw=1)
    axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle("brain alignment per layer on held-out stimuli (dotted: regularized layer)")
    return save_figure(fig, path)


def _effects_figure(results: StudyResults, path: Path, metrics: list[tuple[str, str | None]]) -> Path:
    effects = [e for m, s in metrics for e in results.effects_of(m, site=s)]
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * max(len(effects), 1) + 1))
    for y, e in enumerate(effects):
        d = e.score.value
        lo, hi = e.score.ci if e.score.ci else (d, d)
        ax.errorbar(d, y, xerr=[[max(d - lo, 0.0)], [max(hi - d, 0.0)]], fmt="o", color=COLORS.get(e.versus))
    ax.axvline(0, color="k", lw=1)
    ax.set_yticks(range(len(effects)), [f"{_label(e.metric, e.site)} vs {e.versus}" for e in effects], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("brain-regularized minus comparison (95% CI)")
    return save_figure(fig, path)


def _compare(results: StudyResults, metric: str, site: str | None = None) -> str:
    """Per comparison: higher / lower / not distinguishable, with the difference and its CI."""
    parts = []
    for e in results.effects_of(metric, site=site):
        ci = e.score.ci
        word = ("not distinguishable from" if ci is None or ci[0] <= 0 <= ci[1]
                else "higher than" if ci[0] > 0 else "lower than")
        parts.append(f"{word} {e.versus} ({_fmt(e.score, signed=True)})")
    return "; ".join(parts) or "not tested (no bootstrap)"


def _safety_paragraphs(results: StudyResults) -> list[str]:
    site = results["regularized_site"]
    return [
        f"Assurance (is the brain data doing anything?): at the regularized layer {site}, brain alignment of the "
        f"brain-regularized networks by RSA is {_compare(results, 'rsa', site)}; by ridge predictivity it is "
        f"{_compare(results, 'ridge', site)}.",
        f"Robustness: mean accuracy under PGD is {_compare(results, 'pgd_accuracy_mean')}. Corruption accuracy is "
        f"{_compare(results, 'corruption_accuracy')}. Only a difference that beats the shuffled and "
        "statistics-matched controls can be credited to brain data (Federer et al. 2020).",
        f"Knowing what it doesn't know (calibration, lower ECE is better): ECE is {_compare(results, 'ece')}.",
        "Specification: this study does not test whether the networks want what we intend; clean task accuracy "
        f"is {_compare(results, 'clean_accuracy')}, so that a robustness gain bought with task performance shows.",
    ]


def _seed_rows(results: StudyResults, metrics: list[tuple[str, str | None]]) -> list[list]:
    seeds = results["seeds"]
    rows = [["metric", "condition", *[f"seed {s}" for s in seeds]]]
    for metric, site in metrics:
        for c in results["conditions"]:
            rows.append([_label(metric, site), c,
                         *[f"{results.score(metric, c, site=site, training_seed=s).value:.3f}" for s in seeds]])
    return rows


def write_study_report(folder: str | Path) -> Path:
    """Figures + ``report.html`` in a study's run ``folder``, from its ``results.json`` records."""
    folder = Path(folder)
    results = load_results(folder)
    site = results["regularized_site"]
    key_metrics = [("rsa", site), ("ridge", site), *[(m, None) for m in HEADLINE]]
    _robustness_figure(results, folder / "robustness.png")
    _alignment_figure(results, folder / "alignment.png")
    _effects_figure(results, folder / "effects.png", key_metrics)
    conds = results["conditions"]
    treated = results["treated"]
    metric_rows = [["metric", *conds]] + [[_label(m, s), *[_fmt(results.score(m, c, site=s)) for c in conds]]
                                          for m, s in key_metrics]
    effect_rows = [["metric", *[f"{treated} - {c}" for c in conds if c != treated]]]
    for m, s in key_metrics:
        by_control = {e.versus: _fmt(e.score, signed=True) for e in results.effects_of(m, site=s)}
        effect_rows.append([_label(m, s), *[by_control.get(c, "-") for c in conds if c != treated]])
    cfg = results["config"]
    source = ("a digital twin fitted to the recording and queried on new images (the twin as denoiser, Li 2019)"
              if results["targets"].get("source") == "twin" else "the recording itself (trial averages)")
    sections = [
        Section("Question", [
            "Does training a network with brain data make it safer? Task networks (handwritten digits) are trained "
            f"without a neural regularizer (baseline), with a {cfg['regularizer']['kind'].upper()} regularizer "
            f"pulling layer {site} towards brain responses to natural images (brain), and with the same regularizer "
            "towards control targets: stimulus identities shuffled, and random targets with the brain data's "
            f"eigenspectrum (matched); {len(results['seeds'])} seeds each. Targets come from "
            f"{source}."]),
        Section("Result in safety terms", _safety_paragraphs(results), figures=["effects.png"]),
        Section("Effects (brain-regularized minus comparison, 95% paired bootstrap CI over test units)",
                table=effect_rows),
        Section("Every condition (mean over seeds, 95% CI; ridge ceiled by sqrt split-half reliability)",
                table=metric_rows, figures=["robustness.png", "alignment.png"]),
        Section("Spread over training seeds (each seed's point estimate)",
                table=_seed_rows(results, [("clean_accuracy", None), ("rsa", site), ("ridge", site)])),
        Section("Study configuration", [json.dumps(cfg)]),
    ]
    prov = {**results["provenance"], **results.info.get("run", {})}
    return write_report(folder / "report.html", f"neurosafe study: {results['name']}", sections, prov)
