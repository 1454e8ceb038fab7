"""Generalized shape metrics (Williams, Kunz, Kornblith & Linderman 2021, NeurIPS) and CCA similarity.

``shape_distance(x, y, alpha)``: both representations are centred and partially whitened,
Z = X (alpha I + (1 - alpha) X'X / n)^(-1/2), then aligned by the best orthogonal transform. alpha = 1 is
Procrustes shape (rotation-invariant), alpha = 0 whitens fully (CCA-like: invariant to any invertible
linear map). ``metric="angular"``: arccos(||Zx' Zy||_* / (||Zx||_F ||Zy||_F)), a metric on the sphere;
``"euclidean"``: min_Q ||Zx Q - Zy||_F / sqrt(n). Unequal widths are zero-padded (Williams et al. 2021).
Everything is computed from thin SVDs, so wide layers cost O(n^2 p). Directions with (near-)zero variance
are dropped before whitening (a pseudo-inverse), which matters only for alpha = 0 with p >= n.

``permutation_distance``: the same distances minimised over permutations of units instead of rotations
(the assignment problem, solved exactly with scipy's ``linear_sum_assignment``), on centred data.

``cca_similarity``: the mean canonical correlation (``"mean_corr"``) or mean squared canonical correlation
(``"mean_sq_corr"``, Yanai's GCD) over min(rank X, rank Y) components.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.metrics.bootstrap import bootstrap_statistic
from neurosafe.metrics.cka import paired_representations
from neurosafe.metrics.score import Score, provenance

__all__ = ["canonical_correlations", "cca_similarity", "permutation_distance", "shape_distance", "whiten"]

_METRICS = ("angular", "euclidean")


def _components(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thin SVD of the centred data, keeping singular values above 1e-10 of the largest: (U, s)."""
    u, s, _ = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    keep = s > 1e-10 * max(s.max(initial=0.0), 1e-300)
    if not keep.any():
        raise DataValidationError("a representation is constant over stimuli (no variance to compare)")
    return u[:, keep], s[keep]


def whiten(x: np.ndarray, alpha: float) -> np.ndarray:
    """Centred, partially whitened X, up to a right rotation: U diag(s (alpha + (1 - alpha) s^2 / n)^(-1/2))."""
    if not 0 <= alpha <= 1:
        raise NeurosafeError(f"alpha must lie in [0, 1]; got {alpha}")
    u, s = _components(x)
    return u * (s / np.sqrt(alpha + (1 - alpha) * s**2 / len(x)))


def _distance(zx: np.ndarray, zy: np.ndarray, overlap: float, metric: str) -> float:
    """Distance from the aligned inner product ``overlap`` = max over the group of <Zx Q, Zy>."""
    nx, ny = np.linalg.norm(zx), np.linalg.norm(zy)
    if metric == "angular":
        return float(np.arccos(np.clip(overlap / (nx * ny), -1.0, 1.0)))
    return float(np.sqrt(max(nx**2 + ny**2 - 2 * overlap, 0.0) / len(zx)))


def _check_metric(metric: str) -> None:
    if metric not in _METRICS:
        raise NeurosafeError(f"metric must be one of {_METRICS}; got {metric!r}")


def _shape(a: np.ndarray, b: np.ndarray, alpha: float, metric: str) -> float:
    zx, zy = whiten(a, alpha), whiten(b, alpha)
    return _distance(zx, zy, float(np.linalg.svd(zx.T @ zy, compute_uv=False).sum()), metric)


def _permutation(a: np.ndarray, b: np.ndarray, metric: str) -> float:
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    width = max(a.shape[1], b.shape[1])
    a = np.pad(a, ((0, 0), (0, width - a.shape[1])))
    b = np.pad(b, ((0, 0), (0, width - b.shape[1])))
    inner = a.T @ b
    rows, cols = linear_sum_assignment(inner, maximize=True)
    return _distance(a, b, float(inner[rows, cols].sum()), metric)


def _score(name: str, fn, x, y, params: dict, n_boot: int, seed: int, ci_level: float) -> Score:
    a, b = paired_representations(x, y)
    if len(a) < 3:
        raise DataValidationError(f"{name} needs at least 3 stimuli; got {len(a)}")
    values = bootstrap_statistic(lambda idx: fn(a[idx], b[idx]), len(a), n_boot, seed)
    values[0] = fn(a, b)  # the data as given (near-zero distances are sensitive to the arrays' memory layout)
    return Score.from_bootstrap(values, len(a), ci_level, higher_is_better=False,
                                provenance=provenance(name, params | {"n_boot": n_boot}, data=b, seed=seed,
                                                      n_stimuli=len(a)))


def shape_distance(x, y, alpha: float = 1.0, metric: str = "angular", n_boot: int = 100, seed: int = 0,
                   ci_level: float = 0.95) -> Score:
    """Generalized shape distance between two representations of the same stimuli (lower = more similar)."""
    _check_metric(metric)
    if not 0 <= alpha <= 1:
        raise NeurosafeError(f"alpha must lie in [0, 1]; got {alpha}")
    return _score("shape_distance", lambda a, b: _shape(a, b, alpha, metric), x, y,
                  {"alpha": alpha, "metric": metric}, n_boot, seed, ci_level)


def permutation_distance(x, y, metric: str = "angular", n_boot: int = 100, seed: int = 0,
                         ci_level: float = 0.95) -> Score:
    """Shape distance minimised over permutations of units (a one-to-one unit matching)."""
    _check_metric(metric)
    return _score("permutation_distance", lambda a, b: _permutation(a, b, metric), x, y,
                  {"metric": metric}, n_boot, seed, ci_level)


def canonical_correlations(x, y) -> np.ndarray:
    """Canonical correlations (descending) of two representations: singular values of Ux' Uy."""
    a, b = paired_representations(x, y)
    return np.clip(np.linalg.svd(_components(a)[0].T @ _components(b)[0], compute_uv=False), 0.0, 1.0)


def cca_similarity(x, y, summary: str = "mean_sq_corr") -> float:
    """Mean (squared) canonical correlation over min(rank X, rank Y) pairs ("mean_corr" / "mean_sq_corr")."""
    rho = canonical_correlations(x, y)
    if summary == "mean_corr":
        return float(rho.mean())
    if summary == "mean_sq_corr":
        return float((rho**2).mean())
    raise NeurosafeError(f"summary must be 'mean_corr' or 'mean_sq_corr'; got {summary!r}")
