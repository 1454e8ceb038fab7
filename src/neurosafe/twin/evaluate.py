"""``evaluate_twin``: a twin's predictions against held-out repeated recordings, per neuron, as Scores.

- correlation to the repeat average (the usual "test correlation");
- single-trial correlation: pooled over every valid (stimulus, repeat) (Lurz et al. 2021);
- FEVE, the fraction of explainable variance explained (Cadena et al. 2019; ``neurosafe.metrics.feve``);
- fraction of ceiling: the median correlation to the average over neurosafe's one aggregate ceiling,
  :func:`neurosafe.metrics.median_ceiling` = sqrt(max(0, median over ALL neurons of the Spearman-Brown
  corrected split-half reliability)); per neuron, r over its own ceiling
  (:func:`neurosafe.metrics.correlation_ceiling`, NaN where the reliability is <= 0). The aggregate does
  not drop unreliable neurons, so it is not biased upward on unreliable data (the median of per-neuron
  ceilings over neurons with reliability > 0 is). The correlation's ``ceiled_value`` uses it too. Its CI
  (:func:`neurosafe.metrics.fraction_of_ceiling`) resamples stimuli AND neurons, recomputing r and the
  ceiling on each resample;
- pooled FEVE (:func:`neurosafe.metrics.pooled_feve`): ratio of sums over all neurons.

Without repeats (repeat-averaged data) the evaluation is ceiling-free, and says so (``ceiling_free``):
correlation to the responses and explained variance (1 - SSE / total sum of squares, per neuron); FEVE,
pooled FEVE, ceiling and fraction of ceiling are None.

Confidence intervals bootstrap stimuli with the shared resamples of :mod:`neurosafe.metrics.bootstrap`
(the fraction of ceiling: over stimuli and neurons); correlations are bias-corrected.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

from neurosafe.data.recording import check_repeats, validate_responses
from neurosafe.data.stimuli import StimulusSet
from neurosafe.metrics import (
    Score,
    correlation_ceiling,
    feve,
    fraction_of_ceiling,
    pooled_feve,
    provenance,
)
from neurosafe.metrics.bootstrap import bootstrap_weights, weighted_pearson
from neurosafe.subjects import Subject
from neurosafe.twin.errors import TwinError

__all__ = ["TwinEvaluation", "evaluate_predictions", "evaluate_twin"]


@dataclass(frozen=True)
class TwinEvaluation:
    """Per-neuron Scores of one evaluation; values are medians over neurons."""

    correlation: Score
    single_trial_correlation: Score | None
    feve: Score | None
    fraction_of_ceiling: Score | None
    ceiling: Score | None
    explained_variance: Score | None = None
    pooled_feve: Score | None = None
    ceiling_free: bool = False

    def scores(self) -> dict[str, Score]:
        """The Scores present (without repeats: correlation and explained variance only)."""
        names = ("correlation", "single_trial_correlation", "feve", "fraction_of_ceiling", "ceiling",
                 "explained_variance")
        return {k: getattr(self, k) for k in names if getattr(self, k) is not None}

    def to_dict(self) -> dict:
        """Medians, CIs and per-neuron values, JSON-ready (NaN -> None)."""
        scores = self.scores()
        ids = [str(i) for i in self.correlation.per_unit.neuron_id.values]
        per = {k: s.per_unit.values for k, s in scores.items()}
        extra = {"ceiling_free": self.ceiling_free}
        if self.pooled_feve is not None:
            extra["pooled_feve"] = {"value": _num(self.pooled_feve.value),
                                    "ci": None if self.pooled_feve.ci is None else list(self.pooled_feve.ci)}
        return {**{k: _num(s.value) for k, s in scores.items()}, **extra, "n_neurons": len(ids),
                "scores": {k: s.to_dict(per_unit=False) for k, s in scores.items()},
                "per_neuron": {n: {k: _num(v[i]) for k, v in per.items()} for i, n in enumerate(ids)}}


def _num(x) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


def _sums(x: np.ndarray, y: np.ndarray) -> tuple[dict[str, np.ndarray], None, np.ndarray]:
    """Arguments of ``weighted_pearson``: per-stimulus sums over repeats of prediction x (S, N, 1) and
    responses y (S, N, R) (NaN = missing), and their counts."""
    ok = np.isfinite(y)
    x, y = np.where(ok, x, 0.0), np.where(ok, y, 0.0)
    sums = {"x": x.sum(2), "y": y.sum(2), "xx": (x * x).sum(2), "yy": (y * y).sum(2), "xy": (x * y).sum(2)}
    return sums, None, ok.sum(2).astype(float)


def _score(name: str, per_boot: np.ndarray, ids: np.ndarray, responses: xr.DataArray, seed: int, ci_level: float,
           **kw) -> Score:
    """Median over neurons of each row of ``per_boot`` (row 0: the data), bias-corrected as
    ``ridge_predictivity``'s correlations."""
    point = per_boot[0]
    if np.isnan(point).all():
        raise TwinError(f"{name} is undefined for every neuron (constant predictions or responses)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        medians = np.nanmedian(per_boot, axis=1)
    per_unit = xr.DataArray(point, dims=("neuron",), coords={"neuron_id": ("neuron", ids)}, name=name)
    return Score.from_bootstrap(
        medians, responses.sizes["stimulus"], ci_level, method="bias_corrected", per_unit=per_unit,
        provenance=provenance(name, {"n_boot": per_boot.shape[0] - 1}, data=responses, seed=seed), **kw,
    )


def evaluate_predictions(prediction: xr.DataArray, responses: xr.DataArray, seed: int = 0, n_boot: int = 200,
                         ci_level: float = 0.95) -> TwinEvaluation:
    """Score predictions (stimulus, neuron) of the mean response against ``responses``: with repeats every
    score; without (no ``repeat`` dim, or one repeat) the ceiling-free ones (``ceiling_free=True``)."""
    responses = validate_responses(responses)
    if "repeat" not in responses.dims or responses.sizes["repeat"] < 2:
        return _ceiling_free(prediction, responses, seed, n_boot, ci_level)
    check_repeats(responses, 2)
    pred = prediction.sel(stimulus=_index(prediction, responses, "stimulus"),
                          neuron=_index(prediction, responses, "neuron"))
    y = responses.transpose("stimulus", "neuron", "repeat").values.astype(float)
    x = pred.transpose("stimulus", "neuron").values.astype(float)[..., None]
    if not np.isfinite(x).all():
        raise TwinError("predictions contain NaN or inf")
    ids = responses.neuron_id.values.astype(str)
    w = bootstrap_weights(y.shape[0], n_boot, seed)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(y, axis=2, keepdims=True)
    r_avg = weighted_pearson(w, *_sums(x, mean))
    if np.isnan(r_avg[0]).all():
        raise TwinError("the correlation is undefined for every neuron (constant predictions or responses)")
    r_single = weighted_pearson(w, *_sums(np.broadcast_to(x, y.shape), y))
    ceiling = correlation_ceiling(responses, seed=seed)
    fraction = fraction_of_ceiling(responses, x[..., 0], seed=seed, n_boot=n_boot, ci_level=ci_level)
    agg = fraction.ceiling  # = median_ceiling(responses, seed=seed), without a second split-half pass
    corr = _score("correlation_to_average", r_avg, ids, responses, seed, ci_level, ceiling=agg)
    corr = replace(corr, ceiled_value=corr.value / agg if agg > 0 else float("nan"))
    ceil = _score("correlation_ceiling", ceiling[None], ids, responses, seed, ci_level)
    ceil = replace(ceil, value=agg, provenance={**ceil.provenance, "aggregate": "median_ceiling (all neurons)"})
    pred_da = xr.DataArray(x[..., 0], dims=("stimulus", "neuron"),
                           coords={"stimulus_id": ("stimulus", responses.stimulus_id.values),
                                   "neuron_id": ("neuron", ids)})
    return TwinEvaluation(
        correlation=corr,
        single_trial_correlation=_score("single_trial_correlation", r_single, ids, responses, seed, ci_level),
        feve=feve(responses, x[..., 0], seed=seed, n_boot=n_boot, ci_level=ci_level),
        fraction_of_ceiling=fraction,
        ceiling=ceil,
        pooled_feve=pooled_feve(responses, pred_da, seed=seed, n_boot=n_boot, ci_level=ci_level),
    )


def _ceiling_free(prediction: xr.DataArray, responses: xr.DataArray, seed: int, n_boot: int,
                  ci_level: float) -> TwinEvaluation:
    """Correlation and explained variance against responses without repeats (no noise ceiling)."""
    pred = prediction.sel(stimulus=_index(prediction, responses, "stimulus"),
                          neuron=_index(prediction, responses, "neuron"))
    y = responses.transpose("stimulus", "neuron", ...).values.astype(float)
    y = y.reshape(y.shape[0], y.shape[1], -1)[..., 0]
    x = pred.transpose("stimulus", "neuron").values.astype(float)
    if not np.isfinite(x).all():
        raise TwinError("predictions contain NaN or inf")
    ids = responses.neuron_id.values.astype(str)
    w = bootstrap_weights(y.shape[0], n_boot, seed)
    sums, _, count = _sums(x[..., None], y[..., None])
    r = weighted_pearson(w, sums, None, count=count)
    if np.isnan(r[0]).all():
        raise TwinError("the correlation is undefined for every neuron (constant predictions or responses)")
    ok = np.isfinite(y)
    y0, x0 = np.where(ok, y, 0.0), np.where(ok, x, 0.0)
    n = w @ ok
    with np.errstate(invalid="ignore", divide="ignore"):
        sse = w @ (ok * (y0 - x0) ** 2)
        sst = w @ (y0**2) - (w @ y0) ** 2 / n
        ev = np.where(sst > 0, 1 - sse / sst, np.nan)
    corr = _score("correlation", r, ids, responses, seed, ci_level)
    note = "no repeats: ceiling-free (no FEVE, ceiling or fraction of ceiling)"
    corr = replace(corr, provenance={**corr.provenance, "note": note})
    return TwinEvaluation(correlation=corr, single_trial_correlation=None, feve=None, fraction_of_ceiling=None,
                          ceiling=None, explained_variance=_score("explained_variance", ev, ids, responses, seed,
                                                                  ci_level), ceiling_free=True)


def _index(prediction: xr.DataArray, responses: xr.DataArray, dim: str) -> np.ndarray:
    """Positions in ``prediction`` of each of ``responses``' ids along ``dim`` (clear error when missing)."""
    coord = f"{dim}_id"
    have = {str(v): i for i, v in enumerate(prediction[coord].values)}
    want = [str(v) for v in responses[coord].values]
    missing = [v for v in want if v not in have]
    if missing:
        raise TwinError(f"the prediction lacks {len(missing)} {dim} ids of the responses, e.g. {missing[:5]}")
    return np.array([have[v] for v in want])


def evaluate_twin(twin: Subject, stimuli: StimulusSet, responses: xr.DataArray, site: str | None = None, seed: int = 0,
                  n_boot: int = 200, ci_level: float = 0.95) -> TwinEvaluation:
    """Evaluate a twin (any Subject) on held-out stimuli with ``responses`` (stimulus, neuron[, repeat]);
    without repeats the evaluation is ceiling-free (see the module docstring).

    Every neuron of ``responses`` must be predicted by ``twin.respond(stimuli, site)`` (matched by id).
    """
    responses = validate_responses(responses)
    if not isinstance(stimuli, StimulusSet):
        raise TwinError(f"stimuli must be a StimulusSet; got {type(stimuli).__name__}")
    prediction = twin.respond(stimuli.aligned_to(responses), site)
    return evaluate_predictions(prediction, responses, seed=seed, n_boot=n_boot, ci_level=ci_level)
