"""Centred kernel alignment (Kornblith et al. 2019, ICML): HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)).

``kernel="linear"`` uses K = X X' (computed from the d x d cross-covariances when that is cheaper);
``kernel="rbf"`` uses K = exp(-d^2 / (2 sigma^2)) with sigma the median pairwise Euclidean distance unless
given. ``debiased=True`` replaces the biased HSIC estimator (Gretton et al. 2005) by the unbiased one of
Song et al. (2012), as in Nguyen et al. (2021) / Kornblith's debiased CKA. The CI is a percentile bootstrap
over stimuli (a resampled stimulus appears as several rows, which biases the unbiased estimator slightly).

Speed: up to ``_GRAM_LIMIT`` stimuli the Gram (linear) or squared-distance (rbf) matrices of all stimuli
are computed once and every bootstrap resample is a vector of resampling counts w: a resampled Gram matrix
is K[idx][:, idx], whose centred HSIC is a few weighted sums of K, L and K o L (``_hsic_terms``), so all
resamples together cost a few (B, n) x (n, n) products instead of B Gram products of O(n^2 d) each. The rbf
bandwidth stays the median pairwise distance of each resample (duplicates included, as ``np.median`` over
the resampled rows' pairs), read from one sort of all pairs by cumulative counts.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.metrics.bootstrap import bootstrap_statistic, bootstrap_weights
from neurosafe.metrics.predictivity import align_features
from neurosafe.metrics.score import Score, provenance

__all__ = ["cka", "hsic", "paired_representations"]

_GRAM_LIMIT = 6000


def paired_representations(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Two (stimulus, feature) float64 matrices over the same stimuli, in the same order.

    DataArrays are matched by ``stimulus_id`` (repeats averaged, other dims flattened); arrays are taken
    to be in the same order. NaN/inf and mismatched stimuli raise a ``DataValidationError``.
    """
    if isinstance(x, xr.DataArray) and not isinstance(y, xr.DataArray):
        b, a = paired_representations(y, x)
        return a, b
    if isinstance(y, xr.DataArray):
        if "stimulus" not in y.dims or "stimulus_id" not in y.coords:
            raise DataValidationError(f"representations need a 'stimulus' dim with a 'stimulus_id' coord; got {y.dims}")
        y = y.mean("repeat", skipna=True) if "repeat" in y.dims else y
        b = align_features(y, y)
        return align_features(x, y), b
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    a = a.reshape(len(a), -1) if a.ndim > 2 else a
    b = b.reshape(len(b), -1) if b.ndim > 2 else b
    if a.ndim != 2 or b.ndim != 2 or len(a) != len(b):
        raise DataValidationError(f"representations must be (stimulus, feature) over the same stimuli; got "
                                  f"{a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise DataValidationError("representations contain NaN or inf")
    return a, b


def _gram(x: np.ndarray, kernel: str, sigma: float | None) -> np.ndarray:
    if kernel == "linear":
        return x @ x.T
    d = np.sqrt(_sq_distances(x))
    s = float(np.median(d[np.triu_indices(len(x), k=1)])) if sigma is None else sigma
    if not s > 0:
        raise DataValidationError("rbf kernel bandwidth is zero (all stimuli have the same representation)")
    return np.exp(-(d**2) / (2 * s**2))


def hsic(k: np.ndarray, l: np.ndarray, debiased: bool = False) -> float:  # noqa: E741
    """HSIC of two Gram matrices: biased tr(K H L H) / (n-1)^2, or the unbiased estimator of Song et al. 2012."""
    n = len(k)
    if not debiased:
        kc = k - k.mean(axis=0) - k.mean(axis=1, keepdims=True) + k.mean()
        return float((kc * l).sum() / (n - 1) ** 2)
    if n < 4:
        raise DataValidationError(f"the unbiased HSIC needs at least 4 stimuli; got {n}")
    k, l = k.copy(), l.copy()  # noqa: E741
    np.fill_diagonal(k, 0.0)
    np.fill_diagonal(l, 0.0)
    ks, ls = k.sum(axis=0), l.sum(axis=0)
    value = (k * l).sum() + ks.sum() * ls.sum() / ((n - 1) * (n - 2)) - 2 * ks @ ls / (n - 2)
    return float(value / (n * (n - 3)))


def _linear_biased(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    if len(a) < a.shape[1] + b.shape[1]:
        k, l = a @ a.T, b @ b.T  # noqa: E741
        return _ratio(hsic(k, l), hsic(k, k), hsic(l, l))
    cross = np.linalg.norm(a.T @ b) ** 2
    return _ratio(cross, np.linalg.norm(a.T @ a) ** 2, np.linalg.norm(b.T @ b) ** 2)


def _ratio(xy: float, xx: float, yy: float) -> float:
    if not (xx > 0 and yy > 0):
        raise DataValidationError("CKA is undefined for a representation that is constant over stimuli "
                                  "(or whose unbiased self-HSIC is not positive)")
    return xy / np.sqrt(xx * yy)


def _sq_distances(x: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (n, n) from one Gram product (centred first, against cancellation)."""
    xc = x - x.mean(axis=0)
    g = xc @ xc.T
    sq = np.diag(g).copy()
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * g, 0.0)
    np.fill_diagonal(d2, 0.0)
    return d2


def _weighted_medians(d2: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Median pairwise distance of each resample (as ``np.median`` over the resampled rows' pairs), from
    resampling counts ``weights`` (B, n): distinct stimuli i < j pair w_i w_j times, a stimulus with its own
    copies w_i (w_i - 1) / 2 times at distance 0. One sort of all pairs, then a cumulative count per resample."""
    n = len(d2)
    i, j = np.triu_indices(n, k=1)
    dist = np.sqrt(d2[i, j])
    order = np.argsort(dist)
    dist, i, j = dist[order], i[order], j[order]
    total = n * (n - 1) // 2
    ranks = [(total - 1) // 2, total // 2]  # 0-based order statistics whose mean is the median
    out = np.empty(len(weights))
    for b, w in enumerate(weights):
        zeros = float((w * (w - 1) / 2).sum())
        counts = np.cumsum(w[i] * w[j])
        vals = [0.0 if r < zeros else dist[np.searchsorted(counts, r - zeros, side="right")] for r in ranks]
        out[b] = (vals[0] + vals[1]) / 2
    return out


def _hsic_terms(k: np.ndarray, l: np.ndarray, w: np.ndarray, debiased: bool) -> np.ndarray:  # noqa: E741
    """HSIC (up to a factor shared by the CKA ratio's terms) of the resamples given as counts ``w`` (B, n),
    without forming a resampled matrix: a resample's Gram matrix is K[idx][:, idx], so with W = diag(w) and
    M = W - w w' / m (m = sum w) the biased tr(K_idx H L_idx H) = tr(K M L M) =
    w'(K o L)w - 2/m sum_j w_j (Kw)_j (Lw)_j + (w'Kw)(w'Lw)/m^2. The unbiased estimator (Song et al. 2012)
    zeroes the resampled diagonal, i.e. removes w_i K_ii L_ii-type terms from the same sums."""
    m = w.sum(axis=1)
    kw, lw, klw = w @ k, w @ l, w @ (k * l)
    if not debiased:
        return (klw * w).sum(1) - 2 / m * (kw * w * lw).sum(1) + (kw * w).sum(1) * (lw * w).sum(1) / m**2
    dk, dl = np.diag(k), np.diag(l)
    trace = (klw * w).sum(1) - w @ (dk * dl)
    ks, ls = kw - dk, lw - dl  # column sums of the resampled, zero-diagonal matrices, per original stimulus
    cross = (w * ks * ls).sum(1)
    value = trace + ((w * ks).sum(1) * (w * ls).sum(1)) / ((m - 1) * (m - 2)) - 2 * cross / (m - 2)
    return value / (m * (m - 3))


def _bootstrap_cka(a: np.ndarray, b: np.ndarray, kernel: str, debiased: bool, sigma: float | None,
                   weights: np.ndarray) -> np.ndarray:
    """CKA of every resample (rows of ``weights``, counts (B, n)) from Gram or distance matrices of all
    stimuli computed once: linear kernels (and rbf with a fixed ``sigma``) in a few (B, n) x (n, n) products;
    rbf with the median bandwidth re-evaluates the kernel per resample (its bandwidth changes)."""
    if kernel == "linear":
        ac, bc = a - a.mean(axis=0), b - b.mean(axis=0)
        k, l = ac @ ac.T, bc @ bc.T  # noqa: E741
        return _ratios(_hsic_terms(k, l, weights, debiased), _hsic_terms(k, k, weights, debiased),
                       _hsic_terms(l, l, weights, debiased))
    d2a, d2b = _sq_distances(a), _sq_distances(b)
    if sigma is not None:
        k, l = np.exp(-d2a / (2 * sigma**2)), np.exp(-d2b / (2 * sigma**2))  # noqa: E741
        return _ratios(_hsic_terms(k, l, weights, debiased), _hsic_terms(k, k, weights, debiased),
                       _hsic_terms(l, l, weights, debiased))
    sa, sb = _weighted_medians(d2a, weights), _weighted_medians(d2b, weights)
    if not ((sa > 0).all() and (sb > 0).all()):
        raise DataValidationError("rbf kernel bandwidth is zero (all stimuli have the same representation)")
    out = np.empty(len(weights))
    for r, w in enumerate(weights):
        k, l = np.exp(d2a * (-0.5 / sa[r] ** 2)), np.exp(d2b * (-0.5 / sb[r] ** 2))  # noqa: E741
        w1 = w[None]
        out[r] = _ratios(_hsic_terms(k, l, w1, debiased), _hsic_terms(k, k, w1, debiased),
                         _hsic_terms(l, l, w1, debiased))[0]
    return out


def _ratios(xy: np.ndarray, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    if not ((xx > 0).all() and (yy > 0).all()):
        raise DataValidationError("CKA is undefined for a representation that is constant over stimuli "
                                  "(or whose unbiased self-HSIC is not positive)")
    return xy / np.sqrt(xx * yy)


def cka(x, y, kernel: str = "linear", debiased: bool = False, sigma: float | None = None, n_boot: int = 100,
        seed: int = 0, ci_level: float = 0.95) -> Score:
    """CKA between two representations of the same stimuli (see the module docstring).

    ``x``, ``y``: DataArrays (stimulus, ...) matched by stimulus id, or arrays (stimulus, features).
    """
    if kernel not in ("linear", "rbf"):
        raise NeurosafeError(f"kernel must be 'linear' or 'rbf'; got {kernel!r}")
    a, b = paired_representations(x, y)
    if len(a) < 3:
        raise DataValidationError(f"CKA needs at least 3 stimuli; got {len(a)}")

    def value(a: np.ndarray, b: np.ndarray) -> float:
        if kernel == "linear" and not debiased:
            return _linear_biased(a, b)
        k, l = _gram(a, kernel, sigma), _gram(b, kernel, sigma)  # noqa: E741
        return _ratio(hsic(k, l, debiased), hsic(k, k, debiased), hsic(l, l, debiased))

    if len(a) <= _GRAM_LIMIT and n_boot > 0:
        values = _bootstrap_cka(a, b, kernel, debiased, sigma, bootstrap_weights(len(a), n_boot, seed))
    else:  # no resamples, or too many stimuli for n x n matrices: recompute each resample
        values = bootstrap_statistic(lambda idx: value(a[idx], b[idx]), len(a), n_boot, seed)
    params = {"kernel": kernel, "debiased": debiased, "sigma": sigma, "n_boot": n_boot}
    return Score.from_bootstrap(values,
                                len(a), ci_level, provenance=provenance("cka", params, data=b, seed=seed,
                                                                        n_stimuli=len(a)))
