"""Figures of connectome simulations: a spike raster and rate traces (PNG, written atomically)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurosafe.core.figures import plt, save_figure

__all__ = ["raster_figure", "rate_figure"]


def raster_figure(
    spikes: np.ndarray, dt: float, names: np.ndarray, title: str, path: str | Path, max_neurons: int = 2000
) -> Path:
    """Spike raster of ``spikes`` ``(steps, neurons)`` (bool); only neurons that fired, at most
    ``max_neurons`` (the most active), keep their original order on the y axis (named when there are few)."""
    fired = np.flatnonzero(spikes.any(0))
    if len(fired) > max_neurons:
        fired = np.sort(fired[np.argsort(-spikes[:, fired].sum(0), kind="stable")[:max_neurons]])
    steps, rows = np.nonzero(spikes[:, fired])
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.scatter(steps * dt, rows, s=30 if len(fired) <= 100 else 4, c="k", marker="|", linewidths=0.8)
    if len(fired) <= 40:
        ax.set_yticks(range(len(fired)), [str(x) for x in names[fired]], fontsize=7)
    ax.set_xlim(0, spikes.shape[0] * dt)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"neuron (the {len(fired)} that fired)")
    ax.set_title(title)
    return save_figure(fig, path)


def rate_figure(
    rates: np.ndarray, dt: float, names: np.ndarray, title: str, path: str | Path, top: int = 12,
    driven: np.ndarray | None = None,
) -> Path:
    """Rate traces ``(steps, neurons)`` of the ``top`` neurons with the highest final rate. With a ``driven`` mask
    (the neurons given input) two panels: the driven inputs, and the neurons downstream of them (the response
    carried through the network), so a run whose input reaches nobody shows an empty, labelled panel."""
    t = np.arange(1, rates.shape[0] + 1) * dt
    groups = [("", np.ones(rates.shape[1], dtype=bool))] if driven is None else [
        ("driven inputs", driven), ("downstream (not driven)", ~driven)]
    fig, axes = plt.subplots(1, len(groups), figsize=(8 * len(groups) ** 0.8, 4), squeeze=False)
    for ax, (label, mask) in zip(axes[0], groups, strict=True):
        final = np.where(mask, rates[-1], -np.inf)
        order = [i for i in np.argsort(-final, kind="stable")[:top] if mask[i] and rates[-1, i] > 0]
        for i in order:
            ax.plot(t, rates[:, i], lw=1, label=str(names[i]))
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("rate (a.u.)")
        if order:
            ax.legend(frameon=False, fontsize=7, ncol=2)
        else:
            ax.text(0.5, 0.5, "no active neuron", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(f"{label}: {int((mask & (rates[-1] > 0)).sum())} active" if label else title, fontsize=9)
    if driven is not None:
        fig.suptitle(title)
    return save_figure(fig, path)
