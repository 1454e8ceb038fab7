"""Scaling laws of twin accuracy over recording time and number of neurons (paper section 2).

Recording time follows the paper's convention: stimuli x repeats x trial duration (12 repeats of 300
one-second images is one hour). :func:`scaling_sweep` fits one twin per cell (a seeded subset of the
training stimuli, the first ``r`` repeats, a seeded subset of neurons) through an executor and scores it on
held-out repeated test data. :func:`fit_scaling_law` fits FEVE against recording time ``t`` with

- the paper's sigmoid in log time: ``A / (1 + exp(-k (log10 t - m)))`` (asymptote A, midpoint m in
  log10 seconds, slope k), and
- for comparison a saturating power law: ``A - B (t / t_ref) ** -alpha`` (t_ref: geometric mean time),

by least squares (``scipy.optimize.curve_fit``), with bootstrap CIs over cells for the parameters and for
the time needed to reach a chosen fraction of the asymptote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy.optimize import curve_fit

from neurosafe.core.executor import Executor, LocalExecutor
from neurosafe.data.recording import validate_responses
from neurosafe.data.stimuli import StimulusSet
from neurosafe.metrics.bootstrap import bootstrap_indices, percentile_ci
from neurosafe.twin.config import TwinConfig
from neurosafe.twin.errors import TwinError
from neurosafe.twin.evaluate import evaluate_twin
from neurosafe.twin.train import fit_twin

__all__ = ["MODELS", "ScalingCell", "ScalingFit", "fit_scaling_law", "plot_scaling", "recording_time", "scaling_sweep"]

MODELS = ("sigmoid", "power")


def recording_time(n_stimuli: int, repeats: int, trial_duration: float = 1.0) -> float:
    """Seconds of recording: stimuli x repeats x trial duration (s)."""
    return float(n_stimuli * repeats * trial_duration)


@dataclass(frozen=True)
class ScalingCell:
    """One point of the sweep."""

    n_stimuli: int
    repeats: int
    n_neurons: int
    seed: int


def _run_cell(cell: ScalingCell, stimuli: StimulusSet, responses: xr.DataArray, n_validation: int,
              test_stimuli: StimulusSet, test_responses: xr.DataArray, config: TwinConfig,
              trial_duration: float) -> dict:
    rng = np.random.default_rng(cell.seed)
    stim_idx = n_validation + rng.permutation(responses.sizes["stimulus"] - n_validation)[: cell.n_stimuli]
    neurons = np.sort(rng.permutation(responses.sizes["neuron"])[: cell.n_neurons])
    train = responses.isel(stimulus=np.concatenate([np.arange(n_validation), np.sort(stim_idx)]), neuron=neurons,
                           repeat=slice(0, cell.repeats))
    validation = responses.stimulus_id.values[:n_validation].astype(str).tolist()
    twin = fit_twin(stimuli, train, config, seed=cell.seed, validation=validation)
    score = evaluate_twin(twin, test_stimuli, test_responses.isel(neuron=neurons), n_boot=0, seed=cell.seed)
    return {
        **vars(cell),
        "recording_time": recording_time(cell.n_stimuli, cell.repeats, trial_duration),
        "feve": score.feve.value,
        "correlation": score.correlation.value,
        "fraction_of_ceiling": score.fraction_of_ceiling.value,
        "epochs": len(twin.history),
    }


def scaling_sweep(stimuli: StimulusSet, responses: xr.DataArray, test_stimuli: StimulusSet,
                  test_responses: xr.DataArray, *, n_stimuli: Sequence[int], repeats: Sequence[int] | None = None,
                  n_neurons: Sequence[int] | None = None, seeds: Sequence[int] = (0,), config: TwinConfig | None = None,
                  trial_duration: float = 1.0, val_fraction: float = 0.1,
                  executor: Executor | None = None) -> pd.DataFrame:
    """Fit and score one twin per cell of (n_stimuli x repeats x n_neurons x seeds); one row per cell.

    A fixed ``val_fraction`` of the training stimuli (at least 20) is set aside once for early stopping in
    every cell (so small budgets are not judged on a handful of stimuli); budgets are drawn from the rest
    and only they count as recording time. ``repeats`` defaults to all repeats of ``responses``,
    ``n_neurons`` to all neurons. Test responses must hold the same neurons (by id) with repeats.
    """
    responses = validate_responses(responses)
    test_responses = validate_responses(test_responses)
    if "repeat" not in responses.dims:
        responses = responses.expand_dims("repeat", axis=2)
    if list(responses.neuron_id.values) != list(test_responses.neuron_id.values):
        raise TwinError("training and test responses must have the same neurons in the same order")
    if not 0 < val_fraction < 1:
        raise TwinError(f"val_fraction must lie in (0, 1); got {val_fraction}")
    n_val = max(20, round(val_fraction * responses.sizes["stimulus"]))
    n_rep, n_neu = responses.sizes["repeat"], responses.sizes["neuron"]
    n_stim = responses.sizes["stimulus"] - n_val
    if n_stim < 1:
        raise TwinError(f"{responses.sizes['stimulus']} training stimuli leave none after {n_val} for validation")
    order = np.random.default_rng(0).permutation(responses.sizes["stimulus"])
    responses = responses.isel(stimulus=order)
    repeats = list(repeats or [n_rep])
    n_neurons = list(n_neurons or [n_neu])
    for name, values, limit in (("n_stimuli", n_stimuli, n_stim), ("repeats", repeats, n_rep),
                                ("n_neurons", n_neurons, n_neu)):
        bad = [v for v in values if not 1 <= v <= limit]
        if bad or not len(values):
            raise TwinError(f"{name} must be non-empty values in [1, {limit}] (the data's size, less validation "
                            f"stimuli); got {list(values)}")
    grid = product(n_stimuli, repeats, n_neurons, seeds)
    cells = [ScalingCell(int(s), int(r), int(n), int(seed)) for s, r, n, seed in grid]
    run = partial(_run_cell, stimuli=stimuli, responses=responses, n_validation=n_val, test_stimuli=test_stimuli,
                  test_responses=test_responses, config=config or TwinConfig(), trial_duration=trial_duration)
    return pd.DataFrame((executor or LocalExecutor()).map(run, cells))


# ------------------------------------------------------------------------------------------ fitting
def _sigmoid(log_t: np.ndarray, asymptote: float, midpoint: float, slope: float) -> np.ndarray:
    return asymptote / (1 + np.exp(-slope * (log_t - midpoint)))


def _power(log_t: np.ndarray, asymptote: float, scale: float, exponent: float, log_ref: float = 0.0) -> np.ndarray:
    return asymptote - scale * 10 ** (-exponent * (log_t - log_ref))


@dataclass(frozen=True)
class ScalingFit:
    """A fitted scaling law: parameters with bootstrap CIs, and the time to reach ``fraction`` of the
    asymptote (seconds) with its CI."""

    model: str
    params: dict[str, float]
    ci: dict[str, tuple[float, float]]
    fraction: float
    time_to_fraction: float
    time_to_fraction_ci: tuple[float, float] | None
    rmse: float
    n_points: int

    @property
    def asymptote(self) -> float:
        return self.params["asymptote"]

    def predict(self, time: np.ndarray | float) -> np.ndarray:
        """The fitted curve at recording times (seconds)."""
        return _curve(self.model, np.log10(np.asarray(time, dtype=float)), self.params)

    def to_dict(self) -> dict:
        ttf_ci = None if self.time_to_fraction_ci is None else list(self.time_to_fraction_ci)
        return {"model": self.model, "params": self.params, "ci": {k: list(v) for k, v in self.ci.items()},
                "fraction": self.fraction, "time_to_fraction": self.time_to_fraction, "time_to_fraction_ci": ttf_ci,
                "rmse": self.rmse, "n_points": self.n_points}


def _curve(model: str, log_t: np.ndarray, p: dict[str, float]) -> np.ndarray:
    if model == "sigmoid":
        return _sigmoid(log_t, p["asymptote"], p["midpoint"], p["slope"])
    return _power(log_t, p["asymptote"], p["scale"], p["exponent"], p["log_reference_time"])


def _time_to(model: str, p: dict[str, float], fraction: float) -> float:
    """Closed-form inverse: seconds at which the curve reaches ``fraction`` of its asymptote."""
    if model == "sigmoid":
        log_t = p["midpoint"] - np.log(1 / fraction - 1) / p["slope"]
    else:
        gap = p["asymptote"] * (1 - fraction)
        if gap <= 0 or p["scale"] <= 0:
            return float("nan")
        log_t = p["log_reference_time"] + np.log10(p["scale"] / gap) / p["exponent"]
    return float(10**log_t) if log_t < 300 else float("inf")


def _fit_once(model: str, log_t: np.ndarray, y: np.ndarray, log_ref: float) -> dict[str, float]:
    span = max(np.ptp(log_t), 1.0)
    top = max(float(np.max(y)), 1e-3)
    if model == "sigmoid":
        p0 = [top, float(np.median(log_t)), 2.0]
        bounds = ([0, log_t.min() - 3 * span, 1e-3], [max(2.0, 2 * top), log_t.max() + 3 * span, 50.0])
        popt, _ = curve_fit(_sigmoid, log_t, y, p0=p0, bounds=bounds, maxfev=2000)
        return dict(zip(("asymptote", "midpoint", "slope"), map(float, popt), strict=True))
    f = partial(_power, log_ref=log_ref)
    p0 = [top, max(top - float(np.min(y)), 1e-3), 0.5]
    bounds = ([-1.0, 0.0, 1e-3], [max(2.0, 2 * top), np.inf, 10.0])
    popt, _ = curve_fit(f, log_t, y, p0=p0, bounds=bounds, maxfev=2000)
    return {"asymptote": float(popt[0]), "scale": float(popt[1]), "exponent": float(popt[2]),
            "log_reference_time": log_ref}


def fit_scaling_law(time: Sequence[float], score: Sequence[float], model: str = "sigmoid", fraction: float = 0.9,
                    n_boot: int = 200, seed: int = 0, ci_level: float = 0.95) -> ScalingFit:
    """Fit ``score`` (e.g. median FEVE) against recording ``time`` (seconds) with ``model``."""
    if model not in MODELS:
        raise TwinError(f"model must be one of {MODELS}; got {model!r}")
    if not 0 < fraction < 1:
        raise TwinError(f"fraction must lie in (0, 1); got {fraction}")
    t, y = np.asarray(time, dtype=float), np.asarray(score, dtype=float)
    if t.shape != y.shape or t.ndim != 1:
        raise TwinError(f"time and score must be 1-d of one length; got shapes {t.shape}, {y.shape}")
    if not (np.isfinite(t).all() and np.isfinite(y).all()) or (t <= 0).any():
        raise TwinError("times must be positive and finite, scores finite")
    if len(np.unique(t)) < 3 or len(t) < 4:
        raise TwinError(f"a 3-parameter law needs >= 4 points at >= 3 distinct times; "
                        f"got {len(t)} at {len(np.unique(t))}")
    log_t = np.log10(t)
    log_ref = float(np.mean(log_t))
    params = _fit_once(model, log_t, y, log_ref)
    rmse = float(np.sqrt(np.mean((_curve(model, log_t, params) - y) ** 2)))
    boots = []
    for idx in bootstrap_indices(len(t), n_boot, seed)[1:]:
        if len(np.unique(t[idx])) < 3:
            continue
        try:
            p = _fit_once(model, log_t[idx], y[idx], log_ref)
        except RuntimeError:  # curve_fit did not converge on this resample
            continue
        boots.append({**p, "time_to_fraction": _time_to(model, p, fraction)})

    def interval(key: str) -> tuple[float, float] | None:
        vals = np.array([b[key] for b in boots], dtype=float)
        return percentile_ci(vals, ci_level) if np.isfinite(vals).sum() >= 10 else None

    ci = {k: c for k in params if k != "log_reference_time" and (c := interval(k)) is not None}
    return ScalingFit(model, params, ci, fraction, _time_to(model, params, fraction), interval("time_to_fraction"),
                      rmse, len(t))


# ------------------------------------------------------------------------------------------ figure
def plot_scaling(table: pd.DataFrame, fits: dict[str, ScalingFit], path: str | Path, metric: str = "feve") -> Path:
    """FEVE vs recording time (log axis) with the fitted laws; and vs number of neurons when swept."""
    import matplotlib.pyplot as plt

    from neurosafe.core.figures import save_figure

    by_neurons = table["n_neurons"].nunique() > 1
    fig, axes = plt.subplots(1, 2 if by_neurons else 1, figsize=(10 if by_neurons else 5.5, 3.8), squeeze=False)
    ax = axes[0, 0]
    full = table[table["n_neurons"] == table["n_neurons"].max()]
    for (reps, cells), marker in zip(full.groupby("repeats"), "os^Dv<>p", strict=False):
        ax.scatter(cells["recording_time"], cells[metric], color="k", marker=marker, s=18, zorder=3,
                   label=f"twins, {reps} repeat{'s' if reps > 1 else ''}")
    grid = np.geomspace(full["recording_time"].min() / 2, full["recording_time"].max() * 4, 200)
    for (name, fit), color in zip(fits.items(), ("#C44E52", "#4C72B0"), strict=False):
        ax.plot(grid, fit.predict(grid), color=color, label=f"{name} (asymptote {fit.asymptote:.2f})")
        ax.axhline(fit.asymptote, color=color, ls=":", lw=1)
        if np.isfinite(fit.time_to_fraction):
            ax.axvline(fit.time_to_fraction, color=color, ls="--", lw=0.8)
    low, high = float(full[metric].min()), float(full[metric].max())
    ax.set_xlim(grid[0], grid[-1])  # asymptotes or times far outside the data are clipped, not plotted
    ax.set_ylim(min(low, 0.0) - 0.05, max(high, 1.0) + 0.05)
    ax.set_xscale("log")
    ax.set_xlabel("recording time (s)")
    ax.set_ylabel(f"median {metric}")
    ax.legend(frameon=False, fontsize=8)
    if by_neurons:
        ax2 = axes[0, 1]
        top = table[table["recording_time"] == table["recording_time"].max()]
        means = top.groupby("n_neurons")[metric].mean()
        ax2.plot(means.index, means.values, "o-", color="k")
        ax2.set_xlabel("neurons recorded")
        ax2.set_ylabel(f"median {metric}")
        ax2.set_xscale("log")
    return save_figure(fig, path)
