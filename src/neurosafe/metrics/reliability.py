"""Reliability and noise ceilings of repeated recordings, NaN-aware (uneven repeats), per neuron.

- split-half reliability with Spearman-Brown correction (e.g. Schoppe et al. 2016; Kar et al. 2019);
- leave-one-out oracle correlation (Lurz et al. 2021, neuralpredictors ``compute_oracle_corr``);
- FEV, fraction of explainable variance, and FEVE, fraction of explainable variance explained by a
  prediction (Cadena et al. 2019, PLoS Comput Biol);
- :func:`correlation_ceiling`, the one ceiling convention of correlation scores in neurosafe.

Every function returns a :class:`Score` whose value is the median over neurons and whose CI is a
percentile bootstrap over stimuli (:mod:`neurosafe.metrics.bootstrap`'s resamples as weights, so that all
bootstrap samples are computed with a few matrix products).
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from neurosafe.core.errors import DataValidationError
from neurosafe.core.seeds import make_rng
from neurosafe.data.recording import check_repeats, validate_responses
from neurosafe.metrics.bootstrap import bootstrap_indices, bootstrap_weights, weighted_pearson
from neurosafe.metrics.score import Score, provenance

__all__ = [
    "correlation_ceiling", "fev", "feve", "fraction_of_ceiling", "median_ceiling", "oracle_correlation", "pooled_feve",
    "reliability_summary", "spearman_brown", "split_half_reliability",
]


def spearman_brown(r: np.ndarray | float, factor: float = 2.0) -> np.ndarray | float:
    """Reliability of a measurement ``factor`` times longer: k r / (1 + (k - 1) r)."""
    r = np.asarray(r, dtype=float)
    return factor * r / (1 + (factor - 1) * r)


def _prepare(responses: xr.DataArray, min_repeats: int = 2) -> np.ndarray:
    responses = validate_responses(responses)
    check_repeats(responses, min_repeats)
    return responses.transpose("stimulus", "neuron", "repeat").values.astype(np.float64)


def _summarise(name: str, per_boot: np.ndarray, responses: xr.DataArray, params: dict, seed: int,
               ci_level: float, **extra) -> Score:
    """Build a Score from a (1 + n_boot, N) array whose row 0 is the point estimate."""
    point = per_boot[0]
    n_bad = int(np.isnan(point).sum())
    if n_bad == len(point):
        raise DataValidationError(f"{name}: undefined for every neuron (constant responses or too few stimuli)")
    if n_bad:
        warnings.warn(
            f"{name}: undefined (NaN) for {n_bad} of {len(point)} neurons with constant responses; "
            "they are excluded from the median", RuntimeWarning, stacklevel=3,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        medians = np.nanmedian(per_boot, axis=1)
    per_unit = xr.DataArray(point, dims=("neuron",), coords={"neuron_id": ("neuron", responses.neuron_id.values)},
                            name=name)
    prov = provenance(name, params, data=responses, seed=seed, n_undefined=n_bad, **extra)
    return Score.from_bootstrap(medians, responses.sizes["stimulus"], ci_level, per_unit=per_unit, provenance=prov)


def _split_half_r(x: np.ndarray, w: np.ndarray, n_splits: int, seed: int) -> np.ndarray:
    """Split-half r (uncorrected) per neuron for each row of stimulus weights ``w``, averaged over
    ``n_splits`` random halvings of each stimulus's valid repeats: (rows of w, neurons)."""
    rng = make_rng(seed, "split_half")
    s, _, r = x.shape
    valid = np.isfinite(x)
    total = np.zeros((w.shape[0], x.shape[1]))
    counts = np.zeros_like(total)
    for _ in range(n_splits):
        order = np.argsort(rng.random((s, r)), axis=1)[:, None, :]
        xp = np.take_along_axis(x, order, axis=2)
        vp = np.take_along_axis(valid, order, axis=2)
        rank = np.cumsum(vp, axis=2) - 1
        half = vp.sum(axis=2, keepdims=True) // 2
        in_a = vp & (rank < half)
        in_b = vp & (rank >= half)
        with np.errstate(invalid="ignore", divide="ignore"):
            a = np.where(in_a, xp, 0).sum(2) / in_a.sum(2)
            b = np.where(in_b, xp, 0).sum(2) / in_b.sum(2)
        rk = weighted_pearson(w, a, b)
        ok = np.isfinite(rk)
        total += np.where(ok, rk, 0)
        counts += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / counts


def split_half_reliability(
    responses: xr.DataArray, n_splits: int = 100, seed: int = 0, correct: bool = True,
    n_boot: int = 200, ci_level: float = 0.95,
) -> Score:
    """Split-half reliability per neuron, averaged over random splits of the repeats.

    For each split, each stimulus's valid repeats are shuffled and halved; r is the Pearson correlation,
    across stimuli, of the two half means. r is averaged over splits and, with ``correct``, stepped up to
    the full number of repeats with the Spearman-Brown formula 2r / (1 + r).
    """
    x = _prepare(responses)
    if n_splits < 1:
        raise DataValidationError(f"n_splits must be >= 1; got {n_splits}")
    mean_r = _split_half_r(x, bootstrap_weights(x.shape[0], n_boot, seed), n_splits, seed)
    per_boot = spearman_brown(mean_r) if correct else mean_r
    return _summarise(
        "split_half_reliability", per_boot, responses,
        {"n_splits": n_splits, "spearman_brown": correct, "n_boot": n_boot}, seed, ci_level,
        median_uncorrected=float(np.nanmedian(mean_r[0])),
    )


def correlation_ceiling(responses: xr.DataArray, seed: int = 0, n_splits: int = 100) -> np.ndarray:
    """Noise ceiling of a correlation with the repeat-averaged ``responses``, per neuron: sqrt(R), with R the
    Spearman-Brown corrected split-half reliability (:func:`split_half_reliability`); NaN where R <= 0.

    This is neurosafe's one ceiling convention for correlation scores (predictivity, twins, the study).
    Reasoning (Spearman 1904, correction for attenuation): the repeat average is signal + noise, and its
    reliability R = var(signal) / var(average) is the correlation of two independent such averages (the
    split-half r stepped up to all repeats). A perfect model predicts the signal, and
    corr(signal, average) = sqrt(var(signal) / var(average)) = sqrt(R). So a model's r with the average is
    ceiled as r / sqrt(R), which is ~1 for a perfect model (as Hsu et al. 2004; Schoppe et al. 2016).
    Dividing by R itself (Brain-Score's convention) would score a perfect model 1 / sqrt(R) > 1.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        reliability = split_half_reliability(responses, n_splits=n_splits, seed=seed, n_boot=0).per_unit.values
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.where(reliability > 0, reliability, np.nan))


def _trial_sums(x: np.ndarray, prediction: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-stimulus sufficient statistics over valid repeats."""
    valid = np.isfinite(x)
    x0 = np.where(valid, x, 0.0)
    n = valid.sum(2).astype(float)
    sx = x0.sum(2)
    sxx = (x0 * x0).sum(2)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (sxx - sx**2 / n) / (n - 1)
    out = {"n": n, "x": sx, "xx": sxx, "var": np.where(n >= 2, var, 0.0), "has2": (n >= 2).astype(float)}
    if prediction is not None:
        out["sq_err"] = (np.where(valid, x - prediction[..., None], 0.0) ** 2).sum(2)
    return out


def _variances(w: np.ndarray, t: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(total variance of single trials, mean noise variance, total count) for each weight row."""
    n, sx, sxx = w @ t["n"], w @ t["x"], w @ t["xx"]
    with np.errstate(invalid="ignore", divide="ignore"):
        total = (sxx - sx**2 / n) / (n - 1)
        noise = (w @ t["var"]) / (w @ t["has2"])
    return total, noise, n


def fev(responses: xr.DataArray, seed: int = 0, n_boot: int = 200, ci_level: float = 0.95) -> Score:
    """Fraction of explainable variance per neuron: 1 - noise variance / total single-trial variance.

    Noise variance is the across-repeat variance (ddof=1) averaged over stimuli; total variance is the
    variance (ddof=1) of all single trials (Cadena et al. 2019).
    """
    x = _prepare(responses)
    w = bootstrap_weights(x.shape[0], n_boot, seed)
    total, noise, _ = _variances(w, _trial_sums(x))
    with np.errstate(invalid="ignore", divide="ignore"):
        per_boot = 1 - noise / total
    per_boot[~(total > 0)] = np.nan
    return _summarise("fev", per_boot, responses, {"n_boot": n_boot}, seed, ci_level)


def _prediction_array(prediction, responses: xr.DataArray) -> np.ndarray:
    if isinstance(prediction, xr.DataArray):
        prediction = validate_responses(prediction)
        if "repeat" in prediction.dims:
            raise DataValidationError("the prediction must not have a 'repeat' dim (predict the mean response)")
        for coord in ("stimulus_id", "neuron_id"):
            a, b = prediction[coord].values.astype(str), responses[coord].values.astype(str)
            if a.shape != b.shape or (a != b).any():
                raise DataValidationError(
                    f"prediction and responses have different {coord}s (first differences: "
                    f"{[(p, q) for p, q in zip(a, b, strict=False) if p != q][:3] or (a.shape, b.shape)})"
                )
        prediction = prediction.values
    prediction = np.asarray(prediction, dtype=np.float64)
    want = (responses.sizes["stimulus"], responses.sizes["neuron"])
    if prediction.shape != want:
        raise DataValidationError(f"prediction has shape {prediction.shape}; expected (stimulus, neuron) {want}")
    if not np.isfinite(prediction).all():
        raise DataValidationError("prediction contains NaN or inf")
    return prediction


def _error_variances(responses: xr.DataArray, prediction, seed: int, n_boot: int):
    """(validated responses, single-trial MSE, total and noise variance), each (n_boot + 1, neuron): row 0 on
    all stimuli, then one row per bootstrap resample of stimuli (the terms of FEVE, Cadena et al. 2019)."""
    x = _prepare(responses)
    responses = validate_responses(responses)
    pred = _prediction_array(prediction, responses)
    w = bootstrap_weights(x.shape[0], n_boot, seed)
    t = _trial_sums(x, pred)
    total, noise, n = _variances(w, t)
    with np.errstate(invalid="ignore", divide="ignore"):
        mse = (w @ t["sq_err"]) / n
    return responses, mse, total, noise


def feve(responses: xr.DataArray, prediction, seed: int = 0, n_boot: int = 200,
         ci_level: float = 0.95) -> Score:
    """Fraction of explainable variance explained by ``prediction`` (stimulus, neuron), per neuron.

    FEVE = 1 - (MSE - noise variance) / (total variance - noise variance), with MSE over single trials
    (Cadena et al. 2019). 1 is a perfect model of the mean response; it can be negative.
    """
    responses, mse, total, noise = _error_variances(responses, prediction, seed, n_boot)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_boot = 1 - (mse - noise) / (total - noise)
    per_boot[~(total - noise > 0)] = np.nan
    return _summarise("feve", per_boot, responses, {"n_boot": n_boot}, seed, ci_level)


def pooled_feve(responses: xr.DataArray, prediction, seed: int = 0, n_boot: int = 200,
                ci_level: float = 0.95) -> Score:
    """Population FEVE as a ratio of sums over ALL neurons: 1 - sum(MSE - noise) / sum(total - noise).

    Unlike the median of per-neuron FEVE over neurons with explainable variance > 0, no neuron is dropped:
    an unreliable neuron adds little explainable variance to the denominator instead of being excluded, so
    the aggregate is not biased upward on unreliable data (Cadena et al. 2019 define FEVE per neuron; the
    ratio of sums weights neurons by their explainable variance). Bootstrap CI over stimuli (percentile).
    """
    responses, mse, total, noise = _error_variances(responses, prediction, seed, n_boot)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = np.isfinite(mse) & np.isfinite(total) & np.isfinite(noise)
        values = 1 - np.where(ok, mse - noise, 0).sum(1) / np.where(ok, total - noise, 0).sum(1)
    prov = provenance("pooled_feve", {"n_boot": n_boot, "aggregate": "ratio of sums over all neurons"},
                      data=responses, seed=seed)
    return Score.from_bootstrap(values, responses.sizes["stimulus"], ci_level, provenance=prov)


def median_ceiling(responses: xr.DataArray, seed: int = 0, n_splits: int = 100) -> float:
    """neurosafe's one aggregate correlation ceiling: sqrt(max(0, median over ALL neurons of the
    Spearman-Brown corrected split-half reliability R)).

    The median is taken before the square root and over every neuron (non-positive R included), so
    unreliable neurons pull it down as they should; the median of per-neuron ceilings over neurons with
    R > 0 only would be biased upward on unreliable data. A median correlation divided by this is the
    population's fraction of ceiling.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        reliability = split_half_reliability(responses, n_splits=n_splits, seed=seed, n_boot=0).per_unit.values
    med = float(np.nanmedian(reliability)) if np.isfinite(reliability).any() else float("nan")
    return float(np.sqrt(max(med, 0.0))) if np.isfinite(med) else med


def oracle_correlation(responses: xr.DataArray, seed: int = 0, n_boot: int = 200,
                       ci_level: float = 0.95) -> Score:
    """Leave-one-out oracle: correlation of each single trial with the mean of the other repeats.

    Pooled over all (stimulus, repeat) pairs of stimuli with >= 2 valid repeats (Lurz et al. 2021).
    """
    x = _prepare(responses)
    valid = np.isfinite(x)
    n = valid.sum(2, keepdims=True)
    use = valid & (n >= 2)
    x0 = np.where(use, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        loo = np.where(use, (x0.sum(2, keepdims=True) - x0) / (n - 1), 0.0)
    sums = {"x": x0.sum(2), "y": loo.sum(2), "xx": (x0**2).sum(2), "yy": (loo**2).sum(2), "xy": (x0 * loo).sum(2)}
    w = bootstrap_weights(x.shape[0], n_boot, seed)
    per_boot = weighted_pearson(w, sums, None, count=use.sum(2).astype(float))
    return _summarise("oracle_correlation", per_boot, responses, {"n_boot": n_boot}, seed, ci_level)


def reliability_summary(responses: xr.DataArray, n_splits: int = 100, seed: int = 0) -> dict:
    """Split-half (corrected), oracle correlation and FEV: medians with CIs and per-neuron values (JSON-ready)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        scores = {"split_half": split_half_reliability(responses, n_splits=n_splits, seed=seed),
                  "oracle": oracle_correlation(responses, seed=seed), "fev": fev(responses, seed=seed)}
    ids = [str(i) for i in responses.neuron_id.values]
    per = {k: s.per_unit.values for k, s in scores.items()}
    return {
        "n_neurons": len(ids), "n_stimuli": int(responses.sizes["stimulus"]),
        "median_split_half": scores["split_half"].value,
        "median_split_half_uncorrected": scores["split_half"].provenance["median_uncorrected"],
        **{k: s.to_dict(per_unit=False) for k, s in scores.items()},
        "per_neuron": {n: {k: (None if np.isnan(v[i]) else float(v[i])) for k, v in per.items()}
                       for i, n in enumerate(ids)},
        "warnings": sorted({str(w.message) for w in caught}),
    }


def fraction_of_ceiling(responses: xr.DataArray, prediction, seed: int = 0, n_boot: int = 200,
                        ci_level: float = 0.95, over: str = "both", n_splits: int = 100) -> Score:
    """Population fraction of ceiling with a bootstrap CI: median over neurons of r(prediction, repeat
    average) over :func:`median_ceiling` (sqrt of the median over ALL neurons of the split-half
    reliability).

    The CI (percentile) resamples ``over`` "stimuli", "neurons" or "both": each replicate reweights the
    stimuli (the shared resamples of :mod:`neurosafe.metrics.bootstrap`; r AND the reliability are
    recomputed on them, so the ceiling's own sampling error is included, unlike holding it fixed) and/or
    draws neurons with replacement (an independent stream), then takes both medians over the drawn
    neurons. Resampling both is the two-way (crossed) bootstrap for a population of neurons seen on a
    sample of images; it is conservative (each factor's variance is counted, plus their interaction).
    ``per_unit``: each neuron's r over its own ceiling (:func:`correlation_ceiling`; NaN where R <= 0);
    ``ceiling``: the aggregate ceiling (= :func:`median_ceiling`). NaN (no CI) when that ceiling is 0.
    """
    if over not in ("stimuli", "neurons", "both"):
        raise DataValidationError(f"over must be 'stimuli', 'neurons' or 'both'; got {over!r}")
    if n_splits < 1:
        raise DataValidationError(f"n_splits must be >= 1; got {n_splits}")
    x = _prepare(responses)
    responses = validate_responses(responses)
    pred = _prediction_array(prediction, responses)
    s, n, _ = x.shape
    w = bootstrap_weights(s, n_boot if over != "neurons" else 0, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(x, axis=2)
        r = weighted_pearson(w, pred, mean)
        rel = spearman_brown(_split_half_r(x, w, n_splits, seed))
    if over == "neurons":
        r, rel = np.repeat(r, n_boot + 1, 0), np.repeat(rel, n_boot + 1, 0)
    if over != "stimuli":
        idx = bootstrap_indices(n, n_boot, seed, "fraction_of_ceiling", "neurons")
        r, rel = np.take_along_axis(r, idx, 1), np.take_along_axis(rel, idx, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        num = np.nanmedian(r, axis=1)
        den = np.sqrt(np.maximum(np.nanmedian(rel, axis=1), 0.0))
        values = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        per = r[0] / np.sqrt(np.where(rel[0] > 0, rel[0], np.nan))  # row 0: the data, neurons in order
    if not np.isfinite(num[0]):
        raise DataValidationError("fraction of ceiling: the correlation is undefined for every neuron "
                                  "(constant predictions or responses)")
    per_unit = xr.DataArray(per, dims=("neuron",), coords={"neuron_id": ("neuron", responses.neuron_id.values)},
                            name="fraction_of_ceiling")
    prov = provenance("fraction_of_ceiling", {"n_boot": n_boot, "over": over, "n_splits": n_splits,
                                              "aggregate": "median r / median_ceiling"}, data=responses, seed=seed)
    return Score.from_bootstrap(values, s if over == "stimuli" else n, ci_level, per_unit=per_unit,
                                ceiling=float(den[0]), provenance=prov)
