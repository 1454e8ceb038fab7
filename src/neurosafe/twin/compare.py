"""An honest comparison of twins with linear baselines on the same split (``neurosafe twin compare``).

Per session, on one seeded train/test split of the stimuli: ridge regression (alpha per neuron by exact
leave-one-out CV, :class:`neurosafe.metrics.RidgeCVMapping`) on raw pixels, on the fixed V1 front end
(``neurosafe.subjects`` zoo ``v1_frontend``: Gabor quadrature pairs, simple and complex cells, divisive
normalisation; site ``normalize``, average-pooled) and on the twin core's features, and the twin itself.
Scores: per-neuron Pearson r with the repeat-averaged test responses (median and mean over neurons), the
paired difference of medians against ridge on the V1 front end with a bootstrap CI over neurons (the same
neuron resamples for both models), and, where the session has repeats, FEVE (median and pooled) and the
fraction of ceiling (median r over :func:`neurosafe.metrics.median_ceiling`). Sessions without repeats get
the ceiling-free scores only, stated as such.

The twin recipe that wins on small data (:func:`frontend_twin_config`) follows Cadena et al. 2019 (frozen
task-independent features + trained readout) and Lurz et al. 2021 (a core shared across sessions, a
readout fitted per new session): the frozen V1 front end, a small trained core shared across sessions, a
per-session readout.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import xarray as xr
from torch.nn import functional as F

from neurosafe.data.recording import validate_responses
from neurosafe.data.stimuli import StimulusSet
from neurosafe.metrics import RidgeCVMapping, Score, fraction_of_ceiling, median_ceiling, pooled_feve
from neurosafe.metrics import feve as feve_score
from neurosafe.metrics.bootstrap import bootstrap_statistic
from neurosafe.twin.config import FeatureCoreConfig, ReadoutConfig, TwinConfig, TwinTrainConfig
from neurosafe.twin.errors import TwinError
from neurosafe.twin.model import DigitalTwin

__all__ = [
    "FRONT_END",
    "front_end_features",
    "front_end_subject",
    "frontend_twin_config",
    "median_difference",
    "pixel_features",
    "ridge_test_correlation",
    "score_predictions",
    "test_correlation",
    "twin_features",
]

FRONT_END = "v1_frontend"
_SITE = "normalize"


def front_end_subject(in_channels: int = 3):
    """The fixed V1 front end (zoo ``v1_frontend``) as a subject whose ``normalize`` site feeds a feature
    core. Its Gabor, simple/complex and normalisation stages have no random parameters."""
    from neurosafe.subjects import TorchSubject
    from neurosafe.subjects.zoo import v1_frontend

    return TorchSubject(v1_frontend(in_channels=in_channels), device="cpu", progress=False)


def frontend_twin_config(*, channels: int = 48, kernel_sizes: Sequence[int] = (1,), pool: int = 4,
                         image_size: int = 56, readout: str = "factorized", epochs: int = 25,
                         loss: str = "poisson", seed_batch: int = 64) -> TwinConfig:
    """The twin recipe for small natural-image datasets: frozen V1 front end (``normalize``, average-pooled
    by ``pool``) -> trainable conv layers (``kernel_sizes``, ``channels``) shared across sessions ->
    per-session readout; RGB resized to ``image_size``; per-neuron loss normalisation across sessions;
    early stopping with learning-rate decay and restore-best."""
    core = FeatureCoreConfig(site=_SITE, pool=pool, kernel_sizes=tuple(kernel_sizes), channels=channels,
                             laplace=1e-4)
    train = TwinTrainConfig(epochs=epochs, loss=loss, normalize=True, batch_size=seed_batch, lr=3e-3,
                            patience=6, lr_patience=2, max_lr_decays=3, val_fraction=0.1)
    return TwinConfig(core=core, readout=ReadoutConfig(kind=readout, l1=1e-4), train=train, grey=False,
                      image_size=image_size)


def _resized(stimuli: StimulusSet, size: int | None, grey: bool) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(stimuli.images, dtype=np.float32))
    if grey and x.shape[1] == 3:
        x = torch.einsum("bchw,c->bhw", x, torch.tensor((0.299, 0.587, 0.114)))[:, None]
    if size is not None and tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="area")
    return x


def pixel_features(stimuli: StimulusSet, image_size: int = 32, grey: bool = True) -> np.ndarray:
    """Raw pixels (luminance by default, area-resized to ``image_size``), flattened: (stimulus, features)."""
    return _resized(stimuli, image_size, grey).flatten(1).double().numpy()


@torch.no_grad()
def front_end_features(stimuli: StimulusSet, image_size: int = 56, pool: int = 4, subject=None,
                       batch_size: int = 128) -> np.ndarray:
    """The V1 front end's ``normalize`` map on RGB images resized to ``image_size``, average-pooled by
    ``pool`` and flattened: (stimulus, features)."""
    subject = front_end_subject(stimuli.shape[1]) if subject is None else subject
    x = _resized(stimuli, image_size, grey=False)
    out = []
    for batch in x.split(batch_size):
        feats = subject.activations(batch, [_SITE])[_SITE]
        out.append((F.avg_pool2d(feats, pool) if pool > 1 else feats).flatten(1))
    return torch.cat(out).double().numpy()


@torch.no_grad()
def twin_features(twin: DigitalTwin, stimuli: StimulusSet, pool: int = 2, batch_size: int = 128) -> np.ndarray:
    """The twin core's output (the last core site), average-pooled by ``pool`` and flattened."""
    site = twin.network.core.sites[-1]
    out = []
    for i in range(0, len(stimuli), batch_size):
        x = torch.from_numpy(stimuli.images[i : i + batch_size]).to(twin.device)
        feats = twin.activations(x, [site])[site]
        out.append((F.avg_pool2d(feats, pool) if pool > 1 and min(feats.shape[-2:]) >= pool else feats)
                   .flatten(1).cpu())
    return torch.cat(out).double().numpy()


def _average(responses: xr.DataArray) -> np.ndarray:
    """Repeat averages (stimulus, neuron) (NaN where a stimulus has no valid repeat)."""
    values = responses.transpose("stimulus", "neuron", ...).values.astype(float)
    if values.ndim == 2:
        return values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=2)


def test_correlation(prediction: np.ndarray, responses: xr.DataArray) -> np.ndarray:
    """Per-neuron Pearson r of ``prediction`` (stimulus, neuron) with the repeat-averaged responses (NaN
    where either is constant)."""
    y = _average(responses)
    ok = np.isfinite(y)
    x = np.where(ok, prediction, 0.0)
    y = np.where(ok, y, 0.0)
    n = ok.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        xc = np.where(ok, x - x.sum(0) / n, 0.0)
        yc = np.where(ok, y - y.sum(0) / n, 0.0)
        return (xc * yc).sum(0) / np.sqrt((xc**2).sum(0) * (yc**2).sum(0))


def ridge_test_correlation(x_train: np.ndarray, train: xr.DataArray, x_test: np.ndarray,
                           test: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Ridge (alpha per neuron, exact LOO CV, features standardised on the training stimuli) from training
    features to training repeat averages; (test predictions, per-neuron test r)."""
    y = _average(train)
    means = np.nanmean(y, axis=0)
    y = np.where(np.isfinite(y), y, means)
    mu, sd = x_train.mean(0), x_train.std(0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    ridge = RidgeCVMapping(cv="loo").fit((x_train - mu) / sd, y)
    pred = ridge.predict((x_test - mu) / sd)
    return pred, test_correlation(pred, test)


def median_difference(r_a: np.ndarray, r_b: np.ndarray, seed: int = 0, n_boot: int = 2000,
                      level: float = 0.95) -> Score:
    """median(r_a) - median(r_b) over neurons with a paired bootstrap CI over neurons (each resample takes
    the same neurons for both models; percentile interval). Neurons undefined for either are dropped."""
    ok = np.isfinite(r_a) & np.isfinite(r_b)
    if ok.sum() < 2:
        raise TwinError("a paired comparison needs at least 2 neurons scored by both models")
    a, b = np.asarray(r_a)[ok], np.asarray(r_b)[ok]
    values = bootstrap_statistic(lambda ix: np.median(a[ix]) - np.median(b[ix]), len(a), n_boot, seed,
                                 "median_difference")
    return Score.from_bootstrap(values, len(a), level, provenance={"metric": "median r difference",
                                                                  "resampled": "neurons", "n_boot": n_boot})


def score_predictions(prediction: np.ndarray, responses: xr.DataArray, seed: int = 0, n_boot: int = 200) -> dict:
    """Test scores of predictions (stimulus, neuron) in the responses' order: median / mean r, and where
    the responses have >= 2 repeats, median FEVE, pooled FEVE (ratio of sums, CI), the median ceiling and
    the fraction of ceiling (CI over stimuli and neurons); else ``ceiling_free: True``."""
    responses = validate_responses(responses)
    r = test_correlation(prediction, responses)
    out: dict = {"median_r": float(np.nanmedian(r)), "mean_r": float(np.nanmean(r)), "n_neurons": len(r)}
    repeats = "repeat" in responses.dims and responses.sizes["repeat"] >= 2
    out["ceiling_free"] = not repeats
    if repeats:
        pred = xr.DataArray(prediction, dims=("stimulus", "neuron"),
                            coords={"stimulus_id": ("stimulus", responses.stimulus_id.values),
                                    "neuron_id": ("neuron", responses.neuron_id.values)})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            f = feve_score(responses, pred, seed=seed, n_boot=n_boot)
        pooled = pooled_feve(responses, pred, seed=seed, n_boot=n_boot)
        ceiling = median_ceiling(responses, seed=seed)
        out |= {"feve_median": f.value, "feve_median_ci": f.ci, "feve_pooled": pooled.value,
                "feve_pooled_ci": pooled.ci, "ceiling": ceiling,
                "fraction_of_ceiling": out["median_r"] / ceiling if ceiling > 0 else float("nan")}
        if ceiling > 0:  # CI over stimuli and neurons (r and ceiling recomputed on each resample)
            frac = fraction_of_ceiling(responses, pred, seed=seed, n_boot=n_boot)
            out["fraction_of_ceiling_ci"] = frac.ci
    return out


def per_neuron_table(results: Mapping[str, np.ndarray], neuron_ids: Sequence[str]) -> dict:
    """{neuron_id: {model: r}} (JSON-ready, NaN -> None)."""
    return {str(n): {m: (None if not np.isfinite(v[i]) else float(v[i])) for m, v in results.items()}
            for i, n in enumerate(neuron_ids)}
