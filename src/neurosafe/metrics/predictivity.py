"""Neural predictivity: cross-validated linear maps from model features to each neuron (Yamins et al. 2014;
Schrimpf et al. 2018 Brain-Score), scored by Pearson r on held-out stimuli and ceiled by the data's reliability.

Ridge (``RidgeCVMapping``): per-neuron regularization picked from an alpha grid, by exact leave-one-out
(Allen 1974; the ``RidgeCV`` criterion of scikit-learn) or by inner K-fold CV (mean fold MSE, as
``GridSearchCV``), with every alpha and every neuron solved from one eigendecomposition of the centred Gram
(n <= p) or covariance (p < n) matrix per training set (the trick behind himalaya, Dupré la Tour et al.
2022); with n <= p all outer and inner folds take their centred Gram blocks from one Gram matrix of all
stimuli, so the O(n^2 p) product is paid once. The intercept is unpenalized. PLS regression
(``PLSMapping``, 25 components, unscaled, as Brain-Score) is the alternative mapping.

``ridge_predictivity`` runs K-fold CV over stimuli (optionally grouped or stratified by a stimulus
coordinate) and correlates each fold's held-out predictions with the repeat-averaged responses, averaging
Pearson r over folds (as Brain-Score; correlating predictions pooled over folds would be biased negative,
because each fold's training mean moves against its held-out responses). The ceiling of a neuron is
:func:`~neurosafe.metrics.reliability.correlation_ceiling`, sqrt(split-half reliability, Spearman-Brown
corrected): the expected correlation of the noise-free response with the repeat average (Spearman 1904;
Hsu et al. 2004; Schoppe et al. 2016), so a perfect model scores ~1. The CI is a percentile bootstrap over
stimuli of the median r (:mod:`neurosafe.metrics.bootstrap`; stimuli resampled within the held-out folds,
the mappings not refitted per bootstrap sample). Fold-wise r is biased low under resampling (influential
stimuli among a fold's few), so the median is bias-corrected (:func:`~neurosafe.metrics.bootstrap.bias_corrected`;
with ``n_boot=0`` the plug-in median), which keeps it inside its CI.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import scipy.linalg
import xarray as xr
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.cross_decomposition import PLSRegression
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold
from sklearn.utils.validation import check_is_fitted, validate_data

from neurosafe.core.errors import DataValidationError, NeurosafeError
from neurosafe.data.recording import validate_responses
from neurosafe.data.stimuli import format_ids
from neurosafe.metrics.bootstrap import bootstrap_weights, weighted_pearson
from neurosafe.metrics.reliability import correlation_ceiling
from neurosafe.metrics.score import Score, provenance

__all__ = [
    "DEFAULT_ALPHAS", "PLSMapping", "RidgeCVMapping", "align_features", "cross_validated_predictions",
    "ridge_predictivity", "stimulus_folds",
]

DEFAULT_ALPHAS = tuple(np.logspace(-3, 7, 11))


def stimulus_folds(n_stimuli: int, n_folds: int = 5, seed: int = 0, groups: np.ndarray | None = None,
                   stratify: np.ndarray | None = None) -> list[np.ndarray]:
    """Test-index arrays of K folds over stimuli: shuffled KFold, GroupKFold (``groups``: stimuli sharing a
    label stay together; group order shuffled by ``seed``) or StratifiedKFold (``stratify`` labels)."""
    if n_folds < 2:
        raise NeurosafeError(f"n_folds must be >= 2; got {n_folds}")
    if n_stimuli < n_folds:
        raise DataValidationError(f"fewer stimuli ({n_stimuli}) than cross-validation folds ({n_folds})")
    if groups is not None and stratify is not None:
        raise NeurosafeError("give either groups or stratify, not both")
    dummy = np.zeros((n_stimuli, 1))
    if groups is not None:
        labels, codes = np.unique(np.asarray(groups).astype(str), return_inverse=True)
        if len(labels) < n_folds:
            raise DataValidationError(f"{len(labels)} stimulus groups cannot fill {n_folds} folds")
        shuffled = np.random.default_rng(seed).permutation(len(labels))[codes]
        splits = GroupKFold(n_folds).split(dummy, groups=shuffled)
    elif stratify is not None:
        splits = StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(dummy, np.asarray(stratify))
    else:
        splits = KFold(n_folds, shuffle=True, random_state=seed).split(dummy)
    return [np.sort(test) for _, test in splits]


_PRECISIONS = ("float32", "float64")
_F32_CONDITION = 1e3  # float32 decompositions are kept only when s_max / s_min <= this (else redone in float64)


def _eigh(m: np.ndarray, precision: str) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (float64) and eigenvectors of a symmetric matrix: LAPACK's divide-and-conquer ``syevd``,
    in float32 when asked and the spectrum's condition number is at most ``_F32_CONDITION`` (float32's
    relative error on the smallest eigenvalue is then ~1e-4 or less), else in float64."""
    if precision == "float32":
        s, u = scipy.linalg.eigh(m.astype(np.float32), driver="evd", check_finite=False)
        top = float(np.abs(s).max(initial=0.0))
        if top > 0 and s.min() > top / _F32_CONDITION:
            return s.astype(np.float64), u
    return scipy.linalg.eigh(m, driver="evd", check_finite=False)


class _LinearKernel:
    """Centred linear-kernel algebra on subsets of a fixed set of stimuli.

    With at most as many stimuli as features the raw Gram matrix is computed once and every training set's
    centred Gram (and every test set's cross-Gram) is a double-centred block of it, so outer and inner
    folds share one O(n^2 p) product; with more stimuli than features each training set's covariance is used.
    ``precision="float32"``: the eigendecompositions (and the products of :func:`_loo_mse`) in float32 when
    the spectrum is well conditioned (:func:`_eigh`); the Gram matrix and its centring stay float64.
    """

    def __init__(self, x: np.ndarray, precision: str = "float64"):
        self.x = x - x.mean(axis=0)  # any constant shift cancels below; this one avoids cancellation
        self.gram = self.x @ self.x.T if x.shape[0] <= x.shape[1] else None
        self.precision = precision

    def decompose(self, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(U, s): eigenvectors (orthogonal to the constant vector; float32 or float64) and positive
        eigenvalues (float64) of the training set's centred Gram matrix."""
        if self.gram is not None:
            # the constant vector spans the centred Gram's null space. A Householder reflection H with
            # H 1/sqrt(n) = e_1 (v = 1/sqrt(n) - e_1) gives H P K P H = [[0, 0], [0, B]] (P: centring), and
            # B = (H K H)[1:, 1:] = K[1:, 1:] - r 1' - 1 r' + gamma needs no separate centring; only B
            # (n-1 x n-1) is decomposed, and U = H [0; W] lies in the centred space exactly (no near-zero
            # eigenvalue to tell apart from real ones in float32)
            n = len(train)
            g = self.gram[np.ix_(train, train)]
            a, v0 = 1 / np.sqrt(n), 1 / np.sqrt(n) - 1.0
            c = 2.0 / (v0**2 + (n - 1) * a**2)
            kv = a * g.sum(axis=1) + (v0 - a) * g[:, 0]  # K v
            vkv = v0 * kv[0] + a * kv[1:].sum()
            r = c * a * kv[1:]
            b = g[1:, 1:]
            b -= r[:, None]
            b -= r[None, :]
            b += c * c * a * a * vkv
            s, w = _eigh(b, self.precision)
            col = (c * a) * w.sum(axis=0, dtype=np.float64)  # c (v[1:] . W)
            u = np.empty((n, w.shape[1]), dtype=w.dtype)
            u[0] = -v0 * col
            np.subtract(w, (a * col).astype(w.dtype), out=u[1:])
        else:
            xc = self.x[train] - self.x[train].mean(axis=0)
            s, v = _eigh(xc.T @ xc, self.precision)
            keep = s > 1e-12 * max(s.max(initial=0.0), 1e-300)
            s, v = s[keep], v[:, keep]
            return ((xc @ v.astype(np.float64)) / np.sqrt(s)).astype(v.dtype), s
        keep = s > 1e-12 * max(s.max(initial=0.0), 1e-300)
        return u[:, keep], s[keep]

    def project(self, test: np.ndarray, train: np.ndarray, u: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Test stimuli in the training components: (X_test - mean) V, with Xc = U diag(sqrt(s)) V'."""
        if self.gram is not None:
            row = self.gram[np.ix_(train, train)].mean(axis=1)
            cross = self.gram[np.ix_(test, train)]
            centred = cross - cross.mean(axis=1, keepdims=True) - row[None, :] + row.mean()
            centred = centred.astype(u.dtype, copy=False)
            return centred @ (u / np.sqrt(s).astype(u.dtype))  # in the eigenvectors' dtype, as z = U' y
        mean = self.x[train].mean(axis=0)
        return (self.x[test] - mean) @ self.loadings(train, u, s, np.eye(len(s)))

    def loadings(self, train: np.ndarray, u: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
        """V @ w (p, N) for component weights w (k, N), with V = Xc' U diag(1/sqrt(s))."""
        xc = self.x[train] - self.x[train].mean(axis=0)
        return xc.T @ (u @ (w / np.sqrt(s)[:, None]))


def _loo_mse(u: np.ndarray, s: np.ndarray, yc: np.ndarray, z: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """Exact leave-one-out MSE (n_alphas, N): residual_i / (1 - H_ii), H = 11'/n + U diag(s/(s+a)) U'.

    With g = a / (s + a), the residual is U diag(g) z (z = U' yc) and 1 - H_ii = sum_k U_ik^2 g_k, plus the
    parts outside the components (yc - U z and 1 - 1/n - sum_k U_ik^2) when U spans less than the n - 1
    centred dimensions: no 1 - (1 - small) cancellation at small alphas, so the products can run in the
    eigenvectors' dtype (float32 in float32 mode); leverages are float64.
    """
    n = len(yc)
    u2 = np.square(u, dtype=np.float64)
    full = u.shape[1] == n - 1  # U spans the centred space: nothing outside the components
    outside = 0.0 if full else yc - u.astype(np.float64) @ z.astype(np.float64)
    lev_outside = 0.0 if full else np.maximum(1.0 - 1.0 / n - u2.sum(axis=1), 0.0)[:, None]
    g = alphas[:, None] / (s[None, :] + alphas[:, None])  # (n_alphas, k)
    inv_leverage = (1.0 / (u2 @ g.T + lev_outside)).astype(u.dtype)  # (n, n_alphas): U^2 read once
    out = np.empty((len(alphas), yc.shape[1]))
    gz, loo = np.empty(z.shape, dtype=u.dtype), np.empty(yc.shape, dtype=u.dtype)  # reused for every alpha
    for i in range(len(alphas)):
        np.multiply(g[i].astype(u.dtype)[:, None], z, out=gz)
        np.matmul(u, gz, out=loo)  # U diag(g) z: the residuals
        if not full:
            loo += outside
        loo *= inv_leverage[:, i:i + 1]  # leave-one-out residuals
        out[i] = np.einsum("ij,ij->j", loo, loo) / n
    return out


def _kfold_mse(kernel: _LinearKernel, train: np.ndarray, y: np.ndarray, alphas: np.ndarray, splitter) -> np.ndarray:
    """Mean over inner folds of the held-out MSE (n_alphas, N), each fold solved for all alphas at once."""
    folds = list(splitter.split(np.zeros((len(train), 1))))
    total = np.zeros((len(alphas), y.shape[1]))
    for inner_train, inner_test in folds:
        if len(inner_train) < 3:
            raise DataValidationError(f"an inner CV fold has only {len(inner_train)} training stimuli")
        tr, te = train[inner_train], train[inner_test]
        u, s = kernel.decompose(tr)
        y_mean = y[tr].mean(axis=0)
        z = u.T @ (y[tr] - y_mean)
        q = kernel.project(te, tr, u, s)
        for i, alpha in enumerate(alphas):
            pred = y_mean + q @ ((np.sqrt(s) / (s + alpha))[:, None] * z)
            total[i] += np.mean((y[te] - pred) ** 2, axis=0)
    return total / len(folds)


def _validate(estimator: BaseEstimator, x, y="no_validation", reset: bool = False, min_samples: int = 1):
    """scikit-learn's input checks (``validate_data``: finite, numeric, 2-D, consistent lengths, the
    number of features seen in ``fit``), their ValueErrors re-raised as one-line DataValidationErrors."""
    targets = {} if isinstance(y, str) else {"multi_output": True, "y_numeric": True}
    try:
        return validate_data(estimator, x, y, reset=reset, dtype=np.float64, ensure_min_samples=min_samples,
                             **targets)
    except NeurosafeError:
        raise
    except ValueError as err:
        raise DataValidationError(" ".join(str(err).split())) from err


class _MultiOutputRegressor(RegressorMixin, BaseEstimator):
    """A linear map fitted to one or many targets: ``predict`` = X coef_' + intercept_; ``score`` = R^2."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _set_linear(self, one_target: bool, coef: np.ndarray, intercept: np.ndarray) -> None:
        """coef_ (n_targets, n_features) and intercept_ (n_targets,); without the target axis for a 1-D y."""
        self.coef_, self.intercept_ = (coef[0], float(intercept[0])) if one_target else (coef, intercept)

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        x = _validate(self, X)
        return x @ self.coef_.T + self.intercept_


class RidgeCVMapping(_MultiOutputRegressor):
    """Ridge regression from features to many neurons with a per-neuron alpha chosen by CV (a scikit-learn
    estimator; ``RidgeCV(alpha_per_target=True)`` with the algebra of the module docstring).

    ``cv``: ``"loo"`` (exact leave-one-out, fast), an int K (shuffled K-fold seeded by ``random_state``) or
    any splitter with a scikit-learn ``split(X)`` method. ``precision``: ``"float64"`` (default; equals
    scikit-learn to ~1e-9) or ``"float32"`` (eigendecompositions and leave-one-out products in float32 when
    the spectrum's condition number is <= 1e3, else float64). After ``fit``: ``alpha_``, ``coef_``
    (n_targets, n_features), ``intercept_`` (n_targets,), ``cv_mse_`` (n_alphas, n_targets) and
    ``n_features_in_``; with a 1-D ``y`` they lose the target axis, as in scikit-learn.
    """

    def __init__(self, alphas: Sequence[float] = DEFAULT_ALPHAS, cv: str | int | object = "loo",
                 random_state: int | None = 0, precision: str = "float64"):
        self.alphas = alphas
        self.cv = cv
        self.random_state = random_state
        self.precision = precision

    def _alpha_grid(self) -> np.ndarray:
        """The validated alpha grid (errors for bad ``alphas`` or ``cv``)."""
        alphas = np.asarray(self.alphas, dtype=np.float64).ravel()
        if alphas.size == 0 or not (np.isfinite(alphas).all() and (alphas > 0).all()):
            raise NeurosafeError(f"alphas must be a non-empty grid of positive numbers; got {self.alphas}")
        cv = self.cv
        if not ((isinstance(cv, str) and cv == "loo") or hasattr(cv, "split")
                or (isinstance(cv, numbers.Integral) and not isinstance(cv, bool) and cv >= 2)):
            raise NeurosafeError(f"cv must be 'loo', an int >= 2 or a splitter; got {cv!r}")
        if self.precision not in _PRECISIONS:
            raise NeurosafeError(f"precision must be one of {_PRECISIONS}; got {self.precision!r}")
        return alphas

    def _solve(self, kernel: _LinearKernel, train: np.ndarray, y: np.ndarray, alphas: np.ndarray) -> dict:
        """Pick each target's alpha on ``train`` and return the solution's pieces (used by fit and CV)."""
        u, s = kernel.decompose(train)
        y_mean = y[train].mean(axis=0)
        yc = (y[train] - y_mean).astype(u.dtype, copy=False)
        z = u.T @ yc
        if len(alphas) == 1:
            mse = np.zeros((1, y.shape[1]))
        elif isinstance(self.cv, str):
            mse = _loo_mse(u, s, yc, z, alphas)
        else:
            splitter = (KFold(int(self.cv), shuffle=True, random_state=self.random_state)
                        if isinstance(self.cv, numbers.Integral) else self.cv)
            mse = _kfold_mse(kernel, train, y, alphas, splitter)
        alpha = alphas[np.argmin(mse, axis=0)]
        weights = (np.sqrt(s)[:, None] / (s[:, None] + alpha[None, :])) * z.astype(np.float64)
        return {"u": u, "s": s, "y_mean": y_mean, "alpha": alpha, "mse": mse, "weights": weights}

    def fit(self, X, y) -> RidgeCVMapping:
        alphas = self._alpha_grid()
        x, y = _validate(self, X, y, reset=True, min_samples=3)
        kernel, train = _LinearKernel(x, self.precision), np.arange(len(x))
        sol = self._solve(kernel, train, y.reshape(len(y), -1), alphas)
        coef = kernel.loadings(train, sol["u"], sol["s"], sol["weights"]).T
        one = y.ndim == 1
        self._set_linear(one, coef, sol["y_mean"] - coef @ x.mean(axis=0))
        self.alpha_, self.cv_mse_ = (float(sol["alpha"][0]), sol["mse"][:, 0]) if one else (sol["alpha"], sol["mse"])
        return self


class PLSMapping(_MultiOutputRegressor):
    """Partial least squares regression (scikit-learn's ``PLSRegression``, unscaled), as in Brain-Score.

    ``n_components`` is capped at the number of features and training stimuli - 1 (``n_components_``).
    After ``fit``: ``coef_`` (n_targets, n_features), ``intercept_``, ``n_components_``, ``n_features_in_``.
    """

    def __init__(self, n_components: int = 25):
        self.n_components = n_components

    def fit(self, X, y) -> PLSMapping:
        k = self.n_components
        if not (isinstance(k, numbers.Integral) and not isinstance(k, bool) and k >= 1):
            raise NeurosafeError(f"n_components must be an int >= 1; got {k!r}")
        x, y = _validate(self, X, y, reset=True, min_samples=2)
        self.n_components_ = int(min(k, x.shape[1], len(x) - 1))
        pls = PLSRegression(n_components=self.n_components_, scale=False).fit(x, y)
        coef = pls.coef_  # (n_targets, n_features); PLS predicts (X - x_mean) coef' + y_mean
        self._set_linear(y.ndim == 1, coef, np.atleast_1d(pls.intercept_) - coef @ x.mean(axis=0))
        return self


# ---------------------------------------------------------------------------------------- inputs
def _ids(da: xr.DataArray) -> np.ndarray:
    return da["stimulus_id"].values.astype(str)


def align_features(features, responses: xr.DataArray) -> np.ndarray:
    """Features as a float64 (stimulus, feature) array in the responses' stimulus order.

    A DataArray must have a ``stimulus`` dim and ``stimulus_id`` coord holding the same ids as the
    responses (any order); other dims are flattened. A plain array is taken to be in the responses' order.
    """
    n = responses.sizes["stimulus"]
    if isinstance(features, xr.DataArray):
        if "stimulus" not in features.dims or "stimulus_id" not in features.coords:
            raise DataValidationError(f"features need a 'stimulus' dim with a 'stimulus_id' coord; got {features.dims}")
        fid, rid = _ids(features), _ids(responses)
        if len(set(fid)) != len(fid):
            raise DataValidationError("features have duplicate stimulus ids")
        only_f, only_r = sorted(set(fid) - set(rid)), sorted(set(rid) - set(fid))
        if only_f or only_r:
            raise DataValidationError(
                "features and responses have different stimulus ids: only in features "
                f"{format_ids(only_f) or 'none'}; only in responses {format_ids(only_r) or 'none'}"
            )
        pos = {s: i for i, s in enumerate(fid)}
        order = np.array([pos[s] for s in rid])
        features = features.transpose("stimulus", ...).values[order]
    x = np.asarray(features, dtype=np.float64)
    x = x.reshape(len(x), -1) if x.ndim > 2 else x
    if x.ndim != 2 or len(x) != n:
        raise DataValidationError(f"features have shape {x.shape}; expected ({n} stimuli, features)")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise DataValidationError(f"features contain NaN or inf for stimuli {format_ids(_ids(responses)[bad])}")
    return x


def _targets(responses: xr.DataArray) -> np.ndarray:
    """Repeat-averaged responses (stimulus, neuron); errors for missing values and constant neurons."""
    r = responses.mean("repeat", skipna=True) if "repeat" in responses.dims else responses
    if "time" in r.dims:
        raise DataValidationError("reduce the 'time' dim first (e.g. sum spike counts over a window)")
    y = r.transpose("stimulus", "neuron").values.astype(np.float64)
    ids = responses["neuron_id"].values
    missing = np.isnan(y).any(axis=0)
    if missing.any():
        raise DataValidationError(f"neurons with no valid repeat on some stimulus: {format_ids(ids[missing])}")
    constant = np.ptp(y, axis=0) <= 1e-12 * np.maximum(np.abs(y).max(axis=0), 1.0)
    if constant.any():
        raise DataValidationError(
            f"neurons with constant responses (correlation undefined): {format_ids(ids[constant])}")
    return y


def _stimulus_labels(responses: xr.DataArray, coord: str | None) -> np.ndarray | None:
    if coord is None:
        return None
    if coord not in responses.coords or responses[coord].dims != ("stimulus",):
        have = [c for c in responses.coords if responses[c].dims == ("stimulus",)]
        raise DataValidationError(f"no stimulus coordinate {coord!r} to group/stratify by; have {have}")
    return responses[coord].values


def _mapping(mapping: str, alphas, inner_cv, n_components: int, seed: int, precision: str):
    if mapping == "ridge":
        return RidgeCVMapping(alphas, cv=inner_cv, random_state=seed, precision=precision)
    if mapping == "pls":
        return PLSMapping(n_components)
    raise NeurosafeError(f"mapping must be 'ridge' or 'pls'; got {mapping!r}")


def cross_validated_predictions(x: np.ndarray, y: np.ndarray, folds: list[np.ndarray],
                                mapping: RegressorMixin) -> tuple[np.ndarray, np.ndarray | None]:
    """Held-out predictions (n, N), each stimulus predicted by a clone of ``mapping`` (any scikit-learn
    regressor) fitted without its fold (``folds``: test-index arrays), and for ridge the chosen alphas
    (n_folds, N). ``RidgeCVMapping`` folds share one Gram matrix (see ``_LinearKernel``)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    y = y.reshape(len(y), -1)
    pred = np.full(y.shape, np.nan)
    alphas = []
    ridge = isinstance(mapping, RidgeCVMapping)
    if ridge:
        grid, kernel = mapping._alpha_grid(), _LinearKernel(x, mapping.precision)
    for test in folds:
        train = np.setdiff1d(np.arange(len(y)), test)
        if not ridge:
            pred[test] = clone(mapping).fit(x[train], y[train]).predict(x[test]).reshape(len(test), -1)
            continue
        sol = mapping._solve(kernel, train, y, grid)
        pred[test] = sol["y_mean"] + kernel.project(test, train, sol["u"], sol["s"]) @ sol["weights"]
        alphas.append(sol["alpha"])
    return pred, (np.array(alphas) if alphas else None)


def ridge_predictivity(
    features, responses: xr.DataArray, alphas: Sequence[float] = DEFAULT_ALPHAS, n_folds: int = 5,
    inner_cv: str | int | object = "loo", groups: str | None = None, stratify: str | None = None,
    mapping: str = "ridge", n_components: int = 25, seed: int = 0, n_boot: int = 200, ci_level: float = 0.95,
    ceiling: np.ndarray | None = None, precision: str = "float32",
) -> Score:
    """Cross-validated predictivity of ``responses`` from ``features`` (see the module docstring).

    ``features``: DataArray (stimulus, ...) with ``stimulus_id`` (e.g. ``TorchSubject.respond``) or an
    array in the responses' stimulus order. ``responses``: (stimulus, neuron[, repeat]); the ceiling needs
    repeats. ``groups`` / ``stratify``: a stimulus coordinate of ``responses`` defining the outer folds.
    Returns a Score: value = median over neurons of r (mean over folds; bias-corrected); per_unit = r with coords
    ``ceiling`` and (ridge) ``alpha`` (geometric mean over folds); ceiling = median per-neuron ceiling;
    ceiled_value = value / ceiling. ``ceiling``: per-neuron ceilings already computed for these responses
    (:func:`correlation_ceiling`, or a previous Score's ``per_unit.ceiling``), to score many models on one
    recording without recomputing them. ``precision``: of the ridge algebra (``RidgeCVMapping``); the
    default ``"float32"`` agrees with ``"float64"`` to ~1e-5 in r (tests/metrics/test_predictivity.py).
    """
    responses = validate_responses(responses)
    folds = stimulus_folds(responses.sizes["stimulus"], n_folds, seed, _stimulus_labels(responses, groups),
                           _stimulus_labels(responses, stratify))
    x = align_features(features, responses)
    y = _targets(responses)
    pred, chosen = cross_validated_predictions(x, y, folds,
                                               _mapping(mapping, alphas, inner_cv, n_components, seed, precision))
    weights = bootstrap_weights(len(y), n_boot, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        per_boot = np.nanmean([weighted_pearson(weights[:, t], pred[t], y[t]) for t in folds], axis=0)
        medians = np.nanmedian(per_boot, axis=1)
    r = per_boot[0]
    if ceiling is None:
        ceiling = correlation_ceiling(responses, seed) if "repeat" in responses.dims else None
    coords = {"neuron_id": ("neuron", responses["neuron_id"].values)}
    extra: dict = {"n_features": x.shape[1], "n_stimuli": len(y)}
    if ceiling is not None:
        coords["ceiling"] = ("neuron", ceiling)
    if chosen is not None:
        coords["alpha"] = ("neuron", np.exp(np.log(chosen).mean(axis=0)))
        grid = np.asarray(alphas, dtype=float)
        at_edge = np.isin(chosen, [grid.min(), grid.max()]).mean()
        extra["alpha_at_grid_edge_fraction"] = float(at_edge) if len(grid) > 1 else None
    if np.isnan(r).all():
        raise DataValidationError("predictivity is undefined for every neuron (constant predictions)")
    ceil_value = None if ceiling is None or np.isnan(ceiling).all() else float(np.nanmedian(ceiling))
    params = {"mapping": mapping, "n_folds": n_folds, "groups": groups, "stratify": stratify, "n_boot": n_boot}
    params.update({"alphas": [float(a) for a in alphas], "inner_cv": str(inner_cv), "precision": precision}
                  if mapping == "ridge"
                  else {"n_components": n_components})
    score = Score.from_bootstrap(
        medians, len(y), ci_level, method="bias_corrected", ceiling=ceil_value,
        per_unit=xr.DataArray(r, dims=("neuron",), coords=coords, name="pearson_r"),
        provenance=provenance(f"{mapping}_predictivity", params, data=responses, seed=seed, **extra),
    )
    return score if ceil_value is None else replace(score, ceiled_value=score.value / ceil_value)
