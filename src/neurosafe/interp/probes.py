"""Linear decoding probes with control tasks (Hewitt & Liang 2019, "Designing and interpreting probes with
control tasks").

A probe is a cross-validated linear classifier on standardized population responses: a ridge (L2-regularized
least-squares, one-vs-rest) classifier whose penalty is chosen by efficient leave-one-out inside each training
fold; it is fast and well-posed also when units outnumber samples (a network layer). Its
accuracy alone confounds what the population encodes with what the probe can memorise, so the same probe is
also trained on a *control task*: every stimulus gets a random label (the labels permuted across stimuli, so
the label frequencies are kept). With repeated trials, samples are single trials and folds split trials, so a
stimulus seen in training reappears in testing, as a word type does in Hewitt & Liang's control task: the
control accuracy is what the probe achieves by memorising stimulus identities. Selectivity = accuracy -
control accuracy. Without repeats the samples are stimuli and the control accuracy is at chance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from sklearn.linear_model import RidgeClassifierCV
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from neurosafe.core.seeds import make_rng
from neurosafe.data.stimuli import StimulusSet
from neurosafe.interp._access import InterpError, measure
from neurosafe.metrics.score import Score, mean_score

__all__ = ["ProbeResult", "linear_decoder", "linear_probe"]


def check_classes(codes: np.ndarray, cv: int) -> np.ndarray:
    """Class counts of integer ``codes``; raise unless there are >= 2 classes with >= ``cv`` samples each."""
    counts = np.bincount(codes)
    counts = counts[counts > 0]
    if len(counts) < 2 or counts.min() < cv:
        raise InterpError(f"a {cv}-fold probe needs >= 2 classes with >= {cv} samples each; got {counts.tolist()}")
    return counts


def linear_decoder() -> Pipeline:
    """The probe: standardization + ridge classifier with its penalty picked by leave-one-out (1e-2 .. 1e4)."""
    return make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=10.0 ** np.arange(-2, 5)))


@dataclass(frozen=True)
class ProbeResult:
    """Probe accuracy and control-task accuracy (Scores with bootstrap CIs over samples), their difference
    (selectivity) and the chance level (frequency of the most common label)."""

    accuracy: Score
    control_accuracy: Score
    selectivity: float
    chance: float

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy.to_dict(), "control_accuracy": self.control_accuracy.to_dict(),
                "selectivity": self.selectivity, "chance": self.chance}


def _samples(responses: xr.DataArray, use_trials: bool) -> tuple[np.ndarray, np.ndarray]:
    """(samples x neurons, stimulus index of each sample): complete single trials, or trial means."""
    if use_trials and "repeat" in responses.dims:
        x = responses.transpose("stimulus", "repeat", "neuron").values
        stim = np.repeat(np.arange(x.shape[0]), x.shape[1])
        x = x.reshape(-1, x.shape[2])
        keep = np.isfinite(x).all(1)
        if not keep.any():
            raise InterpError("no trial has a valid response from every neuron (e.g. neurons recorded in different "
                              "sessions); use trials=False to decode trial averages")
        return x[keep], stim[keep]
    mean = responses.mean("repeat", skipna=True) if "repeat" in responses.dims else responses
    x = mean.transpose("stimulus", "neuron").values
    if np.isnan(x).any():
        raise InterpError("some neurons have no valid response to some stimuli; drop them first")
    return x, np.arange(x.shape[0])


def linear_probe(source, labels: str | Sequence, site: str | None = None, stimuli: StimulusSet | None = None, *,
                 trials: bool = True, cv: int = 5, n_boot: int = 1000, ci_level: float = 0.95,
                 seed: int = 0) -> ProbeResult:
    """Decode ``labels`` (a stimulus coord name, e.g. "orientation", or one label per stimulus) from responses.

    ``trials``: decode single trials when the responses have repeats (else trial averages); ``cv`` stratified
    folds. Returns a :class:`ProbeResult`.
    """
    responses = measure(source, site, stimuli)
    if isinstance(labels, str):
        if labels not in responses.coords or responses[labels].dims != ("stimulus",):
            raise InterpError(f"no stimulus coord {labels!r}; stimulus coords are "
                              f"{[c for c in responses.coords if responses[c].dims == ('stimulus',)]}")
        per_stimulus = responses[labels].values
    else:
        per_stimulus = np.asarray(labels)
        if len(per_stimulus) != responses.sizes["stimulus"]:
            raise InterpError(f"got {len(per_stimulus)} labels for {responses.sizes['stimulus']} stimuli")
    per_stimulus = np.unique(per_stimulus, return_inverse=True)[1].ravel()  # class codes (labels may be floats)
    x, stim = _samples(responses, trials)
    y = per_stimulus[stim]
    counts = check_classes(y, cv)
    control = make_rng(seed, "control_labels").permutation(per_stimulus)[stim]
    probe = linear_decoder()
    folds = StratifiedKFold(cv, shuffle=True, random_state=seed)
    correct = cross_val_predict(probe, x, y, cv=folds) == y
    control_counts = np.unique(control, return_counts=True)[1]
    control_folds = StratifiedKFold(max(2, min(cv, int(control_counts.min()))), shuffle=True, random_state=seed)
    control_correct = cross_val_predict(probe, x, control, cv=control_folds) == control
    params = {"cv": cv, "trials": bool(trials and "repeat" in responses.dims), "n_samples": len(y)}
    # both on the same resamples of the samples (one seed), so they can be paired (``paired_difference``)
    accuracy = mean_score(correct, "probe_accuracy", seed, n_boot, ci_level, **params)
    control_accuracy = mean_score(control_correct, "control_accuracy", seed, n_boot, ci_level, **params)
    return ProbeResult(accuracy, control_accuracy, accuracy.value - control_accuracy.value,
                       float(counts.max() / counts.sum()))
