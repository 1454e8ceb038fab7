"""Dictionary features as units: a differentiable subject whose site ``features`` is a sparse autoencoder's
feature activations at a site of another subject, so every in-silico experiment of ``neurosafe.interp`` (tuning,
receptive fields, MEIs, lesions) and the unit cards of ``neurosafe.report`` take dictionary features exactly as
they take neurons (Bricken et al. 2023 interpret SAE features with activation examples and feature
visualisation; here with the whole electrophysiology work-up). :func:`top_natural_images` gives any unit's (or
feature's) most-activating natural images.
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr
from torch import Tensor, nn

from neurosafe.data.stimuli import StimulusSet
from neurosafe.interp._access import InterpError, UnitResponder, differentiable, resolve_units, subject_site
from neurosafe.interp.dictionary import Dictionary, to_samples
from neurosafe.subjects import DifferentiableSubject, as_differentiable, network

__all__ = ["FEATURE_SITE", "DictionaryFeatures", "feature_subject", "top_natural_images"]

FEATURE_SITE = "features"


class DictionaryFeatures(nn.Module):
    """images -> feature activations of ``dictionary`` (a trained SAE) at ``site`` of ``subject``: (B, K) for a
    (B, D) site, (B, K, H, W) feature maps for a (B, C, H, W) site (a feature's unit is then the centre
    position, the convention of ``neurosafe.interp``). The submodule ``features`` is the hookable site."""

    def __init__(self, subject, site: str | None, dictionary: Dictionary):
        super().__init__()
        if dictionary.module is None:
            raise InterpError(f"feature units need a differentiable dictionary (an SAE); got {dictionary.method!r}")
        subj, site = subject_site(subject, site)
        self._subject, self.site = subj, site
        base = network(subj)
        self.base = base if base is not None else nn.Identity()
        self.sae = dictionary.module
        self.features = nn.Identity()
        self.neuron_ids = np.array([f"feature_{k:04d}" for k in range(dictionary.n_features)], dtype=object)
        size = getattr(subject, "image_size", None)
        if size is not None:
            self.image_size = size

    def forward(self, x: Tensor) -> Tensor:
        act = self._subject.activations(x, [self.site])[self.site]
        f = self.sae.encode(to_samples(act).float())
        if act.ndim == 4:
            b, _c, h, w = act.shape
            f = f.view(b, h, w, -1).permute(0, 3, 1, 2)
        return self.features(f)


def feature_subject(subject, site: str | None, dictionary: Dictionary) -> DifferentiableSubject:
    """A ``DifferentiableSubject`` whose site :data:`FEATURE_SITE` ("features") is the dictionary's features at
    ``site`` of ``subject``; pass it with ``site="features"`` to any interp experiment or to the unit cards."""
    module = DictionaryFeatures(subject, site, dictionary)
    subj = as_differentiable(module.to(next(dictionary.module.parameters()).device))
    if hasattr(module, "image_size"):
        subj.image_size = module.image_size
    subj.neuron_ids = module.neuron_ids
    return subj


@torch.no_grad()
def top_natural_images(subject, site: str | None, stimuli: StimulusSet, units=None, k: int = 8) -> xr.Dataset:
    """Each unit's ``k`` most-activating images of ``stimuli``: ``image`` (neuron, rank, channel, y, x),
    ``activation`` (neuron, rank), ``stimulus_id`` (neuron, rank)."""
    if k < 1 or k > len(stimuli):
        raise InterpError(f"k must lie in [1, {len(stimuli)}] (the number of stimuli); got {k}")
    diff = differentiable(subject, site)
    resp = UnitResponder(diff).respond(stimuli).values
    ids = diff.unit_ids(resp.shape[1])
    idx = resolve_units(units, resp.shape[1], ids)
    order = np.argsort(-resp[:, idx], axis=0, kind="stable")[:k].T  # (units, k)
    return xr.Dataset({"image": (("neuron", "rank", "channel", "y", "x"), stimuli.images[order]),
                       "activation": (("neuron", "rank"), np.take_along_axis(resp[:, idx].T, order, 1)),
                       "stimulus_id": (("neuron", "rank"), stimuli.ids[order].astype(str))},
                      coords={"neuron_id": ("neuron", ids[idx].astype(str)), "unit_index": ("neuron", idx)},
                      attrs={"site": str(diff.site)})
