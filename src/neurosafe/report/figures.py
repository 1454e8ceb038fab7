"""Figures of the reports (saved with :func:`neurosafe.core.figures.save_figure`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurosafe.core.figures import plt, save_figure


def reliability_histogram(summary: dict, path: str | Path) -> Path:
    """Histograms of per-neuron split-half reliability, oracle correlation and FEV, medians marked."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    labels = {"split_half": "split-half r (Spearman-Brown)", "oracle": "oracle correlation", "fev": "FEV"}
    for ax, (key, label) in zip(axes, labels.items(), strict=True):
        vals = np.array([v[key] for v in summary["per_neuron"].values() if v[key] is not None])
        ax.hist(vals, bins=20, color="#4C72B0", alpha=0.85)
        ax.axvline(summary[key]["value"], color="k", ls="--", lw=1, label=f"median {summary[key]['value']:.2f}")
        ax.set_xlabel(label)
        ax.set_ylabel("neurons")
        ax.legend(frameon=False, fontsize=8)
    fig.suptitle(f"{summary['n_neurons']} neurons, {summary['n_stimuli']} stimuli")
    return save_figure(fig, path)
