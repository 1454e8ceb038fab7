"""Receptive fields: noise-corrected spike-triggered average, gradient RFs, and a 2D Gaussian fit of centre and size.

- **STA, noise-corrected**: the linear regression of responses on stimulus pixels, i.e. the STA whitened by
  the stimulus covariance (Chichilnisky 2001; Theunissen et al. 2001), ridge-regularized with the penalty
  chosen per neuron by generalized cross-validation (Golub, Heath & Wahba 1979). With white noise the
  whitening only corrects finite-sample correlations; with correlated stimuli it removes their structure.
  For a linear-nonlinear cell and Gaussian stimuli this recovers the linear filter up to scale (Bussgang);
  for an energy-model complex cell it is ~0 (the symmetric nonlinearity cancels), as in real complex cells.
  Colour stimuli are reduced to luminance.
- **Gradient RF**: the gradient of a unit's response with respect to the (grey) input image, averaged over
  white-noise images. By Stein's lemma (Stein 1981) the mean gradient under Gaussian inputs equals the
  whitened STA of the same model, so the two methods agree in expectation, but the gradient needs only a few
  dozen images; it requires a differentiable model.
- **Centre and size**: a 2D elliptical Gaussian fitted to the RF's envelope, the modulus of its analytic
  signal (the RF's spectrum kept on the half-plane of its dominant frequency; a Gabor's envelope is its
  Gaussian). ``rf_size`` is the geometric mean of the two Gaussian s.d.s in pixels.
- **Significance (STA only)**: a Gaussian is fitted only where the STA differs from noise. Under the
  permutation null (responses shuffled across stimuli) the STA has mean 0 and covariance
  ``|r|^2 / (n - 1) * V diag(g / (g + lambda)^2) V^T`` (exact first two moments; ``g, V`` the stimulus
  covariance's eigen-decomposition); each pixel is z-scored by that s.d. and the peak |z| is tested with a
  Bonferroni correction over pixels (``p_value``; significant at ``STA_ALPHA`` = 0.01). A fit to a pure-noise
  STA only draws a circle around the noise's largest blob (issue 18).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import xarray as xr
from scipy.optimize import curve_fit
from scipy.stats import norm

from neurosafe.data.io import Recording
from neurosafe.data.recording import validate_responses
from neurosafe.data.stimuli import StimulusSet, white_noise
from neurosafe.interp._access import (
    InterpError,
    differentiable,
    eval_mode,
    input_shape,
    is_recording,
    measure,
    resolve_units,
    stimulus_format,
)

__all__ = ["fit_gaussian_2d", "gradient_receptive_fields", "receptive_fields", "rf_envelope",
           "spike_triggered_average"]

_RIDGE_GRID = 10.0 ** np.arange(-4.0, 2.5, 0.5)
STA_ALPHA = 0.01


def _as_maps(values: np.ndarray, h: int, w: int, neuron_coords: dict) -> xr.DataArray:
    return xr.DataArray(values.reshape(-1, h, w), dims=("neuron", "y", "x"),
                        coords={**neuron_coords, "y": np.arange(h), "x": np.arange(w)}, name="rf")


def spike_triggered_average(responses: xr.DataArray, stimuli: StimulusSet,
                            ridge: str | float = "gcv") -> xr.DataArray:
    """Noise-corrected (whitened, ridge-regularized) STA per neuron: DataArray (neuron, y, x).

    ``responses`` (stimulus, neuron[, repeat]) are trial-averaged; ``stimuli`` must contain every recorded
    stimulus id. ``ridge``: "gcv" (penalty per neuron from a grid, relative to the mean stimulus variance),
    a number (that relative penalty for all), or 0 (plain whitening). Needs at least as many stimuli as pixels.
    """
    responses = validate_responses(responses)
    stimuli = stimuli.aligned_to(responses)
    n = len(stimuli)
    h, w = stimuli.size
    if n < h * w:
        raise InterpError(f"an STA of {h}x{w} = {h * w} pixels needs at least {h * w} stimuli; got {n} "
                          "(show more white-noise stimuli, or use smaller images)")
    if ridge != "gcv" and (isinstance(ridge, str) or not ridge >= 0):
        raise InterpError(f"ridge must be 'gcv' or a non-negative number; got {ridge!r}")
    mean = responses.mean("repeat", skipna=True) if "repeat" in responses.dims else responses
    r = mean.transpose("stimulus", "neuron").values.astype(np.float64)
    x = stimuli.grey().reshape(n, -1).astype(np.float64)
    x -= x.mean(0)
    r = r - r.mean(0)
    g, v = np.linalg.eigh(x.T @ x)
    g = np.clip(g, 0, None)
    q = v.T @ (x.T @ r)  # (p, neuron)
    scale = g.mean()
    if ridge == "gcv":
        lams = _RIDGE_GRID * scale
        denom = g[None, :, None] + lams[:, None, None]  # (lambda, p, 1)
        q2 = q[None] ** 2
        rss = (r**2).sum(0)[None] - 2 * (q2 / denom).sum(1) + (g[None, :, None] * q2 / denom**2).sum(1)
        dof = (g[None] / denom[..., 0]).sum(1)
        gcv = rss / (n * (1 - dof / n)[:, None] ** 2)
        lam = lams[np.argmin(gcv, axis=0)]
    else:
        lam = np.full(r.shape[1], float(ridge) * scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where(g[:, None] + lam[None] > 0, q / (g[:, None] + lam[None]), 0.0)
    sta = (v @ coef).T
    # permutation-null s.d. of each STA pixel (module docstring), peak |z| with Bonferroni over pixels
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(g[:, None] + lam[None] > 0, g[:, None] / (g[:, None] + lam[None]) ** 2, 0.0)
        sd = np.sqrt((v**2) @ shrink * ((r**2).sum(0) / (n - 1))[None])  # (p, neuron)
        peak = np.nanmax(np.where(sd.T > 0, np.abs(sta) / sd.T, 0.0), axis=1)
    p_value = np.minimum(1.0, h * w * 2 * norm.sf(peak))
    neuron_coords = {c: responses[c] for c in responses.coords if responses[c].dims == ("neuron",)}
    out = _as_maps(sta, h, w, neuron_coords)
    out.attrs.update(method="sta", n_stimuli=n, alpha=STA_ALPHA)
    return out.assign_coords(ridge=("neuron", lam / scale), peak_z=("neuron", peak), p_value=("neuron", p_value),
                             significant=("neuron", p_value < STA_ALPHA))


def gradient_receptive_fields(subject, site: str | None = None, units=None, *, n_samples: int = 64,
                              contrast: float = 0.2, seed: int = 0, image_shape: tuple[int, int, int] | None = None,
                              batch_size: int = 2048) -> xr.DataArray:
    """Mean gradient of each unit's response w.r.t. the grey input image over white-noise images (neuron, y, x).

    Units of a conv site are channels at the spatial centre (see ``neurosafe.interp``); ``image_shape``
    (C, H, W) is needed only when it cannot be inferred.
    """
    if n_samples < 1:
        raise InterpError(f"n_samples must be >= 1; got {n_samples}")
    diff = differentiable(subject, site)
    c, h, w = input_shape(diff, image_shape)
    gen = torch.Generator().manual_seed(seed)
    noise = (0.5 + contrast * torch.randn(n_samples, c, h, w, generator=gen)).clamp(0, 1).to(diff.device)
    with eval_mode(diff.module):
        with torch.no_grad():
            n_units = diff.forward(noise[:1]).shape[1]
        ids = diff.unit_ids(n_units)
        idx = resolve_units(units, n_units, ids)
        per_chunk = max(1, batch_size // n_samples)
        grads = []
        for start in range(0, len(idx), per_chunk):
            chunk = torch.as_tensor(idx[start:start + per_chunk], device=diff.device)
            x = noise.repeat(len(chunk), 1, 1, 1).requires_grad_(True)
            out = diff.forward(x)
            picked = out[torch.arange(len(x), device=diff.device), chunk.repeat_interleave(n_samples)]
            (grad,) = torch.autograd.grad(picked.sum(), x)
            grads.append(grad.view(len(chunk), n_samples, c, h, w).mean(1).sum(1).cpu().numpy())
    out = _as_maps(np.concatenate(grads).astype(np.float64), h, w, {"neuron_id": ("neuron", ids[idx].astype(str))})
    out.attrs.update(method="gradient", n_samples=n_samples, contrast=contrast, seed=seed)
    return out


# ----------------------------------------------------------------------------------------- Gaussian fit
def rf_envelope(rf: np.ndarray) -> np.ndarray:
    """Envelope of each map (…, H, W): modulus of the analytic signal along the map's dominant frequency.

    The spectrum is kept on the half-plane facing the peak of the amplitude spectrum (the DC term halved),
    so a Gabor's envelope is its Gaussian; a map dominated by DC (a blob) keeps its absolute value.
    """
    rf = np.asarray(rf, dtype=np.float64)
    h, w = rf.shape[-2:]
    fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
    spec = np.fft.fft2(rf)
    flat = np.abs(spec).reshape(*rf.shape[:-2], -1)
    peak = np.argmax(flat, axis=-1)
    ky, kx = fy.ravel()[peak], fx.ravel()[peak]
    side = ky[..., None, None] * fy + kx[..., None, None] * fx
    weight = np.where(side > 0, 2.0, np.where(side == 0, 1.0, 0.0))
    env = np.abs(np.fft.ifft2(spec * weight))
    blob = (peak == 0)[..., None, None]
    return np.where(blob, np.abs(rf), env)


def _gauss2d(xy, amp, x0, y0, sx, sy, theta, offset):
    x, y = xy
    c, s = np.cos(theta), np.sin(theta)
    u = c * (x - x0) + s * (y - y0)
    v = -s * (x - x0) + c * (y - y0)
    return offset + amp * np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))


def fit_gaussian_2d(maps: np.ndarray) -> dict[str, np.ndarray]:
    """Least-squares elliptical 2D Gaussian (+ offset) fit to each non-negative map (n, H, W).

    Returns arrays ``x``, ``y`` (centre, px), ``sigma_major``, ``sigma_minor`` (px), ``angle`` (deg, of the
    major axis), ``amplitude``, ``r2``; NaN where the fit fails. Initialised from the map's moments.
    """
    maps = np.asarray(maps, dtype=np.float64)
    n, h, w = maps.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    xy = np.vstack([xx.ravel(), yy.ravel()])
    keys = ("x", "y", "sigma_major", "sigma_minor", "angle", "amplitude", "r2")
    out = {k: np.full(n, np.nan) for k in keys}
    for i, m in enumerate(maps):
        z = m.ravel()
        weight = np.clip(m - np.median(m), 0, None)
        if not np.isfinite(z).all() or weight.sum() <= 0:
            continue
        mx, my = (weight * xx).sum() / weight.sum(), (weight * yy).sum() / weight.sum()
        spread = np.sqrt(max((weight * ((xx - mx) ** 2 + (yy - my) ** 2)).sum() / weight.sum() / 2, 0.25))
        p0 = [m.max() - np.median(m), mx, my, spread, spread, 0.0, np.median(m)]
        bounds = ([0, -0.5, -0.5, 0.3, 0.3, -np.pi, -np.inf], [np.inf, w - 0.5, h - 0.5, w, h, np.pi, np.inf])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p, _ = curve_fit(_gauss2d, xy, z, p0=p0, bounds=bounds, maxfev=5000)
        except (RuntimeError, ValueError):
            continue
        amp, x0, y0, sx, sy, theta, _ = p
        major_first = sx >= sy
        out["x"][i], out["y"][i], out["amplitude"][i] = x0, y0, amp
        out["sigma_major"][i], out["sigma_minor"][i] = max(sx, sy), min(sx, sy)
        out["angle"][i] = np.mod(np.rad2deg(theta if major_first else theta + np.pi / 2), 180.0)
        out["r2"][i] = 1 - ((z - _gauss2d(xy, *p)) ** 2).sum() / ((z - z.mean()) ** 2).sum()
    return out


def _with_fit(rf: xr.DataArray) -> xr.Dataset:
    """Gaussian fits of the RFs; NaN for STAs not significantly different from noise (``significant`` False)."""
    keep = rf["significant"].values if "significant" in rf.coords else np.ones(rf.sizes["neuron"], dtype=bool)
    fit = {k: np.full(len(keep), np.nan) for k in ("x", "y", "sigma_major", "sigma_minor", "angle", "r2")}
    if keep.any():
        done = fit_gaussian_2d(rf_envelope(rf.values[keep]))
        for k in fit:
            fit[k][keep] = done[k]
    return xr.Dataset({"rf": rf, "rf_x": ("neuron", fit["x"]), "rf_y": ("neuron", fit["y"]),
                       "rf_size": ("neuron", np.sqrt(fit["sigma_major"] * fit["sigma_minor"])),
                       "rf_sigma_major": ("neuron", fit["sigma_major"]),
                       "rf_sigma_minor": ("neuron", fit["sigma_minor"]), "rf_angle": ("neuron", fit["angle"]),
                       "fit_r2": ("neuron", fit["r2"])}, attrs=dict(rf.attrs))


def receptive_fields(source, site: str | None = None, stimuli: StimulusSet | None = None, *, method: str = "sta",
                     units=None, n_stimuli: int | None = None, contrast: float = 0.2, seed: int = 0,
                     ridge: str | float = "gcv", n_samples: int = 64, size: int | None = None,
                     image_shape: tuple[int, int, int] | None = None) -> xr.Dataset:
    """Receptive fields and their Gaussian fits: Dataset over ``neuron`` with ``rf`` (neuron, y, x), ``rf_x``,
    ``rf_y`` (px), ``rf_size`` (px), ``rf_sigma_major/minor``, ``rf_angle`` and ``fit_r2``.

    ``method="sta"``: from a recording (responses + the white-noise ``stimuli``, or a ``Recording`` holding both)
    or by showing a subject ``n_stimuli`` white-noise images (default 8 per pixel, Gaussian, s.d. ``contrast``,
    seeded); ``method="gradient"``: mean input gradients of a differentiable subject (``units`` picks units).
    """
    if method == "gradient":
        if is_recording(source):
            raise InterpError("gradient RFs need a differentiable model, not a recording; use method='sta'")
        rf = gradient_receptive_fields(source, site, units, n_samples=n_samples, contrast=contrast, seed=seed,
                                       image_shape=image_shape)
        return _with_fit(rf)
    if method != "sta":
        raise InterpError(f"method must be 'sta' or 'gradient'; got {method!r}")
    if is_recording(source):
        stimuli = stimuli if stimuli is not None else getattr(source, "stimuli", None)
        if stimuli is None:
            raise InterpError("an STA from a recording needs the stimuli shown (pass stimuli= or a Recording)")
        responses = source.responses if isinstance(source, Recording) else source
    else:
        if stimuli is None:
            color, s = stimulus_format(source, size)
            stimuli = white_noise(n_stimuli or 8 * s * s, s, seed=seed, contrast=contrast, color=color)
        responses = measure(source, site, stimuli)
    return _with_fit(spike_triggered_average(responses, stimuli, ridge=ridge))
