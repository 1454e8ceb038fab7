"""Model performance under corruptions: accuracy (or output change) per corruption and severity, and the
summaries of Hendrycks & Dietterich 2019: mean corruption accuracy, corruption error (CE, normalised by a
baseline model's errors) and relative corruption error (the drop from clean, likewise normalised)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurosafe.robust._inputs import AttackError
from neurosafe.robust.corruptions import CORRUPTIONS, corrupt
from neurosafe.robust.sweep import evaluate

__all__ = ["corruption_curve", "corruption_summary", "per_example_scores"]


def per_example_scores(model: Any, x: Any, y: Any = None, x_corrupted: Any = None, **kwargs: Any) -> np.ndarray:
    """Correctness (1/0) of each example when ``y`` holds labels, else the L2 change of the model's output
    from the clean inputs ``x`` to ``x_corrupted``."""
    inputs = x if x_corrupted is None else x_corrupted
    if y is not None:
        return evaluate(model, inputs, y, **kwargs)
    return np.sqrt(evaluate(model, inputs, None, x_clean=x, objective="output_change", **kwargs))


def corruption_curve(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    kinds: Sequence[str] = CORRUPTIONS,
    severities: Sequence[int] = (1, 2, 3, 4, 5),
    seed: int = 0,
    **kwargs: Any,
) -> xr.DataArray:
    """Accuracy (labels given) or mean L2 output change per (corruption, severity)."""
    if not kinds or not severities:
        raise AttackError("corruption_curve needs at least one corruption kind and one severity")
    values = np.array([[per_example_scores(model, x, y, corrupt(x, k, s, seed=seed), **kwargs).mean()
                        for s in severities] for k in kinds])
    return xr.DataArray(values, dims=("corruption", "severity"),
                        coords={"corruption": list(kinds), "severity": list(severities)},
                        name="accuracy" if y is not None else "output_change", attrs={"seed": seed})


def corruption_summary(
    accuracy: xr.DataArray,
    clean_accuracy: float,
    baseline: xr.DataArray | None = None,
    baseline_clean_accuracy: float | None = None,
) -> dict[str, Any]:
    """``mean_corruption_accuracy``; ``relative_error`` per corruption, mean over severities of
    (error - clean error); with a baseline model (H&D use AlexNet): ``corruption_error`` per corruption
    sum_s E_s / sum_s E_s^base, its mean ``mce``, and ``relative_mce``, the mean over corruptions of
    sum_s (E_s - E_clean) / sum_s (E_s^base - E_clean^base)."""
    error, clean_error = 1 - accuracy, 1 - float(clean_accuracy)
    out: dict[str, Any] = {"mean_corruption_accuracy": float(accuracy.mean()),
                           "relative_error": (error - clean_error).mean("severity")}
    if baseline is not None:
        if baseline_clean_accuracy is None:
            raise AttackError("a baseline needs its clean accuracy too (baseline_clean_accuracy)")
        base_error = 1 - baseline.sel(corruption=accuracy.corruption, severity=accuracy.severity)
        ce = error.sum("severity") / base_error.sum("severity")
        base_clean_error = 1 - baseline_clean_accuracy
        relative = (error - clean_error).sum("severity") / (base_error - base_clean_error).sum("severity")
        out.update(corruption_error=ce, mce=float(ce.mean()), relative_mce=float(relative.mean()))
    return out
