"""Differentiable PyTorch twins of the alignment metrics, for training with neural regularizers.

Each function equals its numpy counterpart in ``neurosafe.metrics`` (tested to 1e-5 in float64) and has
gradients with respect to its inputs (checked with ``torch.autograd.gradcheck``):

- ``rdm`` (correlation, euclidean) and ``compare_rdms`` (pearson, cosine, spearman). Spearman uses soft
  ranks r_i = 1/2 + sum_j sigmoid((v_i - v_j) / temperature): as temperature -> 0 these become the exact
  average ranks (ties included), so the soft Spearman tends to the exact one; O(m^2) memory for m pairs.
  (A pairwise-sigmoid relaxation, as in Qin et al. 2010; Blondel et al. 2020 give an O(m log m) one.)
- ``cka`` (linear or rbf kernel, biased or debiased HSIC; Kornblith et al. 2019).
- ``ridge_predictivity``: closed-form ridge with one fixed alpha, fitted per fold on the training stimuli
  and scored by Pearson r per neuron on the held-out stimuli, averaged over folds (the same folds as the
  numpy ``ridge_predictivity`` for the same ``n_folds`` and ``seed``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.metrics.predictivity import stimulus_folds

__all__ = ["cka", "compare_rdms", "pearson", "rdm", "ridge_predictivity", "soft_rank"]


def _matrix(x: Tensor, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise NeurosafeError(f"{name} must be a torch.Tensor; got {type(x).__name__}")
    x = x.flatten(1) if x.ndim > 2 else x
    if x.ndim != 2 or len(x) < 3:
        raise DataValidationError(f"{name} must be (stimulus, features) with >= 3 stimuli; got {tuple(x.shape)}")
    return x


def rdm(x: Tensor, distance: str = "correlation", eps: float = 0.0) -> Tensor:
    """RDM (n, n) of patterns x (n, features): 1 - Pearson r, or squared Euclidean distance / n_features.

    ``eps`` > 0 is added to pattern norms so that a constant pattern (e.g. a silent layer during training)
    gives distance 1 instead of NaN; the default 0 is the exact metric.
    """
    x = _matrix(x, "patterns")
    if distance == "correlation":
        xc = x - x.mean(dim=1, keepdim=True)
        u = xc / (xc.norm(dim=1, keepdim=True) + eps)
        d = 1 - u @ u.T
    elif distance == "euclidean":
        sq = (x**2).sum(dim=1)
        d = (sq[:, None] + sq[None, :] - 2 * x @ x.T).clamp_min(0) / x.shape[1]
    else:
        raise NeurosafeError(f"distance must be 'correlation' or 'euclidean'; got {distance!r}")
    d = (d + d.T) / 2
    return d * (1 - torch.eye(len(d), dtype=d.dtype, device=d.device))


def soft_rank(v: Tensor, temperature: float = 1e-3) -> Tensor:
    """Soft ranks of a vector: 1/2 + sum_j sigmoid((v_i - v_j) / temperature) (exact average ranks as T -> 0)."""
    if temperature <= 0:
        raise NeurosafeError(f"temperature must be positive; got {temperature}")
    return 0.5 + torch.sigmoid((v[:, None] - v[None, :]) / temperature).sum(dim=1)


def pearson(a: Tensor, b: Tensor, dim: int = 0) -> Tensor:
    """Pearson correlation along ``dim``."""
    a = a - a.mean(dim=dim, keepdim=True)
    b = b - b.mean(dim=dim, keepdim=True)
    return (a * b).sum(dim=dim) / (a.norm(dim=dim) * b.norm(dim=dim))


def _upper(d: Tensor) -> Tensor:
    if d.ndim != 2 or d.shape[0] != d.shape[1] or len(d) < 3:
        raise DataValidationError(f"an RDM must be a square (n, n) tensor with n >= 3; got {tuple(d.shape)}")
    i, j = torch.triu_indices(len(d), len(d), offset=1, device=d.device)
    return d[i, j]


def compare_rdms(a: Tensor, b: Tensor, method: str = "pearson", temperature: float = 1e-3) -> Tensor:
    """Similarity of two RDMs (n, n) over their upper triangles: pearson, cosine or (soft) spearman."""
    va, vb = _upper(a), _upper(b)
    if va.shape != vb.shape:
        raise DataValidationError(f"RDMs over different numbers of stimuli: {tuple(a.shape)} and {tuple(b.shape)}")
    if method == "pearson":
        return pearson(va, vb)
    if method == "cosine":
        return (va * vb).sum() / (va.norm() * vb.norm())
    if method == "spearman":
        return pearson(soft_rank(va, temperature), soft_rank(vb, temperature))
    raise NeurosafeError(f"method must be 'pearson', 'cosine' or 'spearman'; got {method!r}")


def _gram(x: Tensor, kernel: str, sigma: float | None) -> Tensor:
    if kernel == "linear":
        return x @ x.T
    if kernel != "rbf":
        raise NeurosafeError(f"kernel must be 'linear' or 'rbf'; got {kernel!r}")
    sq = (x**2).sum(dim=1)
    d2 = (sq[:, None] + sq[None, :] - 2 * x @ x.T).clamp_min(0)
    if sigma is None:
        i, j = torch.triu_indices(len(x), len(x), offset=1, device=x.device)
        sigma = torch.quantile(torch.sqrt(d2[i, j]), 0.5)  # median pairwise distance, as numpy (differentiable)
    return torch.exp(-d2 / (2 * sigma**2))


def _hsic(k: Tensor, l: Tensor, debiased: bool) -> Tensor:  # noqa: E741
    n = len(k)
    if not debiased:
        kc = k - k.mean(dim=0, keepdim=True) - k.mean(dim=1, keepdim=True) + k.mean()
        return (kc * l).sum() / (n - 1) ** 2
    mask = 1 - torch.eye(n, dtype=k.dtype, device=k.device)
    k, l = k * mask, l * mask  # noqa: E741
    ks, ls = k.sum(dim=0), l.sum(dim=0)
    return ((k * l).sum() + ks.sum() * ls.sum() / ((n - 1) * (n - 2)) - 2 * ks @ ls / (n - 2)) / (n * (n - 3))


def cka(x: Tensor, y: Tensor, kernel: str = "linear", debiased: bool = False, sigma: float | None = None) -> Tensor:
    """CKA of two representations (n, p), (n, q) of the same stimuli; rbf sigma: median distance unless given."""
    x, y = _matrix(x, "x"), _matrix(y, "y")
    if len(x) != len(y):
        raise DataValidationError(f"x and y must cover the same stimuli; got {len(x)} and {len(y)} rows")
    if debiased and len(x) < 4:
        raise DataValidationError(f"the unbiased HSIC needs at least 4 stimuli; got {len(x)}")
    k, l = _gram(x, kernel, sigma), _gram(y, kernel, sigma)  # noqa: E741
    return _hsic(k, l, debiased) / torch.sqrt(_hsic(k, k, debiased) * _hsic(l, l, debiased))


def _ridge_fit_predict(x_train: Tensor, y_train: Tensor, x_test: Tensor, alpha: float) -> Tensor:
    xm, ym = x_train.mean(dim=0), y_train.mean(dim=0)
    xc, yc = x_train - xm, y_train - ym
    n, p = xc.shape
    eye = torch.eye(min(n, p), dtype=xc.dtype, device=xc.device)
    if n <= p:  # dual: W = Xc' (Xc Xc' + a I)^-1 Yc
        w = xc.T @ torch.linalg.solve(xc @ xc.T + alpha * eye, yc)
    else:
        w = torch.linalg.solve(xc.T @ xc + alpha * eye, xc.T @ yc)
    return ym + (x_test - xm) @ w


def ridge_predictivity(features: Tensor, targets: Tensor, alpha: float = 1.0,
                       folds: int | Sequence[np.ndarray] = 5, seed: int = 0) -> Tensor:
    """Per-neuron Pearson r (N,) of closed-form ridge predictions of ``targets`` (n, N), mean over folds.

    ``folds``: a number of folds (the numpy version's ``stimulus_folds(n, folds, seed)``) or a list of
    test-index arrays. Differentiable with respect to ``features`` and ``targets``; use e.g. ``.mean()``.
    """
    x = _matrix(features, "features")
    y = targets[:, None] if targets.ndim == 1 else targets
    if y.ndim != 2 or len(y) != len(x):
        raise DataValidationError(f"targets must be (stimulus, neuron) over the {len(x)} stimuli; got {tuple(y.shape)}")
    if alpha <= 0:
        raise NeurosafeError(f"alpha must be positive; got {alpha}")
    tests = stimulus_folds(len(x), folds, seed) if isinstance(folds, int) else [np.asarray(f) for f in folds]
    everything = np.arange(len(x))
    per_fold = []
    for test in tests:
        train = torch.as_tensor(np.setdiff1d(everything, test), device=x.device)
        test_t = torch.as_tensor(test, device=x.device)
        per_fold.append(pearson(_ridge_fit_predict(x[train], y[train], x[test_t], alpha), y[test_t], dim=0))
    return torch.stack(per_fold).mean(dim=0)
