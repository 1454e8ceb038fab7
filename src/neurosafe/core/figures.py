"""Figures: matplotlib on the Agg backend (no display needed), saved atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from neurosafe.core.io import atomic_path

__all__ = ["plt", "save_figure"]


def save_figure(fig, path: str | Path, dpi: int = 120) -> Path:
    """Save and close a figure atomically; the format follows the suffix (PNG by default)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
