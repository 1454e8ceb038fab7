"""Generalized shape metrics (Williams, Kunz, Kornblith & Linderman 2021, NeurIPS) and CCA similarity.

``shape_distance(x, y, alpha)``: both representations are centred and partially whitened,
Z = X (alpha I + (1 - alpha) X'X / n)^(-1/2), then aligned by the best orthogonal transform. alpha = 1 is
Procrustes shape (rotation-invariant), alpha = 0 whitens fully (CCA-like: invariant to any invertible
linear map). ``metric="angular"``: arccos(||Zx' Zy||_* / (||Zx||_F ||Zy||_F)), a metric on the sphere;
``"euclidean"``: min_Q ||Zx Q - Zy||_F / sqrt(n). Unequal widths are zero-padded (Williams et al. 2021).
Everything is computed from thin SVDs, so wide layers cost O(n^2 p). Directions with (near-)zero variance
are dropped before whitening (a pseudo-inverse), which matters only for alpha = 0 with p >= n.
``LinearShapeMetric`` is the same metric as an estimator, as in netrep: ``fit`` on training stimuli learns
the means, whitening and rotation, ``score`` gives the distance on held-out stimuli (an in-sample
distance is biased low, because the alignment is fitted to the noise too); ``shape_distance`` is its
in-sample ``fit(x, y).score(x, y)``.

``permutation_distance``: the same distances minimised over permutations of units instead of rotations
(the assignment problem, solved exactly with scipy's ``linear_sum_assignment``), on centred data.

``cca_similarity``: the mean canonical correlation (``"mean_corr"``) or mean squared canonical correlation
(``"mean_sq_corr"``, Yanai's GCD) over min(rank X, rank Y) components.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_array, check_is_fitted

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.metrics.bootstrap import bootstrap_statistic
from neurosafe.metrics.cka import paired_representations
from neurosafe.metrics.score import Score, provenance

__all__ = [
    "LinearShapeMetric", "canonical_correlations", "cca_similarity", "permutation_distance", "shape_distance", "whiten",
]

_METRICS = ("angular", "euclidean")


def _svd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean and thin SVD of the centred data, keeping singular values above 1e-10 of the largest:
    (mean, U, s, V) with X - mean = U diag(s) V'."""
    mean = x.mean(axis=0)
    u, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    keep = s > 1e-10 * max(s.max(initial=0.0), 1e-300)
    if not keep.any():
        raise DataValidationError("a representation is constant over stimuli (no variance to compare)")
    return mean, u[:, keep], s[keep], vt[keep].T


def _check(metric: str, alpha: float = 1.0) -> None:
    if metric not in _METRICS:
        raise NeurosafeError(f"metric must be one of {_METRICS}; got {metric!r}")
    if not 0 <= alpha <= 1:
        raise NeurosafeError(f"alpha must lie in [0, 1]; got {alpha}")


def _whitening(x: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, W, Z): the partial whitening (alpha I + (1 - alpha) C)^(-1/2) of the centred data restricted to
    the data's principal axes, as a (p, r) map W = V diag(d), and the whitened data Z = (X - mean) W."""
    mean, u, s, v = _svd(x)
    d = 1 / np.sqrt(alpha + (1 - alpha) * s**2 / len(x))
    return mean, v * d, u * (s * d)


def whiten(x: np.ndarray, alpha: float) -> np.ndarray:
    """Centred, partially whitened X, up to a right rotation: U diag(s (alpha + (1 - alpha) s^2 / n)^(-1/2))."""
    _check("angular", alpha)
    return _whitening(np.asarray(x, dtype=np.float64), alpha)[2]


def _distance(zx: np.ndarray, zy: np.ndarray, overlap: float, metric: str) -> float:
    """Distance from the aligned inner product ``overlap`` = max over the group of <Zx Q, Zy>."""
    nx, ny = np.linalg.norm(zx), np.linalg.norm(zy)
    if metric == "angular":
        return float(np.arccos(np.clip(overlap / (nx * ny), -1.0, 1.0)))
    return float(np.sqrt(max(nx**2 + ny**2 - 2 * overlap, 0.0) / len(zx)))


def _pad(a: np.ndarray, width: int) -> np.ndarray:
    return np.pad(a, ((0, 0), (0, width - a.shape[1])))


class LinearShapeMetric(BaseEstimator):
    """A generalized shape metric as an estimator (Williams et al. 2021; the ``LinearMetric`` of netrep):
    ``fit(X_train, Y_train)`` learns the alignment, ``score(X_test, Y_test)`` is the distance on held-out
    stimuli (lower = more similar), ``fit(X, Y).score(X, Y)`` the in-sample distance of ``shape_distance``.

    ``fit`` learns each representation's mean and partial whitening, (alpha I + (1 - alpha) C)^(-1/2) with
    C the training covariance (alpha = 1: rotations only; alpha = 0: any invertible linear map), restricted
    to the principal axes of the training data (held-out responses outside them are dropped: no alignment
    is learnable there), then the orthogonal Procrustes rotation of the whitened training data (the
    narrower side zero-padded). ``score_method``: ``"angular"`` (arccos of the normalised inner product of
    the aligned data, a metric on the sphere) or ``"euclidean"`` (RMS over stimuli of the aligned
    difference, ||Tx - Ty||_F / sqrt(n)). After ``fit``: ``mean_x_``, ``mean_y_`` and the maps into the
    shared aligned space ``map_x_`` (p_x, r), ``map_y_`` (p_y, r).
    """

    def __init__(self, alpha: float = 1.0, score_method: str = "angular"):
        self.alpha = alpha
        self.score_method = score_method

    @staticmethod
    def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
        x, y = (check_array(a, dtype=np.float64, ensure_min_samples=2) for a in (x, y))
        if len(x) != len(y):
            raise DataValidationError(f"X and Y must hold the same stimuli; got {len(x)} and {len(y)} rows")
        return x, y

    def fit(self, X, Y) -> LinearShapeMetric:
        _check(self.score_method, self.alpha)
        x, y = self._pair(X, Y)
        self.mean_x_, wx, zx = _whitening(x, self.alpha)
        self.mean_y_, wy, zy = _whitening(y, self.alpha)
        r = max(zx.shape[1], zy.shape[1])
        u, _, vt = np.linalg.svd(_pad(zx, r).T @ _pad(zy, r))
        self.map_x_, self.map_y_ = _pad(wx, r) @ u, _pad(wy, r) @ vt.T
        return self

    def transform(self, X, Y) -> tuple[np.ndarray, np.ndarray]:
        """Both representations in the shared aligned space: (X - mean_x_) map_x_, (Y - mean_y_) map_y_."""
        check_is_fitted(self)
        x, y = self._pair(X, Y)
        if x.shape[1] != len(self.map_x_) or y.shape[1] != len(self.map_y_):
            raise DataValidationError(f"fitted on {len(self.map_x_)} and {len(self.map_y_)} units; "
                                      f"got {x.shape[1]} and {y.shape[1]}")
        return (x - self.mean_x_) @ self.map_x_, (y - self.mean_y_) @ self.map_y_

    def score(self, X, Y) -> float:
        """The distance between X and Y (same stimuli, e.g. held out) under the fitted alignment."""
        tx, ty = self.transform(X, Y)
        return _distance(tx, ty, float(np.sum(tx * ty)), self.score_method)


def _permutation(a: np.ndarray, b: np.ndarray, metric: str) -> float:
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    width = max(a.shape[1], b.shape[1])
    a, b = _pad(a, width), _pad(b, width)
    inner = a.T @ b
    rows, cols = linear_sum_assignment(inner, maximize=True)
    return _distance(a, b, float(inner[rows, cols].sum()), metric)


def _score(name: str, fn, x, y, params: dict, n_boot: int, seed: int, ci_level: float) -> Score:
    a, b = paired_representations(x, y)
    if len(a) < 3:
        raise DataValidationError(f"{name} needs at least 3 stimuli; got {len(a)}")
    values = bootstrap_statistic(lambda idx: fn(a[idx], b[idx]), len(a), n_boot, seed)
    values[0] = fn(a, b)  # the data as given (near-zero distances are sensitive to the arrays' memory layout)
    # fitted alignments make in-sample distances biased low, more so on resamples (fewer distinct stimuli),
    # so the plug-in lies at or above its percentile CI: bias-correct (Efron & Tibshirani 1993, 10.6)
    return Score.from_bootstrap(values, len(a), ci_level, method="bias_corrected", higher_is_better=False,
                                provenance=provenance(name, params | {"n_boot": n_boot}, data=b, seed=seed,
                                                      n_stimuli=len(a)))


def shape_distance(x, y, alpha: float = 1.0, metric: str = "angular", n_boot: int = 100, seed: int = 0,
                   ci_level: float = 0.95) -> Score:
    """Generalized shape distance between two representations of the same stimuli (lower = more similar),
    in-sample: ``LinearShapeMetric(alpha, metric).fit(x, y).score(x, y)``; for held-out stimuli use the
    estimator."""
    _check(metric, alpha)
    shape = LinearShapeMetric(alpha, metric)
    return _score("shape_distance", lambda a, b: shape.fit(a, b).score(a, b), x, y,
                  {"alpha": alpha, "metric": metric}, n_boot, seed, ci_level)


def permutation_distance(x, y, metric: str = "angular", n_boot: int = 100, seed: int = 0,
                         ci_level: float = 0.95) -> Score:
    """Shape distance minimised over permutations of units (a one-to-one unit matching)."""
    _check(metric)
    return _score("permutation_distance", lambda a, b: _permutation(a, b, metric), x, y,
                  {"metric": metric}, n_boot, seed, ci_level)


def canonical_correlations(x, y) -> np.ndarray:
    """Canonical correlations (descending) of two representations: singular values of Ux' Uy."""
    a, b = paired_representations(x, y)
    return np.clip(np.linalg.svd(_svd(a)[1].T @ _svd(b)[1], compute_uv=False), 0.0, 1.0)


def cca_similarity(x, y, summary: str = "mean_sq_corr") -> float:
    """Mean (squared) canonical correlation over min(rank X, rank Y) pairs ("mean_corr" / "mean_sq_corr")."""
    if summary not in ("mean_corr", "mean_sq_corr"):
        raise NeurosafeError(f"summary must be 'mean_corr' or 'mean_sq_corr'; got {summary!r}")
    rho = canonical_correlations(x, y)
    return float((rho if summary == "mean_corr" else rho**2).mean())
