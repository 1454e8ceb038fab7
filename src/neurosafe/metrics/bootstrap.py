"""Bootstrap over stimuli, vectorised: resampling counts as weights, so every resample costs a matrix product.

Used by every metric's confidence interval and by the study's paired effect sizes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bootstrap_weights", "percentile_ci", "weighted_pearson"]


def bootstrap_weights(n_stimuli: int, n_boot: int, seed: int) -> np.ndarray:
    """Row 0: all ones (the point estimate); rows 1..n_boot: multinomial resampling counts."""
    rng = np.random.default_rng(seed)
    w = rng.multinomial(n_stimuli, np.full(n_stimuli, 1.0 / n_stimuli), size=n_boot).astype(np.float64)
    return np.vstack([np.ones((1, n_stimuli)), w])


def weighted_pearson(w: np.ndarray, a: np.ndarray, b: np.ndarray, count: np.ndarray | None = None) -> np.ndarray:
    """Pearson r per column of per-stimulus sums, for each row of stimulus weights ``w`` (B, S).

    ``a``/``b`` are (S, N) with NaN where missing. With ``count`` (S, N), ``a`` and ``b`` must instead be
    dicts of per-stimulus sums (x, y, xx, yy, xy) over ``count`` observations.
    """
    if count is None:
        ok = np.isfinite(a) & np.isfinite(b)
        a0, b0 = np.where(ok, a, 0.0), np.where(ok, b, 0.0)
        sums = {"n": ok.astype(float), "x": a0, "y": b0, "xx": a0 * a0, "yy": b0 * b0, "xy": a0 * b0}
    else:
        sums = {"n": count, **a}
    s = {k: w @ v for k, v in sums.items()}
    n = s["n"]
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = s["xy"] - s["x"] * s["y"] / n
        vx = s["xx"] - s["x"] ** 2 / n
        vy = s["yy"] - s["y"] ** 2 / n
        r = cov / np.sqrt(vx * vy)
    r[(n < 3) | (vx <= 1e-12 * np.maximum(s["xx"], 1)) | (vy <= 1e-12 * np.maximum(s["yy"], 1))] = np.nan
    return r


def percentile_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float] | None:
    """Percentile interval of bootstrap ``values`` (NaNs dropped); None when nothing is finite."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    alpha = (1 - level) / 2
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))
