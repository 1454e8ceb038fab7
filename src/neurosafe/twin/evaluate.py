"""``evaluate_twin``: a twin's predictions against held-out repeated recordings, per neuron, as Scores.

- correlation to the repeat average (the usual "test correlation");
- single-trial correlation: pooled over every valid (stimulus, repeat) (Lurz et al. 2021);
- FEVE, the fraction of explainable variance explained (Cadena et al. 2019; ``neurosafe.metrics.feve``);
- fraction of ceiling: correlation to the average divided by its noise ceiling
  (:func:`neurosafe.metrics.correlation_ceiling`: sqrt of the Spearman-Brown corrected split-half
  reliability, the correlation a perfect model of the mean response would reach), median over neurons.
  The correlation's ``ceiled_value`` is, as for every Score, its value over the median ceiling.

Confidence intervals bootstrap stimuli with the shared resamples of :mod:`neurosafe.metrics.bootstrap`
(for the fraction of ceiling the ceiling is held at its estimate); correlations are bias-corrected.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

from neurosafe.data.recording import check_repeats, validate_responses
from neurosafe.data.stimuli import StimulusSet
from neurosafe.metrics import Score, correlation_ceiling, feve, provenance
from neurosafe.metrics.bootstrap import bootstrap_weights, weighted_pearson
from neurosafe.subjects import Subject
from neurosafe.twin.errors import TwinError

__all__ = ["TwinEvaluation", "evaluate_predictions", "evaluate_twin"]


@dataclass(frozen=True)
class TwinEvaluation:
    """Per-neuron Scores of one evaluation; values are medians over neurons."""

    correlation: Score
    single_trial_correlation: Score
    feve: Score
    fraction_of_ceiling: Score
    ceiling: Score

    def scores(self) -> dict[str, Score]:
        names = ("correlation", "single_trial_correlation", "feve", "fraction_of_ceiling", "ceiling")
        return {k: getattr(self, k) for k in names}

    def to_dict(self) -> dict:
        """Medians, CIs and per-neuron values, JSON-ready (NaN -> None)."""
        scores = self.scores()
        ids = [str(i) for i in self.feve.per_unit.neuron_id.values]
        per = {k: s.per_unit.values for k, s in scores.items()}
        return {**{k: _num(s.value) for k, s in scores.items()}, "n_neurons": len(ids),
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
    """Score predictions (stimulus, neuron) of the mean response against repeated ``responses``."""
    responses = validate_responses(responses)
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
    fraction = r_avg / ceiling
    med_ceiling = float(np.nanmedian(ceiling))
    corr = _score("correlation_to_average", r_avg, ids, responses, seed, ci_level, ceiling=med_ceiling)
    corr = replace(corr, ceiled_value=corr.value / med_ceiling)
    return TwinEvaluation(
        correlation=corr,
        single_trial_correlation=_score("single_trial_correlation", r_single, ids, responses, seed, ci_level),
        feve=feve(responses, x[..., 0], seed=seed, n_boot=n_boot, ci_level=ci_level),
        fraction_of_ceiling=_score("fraction_of_ceiling", fraction, ids, responses, seed, ci_level),
        ceiling=_score("correlation_ceiling", ceiling[None], ids, responses, seed, ci_level),
    )


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
    """Evaluate a twin (any Subject) on held-out stimuli with repeated ``responses``
    (stimulus, neuron, repeat).

    Every neuron of ``responses`` must be predicted by ``twin.respond(stimuli, site)`` (matched by id).
    """
    responses = validate_responses(responses)
    if not isinstance(stimuli, StimulusSet):
        raise TwinError(f"stimuli must be a StimulusSet; got {type(stimuli).__name__}")
    prediction = twin.respond(stimuli.aligned_to(responses), site)
    return evaluate_predictions(prediction, responses, seed=seed, n_boot=n_boot, ci_level=ci_level)
