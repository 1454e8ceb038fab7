"""Population geometry: PCA spectrum, participation ratio and the cross-validated power-law exponent alpha.

- PCA spectrum: eigenvalues of the stimulus covariance of trial-averaged responses.
- Participation ratio (sum lambda)^2 / sum lambda^2, an effective dimensionality (Gao et al. 2017;
  Litwin-Kumar et al. 2017).
- Cross-validated PCA (Stringer, Pachitariu et al. 2019, Nature, "High-dimensional geometry of population
  responses in visual cortex"): principal components are estimated from one half of the repeats and the
  variance along each is the covariance, across stimuli, of the two halves' projections, which is an
  unbiased estimate of the stimulus-related (signal) variance: trial-to-trial noise, independent between the
  halves, averages out. Repeats are split at random per stimulus, ``n_splits`` times, each split used both ways.
- alpha: the slope of log variance vs log rank, by least squares weighted by 1/rank so that every octave of
  ranks counts equally (as in Stringer et al.), over ``fit_range``. Default: ranks 11 (Stringer et al. skip the
  first 10 PCs) to a quarter of the spectrum, from rank 1 when fewer than 40 ranks are available; ranks whose
  cross-validated variance is not positive are left out.

Responses without a ``repeat`` dim (a noise-free subject) use the plain PCA spectrum.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from neurosafe.core.seeds import make_rng, spawn_seeds
from neurosafe.data.stimuli import StimulusSet
from neurosafe.interp._access import InterpError, measure
from neurosafe.metrics.bootstrap import bootstrap_indices
from neurosafe.metrics.score import Score, provenance

__all__ = ["cross_validated_spectrum", "eigenspectrum_alpha", "participation_ratio", "pca_spectrum",
           "power_law_exponent"]


def _spectrum_da(values: np.ndarray, kind: str) -> xr.DataArray:
    return xr.DataArray(values, dims=("component",), coords={"component": np.arange(1, len(values) + 1)},
                        name="variance", attrs={"kind": kind})


def _mean_matrix(responses: xr.DataArray) -> np.ndarray:
    mean = responses.mean("repeat", skipna=True) if "repeat" in responses.dims else responses
    x = mean.transpose("stimulus", "neuron").values.astype(np.float64)
    if np.isnan(x).any():
        raise InterpError("responses have stimuli with no valid repeat for some neurons; drop them first")
    if x.shape[0] < 3:
        raise InterpError(f"a spectrum needs at least 3 stimuli; got {x.shape[0]}")
    return x


def _eigenvalues(x: np.ndarray) -> np.ndarray:
    """Variance per principal component (descending) of a (stimulus, neuron) matrix, from the smaller Gram matrix."""
    x = x - x.mean(0)
    gram = x.T @ x if x.shape[1] <= x.shape[0] else x @ x.T
    return np.clip(np.linalg.eigvalsh(gram)[::-1], 0, None) / (len(x) - 1)


def _components(x: np.ndarray) -> np.ndarray:
    """Principal axes (neuron, component), descending variance, of a centred (stimulus, neuron) matrix."""
    _, vecs = np.linalg.eigh(x.T @ x)
    return vecs[:, ::-1][:, : min(x.shape)]


def pca_spectrum(source, site: str | None = None, stimuli: StimulusSet | None = None) -> xr.DataArray:
    """Eigenvalues (variance per component, descending) of the trial-averaged responses' stimulus covariance."""
    return _spectrum_da(_eigenvalues(_mean_matrix(measure(source, site, stimuli))), "pca")


def participation_ratio(source, site: str | None = None, stimuli: StimulusSet | None = None) -> float:
    """(sum lambda)^2 / sum lambda^2 of the PCA spectrum: between 1 and the number of neurons."""
    lam = pca_spectrum(source, site, stimuli).values
    return float(lam.sum() ** 2 / (lam**2).sum())


def _split_halves(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Means of two random halves of each stimulus's valid repeats (x: stimulus, neuron, repeat)."""
    valid = np.isfinite(x)
    order = np.argsort(rng.random(x.shape[::2]), axis=1)[:, None, :]
    xp, vp = np.take_along_axis(x, order, axis=2), np.take_along_axis(valid, order, axis=2)
    rank = np.cumsum(vp, axis=2) - 1
    half = vp.sum(axis=2, keepdims=True) // 2
    a, b = vp & (rank < half), vp & (rank >= half)
    return (np.where(a, xp, 0).sum(2) / a.sum(2)), (np.where(b, xp, 0).sum(2) / b.sum(2))


def cross_validated_spectrum(responses: xr.DataArray, n_splits: int = 5, seed: int = 0) -> xr.DataArray:
    """Cross-validated PCA spectrum (Stringer et al. 2019) of a recording with >= 2 valid repeats per stimulus
    and neuron: DataArray over ``component`` (signal variance per component; the tail may be negative)."""
    if "repeat" not in responses.dims:
        raise InterpError("cross-validated PCA needs a 'repeat' dim with at least 2 repeats")
    if n_splits < 1:
        raise InterpError(f"n_splits must be >= 1; got {n_splits}")
    x = responses.transpose("stimulus", "neuron", "repeat").values.astype(np.float64)
    if (np.isfinite(x).sum(2) < 2).any():
        raise InterpError("cross-validated PCA needs at least 2 valid repeats for every stimulus and neuron")
    if x.shape[0] < 3:
        raise InterpError(f"a spectrum needs at least 3 stimuli; got {x.shape[0]}")
    rng = make_rng(seed, "split_halves")
    total = 0.0
    for _ in range(n_splits):
        a, b = _split_halves(x, rng)
        for train, test in ((a, b), (b, a)):
            train, test = train - train.mean(0), test - test.mean(0)
            axes = _components(train)
            total = total + ((train @ axes) * (test @ axes)).sum(0) / (len(x) - 1)
    return _spectrum_da(total / (2 * n_splits), "cross-validated")


def power_law_exponent(spectrum: np.ndarray, fit_range: tuple[int, int] | None = None) -> tuple[float, tuple[int, int]]:
    """alpha of variance ~ rank^-alpha by 1/rank-weighted least squares in log-log over ``fit_range`` (ranks,
    inclusive, 1-based); returns (alpha, the range used). See the module docstring for the default range."""
    spectrum = np.asarray(spectrum, dtype=float)
    if fit_range is None:
        hi = max(len(spectrum) // 4, 2)
        fit_range = (11 if hi >= 40 else 1, hi)
    lo, hi = int(fit_range[0]), int(min(fit_range[1], len(spectrum)))
    rank = np.arange(1, len(spectrum) + 1)
    use = (rank >= lo) & (rank <= hi) & (spectrum > 0)
    if use.sum() < 3:
        raise InterpError(f"fewer than 3 positive eigenvalues in ranks {lo}..{hi} of a spectrum of {len(spectrum)}; "
                          "record more stimuli / neurons or choose fit_range")
    x, y, w = np.log(rank[use]), np.log(spectrum[use]), 1.0 / rank[use]
    design = np.stack([x, np.ones_like(x)], axis=1)
    coef = np.linalg.solve(design.T @ (design * w[:, None]), (design * w[:, None]).T @ y)
    return float(-coef[0]), (lo, hi)


def eigenspectrum_alpha(source, site: str | None = None, stimuli: StimulusSet | None = None, *,
                        fit_range: tuple[int, int] | None = None, n_splits: int = 5, n_boot: int = 0,
                        ci_level: float = 0.95, seed: int = 0) -> Score:
    """Power-law exponent alpha of the (cross-validated, when repeats exist) eigenspectrum, as a ``Score``.

    ``n_boot`` > 0 adds a percentile bootstrap CI over stimuli (one random split per bootstrap sample). The
    spectrum and the fit range are in the provenance.
    """
    responses = measure(source, site, stimuli)
    cross_validated = "repeat" in responses.dims and responses.sizes["repeat"] >= 2

    def spectrum(resp: xr.DataArray, splits: int, split_seed: int) -> np.ndarray:
        if cross_validated:
            return cross_validated_spectrum(resp, splits, split_seed).values
        return _eigenvalues(_mean_matrix(resp))

    spec = spectrum(responses, n_splits, seed)
    alpha, used = power_law_exponent(spec, fit_range)
    n = responses.sizes["stimulus"]
    picks = bootstrap_indices(n, n_boot, seed)[1:]
    split_seeds = spawn_seeds(seed, len(picks), "bootstrap_splits")
    boots = [power_law_exponent(spectrum(responses.isel(stimulus=pick), 1, split_seed), used)[0]
             for pick, split_seed in zip(picks, split_seeds, strict=True)]
    prov = provenance("eigenspectrum_alpha", {"fit_range": list(used), "n_splits": n_splits, "n_boot": n_boot,
                                              "cross_validated": cross_validated}, data=responses, seed=seed,
                      spectrum=[float(v) for v in spec],
                      direction="none: alpha near 1 marks a high-dimensional yet smooth code (Stringer 2019)")
    return Score.from_bootstrap(np.r_[alpha, boots], n, ci_level, provenance=prov)
