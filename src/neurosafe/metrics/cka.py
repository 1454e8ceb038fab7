"""Centred kernel alignment (Kornblith et al. 2019, ICML): HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)).

``kernel="linear"`` uses K = X X' (computed from the d x d cross-covariances when that is cheaper);
``kernel="rbf"`` uses K = exp(-d^2 / (2 sigma^2)) with sigma the median pairwise Euclidean distance unless
given. ``debiased=True`` replaces the biased HSIC estimator (Gretton et al. 2005) by the unbiased one of
Song et al. (2012), as in Nguyen et al. (2021) / Kornblith's debiased CKA. The CI is a percentile bootstrap
over stimuli (a resampled stimulus appears as several rows, which biases the unbiased estimator slightly).

Speed: up to ``_GRAM_LIMIT`` stimuli the Gram (linear) or distance (rbf) matrices of all stimuli are
computed once and every bootstrap resample takes its rows and columns by index (a resampled Gram matrix is
the Gram matrix of the resampled rows; the rbf bandwidth is still the median distance of each resample),
so a resample costs O(n^2) instead of O(n^2 d).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.spatial.distance import pdist, squareform

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.metrics.bootstrap import bootstrap_statistic
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
    d = squareform(pdist(x))
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
        return _ratio(hsic(a @ a.T, b @ b.T), hsic(a @ a.T, a @ a.T), hsic(b @ b.T, b @ b.T))
    cross = np.linalg.norm(a.T @ b) ** 2
    return _ratio(cross, np.linalg.norm(a.T @ a) ** 2, np.linalg.norm(b.T @ b) ** 2)


def _ratio(xy: float, xx: float, yy: float) -> float:
    if not (xx > 0 and yy > 0):
        raise DataValidationError("CKA is undefined for a representation that is constant over stimuli "
                                  "(or whose unbiased self-HSIC is not positive)")
    return xy / np.sqrt(xx * yy)


def _indexed_statistic(a: np.ndarray, b: np.ndarray, kernel: str, debiased: bool, sigma: float | None):
    """CKA of the resample ``idx`` from matrices over all stimuli computed once (see the module docstring)."""
    if kernel == "linear":
        ac, bc = a - a.mean(axis=0), b - b.mean(axis=0)
        full = (ac @ ac.T, bc @ bc.T)

        def grams(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return full[0][np.ix_(idx, idx)], full[1][np.ix_(idx, idx)]
    else:
        dists = (squareform(pdist(a)), squareform(pdist(b)))

        def grams(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            out = []
            for d in dists:
                d = d[np.ix_(idx, idx)]
                s = float(np.median(d[np.triu_indices(len(idx), k=1)])) if sigma is None else sigma
                if not s > 0:
                    raise DataValidationError("rbf kernel bandwidth is zero (all stimuli have the same representation)")
                out.append(np.exp(-(d**2) / (2 * s**2)))
            return out[0], out[1]

    def statistic(idx: np.ndarray) -> float:
        k, l = grams(idx)  # noqa: E741
        if debiased:
            return _ratio(hsic(k, l, True), hsic(k, k, True), hsic(l, l, True))
        kc = k - k.mean(axis=0) - k.mean(axis=1, keepdims=True) + k.mean()
        lc = l - l.mean(axis=0) - l.mean(axis=1, keepdims=True) + l.mean()
        return _ratio(float((kc * l).sum()), float((kc * k).sum()), float((lc * l).sum()))

    return statistic


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

    statistic = lambda idx: value(a[idx], b[idx])  # noqa: E731
    if len(a) <= _GRAM_LIMIT and n_boot > 0:
        statistic = _indexed_statistic(a, b, kernel, debiased, sigma)
    params = {"kernel": kernel, "debiased": debiased, "sigma": sigma, "n_boot": n_boot}
    return Score.from_bootstrap(bootstrap_statistic(statistic, len(a), n_boot, seed),
                                len(a), ci_level, provenance=provenance("cka", params, data=b, seed=seed,
                                                                        n_stimuli=len(a)))
