"""The one bootstrap of neurosafe: every confidence interval and paired difference goes through here.

Resampling is over stimuli (or images, participants, items: whatever the statistic's independent units
are). A statistic is evaluated on row 0 = the data as they are (the point estimate) and on ``n_boot``
resamples drawn from a ``SeedSequence`` stream (:func:`neurosafe.core.seeds.make_rng`), so two statistics
computed with the same ``seed`` and ``n`` see the *same* resamples: their replicates can be differenced
(paired bootstrap, e.g. Federer et al. 2020's brain-regularized minus control) or averaged over training
seeds without losing the pairing. Scores carry their replicates (``Score.replicates``) for that.

Intervals (Efron & Tibshirani 1993): ``"percentile"``; ``"bca"`` (bias-corrected and accelerated, the
acceleration from a jackknife, as ``scipy.stats.bootstrap``); ``"basic"``. Statistics that are biased
under resampling (ECE, Spearman of RDMs with repeated stimuli) use :func:`bias_corrected`, which keeps
the point estimate inside its interval. Resampling counts as weights (:func:`bootstrap_weights`) make a
whole bootstrap of a correlation a few matrix products (:func:`weighted_pearson`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neurosafe.core.errors import NeurosafeError
from neurosafe.core.seeds import make_rng

__all__ = [
    "CI_METHODS", "bias_corrected", "bootstrap_ci", "bootstrap_indices", "bootstrap_statistic",
    "bootstrap_weights", "hierarchical_replicates", "jackknife_values", "percentile_ci", "weighted_pearson",
]

CI_METHODS = ("percentile", "bca", "basic")


def bootstrap_indices(n: int, n_boot: int, seed: int | None, *purpose: object) -> np.ndarray:
    """(1 + n_boot, n) indices: row 0 is ``arange(n)`` (the point estimate), then resamples with replacement.

    Same ``(n, n_boot, seed, purpose)`` -> same resamples, so statistics bootstrapped separately are paired.
    """
    if n < 1:
        raise NeurosafeError(f"cannot bootstrap {n} units")
    rng = make_rng(seed, "bootstrap", *purpose)
    return np.vstack([np.arange(n)[None], rng.integers(0, n, size=(max(n_boot, 0), n))])


def bootstrap_weights(n: int, n_boot: int, seed: int | None, *purpose: object) -> np.ndarray:
    """The resamples of :func:`bootstrap_indices` as counts (1 + n_boot, n): row 0 all ones."""
    idx = bootstrap_indices(n, n_boot, seed, *purpose)
    rows = np.arange(len(idx))[:, None] * n
    return np.bincount((idx + rows).ravel(), minlength=len(idx) * n).reshape(len(idx), n).astype(np.float64)


def bootstrap_statistic(statistic: Callable[[np.ndarray], float | np.ndarray], n: int, n_boot: int,
                        seed: int | None, *purpose: object) -> np.ndarray:
    """``statistic(indices)`` on the data (row 0) and on each resample: an array (1 + n_boot, ...)."""
    return np.stack([np.asarray(statistic(ix), dtype=float) for ix in bootstrap_indices(n, n_boot, seed, *purpose)])


def jackknife_values(statistic: Callable[[np.ndarray], float], n: int) -> np.ndarray:
    """The leave-one-out values ``statistic(indices without i)``, i = 0..n-1 (for BCa's acceleration)."""
    full = np.arange(n)
    return np.array([statistic(np.delete(full, i)) for i in range(n)], dtype=float)


def bootstrap_ci(point: float, replicates: np.ndarray, level: float = 0.95, method: str = "percentile",
                 jackknife: np.ndarray | None = None) -> tuple[float, float] | None:
    """Confidence interval from bootstrap ``replicates`` of a statistic whose estimate is ``point``.

    ``method="bca"`` needs ``jackknife`` (the leave-one-out values of the statistic) for the acceleration.
    Non-finite replicates are dropped; None when fewer than 2 remain.
    """
    if method not in CI_METHODS:
        raise NeurosafeError(f"CI method must be one of {CI_METHODS}; got {method!r}")
    if not 0 < level < 1:
        raise NeurosafeError(f"CI level must be in (0, 1); got {level}")
    reps = np.asarray(replicates, dtype=float)
    reps = reps[np.isfinite(reps)]
    if len(reps) < 2 or not np.isfinite(point):
        return None
    alpha = (1 - level) / 2
    if method == "percentile":
        return percentile_ci(reps, level)
    if method == "basic":
        q_lo, q_hi = percentile_ci(reps, level)
        lo, hi = 2 * point - q_hi, 2 * point - q_lo
    else:
        if jackknife is None:
            raise NeurosafeError("a BCa interval needs the jackknife values of the statistic")
        from scipy.stats import norm  # on first use: reading stored Scores needs no scipy (issue 18)

        below = (np.sum(reps < point) + 0.5 * np.sum(reps == point)) / len(reps)
        z0 = norm.ppf(np.clip(below, 1 / (2 * len(reps)), 1 - 1 / (2 * len(reps))))
        jk = np.asarray(jackknife, dtype=float)
        jk = jk[np.isfinite(jk)]
        d = jk.mean() - jk
        denom = 6 * np.sum(d**2) ** 1.5
        a = np.sum(d**3) / denom if denom > 0 else 0.0
        z = norm.ppf([alpha, 1 - alpha])
        adj = norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
        lo, hi = np.quantile(reps, np.clip(adj, 0, 1))
    return float(lo), float(hi)


def bias_corrected(point: float, replicates: np.ndarray, level: float = 0.95
                   ) -> tuple[float, tuple[float, float] | None]:
    """Bootstrap bias correction for a statistic biased under resampling (e.g. binned ECE, which resampling
    inflates): estimate ``point - bias`` with bias = mean(replicates) - point (Efron & Tibshirani 1993,
    section 10.6), and the percentile interval of the corrected replicates ``replicates - 2 bias``.

    Why twice the bias: the replicates scatter around ``point + bias`` (resampling adds the bias once more),
    while the truth lies around ``point - bias``; the shifted replicates are centred on the corrected
    estimate, which then lies inside the interval whenever the replicates' mean lies inside their own
    central ``level`` range (always, in practice; the interval is widened to it otherwise). Shifting by one
    bias would centre the interval on the biased ``point`` and under-cover (tests/metrics/test_bootstrap.py).
    """
    reps = np.asarray(replicates, dtype=float)
    reps = reps[np.isfinite(reps)]
    if len(reps) < 2:
        return float(point), None
    bias = reps.mean() - point
    est = float(point - bias)
    lo, hi = (q - 2 * bias for q in percentile_ci(reps, level))
    return est, (float(min(lo, est)), float(max(hi, est)))


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


def hierarchical_replicates(replicates: np.ndarray, seed: int | None, *purpose: object) -> np.ndarray:
    """Two-level (hierarchical) bootstrap of a mean over groups, e.g. networks trained with different seeds
    and each scored on the same test items (Saravanan, Berman & Sober 2020, "Application of the hierarchical
    bootstrap to multi-level data in neuroscience"; Davison & Hinkley 1997, section 3.8).

    ``replicates`` is (n_groups, n_boot): row g holds group g's bootstrap replicates over items, all groups
    on the *same* item resamples (same bootstrap seed). Replicate b of the result resamples the groups with
    replacement and averages their b-th item replicate, so its spread holds both the item and the group
    (seed) variance. The group resamples come from ``make_rng(seed, "hierarchical", *purpose)``: two
    conditions bootstrapped with the same ``seed`` resample the same groups, so their difference stays paired
    (by training seed and by item). With one group the item replicates are returned unchanged.
    """
    reps = np.asarray(replicates, dtype=float)
    if reps.ndim != 2 or not reps.size:
        raise NeurosafeError(f"hierarchical bootstrap needs (groups, n_boot) replicates; got shape {reps.shape}")
    k, n_boot = reps.shape
    if k == 1:
        return reps[0].copy()
    groups = make_rng(seed, "hierarchical", *purpose).integers(0, k, size=(n_boot, k))
    return reps[groups, np.arange(n_boot)[:, None]].mean(axis=1)
