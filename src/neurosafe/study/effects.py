"""Paired bootstrap effects of brain-data training against baseline and controls (Federer et al. 2020).

For each metric, every condition's value is averaged over training seeds and recomputed on the same
resampled images (robustness) or stimuli (alignment), so differences between conditions carry a
percentile CI that reflects the test-set uncertainty; the spread over seeds is reported beside it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata

from neurosafe.metrics.bootstrap import percentile_ci, weighted_pearson

__all__ = ["expected_calibration_error_np", "metric_distributions", "paired_effects", "rdm_spearman"]


def expected_calibration_error_np(probs: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> float:
    """Binned ECE (Guo et al. 2017) from confidences and correctness (numpy, for bootstrap loops)."""
    conf = probs.max(1)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    total = np.bincount(bins, minlength=n_bins)
    acc = np.bincount(bins, correct.astype(float), minlength=n_bins)
    cf = np.bincount(bins, conf, minlength=n_bins)
    ok = total > 0
    return float(np.sum(np.abs(acc[ok] - cf[ok])) / len(conf))


def _upper_pairs(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.triu_indices(len(idx), k=1)
    keep = idx[i] != idx[j]  # a stimulus drawn twice is not compared with itself
    return idx[i][keep], idx[j][keep]


def rdm_spearman(model_rdm: np.ndarray, brain_rdm: np.ndarray, idx: np.ndarray) -> float:
    """Spearman correlation of two RDMs over the distinct stimulus pairs of the (resampled) index ``idx``."""
    a, b = _upper_pairs(idx)
    return float(np.corrcoef(rankdata(model_rdm[a, b]), rankdata(brain_rdm[a, b]))[0, 1])


def metric_distributions(evals: dict[str, list[dict]], brain_mean: np.ndarray, brain_rdm: np.ndarray,
                         ceiling: float, sites: tuple[str, ...], primary_site: str, pgd_eps: tuple[float, ...],
                         n_boot: int = 500, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """{metric: {condition: array (1 + n_boot,)}}; row 0 is the point estimate (all units once).

    Metrics: clean accuracy, accuracy under PGD at each eps and its mean over eps (robustness AUC),
    mean corruption accuracy, ECE, and per site RSA (Spearman of RDMs; bootstrapped at the primary site)
    and ceiled ridge predictivity (median over neurons of held-out r / ceiling).
    """
    rng = np.random.default_rng(seed)
    n_img = len(next(iter(evals.values()))[0]["correct_clean"])
    n_stim = brain_mean.shape[0]
    img_idx = [np.arange(n_img)] + [rng.integers(0, n_img, n_img) for _ in range(n_boot)]
    stim_idx = [np.arange(n_stim)] + [rng.integers(0, n_stim, n_stim) for _ in range(n_boot)]
    w_stim = np.stack([np.bincount(ix, minlength=n_stim) for ix in stim_idx]).astype(float)  # row 0: ones

    def per_image(fn: Callable[[dict, np.ndarray], float]) -> dict[str, np.ndarray]:
        return {c: np.array([np.mean([fn(e, ix) for e in runs]) for ix in img_idx]) for c, runs in evals.items()}

    out: dict[str, dict[str, np.ndarray]] = {
        "clean_accuracy": per_image(lambda e, ix: e["correct_clean"][ix].mean()),
        "pgd_accuracy_mean": per_image(lambda e, ix: e["correct_pgd"][:, ix].mean()),
        "corruption_accuracy": per_image(lambda e, ix: e["correct_corrupt"][:, ix].mean()),
        "ece": per_image(lambda e, ix: expected_calibration_error_np(e["probs"][ix], e["correct_clean"][ix])),
    }
    for k, eps in enumerate(pgd_eps):
        out[f"pgd_accuracy@{eps:.4f}"] = per_image(lambda e, ix, k=k: e["correct_pgd"][k, ix].mean())
    for site in sites:
        out[f"ridge/{site}"] = {
            c: np.mean([np.nanmedian(weighted_pearson(w_stim, e[f"pred/{site}"], brain_mean), axis=1)
                        for e in runs], axis=0) / ceiling
            for c, runs in evals.items()}
        rows = stim_idx if site == primary_site else stim_idx[:1]
        out[f"rsa/{site}"] = {c: np.array([np.mean([rdm_spearman(e[f"rdm/{site}"], brain_rdm, ix) for e in runs])
                                           for ix in rows]) for c, runs in evals.items()}
    return out


def paired_effects(dists: dict[str, dict[str, np.ndarray]], treated: str, ci_level: float = 0.95
                   ) -> dict[str, dict[str, dict]]:
    """{metric: {other condition: {difference, ci}}}: treated minus each other condition, paired bootstrap."""
    out: dict[str, dict[str, dict]] = {}
    for metric, by_cond in dists.items():
        if treated not in by_cond:
            continue
        t = by_cond[treated]
        out[metric] = {}
        for cond, v in by_cond.items():
            if cond == treated:
                continue
            diff = t - v
            out[metric][cond] = {"difference": float(diff[0]),
                                 "ci": percentile_ci(diff[1:], ci_level) if len(diff) > 1 else None}
    return out
