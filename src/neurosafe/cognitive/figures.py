"""Figures: the scenario's map and path beside the posterior over desires and beliefs along the path, the
fit of models to people, and RSA listener tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurosafe.cognitive.btom import BToMPosterior
from neurosafe.cognitive.world import Scenario
from neurosafe.core.figures import plt, save_figure

__all__ = ["plot_counterfactual", "plot_fit", "plot_posterior", "plot_rsa"]


def _draw_path(ax, scenario: Scenario, title: str) -> None:
    """The trucks at their spots (blue: visible from the start, red: hidden), the observed path (orange) and
    its start (black square) on a map already drawn in ``ax``."""
    world = scenario.world
    vis0 = world.visibility[world.index_of(scenario.start)]
    for k, (name, (r, c)) in enumerate(scenario.spots.items()):
        ax.text(c, r, scenario.trucks.get(name) or "-", ha="center", va="center", fontsize=12, weight="bold",
                color="tab:blue" if vis0[k] else "tab:red")
    cells = np.array([scenario.start, *scenario.path])
    ax.plot(cells[:, 1], cells[:, 0], "-o", color="tab:orange", ms=3, lw=1.5)
    ax.plot(*cells[0][::-1], "s", color="k", ms=7)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_posterior(scenario: Scenario, posterior: BToMPosterior, path: str | Path) -> Path:
    """Map and path (left), expected desire ratings (middle) and the inferred initial belief about the hidden
    spot (right), after each step of the path."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1.2, 1, 1]})
    ax = axes[0]
    world = scenario.world
    ax.imshow(world.wall, cmap="Greys", vmin=0, vmax=1.4)
    _draw_path(ax, scenario, f"{scenario.name}: path (start ■; red = hidden at start)")
    steps = np.arange(len(posterior.desire_rating))
    for t, name in enumerate(posterior.types):
        axes[1].plot(steps, posterior.desire_rating[:, t], label=name)
    axes[1].set(xlabel="actions observed", ylabel="expected desire rating (1-7)", ylim=(1, 7))
    axes[1].legend(title="truck", fontsize=8)
    axes[1].set_title(f"desires ({posterior.model})", fontsize=9)
    if posterior.hidden_spots:
        for j, option in enumerate(posterior.options):
            axes[2].plot(steps, posterior.belief[:, 0, j], label=option)
        axes[2].set(xlabel="actions observed", ylabel=f"initial belief about spot {posterior.hidden_spots[0]}",
                    ylim=(0, 1))
        axes[2].legend(fontsize=8)
    axes[2].set_title("beliefs", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_fit(result, path: str | Path) -> Path:
    """Each model's correlation with the mean judgements (95% CI) against the split-half ceiling."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    names = list(result.scores)
    vals = [result.scores[m].value for m in names]
    ci = np.array([result.scores[m].ci or (v, v) for m, v in zip(names, vals, strict=True)])
    ax.bar(names, vals, color="tab:blue", alpha=0.7)
    ax.errorbar(names, vals, yerr=[np.array(vals) - ci[:, 0], ci[:, 1] - np.array(vals)], fmt="none", color="k")
    ax.axhline(result.ceiling, ls="--", color="gray", label=f"split-half ceiling {result.ceiling:.2f}")
    ax.set(ylabel="r with mean judgements", ylim=(min(0, min(vals)) - 0.05, 1.05))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_rsa(result, path: str | Path) -> Path:
    """Literal and pragmatic listener tables (utterance x referent)."""
    game = result.game
    fig, axes = plt.subplots(1, 2, figsize=(9, 0.6 * len(game.utterances) + 1.8))
    for ax, mat, title in ((axes[0], result.listeners[0], "literal listener L0"),
                           (axes[1], result.listener, f"pragmatic listener L{game.depth} (alpha={game.alpha})")):
        ax.imshow(mat, cmap="Blues", vmin=0, vmax=1)
        for (i, j), v in np.ndenumerate(mat):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8)
        ax.set_xticks(range(len(game.referents)), game.referents, rotation=30, fontsize=8)
        ax.set_yticks(range(len(game.utterances)), game.utterances, fontsize=8)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_counterfactual(scenario: Scenario, result, path: str | Path) -> Path:
    """Map with the observed path and how often the intervened agents visit each cell (left; purple), and
    every query's value in the factual and the intervened world (right; probabilities, with the mean moves in
    the title), for :func:`~neurosafe.cognitive.causal.
    agent_counterfactual`."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1, 1.3]})
    ax = axes[0]
    world = scenario.world
    ax.imshow(world.wall, cmap="Greys", vmin=0, vmax=1.4)
    visits = result.samples.get("cells_intervened")
    if visits is not None and visits.size:
        share = np.zeros(world.shape)
        for i, (r, c) in enumerate(world.cells):
            share[r, c] = (visits == i).any(axis=1).mean()
        ax.imshow(np.ma.masked_equal(share, 0), cmap="Purples", vmin=0, vmax=1.2, alpha=0.8)
    _draw_path(ax, scenario, f"{scenario.name}: observed path (orange); intervened agents visit (purple)")
    names = [q for q in result.queries if q != "moves"]
    x = np.arange(len(names))
    fact = [result.queries[q]["factual"] for q in names]
    other = [result.queries[q]["intervened"] for q in names]
    err = [2 * result.queries[q]["stderr"] for q in names]
    axes[1].bar(x - 0.2, fact, 0.4, label="factual (observed)", color="0.6")
    axes[1].bar(x + 0.2, other, 0.4, yerr=err, label="do(" + ", ".join(f"{k}={v}" for k, v in
                                                                       result.intervention.items()) + ")",
                color="tab:purple")
    axes[1].set_xticks(x, names, fontsize=8)
    axes[1].set(ylabel="posterior probability", ylim=(0, 1.05))
    moves = result.queries["moves"]
    axes[1].set_title(f"{result.mode}: moves {moves['factual']:.1f} -> {moves['intervened']:.1f}", fontsize=9)
    axes[1].legend(fontsize=8)
    return save_figure(fig, path)
