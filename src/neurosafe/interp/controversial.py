"""Controversial stimuli: images on which two models disagree as much as possible (Golan, Raju & Kriegeskorte
2020, "Controversial stimuli: pitting neural networks against each other as models of human cognition", PNAS).

Two kinds of disagreement, both optimised by the MEI optimiser of :mod:`neurosafe.interp.mei` (same noise
starts, jitter, blurred and normalised gradient steps, contrast budget and best-of-seeds; the disagreement is
simply the "unit" it ascends):

- **responses** (:func:`controversial_stimuli`): for neuron j, model A's predicted response minus model B's (and
  the reverse), each standardised by that model's mean and s.d. over natural images, so a unit of disagreement is
  one natural-image s.d.; the setting of twins that predict the same neurons.
- **classes** (:func:`controversial_classes`): for a pair (i, j), Golan et al.'s controversiality
  ``min(log p_A(i | x), log p_B(j | x))``: images model A calls i and model B calls j.

:func:`model_discrimination` measures how strongly a recording favours model A over model B on a set of stimuli:
the per-neuron Poisson (or Gaussian) log-likelihood ratio per trial, with a bootstrap CI over neurons
(``metrics.mean_score``); two stimulus sets are compared with ``metrics.paired_difference``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import xarray as xr
from torch import Tensor, nn

from neurosafe.data.recording import validate_responses
from neurosafe.data.stimuli import StimulusSet
from neurosafe.interp._access import InterpError, differentiable, input_shape, resolve_units
from neurosafe.interp.mei import AscentConfig, most_exciting_inputs
from neurosafe.metrics.score import Score, mean_score

__all__ = ["controversial_classes", "controversial_stimuli", "discrimination_experiment", "model_discrimination",
           "twin_and_wrong_model"]


class _Objective(nn.Module):
    """A function of images -> (B, n_objectives) as a module whose buffer pins the device."""

    def __init__(self, fn, device: torch.device):
        super().__init__()
        self.fn = fn
        self.register_buffer("anchor", torch.zeros((), device=device))

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)


@torch.no_grad()
def _natural_stats(forward, natural: StimulusSet, device, batch_size: int = 512) -> tuple[Tensor, Tensor]:
    out = torch.cat([forward(torch.from_numpy(natural.images[i:i + batch_size]).to(device))
                     for i in range(0, len(natural), batch_size)])
    return out.mean(0), out.std(0).clamp_min(1e-6)


def controversial_stimuli(model_a, model_b, natural: StimulusSet, *, site_a: str | None = None,
                          site_b: str | None = None, units=None, n_seeds: int = 2,
                          config: AscentConfig | None = None, seed: int = 0, batch_size: int | None = None,
                          image_shape: tuple[int, int, int] | None = None) -> xr.Dataset:
    """For each unit j (index or id of model A's site; model B must predict the same units, in the same order), one
    image maximising z_A,j - z_B,j and one maximising z_B,j - z_A,j (z: response standardised over ``natural``).

    Returns the MEI Dataset over ``neuron`` (2 per unit) with ``image``, ``activation`` (the standardised
    disagreement reached), plus coords ``target`` (unit index) and ``direction`` ("A>B" / "B>A").
    """
    a, b = differentiable(model_a, site_a), differentiable(model_b, site_b)
    shape = input_shape(a, image_shape)
    if natural.images.shape[1:] != shape:
        raise InterpError(f"natural images have shape {natural.images.shape[1:]}; the models see {shape}")
    if len(natural) < 2:
        raise InterpError("need at least 2 natural images to standardise the responses")
    with torch.no_grad():
        probe = torch.full((1, *shape), 0.5, device=a.device)
        n_a, n_b = a.forward(probe).shape[1], b.forward(probe.to(b.device)).shape[1]
    if n_a != n_b:
        raise InterpError(f"the two models predict different numbers of units ({n_a} vs {n_b})")
    idx = resolve_units(units, n_a, a.unit_ids(n_a))
    mu_a, sd_a = _natural_stats(a.forward, natural, a.device)
    mu_b, sd_b = _natural_stats(b.forward, natural, b.device)

    def disagreement(x: Tensor) -> Tensor:
        d = (a.forward(x) - mu_a) / sd_a - ((b.forward(x.to(b.device)) - mu_b) / sd_b).to(x.device)
        return torch.cat([d, -d], dim=1)

    with _eval(a.module), _eval(b.module):
        ds = most_exciting_inputs(_Objective(disagreement, a.device), None, np.concatenate([idx, n_a + idx]),
                                  n_seeds=n_seeds, config=config, seed=seed, batch_size=batch_size, image_shape=shape)
    ids = a.unit_ids(n_a)
    return ds.assign_coords(target=("neuron", np.concatenate([idx, idx])),
                            target_id=("neuron", np.concatenate([ids[idx], ids[idx]]).astype(str)),
                            direction=("neuron", np.repeat(["A>B", "B>A"], len(idx)))).assign_attrs(
        kind="controversial responses", site_a=str(a.site), site_b=str(b.site))


def controversial_classes(model_a, model_b, pairs: Sequence[tuple[int, int]], *, n_seeds: int = 2,
                          config: AscentConfig | None = None, seed: int = 0,
                          image_shape: tuple[int, int, int] | None = None) -> xr.Dataset:
    """For each (i, j) in ``pairs``, an image maximising min(log p_A(i|x), log p_B(j|x)) (Golan et al. 2020); the
    models' outputs are logits. Returns the MEI Dataset over ``neuron`` (one per pair) with coords ``class_a``,
    ``class_b`` and the reached ``activation`` (the controversiality, a log-probability)."""
    a, b = differentiable(model_a, None), differentiable(model_b, None)
    shape = input_shape(a, image_shape)
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    with torch.no_grad():
        probe = torch.full((1, *shape), 0.5, device=a.device)
        k_a, k_b = a.forward(probe).shape[1], b.forward(probe.to(b.device)).shape[1]
    if len(pairs) == 0 or pairs[:, 0].min() < 0 or pairs[:, 0].max() >= k_a or pairs[:, 1].min() < 0 \
            or pairs[:, 1].max() >= k_b:
        raise InterpError(f"pairs must be (class of A < {k_a}, class of B < {k_b}); got {pairs.tolist()}")
    ia, ib = torch.as_tensor(pairs[:, 0], device=a.device), torch.as_tensor(pairs[:, 1], device=a.device)

    def controversiality(x: Tensor) -> Tensor:
        la = torch.log_softmax(a.forward(x), 1)[:, ia]
        lb = torch.log_softmax(b.forward(x.to(b.device)), 1).to(x.device)[:, ib]
        return torch.minimum(la, lb)

    with _eval(a.module), _eval(b.module):
        ds = most_exciting_inputs(_Objective(controversiality, a.device), None, np.arange(len(pairs)),
                                  n_seeds=n_seeds, config=config, seed=seed, image_shape=shape)
    return ds.assign_coords(class_a=("neuron", pairs[:, 0]), class_b=("neuron", pairs[:, 1])).assign_attrs(
        kind="controversial classes")


def _eval(module):
    from neurosafe.core.hooks import eval_mode

    return eval_mode(module)


def model_discrimination(recording: xr.DataArray, predicted_a: np.ndarray | xr.DataArray,
                         predicted_b: np.ndarray | xr.DataArray, *, noise: str = "poisson", seed: int = 0,
                         n_boot: int = 1000) -> Score:
    """Evidence of a recording for model A over model B: per neuron, the mean log-likelihood ratio per trial
    log p(y | A) - log p(y | B) (Poisson: y log(a / b) - (a - b); Gaussian with unit variance: ((y - b)^2 -
    (y - a)^2) / 2); the mean over neurons with a bootstrap CI over neurons (``per_unit`` holds the values).
    ``predicted_*``: (stimulus, neuron) expected responses for the recording's stimuli, in its order."""
    resp = validate_responses(recording)
    y = resp.transpose("stimulus", "neuron", ...).values
    y = y if y.ndim == 3 else y[..., None]
    pa, pb = (np.asarray(p, float) for p in (predicted_a, predicted_b))
    if pa.shape != y.shape[:2] or pb.shape != y.shape[:2]:
        raise InterpError(f"predictions must be (stimulus, neuron) = {y.shape[:2]}; got {pa.shape} and {pb.shape}")
    if noise == "poisson":
        if (pa <= 0).any() or (pb <= 0).any():
            raise InterpError("Poisson likelihoods need positive predicted rates")
        llr = y * np.log(pa / pb)[..., None] - (pa - pb)[..., None]
    elif noise == "gaussian":
        llr = ((y - pb[..., None]) ** 2 - (y - pa[..., None]) ** 2) / 2
    else:
        raise InterpError(f"noise must be 'poisson' or 'gaussian'; got {noise!r}")
    per_neuron = np.nanmean(llr, axis=(0, 2))
    score = mean_score(per_neuron, "model discrimination (log-likelihood ratio per trial)", seed=seed, n_boot=n_boot,
                       noise=noise)
    per_unit = xr.DataArray(per_neuron, dims="neuron", coords={"neuron_id": ("neuron", resp["neuron_id"].values)})
    return Score(**{**{f: getattr(score, f) for f in ("value", "ci", "n", "method", "replicates", "provenance")},
                    "per_unit": per_unit})


def discrimination_experiment(brain, model_a, model_b, *, n_units: int | None = None, n_natural_reference: int = 500,
                              repeats: int = 4, n_seeds: int = 2, config: AscentConfig | None = None, seed: int = 0,
                              n_boot: int = 1000) -> dict:
    """Golan et al.'s test on a brain with a known answer: synthesise controversial stimuli between ``model_a``
    and ``model_b`` (for ``n_units`` neurons, both directions), record ``brain`` on them and on as many natural
    patches, and compare the evidence for A over B (:func:`model_discrimination`, Poisson) on the two sets:
    ``controversial``, ``natural`` and ``difference`` (paired bootstrap over neurons). ``brain`` needs ``record``
    (the synthetic brain); the models predict its neurons (e.g. a twin and a wrong model)."""
    from neurosafe.core.seeds import child_seed
    from neurosafe.data.stimuli import natural_patches
    from neurosafe.metrics.score import paired_difference

    size = getattr(brain, "image_size", 32)
    reference = natural_patches(n_natural_reference, size, seed=child_seed(seed, "reference patches"))
    n = getattr(brain, "n_neurons", None)
    units = None if n_units is None else np.arange(min(n_units, n or n_units))
    ds = controversial_stimuli(model_a, model_b, reference, units=units, n_seeds=n_seeds, config=config, seed=seed)
    controversial = StimulusSet(ds["image"].values.astype(np.float32),
                                ids=np.array([f"controversial_{i:04d}" for i in range(ds.sizes["neuron"])]))
    natural = natural_patches(len(controversial), size, seed=child_seed(seed, "natural test patches"))
    scores = {}
    for name, stimuli in (("controversial", controversial), ("natural", natural)):
        rec = brain.record(stimuli, repeats=repeats, seed=child_seed(seed, "trials", name))
        pa = _predict(model_a, stimuli)
        pb = _predict(model_b, stimuli)
        scores[name] = model_discrimination(rec, pa, pb, seed=seed, n_boot=n_boot)
    scores["difference"] = paired_difference(scores["controversial"], scores["natural"],
                                             name="discrimination: controversial - natural")
    scores["stimuli"] = ds
    return scores


def _predict(model, stimuli: StimulusSet) -> np.ndarray:
    from neurosafe.interp._access import measure

    return measure(model, None, stimuli).transpose("stimulus", "neuron").values


def twin_and_wrong_model(n_neurons: int = 16, seed: int = 0):
    """(brain, twin, wrong model) for :func:`discrimination_experiment`: a V1 synthetic brain; a twin with the same
    neurons calibrated on different natural patches (a close but imperfect copy); a wrong model with the same
    Gabor filters but every complex cell replaced by a simple cell (``fraction_complex=0``: the same random draws,
    so only the mechanism differs)."""
    from neurosafe.data import SyntheticBrain

    brain = SyntheticBrain(n_neurons=n_neurons, seed=seed, fraction_complex=0.5, n_calibration=600)
    twin = SyntheticBrain(n_neurons=n_neurons, seed=seed, fraction_complex=0.5, n_calibration=300)
    wrong = SyntheticBrain(n_neurons=n_neurons, seed=seed, fraction_complex=0.0, n_calibration=600)
    return brain, twin, wrong
