"""Category selectivity of units: selectivity index and d' for a target category vs all other stimuli.

- selectivity index (SI) = (R_target - R_other) / (R_target + R_other) of mean responses rectified at zero, the
  face-selectivity index of Tsao et al. 2006 (Science); in [-1, 1], NaN when both means are 0;
- d' = (mu_target - mu_other) / sqrt((var_target + var_other) / 2), over stimuli (trial-averaged), the
  discriminability used e.g. by Bao et al. 2020 and in fMRI localisers.

Stimuli: any stimulus coord that labels categories (the 92-image set's boolean ``face``, ``animate``, ... columns,
or a string ``category`` column), or :func:`face_stimuli`, scikit-image's ``lfw_subset`` (100 face crops from
Labeled Faces in the Wild and 100 non-face natural patches, 25 x 25, bundled, no download), resized.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from neurosafe.data.stimuli import StimulusSet
from neurosafe.interp._access import InterpError, is_recording, measure, stimulus_format

__all__ = ["category_selectivity", "face_stimuli"]


def face_stimuli(size: int = 32, color: bool = False) -> StimulusSet:
    """scikit-image's ``lfw_subset`` (100 faces, then 100 non-faces) resized to ``size``, with a ``category``
    column ("face" / "non-face") and a boolean ``face`` column."""
    from skimage import data
    from skimage.transform import resize

    raw = data.lfw_subset()
    images = np.stack([resize(im, (size, size), anti_aliasing=size < im.shape[0]) for im in raw])
    images = np.clip(images, 0, 1).astype(np.float32)[:, None]
    if color:
        images = np.repeat(images, 3, axis=1)
    is_face = np.arange(len(raw)) < 100
    meta = pd.DataFrame({"category": np.where(is_face, "face", "non-face"), "face": is_face})
    return StimulusSet(images, [f"lfw_{i:03d}" for i in range(len(raw))], meta)


def category_selectivity(source, category: str = "face", target=True, site: str | None = None,
                         stimuli: StimulusSet | None = None, *, size: int | None = None) -> xr.Dataset:
    """Per neuron: ``selectivity_index``, ``d_prime``, ``mean_target``, ``mean_other`` for stimuli whose coord
    ``category`` equals ``target`` vs the rest. Subjects without ``stimuli`` are shown :func:`face_stimuli`."""
    if stimuli is None and not is_recording(source):
        color, size = stimulus_format(source, size)
        stimuli = face_stimuli(size, color=color)
    responses = measure(source, site, stimuli)
    if category not in responses.coords or responses[category].dims != ("stimulus",):
        raise InterpError(f"no stimulus coord {category!r}; stimulus coords are "
                          f"{[c for c in responses.coords if responses[c].dims == ('stimulus',)]}")
    is_target = responses[category].values == target
    if is_target.sum() < 2 or (~is_target).sum() < 2:
        raise InterpError(f"need >= 2 stimuli with {category} == {target!r} and >= 2 without; got "
                          f"{int(is_target.sum())} and {int((~is_target).sum())}")
    mean = responses.mean("repeat", skipna=True) if "repeat" in responses.dims else responses
    r = mean.transpose("stimulus", "neuron").values
    a, b = r[is_target], r[~is_target]
    mu_a, mu_b = np.nanmean(a, 0), np.nanmean(b, 0)
    pa, pb = np.clip(mu_a, 0, None), np.clip(mu_b, 0, None)
    pooled = np.sqrt((np.nanvar(a, 0, ddof=1) + np.nanvar(b, 0, ddof=1)) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        si = np.where(pa + pb > 0, (pa - pb) / (pa + pb), np.nan)
        d = np.where(pooled > 0, (mu_a - mu_b) / pooled, np.nan)
    neuron_coords = {c: responses[c] for c in responses.coords if responses[c].dims == ("neuron",)}
    return xr.Dataset({"selectivity_index": ("neuron", si), "d_prime": ("neuron", d),
                       "mean_target": ("neuron", mu_a), "mean_other": ("neuron", mu_b)}, coords=neuron_coords,
                      attrs={"category": category, "target": str(target), "n_target": int(is_target.sum()),
                             "n_other": int((~is_target).sum())})
