"""Common corruptions in the style of Hendrycks & Dietterich 2019 ("Benchmarking neural network robustness
to common corruptions and perturbations", ICLR), five severities each, in numpy/scipy/Pillow (no torchvision).

Severity parameters are those of the authors' CIFAR-10-C generator (32x32 images); parameters given in
pixels are scaled by image size / 32 for larger images (smaller images keep the CIFAR values, which
would otherwise shrink below a pixel). Differences from their code, named: motion blur uses our own
one-sided Gaussian line kernel along a random angle (the kernel ImageMagick's MotionBlurImage applies,
which they call through Wand) with integer-pixel taps, and its severity-4 sigma is 2.25 instead of 2 (with
sigma 2 at severities 3 and 4 the larger radius only adds weights below 1e-9, so the two would coincide);
fog's plasma fractal is our diamond-square with the noise amplitude falling by ``decay**2`` per octave, as
theirs; the affine and elastic warps use scipy's interpolation instead of OpenCV, and the affine jitter
rises with severity (see ``_ELASTIC``). Grey images get brightness as a shift of the value channel of HSV
(the same thing for one channel). On images much smaller than 32 px pixelate's box resampling aliases, so
its distance from the clean image is not always monotone in severity there. Every random draw comes from
``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from neurosafe.robust._inputs import AttackError, as_images, restore_type

__all__ = ["CORRUPTIONS", "corrupt"]

Corruption = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


def _scale(img: np.ndarray) -> float:
    return max(1.0, max(img.shape[-2:]) / 32.0)


# ------------------------------------------------------------------------------------------------ noise
def gaussian_noise(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    sd = [0.04, 0.06, 0.08, 0.09, 0.10][severity - 1]
    return img + rng.normal(scale=sd, size=img.shape)


def shot_noise(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    photons = [500, 250, 100, 75, 50][severity - 1]
    return rng.poisson(img * photons) / photons


def impulse_noise(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Salt-and-pepper: a fraction of values (per channel) set to 0 or 1 with equal odds."""
    amount = [0.01, 0.02, 0.03, 0.05, 0.07][severity - 1]
    hit = rng.random(img.shape) < amount
    salt = rng.random(img.shape) < 0.5
    return np.where(hit, salt.astype(img.dtype), img)


# ------------------------------------------------------------------------------------------------- blur
def _filter_channels(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return np.stack([ndimage.convolve(c, kernel, mode="mirror") for c in img])


def gaussian_blur(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    sigma = [0.4, 0.6, 0.7, 0.8, 1.0][severity - 1] * _scale(img)
    return ndimage.gaussian_filter(img, sigma=(0, sigma, sigma), mode="nearest")


def defocus_blur(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Convolution with a disk of the given radius, anti-aliased by a small Gaussian."""
    radius, alias = np.array(
        [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1.0, 0.2), (1.5, 0.1)][severity - 1]
    ) * _scale(img)
    half = int(np.ceil(radius)) + 2
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1]
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float64)
    disk = ndimage.gaussian_filter(disk / disk.sum(), alias, mode="constant", radius=1)
    return _filter_channels(img, disk / disk.sum())


def motion_blur(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Average of the image shifted along a random direction (-45..45 deg), one-sided Gaussian weights."""
    radius, sigma = np.array([(6, 1), (6, 1.5), (6, 2), (8, 2.25), (9, 2.5)][severity - 1]) * _scale(img)
    angle = np.deg2rad(rng.uniform(-45, 45))
    taps = np.arange(int(np.ceil(radius)) * 2 + 1)
    weights = np.exp(-(taps**2) / (2 * sigma**2))
    weights /= weights.sum()
    h, w = img.shape[-2:]
    pad = len(taps)
    padded = np.pad(img, ((0, 0), (pad, pad), (pad, pad)), mode="edge")
    out = np.zeros_like(img)
    for t, wt in zip(taps, weights, strict=True):
        dx, dy = round(t * np.cos(angle)), round(t * np.sin(angle))
        out += wt * padded[:, pad + dy : pad + dy + h, pad + dx : pad + dx + w]
    return out


# ------------------------------------------------------------------------------------------ photometric
def contrast(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    factor = [0.75, 0.5, 0.4, 0.3, 0.15][severity - 1]
    mean = img.mean(axis=(-2, -1), keepdims=True)
    return (img - mean) * factor + mean


def brightness(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Add to the value channel in HSV space."""
    shift = [0.05, 0.1, 0.15, 0.2, 0.3][severity - 1]
    if img.shape[0] == 1:
        return img + shift
    from skimage.color import hsv2rgb, rgb2hsv

    hsv = rgb2hsv(np.moveaxis(np.clip(img, 0, 1), 0, -1))
    hsv[..., 2] = np.clip(hsv[..., 2] + shift, 0, 1)
    return np.moveaxis(hsv2rgb(hsv), -1, 0)


def _plasma_fractal(size: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    """Diamond-square height map on a periodic grid of side 2^k >= size, scaled to [0, 1], cropped."""
    n = 1 << max(1, int(np.ceil(np.log2(size))))
    grid = np.zeros((n, n))
    step, amplitude = n, 1.0
    while step >= 2:
        half = step // 2
        corners = grid[0::step, 0::step]
        right, down = np.roll(corners, -1, axis=1), np.roll(corners, -1, axis=0)
        centres = (corners + right + down + np.roll(down, -1, axis=1)) / 4
        grid[half::step, half::step] = centres + amplitude * rng.uniform(-1, 1, centres.shape)
        # diamond points: each has two corners and two centres as neighbours
        up_centres = np.roll(grid[half::step, half::step], 1, axis=0)
        left_centres = np.roll(grid[half::step, half::step], 1, axis=1)
        top_edges = (corners + right + grid[half::step, half::step] + up_centres) / 4
        left_edges = (corners + down + grid[half::step, half::step] + left_centres) / 4
        grid[0::step, half::step] = top_edges + amplitude * rng.uniform(-1, 1, top_edges.shape)
        grid[half::step, 0::step] = left_edges + amplitude * rng.uniform(-1, 1, left_edges.shape)
        step, amplitude = half, amplitude / decay**2
    grid -= grid.min()
    return (grid / grid.max())[:size, :size]


def fog(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    strength, decay = [(0.2, 3), (0.5, 3), (0.75, 2.5), (1.0, 2), (1.5, 1.75)][severity - 1]
    h, w = img.shape[-2:]
    peak = img.max()
    fogged = img + strength * _plasma_fractal(max(h, w), decay, rng)[:h, :w]
    return fogged * peak / (peak + strength)


# ---------------------------------------------------------------------------------------------- digital
def jpeg_compression(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Encode and decode with Pillow's JPEG codec at the given quality (the image passes through uint8)."""
    from PIL import Image

    quality = [80, 65, 58, 50, 40][severity - 1]
    arr = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr[0] if arr.shape[0] == 1 else np.moveaxis(arr, 0, -1)).save(buffer, format="JPEG",
                                                                                   quality=quality)
    decoded = np.asarray(Image.open(buffer), dtype=np.float64) / 255
    return decoded[None] if decoded.ndim == 2 else np.moveaxis(decoded, -1, 0)


def pixelate(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Box down-sampling to a fraction of the size and box up-sampling back (per channel, float precision)."""
    from PIL import Image

    factor = [0.95, 0.9, 0.85, 0.75, 0.65][severity - 1]
    h, w = img.shape[-2:]
    small = (max(1, int(w * factor)), max(1, int(h * factor)))
    out = []
    for channel in img.astype(np.float32):
        low = Image.fromarray(channel).resize(small, Image.Resampling.BOX)
        out.append(np.asarray(low.resize((w, h), Image.Resampling.BOX)))
    return np.stack(out).astype(np.float64)


# (displacement alpha, smoothing sigma, affine jitter) as fractions of the image size. The authors' CIFAR
# table, (0, 0, .08), (.05, .2, .07), (.08, .06, .06), (.1, .04, .05), (.1, .03, .03), lets the affine
# jitter fall as the elastic field grows, so distance from the clean image is not monotone in severity
# (severity 1 is the farthest of the first three); we keep their elastic (alpha, sigma) and let the
# affine jitter rise, 0.01 to 0.05.
_ELASTIC = [(0.0, 0.2, 0.01), (0.05, 0.2, 0.02), (0.08, 0.06, 0.03), (0.1, 0.04, 0.04), (0.1, 0.03, 0.05)]


def elastic_transform(img: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Random affine warp (three control points jittered) followed by a smoothed random displacement field
    (Simard, Steinkraus & Platt 2003), bilinear interpolation with reflected borders."""
    h, w = img.shape[-2:]
    size = min(h, w)
    alpha, sigma, jitter = np.array(_ELASTIC[severity - 1]) * size
    centre, side = np.array([h, w], float) // 2, size // 3
    src = np.array([centre + side, [centre[0] + side, centre[1] - side], centre - side])
    dst = src + rng.uniform(-jitter, jitter, src.shape)
    # affine map of output (row, col) to input (row, col): solve dst -> src exactly from three points
    coeffs = np.linalg.solve(np.c_[dst, np.ones(3)], src)
    matrix, offset = coeffs[:2].T, coeffs[2]
    warped = np.stack([ndimage.affine_transform(c, matrix, offset, order=1, mode="mirror") for c in img])
    dy = ndimage.gaussian_filter(rng.uniform(-1, 1, (h, w)), sigma, mode="reflect", truncate=3) * alpha
    dx = ndimage.gaussian_filter(rng.uniform(-1, 1, (h, w)), sigma, mode="reflect", truncate=3) * alpha
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    coords = np.array([rows + dy, cols + dx])
    return np.stack([ndimage.map_coordinates(c, coords, order=1, mode="reflect") for c in warped])


_FUNCTIONS: dict[str, Corruption] = {
    f.__name__: f for f in (gaussian_noise, shot_noise, impulse_noise, gaussian_blur, defocus_blur, motion_blur,
                            contrast, brightness, fog, pixelate, jpeg_compression, elastic_transform)
}
CORRUPTIONS: tuple[str, ...] = tuple(_FUNCTIONS)


def corrupt(x: Any, kind: str, severity: int, seed: int = 0) -> Any:
    """Corrupt images ``x`` (n, channels, h, w) in [0, 1] with ``kind`` (one of ``CORRUPTIONS``) at
    ``severity`` 1-5; deterministic for a seed; result clipped to [0, 1], in the type of ``x``."""
    if kind not in _FUNCTIONS:
        raise AttackError(f"unknown corruption {kind!r}; choose from {', '.join(CORRUPTIONS)}")
    if severity not in (1, 2, 3, 4, 5) or isinstance(severity, bool):
        raise AttackError(f"severity must be an integer 1-5; got {severity!r}")
    images = as_images(x, "images")
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise AttackError(f"corruptions need images (n, 1 or 3 channels, height, width); got shape "
                          f"{tuple(images.shape)}")
    rng = np.random.default_rng(seed)
    func = _FUNCTIONS[kind]
    arr = images.detach().cpu().numpy().astype(np.float64)
    out = np.stack([np.clip(func(img, severity, rng), 0.0, 1.0) for img in arr])
    return restore_type(torch.from_numpy(out.astype(np.float32)), x)
