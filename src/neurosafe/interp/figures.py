"""Figures of the in-silico experiments (matplotlib, written atomically with ``save_figure``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from neurosafe.core.figures import save_figure

__all__ = ["plot_dose_response", "plot_images", "plot_patching", "plot_recovery_curve", "plot_rfs", "plot_spectrum",
           "plot_tuning_summary"]


def _grid(n: int, cols: int = 8):
    cols = min(cols, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.4 * cols, 1.5 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, axes.flat


def plot_tuning_summary(ds: xr.Dataset, path: str | Path, n_examples: int = 6) -> Path:
    """OSI histogram, preferred-orientation histogram and the tuning curves of the most selective neurons."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    osi = ds["osi"].values
    axes[0].hist(osi[np.isfinite(osi)], bins=20, range=(0, 1), color="#4C72B0")
    axes[0].set_xlabel("OSI")
    axes[0].set_ylabel("neurons")
    axes[1].hist(ds["preferred_orientation"].values, bins=12, range=(0, 180), color="#55A868")
    axes[1].set_xlabel("preferred orientation (deg)")
    curves = ds["tuning"]
    order = np.argsort(-np.nan_to_num(osi, nan=-1))[:n_examples]
    for i in order:
        axes[2].plot(curves[curves.dims[1]].values, curves.values[i], marker="o", ms=3,
                     label=f"{ds['neuron_id'].values[i]} (OSI {osi[i]:.2f})")
    axes[2].set_xlabel(curves.dims[1])
    axes[2].set_ylabel("response")
    axes[2].legend(fontsize=6, frameon=False)
    return save_figure(fig, path)


def plot_rfs(ds: xr.Dataset, path: str | Path, max_units: int = 32) -> Path:
    """RF maps (diverging colours, symmetric limits) with the fitted centre and 1-s.d. size circle; STAs not
    significantly different from noise carry no circle and say so."""
    n = min(max_units, ds.sizes["neuron"])
    fig, axes = _grid(n)
    for i, ax in zip(range(n), axes, strict=False):
        rf = ds["rf"].values[i]
        lim = np.abs(rf).max() or 1.0
        ax.imshow(rf, cmap="RdBu_r", vmin=-lim, vmax=lim)
        x, y, s = (float(ds[k].values[i]) for k in ("rf_x", "rf_y", "rf_size"))
        if np.isfinite([x, y, s]).all():
            ax.add_patch(plt.Circle((x, y), s, fill=False, color="k", lw=0.8))
        noise = "significant" in ds.coords and not bool(ds["significant"].values[i])
        ax.set_title(str(ds["neuron_id"].values[i]) + (" (n.s., no fit)" if noise else ""), fontsize=6)
        ax.axis("off")
    return save_figure(fig, path)


def plot_images(images: np.ndarray, titles: list[str], path: str | Path) -> Path:
    """A grid of images (n, C, H, W) in [0, 1] (grey or RGB) with titles."""
    fig, axes = _grid(len(images))
    for img, title, ax in zip(images, titles, axes, strict=False):
        ax.imshow(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=6)
        ax.axis("off")
    return save_figure(fig, path)


def plot_mei_vs_natural(meis: xr.Dataset, comparison: xr.Dataset, natural_images: np.ndarray, path: str | Path
                        ) -> Path:
    """Per unit (column): its MEI (top row) above its best natural image (bottom row), each titled with the unit's
    response to it, so the MEI / best-natural ratio can be seen, not only read (Walker et al. 2019, Fig. 2)."""
    n = len(meis["neuron_id"])
    fig, axes = plt.subplots(2, n, figsize=(1.5 * n + 0.6, 3.3), squeeze=False)
    for i in range(n):
        for row, img, title in ((0, meis["image"].values[i], f"{meis['neuron_id'].values[i]}\nMEI "
                                 f"{comparison['mei_activation'].values[i]:.3g}"),
                                (1, natural_images[i], f"best natural\n{comparison['natural_max'].values[i]:.3g}")):
            ax = axes[row, i]
            ax.imshow(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0), cmap="gray", vmin=0, vmax=1)
            ax.set_title(title, fontsize=6)
            ax.axis("off")
    return save_figure(fig, path)


def plot_dose_response(ds: xr.Dataset, path: str | Path, ylabel: str = "score") -> Path:
    """Score vs fraction of units ablated, with its confidence band and the intact score."""
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    f = ds["fraction"].values
    ax.fill_between(f, ds["ci_low"].values, ds["ci_high"].values, alpha=0.25, color="#C44E52")
    ax.plot(f, ds["score"].values, marker="o", color="#C44E52", label=f"{ds.attrs.get('method')} ablation")
    ax.axhline(ds.attrs.get("intact", np.nan), color="k", ls="--", lw=0.8, label="intact")
    site = ds.attrs.get("site")
    ax.set_xlabel(f"fraction of {site} units ablated" if site not in (None, "None", "") else
                  "fraction of output units (neurons) ablated")
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, fontsize=8)
    return save_figure(fig, path)


def plot_spectrum(spectrum: np.ndarray, alpha: float, fit_range: tuple[int, int], path: str | Path) -> Path:
    """Eigenspectrum on log-log axes with the fitted power law over its range."""
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    rank = np.arange(1, len(spectrum) + 1)
    pos = spectrum > 0
    ax.loglog(rank[pos], spectrum[pos], ".", ms=3, color="#4C72B0", label="variance")
    lo, hi = fit_range
    sel = (rank >= lo) & (rank <= hi) & pos
    if sel.any():
        anchor = np.exp(np.mean(np.log(spectrum[sel]) + alpha * np.log(rank[sel])))
        ax.loglog(rank[sel], anchor * rank[sel] ** -alpha, "r-", label=f"alpha = {alpha:.2f}")
    ax.set_xlabel("PC rank")
    ax.set_ylabel("variance")
    ax.legend(frameon=False, fontsize=8)
    return save_figure(fig, path)


def plot_recovery_curve(curve: xr.Dataset, path: str | Path) -> Path:
    """Mean max cosine similarity to the planted features vs feature probability, one line per method, with the
    bootstrap CI over seeds as a band (``interp.superposition.recovery_curve``)."""
    fig, ax = plt.subplots(figsize=(5, 3.4))
    p = curve["p"].values
    for m in curve["dictionary"].values:
        c = curve.sel(dictionary=m)
        ax.plot(p, c["mmcs"].values, marker="o", label=str(m))
        ax.fill_between(p, c["ci_low"].values, c["ci_high"].values, alpha=0.2)
    ax.set_xscale("log")
    ax.set_xlabel("feature probability (density)")
    ax.set_ylabel("mean max |cosine| to true features")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{curve.attrs.get('n_features')} features in {curve.attrs.get('n_dims')} dims", fontsize=9)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_patching(path_effect, random_effect, mediation: dict, curve: xr.Dataset, path: str | Path) -> Path:
    """Patching effects (path vs random path), mediation (total / indirect / direct) and the stimulation
    dose-response curve, each with its bootstrap CI."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    bars = [("path", path_effect), ("random path", random_effect)] + [(k, v) for k, v in mediation.items()]
    for ax, group in ((axes[0], bars[:2]), (axes[1], bars[2:])):
        vals = [s.value for _, s in group]
        err = np.array([[s.value - s.ci[0], s.ci[1] - s.value] for _, s in group]).T
        ax.bar(range(len(group)), vals, yerr=err, capsize=4, color=["#C44E52", "#8C8C8C", "#4C72B0"][:len(group)])
        ax.set_xticks(range(len(group)), [n for n, _ in group], fontsize=8)
        ax.axhline(0, color="k", lw=0.8)
    axes[0].set_title("activation patching effect", fontsize=9)
    axes[1].set_title("causal mediation", fontsize=9)
    d = curve["dose"].values
    axes[2].plot(d, curve["effect"].values, marker="o")
    axes[2].fill_between(d, curve["ci_low"].values, curve["ci_high"].values, alpha=0.3)
    axes[2].set_xlabel("stimulation dose")
    axes[2].set_title("stimulation dose-response", fontsize=9)
    return save_figure(fig, path)
