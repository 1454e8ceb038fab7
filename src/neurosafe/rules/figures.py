"""Figures of learning-rule inference: confusion matrix, accuracy vs units recorded / noise, profile likelihood."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurosafe.core.figures import plt, save_figure

__all__ = ["plot_accuracy_curves", "plot_confusion", "plot_observables", "plot_profiles"]


def plot_confusion(confusion: np.ndarray, rules: list[str], path: str | Path, title: str = "") -> Path:
    """Row-normalised confusion matrix (true rule x predicted rule), counts annotated."""
    conf = np.asarray(confusion, dtype=float)
    frac = conf / np.maximum(conf.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.6, 4))
    im = ax.imshow(frac, vmin=0, vmax=1, cmap="Blues")
    for i in range(len(rules)):
        for j in range(len(rules)):
            ax.text(j, i, int(conf[i, j]), ha="center", va="center", color="white" if frac[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(rules)), rules, rotation=45, ha="right")
    ax.set_yticks(range(len(rules)), rules)
    ax.set_xlabel("predicted rule")
    ax.set_ylabel("true rule")
    ax.set_title(title or "learning-rule identification")
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of true rule")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_accuracy_curves(rows: list[dict], path: str | Path, title: str = "") -> Path:
    """Accuracy (with CI) against units recorded (no noise) and against measurement noise (all units), one line
    per feature set, at the densest time sampling; chance as a dashed line."""
    rows = [r for r in rows if r["time_stride"] == min(q["time_stride"] for q in rows)]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for fs in sorted({r["features"] for r in rows}):
        sub = [r for r in rows if r["features"] == fs]
        units = sorted((r for r in sub if r["noise"] == 0), key=lambda r: (r["units"] == 0, r["units"]))
        noise = sorted((r for r in sub if r["units"] == 0), key=lambda r: r["noise"])
        for ax, pts, key in ((axes[0], units, "units"), (axes[1], noise, "noise")):
            x = np.arange(len(pts))
            acc = np.array([p["accuracy"] for p in pts])
            lo = np.array([p["ci"][0] if p["ci"] else np.nan for p in pts])
            hi = np.array([p["ci"][1] if p["ci"] else np.nan for p in pts])
            line = ax.plot(x, acc, "o-", label=fs)[0]
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2)
            labels = [("all" if p["units"] == 0 else str(p["units"])) if key == "units" else f"{p['noise']:g}"
                      for p in pts]
            ax.set_xticks(x, labels)
    if rows:
        for ax in axes:
            ax.axhline(rows[0]["chance"], color="grey", ls="--", lw=1, label="chance")
    axes[0].set_xlabel("units recorded per layer")
    axes[1].set_xlabel("measurement noise (x observable's SD), all units")
    axes[0].set_ylabel("held-out accuracy")
    axes[0].set_ylim(0, 1.02)
    axes[0].legend(frameon=False)
    fig.suptitle(title or "learning-rule identification vs recording")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_profiles(profiles: list[dict], path: str | Path) -> Path:
    """Profile deviance of each coefficient (others re-fitted) with the chi-square(1) 95% threshold."""
    fig, axes = plt.subplots(1, len(profiles), figsize=(3.2 * len(profiles), 3), squeeze=False)
    for ax, prof in zip(axes[0], profiles, strict=True):
        ax.plot(prof["values"], prof["deviance"], "o-")
        ax.axhline(3.84, color="grey", ls="--", lw=1, label="95% threshold")
        ax.axvline(prof["estimate"], color="k", lw=0.8)
        if prof.get("true") is not None:
            ax.axvline(prof["true"], color="tab:red", ls=":", label="true")
        ax.set_yscale("symlog", linthresh=10)
        ax.set_ylim(bottom=0)
        ax.set_title(prof["term"], fontsize=9)
        ax.set_xlabel("coefficient")
    axes[0][0].set_ylabel("deviance  n log(RSS/RSS_min)")
    axes[0][0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_observables(obs, path: str | Path) -> Path:
    """Median over networks of three statistics over training, one line per rule (all units, no noise)."""
    cond = int(np.flatnonzero((obs.units.values == 0) & (obs.noise.values == 0))[0])
    panels = (("weights", "first", "rms"), ("activations", "last_hidden", "kurtosis"),
              ("activity_change", "last_hidden", "rms"))
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    rules = sorted(set(obs.rule.values.tolist()))
    for ax, (o, layer, stat) in zip(axes, panels, strict=True):
        sel = obs.isel(condition=cond).sel(observable=o, layer=layer, statistic=stat)
        for rule in rules:
            ax.plot(sel.time.values + 1, np.median(sel.values[obs.rule.values == rule], axis=0), "o-", ms=3,
                    label=rule)
        ax.set_title(f"{o} ({layer}): {stat}", fontsize=9)
        ax.set_xlabel("logging step")
    axes[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
