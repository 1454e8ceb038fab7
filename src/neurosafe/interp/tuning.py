"""Tuning curves for parametric stimuli and the indices neurophysiologists compute from them.

One code path for brains and models: the source (a recording whose stimulus coords carry the parameters, a
Subject + site, or a module + site) is turned into responses with stimulus coords, and a tuning curve is the
mean response per value of one parameter. Other parameters are either averaged (``condition="mean"``) or
fixed, per neuron, at the combination that drives it best (``condition="preferred"``: the largest response,
ties broken by the larger mean over the curve, then by the combinations' sorted text labels; the usual
practice of measuring orientation tuning at the optimal spatial frequency); parameters in ``average_over``
(grating phase, by default) are always averaged first. Trials are averaged ignoring NaN (missing) repeats.

Indices (angles in degrees):

- preferred orientation / direction: the angle of the vector sum sum_k r_k exp(i m theta_k) (m = 2 for
  orientation, 1 for direction), divided by m (Swindale 1998);
- circular variance: 1 - |sum r_k exp(i m theta_k)| / sum r_k (Ringach, Shapley & Hawken 2002);
- OSI: (R_pref - R_orth) / (R_pref + R_orth), R_pref the largest sampled response and R_orth the response 90 deg
  away (linearly interpolated on the circle between sampled angles when not sampled); DSI the same with the
  opposite direction;
- bandwidth: half-width at half-maximum of a fitted von Mises curve b + a exp(kappa (cos(m (theta - mu)) - 1))
  (Swindale 1998), 90 deg (orientation) / 180 deg (direction) when the fit has no half-maximum;
- a neuron whose curve misses some angles (a session that did not show them) gets its preferred angle from the
  von Mises fit (coord ``preferred_method``) and a NaN circular variance, with a warning: a vector sum over an
  incomplete circle is biased;
- F1/F0 of a phase tuning curve, the simple (> 1) / complex (< 1) cell index (Skottun et al. 1991);
- contrast response: Naka-Rushton fit b + r_max c^n / (c^n + c50^n) (Albrecht & Hamilton 1982).

Simplification: the indices use responses rectified at zero (units of a network can be negative; rates
cannot), so they describe the positive part of a model unit's tuning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import xarray as xr

from neurosafe.data.stimuli import StimulusSet, gratings
from neurosafe.interp._access import InterpError, is_recording, measure, stimulus_format

__all__ = [
    "DEFAULT_SPATIAL_FREQUENCIES",
    "contrast_response",
    "direction_tuning",
    "naka_rushton",
    "orientation_tuning",
    "phase_tuning",
    "tuning",
    "tuning_curves",
]

DEFAULT_SPATIAL_FREQUENCIES = (0.04, 0.08, 0.16)
DEFAULT_ORIENTATIONS = tuple(np.arange(0.0, 180.0, 15.0))
DEFAULT_PHASES = (0.0, 90.0, 180.0, 270.0)
DEFAULT_CONTRASTS = (0.0, 0.03, 0.06, 0.12, 0.25, 0.5, 1.0)


# ------------------------------------------------------------------------------------------- curves
def _stimulus_params(responses: xr.DataArray) -> list[str]:
    return [str(c) for c in responses.coords if responses[c].dims == ("stimulus",) and c != "stimulus_id"]


def _select(responses: xr.DataArray, select: Mapping[str, object] | None) -> xr.DataArray:
    for coord, wanted in (select or {}).items():
        if coord not in responses.coords:
            raise InterpError(f"cannot select on {coord!r}: stimulus coords are {_stimulus_params(responses)}")
        values = wanted if isinstance(wanted, list | tuple | set | np.ndarray) else [wanted]
        keep = np.isin(responses[coord].values, list(values))
        if not keep.any():
            raise InterpError(f"no stimulus has {coord} in {list(values)}; values are "
                              f"{sorted(set(responses[coord].values.tolist()))}")
        responses = responses.isel(stimulus=np.flatnonzero(keep))
    return responses


def _codes(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer code of each row of a (n, k) object table, and the unique rows (NaN-safe via strings)."""
    if table.shape[1] == 0:
        return np.zeros(len(table), dtype=int), np.empty((1, 0), dtype=object)
    keys = np.array(["\x1f".join(map(str, row)) for row in table])
    _, first, codes = np.unique(keys, return_index=True, return_inverse=True)
    return codes.ravel(), table[first]


def tuning_curves(source, parameter: str, site: str | None = None, stimuli: StimulusSet | None = None, *,
                  condition: str = "preferred", average_over: Sequence[str] = ("phase",),
                  select: Mapping[str, object] | None = None) -> xr.DataArray:
    """Mean response of each neuron per value of ``parameter`` (a stimulus coord): DataArray (neuron, parameter).

    ``select`` keeps stimuli whose coords have the given value(s) (e.g. ``{"contrast_level": "high"}``);
    ``condition`` "preferred" or "mean" treats the remaining parameters (see the module docstring); the chosen
    combination is returned as the neuron coord ``condition``.
    """
    if condition not in ("preferred", "mean"):
        raise InterpError(f"condition must be 'preferred' or 'mean'; got {condition!r}")
    responses = _select(measure(source, site, stimuli), select)
    params = _stimulus_params(responses)
    if parameter not in params:
        raise InterpError(f"the stimuli have no parameter {parameter!r}; stimulus coords are {params}")
    mean = responses.mean("repeat", skipna=True) if "repeat" in responses.dims else responses
    values = mean.transpose("stimulus", "neuron").values
    others = [p for p in params if p != parameter and p not in average_over
              and len({str(v) for v in responses[p].values}) > 1]
    cond_codes, cond_rows = _codes(np.stack([responses[p].values.astype(object) for p in others], axis=1)
                                   if others else np.empty((len(values), 0), dtype=object))
    levels, level_codes = np.unique(responses[parameter].values, return_inverse=True)
    table = np.full((len(cond_rows), len(levels), values.shape[1]), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for c in range(len(cond_rows)):
            for k in range(len(levels)):
                rows = (cond_codes == c) & (level_codes.ravel() == k)
                if rows.any():
                    table[c, k] = np.nanmean(values[rows], axis=0)
        if condition == "mean":
            curves = np.nanmean(table, axis=0).T
            chosen = np.full(values.shape[1], "mean over " + (", ".join(others) or "nothing"), dtype=object)
        else:
            peak = np.nanmax(np.where(np.isnan(table), -np.inf, table), axis=1)  # (cond, neuron)
            average = np.nan_to_num(np.nanmean(table, axis=1), nan=-np.inf)
            best = np.array([np.lexsort((-average[:, n], -peak[:, n]))[0] for n in range(values.shape[1])])
            curves = table[best, :, np.arange(values.shape[1])]
            chosen = np.array([", ".join(f"{p}={v}" for p, v in zip(others, cond_rows[b], strict=True)) or "all"
                               for b in best], dtype=object)
    neuron_coords = {c: responses[c] for c in responses.coords if responses[c].dims == ("neuron",)}
    return xr.DataArray(curves, dims=("neuron", parameter),
                        coords={**neuron_coords, parameter: levels, "condition": ("neuron", chosen)},
                        name="tuning", attrs={"average_over": list(average_over), "selection": str(select or {})})


# ------------------------------------------------------------------------------------------ indices
def _circular_summary(curves: np.ndarray, angles: np.ndarray, period: float) -> dict[str, np.ndarray]:
    """Vector-sum preference, circular variance and R_pref vs R_(pref + period/2 or /4) indices per neuron."""
    m = 360.0 / period
    r = np.clip(curves, 0, None)
    z = (r * np.exp(1j * np.deg2rad(m * angles))).sum(1)
    total = r.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        preferred = np.mod(np.rad2deg(np.angle(z)) / m, period)
        cv = 1 - np.abs(z) / total
    k = np.argmax(np.where(np.isnan(r), -np.inf, r), axis=1)
    r_pref = r[np.arange(len(r)), k]
    return {"preferred": np.where(total > 0, preferred, np.nan), "circular_variance": np.where(total > 0, cv, np.nan),
            "r_pref": r_pref, "angle_pref": angles[k]}


def _interp_circular(curves: np.ndarray, angles: np.ndarray, at: np.ndarray, period: float) -> np.ndarray:
    """Each neuron's curve at its own angle ``at``, linearly interpolated on the circle between sampled (non-NaN)
    angles."""
    out = np.full(len(curves), np.nan)
    for i, (c, t) in enumerate(zip(curves, at, strict=True)):
        ok = np.isfinite(c)
        if ok.any():
            order = np.argsort(angles[ok])
            a, v = angles[ok][order], c[ok][order]
            out[i] = np.interp(np.mod(t, period), np.append(a, a[0] + period), np.append(v, v[0]))
    return out


def _contrast_index(r_pref: np.ndarray, r_other: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(r_pref + r_other > 0, (r_pref - r_other) / (r_pref + r_other), np.nan)


def _fit_each(f: Callable, x: np.ndarray, curves: np.ndarray, p0: np.ndarray, bounds,
              iterations: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares fit of ``f(x, p) -> (neuron, len(x))`` to every row of ``curves`` at once: Levenberg-Marquardt
    (Marquardt 1963) with a per-neuron damping, a forward-difference Jacobian and parameters clipped to ``bounds``.
    Missing points (NaN) are ignored; rows with too few points or no variation get NaN parameters."""
    lower, upper = (np.broadcast_to(np.asarray(b, dtype=float), p0.shape[1:]) for b in bounds)
    w = np.isfinite(curves).astype(float)
    y = np.nan_to_num(curves)
    usable = (w.sum(1) > p0.shape[1]) & (np.nanmax(curves, 1, initial=-np.inf) > np.nanmin(curves, 1, initial=np.inf))
    p = np.clip(np.nan_to_num(p0), lower, upper)
    damping = np.full(len(p), 1e-3)

    def residuals(params: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return (f(x, params) - y) * w

    r = residuals(p)
    cost = (r**2).sum(1)
    for _ in range(iterations):
        steps = 1e-6 * np.maximum(np.abs(p), 1e-3)
        jac = np.stack([(residuals(p + steps[:, k:k + 1] * np.eye(p.shape[1])[k]) - r) / steps[:, k:k + 1]
                        for k in range(p.shape[1])], axis=2)  # (neuron, point, parameter)
        a = jac.transpose(0, 2, 1) @ jac
        g = (jac * r[..., None]).sum(1)
        diag = np.einsum("nii->ni", a)
        system = a + (damping[:, None] * diag + 1e-12)[..., None] * np.eye(p.shape[1])
        delta = np.linalg.solve(system, -g[..., None])[..., 0]
        trial = np.clip(p + np.nan_to_num(delta), lower, upper)
        r_trial = residuals(trial)
        cost_trial = (r_trial**2).sum(1)
        better = np.isfinite(cost_trial) & (cost_trial < cost)
        converged = better & (cost - cost_trial <= 1e-12 * np.maximum(cost, 1e-300))
        p[better], r[better], cost[better] = trial[better], r_trial[better], cost_trial[better]
        damping = np.where(better, damping / 3, np.minimum(damping * 4, 1e12))
        if (converged | (damping >= 1e12) | ~usable).all():
            break
    mean = (y * w).sum(1, keepdims=True) / np.maximum(w.sum(1, keepdims=True), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = 1 - cost / (((y - mean) * w) ** 2).sum(1)
    p[~usable] = np.nan
    r2[~usable] = np.nan
    return p, r2


def _von_mises(m: float) -> Callable:
    def f(theta: np.ndarray, p: np.ndarray) -> np.ndarray:
        base, amp, kappa, mu = (p[:, k:k + 1] for k in range(4))
        return base + amp * np.exp(kappa * (np.cos(np.deg2rad(m * (theta[None] - mu))) - 1))
    return f


def _von_mises_fit(curves: np.ndarray, angles: np.ndarray, preferred: np.ndarray, period: float):
    """HWHM (deg) and preferred angle (deg, in [0, period)) of a von Mises fit, and the fit's R^2."""
    m = 360.0 / period
    lo = np.nanmin(curves, axis=1)
    p0 = np.stack([lo, np.nanmax(curves, axis=1) - lo, np.full(len(curves), 2.0), np.nan_to_num(preferred)], axis=1)
    bounds = ([-np.inf, 0.0, 0.0, -period], [np.inf, np.inf, 50.0, 2 * period])
    params, r2 = _fit_each(_von_mises(m), angles, curves, p0, bounds)
    kappa = params[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        hw = np.rad2deg(np.arccos(1 - np.log(2) / kappa)) / m
    half = np.where(kappa > np.log(2) / 2, hw, period / 2)
    return np.where(np.isnan(kappa), np.nan, half), np.mod(params[:, 3], period), r2


def _angular_dataset(curve: xr.DataArray, period: float, name: str) -> xr.Dataset:
    angles = curve[curve.dims[1]].values.astype(float)
    if len(angles) < 3:
        raise InterpError(f"{name} tuning needs at least 3 distinct angles; got {angles.tolist()}")
    if angles.min() < 0 or angles.max() >= period:
        hint = " (directions up to 360 deg: use direction_tuning)" if period == 180 else ""
        raise InterpError(f"{name}s must lie in [0, {period:g}); got range [{angles.min():g}, {angles.max():g}]{hint}")
    values = curve.values
    s = _circular_summary(values, angles, period)
    r = np.clip(values, 0, None)
    orth = _interp_circular(r, angles, s["angle_pref"] + period / (4 if period == 360 else 2), period)
    guess = np.where(np.isnan(s["preferred"]), s["angle_pref"], s["preferred"])
    bandwidth, fitted, fit_r2 = _von_mises_fit(values, angles, guess, period)
    incomplete = np.isnan(values).any(axis=1) & np.isfinite(values).any(axis=1)
    if incomplete.any():
        warnings.warn(f"{int(incomplete.sum())} of {len(values)} neurons lack responses at some {name}s: their "
                      f"preferred {name} comes from the von Mises fit and their circular variance is NaN",
                      RuntimeWarning, stacklevel=3)
    preferred = np.where(incomplete, fitted, s["preferred"])
    data = {"tuning": curve, f"preferred_{name}": ("neuron", preferred),
            "osi": ("neuron", _contrast_index(s["r_pref"], orth)),
            "circular_variance": ("neuron", s["circular_variance"]),
            "bandwidth": ("neuron", bandwidth), "peak_response": ("neuron", np.nanmax(values, axis=1)),
            "fit_r2": ("neuron", fit_r2)}
    if period == 360:
        opposite = _interp_circular(r, angles, s["angle_pref"] + 180, period)
        data["dsi"] = ("neuron", _contrast_index(s["r_pref"], opposite))
    method = np.where(incomplete, "von_mises_fit", "vector_sum")
    return xr.Dataset(data, coords={"preferred_method": ("neuron", method)}, attrs=dict(curve.attrs))


def _default_gratings(source, stimuli: StimulusSet | None, size: int | None, **kwargs) -> StimulusSet | None:
    if stimuli is not None or is_recording(source):
        return stimuli
    color, size = stimulus_format(source, size)
    params = {"orientations": DEFAULT_ORIENTATIONS, "spatial_frequencies": DEFAULT_SPATIAL_FREQUENCIES,
              "phases": DEFAULT_PHASES} | kwargs
    return gratings(size=size, color=color, **params)


def orientation_tuning(source, site: str | None = None, stimuli: StimulusSet | None = None, *,
                       select: Mapping[str, object] | None = None, condition: str = "preferred",
                       average_over: Sequence[str] = ("phase",), size: int | None = None) -> xr.Dataset:
    """Orientation tuning of every neuron: Dataset over ``neuron`` with ``tuning`` (neuron, orientation),
    ``preferred_orientation`` (deg, [0, 180)), ``osi``, ``circular_variance``, ``bandwidth`` (HWHM, deg),
    ``peak_response`` and the von Mises ``fit_r2``.

    ``source``: a recording with an ``orientation`` stimulus coord (deg), or a subject (default stimuli: full-field
    gratings, 12 orientations x 3 spatial frequencies x 4 phases at the subject's image size). See the module
    docstring for ``condition``, ``average_over`` and the definitions.
    """
    stimuli = _default_gratings(source, stimuli, size)
    curve = tuning_curves(source, "orientation", site, stimuli, condition=condition, average_over=average_over,
                          select=select)
    return _angular_dataset(curve, 180.0, "orientation")


def direction_tuning(source, site: str | None = None, stimuli: StimulusSet | None = None, *,
                     parameter: str = "direction", select: Mapping[str, object] | None = None,
                     condition: str = "preferred", average_over: Sequence[str] = ()) -> xr.Dataset:
    """Direction tuning (angles in [0, 360)): as :func:`orientation_tuning` plus ``dsi``; ``osi`` compares the
    preferred direction with the orthogonal one. Needs stimuli with a direction coord (e.g. drifting gratings)."""
    if stimuli is None and not is_recording(source):
        raise InterpError("direction tuning needs stimuli with a direction parameter (e.g. drifting gratings)")
    curve = tuning_curves(source, parameter, site, stimuli, condition=condition, average_over=average_over,
                          select=select)
    return _angular_dataset(curve.rename({parameter: "direction"}), 360.0, "direction")


def phase_tuning(source, site: str | None = None, stimuli: StimulusSet | None = None, *,
                 select: Mapping[str, object] | None = None, size: int | None = None) -> xr.Dataset:
    """Response vs grating phase at each neuron's preferred orientation and spatial frequency, with ``f1_f0``
    (simple cells > 1, complex cells < 1; Skottun et al. 1991) and ``preferred_phase`` (deg)."""
    stimuli = _default_gratings(source, stimuli, size, phases=tuple(np.arange(0.0, 360.0, 45.0)))
    curve = tuning_curves(source, "phase", site, stimuli, condition="preferred", average_over=(), select=select)
    phases = np.deg2rad(curve.phase.values.astype(float))
    r = np.clip(curve.values, 0, None)
    z = (r * np.exp(1j * phases)).mean(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1_f0 = 2 * np.abs(z) / r.mean(1)
    return xr.Dataset({"tuning": curve, "f1_f0": ("neuron", f1_f0),
                       "preferred_phase": ("neuron", np.mod(np.rad2deg(np.angle(z)), 360.0))})


def tuning(source, parameter: str, site: str | None = None, stimuli: StimulusSet | None = None, *,
           select: Mapping[str, object] | None = None, condition: str = "preferred",
           average_over: Sequence[str] = ("phase",)) -> xr.Dataset:
    """Tuning to any stimulus parameter (spatial frequency, size = ``aperture``, contrast, ...): ``tuning``,
    ``preferred_<parameter>`` (the value with the largest mean response), ``peak_response`` and ``modulation``
    = (max - min) / (max + min) of the rectified curve."""
    curve = tuning_curves(source, parameter, site, stimuli, condition=condition, average_over=average_over,
                          select=select)
    values = curve.values
    finite = np.where(np.isnan(values), -np.inf, values)
    r = np.clip(values, 0, None)
    hi, lo = np.nanmax(r, axis=1), np.nanmin(r, axis=1)
    return xr.Dataset({"tuning": curve,
                       f"preferred_{parameter}": ("neuron", curve[parameter].values[np.argmax(finite, axis=1)]),
                       "peak_response": ("neuron", np.nanmax(values, axis=1)),
                       "modulation": ("neuron", _contrast_index(hi, lo))})


# ----------------------------------------------------------------------------------- contrast response
def naka_rushton(c, r_max, c50, n, baseline):
    """Naka-Rushton contrast response: baseline + r_max c^n / (c^n + c50^n) (Albrecht & Hamilton 1982)."""
    c = np.asarray(c, dtype=float)
    cn = np.power(c, n)
    return baseline + r_max * cn / (cn + np.power(c50, n))


def contrast_response(source, site: str | None = None, stimuli: StimulusSet | None = None, *,
                      parameter: str = "contrast", select: Mapping[str, object] | None = None,
                      size: int | None = None) -> xr.Dataset:
    """Contrast response at each neuron's preferred orientation / spatial frequency with a Naka-Rushton fit:
    ``tuning`` (neuron, contrast), ``r_max``, ``c50``, ``exponent``, ``baseline``, ``fit_r2``.

    Default stimuli for subjects: gratings at 7 contrasts (0 to 1, Michelson) x 12 orientations x 3 spatial
    frequencies x 4 phases. Needs at least 5 distinct contrasts (4 free parameters).
    """
    stimuli = _default_gratings(source, stimuli, size, contrasts=DEFAULT_CONTRASTS)
    curve = tuning_curves(source, parameter, site, stimuli, condition="preferred", select=select)
    c = curve[parameter].values
    if not np.issubdtype(np.asarray(c).dtype, np.number) or len(c) < 5:
        raise InterpError(f"a Naka-Rushton fit needs at least 5 numeric {parameter} values; got {list(c)}")
    c = c.astype(float)
    y = curve.values
    lo = np.nanmin(y, axis=1)
    positive = c[c > 0]
    p0 = np.stack([np.nanmax(y, axis=1) - lo, np.full(len(y), np.median(positive)), np.full(len(y), 2.0), lo], axis=1)
    bounds = ([0.0, positive.min() / 10, 0.1, -np.inf], [np.inf, 10 * c.max(), 10.0, np.inf])
    params, r2 = _fit_each(lambda c, p: naka_rushton(c[None], *(p[:, k:k + 1] for k in range(4))), c, y, p0, bounds)
    return xr.Dataset({"tuning": curve, "r_max": ("neuron", params[:, 0]), "c50": ("neuron", params[:, 1]),
                       "exponent": ("neuron", params[:, 2]), "baseline": ("neuron", params[:, 3]),
                       "fit_r2": ("neuron", r2)})
