"""Stimuli: the validated ``StimulusSet`` and seeded generators (natural patches, gratings, noise).

Images are float32 arrays ``(n, channels, height, width)`` with values in [0, 1]. Orientation convention
(shared with the synthetic brain's Gabor filters): a grating of orientation ``theta`` varies along the unit
vector ``(cos theta, -sin theta)`` in (x, y) pixel coordinates with y pointing down, i.e. theta is measured
counter-clockwise on screen from the horizontal axis; 0 deg = luminance changes along x (vertical stripes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import product

import numpy as np
import pandas as pd

from neurosafe.core.errors import DataValidationError

__all__ = [
    "StimulusSet",
    "check_unique",
    "format_ids",
    "grating_carrier",
    "gratings",
    "make_stimuli",
    "natural_patches",
    "pink_noise",
    "white_noise",
]


def format_ids(ids: Sequence, limit: int = 5) -> str:
    ids = [str(i) for i in ids]
    more = f" (and {len(ids) - limit} more)" if len(ids) > limit else ""
    return ", ".join(repr(i) for i in ids[:limit]) + more


@dataclass(frozen=True, eq=False)
class StimulusSet:
    """Images ``(n, channels, height, width)`` in [0, 1] with unique string ids and a metadata table."""

    images: np.ndarray
    ids: np.ndarray = field(default=None)  # type: ignore[assignment]
    metadata: pd.DataFrame = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        images = np.asarray(self.images)
        if images.ndim == 3:
            images = images[:, None]
        if images.ndim != 4:
            raise DataValidationError("stimulus images must have shape (n, channels, height, width); "
                                      f"got shape {images.shape}")
        if images.shape[0] == 0:
            raise DataValidationError("a StimulusSet needs at least one image; got 0")
        if images.shape[1] not in (1, 3):
            raise DataValidationError(
                f"stimulus images need 1 (grey) or 3 (RGB) channels on axis 1; got {images.shape[1]} "
                f"(shape {images.shape}; channels-last arrays must be transposed)"
            )
        if not np.issubdtype(images.dtype, np.floating):
            raise DataValidationError(f"stimulus images must be floating point in [0, 1]; got dtype {images.dtype} "
                                      "(divide uint8 images by 255)")
        images = images.astype(np.float32, copy=False)
        bad = ~np.isfinite(images).reshape(len(images), -1).all(axis=1)
        lo, hi = float(np.nanmin(images)), float(np.nanmax(images))
        ids = np.asarray([f"stim_{i:05d}" for i in range(len(images))] if self.ids is None else self.ids)
        if ids.shape != (len(images),):
            raise DataValidationError(f"got {ids.size} stimulus ids for {len(images)} images")
        ids = ids.astype(str).astype(object)
        if bad.any():
            raise DataValidationError(f"stimulus images contain NaN or inf: ids {format_ids(ids[bad])}")
        if lo < 0 or hi > 1:
            out = ((images < 0) | (images > 1)).reshape(len(images), -1).any(axis=1)
            raise DataValidationError(f"stimulus pixel values must lie in [0, 1]; got range [{lo:.4g}, {hi:.4g}] "
                                      f"in ids {format_ids(ids[out])}")
        check_unique(ids, "stimulus")
        meta = pd.DataFrame(index=range(len(images))) if self.metadata is None else self.metadata
        if len(meta) != len(images):
            raise DataValidationError(f"stimulus metadata has {len(meta)} rows for {len(images)} images")
        meta = meta.reset_index(drop=True)
        object.__setattr__(self, "images", images)
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "metadata", meta)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index) -> StimulusSet:
        """Subset by integer index, slice, boolean mask or integer array (always returns a StimulusSet)."""
        idx = np.arange(len(self))[index]
        idx = np.atleast_1d(idx)
        return StimulusSet(self.images[idx], self.ids[idx], self.metadata.iloc[idx])

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return tuple(self.images.shape)  # type: ignore[return-value]

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return self.images.shape[2], self.images.shape[3]

    def select(self, ids: Sequence[str]) -> StimulusSet:
        """The stimuli with these ids, in this order; unknown ids raise a clear error."""
        pos = {s: i for i, s in enumerate(self.ids)}
        missing = [s for s in ids if str(s) not in pos]
        if missing:
            raise DataValidationError(f"stimulus ids not in the StimulusSet: {format_ids(missing)}")
        return self[np.array([pos[str(s)] for s in ids], dtype=int)]

    def aligned_to(self, responses) -> StimulusSet:
        """Reorder to match a recording's ``stimulus_id`` coordinate; raise if any id is missing. Already in
        that order: this set itself (a StimulusSet is immutable), no copy of the images."""
        ids = responses["stimulus_id"].values.astype(str)
        if len(ids) == len(self.ids) and np.array_equal(ids, self.ids.astype(str)):
            return self
        return self.select(list(ids))

    def resized(self, size: int | tuple[int, int], grey: bool = False) -> StimulusSet:
        """The same stimuli resized (bilinear, anti-aliased when shrinking), optionally converted to grey."""
        import torch
        import torch.nn.functional as F

        h, w = (size, size) if isinstance(size, int) else size
        images = self.grey()[:, None] if grey else self.images
        if (h, w) != self.size:
            images = F.interpolate(torch.from_numpy(np.ascontiguousarray(images)), size=(h, w), mode="bilinear",
                                   align_corners=False, antialias=(h < self.size[0] or w < self.size[1])).numpy()
        return StimulusSet(np.clip(images, 0, 1), self.ids, self.metadata)

    def grey(self) -> np.ndarray:
        """Luminance images ``(n, height, width)`` (ITU-R 601 weights for RGB)."""
        if self.images.shape[1] == 1:
            return self.images[:, 0]
        return np.tensordot(np.array([0.299, 0.587, 0.114], np.float32), self.images, axes=([0], [1]))


def check_unique(ids: np.ndarray, what: str) -> None:
    values, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise DataValidationError(f"duplicate {what} ids: {format_ids(values[counts > 1])}")


# --------------------------------------------------------------------------------------------- gratings
def grating_carrier(size: tuple[int, int], orientation: float, sf: float, phase: float,
                    center: tuple[float, float] | None = None) -> np.ndarray:
    """cos(2 pi sf u + phase) with u the coordinate along the orientation (degrees); sf in cycles/pixel."""
    h, w = size
    cx, cy = ((w - 1) / 2, (h - 1) / 2) if center is None else center
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    theta = np.deg2rad(orientation)
    u = (x - cx) * np.cos(theta) - (y - cy) * np.sin(theta)
    return np.cos(2 * np.pi * sf * u + np.deg2rad(phase))


def gratings(orientations: Sequence[float] = tuple(np.arange(0, 180, 22.5)),
             spatial_frequencies: Sequence[float] = (0.08,), phases: Sequence[float] = (0.0, 90.0, 180.0, 270.0),
             contrasts: Sequence[float] = (1.0,), size: int | tuple[int, int] = 32, aperture: float | None = None,
             color: bool = False, mean: float = 0.5) -> StimulusSet:
    """Sinusoidal gratings, the full factorial of the given parameters.

    ``spatial_frequencies`` are in cycles/pixel, angles in degrees, ``contrast`` is Michelson contrast
    (amplitude / mean). ``aperture`` is the radius in pixels of a soft circular window (None = full field).
    """
    h, w = (size, size) if isinstance(size, int) else size
    if min(h, w) < 2:
        raise DataValidationError(f"grating size must be at least 2x2 pixels; got {(h, w)}")
    rows, images = [], []
    window = np.ones((h, w))
    if aperture is not None:
        y, x = np.mgrid[0:h, 0:w]
        r = np.hypot(x - (w - 1) / 2, y - (h - 1) / 2)
        window = np.clip(aperture + 0.5 - r, 0.0, 1.0)
    for ori, sf, ph, c in product(orientations, spatial_frequencies, phases, contrasts):
        if not 0 <= c <= 1:
            raise DataValidationError(f"grating contrast must lie in [0, 1]; got {c}")
        img = mean + mean * c * window * grating_carrier((h, w), ori, sf, ph)
        images.append(np.clip(img, 0, 1))
        rows.append({"orientation": float(ori), "spatial_frequency": float(sf),
                     "phase": float(ph), "contrast": float(c), "aperture": np.nan if aperture is None else aperture})
    arr = np.stack(images)[:, None].astype(np.float32)
    if color:
        arr = np.repeat(arr, 3, axis=1)
    ids = [f"grating_o{r['orientation']:g}_sf{r['spatial_frequency']:g}_p{r['phase']:g}_c{r['contrast']:g}"
           for r in rows]
    return StimulusSet(arr, ids, pd.DataFrame(rows))


# ---------------------------------------------------------------------------------------------- noise
def _size(size: int | tuple[int, int]) -> tuple[int, int]:
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    if h < 2 or w < 2:
        raise DataValidationError(f"image size must be at least 2x2 pixels; got {(h, w)}")
    return h, w


def _check_n(n: int) -> None:
    if n < 1:
        raise DataValidationError(f"number of stimuli must be >= 1; got {n}")


def white_noise(n: int, size: int | tuple[int, int] = 32, seed: int = 0, contrast: float = 0.2,
                distribution: str = "gaussian", color: bool = False) -> StimulusSet:
    """Spatially white noise around mean grey: Gaussian (std = ``contrast``, clipped) or binary (+/- contrast)."""
    _check_n(n)
    h, w = _size(size)
    rng = np.random.default_rng(seed)
    c = 3 if color else 1
    if distribution == "gaussian":
        z = rng.standard_normal((n, c, h, w))
    elif distribution == "binary":
        z = rng.choice([-1.0, 1.0], size=(n, c, h, w))
    else:
        raise DataValidationError(f"distribution must be 'gaussian' or 'binary'; got {distribution!r}")
    imgs = np.clip(0.5 + contrast * z, 0, 1).astype(np.float32)
    meta = pd.DataFrame({"kind": "white_noise", "seed": seed, "index": np.arange(n)})
    return StimulusSet(imgs, [f"white_{seed}_{i:05d}" for i in range(n)], meta)


def pink_noise(n: int, size: int | tuple[int, int] = 32, seed: int = 0, exponent: float = 1.0, contrast: float = 0.2,
               color: bool = False) -> StimulusSet:
    """1/f^exponent amplitude-spectrum noise (random phases), RMS contrast ``contrast`` around grey, clipped."""
    _check_n(n)
    h, w = _size(size)
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = np.inf
    amp = f ** (-exponent)
    c = 3 if color else 1
    spec = amp * (rng.standard_normal((n, c, h, fx.shape[1])) + 1j * rng.standard_normal((n, c, h, fx.shape[1])))
    img = np.fft.irfft2(spec, s=(h, w))
    img /= img.std(axis=(-2, -1), keepdims=True) + 1e-12
    imgs = np.clip(0.5 + contrast * img, 0, 1).astype(np.float32)
    meta = pd.DataFrame({"kind": "pink_noise", "seed": seed, "exponent": exponent, "index": np.arange(n)})
    return StimulusSet(imgs, [f"pink_{seed}_{i:05d}" for i in range(n)], meta)


# ---------------------------------------------------------------------------------------- natural patches
NATURAL_SOURCES = (
    "astronaut", "camera", "chelsea", "coffee", "coins", "grass", "gravel", "brick",
    "rocket", "moon", "hubble_deep_field", "motorcycle",
)


@cache
def _source_image(name: str) -> np.ndarray:
    """A bundled scikit-image photograph (CC0 / public domain) as float RGB (h, w, 3) in [0, 1]."""
    from skimage import data, util

    img = data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()
    img = util.img_as_float32(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    return img[..., :3]


def natural_patches(n: int, size: int | tuple[int, int] = 32, seed: int = 0, color: bool = False,
                    scales: tuple[float, float] = (1.0, 4.0), sources: Sequence[str] = NATURAL_SOURCES) -> StimulusSet:
    """Random crops of the natural photographs bundled with scikit-image, resized to ``size``.

    Each patch takes a random source image, a random scale (crop side = size x scale, log-uniform in
    ``scales``) and a random position; a crop is down-sampled with anti-aliasing. No download.
    """
    from skimage.transform import resize

    _check_n(n)
    h, w = _size(size)
    unknown = sorted(set(sources) - set(NATURAL_SOURCES))
    if unknown or not sources:
        raise DataValidationError(f"unknown natural image sources {unknown}; choose from {NATURAL_SOURCES}")
    rng = np.random.default_rng(seed)
    out = np.empty((n, 3 if color else 1, h, w), np.float32)
    rows = []
    for i in range(n):
        src = sources[rng.integers(len(sources))]
        img = _source_image(src)
        scale = float(np.exp(rng.uniform(np.log(scales[0]), np.log(scales[1]))))
        ch, cw = min(round(h * scale), img.shape[0]), min(round(w * scale), img.shape[1])
        y0 = int(rng.integers(0, img.shape[0] - ch + 1))
        x0 = int(rng.integers(0, img.shape[1] - cw + 1))
        crop = img[y0:y0 + ch, x0:x0 + cw]
        if not color:  # luminance first: filtering and resampling are linear, so one channel does (3x faster)
            crop = crop @ np.array([0.299, 0.587, 0.114], np.float32)
        patch = resize(crop, (h, w), anti_aliasing=(ch > h), preserve_range=True)
        if not color:
            out[i, 0] = patch
        else:
            out[i] = patch.transpose(2, 0, 1)
        rows.append({"source": src, "x": x0, "y": y0, "crop_height": ch, "crop_width": cw})
    np.clip(out, 0, 1, out=out)
    return StimulusSet(out, [f"nat_{seed}_{i:05d}" for i in range(n)], pd.DataFrame(rows))


def make_stimuli(kind: str, n: int, size: int = 32, seed: int = 0) -> StimulusSet:
    """One entry point for the CLI and studies: ``natural``, ``gratings`` (full default set), ``white_noise``,
    ``pink_noise``."""
    if kind == "natural":
        return natural_patches(n, size, seed=seed)
    if kind == "gratings":
        return gratings(size=size, spatial_frequencies=(0.04, 0.08, 0.16))
    if kind == "white_noise":
        return white_noise(n, size, seed=seed)
    if kind == "pink_noise":
        return pink_noise(n, size, seed=seed)
    raise DataValidationError(f"unknown stimulus kind {kind!r}; choose natural, gratings, white_noise or pink_noise")
