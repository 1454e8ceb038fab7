"""Lesions: ablate units, channels or whole sites of a network (or neurons of the synthetic brain) with forward
hooks, and measure dose-response curves of task accuracy or brain alignment with confidence intervals.

Ablation methods (the standard set of interpretability work; e.g. Meyes et al. 2019 for ablations of units,
Chan et al. 2022 "causal scrubbing" for resampling ablation):

- ``zero``: the units' activations are set to 0;
- ``mean``: set to their mean over reference inputs (per position for conv channels), which keeps the
  downstream input statistics closer to normal than zeroing;
- ``resample``: replaced by their activations for a randomly drawn reference input (a fresh seeded draw per
  example and forward call), which removes the information the units carry about the current input while
  keeping their marginal distribution.

A unit is an index along dim 1 of the site's output: a channel of a conv layer (all positions), a feature of a
linear layer, a neuron of the synthetic brain. The ablation lasts while the ``with`` block runs; anything that
runs the model inside it (``features``, ``TorchSubject.activations``, a score) sees the lesion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
import xarray as xr
from sklearn.base import clone
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import Tensor, nn

from neurosafe.core.hooks import capture, first_tensor, hooked
from neurosafe.core.seeds import child_seed, make_rng
from neurosafe.data.recording import validate_responses
from neurosafe.data.stimuli import StimulusSet, gratings
from neurosafe.interp._access import (
    InterpError,
    batched_activations,
    differentiable,
    features,
    stimulus_format,
    subject_site,
)
from neurosafe.interp.probes import check_classes, linear_decoder
from neurosafe.metrics.bootstrap import bootstrap_indices, percentile_ci
from neurosafe.subjects import DifferentiableSubject, network

__all__ = ["ablate", "accuracy_score", "alignment_score", "decoding_score", "dose_response", "hook_point",
           "orientation_decoding", "unit_ablation_effects"]

METHODS = ("zero", "mean", "resample")


def hook_point(subject, site: str | None) -> tuple[DifferentiableSubject, nn.Module, str, str]:
    """(the subject, the network to hook, the module name in it: "" for the network's output, the site)."""
    subj, site = subject_site(subject, site)
    root = network(subj)
    if root is None:
        raise InterpError(f"lesions need the torch network behind a {type(subject).__name__}; it has none")
    if site and site in dict(root.named_modules()):
        return subj, root, site, site
    if site == tuple(subj.sites)[-1]:
        return subj, root, "", site
    raise InterpError(f"site {site!r} of {type(subject).__name__} is not a module of its network; cannot lesion it")


def _unit_index(units, width: int) -> Tensor:
    if units is None:
        return torch.arange(width)
    idx = torch.as_tensor(np.atleast_1d(np.asarray(units, dtype=int)))
    if len(idx) and (idx.min() < 0 or idx.max() >= width):
        raise InterpError(f"unit indices must lie in [0, {width}); got {idx.min().item()}..{idx.max().item()}")
    return idx


@contextmanager
def ablate(subject, site: str | None = None, units: Sequence[int] | None = None, *, method: str = "zero",
           reference: StimulusSet | Tensor | np.ndarray | None = None, seed: int = 0) -> Iterator[nn.Module]:
    """Ablate ``units`` (indices along dim 1; None: the whole site) of ``site`` while the block runs.

    ``subject``: a TorchSubject, the SyntheticBrain (its site is its output) or a plain module (site: a name
    from ``named_modules()``; an unknown name raises with close matches). ``reference`` inputs (images in
    [0, 1]) are required for ``mean`` and ``resample``. Yields the root module (run it, or the subject, inside).
    """
    if method not in METHODS:
        raise InterpError(f"ablation method must be one of {METHODS}; got {method!r}")
    subj, root, name, site = hook_point(subject, site)
    ref = None
    if method != "zero":
        if reference is None:
            raise InterpError(f"{method} ablation needs reference inputs (reference=...)")
        ref = batched_activations(subj, site, reference, len(reference))
    gen = torch.Generator().manual_seed(seed)

    def hook(_module, _inputs, output):
        out = first_tensor(output)
        idx = _unit_index(units, out.shape[1]).to(out.device)
        if ref is not None and ref.shape[1:] != out.shape[1:]:
            raise InterpError(f"reference activations of site {site!r} have shape {tuple(ref.shape[1:])} per input; "
                              f"this input gives {tuple(out.shape[1:])} (use reference images of the same size)")
        if method == "zero":
            replacement = torch.zeros_like(out[:, idx])
        elif method == "mean":
            replacement = ref[:, idx].mean(0, keepdim=True).expand_as(out[:, idx])
        else:
            pick = torch.randint(len(ref), (len(out),), generator=gen).to(ref.device)
            replacement = ref[pick][:, idx]
        out = out.clone()
        out[:, idx] = replacement.to(out.dtype)
        if isinstance(output, Tensor):
            return out
        return (out, *output[1:]) if isinstance(output, tuple) else [out, *output[1:]]

    with hooked(root, {name: hook}):
        yield root


# ------------------------------------------------------------------------------------------- scores
def accuracy_score(subject, inputs: StimulusSet | Tensor | np.ndarray, labels: Sequence[int],
                   batch_size: int = 256) -> Callable[[], np.ndarray]:
    """A score for :func:`dose_response`: per input, 1 if the model's output argmax equals its label, else 0."""
    subj, site = subject_site(subject, None)
    y = np.asarray(labels)
    if len(y) != len(inputs):
        raise InterpError(f"got {len(y)} labels for {len(inputs)} inputs")

    def score() -> np.ndarray:
        pred = batched_activations(subj, site, inputs, batch_size).argmax(1).cpu()
        return (pred.numpy() == y).astype(float)

    return score


def decoding_score(subject, site: str | None, stimuli: StimulusSet, labels: Sequence, cv: int = 5,
                   seed: int = 0, margin: bool = False) -> Callable[[], np.ndarray]:
    """A score: per stimulus, whether a cross-validated linear probe (``neurosafe.interp.probes.linear_decoder``)
    on ``site``'s activations decodes its label (e.g. grating orientation) correctly.

    ``margin=True``: a fixed readout instead (the lesion logic of a downstream area that does not re-learn): the
    fold probes are fitted once, now, on the intact activations, and each call returns per held-out stimulus
    the probe's decision value for the true class minus the largest other one. Refitting a probe after every
    lesion and scoring 0/1 correctness saturates: with many units left the accuracy stays exactly 1.0, so
    ablating any single unit "has no effect" (issue 18); the fixed readout's margin moves with every unit the
    readout uses."""
    y = np.unique(np.asarray(labels), return_inverse=True)[1].ravel()  # class codes (labels may be floats)
    if len(y) != len(stimuli):
        raise InterpError(f"got {len(y)} labels for {len(stimuli)} stimuli")
    check_classes(y, cv)
    folds = StratifiedKFold(cv, shuffle=True, random_state=seed)
    probe = linear_decoder()
    if margin:
        return _fixed_readout_margin(features(subject, site, stimuli), y, folds, subject, site, stimuli)

    def score() -> np.ndarray:
        pred = cross_val_predict(probe, features(subject, site, stimuli), y, cv=folds)
        return (pred == y).astype(float)

    return score


def _fixed_readout_margin(intact: np.ndarray, y: np.ndarray, folds: StratifiedKFold, subject, site: str | None,
                          stimuli: StimulusSet) -> Callable[[], np.ndarray]:
    """Per fold a probe fitted on the intact activations; the score is its held-out true-class margin."""
    splits = list(folds.split(intact, y))
    probes = [clone(linear_decoder()).fit(intact[train], y[train]) for train, _ in splits]

    def score() -> np.ndarray:
        x, out = features(subject, site, stimuli), np.empty(len(y))
        for probe, (_, test) in zip(probes, splits, strict=True):
            d = np.asarray(probe.decision_function(x[test]), dtype=float)
            if d.ndim == 1:  # two classes: one signed decision value for classes[1]
                d = np.stack([-d, d], axis=1)
            true = np.searchsorted(probe.classes_, y[test])
            other = d.copy()
            other[np.arange(len(test)), true] = -np.inf
            out[test] = d[np.arange(len(test)), true] - other.max(1)
        return out

    return score


def orientation_decoding(subject, site: str | None, size: int | None = None, cv: int = 5,
                         seed: int = 0, margin: bool = False) -> Callable[[], np.ndarray]:
    """The default task score: decoding grating orientation (8 orientations x 3 spatial frequencies x 3
    contrasts) from ``site``. One phase only: across phases the class means of phase-sensitive (linear-like)
    features cancel (a grating shifted by 180 deg is the contrast-inverted image), which makes linear decoding
    ill-posed rather than informative."""
    color, size = stimulus_format(subject, size)
    stim = gratings(orientations=tuple(np.arange(0, 180, 22.5)), spatial_frequencies=(0.04, 0.08, 0.16),
                    phases=(0.0,), contrasts=(0.25, 0.5, 1.0), size=size, color=color)
    return decoding_score(subject, site, stim, stim.metadata["orientation"].to_numpy(), cv=cv, seed=seed,
                          margin=margin)


def alignment_score(subject, site: str | None, stimuli: StimulusSet, responses: xr.DataArray, cv: int = 5,
                    seed: int = 0, alphas: Sequence[float] = tuple(10.0 ** np.arange(-2, 6))
                    ) -> Callable[[], np.ndarray]:
    """A brain-alignment score: per recorded neuron, the correlation between its trial-averaged responses and
    cross-validated ridge predictions from ``site``'s activations (linear predictivity, e.g. Yamins et al. 2014;
    Schrimpf et al. 2018). ``responses`` (stimulus, neuron[, repeat]) must cover ``stimuli``' ids."""
    responses = validate_responses(responses)
    mean = responses.mean("repeat", skipna=True) if "repeat" in responses.dims else responses
    target = mean.sel(stimulus=_positions(mean, stimuli)).transpose("stimulus", "neuron").values
    folds = KFold(cv, shuffle=True, random_state=seed)
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas))

    def score() -> np.ndarray:
        pred = cross_val_predict(model, features(subject, site, stimuli), target, cv=folds)
        a, b = pred - pred.mean(0), target - target.mean(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))

    return score


def _positions(responses: xr.DataArray, stimuli: StimulusSet) -> np.ndarray:
    pos = {str(s): i for i, s in enumerate(responses.stimulus_id.values)}
    missing = [s for s in stimuli.ids if s not in pos]
    if missing:
        raise InterpError(f"responses lack stimuli {missing[:5]}")
    return np.array([pos[s] for s in stimuli.ids])


# ---------------------------------------------------------------------------------------- dose-response
@contextmanager
def _width_probe(subject, site: str | None) -> Iterator[list[int]]:
    _, root, name, _ = hook_point(subject, site)
    widths: list[int] = []
    with capture(root, [name], transform=lambda out: widths.append(out.shape[1])):
        yield widths


def dose_response(subject, site: str | None, score: Callable[[], np.ndarray], *,
                  fractions: Sequence[float] = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0), method: str = "zero",
                  reference=None, n_draws: int = 5, n_boot: int = 1000, ci_level: float = 0.95,
                  seed: int = 0) -> xr.Dataset:
    """Score as a function of the fraction of ``site``'s units ablated (random subsets, ``n_draws`` per fraction).

    ``score()`` runs the model and returns per-item values (per stimulus correctness, per neuron alignment);
    it is called once intact and once per (fraction, draw) with the ablation active. Returns a Dataset over
    ``fraction``: ``score`` (mean over draws and items), ``ci_low``/``ci_high`` (percentile bootstrap that
    resamples items and draws), ``draw_score`` (fraction, draw), ``n_ablated``, and attrs ``intact``.
    """
    fractions = np.asarray(fractions, dtype=float)
    if fractions.size == 0 or (fractions < 0).any() or (fractions > 1).any():
        raise InterpError(f"fractions must lie in [0, 1]; got {fractions.tolist()}")
    if n_draws < 1 or n_boot < 0:
        raise InterpError(f"need n_draws >= 1 and n_boot >= 0; got {n_draws}, {n_boot}")
    with _width_probe(subject, site) as widths:
        intact = np.asarray(score(), dtype=float)
    if not widths:
        raise InterpError(f"the score never ran site {site!r}; it must run the subject's model")
    width = widths[0]
    rng = make_rng(seed, "lesion_units")
    per = np.empty((len(fractions), n_draws, len(intact)))
    n_ablated = np.rint(fractions * width).astype(int)
    for i, k in enumerate(n_ablated):
        for j in range(n_draws):
            if k == 0:
                per[i, j] = intact
                continue
            units = np.sort(rng.choice(width, size=k, replace=False))
            with ablate(subject, site, units, method=method, reference=reference, seed=child_seed(seed, "ablation", j)):
                per[i, j] = score()
    value = np.nanmean(per, axis=(1, 2))
    # resample items and draws (two independent streams of the one bootstrap)
    boots = np.array([np.nanmean(per[:, draws][:, :, items], axis=(1, 2)) for items, draws in zip(
        bootstrap_indices(per.shape[2], n_boot, seed)[1:], bootstrap_indices(n_draws, n_boot, seed, "draws")[1:],
        strict=True)]).reshape(n_boot, len(fractions))
    low, high = _percentile_ci(boots, ci_level)
    return xr.Dataset({"score": ("fraction", value), "ci_low": ("fraction", low), "ci_high": ("fraction", high),
                       "draw_score": (("fraction", "draw"), np.nanmean(per, axis=2)),
                       "n_ablated": ("fraction", n_ablated)},
                      coords={"fraction": fractions},
                      attrs={"site": str(site), "method": method, "n_units": width, "n_draws": n_draws,
                             "intact": float(np.nanmean(intact)), "ci_level": ci_level, "seed": seed})


def _percentile_ci(boots: np.ndarray, ci_level: float) -> tuple[np.ndarray, np.ndarray]:
    """Per column of bootstrap values (n_boot, k): the percentile interval's (low, high); NaN without one."""
    cis = [percentile_ci(column, ci_level) or (np.nan, np.nan) for column in boots.T]
    return np.array([c[0] for c in cis], dtype=float), np.array([c[1] for c in cis], dtype=float)


def unit_ablation_effects(subject, site: str | None, units: Sequence[int], score: Callable[[], np.ndarray], *,
                          method: str = "zero", reference=None, n_boot: int = 1000, ci_level: float = 0.95,
                          seed: int = 0) -> xr.Dataset:
    """Effect of ablating each unit alone: ``effect`` = mean score ablated - mean score intact, with a paired
    percentile bootstrap CI over the score's items (``ci_low``, ``ci_high``), over ``neuron``."""
    units = np.atleast_1d(np.asarray(units, dtype=int))
    with _width_probe(subject, site) as widths:
        intact = np.asarray(score(), dtype=float)
    if not widths:
        raise InterpError(f"the score never ran site {site!r}; it must run the subject's model")
    _unit_index(units, widths[0])
    diffs = np.empty((len(units), len(intact)))
    for i, u in enumerate(units):
        with ablate(subject, site, [int(u)], method=method, reference=reference, seed=seed):
            diffs[i] = np.asarray(score(), dtype=float) - intact
    boots = np.array([np.nanmean(diffs[:, items], axis=1)
                      for items in bootstrap_indices(diffs.shape[1], n_boot, seed)[1:]]).reshape(n_boot, len(units))
    low, high = _percentile_ci(boots, ci_level)
    ids = differentiable(subject, site).unit_ids(widths[0])[units]
    return xr.Dataset({"effect": ("neuron", np.nanmean(diffs, axis=1)), "ci_low": ("neuron", low),
                       "ci_high": ("neuron", high)},
                      coords={"neuron_id": ("neuron", ids.astype(str)), "unit_index": ("neuron", units)},
                      attrs={"intact": float(np.nanmean(intact)), "method": method, "site": str(site)})
