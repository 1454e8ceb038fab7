"""Two-sample tests: can anything tell sample ``x`` (e.g. an animal's behaviour) from sample ``y`` (its twin's)?

The embodied Turing test (Zador et al. 2023) made operational:

- :func:`c2st`, the classifier two-sample test (Lopez-Paz & Oquab 2017, "Revisiting classifier two-sample
  tests", ICLR): a classifier is trained to tell rows of ``x`` from rows of ``y`` on one part of the data and
  scored on the held-out rest. The statistic is the held-out balanced accuracy (the mean of the two classes'
  accuracies; the plain accuracy when the held-out parts are the same size), 0.5 when the samples are
  indistinguishable. The p-value permutes the *held-out* labels against the trained classifier's predictions:
  under the null the held-out rows are exchangeable and independent of the training rows, so the test is
  exact at any sample size (no refit per permutation, unlike a cross-validated permutation test).
  Simplification: one random split (``test_fraction``), not the paper's normal approximation.
- :func:`mmd`, the kernel two-sample test (Gretton et al. 2012, JMLR 13:723): the unbiased estimate of the
  squared maximum mean discrepancy with a Gaussian kernel (bandwidth: the median pairwise distance of the
  pooled sample, Gretton et al.'s median heuristic), features standardised with the pooled mean and
  standard deviation (both permutation-invariant, so the permutation test stays exact), p-value from
  permutations of the pooled rows.

Both report, per feature, the AUROC of that feature alone for telling ``x`` from ``y`` (held-out rows for the
C2ST, all rows for MMD): values far from 0.5 name the features that give a twin away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import rankdata

from neurosafe.core.errors import DataValidationError
from neurosafe.core.seeds import make_rng
from neurosafe.metrics.bootstrap import bootstrap_weights, percentile_ci

__all__ = ["TwoSampleTest", "c2st", "mmd"]


@dataclass(frozen=True)
class TwoSampleTest:
    """Result of a two-sample test: the statistic, its CI (None where not defined), the permutation p-value
    ``(1 + #{null >= statistic}) / (1 + n_perm)``, the sample sizes and the permutation null."""

    method: str
    statistic: float
    ci: tuple[float, float] | None
    p_value: float
    n_x: int
    n_y: int
    null: np.ndarray = field(repr=False)
    feature_auroc: np.ndarray = field(repr=False)

    def indistinguishable(self, alpha: float = 0.05) -> bool:
        """True when the test does not reject "same distribution" at level ``alpha``."""
        return bool(self.p_value >= alpha)

    def giveaways(self, names: list[str] | None = None, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` features whose AUROC lies farthest from 0.5, as (name, AUROC)."""
        names = names if names is not None else [str(i) for i in range(len(self.feature_auroc))]
        if len(names) != len(self.feature_auroc):
            raise DataValidationError(f"{len(names)} feature names for {len(self.feature_auroc)} features")
        order = np.argsort(-np.abs(self.feature_auroc - 0.5), kind="stable")[:k]
        return [(names[i], float(self.feature_auroc[i])) for i in order]

    def verdict(self, alpha: float = 0.05, names: list[str] | None = None) -> str:
        """One sentence: indistinguishable at these sample sizes, or which features give ``y`` away."""
        if self.indistinguishable(alpha):
            return (f"indistinguishable at n = {self.n_x} + {self.n_y} ({self.method} {self.statistic:.3f}, "
                    f"p = {self.p_value:.3g})")
        top = ", ".join(f"{name} (AUROC {a:.2f})" for name, a in self.giveaways(names, k=3))
        return f"distinguishable ({self.method} {self.statistic:.3f}, p = {self.p_value:.3g}); given away by {top}"

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "statistic": self.statistic, "ci": list(self.ci) if self.ci else None,
                "p_value": self.p_value, "n_x": self.n_x, "n_y": self.n_y, "n_perm": len(self.null),
                "feature_auroc": [float(a) for a in self.feature_auroc]}


def _samples(x: Any, y: Any, min_rows: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    y = y[:, None] if y.ndim == 1 else y
    if x.ndim != 2 or y.ndim != 2:
        raise DataValidationError(f"two-sample tests need (samples, features) arrays; got {x.ndim}-D and {y.ndim}-D")
    if x.shape[1] != y.shape[1]:
        raise DataValidationError(f"the samples have different feature counts: {x.shape[1]} and {y.shape[1]}")
    if min(len(x), len(y)) < min_rows:
        raise DataValidationError(f"each sample needs at least {min_rows} rows; got {len(x)} and {len(y)}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise DataValidationError("two-sample test features must be finite (no NaN or inf)")
    return x, y


def _check_perm(n_perm: int) -> None:
    if int(n_perm) < 1:
        raise DataValidationError(f"n_perm must be a positive integer; got {n_perm}")


def _feature_auroc(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-column AUROC of ``values`` for ``labels`` (1 = x): Mann-Whitney U / (n1 n0), ties count 1/2."""
    ranks = rankdata(values, axis=0)
    n1 = labels.sum()
    n0 = len(labels) - n1
    return (ranks[labels == 1].sum(axis=0) - n1 * (n1 + 1) / 2) / (n1 * n0)


def _p_value(statistic: float, null: np.ndarray) -> float:
    return float((1 + np.sum(null >= statistic - 1e-12)) / (1 + len(null)))


def _default_classifier():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def c2st(x: Any, y: Any, *, seed: int | None = 0, test_fraction: float = 0.5, n_perm: int = 1000,
         classifier: Any = None, n_boot: int = 1000, level: float = 0.95) -> TwoSampleTest:
    """Classifier two-sample test of ``x`` (rows: samples) against ``y``; see the module docstring.

    ``classifier``: any scikit-learn classifier (cloned before fitting); default standardisation + logistic
    regression. The split is stratified (``test_fraction`` of each sample held out); the CI is a percentile
    bootstrap over held-out rows.
    """
    from sklearn.base import clone

    x, y = _samples(x, y, min_rows=4)
    if not 0 < test_fraction < 1:
        raise DataValidationError(f"test_fraction must lie in (0, 1); got {test_fraction}")
    _check_perm(n_perm)
    rng = make_rng(seed, "c2st", "split")
    test_rows = []
    for n in (len(x), len(y)):
        k = min(max(round(test_fraction * n), 1), n - 1)
        held = np.zeros(n, dtype=bool)
        held[rng.permutation(n)[:k]] = True
        test_rows.append(held)
    data = np.vstack([x, y])
    labels = np.r_[np.ones(len(x), dtype=int), np.zeros(len(y), dtype=int)]
    held = np.r_[test_rows[0], test_rows[1]]
    model = clone(classifier) if classifier is not None else _default_classifier()
    model.fit(data[~held], labels[~held])
    pred = np.asarray(model.predict(data[held])).astype(int)
    truth = labels[held]

    def balanced(lab: np.ndarray) -> np.ndarray:
        """Balanced accuracy of ``pred`` against each row of label vectors ``lab`` (P, n_test)."""
        hit = lab == pred
        pos = lab == 1
        return 0.5 * ((hit & pos).sum(-1) / pos.sum(-1) + (hit & ~pos).sum(-1) / (~pos).sum(-1))

    statistic = float(balanced(truth[None])[0])
    perm_rng = make_rng(seed, "c2st", "permutation")
    null = balanced(perm_rng.permuted(np.tile(truth, (int(n_perm), 1)), axis=1))
    w = bootstrap_weights(len(truth), n_boot, seed, "c2st")[1:]
    hit = (truth == pred).astype(float)
    pos = (truth == 1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        reps = 0.5 * (w @ (hit * pos) / (w @ pos) + w @ (hit * (1 - pos)) / (w @ (1 - pos)))
    return TwoSampleTest("c2st", statistic, percentile_ci(reps, level), _p_value(statistic, null),
                         len(x), len(y), null, _feature_auroc(data[held], truth))


def _mmd2_unbiased(k0: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Unbiased MMD^2 for each row of group indicators ``z`` (P, N; 1 = x) from the Gram matrix with a zero
    diagonal ``k0``: mean within-x + mean within-y (off-diagonal) - 2 mean cross."""
    m = z.sum(1)
    n = z.shape[1] - m
    kz = z @ k0
    kn = (1 - z) @ k0
    sxx = (kz * z).sum(1)
    syy = (kn * (1 - z)).sum(1)
    sxy = (kz * (1 - z)).sum(1)
    return sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2 * sxy / (m * n)


def mmd(x: Any, y: Any, *, seed: int | None = 0, n_perm: int = 1000, bandwidth: float | None = None,
        standardize: bool = True) -> TwoSampleTest:
    """Kernel two-sample test of ``x`` against ``y`` (unbiased MMD^2, Gaussian kernel); see the module docstring.

    ``bandwidth``: the kernel's length scale sigma in k(a, b) = exp(-|a - b|^2 / (2 sigma^2)); default the
    median pairwise distance of the pooled (standardised) rows.
    """
    x, y = _samples(x, y, min_rows=2)
    _check_perm(n_perm)
    if bandwidth is not None and not (np.isfinite(bandwidth) and bandwidth > 0):
        raise DataValidationError(f"bandwidth must be a positive number; got {bandwidth}")
    data = np.vstack([x, y])
    if standardize:
        sd = data.std(0)
        data = (data - data.mean(0)) / np.where(sd > 0, sd, 1.0)
    norms = (data**2).sum(1)
    sq = np.maximum(norms[:, None] + norms[None, :] - 2 * data @ data.T, 0.0)
    if bandwidth is None:
        off = sq[np.triu_indices(len(data), 1)]
        positive = off[off > 0]
        bandwidth = float(np.sqrt(np.median(positive))) if len(positive) else 1.0
    k0 = np.exp(-sq / (2 * bandwidth**2))
    np.fill_diagonal(k0, 0.0)
    labels = np.r_[np.ones(len(x)), np.zeros(len(y))]
    statistic = float(_mmd2_unbiased(k0, labels[None])[0])
    rng = make_rng(seed, "mmd", "permutation")
    null = _mmd2_unbiased(k0, rng.permuted(np.tile(labels, (int(n_perm), 1)), axis=1))
    return TwoSampleTest("mmd", statistic, None, _p_value(statistic, null), len(x), len(y), null,
                         _feature_auroc(np.vstack([x, y]), labels.astype(int)))
