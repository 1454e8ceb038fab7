"""The study report: figures and an HTML page stating the result in safety terms, whatever its sign."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from neurosafe.core.figures import save_figure
from neurosafe.report.html import Section, write_report

COLORS = {"baseline": "#7f7f7f", "brain": "#d62728", "shuffled": "#1f77b4", "matched": "#2ca02c"}
HEADLINE = ("clean_accuracy", "pgd_accuracy_mean", "corruption_accuracy", "ece")


def _ci(v: dict) -> str:
    ci = v.get("ci")
    return f"{v['value']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _robustness_figure(results: dict, path: Path) -> Path:
    eps = results["config"]["evaluation"]["pgd_eps"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for c in results["conditions"]:
        vals = [results["metrics"][f"pgd_accuracy@{e:.4f}"][c] for e in eps]
        y = [v["value"] for v in vals]
        lo = [v["ci"][0] if v["ci"] else v["value"] for v in vals]
        hi = [v["ci"][1] if v["ci"] else v["value"] for v in vals]
        x = np.array(eps) * 255
        ax.plot(x, y, "o-", color=COLORS.get(c), label=c)
        ax.fill_between(x, lo, hi, color=COLORS.get(c), alpha=0.15)
    ax.set_xlabel("PGD L-inf epsilon (x/255)")
    ax.set_ylabel("accuracy")
    ax.set_title("adversarial robustness (95% CI over test images)")
    ax.legend(frameon=False)
    return save_figure(fig, path)


def _alignment_figure(results: dict, path: Path) -> Path:
    sites = results["sites"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, metric, label in zip(axes, ("rsa", "ridge"), ("RSA (Spearman of RDMs)", "ridge r / ceiling"),
                                 strict=True):
        for k, c in enumerate(results["conditions"]):
            y = [results["metrics"][f"{metric}/{s}"][c]["value"] for s in sites]
            ax.plot(np.arange(len(sites)) + 0.05 * k, y, "o-", color=COLORS.get(c), label=c)
        ax.set_xticks(range(len(sites)), sites)
        ax.set_ylabel(label)
        ax.axvline(sites.index(results["regularized_site"]), color="k", ls=":", lw=1)
    axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle("brain alignment per layer on held-out stimuli (dotted: regularized layer)")
    return save_figure(fig, path)


def _effects_figure(results: dict, path: Path, metrics: list[str]) -> Path:
    others = [c for c in results["conditions"] if c != "brain"]
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(metrics) * len(others) + 1))
    y = 0
    labels = []
    for m in metrics:
        for c in others:
            e = results["effects"][m][c]
            lo, hi = e["ci"] if e["ci"] else (e["difference"], e["difference"])
            d = e["difference"]  # (a point outside its CI, issue 12 item 2, must not crash the figure)
            ax.errorbar(d, y, xerr=[[max(d - lo, 0.0)], [max(hi - d, 0.0)]], fmt="o",
                        color=COLORS.get(c))
            labels.append(f"{m} vs {c}")
            y += 1
    ax.axvline(0, color="k", lw=1)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("brain-regularized minus comparison (95% CI)")
    return save_figure(fig, path)


def _compare(results: dict, metric: str) -> str:
    """Per comparison: higher / lower / not distinguishable, with the difference and its CI."""
    parts = []
    for c, e in results["effects"][metric].items():
        ci = e["ci"]
        word = ("not distinguishable from" if ci is None or ci[0] <= 0 <= ci[1]
                else "higher than" if ci[0] > 0 else "lower than")
        parts.append(f"{word} {c} ({e['difference']:+.3f}" + (f" [{ci[0]:+.3f}, {ci[1]:+.3f}])" if ci else ")"))
    return "; ".join(parts)


def _safety_paragraphs(results: dict) -> list[str]:
    site = results["regularized_site"]
    return [
        f"Assurance (is the brain data doing anything?): at the regularized layer {site}, brain alignment of the "
        f"brain-regularized networks by RSA is {_compare(results, f'rsa/{site}')}; by ridge predictivity it is "
        f"{_compare(results, f'ridge/{site}')}.",
        f"Robustness: mean accuracy under PGD is {_compare(results, 'pgd_accuracy_mean')}. Corruption accuracy is "
        f"{_compare(results, 'corruption_accuracy')}. Only a difference that beats the shuffled and "
        "statistics-matched controls can be credited to brain data (Federer et al. 2020).",
        f"Knowing what it doesn't know (calibration, lower ECE is better): ECE is {_compare(results, 'ece')}.",
        "Specification: this study does not test whether the networks want what we intend; clean task accuracy "
        f"is {_compare(results, 'clean_accuracy')}, so that a robustness gain bought with task performance shows.",
    ]


def _seed_rows(results: dict) -> list[list]:
    seeds = results["seeds"]
    rows = [["metric", "condition", *[f"seed {s}" for s in seeds]]]
    for metric, by_cond in results["per_seed"].items():
        rows += [[metric, c, *[f"{v:.3f}" for v in vals]] for c, vals in by_cond.items()]
    return rows


def _source_phrase(source: str | None) -> str:
    if source == "twin":
        return "a digital twin fitted to the recording and queried on new images (the twin as denoiser, Li 2019)"
    return "the recording itself (trial averages)"


def write_study_report(folder: Path) -> Path:
    """Figures + ``report.html`` in a study's run ``folder``, from its ``results.json``."""
    folder = Path(folder)
    results = json.loads((folder / "results.json").read_text())
    site = results["regularized_site"]
    _robustness_figure(results, folder / "robustness.png")
    _alignment_figure(results, folder / "alignment.png")
    key_metrics = [f"rsa/{site}", f"ridge/{site}", *HEADLINE]
    _effects_figure(results, folder / "effects.png", key_metrics)
    conds = results["conditions"]
    metric_rows = [["metric", *conds]] + [[m, *[_ci(results["metrics"][m][c]) for c in conds]]
                                          for m in key_metrics]
    effect_rows = [["metric", *[f"brain - {c}" for c in conds if c != "brain"]]]
    for m in key_metrics:
        row = [m]
        for c in conds:
            if c == "brain":
                continue
            e = results["effects"][m][c]
            row.append(f"{e['difference']:+.3f}" + (f" [{e['ci'][0]:+.3f}, {e['ci'][1]:+.3f}]" if e["ci"] else ""))
        effect_rows.append(row)
    cfg = results["config"]
    sections = [
        Section("Question", [
            "Does training a network with brain data make it safer? Task networks (handwritten digits) are trained "
            f"without a neural regularizer (baseline), with a {cfg['regularizer']['kind'].upper()} regularizer "
            f"pulling layer {site} towards brain responses to natural images (brain), and with the same regularizer "
            "towards control targets: stimulus identities shuffled, and random targets with the brain data's "
            f"eigenspectrum (matched); {len(results['seeds'])} seeds each. Targets come from "
            f"{_source_phrase(results['targets'].get('source'))}."]),
        Section("Result in safety terms", _safety_paragraphs(results), figures=["effects.png"]),
        Section("Effects (brain-regularized minus comparison, 95% paired bootstrap CI over test units)",
                table=effect_rows),
        Section("Every condition (mean over seeds, 95% CI)", table=metric_rows,
                figures=["robustness.png", "alignment.png"]),
        Section("Spread over training seeds (each seed's point estimate)", table=_seed_rows(results)),
        Section("Study configuration", [json.dumps(cfg)]),
    ]
    prov = {**results["provenance"], **results.get("run", {})}
    return write_report(folder / "report.html", f"neurosafe study: {results['name']}", sections, prov)
