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
    rates: np.ndarray, dt: float, names: np.ndarray, title: str, path: str | Path, top: int = 12
) -> Path:
    """Rate traces ``(steps, neurons)`` of the ``top`` neurons with the highest final rate."""
    order = np.argsort(-rates[-1], kind="stable")[:top]
    t = np.arange(1, rates.shape[0] + 1) * dt
    fig, ax = plt.subplots(figsize=(8, 4))
    for i in order:
        ax.plot(t, rates[:, i], lw=1, label=str(names[i]))
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate (a.u.)")
    ax.legend(frameon=False, fontsize=7, ncol=2)
    ax.set_title(title)
    return save_figure(fig, path)
