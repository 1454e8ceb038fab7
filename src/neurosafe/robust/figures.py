"""Robustness figures: every corruption at every severity, robustness curves, reliability diagrams."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from neurosafe.core.errors import DataValidationError
from neurosafe.core.figures import plt, save_figure
from neurosafe.metrics.calibration import calibration_bins, expected_calibration_error
from neurosafe.robust._inputs import as_images
from neurosafe.robust.corruptions import CORRUPTIONS, corrupt

__all__ = ["corruption_grid", "reliability_diagram", "robustness_curve_figure"]


def _show(ax: Any, image: np.ndarray) -> None:
    if image.shape[0] == 1:
        ax.imshow(image[0], cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(np.moveaxis(image, 0, -1))
    ax.set_xticks([])
    ax.set_yticks([])


def corruption_grid(
    x: Any, path: str | Path, index: int = 0, kinds: Sequence[str] = CORRUPTIONS, seed: int = 0
) -> Path:
    """One image (``x[index]``): a row per corruption, the clean image then severities 1-5."""
    images = as_images(x, "images").cpu().numpy()
    if not 0 <= index < len(images):
        raise DataValidationError(f"image index {index} out of range for {len(images)} images")
    clean = images[index : index + 1]
    fig, axes = plt.subplots(len(kinds), 6, figsize=(6 * 1.1, len(kinds) * 1.1), squeeze=False)
    for row, kind in zip(axes, kinds, strict=True):
        _show(row[0], clean[0])
        row[0].set_ylabel(kind.replace("_", " "), rotation=0, ha="right", va="center", fontsize=8)
        for severity in range(1, 6):
            _show(row[severity], corrupt(clean, kind, severity, seed=seed)[0])
    for col, label in enumerate(["clean", *(f"severity {s}" for s in range(1, 6))]):
        axes[0][col].set_title(label, fontsize=8)
    return save_figure(fig, path)


def robustness_curve_figure(curves: dict[str, xr.DataArray], path: str | Path, title: str = "") -> Path:
    """Accuracy / objective against epsilon, one line per named curve (e.g. PGD and random noise)."""
    fig, ax = plt.subplots(figsize=(4.2, 3.4))
    for label, curve in curves.items():
        ax.plot(curve["epsilon"].values, curve.values, "o-", label=label)
        ax.set_ylabel(str(curve.name).replace("_", " "))
    ax.set_xlabel("epsilon")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return save_figure(fig, path)


def reliability_diagram(probs: Any, labels: Any, path: str | Path, n_bins: int = 15, title: str = "") -> Path:
    """Accuracy against confidence per bin (bars), the diagonal of perfect calibration, and the ECE."""
    bins = calibration_bins(probs, labels, n_bins)
    ece = expected_calibration_error(probs, labels, n_bins)
    centres = (bins["edges"][:-1] + bins["edges"][1:]) / 2
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(4, 5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.bar(
        centres,
        np.nan_to_num(bins["accuracy"]),
        width=1 / n_bins,
        edgecolor="k",
        color="#4C72B0",
        label="accuracy",
    )
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{title} ECE = {ece:.3f}".strip())
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    hist.bar(centres, bins["count"], width=1 / n_bins, color="#999999")
    hist.set_xlabel("confidence")
    hist.set_ylabel("examples")
    return save_figure(fig, path)
